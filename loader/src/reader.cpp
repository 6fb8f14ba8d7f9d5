#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>

#include "format/checksum.h"
#include "format/layout.h"
#include "format/safetensors.h"
#include "loader/src/guarded_read.h"
#include "loader/src/open_count.h"
#include "loader/src/reader_impl.h"

namespace mlxpack {

namespace {


// Decodes one zstd frame that must give exactly `expected` bytes, passing
// the output to `sink` chunk by chunk. Checks the declared size first and
// stops as soon as the frame gives more than declared (zstd.h: the
// "decompressed size could be wrong or intentionally modified"), so a lying
// frame or a decompression bomb costs no more than the sink keeps.
template <typename Sink>
Status decode_zstd_frame(const uint8_t* src, uint64_t src_size, uint64_t expected, const std::string& what,
                         Sink&& sink) {
  const auto bad = [&](const std::string& why) {
    return Status::corruption(FormatError::kBadCompressedData, what + ": " + why);
  };
  const unsigned long long declared = ZSTD_getFrameContentSize(src, src_size);
  if (declared == ZSTD_CONTENTSIZE_ERROR) return bad("stored bytes are not a zstd frame");
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return bad("zstd frame does not declare its content size");
  if (declared != expected) {
    return bad("zstd frame declares " + std::to_string(declared) + " bytes, the index says " + std::to_string(expected));
  }
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return Status::out_of_memory(what + ": out of memory for a zstd context");
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{src, static_cast<size_t>(src_size), 0};
  uint64_t produced = 0;
  while (true) {
    ZSTD_outBuffer ob{chunk.data(), chunk.size(), 0};
    const size_t ret = ZSTD_decompressStream(dctx.get(), &ob, &in);
    if (ZSTD_isError(ret)) return bad(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(ret));
    if (ob.pos > expected - produced) return bad("zstd frame holds more than the " + std::to_string(expected) + " bytes declared");
    produced += ob.pos;
    sink(chunk.data(), ob.pos);
    if (ret == 0) break;  // frame complete
    if (in.pos == in.size && ob.pos == 0) return bad("zstd frame is truncated");
  }
  if (in.pos != in.size) return bad("bytes follow the zstd frame");
  if (produced != expected) {
    return bad("zstd frame gave " + std::to_string(produced) + " bytes, the index says " + std::to_string(expected));
  }
  return Status::ok();
}

Result<std::string> decompress_exact(const uint8_t* src, uint64_t src_size, uint64_t expected,
                                     const std::string& what) {
  std::string out;
  MLXPACK_RETURN_IF_ERROR(decode_zstd_frame(src, src_size, expected, what,
                                            [&](const char* p, size_t n) { out.append(p, n); }));
  return out;
}

}  // namespace

const char* entry_type_name(EntryType type) {
  switch (type) {
    case EntryType::kTensor: return "tensor";
    case EntryType::kFile: return "file";
    case EntryType::kSource: return "source";
  }
  return "unknown";
}

EntryType to_entry_type(EntryKind kind) {
  switch (kind) {
    case EntryKind::kTensor: return EntryType::kTensor;
    case EntryKind::kFile: return EntryType::kFile;
    case EntryKind::kSource: return EntryType::kSource;
  }
  return EntryType::kTensor;
}

TensorView Reader::Impl::tensor_view(const Entry& e) const {
  TensorView v;
  v.name = e.name;
  v.dtype = e.dtype();
  v.rank = e.rank;
  std::copy(e.dims.begin(), e.dims.begin() + e.rank, v.shape.begin());
  v.data = bytes_of(e);
  v.size_bytes = e.stored_size;
  return v;
}

Result<std::string> Reader::Impl::copy_stored(const Entry& e, const std::string& what) const {
  std::string out(e.stored_size, '\0');
  struct Copy {
    char* dst;
    const uint8_t* src;
    uint64_t n;
  } copy{out.data(), bytes_of(e), e.stored_size};
  if (!run_guarded([](void* a) {
        auto* c = static_cast<Copy*>(a);
        std::memcpy(c->dst, c->src, c->n);
      }, &copy)) {
    return Status::io_error(what + ": the file changed while mapped (truncated by another process?)");
  }
  return out;
}

Result<SourceView> Reader::Impl::source_at(uint64_t i) const {
  const Entry src = index.entry(i);
  const std::string what = path + ": source '" + std::string(src.name) + "'";
  SourceView view;
  view.name = src.name;
  view.header_region = std::string_view(reinterpret_cast<const char*>(bytes_of(src)), src.stored_size);
  view.original_size_bytes = src.original_size;
  const uint32_t s = static_cast<uint32_t>(i - index.source_position(0));
  for (uint64_t k = 0; k < index.entry_count(); ++k) {
    const Entry e = index.entry(k);
    if (e.kind != EntryKind::kTensor) break;  // tensors sort first
    if (e.source_index == s) view.tensors.push_back(tensor_view(e));
  }
  // Data order. A zero-sized tensor shares its offset with the tensor stored
  // after it (nothing advances the layout), so at equal offsets it comes first.
  std::stable_sort(view.tensors.begin(), view.tensors.end(), [](const TensorView& a, const TensorView& b) {
    return a.data != b.data ? a.data < b.data : a.size_bytes < b.size_bytes;
  });

  // The header must describe exactly these tensors: same names, dtypes,
  // shapes, and offsets (each tensor starts where the previous ends).
  MLXPACK_ASSIGN_OR_RETURN(std::string region, copy_stored(src, what));
  MLXPACK_ASSIGN_OR_RETURN(uint64_t n, parse_safetensors_header_size(reinterpret_cast<const uint8_t*>(region.data()),
                                                                     src.original_size, what));
  if (8 + n != src.stored_size) {
    return Status::corruption(FormatError::kBadSafetensors,
                              what + ": header size field says " + std::to_string(n) + " bytes but the stored header is " +
                                  std::to_string(src.stored_size - 8));
  }
  MLXPACK_ASSIGN_OR_RETURN(SafetensorsHeader header,
                           parse_safetensors_header(region.substr(8), src.original_size, what));
  if (header.tensors.size() != view.tensors.size()) {
    return Status::corruption(FormatError::kBadSafetensors,
                              what + ": its header lists " + std::to_string(header.tensors.size()) + " tensors, the pack holds " +
                                  std::to_string(view.tensors.size()) + " for it");
  }
  struct Placed {
    const TensorView* view;
    uint64_t begin;
  };
  std::unordered_map<std::string_view, Placed> by_name;
  by_name.reserve(view.tensors.size());
  uint64_t begin = 0;
  for (const TensorView& t : view.tensors) {
    by_name.emplace(t.name, Placed{&t, begin});
    begin += t.size_bytes;
  }
  std::vector<TensorView> ordered;  // the header's order, which breaks ties between zero-sized tensors
  ordered.reserve(view.tensors.size());
  for (const SafetensorsTensor& t : header.tensors) {
    auto it = by_name.find(t.name);
    const TensorView* v = it == by_name.end() ? nullptr : it->second.view;
    const bool same = v != nullptr && it->second.begin == t.data_begin && v->dtype == t.dtype &&
                      v->rank == t.shape.size() && std::equal(t.shape.begin(), t.shape.end(), v->shape.begin());
    if (!same) {
      return Status::corruption(FormatError::kBadSafetensors,
                                what + ": tensor '" + t.name + "' of its header " +
                                    (v ? "has another dtype, shape or offset in the pack" : "is not in the pack"));
    }
    ordered.push_back(*v);
  }
  view.tensors = std::move(ordered);
  return view;
}

namespace {

// The checksum of `size` bytes at `offset`, read through `buffer`.
Result<Checksum128> checksum_through(const MappedFile& map, uint64_t offset, uint64_t size,
                                     std::vector<uint8_t>& buffer) {
  Hasher hasher;
  for (uint64_t done = 0; done < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size - done, buffer.size()));
    MLXPACK_RETURN_IF_ERROR(map.read_at(offset + done, buffer.data(), n));
    hasher.update(buffer.data(), n);
    done += n;
  }
  return hasher.digest();
}

