// Status and Result<T>: the one error path of every mlxpack library.
//
// Contract: no exception crosses a library boundary. Every fallible function
// returns a Status (or a Result<T> holding either a value or a non-OK Status).
// A Status carries
//   - a category (StatusCode) that tools map to an exit code,
//   - for violations of spec/FORMAT.md, the exact rule broken (FormatError),
//     so tests and FFI callers can tell one violation from another,
//   - a message naming the file, the field, the value and the limit.
//
// This header is C++17 so downstream runtimes can include it.
#ifndef MLXPACK_STATUS_H_
#define MLXPACK_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mlxpack/export.h"

namespace mlxpack {

enum class StatusCode : int {
  kOk = 0,
  kNotFound = 1,         // not our format, or a named entry that is absent
  kCorruption = 2,       // our format, but the bytes break a rule of the spec
  kUnsupported = 3,      // a future version or feature this reader lacks
  kInvalidArgument = 4,  // the caller's input (flags, directory) is unusable
  kIOError = 5,          // the operating system refused a read, a write or
                         // memory, or a path does not exist
  kAlreadyExists = 6,    // an output exists and overwriting was not asked for
};

// One value per MUST of spec/FORMAT.md §9 (conformance). Values are stable:
// they are part of the C API.
enum class FormatError : int {
  kNone = 0,
  kBadMagic = 1,
  kUnsupportedVersion = 2,
  kBadSuperblockSize = 3,
  kSuperblockChecksum = 4,
  kUnknownRequiredFeature = 5,
  kSuperblockReserved = 6,
  kBadAlignment = 7,
  kBadChecksumAlgorithm = 8,
  kFileSizeMismatch = 9,
  kTrailerMismatch = 10,
  kIndexOutOfBounds = 11,
  kIndexChecksum = 12,
  kBadIndexMagic = 13,
  kBadEntrySize = 14,
  kTooManyEntries = 15,
  kIndexSizeMismatch = 16,
  kIndexReserved = 17,
  kBadEntryKind = 18,
  kEntryReserved = 19,
  kBadName = 20,
  kBadPath = 21,
  kUnsortedOrDuplicate = 22,
  kBadDtype = 23,
  kBadRank = 24,
  kShapeSizeMismatch = 25,
  kBadEncoding = 26,
  kBadOriginalSize = 27,
  kBadSourceIndex = 28,
  kSourceSizeMismatch = 29,
  kEntryOutOfBounds = 30,
  kMisaligned = 31,
  kOverlapOrHole = 32,
  kChecksumMismatch = 33,   // an entry's stored bytes (verify time)
  kNonZeroPadding = 34,     // padding between regions (verify time)
  kBadCompressedData = 35,  // zstd frame unreadable or of the wrong size
  kBadSafetensors = 36,     // a safetensors input or stored header is malformed
};

// Short stable name of a FormatError ("bad_magic", ...), for messages and JSON.
MLXPACK_API const char* format_error_name(FormatError error);
MLXPACK_API const char* status_code_name(StatusCode code);

class MLXPACK_API Status {
 public:
  Status() = default;  // OK

  static Status ok() { return Status(); }
  static Status not_found(std::string msg, FormatError e = FormatError::kNone) {
    return Status(StatusCode::kNotFound, e, std::move(msg));
  }
  static Status corruption(FormatError e, std::string msg) {
    return Status(StatusCode::kCorruption, e, std::move(msg));
  }
  static Status unsupported(std::string msg, FormatError e = FormatError::kNone) {
    return Status(StatusCode::kUnsupported, e, std::move(msg));
  }
  static Status invalid_argument(std::string msg, FormatError e = FormatError::kNone) {
    return Status(StatusCode::kInvalidArgument, e, std::move(msg));
  }
  static Status io_error(std::string msg) {
    return Status(StatusCode::kIOError, FormatError::kNone, std::move(msg));
  }
  // Every failed allocation is this one category (IOError: the system
  // refused memory), whatever was being allocated. An input over a limit is
  // InvalidArgument instead: that is the file's fault, not the machine's.
  static Status out_of_memory(std::string msg) {
    return Status(StatusCode::kIOError, FormatError::kNone, std::move(msg));
  }
  static Status already_exists(std::string msg) {
    return Status(StatusCode::kAlreadyExists, FormatError::kNone, std::move(msg));
  }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  FormatError format_error() const { return format_error_; }
  const std::string& message() const { return message_; }

  // "corruption (index_checksum): <message>", or "ok".
  std::string to_string() const;

  // The same status with "<prefix>: " put before the message.
  Status with_context(std::string_view prefix) const;

 private:
  Status(StatusCode code, FormatError e, std::string msg)
      : code_(code), format_error_(e), message_(std::move(msg)) {}

  StatusCode code_ = StatusCode::kOk;
  FormatError format_error_ = FormatError::kNone;
  std::string message_;
};

// Either a T or a non-OK Status. REQUIRES: value() only when is_ok().
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // REQUIRES: !status.is_ok(). An OK status without a value is turned into
  // an error rather than leaving value() empty.
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.is_ok()) status_ = Status::invalid_argument("internal error: Result built from an OK Status");
  }
  bool is_ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace mlxpack

#define MLXPACK_CONCAT_INNER_(a, b) a##b
#define MLXPACK_CONCAT_(a, b) MLXPACK_CONCAT_INNER_(a, b)

#define MLXPACK_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::mlxpack::Status mlxpack_status_ = (expr);  \
    if (!mlxpack_status_.is_ok()) return mlxpack_status_; \
  } while (0)

#define MLXPACK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.is_ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#define MLXPACK_ASSIGN_OR_RETURN(lhs, expr) \
  MLXPACK_ASSIGN_OR_RETURN_IMPL_(MLXPACK_CONCAT_(mlxpack_result_, __LINE__), lhs, expr)

#endif  // MLXPACK_STATUS_H_
