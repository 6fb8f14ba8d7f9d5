// The mlxpack loader: opens a .mlxpack file read-only, validates its
// structure, maps it, and hands out zero-copy views of tensors.
//
// Contract (spec/FORMAT.md §9): Reader::open reads the superblock, the
// trailer and the index, and rejects every structural violation before any
// entry data is touched (O(entries), no tensor bytes read). After open
// succeeds, every view it returns lies inside the file. Checksums of entry
// data are checked by verify()/verify_all(), on first access
// (VerifyMode::kLazy), or all at open (VerifyMode::kAtOpen).
//
// Thread safety: a Reader is immutable after open; all const methods may be
// called from many threads at once. Views stay valid while the Reader lives.
//
// Files changed after open: open() copies the index, so look-ups never read
// the file again. verify()/verify_all(), file() and source() read entry
// bytes under a guard and report a file truncated by another process
// (IOError, "file_changed") instead of faulting. TensorView data is plain
// mapped memory: touching it on such a file raises SIGBUS in your code.
// Replacing the file by rename (as pack --force does) is always safe: the
// Reader keeps the old bytes.
//
// Errors: every function returns Status or Result<T>; no exception escapes.
// This header is C++17.
#ifndef MLXPACK_LOADER_H_
#define MLXPACK_LOADER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/export.h"
#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

inline constexpr size_t kMaxTensorRank = 8;

enum class VerifyMode {
  kNone,    // structure only; call verify()/verify_all() yourself
  kLazy,    // a tensor's checksum is checked the first time tensor() returns it
  kAtOpen,  // open() runs verify_all() and fails on any corrupt entry
};

struct OpenOptions {
  VerifyMode verify = VerifyMode::kNone;
  unsigned verify_threads = 0;  // for kAtOpen; 0 = one per CPU this process may use
};

enum class EntryType { kTensor, kFile, kSource };
MLXPACK_API const char* entry_type_name(EntryType type);  // "tensor", "file", "source"

// A tensor in place in the mapping: `data` points at `size_bytes` bytes,
// aligned to the file's alignment (at least 64).
struct TensorView {
  std::string_view name;
  DType dtype = DType::kU8;
  uint32_t rank = 0;
  std::array<uint64_t, kMaxTensorRank> shape{};  // shape[0..rank)
  const void* data = nullptr;
  uint64_t size_bytes = 0;
};

// Any entry, as listed by Reader::entry().
struct EntryInfo {
  EntryType type = EntryType::kTensor;
  std::string_view name;
  uint64_t offset = 0;               // of its stored bytes in the file
  uint64_t stored_size_bytes = 0;
  uint64_t original_size_bytes = 0;  // files: decompressed; sources: the whole safetensors file
  bool compressed = false;           // files stored with zstd
  std::string checksum_hex;          // XXH3-128 of the stored bytes
  DType dtype = DType::kU8;          // tensors only
  uint32_t rank = 0;                 // tensors only
  std::array<uint64_t, kMaxTensorRank> shape{};
};

// A safetensors file the pack can give back byte for byte: its header region
// as it was, then its tensors' bytes in `tensors` order.
struct SourceView {
  std::string_view name;
  std::string_view header_region;  // 8-byte size + JSON header, padding included
  uint64_t original_size_bytes = 0;
  std::vector<TensorView> tensors;  // in the file's data order
};

struct CorruptEntry {
  EntryType type = EntryType::kTensor;
  std::string name;    // for padding: the entry the padding precedes, or "(index)"
  std::string reason;  // e.g. "checksum_mismatch: stored ..., computed ..."
};

struct PackInfo {
  uint16_t version_major = 0;
  uint16_t version_minor = 0;
  uint64_t file_size_bytes = 0;
  uint32_t alignment = 0;
  std::string checksum_algorithm;  // "XXH3-128"
  uint64_t index_size_bytes = 0;
  uint64_t entry_count = 0;
  uint64_t tensor_count = 0;
  uint64_t file_count = 0;
  uint64_t source_count = 0;
};

class MLXPACK_API Reader {
 public:
  // Opens and validates `path`. Fails with NotFound (not an mlxpack file),
  // Unsupported (newer major version, unknown required feature), Corruption
  // (any rule of §9, the FormatError says which), or IOError.
  static Result<std::unique_ptr<Reader>> open(const std::string& path, const OpenOptions& options = {});

  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const PackInfo& info() const;
  const std::string& path() const;

  // Entries in index order: tensors, then files, then sources, each by name.
  uint64_t entry_count() const;
  EntryInfo entry(uint64_t i) const;  // REQUIRES: i < entry_count()

  bool has_tensor(std::string_view name) const;
  bool has_file(std::string_view name) const;

  // A zero-copy view. NotFound if absent; with VerifyMode::kLazy, Corruption
  // (kChecksumMismatch) if its bytes fail their checksum.
  Result<TensorView> tensor(std::string_view name) const;

  // A bundled file's original bytes (decompressed if stored with zstd).
  // NotFound if absent; Corruption if the zstd data is bad or its size lies.
  Result<std::string> file(std::string_view name) const;

  // A safetensors source with its tensors in order. Checks that its header
  // parses and lists exactly the pack's tensors for it (Corruption if not).
  Result<SourceView> source(std::string_view name) const;

  // Checks every entry named `name` (any kind): checksum, and for files the
  // zstd frame, for sources their header. OK if sound; NotFound if no entry
  // has that name; otherwise Corruption naming the entry.
  Status verify(std::string_view name) const;

  // Checks every entry and all padding on `threads` threads (0 = one per
  // CPU this process may use). Returns the corrupt entries, sorted by name;
  // empty when the file is sound.
  Result<std::vector<CorruptEntry>> verify_all(unsigned threads = 0) const;
  // The same, calling on_progress(bytes checked, bytes in all entries)
  // after each entry, from any of the threads but one call at a time.
  Result<std::vector<CorruptEntry>> verify_all(
      unsigned threads, const std::function<void(uint64_t done, uint64_t total)>& on_progress) const;

 private:
  struct MLXPACK_LOCAL Impl;
  MLXPACK_LOCAL explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlxpack

#endif  // MLXPACK_LOADER_H_
