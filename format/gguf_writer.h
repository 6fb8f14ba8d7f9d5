// Encodes a GGUF v3 header: key/values and the tensor table, with each
// tensor's offset in the data section aligned to `alignment`. The caller
// writes the header, then each tensor's bytes at data_offset() + offset(k)
// (padding between them is zeros). The inverse of format/gguf.h's reader,
// which tests hold it to.
#ifndef MLXPACK_FORMAT_GGUF_WRITER_H_
#define MLXPACK_FORMAT_GGUF_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"

namespace mlxpack {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = kGgufDefaultAlignment);

  void add_u32(const std::string& key, uint32_t v);
  void add_i32(const std::string& key, int32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_strings(const std::string& key, const std::vector<std::string>& v);
  void add_f32s(const std::string& key, const std::vector<float>& v);
  void add_i32s(const std::string& key, const std::vector<int32_t>& v);
  // dims in ggml's order (dims[0] is a row's length).
  void add_tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t ggml_type,
                  uint64_t size_bytes);

  // Magic, version 3, counts, key/values, tensor table, zeros to the alignment.
  std::string header() const;
  uint64_t data_offset() const { return header_size(); }
  uint64_t offset(size_t tensor) const { return tensors_[tensor].offset; }
  uint64_t size(size_t tensor) const { return tensors_[tensor].size; }
  size_t tensor_count() const { return tensors_.size(); }
  // The whole file's size.
  uint64_t file_size() const;

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    uint64_t size;
    uint64_t offset;
  };
  void begin(const std::string& key, GgufType type);
  uint64_t header_size() const;
  uint32_t alignment_;
  std::string kv_;
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
  uint64_t data_end_ = 0;
};

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_GGUF_WRITER_H_
