#include "convert/gguf/gguf_metadata.h"

#include <cmath>

namespace mlxpack {

Status GgufMetadata::invalid(std::string_view key, const std::string& msg) const {
  return Status::invalid_argument(name_ + ": metadata " + std::string(key) + ": " + msg);
}

Result<std::optional<uint64_t>> GgufMetadata::optional_uint(std::string_view key, uint64_t lo, uint64_t hi) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<uint64_t>();
  std::optional<uint64_t> n = v->as_uint();
  if (!n) return invalid(key, std::string("expected a non-negative integer, found a ") + gguf_type_name(v->type));
  if (*n < lo || *n > hi) {
    return invalid(key, std::to_string(*n) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return n;
}

Result<uint64_t> GgufMetadata::uint(std::string_view key, uint64_t lo, uint64_t hi) const {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> n, optional_uint(key, lo, hi));
  if (!n) return Status::invalid_argument(name_ + ": the required metadata key " + std::string(key) + " is missing");
  return *n;
}

Result<std::optional<double>> GgufMetadata::optional_number(std::string_view key, double lo, double hi) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<double>();
  std::optional<double> x = v->as_number();
  if (!x) return invalid(key, std::string("expected a number, found a ") + gguf_type_name(v->type));
  if (!std::isfinite(*x) || *x < lo || *x > hi) {
    return invalid(key, std::to_string(*x) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

Result<std::optional<std::string>> GgufMetadata::optional_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (v->type != GgufType::kString) {
    return invalid(key, std::string("expected a string, found a ") + gguf_type_name(v->type));
  }
  return std::optional<std::string>(v->s);
}

Result<std::optional<bool>> GgufMetadata::optional_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<bool>();
  if (v->type != GgufType::kBool) return invalid(key, std::string("expected a bool, found a ") + gguf_type_name(v->type));
  return std::optional<bool>(v->u != 0);
}

Result<const GgufValue*> GgufMetadata::array(std::string_view key, GgufType element,
                                             std::optional<uint64_t> count) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return Status::invalid_argument(name_ + ": the required metadata key " + std::string(key) + " is missing");
  const bool ok = v->type == GgufType::kArray &&
                  (element == GgufType::kString   ? v->element == GgufType::kString
                   : element == GgufType::kF64    ? v->strings.empty() && v->arrays.empty()
                   : element == GgufType::kI64    ? !v->ints.empty() || v->size() == 0
                                                  : v->element == element);
  if (!ok) {
    return invalid(key, std::string("expected an array of ") + gguf_type_name(element) + ", found " +
                            (v->type == GgufType::kArray ? std::string("an array of ") + gguf_type_name(v->element)
                                                         : std::string("a ") + gguf_type_name(v->type)));
  }
  if (count && v->size() != *count) {
    return invalid(key, "has " + std::to_string(v->size()) + " items, expected " + std::to_string(*count));
  }
  return v;
}

}  // namespace mlxpack
