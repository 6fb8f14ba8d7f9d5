// POSIX file primitives shared by the writers (pack, extract, convert) and
// the tools: whole-file reads with a size cap, positioned reads, and an
// output file that appears at its final path only when complete.
#ifndef MLXPACK_FORMAT_FILE_IO_H_
#define MLXPACK_FORMAT_FILE_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack {

// Reads a whole regular file. Fails with InvalidArgument if it is larger than
// `max_size_bytes`, IOError if it cannot be read.
Result<std::string> read_file_to_string(const std::string& path, uint64_t max_size_bytes);

// InvalidArgument when `output` exists and is the same file (device and
// inode, so links and other spellings count) as one of `inputs`: replacing
// it with --force would destroy what is being read.
Status check_output_is_not_input(const std::string& output, const std::vector<std::string>& inputs);

// A read-only file descriptor with positioned, complete reads.
class InputFile {
 public:
  static Result<InputFile> open(const std::string& path);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  uint64_t size_bytes() const { return size_bytes_; }
  const std::string& path() const { return path_; }
  // The descriptor, owned by this object (for mmap).
  int fd() const { return fd_; }
  // Reads exactly `size` bytes at `offset`; a short file is an IOError.
  Status read_at(uint64_t offset, void* out, size_t size) const;
  // Tells the kernel the file will be read once, front to back.
  void advise_sequential() const;

 private:
  InputFile(int fd, uint64_t size, std::string path) : fd_(fd), size_bytes_(size), path_(std::move(path)) {}
  int fd_ = -1;
  uint64_t size_bytes_ = 0;
  std::string path_;
};

// A file written under a temporary name beside `final_path` and renamed over
// it by commit(), after fsync of the file and, after the rename, of its
// directory. If the object is destroyed before commit() the temporary file
// is removed: a reader never sees a partial file at `final_path`. The
// temporary is registered for signal handlers (format/temporary_outputs.h),
// and create() first removes temporaries of `final_path` left by processes
// that no longer exist.
// Appends are written in whole, aligned stretches of this many bytes.
inline constexpr uint64_t kWriteStretchBytes = uint64_t{2} << 20;

class OutputFile {
 public:
  // Fails with AlreadyExists when `final_path` exists and !overwrite, and
  // with IOError when the temporary file cannot be created.
  static Result<OutputFile> create(const std::string& final_path, bool overwrite);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  // Appends at the current end. Bytes reach the file in whole stretches of
  // kWriteStretchBytes where they can (see file_io.cpp); a failed write
  // may therefore be reported by a later append(), write_at() or commit().
  Status append(const void* data, size_t size);
  // Writes at `offset` without moving the end (offset + size <= position()).
  Status write_at(uint64_t offset, const void* data, size_t size);
  // Appends `count` zero bytes.
  Status append_zeros(uint64_t count);
  uint64_t position() const { return position_; }
  const std::string& final_path() const { return final_path_; }
  const std::string& temp_path() const { return temp_path_; }

  // fsync, rename to final_path, fsync the directory. After success the
  // object owns nothing. With !overwrite, fails if final_path appeared meanwhile.
  Status commit();

 private:
  OutputFile(int fd, std::string final_path, std::string temp_path, bool overwrite)
      : fd_(fd), final_path_(std::move(final_path)), temp_path_(std::move(temp_path)), overwrite_(overwrite) {}
  void discard();
  Status flush_pending();
  void start_writeback();

  int fd_ = -1;
  std::string final_path_;
  std::string temp_path_;
  bool overwrite_ = false;
  uint64_t position_ = 0;
  uint64_t writeback_start_ = 0;  // first byte not yet handed to writeback
  std::vector<uint8_t> pending_;  // the last pending_.size() bytes before position_, not yet written
  int slot_ = -1;                 // in the temporary-outputs registry
};

// errno as text, for messages.
std::string errno_text(int err);

// The directory part of `path`: "." without a slash, "/" for "/name".
std::string parent_dir(const std::string& path);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_FILE_IO_H_
