// ZIP's records (PKWARE APPNOTE 6.3): the end of central directory record
// at the file's end (after at most a 64 KiB comment), its ZIP64 locator and
// record when a field is saturated, then the central directory's headers,
// and each entry's local header for where its data starts.
#include "format/zip_archive.h"

#include <algorithm>
#include <array>

#include "format/byte_order.h"

namespace mlxpack {
namespace {

constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kEnd64Signature = 0x06064b50;
constexpr uint32_t kLocator64Signature = 0x07064b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr size_t kEndSize = 22, kLocator64Size = 20, kEnd64Size = 56, kCentralSize = 46, kLocalSize = 30;

Status bad(const InputFile& in, const std::string& what) {
  return Status::invalid_argument(in.path() + ": not a readable ZIP archive: " + what);
}

struct Directory {
  uint64_t entries = 0, size = 0, offset = 0;
};

Result<Directory> find_directory(const InputFile& in) {
  const uint64_t file = in.size_bytes();
  if (file < kEndSize) return bad(in, "shorter than an end record");
  const uint64_t tail = std::min<uint64_t>(file, kEndSize + 65535);
  std::string bytes(static_cast<size_t>(tail), '\0');
  MLXPACK_RETURN_IF_ERROR(in.read_at(file - tail, bytes.data(), bytes.size()));
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  // The last end record whose comment reaches exactly the file's end.
  for (size_t at = tail - kEndSize + 1; at-- > 0;) {
    if (load_le32(p + at) != kEndSignature || at + kEndSize + load_le16(p + at + 20) != tail) continue;
    if (load_le16(p + at + 4) != 0 || load_le16(p + at + 6) != 0) return bad(in, "split over several disks");
    Directory d{load_le16(p + at + 10), load_le32(p + at + 12), load_le32(p + at + 16)};
    if (d.entries != 0xffff && d.size != 0xffffffff && d.offset != 0xffffffff) return d;
    // ZIP64: the locator just before, then the record it points at.
    const uint64_t end_at = file - tail + at;
    if (end_at < kLocator64Size) return bad(in, "a ZIP64 end record without its locator");
    std::array<uint8_t, kLocator64Size> loc;
    MLXPACK_RETURN_IF_ERROR(in.read_at(end_at - kLocator64Size, loc.data(), loc.size()));
    if (load_le32(loc.data()) != kLocator64Signature) return bad(in, "a ZIP64 end record without its locator");
    const uint64_t record = load_le64(loc.data() + 8);
    if (record > end_at - kLocator64Size || end_at - kLocator64Size - record < kEnd64Size) {
      return bad(in, "a ZIP64 end record outside the file");
    }
    std::array<uint8_t, kEnd64Size> r;
    MLXPACK_RETURN_IF_ERROR(in.read_at(record, r.data(), r.size()));
    if (load_le32(r.data()) != kEnd64Signature) return bad(in, "no ZIP64 end record where its locator points");
    return Directory{load_le64(r.data() + 32), load_le64(r.data() + 40), load_le64(r.data() + 48)};
  }
  return bad(in, "no end of central directory record");
}

// The ZIP64 extra field's values for the saturated 32-bit fields, in order.
Status apply_zip64_extra(const InputFile& in, ByteCursor extra, uint64_t* size, uint64_t* compressed,
                         uint64_t* local) {
  while (extra.remaining() >= 4) {
    uint16_t id = 0, len = 0;
    extra.read_u16(&id);  // 4 bytes remain: both reads succeed
    extra.read_u16(&len);
    const uint8_t* body;
    if (!extra.read_bytes(len, &body)) return bad(in, "an extra field past its header");
    if (id != 0x0001) continue;
    ByteCursor c(body, len);
    for (uint64_t* field : {size, compressed, local}) {
      if (*field == 0xffffffff && !c.read_u64(field)) return bad(in, "a short ZIP64 extra field");
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<ZipEntry>> read_zip_directory(const InputFile& in) {
  MLXPACK_ASSIGN_OR_RETURN(Directory d, find_directory(in));
  uint64_t end;
  if (add_overflows(d.offset, d.size, &end) || end > in.size_bytes()) return bad(in, "a directory past the file's end");
  if (d.size > kMaxZipDirectoryBytes || d.entries > kMaxZipEntries) {
    return bad(in, "a directory of " + std::to_string(d.entries) + " entries in " + std::to_string(d.size) +
                       " bytes (limits " + std::to_string(kMaxZipEntries) + ", " +
                       std::to_string(kMaxZipDirectoryBytes) + ")");
  }
  std::string dir(static_cast<size_t>(d.size), '\0');
  MLXPACK_RETURN_IF_ERROR(in.read_at(d.offset, dir.data(), dir.size()));
  ByteCursor c(reinterpret_cast<const uint8_t*>(dir.data()), dir.size());
  std::vector<ZipEntry> entries;
  for (uint64_t k = 0; k < d.entries; ++k) {
    const uint8_t* h;
    if (!c.read_bytes(kCentralSize, &h) || load_le32(h) != kCentralSignature) {
      return bad(in, "central directory entry " + std::to_string(k) + " is not one");
    }
    const uint16_t flags = load_le16(h + 8), method = load_le16(h + 10);
    uint64_t compressed = load_le32(h + 20), size = load_le32(h + 24), local = load_le32(h + 42);
    const uint16_t name_len = load_le16(h + 28), extra_len = load_le16(h + 30), comment_len = load_le16(h + 32);
    const uint8_t *name, *extra, *comment;
    if (!c.read_bytes(name_len, &name) || !c.read_bytes(extra_len, &extra) || !c.read_bytes(comment_len, &comment)) {
      return bad(in, "central directory entry " + std::to_string(k) + " runs past the directory");
    }
    ZipEntry e;
    e.name.assign(reinterpret_cast<const char*>(name), name_len);
    e.crc32 = load_le32(h + 16);
    MLXPACK_RETURN_IF_ERROR(apply_zip64_extra(in, ByteCursor(extra, extra_len), &size, &compressed, &local));
    if (method != 0 || (flags & 1) != 0 || compressed != size) {
      return bad(in, "entry " + e.name + " is compressed or encrypted (method " + std::to_string(method) +
                         "); only stored entries are read");
    }
    std::array<uint8_t, kLocalSize> lh;
    if (local > d.offset || d.offset - local < kLocalSize) return bad(in, "entry " + e.name + " starts past its data");
    MLXPACK_RETURN_IF_ERROR(in.read_at(local, lh.data(), lh.size()));
    if (load_le32(lh.data()) != kLocalSignature) return bad(in, "entry " + e.name + " has no local header");
    e.offset = local + kLocalSize + load_le16(lh.data() + 26) + load_le16(lh.data() + 28);
    e.size = size;
    if (add_overflows(e.offset, e.size, &end) || end > d.offset) {
      return bad(in, "entry " + e.name + " (" + std::to_string(e.size) + " bytes at " + std::to_string(e.offset) +
                         ") overlaps the directory or the file's end");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

uint32_t zip_crc32(const uint8_t* data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

}  // namespace mlxpack
