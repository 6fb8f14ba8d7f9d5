// Type-checked access to the fields of the JSON files a model brings
// (config.json, tokenizer.json, tokenizer_config.json). Each getter names
// the field's path in its error ("tokenizer.json.normalizer.type: ..."), so
// a file with a missing or wrongly typed field is reported precisely instead
// of escaping as a nlohmann exception. `where` is the path of the object
// read: the file's label, then its keys.
#ifndef MLXPACK_FORMAT_JSON_FIELDS_H_
#define MLXPACK_FORMAT_JSON_FIELDS_H_

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack {

using Json = nlohmann::json;

// "<where>.<key>"
inline std::string field_path(const std::string& where, const std::string& key) { return where + "." + key; }

inline Status field_error(const std::string& path, const std::string& what) {
  return Status::invalid_argument(path + ": " + what);
}

inline const char* json_type_name(const Json& j) { return j.type_name(); }

// The member `key` of object `obj`, or nullptr when absent or null.
inline const Json* find_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// "value V is outside [lo, hi]" for the field at `path`.
template <typename T>
Status outside_range(const std::string& path, const Json& value, T lo, T hi) {
  return field_error(path, "value " + value.dump() + " is outside [" + Json(lo).dump() + ", " + Json(hi).dump() + "]");
}

inline Result<std::string> required_string(const Json& obj, const char* key, const std::string& where) {
  const Json* v = find_field(obj, key);
  if (!v) return field_error(field_path(where, key), "missing (expected a string)");
  if (!v->is_string()) return field_error(field_path(where, key), std::string("expected a string, got ") + json_type_name(*v));
  return v->get<std::string>();
}

inline Result<std::string> optional_string(const Json& obj, const char* key, const std::string& where,
                                           std::string fallback) {
  const Json* v = find_field(obj, key);
  if (!v) return fallback;
  if (!v->is_string()) return field_error(field_path(where, key), std::string("expected a string, got ") + json_type_name(*v));
  return v->get<std::string>();
}

inline Result<bool> optional_bool(const Json& obj, const char* key, const std::string& where, bool fallback) {
  const Json* v = find_field(obj, key);
  if (!v) return fallback;
  if (!v->is_boolean()) return field_error(field_path(where, key), std::string("expected true or false, got ") + json_type_name(*v));
  return v->get<bool>();
}

// An integer in [lo, hi].
inline Result<int64_t> required_int(const Json& obj, const char* key, const std::string& where, int64_t lo,
                                    int64_t hi) {
  const Json* v = find_field(obj, key);
  if (!v) return field_error(field_path(where, key), "missing (expected an integer)");
  if (!v->is_number_integer()) return field_error(field_path(where, key), std::string("expected an integer, got ") + json_type_name(*v));
  const bool is_unsigned = v->is_number_unsigned();
  const int64_t value = is_unsigned ? static_cast<int64_t>(std::min<uint64_t>(v->get<uint64_t>(), INT64_MAX)) : v->get<int64_t>();
  if (value < lo || value > hi) return outside_range(field_path(where, key), *v, lo, hi);
  return value;
}

// An integer in [lo, hi], or nullopt when absent or null.
inline Result<std::optional<int64_t>> maybe_int(const Json& obj, const char* key, const std::string& where,
                                                int64_t lo, int64_t hi) {
  if (!find_field(obj, key)) return std::optional<int64_t>();
  MLXPACK_ASSIGN_OR_RETURN(int64_t v, required_int(obj, key, where, lo, hi));
  return std::optional<int64_t>(v);
}

// A number (integer or not) in [lo, hi], or nullopt when absent or null.
inline Result<std::optional<double>> maybe_number(const Json& obj, const char* key, const std::string& where,
                                                  double lo, double hi) {
  const Json* v = find_field(obj, key);
  if (!v) return std::optional<double>();
  if (!v->is_number()) return field_error(field_path(where, key), std::string("expected a number, got ") + json_type_name(*v));
  const double d = v->get<double>();
  if (!(d >= lo && d <= hi)) return outside_range(field_path(where, key), *v, lo, hi);
  return std::optional<double>(d);
}

inline Result<std::optional<bool>> maybe_bool(const Json& obj, const char* key, const std::string& where) {
  if (!find_field(obj, key)) return std::optional<bool>();
  MLXPACK_ASSIGN_OR_RETURN(bool v, optional_bool(obj, key, where, false));
  return std::optional<bool>(v);
}

inline Result<std::optional<std::string>> maybe_string(const Json& obj, const char* key, const std::string& where) {
  if (!find_field(obj, key)) return std::optional<std::string>();
  MLXPACK_ASSIGN_OR_RETURN(std::string v, required_string(obj, key, where));
  return std::optional<std::string>(std::move(v));
}

inline Result<const Json*> required_object(const Json& obj, const char* key, const std::string& where) {
  const Json* v = find_field(obj, key);
  if (!v) return field_error(field_path(where, key), "missing (expected an object)");
  if (!v->is_object()) return field_error(field_path(where, key), std::string("expected an object, got ") + json_type_name(*v));
  return v;
}

inline Result<const Json*> required_array(const Json& obj, const char* key, const std::string& where) {
  const Json* v = find_field(obj, key);
  if (!v) return field_error(field_path(where, key), "missing (expected an array)");
  if (!v->is_array()) return field_error(field_path(where, key), std::string("expected an array, got ") + json_type_name(*v));
  return v;
}

// A `{"String": "..."}` or `{"Regex": "..."}` pattern object.
struct PatternSpec {
  bool is_regex = false;
  std::string text;
};

inline Result<PatternSpec> required_pattern(const Json& obj, const char* key, const std::string& where) {
  MLXPACK_ASSIGN_OR_RETURN(const Json* p, required_object(obj, key, where));
  const std::string path = field_path(where, key);
  if (const Json* s = find_field(*p, "String")) {
    if (!s->is_string()) return field_error(path + ".String", "expected a string");
    return PatternSpec{false, s->get<std::string>()};
  }
  if (const Json* r = find_field(*p, "Regex")) {
    if (!r->is_string()) return field_error(path + ".Regex", "expected a string");
    return PatternSpec{true, r->get<std::string>()};
  }
  return field_error(path, "expected {\"String\": ...} or {\"Regex\": ...}");
}

// The components listed in spec[key] (a Sequence's steps), each built by
// make(item, path).
template <typename T, typename Make>
Result<std::vector<std::unique_ptr<T>>> make_each(const Json& spec, const char* key, const std::string& where,
                                                  Make make) {
  MLXPACK_ASSIGN_OR_RETURN(const Json* list, required_array(spec, key, where));
  std::vector<std::unique_ptr<T>> steps;
  for (size_t i = 0; i < list->size(); ++i) {
    MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<T> step,
                             make((*list)[i], field_path(where, key) + "[" + std::to_string(i) + "]"));
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_JSON_FIELDS_H_
