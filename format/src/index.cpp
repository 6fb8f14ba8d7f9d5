#include "format/index.h"

#include <algorithm>
#include <cstring>

#include "format/byte_order.h"
#include "format/names.h"

namespace mlxpack {

using namespace layout;

namespace {


std::string entry_label(uint64_t i, const Entry& e) {
  return "index entry " + std::to_string(i) + " (" + entry_kind_name(e.kind) + " '" + std::string(e.name) + "')";
}

void encode_entry(const Entry& e, uint64_t name_offset, uint8_t* p) {
  std::memset(p, 0, kEntrySize);
  p[kEnKindOffset] = static_cast<uint8_t>(e.kind);
  p[kEnTypeOffset] = e.type;
  p[kEnRankOffset] = e.rank;
  store_le32(p + kEnSourceIndexOffset, e.source_index);
  store_le64(p + kEnNameOffsetOffset, name_offset);
  store_le32(p + kEnNameSizeOffset, static_cast<uint32_t>(e.name.size()));
  store_le64(p + kEnDataOffsetOffset, e.data_offset);
  store_le64(p + kEnStoredSizeOffset, e.stored_size);
  store_le64(p + kEnOriginalSizeOffset, e.original_size);
  store_le64(p + kEnChecksumOffset, e.checksum.low64);
  store_le64(p + kEnChecksumOffset + 8, e.checksum.high64);
  for (size_t d = 0; d < kMaxRank; ++d) store_le64(p + kEnDimsOffset + 8 * d, e.dims[d]);
}

}  // namespace

const char* entry_kind_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::kTensor: return "tensor";
    case EntryKind::kFile: return "file";
    case EntryKind::kSource: return "source";
  }
  return "unknown";
}

bool entry_key_less(EntryKind a_kind, std::string_view a_name, EntryKind b_kind,
                    std::string_view b_name) {
  if (a_kind != b_kind) return static_cast<uint8_t>(a_kind) < static_cast<uint8_t>(b_kind);
  // std::string_view compares with char_traits<char>, which compares as
  // unsigned char, so this is the bytewise order §5.3 asks for.
  return a_name < b_name;
}

uint64_t data_region_start(uint32_t alignment) {
  return (kSuperblockSize + alignment - 1) & ~uint64_t{alignment - 1};
}

std::vector<uint8_t> encode_index(const std::vector<Entry>& entries) {
  uint64_t strings_size = 0;
  for (const Entry& e : entries) strings_size += e.name.size();
  const uint64_t body = kIndexHeaderSize + entries.size() * kEntrySize + strings_size;
  const uint64_t total = (body + 7) & ~uint64_t{7};
  std::vector<uint8_t> out(total, 0);
  std::memcpy(out.data() + kIxMagicOffset, kIndexMagic.data(), kIndexMagic.size());
  store_le32(out.data() + kIxEntrySizeOffset, static_cast<uint32_t>(kEntrySize));
  store_le64(out.data() + kIxEntryCountOffset, entries.size());
  store_le64(out.data() + kIxStringsSizeOffset, strings_size);
  uint8_t* strings = out.data() + kIndexHeaderSize + entries.size() * kEntrySize;
  uint64_t name_offset = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    encode_entry(e, name_offset, out.data() + kIndexHeaderSize + i * kEntrySize);
    std::memcpy(strings + name_offset, e.name.data(), e.name.size());
    name_offset += e.name.size();
  }
  return out;
}

Entry IndexView::entry(uint64_t i) const {
  const uint8_t* p = entries_ + i * entry_size_;
  Entry e;
  e.kind = static_cast<EntryKind>(p[kEnKindOffset]);
  e.type = p[kEnTypeOffset];
  e.rank = p[kEnRankOffset];
  e.source_index = load_le32(p + kEnSourceIndexOffset);
  const uint64_t name_offset = load_le64(p + kEnNameOffsetOffset);
  const uint32_t name_size = load_le32(p + kEnNameSizeOffset);
  // Bounds of the name are checked by validate() before any caller gets here;
  // during validation this is only called after the same check.
  e.name = std::string_view(reinterpret_cast<const char*>(strings_ + name_offset), name_size);
  e.data_offset = load_le64(p + kEnDataOffsetOffset);
  e.stored_size = load_le64(p + kEnStoredSizeOffset);
  e.original_size = load_le64(p + kEnOriginalSizeOffset);
  e.checksum.low64 = load_le64(p + kEnChecksumOffset);
  e.checksum.high64 = load_le64(p + kEnChecksumOffset + 8);
  for (size_t d = 0; d < kMaxRank; ++d) e.dims[d] = load_le64(p + kEnDimsOffset + 8 * d);
  return e;
}

