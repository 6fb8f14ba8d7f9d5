#include "inspect/extract.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "format/file_io.h"
#include "format/names.h"

namespace mlxpack {

namespace {

struct Target {
  EntryType type;
  std::string name;
};

// Creates the directories of `rel` under `root`, refusing any component
// that exists as a symlink or non-directory, so nothing is written outside.
Status prepare_parent_dirs(const std::string& root, const std::string& rel) {
  std::string path = root;
  size_t start = 0;
  while (true) {
    const size_t slash = rel.find('/', start);
    if (slash == std::string::npos) break;
    path += "/" + rel.substr(start, slash - start);
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
        return Status::invalid_argument(path + ": exists and is not a plain directory; refusing to extract '" + rel +
                                        "' through it");
      }
    } else if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::io_error(path + ": cannot create directory: " + std::strerror(errno));
    }
    start = slash + 1;
  }
  return Status::ok();
}

// Adds bytes written and reports them.
struct Progress {
  const ExtractOptions& options;
  uint64_t done = 0, total = 0;
  void add(uint64_t bytes) {
    done += bytes;
    if (options.on_progress) options.on_progress(done, total);
  }
};

Result<uint64_t> write_file_entry(const Reader& reader, const std::string& name, const std::string& dest,
                                  bool overwrite, Progress* progress) {
  MLXPACK_RETURN_IF_ERROR(reader.verify(name));
  MLXPACK_ASSIGN_OR_RETURN(std::string bytes, reader.file(name));
  MLXPACK_ASSIGN_OR_RETURN(OutputFile out, OutputFile::create(dest, overwrite));
  MLXPACK_RETURN_IF_ERROR(out.append(bytes.data(), bytes.size()));
  MLXPACK_RETURN_IF_ERROR(out.commit());
  progress->add(bytes.size());
  return bytes.size();
}

Result<uint64_t> write_source_entry(const Reader& reader, const std::string& name, const std::string& dest,
                                    bool overwrite, Progress* progress) {
  MLXPACK_RETURN_IF_ERROR(reader.verify(name));  // checksum and header against the index
  MLXPACK_ASSIGN_OR_RETURN(SourceView source, reader.source(name));
  MLXPACK_ASSIGN_OR_RETURN(OutputFile out, OutputFile::create(dest, overwrite));
  MLXPACK_RETURN_IF_ERROR(out.append(source.header_region.data(), source.header_region.size()));
  progress->add(source.header_region.size());
  for (const TensorView& t : source.tensors) {
    MLXPACK_RETURN_IF_ERROR(reader.verify(t.name).with_context("extracting " + name));
    MLXPACK_RETURN_IF_ERROR(out.append(t.data, t.size_bytes));
    progress->add(t.size_bytes);
  }
  if (out.position() != source.original_size_bytes) {
    return Status::corruption(FormatError::kSourceSizeMismatch,
                              reader.path() + ": source '" + name + "' rebuilt to " + std::to_string(out.position()) +
                                  " bytes, the index says " + std::to_string(source.original_size_bytes));
  }
  MLXPACK_RETURN_IF_ERROR(out.commit());
  return source.original_size_bytes;
}

}  // namespace

Result<std::vector<ExtractedFile>> extract_pack(const Reader& reader, const ExtractOptions& options) {
  std::vector<Target> targets;
  Progress progress{options};
  for (uint64_t i = 0; i < reader.entry_count(); ++i) {
    const EntryInfo e = reader.entry(i);
    if (e.type == EntryType::kTensor) continue;
    if (!options.only.empty() && e.name != options.only) continue;
    targets.push_back({e.type, std::string(e.name)});
    progress.total += e.original_size_bytes;
  }
  if (!options.only.empty() && targets.empty()) {
    return Status::not_found(reader.path() + ": no bundled or safetensors file named '" + options.only + "'");
  }
  if (::mkdir(options.output_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::io_error(options.output_dir + ": cannot create directory: " + std::strerror(errno));
  }
  struct stat st;
  if (::stat(options.output_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::invalid_argument(options.output_dir + ": not a directory");
  }
  // Check everything before writing anything: names, then existing outputs.
  for (const Target& t : targets) {
    if (std::string reason = check_relative_path(t.name); !reason.empty()) {
      return Status::corruption(FormatError::kBadPath, reader.path() + ": entry '" + t.name + "': " + reason);
    }
    if (!options.overwrite && ::lstat((options.output_dir + "/" + t.name).c_str(), &st) == 0) {
      return Status::already_exists(options.output_dir + "/" + t.name + ": exists; pass --force to overwrite");
    }
  }
  std::vector<ExtractedFile> written;
  for (const Target& t : targets) {
    MLXPACK_RETURN_IF_ERROR(prepare_parent_dirs(options.output_dir, t.name));
    const std::string dest = options.output_dir + "/" + t.name;
    MLXPACK_ASSIGN_OR_RETURN(uint64_t size, t.type == EntryType::kFile
                                                ? write_file_entry(reader, t.name, dest, options.overwrite, &progress)
                                                : write_source_entry(reader, t.name, dest, options.overwrite, &progress));
    written.push_back({t.name, size});
  }
  return written;
}

}  // namespace mlxpack
