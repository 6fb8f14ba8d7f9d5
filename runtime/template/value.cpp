#include "runtime/template/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "runtime/template/template_error.h"
#include "runtime/text/utf8.h"

namespace mlxpack::jinja {

namespace {
thread_local RenderBudget* t_budget = nullptr;
}  // namespace

BudgetScope::BudgetScope(RenderBudget* budget) : saved_(t_budget) { t_budget = budget; }
BudgetScope::~BudgetScope() { t_budget = saved_; }

void charge_allocation(uint64_t bytes) {
  RenderBudget* b = t_budget;
  if (!b) return;
  if (bytes > b->bytes_limit - b->bytes_used) {
    b->bytes_used = b->bytes_limit;
    throw TemplateError("template allocated more than the limit of " + std::to_string(b->bytes_limit) +
                        " bytes (max_render_bytes)");
  }
  b->bytes_used += bytes;
}

void charge_work(uint64_t units) {
  RenderBudget* b = t_budget;
  if (!b) return;
  if (units > b->work_limit - b->work_used) {
    b->work_used = b->work_limit;
    throw TemplateError("template ran more than the limit of " + std::to_string(b->work_limit) + " steps");
  }
  b->work_used += units;
}

Value::Value(const Value& o)
    : kind(o.kind),
      boolean(o.boolean),
      is_tuple(o.is_tuple),
      integer(o.integer),
      number(o.number),
      string(o.string),
      array(o.array),
      object(o.object),
      function(o.function) {
  if (!string.empty()) charge_allocation(string.size());
}

Value& Value::operator=(const Value& o) {
  if (this != &o) *this = Value(o);
  return *this;
}

Value::~Value() {
  // Only the last owner of a container frees it; everything else is a
  // reference count decrement.
  const bool last_array = array && array.use_count() == 1;
  const bool last_object = object && object.use_count() == 1;
  if (!last_array && !last_object) return;
  std::vector<std::shared_ptr<Array>> arrays;
  std::vector<std::shared_ptr<Object>> objects;
  auto take = [&](Value& v) {
    if (v.array && v.array.use_count() == 1) arrays.push_back(std::move(v.array));
    if (v.object && v.object.use_count() == 1) objects.push_back(std::move(v.object));
  };
  take(*this);
  // Children are detached before their container is freed, so freeing it
  // never recurses more than one level.
  while (!arrays.empty() || !objects.empty()) {
    if (!arrays.empty()) {
      std::shared_ptr<Array> a = std::move(arrays.back());
      arrays.pop_back();
      for (Value& child : *a) take(child);
    } else {
      std::shared_ptr<Object> o = std::move(objects.back());
      objects.pop_back();
      for (auto& item : o->items) take(item.second);
    }
  }
}

uint32_t nesting_depth(const Value& v, uint32_t limit, uint64_t* visited) {
  ++*visited;
  if (v.kind != Kind::kArray && v.kind != Kind::kObject && v.kind != Kind::kNamespace) return 0;
  if (limit == 0) return 1;  // at least one more level than allowed
  uint32_t deepest = 0;
  if (v.kind == Kind::kArray) {
    for (const Value& child : *v.array) {
      deepest = std::max(deepest, nesting_depth(child, limit - 1, visited));
      if (deepest >= limit) break;
    }
  } else {
    for (const auto& item : v.object->items) {
      deepest = std::max(deepest, nesting_depth(item.second, limit - 1, visited));
      if (deepest >= limit) break;
    }
  }
  return deepest + 1;
}

// The first `needle` in `haystack` at or after `from`, or npos. memmem is
// linear in the worst case (glibc's two-way search); std::string::find is
// not, and templates may search 20 MB strings. The read is charged as work.
size_t find_linear(const std::string& haystack, const std::string& needle, size_t from) {
  if (from > haystack.size()) return std::string::npos;
  if (needle.empty()) return from;
  const void* hit = memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
  const size_t at = hit ? static_cast<size_t>(static_cast<const char*>(hit) - haystack.data()) : std::string::npos;
  charge_read((hit ? at + needle.size() : haystack.size()) - from);  // what the search read
  return at;
}

std::vector<std::string> split_codepoints_charged(std::string_view s) {
  charge_allocation(text::codepoint_count(s) * sizeof(std::string) + s.size());
  return text::split_codepoints(s);
}

Value Value::new_object(Kind kind) {
  Value v;
  v.kind = kind;
  v.object = std::make_shared<Object>();
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return from_bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return from_int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return from_float(static_cast<double>(u));
      return from_int(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: {
      const double d = j.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) {
        return from_int(static_cast<int64_t>(d));
      }
      return from_float(d);
    }
    case nlohmann::ordered_json::value_t::string: return from_string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& e : j) a.push_back(from_json(e));
      return from_array(std::move(a));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value v = new_object();
      v.object->items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) v.object->items.emplace_back(it.key(), from_json(it.value()));
      return v;
    }
    default: return Value();
  }
}

namespace {

class ValueBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  Value result;
  std::string error;