void IndexView::rebase_index(const uint8_t* copy) {
  entries_ = copy + kIndexHeaderSize;
  strings_ = entries_ + entry_count_ * entry_size_;
  file_ = nullptr;
}

std::optional<uint64_t> IndexView::find(EntryKind kind, std::string_view name) const {
  uint64_t lo = 0, hi = entry_count_;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const uint8_t* p = entries_ + mid * entry_size_;
    const auto mid_kind = static_cast<EntryKind>(p[kEnKindOffset]);
    const std::string_view mid_name(
        reinterpret_cast<const char*>(strings_ + load_le64(p + kEnNameOffsetOffset)),
        load_le32(p + kEnNameSizeOffset));
    if (entry_key_less(mid_kind, mid_name, kind, name)) {
      lo = mid + 1;
    } else if (entry_key_less(kind, name, mid_kind, mid_name)) {
      hi = mid;
    } else {
      return mid;
    }
  }
  return std::nullopt;
}

Result<IndexView> IndexView::validate(const uint8_t* file, uint64_t file_size, const std::string& what) {
  IndexView v;
  v.file_ = file;
  v.file_size_ = file_size;
  MLXPACK_ASSIGN_OR_RETURN(v.superblock_, decode_superblock(file, file_size, what));
  const Superblock& sb = v.superblock_;
  if (sb.file_size != file_size) {
    return Status::corruption(FormatError::kFileSizeMismatch,
                              what + ": superblock file_size is " + std::to_string(sb.file_size) +
                                  " but the file is " + std::to_string(file_size) + " bytes" +
                                  (file_size < sb.file_size ? " (truncated)" : " (trailing bytes)"));
  }
  // file_size >= kSuperblockSize here (decode_superblock checked the actual size).
  if (file_size < 2 * kSuperblockSize ||
      (kCheckStructureChecksums && std::memcmp(file, file + file_size - kSuperblockSize, kSuperblockSize) != 0)) {
    return Status::corruption(FormatError::kTrailerMismatch,
                              what + ": the trailer (last " + std::to_string(kSuperblockSize) +
                                  " bytes) is not a copy of the superblock");
  }
  MLXPACK_RETURN_IF_ERROR(v.validate_header(what));
  MLXPACK_RETURN_IF_ERROR(v.validate_entries(what));
  return v;
}

Status IndexView::validate_header(const std::string& what) {
  const Superblock& sb = superblock_;
  const uint64_t data_start = data_region_start(sb.alignment);
  const uint64_t trailer_offset = file_size_ - kSuperblockSize;
  uint64_t index_end = 0;
  if (sb.index_offset < data_start || sb.index_offset % sb.alignment != 0 ||
      sb.index_size < kIndexHeaderSize || add_overflows(sb.index_offset, sb.index_size, &index_end) ||
      index_end != trailer_offset) {
    return Status::corruption(
        FormatError::kIndexOutOfBounds,
        what + ": index_offset " + std::to_string(sb.index_offset) + " and index_size " + std::to_string(sb.index_size) +
            " do not place the index between the data region (from " + std::to_string(data_start) +
            ", aligned to " + std::to_string(sb.alignment) + ") and the trailer at " + std::to_string(trailer_offset));
  }
  const uint8_t* ix = file_ + sb.index_offset;
  const Checksum128 actual = checksum_bytes(ix, sb.index_size);
  if (kCheckStructureChecksums && actual != sb.index_checksum) {
    return Status::corruption(FormatError::kIndexChecksum,
                              what + ": index_checksum is " + sb.index_checksum.to_hex() +
                                  " but the index bytes hash to " + actual.to_hex());
  }
  ByteCursor c(ix, sb.index_size);
  const uint8_t* magic = nullptr;
  uint32_t entry_size = 0;
  uint64_t reserved = 0;
  c.read_bytes(kIndexMagic.size(), &magic);
  c.read_u32(&entry_size);
  c.read_u64(&entry_count_);
  c.read_u64(&strings_size_);
  c.read_u64(&reserved);
  if (std::memcmp(magic, kIndexMagic.data(), kIndexMagic.size()) != 0) {
    return Status::corruption(FormatError::kBadIndexMagic,
                              what + ": index does not start with the index magic 'MXIX'");
  }
  if (entry_size < kEntrySize || entry_size > kMaxEntrySize || entry_size % kEntrySizeMultiple != 0) {
    return Status::corruption(FormatError::kBadEntrySize,
                              what + ": index entry_size is " + std::to_string(entry_size) + ", must be a multiple of " +
                                  std::to_string(kEntrySizeMultiple) + " in [" + std::to_string(kEntrySize) + ", " +
                                  std::to_string(kMaxEntrySize) + "]");
  }
  entry_size_ = entry_size;
  if (reserved != 0) {
    return Status::corruption(FormatError::kIndexReserved,
                              what + ": index header reserved field is " + std::to_string(reserved) + ", must be 0");
  }
  if (entry_count_ > kMaxEntries) {
    return Status::corruption(FormatError::kTooManyEntries,
                              what + ": index entry_count is " + std::to_string(entry_count_) +
                                  ", the limit is " + std::to_string(kMaxEntries));
  }
  // entry_count <= kMaxEntries and entry_size <= kMaxEntrySize, so this product cannot overflow.
  const uint64_t entries_bytes = entry_count_ * entry_size_;
  const uint64_t room = sb.index_size - kIndexHeaderSize;
  if (entries_bytes > room || strings_size_ > room - entries_bytes ||
      ((kIndexHeaderSize + entries_bytes + strings_size_ + 7) & ~uint64_t{7}) != sb.index_size) {
    return Status::corruption(FormatError::kIndexSizeMismatch,
                              what + ": index_size " + std::to_string(sb.index_size) + " does not match " +
                                  std::to_string(entry_count_) + " entries of " + std::to_string(entry_size_) +
                                  " bytes plus " + std::to_string(strings_size_) +
                                  " bytes of names, padded to a multiple of 8");
  }
  entries_ = ix + kIndexHeaderSize;
  strings_ = entries_ + entries_bytes;
  for (uint64_t i = kIndexHeaderSize + entries_bytes + strings_size_; i < sb.index_size; ++i) {
    if (ix[i] != 0) {
      return Status::corruption(FormatError::kIndexReserved,
                                what + ": index padding byte at index offset " + std::to_string(i) + " is not zero");
    }
  }
  return Status::ok();
}

