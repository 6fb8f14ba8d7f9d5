// Typed reads of a GGUF file's metadata for the importer: each value is
// checked for its type and range, and every error names the file, the key,
// the value and the limit.
#ifndef MLXPACK_CONVERT_GGUF_GGUF_METADATA_H_
#define MLXPACK_CONVERT_GGUF_GGUF_METADATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "format/gguf.h"

namespace mlxpack {

class GgufMetadata {
 public:
  GgufMetadata(const GgufFile& file, std::string name) : file_(file), name_(std::move(name)) {}

  const GgufFile& file() const { return file_; }
  const std::string& name() const { return name_; }
  const GgufValue* find(std::string_view key) const { return file_.find(key); }

  // An integer in [lo, hi]; required or optional.
  Result<uint64_t> uint(std::string_view key, uint64_t lo, uint64_t hi) const;
  Result<std::optional<uint64_t>> optional_uint(std::string_view key, uint64_t lo, uint64_t hi) const;
  // A finite number (integer or float) in [lo, hi].
  Result<std::optional<double>> optional_number(std::string_view key, double lo, double hi) const;
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  Result<std::optional<bool>> optional_bool(std::string_view key) const;
  // An array whose items are all `element` (strings, or numbers of any
  // integer or float type when element is kI64 / kF64), of exactly
  // `count` items unless count is nullopt.
  Result<const GgufValue*> array(std::string_view key, GgufType element, std::optional<uint64_t> count) const;

  Status invalid(std::string_view key, const std::string& msg) const;

 private:
  const GgufFile& file_;
  std::string name_;
};

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_METADATA_H_