  bool null() override { return add(Value::none()); }
  bool boolean(bool b) override { return add(Value::from_bool(b)); }
  bool number_integer(number_integer_t i) override { return add(Value::from_int(i)); }
  bool number_unsigned(number_unsigned_t u) override {
    return add(u > static_cast<uint64_t>(INT64_MAX) ? Value::from_float(static_cast<double>(u))
                                                    : Value::from_int(static_cast<int64_t>(u)));
  }
  bool number_float(number_float_t d, const string_t&) override {
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) {
      return add(Value::from_int(static_cast<int64_t>(d)));
    }
    return add(Value::from_float(d));
  }
  bool string(string_t& s) override { return add(Value::from_string(std::move(s))); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return open(Value::new_object()); }
  bool key(string_t& k) override {
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Value::from_array({})); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    error = "not valid JSON at byte " + std::to_string(position) + ": " + e.what();
    return false;
  }

 private:
  struct Frame {
    Value value;
    std::string key;
    std::unordered_map<std::string, size_t> index;  // object keys -> position
  };
  bool open(Value v) {
    if (stack_.size() >= 512) {
      error = "JSON nests deeper than 512 levels";
      return false;
    }
    stack_.push_back(Frame{std::move(v), {}, {}});
    return true;
  }
  bool close() {
    Value v = std::move(stack_.back().value);
    stack_.pop_back();
    return add(std::move(v));
  }
  bool add(Value v) {
    if (stack_.empty()) {
      result = std::move(v);
      return true;
    }
    Frame& f = stack_.back();
    if (f.value.is_array()) {
      f.value.array->push_back(std::move(v));
      return true;
    }
    auto [it, inserted] = f.index.emplace(f.key, f.value.object->items.size());
    if (inserted) {
      f.value.object->items.emplace_back(std::move(f.key), std::move(v));
    } else {
      f.value.object->items[it->second].second = std::move(v);
    }
    return true;
  }
  std::vector<Frame> stack_;
};

}  // namespace

bool Value::parse_json(std::string_view text, Value* out, std::string* error) {
  ValueBuilder builder;
  const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder, nlohmann::json::input_format_t::json,
                                            /*strict=*/true, /*ignore_comments=*/false);
  if (!ok) {
    *error = builder.error.empty() ? "not valid JSON" : builder.error;
    return false;
  }
  *out = std::move(builder.result);
  return true;
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return boolean;
    case Kind::kInt: return integer != 0;
    case Kind::kFloat: return number != 0 && !std::isnan(number);
    case Kind::kString: return !string.empty();
    case Kind::kArray: return !array->empty();
    case Kind::kObject: return !object->items.empty();
    case Kind::kNamespace:
    case Kind::kFunction: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (kind) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "none";
    case Kind::kBool: return "boolean";
    case Kind::kInt: return "integer";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kArray: return is_tuple ? "tuple" : "list";
    case Kind::kObject: return "dict";
    case Kind::kNamespace: return "namespace";
    case Kind::kFunction: return "function";
  }
  return "value";
}

const Value* Object::find(const std::string& key) const {
  constexpr size_t kLinearLimit = 16;
  if (items.size() <= kLinearLimit) {
    for (const auto& [k, v] : items)
      if (k == key) return &v;
    return nullptr;
  }
  if (indexed_ > items.size()) {  // emptied since the index was built
    index_.clear();
    indexed_ = 0;
  }
  for (; indexed_ < items.size(); ++indexed_) index_.emplace(items[indexed_].first, indexed_);
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &items[it->second].second;
}

void Object::set(const std::string& key, Value value) {
  if (const Value* existing = find(key)) {
    *const_cast<Value*>(existing) = std::move(value);
    return;
  }
  charge_allocation(sizeof(items[0]) + key.size());
  items.emplace_back(key, std::move(value));
}