namespace {

// A stored region of the data area: an entry's [offset, offset + size).
struct Region {
  uint64_t offset;
  uint64_t size;
};

// §6.2: a tensor entry's dtype, rank, shape against its size, and source.
Status check_tensor_fields(const Entry& e, const std::string& label, uint64_t source_count, const std::string& what) {
  if (!dtype_code_is_known(e.type)) {
    return Status::corruption(FormatError::kBadDtype,
                              what + ": " + label + " has dtype code " + std::to_string(e.type) +
                                  ", known codes are 1 to " + std::to_string(kMaxDTypeCode));
  }
  if (e.rank > kMaxRank) {
    return Status::corruption(FormatError::kBadRank, what + ": " + label + " has rank " +
                                                         std::to_string(e.rank) + ", the limit is " + std::to_string(kMaxRank));
  }
  uint64_t elements = 1;
  bool overflow = false;
  for (size_t d = 0; d < e.rank; ++d) overflow |= mul_overflows(elements, e.dims[d], &elements);
  uint64_t bytes = 0;
  overflow |= mul_overflows(elements, dtype_size_bytes(e.dtype()), &bytes);
  if (overflow || bytes != e.stored_size) {
    return Status::corruption(FormatError::kShapeSizeMismatch,
                              what + ": " + label + " has stored_size " + std::to_string(e.stored_size) +
                                  (overflow ? " but its shape's byte size overflows 64 bits"
                                            : " but its shape and dtype give " + std::to_string(bytes) + " bytes"));
  }
  if (e.original_size != e.stored_size) {
    return Status::corruption(FormatError::kBadOriginalSize,
                              what + ": " + label + " has original_size " + std::to_string(e.original_size) +
                                  ", must equal stored_size " + std::to_string(e.stored_size));
  }
  if (e.source_index != kNoSource && e.source_index >= source_count) {
    return Status::corruption(FormatError::kBadSourceIndex,
                              what + ": " + label + " has source_index " + std::to_string(e.source_index) +
                                  " but there are " + std::to_string(source_count) + " source entries");
  }
  return Status::ok();
}

// §6.3, §6.4, §6.5: a file or source entry's path, unused fields, encoding
// and sizes.
Status check_file_or_source_fields(const Entry& e, const std::string& label, const std::string& what) {
  if (std::string reason = check_relative_path(e.name); !reason.empty()) {
    return Status::corruption(FormatError::kBadPath, what + ": " + label + ": " + reason);
  }
  bool dims_zero = e.rank == 0;
  for (uint64_t d : e.dims) dims_zero &= d == 0;
  if (!dims_zero) {
    return Status::corruption(FormatError::kEntryReserved,
                              what + ": " + label + " has a rank or dims, which must be 0 for " +
                                  entry_kind_name(e.kind) + " entries");
  }
  if (e.source_index != kNoSource) {
    return Status::corruption(FormatError::kBadSourceIndex,
                              what + ": " + label + " has source_index " + std::to_string(e.source_index) +
                                  ", must be 0xFFFFFFFF for " + entry_kind_name(e.kind) + " entries");
  }
  const bool zstd_allowed = e.kind == EntryKind::kFile;
  if (e.type != kEncodingRaw && !(zstd_allowed && e.type == kEncodingZstd)) {
    return Status::corruption(FormatError::kBadEncoding,
                              what + ": " + label + " has encoding " + std::to_string(e.type) +
                                  (zstd_allowed ? ", must be 0 (raw) or 1 (zstd)" : ", must be 0 (raw)"));
  }
  if (e.kind == EntryKind::kFile) {
    if ((e.type == kEncodingRaw && e.original_size != e.stored_size) ||
        e.original_size > kMaxBundledFileSize) {
      return Status::corruption(FormatError::kBadOriginalSize,
                                what + ": " + label + " has original_size " + std::to_string(e.original_size) +
                                    " (stored_size " + std::to_string(e.stored_size) +
                                    "); raw files must have equal sizes and no file may exceed " +
                                    std::to_string(kMaxBundledFileSize));
    }
  } else {
    if (e.stored_size < 8 || e.stored_size > 8 + kMaxSafetensorsHeaderSize ||
        e.original_size < e.stored_size) {
      return Status::corruption(FormatError::kBadOriginalSize,
                                what + ": " + label + " has stored_size " + std::to_string(e.stored_size) +
                                    " and original_size " + std::to_string(e.original_size) +
                                    "; a source header is 8 to " + std::to_string(8 + kMaxSafetensorsHeaderSize) +
                                    " bytes and no larger than its file");
    }
  }
  return Status::ok();
}

// §8: an entry's region lies in the data area, aligned.
Status check_region(const Entry& e, const std::string& label, const Superblock& sb, const std::string& what) {
  const uint64_t data_start = data_region_start(sb.alignment);
  const uint64_t data_end = sb.index_offset;
  uint64_t end = 0;
  if (e.data_offset < data_start || add_overflows(e.data_offset, e.stored_size, &end) || end > data_end) {
    return Status::corruption(FormatError::kEntryOutOfBounds,
                              what + ": " + label + " has data_offset " + std::to_string(e.data_offset) +
                                  " and stored_size " + std::to_string(e.stored_size) +
                                  ", outside the data region [" + std::to_string(data_start) + ", " +
                                  std::to_string(data_end) + ")");
  }
  if (e.data_offset % sb.alignment != 0) {
    return Status::corruption(FormatError::kMisaligned,
                              what + ": " + label + " has data_offset " + std::to_string(e.data_offset) +
                                  ", not a multiple of the alignment " + std::to_string(sb.alignment));
  }
  return Status::ok();
}

// §2.2 exact coverage: sorted by offset, each region starts at the first
// aligned offset after the previous one, and the index follows the last.
Status check_coverage(std::vector<Region> regions, const Superblock& sb, const std::string& what) {
  const uint64_t data_start = data_region_start(sb.alignment);
  std::sort(regions.begin(), regions.end(), [](const Region& a, const Region& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.size < b.size;
  });
  uint64_t cursor = data_start;
  for (const Region& r : regions) {
    uint64_t expected = 0;
    align_up(cursor, sb.alignment, &expected);  // cursor <= data_end < 2^62: no overflow
    if (r.offset != expected) {
      return Status::corruption(FormatError::kOverlapOrHole,
                                what + ": a region starts at " + std::to_string(r.offset) + " where the layout puts the next one at " +
                                    std::to_string(expected) + (r.offset < expected ? " (overlap)" : " (hole)"));
    }
    cursor = r.offset + r.size;
  }
  uint64_t expected_index = 0;
  align_up(cursor, sb.alignment, &expected_index);
  if (expected_index != sb.index_offset) {
    return Status::corruption(FormatError::kOverlapOrHole,
                              what + ": the data region ends at " + std::to_string(cursor) +
                                  " but the index starts at " + std::to_string(sb.index_offset) +
                                  " (expected " + std::to_string(expected_index) + ")");
  }
  return Status::ok();
}

}  // namespace

