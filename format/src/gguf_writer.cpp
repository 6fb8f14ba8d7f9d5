#include "format/gguf_writer.h"

#include <cstring>

#include "format/byte_order.h"

namespace mlxpack {

namespace {

void put_u32(std::string* out, uint32_t v) {
  uint8_t b[4];
  store_le32(b, v);
  out->append(reinterpret_cast<const char*>(b), 4);
}
void put_u64(std::string* out, uint64_t v) {
  uint8_t b[8];
  store_le64(b, v);
  out->append(reinterpret_cast<const char*>(b), 8);
}
void put_string(std::string* out, const std::string& s) {
  put_u64(out, s.size());
  out->append(s);
}
void put_f32(std::string* out, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  put_u32(out, bits);
}
uint64_t align_up(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment_ != kGgufDefaultAlignment) add_u32("general.alignment", alignment_);
}

void GgufWriter::begin(const std::string& key, GgufType type) {
  put_string(&kv_, key);
  put_u32(&kv_, static_cast<uint32_t>(type));
  ++kv_count_;
}

void GgufWriter::add_u32(const std::string& key, uint32_t v) {
  begin(key, GgufType::kU32);
  put_u32(&kv_, v);
}
void GgufWriter::add_i32(const std::string& key, int32_t v) {
  begin(key, GgufType::kI32);
  put_u32(&kv_, static_cast<uint32_t>(v));
}
void GgufWriter::add_f32(const std::string& key, float v) {
  begin(key, GgufType::kF32);
  put_f32(&kv_, v);
}
void GgufWriter::add_bool(const std::string& key, bool v) {
  begin(key, GgufType::kBool);
  kv_.push_back(v ? 1 : 0);
}
void GgufWriter::add_string(const std::string& key, const std::string& v) {
  begin(key, GgufType::kString);
  put_string(&kv_, v);
}
void GgufWriter::add_strings(const std::string& key, const std::vector<std::string>& v) {
  begin(key, GgufType::kArray);
  put_u32(&kv_, static_cast<uint32_t>(GgufType::kString));
  put_u64(&kv_, v.size());
  for (const std::string& s : v) put_string(&kv_, s);
}
void GgufWriter::add_f32s(const std::string& key, const std::vector<float>& v) {
  begin(key, GgufType::kArray);
  put_u32(&kv_, static_cast<uint32_t>(GgufType::kF32));
  put_u64(&kv_, v.size());
  for (float f : v) put_f32(&kv_, f);
}
void GgufWriter::add_i32s(const std::string& key, const std::vector<int32_t>& v) {
  begin(key, GgufType::kArray);
  put_u32(&kv_, static_cast<uint32_t>(GgufType::kI32));
  put_u64(&kv_, v.size());
  for (int32_t x : v) put_u32(&kv_, static_cast<uint32_t>(x));
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t ggml_type,
                            uint64_t size_bytes) {
  const uint64_t offset = align_up(data_end_, alignment_);
  tensors_.push_back({name, dims, ggml_type, size_bytes, offset});
  data_end_ = offset + size_bytes;
}

uint64_t GgufWriter::header_size() const {
  uint64_t n = 4 + 4 + 8 + 8 + kv_.size();
  for (const Tensor& t : tensors_) n += 8 + t.name.size() + 4 + 8 * t.dims.size() + 4 + 8;
  return align_up(n, alignment_);
}

uint64_t GgufWriter::file_size() const { return header_size() + data_end_; }

std::string GgufWriter::header() const {
  std::string out = "GGUF";
  put_u32(&out, 3);
  put_u64(&out, tensors_.size());
  put_u64(&out, kv_count_);
  out += kv_;
  for (const Tensor& t : tensors_) {
    put_string(&out, t.name);
    put_u32(&out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) put_u64(&out, d);
    put_u32(&out, t.type);
    put_u64(&out, t.offset);
  }
  out.resize(header_size(), '\0');
  return out;
}

}  // namespace mlxpack
