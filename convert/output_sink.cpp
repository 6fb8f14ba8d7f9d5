#include "convert/output_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include "format/file_io.h"
#include "pack/pack_builder.h"

namespace mlxpack {

namespace {

namespace fs = std::filesystem;

class PackSink final : public OutputSink {
 public:
  explicit PackSink(PackBuilder b) : builder_(std::move(b)) {}
  Status add_file(const std::string& name, const std::string& bytes) override { return builder_.add_file(name, bytes); }
  Status begin_shard(const std::string& name, const std::string& header_region, uint64_t file_size) override {
    MLXPACK_ASSIGN_OR_RETURN(source_, builder_.add_source(name, header_region, file_size));
    return Status::ok();
  }
  Status add_tensor(const std::string& name, DType dtype, const std::vector<uint64_t>& shape, const uint8_t* data,
                    uint64_t size) override {
    return builder_.add_tensor(name, dtype, shape,
                               std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(size)),
                               source_);
  }
  Result<uint64_t> finish() override { return builder_.finish(); }

 private:
  PackBuilder builder_;
  uint32_t source_ = 0;
};

// Writes into `<parent>/.<name>.tmp-<pid>-<random>/`, renamed to `dir` at
// finish(). The destructor removes the temporary directory if finish() was
// not reached.
class DirSink final : public OutputSink {
 public:
  DirSink(std::string dir, std::string temp, bool overwrite)
      : dir_(std::move(dir)), temp_(std::move(temp)), overwrite_(overwrite) {}
  ~DirSink() override {
    shard_.reset();
    std::error_code ec;
    if (!temp_.empty()) fs::remove_all(temp_, ec);
  }

  Status add_file(const std::string& name, const std::string& bytes) override {
    MLXPACK_ASSIGN_OR_RETURN(OutputFile f, OutputFile::create(temp_ + "/" + name, false));
    MLXPACK_RETURN_IF_ERROR(f.append(bytes.data(), bytes.size()));
    return f.commit();
  }
  Status begin_shard(const std::string& name, const std::string& header_region, uint64_t) override {
    MLXPACK_RETURN_IF_ERROR(close_shard());
    MLXPACK_ASSIGN_OR_RETURN(OutputFile f, OutputFile::create(temp_ + "/" + name, false));
    shard_.emplace(std::move(f));
    return shard_->append(header_region.data(), header_region.size());
  }
  Status add_tensor(const std::string&, DType, const std::vector<uint64_t>&, const uint8_t* data,
                    uint64_t size) override {
    return shard_->append(data, static_cast<size_t>(size));
  }
  Result<uint64_t> finish() override {
    MLXPACK_RETURN_IF_ERROR(close_shard());
    uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(temp_)) total += e.file_size();
    std::error_code ec;
    std::string old;
    if (fs::exists(dir_, ec)) {
      if (!overwrite_) return Status::already_exists(dir_ + ": output exists; pass --force to overwrite it");
      old = temp_ + ".old";
      fs::rename(dir_, old, ec);
      if (ec) return Status::io_error(dir_ + ": cannot move the old output aside: " + ec.message());
    }
    fs::rename(temp_, dir_, ec);
    if (ec) return Status::io_error(dir_ + ": cannot rename the temporary directory into place: " + ec.message());
    temp_.clear();
    if (!old.empty()) fs::remove_all(old, ec);
    return total;
  }

 private:
  Status close_shard() {
    if (!shard_) return Status::ok();
    Status s = shard_->commit();
    shard_.reset();
    return s;
  }

  std::string dir_, temp_;
  bool overwrite_;
  std::optional<OutputFile> shard_;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> make_pack_sink(const std::string& path, uint32_t alignment, bool overwrite) {
  PackBuilderOptions o;
  o.alignment = alignment;
  o.overwrite = overwrite;
  MLXPACK_ASSIGN_OR_RETURN(PackBuilder b, PackBuilder::create(path, o));
  return std::unique_ptr<OutputSink>(new PackSink(std::move(b)));
}

Result<std::unique_ptr<OutputSink>> make_dir_sink(const std::string& dir, bool overwrite) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !overwrite) {
    return Status::already_exists(dir + ": output exists; pass --force to overwrite it");
  }
  fs::path p = fs::absolute(dir, ec).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::random_device rd;
  const std::string temp = (p.parent_path() / ("." + p.filename().string() + ".tmp-" +
                                               std::to_string(::getpid()) + "-" + std::to_string(rd())))
                               .string();
  if (::mkdir(temp.c_str(), 0755) != 0) {
    return Status::io_error(dir + ": cannot create a temporary directory beside it (" + temp + "): " +
                            std::strerror(errno));
  }
  return std::unique_ptr<OutputSink>(new DirSink(p.string(), temp, overwrite));
}

}  // namespace mlxpack