// Pass 1: each entry's header alone (kind, name, reserved bytes), the name
// table's packing, and the order of entries; counts the sources.
Status IndexView::validate_entry_headers(const std::string& what) {
  uint64_t name_cursor = 0;
  first_source_ = entry_count_;
  source_count_ = 0;
  Entry prev;
  for (uint64_t i = 0; i < entry_count_; ++i) {
    const uint8_t* p = entries_ + i * entry_size_;
    const uint8_t kind = p[kEnKindOffset];
    if (kind != kKindTensor && kind != kKindFile && kind != kKindSource) {
      return Status::corruption(FormatError::kBadEntryKind,
                                what + ": index entry " + std::to_string(i) + " has kind " + std::to_string(kind) +
                                    ", must be 1 (tensor), 2 (file) or 3 (source)");
    }
    const uint64_t name_offset = load_le64(p + kEnNameOffsetOffset);
    const uint32_t name_size = load_le32(p + kEnNameSizeOffset);
    if (name_offset != name_cursor || name_size > strings_size_ - name_cursor) {
      return Status::corruption(FormatError::kBadName,
                                what + ": index entry " + std::to_string(i) + " has name_offset " + std::to_string(name_offset) +
                                    " and name_size " + std::to_string(name_size) +
                                    "; names must follow each other from offset " + std::to_string(name_cursor) +
                                    " within the " + std::to_string(strings_size_) + "-byte name table");
    }
    name_cursor += name_size;
    const Entry e = entry(i);
    if (std::string reason = check_entry_name(e.name); !reason.empty()) {
      return Status::corruption(FormatError::kBadName, what + ": index entry " + std::to_string(i) + ": " + reason);
    }
    if (p[kEnReserved0Offset] != 0 || load_le32(p + kEnNameSizeOffset + 4) != 0) {
      return Status::corruption(FormatError::kEntryReserved,
                                what + ": " + entry_label(i, e) + " has non-zero reserved bytes");
    }
    // Bytes of an entry past kEntrySize belong to later minor versions: ignored.
    if (i > 0 && !entry_key_less(prev.kind, prev.name, e.kind, e.name)) {
      return Status::corruption(FormatError::kUnsortedOrDuplicate,
                                what + ": " + entry_label(i, e) +
                                    " does not sort strictly after the previous entry '" +
                                    std::string(prev.name) + "' (duplicate or out of order)");
    }
    if (e.kind == EntryKind::kSource) {
      if (first_source_ == entry_count_) first_source_ = i;
      ++source_count_;
    }
    prev = e;
  }
  if (source_count_ > kNoSource) {
    return Status::corruption(FormatError::kTooManyEntries, what + ": too many source entries");
  }

  return Status::ok();
}

