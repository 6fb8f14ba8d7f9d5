// Explicit little-endian encoding and a bounded read cursor.
//
// Every multi-byte integer of the format is read through these: never a
// struct cast onto mapped bytes, never a host-order load. ByteCursor never
// reads past its limit; a short read is reported, not performed.
#ifndef MLXPACK_FORMAT_BYTE_ORDER_H_
#define MLXPACK_FORMAT_BYTE_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mlxpack {

inline uint16_t load_le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t* p) {
  return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}
inline void store_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void store_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Reads little-endian values from [data, data + size). Each read checks the
// bytes remaining first; on a short read it returns false and reads nothing.
class ByteCursor {
 public:
  ByteCursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }
  size_t position() const { return pos_; }

  bool read_u8(uint8_t* out) { return read_fixed(out, 1, [](const uint8_t* p) { return p[0]; }); }
  bool read_u16(uint16_t* out) { return read_fixed(out, 2, load_le16); }
  bool read_u32(uint32_t* out) { return read_fixed(out, 4, load_le32); }
  bool read_u64(uint64_t* out) { return read_fixed(out, 8, load_le64); }
  bool read_bytes(size_t n, const uint8_t** out) {
    if (n > remaining()) return false;
    *out = data_ + pos_;
    pos_ += n;
    return true;
  }
  bool skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }

 private:
  template <typename T, typename F>
  bool read_fixed(T* out, size_t n, F load) {
    if (n > remaining()) return false;
    *out = static_cast<T>(load(data_ + pos_));
    pos_ += n;
    return true;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Overflow-checked arithmetic on sizes read from files.
inline bool add_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}
inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
// Rounds `value` up to a multiple of `alignment` (a power of two); false on overflow.
inline bool align_up(uint64_t value, uint64_t alignment, uint64_t* out) {
  uint64_t bumped;
  if (add_overflows(value, alignment - 1, &bumped)) return false;
  *out = bumped & ~(alignment - 1);
  return true;
}

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_BYTE_ORDER_H_
