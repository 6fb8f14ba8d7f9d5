#include "mlxpack/model_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "format/file_io.h"
#include "format/model_dir.h"
#include "loader/src/mapped_file.h"

namespace mlxpack {

namespace {

// Bundled files are configs and tokenizers; nothing legitimate is this big.
constexpr uint64_t kMaxBundledFileBytes = 512ull << 20;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

}  // namespace

struct ModelSource::Impl {
  std::string path;
  std::unique_ptr<Reader> pack;  // set for a pack

  // A directory: its mappings, the tensors in them (or copied), its files.
  std::vector<MappedFile> mappings;
  std::vector<std::unique_ptr<void, FreeDeleter>> copies;
  std::map<std::string, TensorView, std::less<>> tensors;  // name -> view (names point into keys)
  std::map<std::string, std::string, std::less<>> files;    // name -> path on disk

  std::vector<std::string> names;
  uint64_t mapped_bytes = 0;
  uint64_t copied_bytes = 0;

  Status open_directory(const std::string& dir);
};

ModelSource::ModelSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelSource::~ModelSource() = default;

Result<std::unique_ptr<ModelSource>> ModelSource::open(const std::string& path, const OpenOptions& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::not_found(path + ": " + std::strerror(errno) + " (expected a .mlxpack file or a model directory)");
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (S_ISDIR(st.st_mode)) {
    MLXPACK_RETURN_IF_ERROR(impl->open_directory(path));
  } else {
    MLXPACK_ASSIGN_OR_RETURN(impl->pack, Reader::open(path, options));
    for (uint64_t i = 0; i < impl->pack->entry_count(); ++i) {
      const EntryInfo e = impl->pack->entry(i);
      if (e.type != EntryType::kTensor) continue;
      impl->names.emplace_back(e.name);
      impl->mapped_bytes += e.stored_size_bytes;
    }
    std::sort(impl->names.begin(), impl->names.end());
  }
  return std::unique_ptr<ModelSource>(new ModelSource(std::move(impl)));
}

Status ModelSource::Impl::open_directory(const std::string& dir) {
  Impl* impl = this;
  MLXPACK_ASSIGN_OR_RETURN(ModelDirPlan plan, plan_model_dir(dir));
  for (const BundledFilePlan& f : plan.files) impl->files[f.name] = f.path;
  for (const SourcePlan& s : plan.sources) {
    MLXPACK_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(s.path));
    if (map.size_bytes() != s.size_bytes) {
      return Status::io_error(s.path + ": changed while opening (size " + std::to_string(s.size_bytes) + " then " +
                              std::to_string(map.size_bytes()) + ")");
    }
    const uint8_t* base = map.data();
    for (const SafetensorsTensor& t : s.header.tensors) {
      // The planner checked that offsets lie inside the file.
      TensorView view;
      view.dtype = t.dtype;
      if (t.shape.size() > kMaxTensorRank) {
        return Status::unsupported(s.path + ": tensor '" + t.name + "' has rank " + std::to_string(t.shape.size()) +
                                   ", more than the limit " + std::to_string(kMaxTensorRank));
      }
      view.rank = static_cast<uint32_t>(t.shape.size());
      std::copy(t.shape.begin(), t.shape.end(), view.shape.begin());
      view.size_bytes = t.size_bytes();
      const uint8_t* data = base + s.header.data_offset() + t.data_begin;
      const uint32_t element = std::max<uint32_t>(1, dtype_size_bytes(t.dtype));
      if (view.size_bytes != 0 && reinterpret_cast<uintptr_t>(data) % element != 0) {
        // Kernels read elements in place; a misaligned tensor is the one case
        // where the bytes must move.
        void* copy = std::aligned_alloc(64, (view.size_bytes + 63) / 64 * 64);
        if (copy == nullptr) {
          return Status::io_error(s.path + ": out of memory copying misaligned tensor '" + t.name + "' (" +
                                  std::to_string(view.size_bytes) + " bytes)");
        }
        std::memcpy(copy, data, view.size_bytes);
        impl->copies.emplace_back(copy);
        impl->copied_bytes += view.size_bytes;
        data = static_cast<const uint8_t*>(copy);
      } else {
        impl->mapped_bytes += view.size_bytes;
      }
      view.data = data;
      auto [it, inserted] = impl->tensors.emplace(t.name, view);
      if (!inserted) {
        // The planner rejects duplicates; a second guard costs nothing.
        return Status::invalid_argument(s.path + ": tensor '" + t.name + "' appears twice");
      }
      it->second.name = it->first;
      impl->names.push_back(t.name);
    }
    impl->mappings.push_back(std::move(map));
  }
  std::sort(impl->names.begin(), impl->names.end());
  return Status::ok();
}

const std::string& ModelSource::path() const { return impl_->path; }
bool ModelSource::is_pack() const { return impl_->pack != nullptr; }
const std::vector<std::string>& ModelSource::tensor_names() const { return impl_->names; }
uint64_t ModelSource::mapped_bytes() const { return impl_->mapped_bytes; }
uint64_t ModelSource::copied_bytes() const { return impl_->copied_bytes; }

bool ModelSource::has_tensor(std::string_view name) const {
  if (impl_->pack) return impl_->pack->has_tensor(name);
  return impl_->tensors.find(name) != impl_->tensors.end();
}

Result<TensorView> ModelSource::tensor(std::string_view name) const {
  if (impl_->pack) return impl_->pack->tensor(name);
  auto it = impl_->tensors.find(name);
  if (it == impl_->tensors.end()) {
    return Status::not_found(impl_->path + ": no tensor '" + std::string(name) + "'");
  }
  return it->second;
}

bool ModelSource::has_file(std::string_view name) const {
  if (impl_->pack) return impl_->pack->has_file(name);
  return impl_->files.find(name) != impl_->files.end();
}

Result<std::string> ModelSource::file(std::string_view name) const {
  if (impl_->pack) return impl_->pack->file(name);
  auto it = impl_->files.find(name);
  if (it == impl_->files.end()) return Status::not_found(describe(name) + ": no such file");
  return read_file_to_string(it->second, kMaxBundledFileBytes);
}

std::string ModelSource::describe(std::string_view name) const {
  return impl_->path + (impl_->pack ? ":" : "/") + std::string(name);
}

}  // namespace mlxpack