// The checksum of `size` bytes in place in the mapping; false if the file
// was truncated since open (a guard turns the SIGBUS into a failure).
bool checksum_in_place(const uint8_t* data, uint64_t size, Checksum128* sum) {
  struct Job {
    const uint8_t* data;
    uint64_t size;
    Checksum128 sum;
  } job{data, size, {}};
  const bool read_ok = run_guarded([](void* p) {
    auto* j = static_cast<Job*>(p);
    j->sum = checksum_bytes(j->data, j->size);
  }, &job);
  *sum = job.sum;
  return read_ok;
}

}  // namespace

Status Reader::Impl::verify_entry(uint64_t i, std::vector<uint8_t>* buffer) const {
  const Entry e = index.entry(i);
  const std::string what = path + ": " + entry_kind_name(e.kind) + " '" + std::string(e.name) + "'";
  Checksum128 actual;
  if (buffer != nullptr && !buffer->empty()) {
    Result<Checksum128> sum = checksum_through(map, e.data_offset, e.stored_size, *buffer);
    if (!sum.is_ok()) {
      return Status::io_error(what + ": the file changed while open (truncated by another process?): " +
                              sum.status().message());
    }
    actual = *sum;
  } else if (!checksum_in_place(bytes_of(e), e.stored_size, &actual)) {
    return Status::io_error(what + ": the file changed while mapped (truncated by another process?); "
                                   "its bytes could not be read");
  }
  if (actual != e.checksum) {
    return Status::corruption(FormatError::kChecksumMismatch,
                              what + ": checksum is " + actual.to_hex() + ", index says " + e.checksum.to_hex());
  }
  if (e.kind == EntryKind::kFile && e.type == layout::kEncodingZstd) {
    // Decode without keeping the output: verifying costs one chunk of
    // memory whatever the frame claims.
    MLXPACK_ASSIGN_OR_RETURN(std::string stored, copy_stored(e, what));
    MLXPACK_RETURN_IF_ERROR(decode_zstd_frame(reinterpret_cast<const uint8_t*>(stored.data()), stored.size(),
                                              e.original_size, what, [](const char*, size_t) {}));
  }
  if (e.kind == EntryKind::kSource) {
    Result<SourceView> view = source_at(i);
    if (!view.is_ok()) return view.status();
  }
  return Status::ok();
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

namespace internal {

namespace {
std::atomic<uint64_t> g_reader_opens{0};
}  // namespace

uint64_t reader_open_count() { return g_reader_opens.load(std::memory_order_relaxed); }

}  // namespace internal

Result<std::unique_ptr<Reader>> Reader::open(const std::string& path, const OpenOptions& options) {
  internal::g_reader_opens.fetch_add(1, std::memory_order_relaxed);
  MLXPACK_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  auto impl = std::make_unique<Impl>(path, std::move(map));
  if (impl->map.size_bytes() == 0) {
    return Status::not_found(path + ": file is empty, not an mlxpack file", FormatError::kBadMagic);
  }
  MLXPACK_ASSIGN_OR_RETURN(impl->index, IndexView::validate(impl->map.data(), impl->map.size_bytes(), path));
  impl->options = options;
  const Superblock& sb = impl->index.superblock();
  {
    Entry index_region;
    index_region.data_offset = sb.index_offset;
    index_region.stored_size = sb.index_size;
    MLXPACK_ASSIGN_OR_RETURN(std::string copy, impl->copy_stored(index_region, path + ": index"));
    impl->index_copy.assign(copy.begin(), copy.end());
    impl->index.rebase_index(impl->index_copy.data());
  }
  PackInfo& info = impl->info;
  info.version_major = sb.version_major;
  info.version_minor = sb.version_minor;
  info.file_size_bytes = sb.file_size;
  info.alignment = sb.alignment;
  info.checksum_algorithm = "XXH3-128";
  info.index_size_bytes = sb.index_size;
  info.entry_count = impl->index.entry_count();
  info.source_count = impl->index.source_count();
  for (uint64_t i = 0; i < info.entry_count; ++i) {
    const EntryKind kind = impl->index.entry(i).kind;
    info.tensor_count += kind == EntryKind::kTensor;
    info.file_count += kind == EntryKind::kFile;
  }
  if (options.verify == VerifyMode::kLazy) {
    impl->lazy_state = std::make_unique<std::atomic<uint8_t>[]>(info.entry_count);
  }
  std::unique_ptr<Reader> reader(new Reader(std::move(impl)));
  if (options.verify == VerifyMode::kAtOpen) {
    MLXPACK_ASSIGN_OR_RETURN(std::vector<CorruptEntry> bad, reader->verify_all(options.verify_threads));
    if (!bad.empty()) {
      std::string names;
      for (size_t k = 0; k < bad.size() && k < 5; ++k) names += (k ? ", " : "") + bad[k].name;
      return Status::corruption(FormatError::kChecksumMismatch,
                                path + ": " + std::to_string(bad.size()) + " corrupt entries (" + names + "); first: " +
                                    bad[0].reason);
    }
  }
  return reader;
}

const PackInfo& Reader::info() const { return impl_->info; }
const std::string& Reader::path() const { return impl_->path; }
uint64_t Reader::entry_count() const { return impl_->index.entry_count(); }

EntryInfo Reader::entry(uint64_t i) const {
  const Entry e = impl_->index.entry(i);
  EntryInfo info;
  info.type = to_entry_type(e.kind);
  info.name = e.name;
  info.offset = e.data_offset;
  info.stored_size_bytes = e.stored_size;
  info.original_size_bytes = e.original_size;
  info.compressed = e.kind == EntryKind::kFile && e.type == layout::kEncodingZstd;
  info.checksum_hex = e.checksum.to_hex();
  if (e.kind == EntryKind::kTensor) {
    info.dtype = e.dtype();
    info.rank = e.rank;
    std::copy(e.dims.begin(), e.dims.begin() + e.rank, info.shape.begin());
  }
  return info;
}

bool Reader::has_tensor(std::string_view name) const {
  return impl_->index.find(EntryKind::kTensor, name).has_value();
}
bool Reader::has_file(std::string_view name) const {
  return impl_->index.find(EntryKind::kFile, name).has_value();
}

Result<TensorView> Reader::tensor(std::string_view name) const {
  const auto i = impl_->index.find(EntryKind::kTensor, name);
  if (!i) return Status::not_found(impl_->path + ": no tensor named '" + std::string(name) + "'");
  if (impl_->lazy_state) {
    std::atomic<uint8_t>& state = impl_->lazy_state[*i];
    uint8_t s = state.load(std::memory_order_acquire);
    if (s == 0) {
      // Two threads may both check the same tensor once; the result is the same.
      s = impl_->verify_entry(*i).is_ok() ? 1 : 2;
      state.store(s, std::memory_order_release);
    }
    if (s == 2) return impl_->verify_entry(*i);
  }
  return impl_->tensor_view(impl_->index.entry(*i));
}

Result<std::string> Reader::file(std::string_view name) const {
  const auto i = impl_->index.find(EntryKind::kFile, name);
  if (!i) return Status::not_found(impl_->path + ": no bundled file named '" + std::string(name) + "'");
  const Entry e = impl_->index.entry(*i);
  const std::string what = impl_->path + ": file '" + std::string(name) + "'";
  MLXPACK_ASSIGN_OR_RETURN(std::string stored, impl_->copy_stored(e, what));
  if (e.type == layout::kEncodingZstd) {
    return decompress_exact(reinterpret_cast<const uint8_t*>(stored.data()), stored.size(), e.original_size, what);
  }
  return stored;
}

Result<SourceView> Reader::source(std::string_view name) const {
  const auto i = impl_->index.find(EntryKind::kSource, name);
  if (!i) return Status::not_found(impl_->path + ": no safetensors source named '" + std::string(name) + "'");
  return impl_->source_at(*i);
}

Status Reader::verify(std::string_view name) const {
  bool found = false;
  for (EntryKind kind : {EntryKind::kTensor, EntryKind::kFile, EntryKind::kSource}) {
    if (auto i = impl_->index.find(kind, name)) {
      found = true;
      MLXPACK_RETURN_IF_ERROR(impl_->verify_entry(*i));
    }
  }
  if (!found) return Status::not_found(impl_->path + ": no entry named '" + std::string(name) + "'");
  return Status::ok();
}

}  // namespace mlxpack
