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

// What one render may spend. `bytes`: what it allocates, in bytes of strings
// and of list and dict entries, counted as values are made and copied (a copy
// of a string value is a copy of its bytes); cumulative, never credited back,
// so it bounds both the memory a render can hold and the copying it does.
// `work`: one unit per evaluated node plus one per 256 bytes a string
// operation reads. A render installs one with BudgetScope; values made
// outside a render are not counted.
struct RenderBudget {
  uint64_t bytes_used = 0;
  uint64_t bytes_limit = 0;
  uint64_t work_used = 0;
  uint64_t work_limit = 0;
};

// Installs `budget` for this thread until destroyed (restoring the previous one).
class BudgetScope {
 public:
  explicit BudgetScope(RenderBudget* budget);
  ~BudgetScope();
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;

 private:
  RenderBudget* saved_;
};

// Add to this thread's budget, if one is installed; throw TemplateError
// naming the limit when it would be passed.
void charge_allocation(uint64_t bytes);
void charge_work(uint64_t units);
inline void charge_read(uint64_t bytes) { charge_work(1 + (bytes >> 8)); }

// How deep values may nest (lists in lists, dicts in lists, ...): the same
// bound as JSON input. Deeper values are refused where they would be built.
inline constexpr uint32_t kMaxValueDepth = 512;

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

  Value() = default;
  // Copies are charged to the render's allocation budget (their string bytes
  // and their own size). Moves are free.
  Value(const Value& other);
  Value& operator=(const Value& other);
  Value(Value&&) noexcept = default;
  Value& operator=(Value&&) noexcept = default;
  // Frees nested lists and dicts with a work list instead of recursion, so
  // a list nested a million deep cannot overflow the stack when it dies.
  ~Value();

  static Value none() { Value v; v.kind = Kind::kNone; return v; }
  static Value from_bool(bool b) { Value v; v.kind = Kind::kBool; v.boolean = b; return v; }
  static Value from_int(int64_t i) { Value v; v.kind = Kind::kInt; v.integer = i; return v; }
  static Value from_float(double f) { Value v; v.kind = Kind::kFloat; v.number = f; return v; }
  // A new string or list is charged to the allocation budget (a list for
  // its entries; the entries' own bytes were charged when they were made).
  static Value from_string(std::string s) {
    charge_allocation(sizeof(Value) + s.size());
    Value v;
    v.kind = Kind::kString;
    v.string = std::move(s);
    return v;
  }
  static Value from_array(Array a, bool tuple = false) {
    charge_allocation(sizeof(Value) * (a.size() + 1));
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

// The nesting depth of `v` (0 for a scalar, 1 for a flat list), counting at
// most `limit` + 1 levels: a result above `limit` means "too deep". Visits
// every container once per path, so callers charge the visits to their work.
uint32_t nesting_depth(const Value& v, uint32_t limit, uint64_t* visited);

// The first `needle` in `haystack` at or after `from`, or npos; linear in
// the worst case (memmem's two-way search, unlike std::string::find), and
// the bytes the search read are charged as work.
size_t find_linear(const std::string& haystack, const std::string& needle, size_t from = 0);

// text::split_codepoints, charged to the allocation budget first (one
// std::string per code point) so a 20 MB string cannot become 640 MB of
// pieces unnoticed.
std::vector<std::string> split_codepoints_charged(std::string_view s);

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
