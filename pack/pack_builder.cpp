#include "pack/pack_builder.h"

#include <zstd.h>

#include <algorithm>
#include <future>

#include "format/byte_order.h"
#include "format/names.h"
#include "format/superblock.h"

namespace mlxpack {

namespace {

constexpr size_t kCopyBufferSize = 8u << 20;


// Bytes a tensor of this dtype and shape holds, after checking name, dtype and rank.
Result<uint64_t> tensor_size_bytes(std::string_view name, DType dtype, const std::vector<uint64_t>& shape) {
  const std::string label = "tensor '" + std::string(name) + "'";
  if (std::string reason = check_entry_name(name); !reason.empty()) {
    return Status::invalid_argument(label + ": " + reason, FormatError::kBadName);
  }
  if (dtype_size_bytes(dtype) == 0) return Status::invalid_argument(label + ": unknown dtype");
  if (shape.size() > layout::kMaxRank) {
    return Status::invalid_argument(label + " has rank " + std::to_string(shape.size()) + ", the limit is " +
                                    std::to_string(layout::kMaxRank));
  }
  uint64_t bytes = dtype_size_bytes(dtype);
  for (uint64_t d : shape) {
    if (mul_overflows(bytes, d, &bytes)) return Status::invalid_argument(label + ": shape size overflows 64 bits");
  }
  return bytes;
}

}  // namespace

Result<PackBuilder> PackBuilder::create(const std::string& output_path, const PackBuilderOptions& options) {
  const uint32_t a = options.alignment;
  if (a < layout::kMinAlignment || a > layout::kMaxAlignment || (a & (a - 1)) != 0) {
    return Status::invalid_argument("alignment is " + std::to_string(a) + ", must be a power of two in [" +
                                    std::to_string(layout::kMinAlignment) + ", " + std::to_string(layout::kMaxAlignment) + "]");
  }
  MLXPACK_ASSIGN_OR_RETURN(OutputFile out, OutputFile::create(output_path, options.overwrite));
  PackBuilder builder(std::move(out), options);
  // The superblock is written last, once the index is known; reserve its place.
  MLXPACK_RETURN_IF_ERROR(builder.out_.append_zeros(layout::kSuperblockSize));
  return builder;
}

PackBuilder::PackBuilder(OutputFile out, const PackBuilderOptions& options)
    : out_(std::move(out)), options_(options) {}

Status PackBuilder::start_entry(PendingEntry entry) {
  if (tensor_open_) return Status::invalid_argument("PackBuilder: a tensor is still open");
  if (finished_) return Status::invalid_argument("PackBuilder: already finished");
  uint64_t aligned = 0;
  align_up(out_.position(), options_.alignment, &aligned);
  MLXPACK_RETURN_IF_ERROR(out_.append_zeros(aligned - out_.position()));
  entry.data_offset = aligned;
  entries_.push_back(std::move(entry));
  hasher_ = std::make_unique<Hasher>();
  return Status::ok();
}

Status PackBuilder::write_entry_bytes(const void* data, size_t size) {
  hasher_->update(data, size);
  return write_hashed_bytes(data, size);
}

Status PackBuilder::write_hashed_bytes(const void* data, size_t size) {
  MLXPACK_RETURN_IF_ERROR(out_.append(data, size));
  entries_.back().stored_size += size;
  data_bytes_ += size;
  if (options_.on_progress) options_.on_progress(data_bytes_);
  return Status::ok();
}

Status PackBuilder::add_whole_entry(PendingEntry entry, std::string_view stored) {
  MLXPACK_RETURN_IF_ERROR(start_entry(std::move(entry)));
  MLXPACK_RETURN_IF_ERROR(write_entry_bytes(stored.data(), stored.size()));
  entries_.back().checksum = hasher_->digest();
  return Status::ok();
}

Status PackBuilder::add_file(std::string_view path, std::string_view bytes) {
  if (std::string reason = check_relative_path(path); !reason.empty()) {
    return Status::invalid_argument("bundled file '" + std::string(path) + "': " + reason, FormatError::kBadPath);
  }
  if (bytes.size() > layout::kMaxBundledFileSize) {
    return Status::invalid_argument("bundled file '" + std::string(path) + "' is " + std::to_string(bytes.size()) +
                                    " bytes, more than the limit of " + std::to_string(layout::kMaxBundledFileSize));
  }
  PendingEntry e;
  e.kind = EntryKind::kFile;
  e.name = std::string(path);
  e.original_size = bytes.size();
  std::string compressed(ZSTD_compressBound(bytes.size()), '\0');
  const size_t n = ZSTD_compress(compressed.data(), compressed.size(), bytes.data(), bytes.size(),
                                 options_.zstd_level);
  if (!ZSTD_isError(n) && n < bytes.size()) {
    compressed.resize(n);
    e.type = layout::kEncodingZstd;
    return add_whole_entry(std::move(e), compressed);
  }
  e.type = layout::kEncodingRaw;
  return add_whole_entry(std::move(e), bytes);
}

Result<uint32_t> PackBuilder::add_source(std::string_view path, std::string_view header_region,
                                         uint64_t file_size) {
  if (std::string reason = check_relative_path(path); !reason.empty()) {
    return Status::invalid_argument("safetensors file '" + std::string(path) + "': " + reason,
                                    FormatError::kBadPath);
  }
  uint32_t handle = 0;
  for (const PendingEntry& e : entries_) handle += e.kind == EntryKind::kSource;
  PendingEntry e;
  e.kind = EntryKind::kSource;
  e.type = layout::kEncodingRaw;
  e.name = std::string(path);
  e.original_size = file_size;
  e.source = handle;
  MLXPACK_RETURN_IF_ERROR(add_whole_entry(std::move(e), header_region));
  return handle;
}

Status PackBuilder::begin_tensor(std::string_view name, DType dtype, const std::vector<uint64_t>& shape,
                                 uint32_t source) {
  MLXPACK_ASSIGN_OR_RETURN(uint64_t bytes, tensor_size_bytes(name, dtype, shape));
  PendingEntry e;
  e.kind = EntryKind::kTensor;
  e.type = static_cast<uint8_t>(dtype);
  e.rank = static_cast<uint8_t>(shape.size());
  e.source = source;
  e.name = std::string(name);
  e.original_size = bytes;
  std::copy(shape.begin(), shape.end(), e.dims.begin());
  MLXPACK_RETURN_IF_ERROR(start_entry(std::move(e)));
  tensor_open_ = true;
  tensor_expected_size_ = bytes;
  return Status::ok();
}

Status PackBuilder::append(const void* data, size_t size) {
  if (!tensor_open_) return Status::invalid_argument("PackBuilder: append() with no open tensor");
  if (size > tensor_expected_size_ - entries_.back().stored_size) {
    return Status::invalid_argument("tensor '" + entries_.back().name + "': more bytes appended than its shape holds (" +
                                    std::to_string(tensor_expected_size_) + ")");
  }
  return write_entry_bytes(data, size);
}

Status PackBuilder::end_tensor() {
  if (!tensor_open_) return Status::invalid_argument("PackBuilder: end_tensor() with no open tensor");
  PendingEntry& e = entries_.back();
  if (e.stored_size != tensor_expected_size_) {
    return Status::invalid_argument("tensor '" + e.name + "': " + std::to_string(e.stored_size) +
                                    " bytes appended, its shape and dtype need " + std::to_string(tensor_expected_size_));
  }
  e.checksum = hasher_->digest();
  tensor_open_ = false;
  return Status::ok();
}

Status PackBuilder::add_tensor(std::string_view name, DType dtype, const std::vector<uint64_t>& shape,
                               std::string_view bytes, uint32_t source) {
  // Check the size first, so a wrong one leaves no tensor half-written.
  MLXPACK_ASSIGN_OR_RETURN(uint64_t expected, tensor_size_bytes(name, dtype, shape));
  if (bytes.size() != expected) {
    return Status::invalid_argument("tensor '" + std::string(name) + "': " + std::to_string(bytes.size()) +
                                    " bytes given, its shape and dtype need " + std::to_string(expected));
  }
  MLXPACK_RETURN_IF_ERROR(begin_tensor(name, dtype, shape, source));
  MLXPACK_RETURN_IF_ERROR(append(bytes.data(), bytes.size()));
  return end_tensor();
}

Status PackBuilder::add_tensor_from_file(std::string_view name, DType dtype, const std::vector<uint64_t>& shape,
                                         const InputFile& in, uint64_t offset, uint64_t size, uint32_t source) {
  MLXPACK_RETURN_IF_ERROR(begin_tensor(name, dtype, shape, source));
  if (size != tensor_expected_size_) {
    return Status::invalid_argument("tensor '" + std::string(name) + "': " + std::to_string(size) +
                                    " bytes in the file, its shape and dtype need " +
                                    std::to_string(tensor_expected_size_));
  }
  // Two buffers: while one chunk is written here, the next is read and
  // hashed on a helper thread (hashing it right after the read, while it is
  // still in cache), so reading, hashing and writing overlap. The hasher
  // sees the chunks in order: each helper finishes before the next starts.
  for (auto& b : buffers_) {
    if (b.empty()) b.resize(kCopyBufferSize);
  }
  const auto chunk_size = [&](uint64_t at) {
    return static_cast<size_t>(std::min<uint64_t>(size - at, kCopyBufferSize));
  };
  const auto read_and_hash = [&](uint64_t at, size_t slot) {
    const Status s = in.read_at(offset + at, buffers_[slot].data(), chunk_size(at));
    if (s.is_ok()) hasher_->update(buffers_[slot].data(), chunk_size(at));
    return s;
  };
  uint64_t done = 0;
  size_t cur = 0;
  MLXPACK_RETURN_IF_ERROR(read_and_hash(0, cur));
  while (done < size) {
    const size_t n = chunk_size(done);
    const uint64_t next = done + n;
    std::future<Status> prefetch;
    if (next < size) prefetch = std::async(std::launch::async, read_and_hash, next, 1 - cur);
    const Status written = write_hashed_bytes(buffers_[cur].data(), n);
    const Status read = prefetch.valid() ? prefetch.get() : Status::ok();
    MLXPACK_RETURN_IF_ERROR(written);
    MLXPACK_RETURN_IF_ERROR(read);
    done = next;
    cur = 1 - cur;
  }
  return end_tensor();
}

Result<uint64_t> PackBuilder::finish() {
  if (tensor_open_) return Status::invalid_argument("PackBuilder: finish() with a tensor still open");
  if (finished_) return Status::invalid_argument("PackBuilder: already finished");
  finished_ = true;
  if (entries_.size() > layout::kMaxEntries) {
    return Status::invalid_argument("pack would hold " + std::to_string(entries_.size()) + " entries, the limit is " +
                                    std::to_string(layout::kMaxEntries));
  }
  // Index order: (kind, name). Sources get their source_index from that order.
  std::vector<size_t> order(entries_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return entry_key_less(entries_[a].kind, entries_[a].name, entries_[b].kind, entries_[b].name);
  });
  uint32_t n_sources = 0;
  for (const PendingEntry& e : entries_) n_sources += e.kind == EntryKind::kSource;
  std::vector<uint32_t> source_index_of_handle(n_sources);
  uint32_t next_source = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const PendingEntry& e = entries_[order[k]];
    if (k > 0) {
      const PendingEntry& prev = entries_[order[k - 1]];
      if (prev.kind == e.kind && prev.name == e.name) {
        return Status::invalid_argument(std::string("two ") + entry_kind_name(e.kind) + " entries are named '" +
                                        e.name + "'");
      }
    }
    if (e.kind == EntryKind::kSource) source_index_of_handle[e.source] = next_source++;
  }
  std::vector<Entry> index_entries;
  index_entries.reserve(entries_.size());
  for (size_t k : order) {
    const PendingEntry& p = entries_[k];
    Entry e;
    e.kind = p.kind;
    e.type = p.type;
    e.rank = p.rank;
    e.source_index = layout::kNoSource;
    if (p.kind == EntryKind::kTensor && p.source != layout::kNoSource) {
      if (p.source >= source_index_of_handle.size()) {
        return Status::invalid_argument("tensor '" + p.name + "' refers to source handle " + std::to_string(p.source) +
                                        ", which was never added");
      }
      e.source_index = source_index_of_handle[p.source];
    }
    e.name = p.name;
    e.data_offset = p.data_offset;
    e.stored_size = p.stored_size;
    e.original_size = p.original_size;
    e.checksum = p.checksum;
    e.dims = p.dims;
    index_entries.push_back(e);
  }
  const std::vector<uint8_t> index = encode_index(index_entries);

  uint64_t index_offset = 0;
  align_up(out_.position(), options_.alignment, &index_offset);
  MLXPACK_RETURN_IF_ERROR(out_.append_zeros(index_offset - out_.position()));
  MLXPACK_RETURN_IF_ERROR(out_.append(index.data(), index.size()));

  Superblock sb;
  sb.alignment = options_.alignment;
  sb.index_offset = index_offset;
  sb.index_size = index.size();
  sb.index_checksum = checksum_bytes(index.data(), index.size());
  sb.file_size = out_.position() + layout::kSuperblockSize;
  const SuperblockBytes sb_bytes = encode_superblock(sb);
  MLXPACK_RETURN_IF_ERROR(out_.append(sb_bytes.data(), sb_bytes.size()));
  MLXPACK_RETURN_IF_ERROR(out_.write_at(0, sb_bytes.data(), sb_bytes.size()));
  MLXPACK_RETURN_IF_ERROR(out_.commit());
  return sb.file_size;
}

}  // namespace mlxpack
