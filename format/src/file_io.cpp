#include "format/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>

#include "format/temporary_outputs.h"

namespace mlxpack {

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

namespace {

Status write_all_at(int fd, const uint8_t* p, size_t size, uint64_t offset, const std::string& what) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::io_error(what + ": write failed at offset " + std::to_string(offset) + ": " +
                              errno_text(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

}  // namespace

Result<std::string> read_file_to_string(const std::string& path, uint64_t max_size_bytes) {
  MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(path));
  if (in.size_bytes() > max_size_bytes) {
    return Status::invalid_argument(path + ": file is " + std::to_string(in.size_bytes()) +
                                    " bytes, more than the limit of " + std::to_string(max_size_bytes));
  }
  std::string out(in.size_bytes(), '\0');
  MLXPACK_RETURN_IF_ERROR(in.read_at(0, out.data(), out.size()));
  return out;
}

Status check_output_is_not_input(const std::string& output, const std::vector<std::string>& inputs) {
  struct stat out;
  if (::stat(output.c_str(), &out) != 0) return Status::ok();  // nothing there to replace
  auto same = [&](const std::string& path) {
    struct stat in;
    return ::stat(path.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino;
  };
  for (const std::string& input : inputs) {
    if (same(input)) return Status::invalid_argument(output + ": the output is the input " + input + "; choose another path");
  }
  return Status::ok();
}

Result<InputFile> InputFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
  // below); on a regular file the flag changes nothing.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::io_error(path + ": cannot open: " + errno_text(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::io_error(path + ": cannot stat: " + errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::invalid_argument(path + (S_ISDIR(st.st_mode) ? ": is a directory, expected a file" : ": not a regular file"));
  }
  return InputFile(fd, static_cast<uint64_t>(st.st_size), path);
}

InputFile::InputFile(InputFile&& other) noexcept
    : fd_(other.fd_), size_bytes_(other.size_bytes_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    size_bytes_ = other.size_bytes_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status InputFile::read_at(uint64_t offset, void* out, size_t size) const {
  auto* p = static_cast<uint8_t*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd_, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::io_error(path_ + ": read failed at offset " + std::to_string(offset) + ": " +
                              errno_text(errno));
    }
    if (n == 0) {
      return Status::io_error(path_ + ": unexpected end of file at offset " + std::to_string(offset) +
                              " (the file shrank while being read?)");
    }
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

void InputFile::advise_sequential() const { ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL); }

namespace {

const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// What already sits at `path` may be replaced only if it is a regular file
// and --force was given: replacing /dev/null, a FIFO or a directory is never
// what a user meant.
Status check_replaceable(const std::string& path, bool overwrite, const char* when) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::ok();
  if (!S_ISREG(st.st_mode)) {
    return Status::already_exists(path + ": output " + when + " and is " + file_type_name(st.st_mode) +
                                  "; --force replaces only regular files");
  }
  if (!overwrite) return Status::already_exists(path + ": output " + when + "; pass --force to overwrite it");
  return Status::ok();
}

}  // namespace

Result<OutputFile> OutputFile::create(const std::string& final_path, bool overwrite) {
  MLXPACK_RETURN_IF_ERROR(check_replaceable(final_path, overwrite, "exists"));
  remove_stale_temporaries(final_path);  // a killed run's leftovers
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string temp = temporary_path_for(final_path);
    // Registered before it exists: a signal handler on another thread must
    // not find the file created and unknown. A name taken already carries
    // this process id, so it is ours or a dead namesake's (see
    // temporary_outputs.h).
    const int slot = register_temporary(temp, false);
    const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      OutputFile out(fd, final_path, temp, overwrite);
      out.slot_ = slot;
      return out;
    }
    const int err = errno;
    unregister_temporary(slot);
    errno = err;
    if (errno != EEXIST) {
      return Status::io_error(final_path + ": cannot create a temporary file beside it (" + temp +
                              "): " + errno_text(errno));
    }
  }
  return Status::io_error(final_path + ": cannot find a free temporary file name beside it");
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(other.fd_),
      final_path_(std::move(other.final_path_)),
      temp_path_(std::move(other.temp_path_)),
      overwrite_(other.overwrite_),
      position_(other.position_),
      writeback_start_(other.writeback_start_),
      pending_(std::move(other.pending_)),
      slot_(other.slot_) {
  other.fd_ = -1;
  other.temp_path_.clear();
  other.slot_ = -1;
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
  unregister_temporary(slot_);
  slot_ = -1;
}

