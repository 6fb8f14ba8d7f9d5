#include "convert/output_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <algorithm>
#include <random>
#include <set>

#include "convert/converter.h"
#include "format/file_io.h"
#include "format/temporary_outputs.h"
#include "pack/pack_builder.h"

namespace mlxpack {

namespace {

namespace fs = std::filesystem;

// Written last into every mlx-dir output: the names of the files convert
// wrote there, one per line. It is how a later --force recognises a
// directory as ours.
constexpr const char* kOutputMarker = ".mlxpack-convert-output";

// An existing output directory may be replaced only with --force, only if it
// is a directory (not a link), carries our marker, and holds nothing but the
// files the marker lists: never delete what we did not write.
Status check_replaceable_dir(const std::string& dir, bool overwrite) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return Status::ok();
  if (!overwrite) return Status::already_exists(dir + ": output exists; pass --force to overwrite it");
  if (!S_ISDIR(st.st_mode)) {
    return Status::already_exists(dir + ": output exists and is not a directory; --force replaces only a directory "
                                  "that convert wrote");
  }
  const std::string marker_path = dir + "/" + kOutputMarker;
  Result<std::string> read = read_file_to_string(marker_path, 1 << 20);
  if (!read.is_ok()) {
    return Status::already_exists(dir + ": output exists and was not written by mlxpack convert (no readable " +
                                  kOutputMarker + "); --force replaces only a previous mlx-dir output");
  }
  const std::string& listing = *read;
  std::set<std::string> ours{kOutputMarker};
  for (size_t pos = 0; pos < listing.size();) {
    const size_t nl = listing.find('\n', pos);
    const size_t end = nl == std::string::npos ? listing.size() : nl;
    if (end > pos) ours.insert(listing.substr(pos, end - pos));
    pos = end + 1;
  }
  // Folders of listed files (a bundled adapter's "adapter/") are ours too.
  std::set<std::string> folders;
  for (const std::string& name : ours) {
    for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
      folders.insert(name.substr(0, slash));
    }
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = fs::path(it->path()).lexically_relative(dir).generic_string();
    const fs::file_type type = it->symlink_status(ec).type();
    const bool listed = type == fs::file_type::regular ? ours.count(name) > 0
                        : type == fs::file_type::directory ? folders.count(name) > 0
                                                            : false;
    if (!listed) {
      return Status::already_exists(dir + ": holds '" + name + "', which convert did not write; refusing to replace "
                                    "the directory even with --force");
    }
  }
  if (ec) return Status::io_error(dir + ": cannot list the old output: " + ec.message());
  return Status::ok();
}

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

// Writes into `<parent>/.<name>.tmp-<pid>-<8 hex>/` (temporary_outputs.h), renamed to `dir` at
// finish(). The destructor removes the temporary directory if finish() was
// not reached.
class DirSink final : public OutputSink {
 public:
  // `slot`: temp's entry in the temporary-outputs registry, made before
  // the directory was created.
  DirSink(std::string dir, std::string temp, bool overwrite, int slot)
      : dir_(std::move(dir)), temp_(std::move(temp)), overwrite_(overwrite), slot_(slot) {}
  ~DirSink() override {
    shard_.reset();
    std::error_code ec;
    if (!temp_.empty()) fs::remove_all(temp_, ec);
    unregister_temporary(slot_);
  }

  Status add_file(const std::string& name, const std::string& bytes) override {
    // A pack's file names are checked relative paths (spec §6.4), e.g. a
    // bundled adapter's "adapter/adapters.safetensors": their folders are
    // made inside our temporary directory.
    if (const size_t slash = name.rfind('/'); slash != std::string::npos) {
      std::error_code ec;
      std::filesystem::create_directories(temp_ + "/" + name.substr(0, slash), ec);
      if (ec) return Status::io_error(temp_ + "/" + name.substr(0, slash) + ": cannot create: " + ec.message());
    }
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
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(temp_)) {
      if (!e.is_regular_file()) continue;  // a bundled adapter's folder
      total += e.file_size();
      names.push_back(e.path().lexically_relative(temp_).generic_string());
    }
    std::sort(names.begin(), names.end());  // the same input gives the same bytes
    std::string listing;
    for (const std::string& n : names) listing += n + "\n";
    // The marker lists what we wrote: a later --force replaces the directory
    // only if it holds nothing else.
    {
      MLXPACK_ASSIGN_OR_RETURN(OutputFile marker, OutputFile::create(temp_ + "/" + kOutputMarker, false));
      MLXPACK_RETURN_IF_ERROR(marker.append(listing.data(), listing.size()));
      MLXPACK_RETURN_IF_ERROR(marker.commit());
    }
    std::error_code ec;
    std::string old;
    if (fs::exists(fs::symlink_status(dir_, ec))) {
      MLXPACK_RETURN_IF_ERROR(check_replaceable_dir(dir_, overwrite_));
      old = temp_ + ".old";
      fs::rename(dir_, old, ec);
      if (ec) return Status::io_error(dir_ + ": cannot move the old output aside: " + ec.message());
    }
    fs::rename(temp_, dir_, ec);
    if (ec) return Status::io_error(dir_ + ": cannot rename the temporary directory into place: " + ec.message());
    temp_.clear();
    unregister_temporary(slot_);
    slot_ = -1;
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
  int slot_;  // in the temporary-outputs registry
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

Result<std::unique_ptr<OutputSink>> make_dir_sink(const std::string& dir, const std::string& input, bool overwrite) {
  std::error_code ec;
  // Replacing the input directory, one inside it or one holding it would
  // delete the model being read (or the user's other files).
  const fs::path out_real = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  const fs::path in_real = fs::weakly_canonical(fs::absolute(input, ec), ec);
  auto within = [](const fs::path& inner, const fs::path& outer) {
    auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
    return o == outer.end();
  };
  if (!out_real.empty() && !in_real.empty() && (within(out_real, in_real) || within(in_real, out_real))) {
    return Status::invalid_argument(dir + ": the output directory is, contains or is inside the input " + input +
                                    "; choose a directory outside it");
  }
  MLXPACK_RETURN_IF_ERROR(check_replaceable_dir(dir, overwrite));
  fs::path p = fs::absolute(dir, ec).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  remove_stale_temporaries(p.string());  // a killed run's leftovers
  const std::string temp = temporary_path_for(p.string());
  const int slot = register_temporary(temp, true);  // before it exists, as OutputFile does
  if (::mkdir(temp.c_str(), 0755) != 0) {
    const int err = errno;
    unregister_temporary(slot);
    return Status::io_error(dir + ": cannot create a temporary directory beside it (" + temp + "): " +
                            std::strerror(err));
  }
  return std::unique_ptr<OutputSink>(new DirSink(p.string(), temp, overwrite, slot));
}

Result<std::unique_ptr<OutputSink>> open_output_sink(const ConvertOptions& options,
                                                     const std::vector<std::string>& input_files) {
  if (options.format == OutputFormat::kPack) {
    MLXPACK_RETURN_IF_ERROR(check_output_is_not_input(options.output, input_files));
    return make_pack_sink(options.output, options.alignment, options.overwrite);
  }
  return make_dir_sink(options.output, options.input, options.overwrite);
}

}  // namespace mlxpack
