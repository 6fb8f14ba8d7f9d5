#include "convert/model_input.h"

#include <algorithm>
#include <filesystem>

#include "format/file_io.h"
#include "format/layout.h"
#include "mlxpack/loader.h"
#include "format/model_dir.h"

namespace mlxpack {

namespace {

class DirInput final : public ModelInput {
 public:
  static Result<std::unique_ptr<ModelInput>> open(const std::string& dir) {
    MLXPACK_ASSIGN_OR_RETURN(ModelDirPlan plan, plan_model_dir(dir));
    auto in = std::unique_ptr<DirInput>(new DirInput());
    in->path_ = dir;
    for (const BundledFilePlan& f : plan.files) {
      in->file_names_.push_back(f.name);
      in->file_paths_.push_back(f.path);
      in->disk_paths_.push_back(f.path);
    }
    for (const SourcePlan& src : plan.sources) in->disk_paths_.push_back(src.path);
    for (size_t s = 0; s < plan.sources.size(); ++s) {
      const SourcePlan& src = plan.sources[s];
      for (const SafetensorsTensor& t : src.header.tensors) {
        in->tensors_.push_back({t.name, t.dtype, t.shape, t.size_bytes()});
        in->where_.push_back({src.path, src.header.data_offset() + t.data_begin});
      }
    }
    // Sort tensors by name, keeping where_ in step.
    std::vector<size_t> order(in->tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return in->tensors_[a].name < in->tensors_[b].name; });
    std::vector<InputTensor> tensors;
    std::vector<Location> where;
    for (size_t i : order) {
      tensors.push_back(in->tensors_[i]);
      where.push_back(in->where_[i]);
    }
    in->tensors_ = std::move(tensors);
    in->where_ = std::move(where);
    return std::unique_ptr<ModelInput>(std::move(in));
  }

  Result<std::string> read_file(const std::string& name) const override {
    for (size_t i = 0; i < file_names_.size(); ++i) {
      if (file_names_[i] == name) return read_file_to_string(file_paths_[i], layout::kMaxBundledFileSize);
    }
    return Status::not_found(path_ + ": no file named '" + name + "'");
  }

  Result<TensorBytes> read_tensor(size_t i) const override {
    TensorBytes b;
    MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(where_[i].file));
    b.owned.resize(tensors_[i].size_bytes);
    MLXPACK_RETURN_IF_ERROR(in.read_at(where_[i].offset, b.owned.data(), b.owned.size()));
    b.data = reinterpret_cast<const uint8_t*>(b.owned.data());
    b.size_bytes = b.owned.size();
    return b;
  }

 private:
  struct Location {
    std::string file;
    uint64_t offset;
  };
  std::vector<std::string> file_paths_;
  std::vector<Location> where_;
};

class PackInput final : public ModelInput {
 public:
  static Result<std::unique_ptr<ModelInput>> open(const std::string& file) {
    MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, Reader::open(file, {VerifyMode::kLazy}));
    auto in = std::unique_ptr<PackInput>(new PackInput());
    in->path_ = file;
    in->disk_paths_ = {file};
    for (uint64_t i = 0; i < reader->entry_count(); ++i) {
      const EntryInfo e = reader->entry(i);
      if (e.type == EntryType::kFile) in->file_names_.emplace_back(e.name);
      if (e.type == EntryType::kTensor) {
        in->tensors_.push_back({std::string(e.name), e.dtype,
                                std::vector<uint64_t>(e.shape.begin(), e.shape.begin() + e.rank),
                                e.stored_size_bytes});
      }
    }
    in->reader_ = std::move(reader);
    return std::unique_ptr<ModelInput>(std::move(in));
  }

  Result<std::string> read_file(const std::string& name) const override { return reader_->file(name); }

  Result<TensorBytes> read_tensor(size_t i) const override {
    // Lazy verification: a corrupt tensor is refused, not converted.
    MLXPACK_ASSIGN_OR_RETURN(TensorView v, reader_->tensor(tensors_[i].name));
    TensorBytes b;
    b.data = static_cast<const uint8_t*>(v.data);
    b.size_bytes = v.size_bytes;
    return b;
  }

 private:
  std::unique_ptr<Reader> reader_;
};

}  // namespace

Result<std::unique_ptr<ModelInput>> ModelInput::open(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return DirInput::open(path);
  if (!std::filesystem::exists(path, ec)) return Status::io_error(path + ": no such file or directory");
  return PackInput::open(path);
}

}  // namespace mlxpack