Status IndexView::validate_entries(const std::string& what) {
  MLXPACK_RETURN_IF_ERROR(validate_entry_headers(what));
  // Pass 2: fields by kind, bounds and alignment; gather regions and source sums.
  std::vector<Region> regions;
  regions.reserve(entry_count_);
  std::vector<uint64_t> source_bytes(source_count_, 0);
  for (uint64_t i = 0; i < entry_count_; ++i) {
    const Entry e = entry(i);
    const std::string label = entry_label(i, e);
    if (e.kind == EntryKind::kTensor) {
      MLXPACK_RETURN_IF_ERROR(check_tensor_fields(e, label, source_count_, what));
    } else {
      MLXPACK_RETURN_IF_ERROR(check_file_or_source_fields(e, label, what));
    }
    MLXPACK_RETURN_IF_ERROR(check_region(e, label, superblock_, what));
    regions.push_back({e.data_offset, e.stored_size});
    if (e.kind == EntryKind::kTensor && e.source_index != kNoSource) {
      // Cannot overflow: every region lies inside a file smaller than 2^64.
      source_bytes[e.source_index] += e.stored_size;
    }
  }
  // Every source's header and tensors add up to the original file.
  for (uint64_t s = 0; s < source_count_; ++s) {
    const Entry src = entry(first_source_ + s);
    uint64_t total = 0;
    if (add_overflows(source_bytes[s], src.stored_size, &total) || total != src.original_size) {
      return Status::corruption(FormatError::kSourceSizeMismatch,
                                what + ": source '" + std::string(src.name) + "' has original_size " +
                                    std::to_string(src.original_size) + " but its header (" + std::to_string(src.stored_size) +
                                    " bytes) and tensors (" + std::to_string(source_bytes[s]) + " bytes) add up to " +
                                    std::to_string(src.stored_size + source_bytes[s]));
    }
  }

  return check_coverage(std::move(regions), superblock_, what);
}

}  // namespace mlxpack
