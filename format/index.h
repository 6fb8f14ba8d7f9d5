// The index (spec/FORMAT.md §5, §6): a header, fixed-size entries sorted by
// (kind, name), and the names back to back. IndexView validates a whole file's
// structure once (§9) and then answers look-ups by binary search over the
// mapped bytes, decoding only the entries it touches.
#ifndef MLXPACK_FORMAT_INDEX_H_
#define MLXPACK_FORMAT_INDEX_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/checksum.h"
#include "format/layout.h"
#include "format/superblock.h"
#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

enum class EntryKind : uint8_t {
  kTensor = layout::kKindTensor,
  kFile = layout::kKindFile,
  kSource = layout::kKindSource,
};

const char* entry_kind_name(EntryKind kind);  // "tensor", "file", "source"

// One decoded index entry. `name` points into the bytes it was decoded from
// (or, when encoding, into caller-owned storage).
struct Entry {
  EntryKind kind = EntryKind::kTensor;
  uint8_t type = 0;  // tensors: DType code; files and sources: encoding
  uint8_t rank = 0;
  uint32_t source_index = layout::kNoSource;
  std::string_view name;
  uint64_t data_offset = 0;
  uint64_t stored_size = 0;
  uint64_t original_size = 0;
  Checksum128 checksum;
  std::array<uint64_t, layout::kMaxRank> dims{};  // (rank) then zeros

  DType dtype() const { return static_cast<DType>(type); }
};

// Serializes entries into index bytes (header, entries, names, zero padding
// to a multiple of 8). REQUIRES: entries already sorted by (kind, name) with
// valid fields; the writer, not this function, is responsible for that.
std::vector<uint8_t> encode_index(const std::vector<Entry>& entries);

// Order of §5.3: kind first, then the name's bytes compared unsigned.
bool entry_key_less(EntryKind a_kind, std::string_view a_name, EntryKind b_kind,
                    std::string_view b_name);

// Where data regions start: the first multiple of `alignment` at or past the superblock.
uint64_t data_region_start(uint32_t alignment);

class IndexView {
 public:
  IndexView() = default;

  // Validates the file whose `file_size` bytes start at `file` (typically a
  // read-only mapping): superblock, file_size, trailer, index bounds and
  // checksum, index header, and every entry's fields, names, order, bounds,
  // alignment and layout (no overlap, no hole). Reads only the superblock,
  // the trailer and the index, never entry data. `what` names the file.
  // Fails with the FormatError of the first rule broken (§9).
  static Result<IndexView> validate(const uint8_t* file, uint64_t file_size, const std::string& what);

  const Superblock& superblock() const { return superblock_; }
  uint64_t entry_count() const { return entry_count_; }
  uint64_t source_count() const { return source_count_; }

  // REQUIRES: i < entry_count().
  Entry entry(uint64_t i) const;
  // Position of the source entry with this source_index. REQUIRES: s < source_count().
  uint64_t source_position(uint32_t s) const { return first_source_ + s; }

  // Points the view at a copy of the index bytes (the `index_size` bytes at
  // `index_offset`), so later look-ups no longer read the file. REQUIRES:
  // `copy` holds exactly the bytes validate() checked.
  void rebase_index(const uint8_t* copy);

  // Binary search; nullopt when absent.
  std::optional<uint64_t> find(EntryKind kind, std::string_view name) const;

 private:
  Status validate_header(const std::string& what);
  Status validate_entry_headers(const std::string& what);
  Status validate_entries(const std::string& what);

  const uint8_t* file_ = nullptr;
  uint64_t file_size_ = 0;
  Superblock superblock_;
  const uint8_t* entries_ = nullptr;
  const uint8_t* strings_ = nullptr;
  uint64_t entry_count_ = 0;
  uint64_t entry_size_ = layout::kEntrySize;
  uint64_t strings_size_ = 0;
  uint64_t first_source_ = 0;
  uint64_t source_count_ = 0;
};

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_INDEX_H_
