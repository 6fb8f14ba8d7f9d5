// Writes GGUF files for tests, from the GGUF specification (ggml's
// docs/gguf.md): header, key/values, tensor table, aligned data. The
// low-level put_* helpers let a test write a file that breaks a rule.
#ifndef MLXPACK_TESTS_SUPPORT_GGUF_BUILDER_H_
#define MLXPACK_TESTS_SUPPORT_GGUF_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace mlxpack::test {

inline void put_u32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void put_u64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void put_str(std::string* out, const std::string& s) {
  put_u64(out, s.size());
  out->append(s);
}
inline void put_f32(std::string* out, float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  put_u32(out, b);
}

class GgufBuilder {
 public:
  // GGUF value types.
  enum : uint32_t { kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };

  GgufBuilder& u32(const std::string& key, uint32_t v) {
    begin(key, kU32);
    put_u32(&kv_, v);
    return *this;
  }
  GgufBuilder& f32(const std::string& key, float v) {
    begin(key, kF32);
    put_f32(&kv_, v);
    return *this;
  }
  GgufBuilder& boolean(const std::string& key, bool v) {
    begin(key, kBool);
    kv_.push_back(v ? 1 : 0);
    return *this;
  }
  GgufBuilder& str(const std::string& key, const std::string& v) {
    begin(key, kString);
    put_str(&kv_, v);
    return *this;
  }
  GgufBuilder& strings(const std::string& key, const std::vector<std::string>& v) {
    begin(key, kArray);
    put_u32(&kv_, kString);
    put_u64(&kv_, v.size());
    for (const std::string& s : v) put_str(&kv_, s);
    return *this;
  }
  GgufBuilder& f32s(const std::string& key, const std::vector<float>& v) {
    begin(key, kArray);
    put_u32(&kv_, kF32);
    put_u64(&kv_, v.size());
    for (float f : v) put_f32(&kv_, f);
    return *this;
  }
  GgufBuilder& i32s(const std::string& key, const std::vector<int32_t>& v) {
    begin(key, kArray);
    put_u32(&kv_, kI32);
    put_u64(&kv_, v.size());
    for (int32_t x : v) put_u32(&kv_, static_cast<uint32_t>(x));
    return *this;
  }
  // Raw key/value bytes after the key: for values that break a rule.
  GgufBuilder& raw(const std::string& key, uint32_t type, const std::string& value_bytes) {
    begin(key, type);
    kv_ += value_bytes;
    return *this;
  }
  // dims in ggml's order (dims[0] is a row's length); bytes as stored.
  GgufBuilder& tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                      const std::string& bytes) {
    tensors_.push_back({name, dims, type, bytes});
    return *this;
  }

  std::string build(uint32_t version = 3, uint32_t alignment = 32) const {
    std::string out = "GGUF";
    put_u32(&out, version);
    put_u64(&out, tensors_.size());
    put_u64(&out, n_kv_);
    out += kv_;
    uint64_t offset = 0;
    std::vector<uint64_t> offsets;
    for (const Tensor& t : tensors_) {
      put_str(&out, t.name);
      put_u32(&out, static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) put_u64(&out, d);
      put_u32(&out, t.type);
      put_u64(&out, offset);
      offsets.push_back(offset);
      offset = (offset + t.bytes.size() + alignment - 1) / alignment * alignment;
    }
    out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
    const size_t data = out.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      out.resize(data + offsets[i], '\0');
      out += tensors_[i].bytes;
    }
    return out;
  }

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::string bytes;
  };
  void begin(const std::string& key, uint32_t type) {
    put_str(&kv_, key);
    put_u32(&kv_, type);
    ++n_kv_;
  }
  std::string kv_;
  uint64_t n_kv_ = 0;
  std::vector<Tensor> tensors_;
};

}  // namespace mlxpack::test

#endif  // MLXPACK_TESTS_SUPPORT_GGUF_BUILDER_H_
