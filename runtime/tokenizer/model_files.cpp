#include "runtime/tokenizer/model_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mlxpack/loader.h"

namespace mlxpack::tokenizer {

namespace {

// Tokenizer files are small; anything past this is not one.
constexpr uint64_t kMaxTextFileBytes = 512ull << 20;

}  // namespace

Result<ModelFiles> ModelFiles::open(const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    return Status::not_found(root + ": " + std::strerror(errno));
  }
  ModelFiles files;
  files.root_ = root;
  if (S_ISDIR(st.st_mode)) return files;
  Result<std::unique_ptr<Reader>> reader = Reader::open(root);
  if (!reader.is_ok()) return reader.status();
  files.pack_ = std::shared_ptr<Reader>(std::move(reader).value());
  return files;
}

Result<std::optional<std::string>> ModelFiles::read(const std::string& name) const {
  if (pack_) {
    if (!pack_->has_file(name)) return std::optional<std::string>();
    MLXPACK_ASSIGN_OR_RETURN(std::string bytes, pack_->file(name));
    return std::optional<std::string>(std::move(bytes));
  }
  const std::string path = root_ + "/" + name;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::io_error(path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::invalid_argument(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxTextFileBytes) {
    return Status::invalid_argument(path + ": " + std::to_string(st.st_size) + " bytes, more than the limit " +
                                    std::to_string(kMaxTextFileBytes) + " for a tokenizer file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::io_error(path + ": read failed");
  return std::optional<std::string>(buffer.str());
}

std::string ModelFiles::describe(const std::string& name) const {
  return pack_ ? root_ + ":" + name : root_ + "/" + name;
}

}  // namespace mlxpack::tokenizer
