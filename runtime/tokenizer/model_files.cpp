#include "runtime/tokenizer/model_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  // Read in one pass into a string of the file's size: a 9 MB tokenizer.json
  // through a stringstream took a fifth of the tokenizer's load time.
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
  // below); on a regular file the flag changes nothing.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::io_error(path + ": cannot open: " + std::strerror(errno));
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::io_error(path + ": read failed: " + std::strerror(err));
    }
    if (n == 0) break;  // shorter than it was a moment ago: take what is there
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  return std::optional<std::string>(std::move(bytes));
}

std::string ModelFiles::describe(const std::string& name) const {
  return pack_ ? root_ + ":" + name : root_ + "/" + name;
}

}  // namespace mlxpack::tokenizer
