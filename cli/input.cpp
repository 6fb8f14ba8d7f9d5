#include "cli/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace mlxpack::cli {

namespace {

std::string size_error(const std::string& name, uint64_t max_bytes) {
  return name + ": more than the limit of " + std::to_string(max_bytes) + " bytes";
}

// Reads `fd` to its end, failing once more than `max_bytes` arrive.
Result<std::string> read_stream(int fd, const std::string& name, uint64_t max_bytes) {
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return data;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::io_error(name + ": read failed: " + std::strerror(errno));
    }
    if (static_cast<uint64_t>(n) > max_bytes - data.size()) return Status::invalid_argument(size_error(name, max_bytes));
    data.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Status require_existing(const std::string& path) {
  struct stat st;
  if (path != "-" && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return Status::io_error(path + ": no such file or directory");
  }
  return Status::ok();
}

Result<std::string> read_input(const std::string& path, uint64_t max_bytes) {
  if (path == "-") return read_stream(STDIN_FILENO, "standard input", max_bytes);
  MLXPACK_RETURN_IF_ERROR(require_existing(path));
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer here;
  // the flag is cleared before reading.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::io_error(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::io_error(path + ": cannot stat: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return Status::invalid_argument(path + ": is a directory, expected a file");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Status::invalid_argument(path + ": file is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                                    std::to_string(max_bytes));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return read_stream(fd, path, max_bytes);
}

Result<bool> read_line(std::FILE* in, std::string* line, uint64_t max_bytes) {
  line->clear();
  for (;;) {
    const int c = std::getc(in);
    if (c == EOF) {
      if (std::ferror(in)) return Status::io_error(std::string("standard input: read failed: ") + std::strerror(errno));
      return !line->empty();
    }
    if (c == '\n') return true;
    if (line->size() >= max_bytes) {
      return Status::invalid_argument("standard input: a line is more than the limit of " + std::to_string(max_bytes) +
                                      " bytes");
    }
    line->push_back(static_cast<char>(c));
  }
}

// "1,2,3", "1 2 3" or "[1, 2, 3]".
Result<std::vector<int32_t>> parse_ids(const std::string& s, const std::string& flag) {
  std::vector<int32_t> ids;
  std::string token;
  auto flush = [&]() -> Status {
    if (token.empty()) return Status::ok();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(token.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || v < INT32_MIN || v > INT32_MAX) {
      return Status::invalid_argument(flag + ": '" + token + "' is not a token id (an integer)");
    }
    ids.push_back(static_cast<int32_t>(v));
    token.clear();
    return Status::ok();
  };
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '[' || c == ']') {
      MLXPACK_RETURN_IF_ERROR(flush());
    } else {
      token.push_back(c);
    }
  }
  MLXPACK_RETURN_IF_ERROR(flush());
  return ids;
}

}  // namespace mlxpack::cli