// Appends go to the file in whole 2 MiB stretches at 2 MiB offsets where
// they can: the page cache keeps a stretch written in one call as one 2 MiB
// folio, which a mapping of the file then maps with one page-table entry
// (loader/src/mapped_file.cpp: 1B 4-bit decode, one thread, 37.6 tokens/s
// right after convert, when a third of the pack was in small folios,
// against 39-40 all in large ones). Appends shorter than a stretch (a
// tensor's scales, a bundled file) gather in pending_ until the stretch is
// full; whole stretches of a long append go straight from the caller.
Status OutputFile::append(const void* data, size_t size) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    size_t n;
    if (pending_.empty() && position_ % kWriteStretchBytes == 0 && size >= kWriteStretchBytes) {
      n = static_cast<size_t>(size / kWriteStretchBytes * kWriteStretchBytes);
      MLXPACK_RETURN_IF_ERROR(write_all_at(fd_, p, n, position_, final_path_));
      position_ += n;
    } else {
      const uint64_t stretch_end = (position_ / kWriteStretchBytes + 1) * kWriteStretchBytes;
      n = static_cast<size_t>(std::min<uint64_t>(size, stretch_end - position_));
      pending_.insert(pending_.end(), p, p + n);
      position_ += n;
      if (position_ == stretch_end) MLXPACK_RETURN_IF_ERROR(flush_pending());
    }
    p += n;
    size -= n;
    start_writeback();
  }
  return Status::ok();
}

Status OutputFile::flush_pending() {
  if (pending_.empty()) return Status::ok();
  const uint64_t at = position_ - pending_.size();
  const Status s = write_all_at(fd_, pending_.data(), pending_.size(), at, final_path_);
  pending_.clear();
  return s;
}

// Starts writeback of every full 32 MiB written so far, so the disk works
// while we copy and commit()'s fsync has little left to wait for.
void OutputFile::start_writeback() {
  constexpr uint64_t kWritebackChunk = 32u << 20;
  const uint64_t written = position_ - pending_.size();
  if (written - writeback_start_ >= kWritebackChunk) {
    ::sync_file_range(fd_, static_cast<off_t>(writeback_start_), static_cast<off_t>(written - writeback_start_),
                      SYNC_FILE_RANGE_WRITE);
    writeback_start_ = written;
  }
}

Status OutputFile::write_at(uint64_t offset, const void* data, size_t size) {
  MLXPACK_RETURN_IF_ERROR(flush_pending());
  return write_all_at(fd_, static_cast<const uint8_t*>(data), size, offset, final_path_);
}

Status OutputFile::append_zeros(uint64_t count) {
  static const uint8_t kZeros[4096] = {};
  while (count > 0) {
    const size_t n = count < sizeof kZeros ? static_cast<size_t>(count) : sizeof kZeros;
    MLXPACK_RETURN_IF_ERROR(append(kZeros, n));
    count -= n;
  }
  return Status::ok();
}

Status OutputFile::commit() {
  if (fd_ < 0) return Status::io_error(final_path_ + ": output already committed or discarded");
  if (Status s = flush_pending(); !s.is_ok()) {
    discard();
    return s;
  }
  if (::fsync(fd_) != 0) {
    const int err = errno;
    discard();
    return Status::io_error(final_path_ + ": fsync failed: " + errno_text(err));
  }
  if (Status s = check_replaceable(final_path_, overwrite_, "appeared while writing"); !s.is_ok()) {
    discard();
    return s;
  }
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    const int err = errno;
    discard();
    return Status::io_error(final_path_ + ": cannot rename the temporary file into place: " + errno_text(err));
  }
  temp_path_.clear();
  unregister_temporary(slot_);
  slot_ = -1;
  ::close(fd_);
  fd_ = -1;
  // Make the rename itself durable.
  const int dir_fd = ::open(parent_dir(final_path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::ok();
}

}  // namespace mlxpack
