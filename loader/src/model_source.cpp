#include "mlxpack/model_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include <filesystem>

#include "format/file_io.h"
#include "format/layout.h"
#include "format/model_dir.h"
#include "loader/src/mapped_file.h"

namespace mlxpack {

namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

}  // namespace

struct ModelSource::Impl {
  std::string path;
  SourceKind kind = SourceKind::kPack;
  std::unique_ptr<Reader> pack;  // set for a pack

  // A directory: its mappings, the tensors in them (or copied), its files.
  std::vector<MappedFile> mappings;
  std::vector<std::unique_ptr<void, FreeDeleter>> copies;
  // name -> view (names point into keys); a pack's views hold no data.
  std::map<std::string, TensorView, std::less<>> tensors;
  std::map<std::string, std::string, std::less<>> files;    // name -> path on disk

  std::vector<std::string> names;       // tensors, sorted
  std::vector<std::string> file_names;  // sorted
  std::vector<std::string> disk_paths;
  uint64_t mapped_bytes = 0;
  uint64_t copied_bytes = 0;

  Status open_pack(const std::string& file, const OpenOptions& options);
  Status open_directory(const std::string& dir);
  Status open_file_directory(const std::string& dir);
};

ModelSource::ModelSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelSource::~ModelSource() = default;

Result<std::unique_ptr<ModelSource>> ModelSource::open(const std::string& path, const OpenOptions& options) {
  return open_with(path, options, /*files_only=*/false);
}

Result<std::unique_ptr<ModelSource>> ModelSource::open_files(const std::string& path, const OpenOptions& options) {
  return open_with(path, options, /*files_only=*/true);
}

Result<std::unique_ptr<ModelSource>> ModelSource::open_with(const std::string& path, const OpenOptions& options,
                                                            bool files_only) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::io_error(path + ": " + std::strerror(errno) + " (expected a .mlxpack file or a model directory)");
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (!S_ISDIR(st.st_mode)) {
    MLXPACK_RETURN_IF_ERROR(impl->open_pack(path, options));
  } else if (files_only) {
    MLXPACK_RETURN_IF_ERROR(impl->open_file_directory(path));
  } else {
    MLXPACK_RETURN_IF_ERROR(impl->open_directory(path));
  }
  return std::unique_ptr<ModelSource>(new ModelSource(std::move(impl)));
}

Status ModelSource::Impl::open_pack(const std::string& file, const OpenOptions& options) {
  kind = SourceKind::kPack;
  MLXPACK_ASSIGN_OR_RETURN(pack, Reader::open(file, options));
  disk_paths = {file};
  for (uint64_t i = 0; i < pack->entry_count(); ++i) {
    const EntryInfo e = pack->entry(i);
    if (e.type == EntryType::kFile) file_names.emplace_back(e.name);
    if (e.type != EntryType::kTensor) continue;
    TensorView view;
    view.dtype = e.dtype;
    view.rank = e.rank;
    view.shape = e.shape;
    view.size_bytes = e.stored_size_bytes;
    auto [it, inserted] = tensors.emplace(std::string(e.name), view);
    it->second.name = it->first;
    names.emplace_back(e.name);
    mapped_bytes += e.stored_size_bytes;
  }
  std::sort(names.begin(), names.end());
  std::sort(file_names.begin(), file_names.end());
  return Status::ok();
}

Status ModelSource::Impl::open_file_directory(const std::string& dir) {
  kind = SourceKind::kFileDirectory;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Entries of a bundled name that are not regular files are listed too,
    // so that reading one says what it is instead of "missing".
    if (is_bundled_file_name(name)) files[name] = it->path().string();
  }
  if (ec) return Status::io_error(dir + ": cannot list: " + ec.message());
  for (const auto& [name, file_path] : files) {
    file_names.push_back(name);
    disk_paths.push_back(file_path);
  }
  return Status::ok();
}

Status ModelSource::Impl::open_directory(const std::string& dir) {
  Impl* impl = this;
  kind = SourceKind::kModelDirectory;
  MLXPACK_ASSIGN_OR_RETURN(ModelDirPlan plan, plan_model_dir(dir));
  for (const BundledFilePlan& f : plan.files) {
    impl->files[f.name] = f.path;
    file_names.push_back(f.name);
    disk_paths.push_back(f.path);
  }
  for (const SourcePlan& s : plan.sources) disk_paths.push_back(s.path);
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
          return Status::out_of_memory(s.path + ": out of memory copying misaligned tensor '" + t.name + "' (" +
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
SourceKind ModelSource::kind() const { return impl_->kind; }
const std::vector<std::string>& ModelSource::tensor_names() const { return impl_->names; }
const std::vector<std::string>& ModelSource::file_names() const { return impl_->file_names; }
const std::vector<std::string>& ModelSource::disk_paths() const { return impl_->disk_paths; }
uint64_t ModelSource::mapped_bytes() const { return impl_->mapped_bytes; }
uint64_t ModelSource::copied_bytes() const { return impl_->copied_bytes; }

bool ModelSource::has_tensor(std::string_view name) const { return impl_->tensors.find(name) != impl_->tensors.end(); }

Result<TensorView> ModelSource::tensor_metadata(std::string_view name) const {
  auto it = impl_->tensors.find(name);
  if (it == impl_->tensors.end()) return Status::not_found(impl_->path + ": no tensor '" + std::string(name) + "'");
  TensorView view = it->second;
  view.data = nullptr;
  return view;
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
  std::error_code ec;
  if (!std::filesystem::is_regular_file(it->second, ec)) {  // follows symlinks, as reading does
    return Status::invalid_argument(it->second + ": not a regular file");
  }
  return read_file_to_string(it->second, layout::kMaxBundledFileSize);
}

Result<std::optional<std::string>> ModelSource::optional_file(std::string_view name) const {
  if (!has_file(name)) return std::optional<std::string>();
  MLXPACK_ASSIGN_OR_RETURN(std::string bytes, file(name));
  return std::optional<std::string>(std::move(bytes));
}

std::string ModelSource::describe(std::string_view name) const {
  return impl_->path + (impl_->pack ? ":" : "/") + std::string(name);
}

}  // namespace mlxpack
