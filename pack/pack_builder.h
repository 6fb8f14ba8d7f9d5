// PackBuilder writes a .mlxpack file (spec/FORMAT.md) as a stream: entry data
// goes to disk as it is added, through one bounded buffer, so packing a model
// never holds the model in memory. Only the index (O(entries)) is kept.
//
// The output is written under a temporary name beside the destination and
// appears there only when finish() succeeds (fsync, then rename). If the
// builder is destroyed before, the temporary file is removed.
//
// Entries are laid out in the order they are added, each at the next
// multiple of the alignment. The builder sorts the index itself, so callers
// only choose the data order; to make output deterministic, add in a
// deterministic order.
//
// Argument errors (a bad name, a size that does not match the shape) leave
// the builder usable. After an I/O error the builder must be discarded: its
// temporary file is then removed.
#ifndef MLXPACK_PACK_PACK_BUILDER_H_
#define MLXPACK_PACK_PACK_BUILDER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "format/file_io.h"
#include "format/index.h"
#include "format/layout.h"
#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct PackBuilderOptions {
  uint32_t alignment = layout::kDefaultAlignment;  // power of two in [64, 2^20]
  bool overwrite = false;
  int zstd_level = 12;  // bundled files; a file is stored compressed only when that is smaller
  // Called after each chunk of entry data is written, with the bytes so far.
  std::function<void(uint64_t bytes_written)> on_progress;
};

class PackBuilder {
 public:
  // Fails with InvalidArgument for a bad alignment, AlreadyExists when the
  // output exists and !overwrite, IOError when it cannot be created.
  static Result<PackBuilder> create(const std::string& output_path, const PackBuilderOptions& options);

  PackBuilder(PackBuilder&&) noexcept = default;
  PackBuilder& operator=(PackBuilder&&) = delete;

  // A bundled file. REQUIRES: no tensor is open.
  // Fails with InvalidArgument if `path` is not a safe relative path or is
  // larger than the 1 GiB limit of §7.
  Status add_file(std::string_view path, std::string_view bytes);

  // A safetensors source: its header region (8-byte size + JSON) and the size
  // of the whole source file. Returns the handle tensors refer to.
  Result<uint32_t> add_source(std::string_view path, std::string_view header_region, uint64_t file_size);

  // Streams one tensor: begin_tensor, append() its bytes, end_tensor.
  // `source` is a handle from add_source, or layout::kNoSource.
  // end_tensor fails if the bytes appended differ from shape x dtype.
  Status begin_tensor(std::string_view name, DType dtype, const std::vector<uint64_t>& shape,
                      uint32_t source = layout::kNoSource);
  Status append(const void* data, size_t size);
  Status end_tensor();

  // Convenience forms of the above.
  Status add_tensor(std::string_view name, DType dtype, const std::vector<uint64_t>& shape,
                    std::string_view bytes, uint32_t source = layout::kNoSource);
  // Copies `size` bytes at `offset` of `in` through the builder's two 8 MiB
  // buffers, reading the next chunk while the current one is written.
  Status add_tensor_from_file(std::string_view name, DType dtype, const std::vector<uint64_t>& shape,
                              const InputFile& in, uint64_t offset, uint64_t size,
                              uint32_t source = layout::kNoSource);

  // Writes the index, the trailer and the superblock, then commits the file.
  // Fails (InvalidArgument) on duplicate names, naming them. Returns the
  // size of the file written.
  Result<uint64_t> finish();

 private:
  struct PendingEntry {
    EntryKind kind;
    uint8_t type = 0;
    uint8_t rank = 0;
    uint32_t source = layout::kNoSource;  // handle, remapped at finish()
    std::string name;
    uint64_t data_offset = 0;
    uint64_t stored_size = 0;
    uint64_t original_size = 0;
    Checksum128 checksum;
    std::array<uint64_t, layout::kMaxRank> dims{};
  };

  PackBuilder(OutputFile out, const PackBuilderOptions& options);
  Status start_entry(PendingEntry entry);
  Status write_entry_bytes(const void* data, size_t size);
  // The same for bytes already fed to hasher_.
  Status write_hashed_bytes(const void* data, size_t size);
  Status add_whole_entry(PendingEntry entry, std::string_view stored);

  OutputFile out_;
  PackBuilderOptions options_;
  std::vector<PendingEntry> entries_;
  std::array<std::vector<uint8_t>, 2> buffers_;  // for add_tensor_from_file
  bool tensor_open_ = false;
  uint64_t tensor_expected_size_ = 0;
  std::unique_ptr<Hasher> hasher_;
  uint64_t data_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace mlxpack

#endif  // MLXPACK_PACK_PACK_BUILDER_H_