const Value* CallArgs::kwarg(const std::string& name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

const Value* CallArgs::get(size_t index, const std::string& name) const {
  if (index < positional.size()) return &positional[index];
  return kwarg(name);
}

std::string js_number_to_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  if (d == 0) return "0";
  std::string out;
  if (d < 0) {
    out.push_back('-');
    d = -d;
  }
  // Shortest round-trip digits and exponent, then ECMAScript's layout
  // (Number::toString: plain up to 21 integer digits, down to 1e-6).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t k = 0; k < e_pos; ++k)
    if (sci[k] != '.') digits.push_back(sci[k]);
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += "e";
    out += (n - 1 >= 0 ? "+" : "-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

namespace {

std::string float_display(double d) {
  if (d == 0 && std::signbit(d)) return "-0.0";
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e21) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.1f", d);  // JavaScript's toFixed(1) for integral values
    return buf;
  }
  return js_number_to_string(d);
}

// JSON.stringify of a string (and ensure_ascii's \uXXXX for non-ASCII).
std::string json_quote(const std::string& s, bool ensure_ascii) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
      ++i;
      continue;
    }
    if (c < 0x7F || !ensure_ascii) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t p = i;
    char32_t cp;
    if (!text::decode_next(s, &p, &cp)) {
      cp = 0xFFFD;
      p = i + 1;
    }
    auto emit = [&](unsigned unit) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "\\u%04x", unit);
      out += buf;
    };
    if (cp >= 0x10000) {  // UTF-16 surrogate pair, as JSON requires
      const char32_t v = cp - 0x10000;
      emit(0xD800 + (v >> 10));
      emit(0xDC00 + (v & 0x3FF));
    } else {
      emit(cp);
    }
    i = p;
  }
  out += "\"";
  return out;
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options, bool undefined_as_null, int depth) {
  if (depth > 512) throw TemplateError("value nests too deeply to convert to JSON");
  std::string item_sep;
  std::string key_sep;
  if (options.separators) {
    item_sep = options.separators->first;
    key_sep = options.separators->second;
  } else {
    item_sep = options.indent && *options.indent ? "," : ", ";
    key_sep = ": ";
  }
  switch (v.kind) {
    case Kind::kNone: return "null";
    case Kind::kUndefined: return undefined_as_null ? "null" : "undefined";
    case Kind::kBool: return v.boolean ? "true" : "false";
    case Kind::kInt: return std::to_string(v.integer);
    case Kind::kFloat: return std::isfinite(v.number) ? js_number_to_string(v.number) : "null";
    case Kind::kString: return json_quote(v.string, options.ensure_ascii);
    case Kind::kFunction: throw TemplateError("cannot convert a function to JSON");
    case Kind::kArray:
    case Kind::kObject:
    case Kind::kNamespace: {
      const int64_t indent = options.indent.value_or(0);
      const std::string indent_unit = indent > 0 ? std::string(static_cast<size_t>(std::min<int64_t>(indent, 64)), ' ') : "";
      std::string base = "\n";
      for (int k = 0; k < depth; ++k) base += indent_unit;
      const std::string child = base + indent_unit;
      std::string out;
      if (v.kind == Kind::kArray) {
        if (v.array->empty()) return "[]";
        out = "[";
        for (size_t k = 0; k < v.array->size(); ++k) {
          if (k) out += item_sep;
          if (indent) out += child;
          out += to_json((*v.array)[k], options, undefined_as_null, depth + 1);
        }
        if (indent) out += base;
        return out + "]";
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.object->items) entries.push_back(&e);
      if (options.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      if (entries.empty()) return "{}";
      out = "{";
      for (size_t k = 0; k < entries.size(); ++k) {
        if (k) out += item_sep;
        if (indent) out += child;
        out += json_quote(entries[k]->first, options.ensure_ascii) + key_sep +
               to_json(entries[k]->second, options, undefined_as_null, depth + 1);
      }
      if (indent) out += base;
      return out + "}";
    }
  }
  return "null";
}

std::string to_display_string(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "null";
    case Kind::kBool: return v.boolean ? "true" : "false";
    case Kind::kInt: return std::to_string(v.integer);
    case Kind::kFloat: return float_display(v.number);
    case Kind::kString: return v.string;
    case Kind::kArray:
    case Kind::kObject:
    case Kind::kNamespace: return to_json(v, JsonOptions{}, /*undefined_as_null=*/false);
    case Kind::kFunction: return "[function]";
  }
  return "";
}

namespace {

// JavaScript's ToNumber for a string: trimmed, "" is 0, otherwise a full
// decimal literal or NaN.
double js_string_to_number(const std::string& s) {
  const std::string_view t = text::trim_js_space(s, true, true);
  if (t.empty()) return 0;
  double d = 0;
  auto res = std::from_chars(t.data(), t.data() + t.size(), d);
  if (res.ec != std::errc() || res.ptr != t.data() + t.size()) return std::nan("");
  return d;
}

bool is_primitive(const Value& v) {
  return v.kind == Kind::kBool || v.kind == Kind::kInt || v.kind == Kind::kFloat || v.kind == Kind::kString;
}

}  // namespace

bool loose_equals(const Value& a, const Value& b) {
  const bool a_nullish = a.kind == Kind::kNone || a.kind == Kind::kUndefined;
  const bool b_nullish = b.kind == Kind::kNone || b.kind == Kind::kUndefined;
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  if (a.kind == Kind::kString && b.kind == Kind::kString) return a.string == b.string;
  if (is_primitive(a) && is_primitive(b)) {
    const double x = a.kind == Kind::kString ? js_string_to_number(a.string) : a.as_double();
    const double y = b.kind == Kind::kString ? js_string_to_number(b.string) : b.as_double();
    if (a.kind == Kind::kInt && b.kind == Kind::kInt) return a.integer == b.integer;
    return x == y;
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kArray: return a.array == b.array;
    case Kind::kObject:
    case Kind::kNamespace: return a.object == b.object;
    case Kind::kFunction: return a.function == b.function;
    default: return false;
  }
}

bool strict_equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Kind::kInt && b.kind == Kind::kInt) return a.integer == b.integer;
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kBool: return a.boolean == b.boolean;
    case Kind::kString: return a.string == b.string;
    case Kind::kArray: return a.array == b.array;
    case Kind::kObject:
    case Kind::kNamespace: return a.object == b.object;
    case Kind::kFunction: return a.function == b.function;
    default: return false;
  }
}

}  // namespace mlxpack::jinja
