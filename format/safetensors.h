// Reading and writing the safetensors format
// (https://github.com/huggingface/safetensors, "Format"): an 8-byte
// little-endian header size N, N bytes of JSON, then the tensor data.
//
// parse_safetensors_header validates like safetensors' own validate():
// header size within the file and the 100 MB limit, JSON an object,
// every tensor's dtype known, shape and data_offsets consistent with its
// byte size, and the data section covered exactly (no overlap, no hole).
#ifndef MLXPACK_FORMAT_SAFETENSORS_H_
#define MLXPACK_FORMAT_SAFETENSORS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::kU8;
  std::vector<uint64_t> shape;
  uint64_t data_begin = 0;  // relative to the start of the data section
  uint64_t data_end = 0;
  uint64_t size_bytes() const { return data_end - data_begin; }
};

struct SafetensorsHeader {
  uint64_t header_size = 0;                // N: JSON bytes, padding included
  std::vector<SafetensorsTensor> tensors;  // in data order (by data_begin)
  uint64_t data_offset() const { return 8 + header_size; }
};

// Reads the 8-byte size prefix; fails (BadSafetensors) when the header would
// not fit in `file_size` or exceeds the 100 MB limit. `what` names the file.
Result<uint64_t> parse_safetensors_header_size(const uint8_t prefix[8], uint64_t file_size,
                                               const std::string& what);

// `header` holds the N JSON bytes (without the 8-byte prefix); `file_size`
// is the whole file's size. All errors are Corruption/kBadSafetensors, or
// Unsupported for a dtype this build lacks, naming the tensor and field.
Result<SafetensorsHeader> parse_safetensors_header(const std::string& header, uint64_t file_size,
                                                   const std::string& what);

// A tensor to write: bytes must hold exactly shape x dtype bytes.
struct SafetensorsWriteTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  std::string bytes;
};

// Serializes a safetensors file in memory: tensors in the given order, the
// header padded with spaces to a multiple of 8, `__metadata__` written when
// non-empty. For tests, benchmarks and convert's MLX directory output.
std::string encode_safetensors(const std::vector<SafetensorsWriteTensor>& tensors,
                               const std::vector<std::pair<std::string, std::string>>& metadata);

// The header JSON (padded, without the 8-byte prefix) for tensors whose data
// will follow in the given order; lets writers stream large tensors.
std::string encode_safetensors_header(
    const std::vector<SafetensorsTensor>& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata);

// The header region as it starts the file: the 8-byte little-endian header
// size, then encode_safetensors_header's JSON.
std::string encode_safetensors_header_region(
    const std::vector<SafetensorsTensor>& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_SAFETENSORS_H_
