// GGUF, llama.cpp's model file, read for `convert` (import) and `info`: the
// header, the metadata key/values and the tensor table. Versions 2 and 3,
// little-endian, any power-of-two alignment.
//
// Every count, length and offset is bounds- and overflow-checked before it
// is used or allocated for; the published GGUF parser CVEs are the
// checklist (huge string and array lengths, tensor sizes that overflow,
// offsets outside the file, duplicate keys and tensor names, unknown
// types, too many dimensions). Errors name the file, the key or tensor,
// the value and the limit: InvalidArgument for a malformed file,
// Unsupported for a version or tensor type this reader does not know.
// Facts from the GGUF specification (ggml's docs/gguf.md) and the block
// sizes of ggml's ggml-common.h.
#ifndef MLXPACK_FORMAT_GGUF_H_
#define MLXPACK_FORMAT_GGUF_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read little-endian
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxAlignment = 1u << 20;
inline constexpr uint32_t kGgufMaxDims = 4;              // GGML_MAX_DIMS
inline constexpr uint64_t kGgufMaxTensors = 1u << 20;    // far above any model's
inline constexpr uint64_t kGgufMaxKeyValues = 1u << 16;  // ditto
inline constexpr uint64_t kGgufMaxKeyBytes = 1u << 16;
inline constexpr int kGgufMaxArrayDepth = 3;  // an array of arrays of arrays
// Array items in the whole file: a 256k-token vocabulary with its scores,
// types and merges is about 1.3M.
inline constexpr uint64_t kGgufMaxArrayItems = uint64_t{1} << 23;
// The header (metadata and tensor table) is read into memory: at most this.
inline constexpr uint64_t kGgufMaxHeaderBytes = uint64_t{256} << 20;

enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* gguf_type_name(GgufType t);

// One metadata value. Scalars in u (unsigned and bool), i (signed) or f;
// strings in s. An array's items, by its element type, in exactly one of
// ints (integers and bools; u64 items as their bit pattern), floats,
// strings or arrays: eight bytes per number, not a whole GgufValue, so the
// memory an array takes stays a small multiple of its bytes in the file.
struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string s;
  GgufType element = GgufType::kU8;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<GgufValue> arrays;

  bool is_integer() const;
  // The value as a non-negative integer / any number; nullopt if it is not one.
  std::optional<uint64_t> as_uint() const;
  std::optional<double> as_number() const;
  // Items of an array (0 for a scalar).
  uint64_t size() const;
  // Item k of an array of numbers (integers or floats), k < size().
  double number_at(size_t k) const { return floats.empty() ? static_cast<double>(ints[k]) : floats[k]; }
};

// ggml's tensor types: values stored in blocks of `block_size` elements of
// `type_size` bytes each. Ids removed from ggml (4, 5, 31-33, 36-38) and
// ids past the table are unknown.
struct GgmlType {
  uint32_t id;
  const char* name;
  uint32_t block_size;
  uint32_t type_size;
};
enum GgmlTypeId : uint32_t {
  kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ4_0 = 2, kGgmlQ4_1 = 3, kGgmlQ5_0 = 6, kGgmlQ5_1 = 7, kGgmlQ8_0 = 8,
  kGgmlQ8_1 = 9, kGgmlQ2_K = 10, kGgmlQ3_K = 11, kGgmlQ4_K = 12, kGgmlQ5_K = 13, kGgmlQ6_K = 14,
  kGgmlQ8_K = 15, kGgmlBF16 = 30,
};
// nullptr for an unknown id.
const GgmlType* ggml_type(uint32_t id);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // ggml's ne: dims[0] varies fastest (a row's length)
  uint32_t type = 0;           // a known GgmlType id
  uint64_t offset = 0;         // of its data, from the start of the file
  uint64_t elements = 0;
  uint64_t size_bytes = 0;
  uint64_t rows() const { return dims.empty() ? 0 : elements / dims[0]; }
};

struct GgufFile {
  uint32_t version = 0;
  uint32_t alignment = kGgufDefaultAlignment;
  uint64_t data_offset = 0;  // where the tensor data section starts
  uint64_t file_size = 0;
  std::vector<std::string> keys;  // metadata keys in file order
  std::map<std::string, GgufValue, std::less<>> metadata;
  std::vector<GgufTensorInfo> tensors;  // in file order; names unique

  const GgufValue* find(std::string_view key) const;
  const GgufTensorInfo* tensor(std::string_view name) const;
};

// Parses a GGUF whose first `size` bytes are `data` (the whole file is
// `file_size` bytes, size <= file_size). `name` is the file, for messages.
// If the header runs past `size` while the file goes on, *needs_more (when
// given) is set and the error says so: read a longer prefix and call again.
Result<GgufFile> parse_gguf(const uint8_t* data, size_t size, uint64_t file_size, const std::string& name,
                            bool* needs_more = nullptr);

// True if `path` is a regular file that starts with the GGUF magic (opened
// without blocking: FIFOs and devices are not read).
bool is_gguf_file(const std::string& path);

// Reads the header of the GGUF file at `path`: prefixes of growing size, up
// to kGgufMaxHeaderBytes. IOError if it cannot be read.
Result<GgufFile> read_gguf(const std::string& path);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_GGUF_H_
