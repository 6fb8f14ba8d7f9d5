// Runtime values of the template interpreter. Their printing, truthiness
// and equality follow the reference (@huggingface/jinja), which is what
// Hugging Face's JavaScript stack renders prompts with: none and undefined
// print as nothing, booleans as true/false, integral floats as "2.0", lists
// and dicts as JSON with ", " and ": ".
#ifndef MLXPACK_RUNTIME_TEMPLATE_VALUE_H_
#define MLXPACK_RUNTIME_TEMPLATE_VALUE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mlxpack::jinja {

struct Value;
struct Object;
struct CallArgs;
class Interpreter;
struct Environment;

using Array = std::vector<Value>;
using Function = std::function<Value(CallArgs&, Interpreter&, const std::shared_ptr<Environment>&)>;

enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject, kNamespace, kFunction };

struct Value {
  Kind kind = Kind::kUndefined;
  bool boolean = false;
  bool is_tuple = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::shared_ptr<Array> array;       // kArray
  std::shared_ptr<Object> object;     // kObject, kNamespace
  std::shared_ptr<Function> function; // kFunction

  static Value none() { Value v; v.kind = Kind::kNone; return v; }
  static Value from_bool(bool b) { Value v; v.kind = Kind::kBool; v.boolean = b; return v; }
  static Value from_int(int64_t i) { Value v; v.kind = Kind::kInt; v.integer = i; return v; }
  static Value from_float(double f) { Value v; v.kind = Kind::kFloat; v.number = f; return v; }
  static Value from_string(std::string s) { Value v; v.kind = Kind::kString; v.string = std::move(s); return v; }
  static Value from_array(Array a, bool tuple = false) {
    Value v;
    v.kind = Kind::kArray;
    v.is_tuple = tuple;
    v.array = std::make_shared<Array>(std::move(a));
    return v;
  }
  static Value new_object(Kind kind = Kind::kObject);
  static Value from_function(Function f) {
    Value v;
    v.kind = Kind::kFunction;
    v.function = std::make_shared<Function>(std::move(f));
    return v;
  }
  // JSON to a value: integral numbers (also 2.0) become integers, as in the
  // reference, whose input numbers are JavaScript numbers.
  static Value from_json(const nlohmann::ordered_json& j);
  // Parses JSON text straight into a value, keeping object key order (the
  // last of duplicate keys wins, in the first one's place, as JSON.parse
  // does). Linear in the text, unlike building an ordered_json. Returns
  // false with *error set if the text is not JSON or nests deeper than 512.
  static bool parse_json(std::string_view text, Value* out, std::string* error);

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_mapping() const { return kind == Kind::kObject; }
  bool is_attribute_container() const { return kind == Kind::kObject || kind == Kind::kNamespace; }
  double as_double() const { return kind == Kind::kInt ? static_cast<double>(integer) : kind == Kind::kBool ? (boolean ? 1 : 0) : number; }

  bool truthy() const;
  const char* type_name() const;
};

// An insertion-ordered dictionary (Python dicts and JavaScript Maps keep
// insertion order; templates print them in that order).
struct Object {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);

 private:
  // Past a few keys, lookups go through a hash index built lazily over
  // `items` (a hostile context may hold 100,000 keys). `items` is only ever
  // appended to, changed in place by set(), or emptied.
  mutable std::unordered_map<std::string, size_t> index_;
  mutable size_t indexed_ = 0;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* kwarg(const std::string& name) const;
  // positional[index], else the keyword `name`, else nullptr.
  const Value* get(size_t index, const std::string& name) const;
};

struct JsonOptions {
  std::optional<int64_t> indent;
  bool ensure_ascii = false;
  bool sort_keys = false;
  std::optional<std::pair<std::string, std::string>> separators;
};

// The text a value prints as in {{ }}.
std::string to_display_string(const Value& v);
// The tojson filter (also how lists and dicts print). undefined_as_null:
// undefined prints as null (tojson) or as undefined (printing).
std::string to_json(const Value& v, const JsonOptions& options, bool undefined_as_null = true, int depth = 0);
// JavaScript's number-to-string for a double (shortest round-trip digits).
std::string js_number_to_string(double d);
// Loose equality as the reference's ==, and strict membership equality as its `in`.
bool loose_equals(const Value& a, const Value& b);
bool strict_equals(const Value& a, const Value& b);

}  // namespace mlxpack::jinja

#endif  // MLXPACK_RUNTIME_TEMPLATE_VALUE_H_
