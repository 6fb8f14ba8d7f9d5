// Filters that take any kind of value: conversions, defaults, length, join.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "runtime/template/builtins/builtins.h"
#include "runtime/template/template_error.h"
#include "runtime/text/unicode.h"
#include "runtime/text/utf8.h"

namespace mlxpack::jinja {

namespace {

Value filter_safe(const FilterCall& c) { return c.operand; }

// tojson(indent=None, ensure_ascii=..., sort_keys=..., separators=...)
Value filter_tojson(const FilterCall& c) {
  const CallArgs& args = c.args;
  JsonOptions options;
  if (const Value* indent = args.kwarg("indent"); indent && !indent->is_none()) {
    if (indent->kind != Kind::kInt) throw TemplateError("tojson: indent must be an integer", c.line);
    options.indent = indent->integer;
  } else if (!args.positional.empty() && args.positional[0].kind == Kind::kInt) {
    options.indent = args.positional[0].integer;
  }
  if (const Value* v = args.kwarg("ensure_ascii")) options.ensure_ascii = v->truthy();
  if (const Value* v = args.kwarg("sort_keys")) options.sort_keys = v->truthy();
  if (const Value* v = args.kwarg("separators"); v && !v->is_none()) {
    if (!v->is_array() || v->array->size() != 2 || !(*v->array)[0].is_string() || !(*v->array)[1].is_string()) {
      throw TemplateError("tojson: separators must be two strings", c.line);
    }
    options.separators = std::make_pair((*v->array)[0].string, (*v->array)[1].string);
  }
  std::string out = to_json(c.operand, options);
  c.self.check_size(out.size(), c.line);
  return Value::from_string(std::move(out));
}

// default(default_value='', boolean=False)
Value filter_default(const FilterCall& c) {
  const Value* fallback = arg(c.args, 0, "default_value");
  const bool boolean = bool_arg(c.args, 1, "boolean", false);
  if (c.operand.is_undefined() || (boolean && !c.operand.truthy())) return fallback ? *fallback : Value::from_string("");
  return c.operand;
}

Value filter_string(const FilterCall& c) {
  if (c.operand.is_none()) return Value::from_string("None");
  if (c.operand.is_undefined()) return Value::from_string("");
  return Value::from_string(to_display_string(c.operand));
}

Value filter_length(const FilterCall& c) {
  const Value& v = c.operand;
  if (v.is_array()) return Value::from_int(static_cast<int64_t>(v.array->size()));
  if (v.is_string()) return Value::from_int(static_cast<int64_t>(text::codepoint_count(v.string)));
  if (v.is_attribute_container()) return Value::from_int(static_cast<int64_t>(v.object->items.size()));
  c.fail();
}

// A string parsed as Python's int()/float() filters do: a bad string gives
// the fallback (or 0).
Value parse_number(const std::string& s, bool to_int, const Value* fallback) {
  const std::string str(text::trim_js_space(s, true, true));
  char* end = nullptr;
  errno = 0;
  if (to_int) {
    const long long v = std::strtoll(str.c_str(), &end, 10);
    if (end == str.c_str() || errno == ERANGE) return fallback ? *fallback : Value::from_int(0);
    return Value::from_int(v);
  }
  const double v = std::strtod(str.c_str(), &end);
  if (end == str.c_str()) return fallback ? *fallback : Value::from_float(0);
  return Value::from_float(v);
}

Value to_number(const FilterCall& c, bool to_int) {
  const Value& v = c.operand;
  const Value* fallback = arg(c.args, 0, "default");
  if (v.is_string()) return parse_number(v.string, to_int, fallback);
  if (v.kind == Kind::kBool) return to_int ? Value::from_int(v.boolean) : Value::from_float(v.boolean);
  if (v.kind == Kind::kInt) return to_int ? v : Value::from_float(static_cast<double>(v.integer));
  if (v.kind == Kind::kFloat) {
    if (!to_int) return v;
    if (!std::isfinite(v.number) || std::fabs(v.number) >= 9.2e18) c.fail();
    return Value::from_int(static_cast<int64_t>(std::trunc(v.number)));
  }
  if (fallback) return *fallback;
  c.fail();
}
Value filter_int(const FilterCall& c) { return to_number(c, true); }
Value filter_float(const FilterCall& c) { return to_number(c, false); }

// join(d='', attribute=None): a string's code points or a list's items.
Value filter_join(const FilterCall& c) {
  const CallArgs& args = c.args;
  const Value* sep_v = arg(args, 0, "d");
  if (!sep_v) sep_v = args.kwarg("separator");
  if (sep_v && !sep_v->is_string()) throw TemplateError("join: separator must be a string", c.line);
  const std::string sep = sep_v ? sep_v->string : "";
  const Value* attribute = args.kwarg("attribute");
  std::vector<std::string> parts;
  if (c.operand.is_string()) {
    parts = split_codepoints_charged(c.operand.string);
  } else if (c.operand.is_array()) {
    for (const Value& item : *c.operand.array) {
      parts.push_back(to_display_string(attribute && attribute->is_string() ? attribute_path(item, attribute->string) : item));
    }
  } else {
    c.fail();
  }
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += sep;
    out += parts[k];
    c.self.check_size(out.size(), c.line);
  }
  return Value::from_string(std::move(out));
}

// list(): a list's copy, a string's code points, a dict's keys.
Value filter_list(const FilterCall& c) {
  const Value& v = c.operand;
  if (v.is_array()) return Value::from_array(*v.array);
  if (v.is_string()) {
    c.self.check_sequence(text::codepoint_count(v.string), c.line);
    Array out;
    for (std::string& cp : split_codepoints_charged(v.string)) out.push_back(Value::from_string(std::move(cp)));
    return Value::from_array(std::move(out));
  }
  if (v.is_mapping()) {
    Array out;
    for (const auto& [k, item] : v.object->items) out.push_back(Value::from_string(k));
    return Value::from_array(std::move(out));
  }
  c.fail();
}

Value filter_abs(const FilterCall& c) {
  const Value& v = c.operand;
  if (!v.is_number()) c.fail();
  if (v.kind == Kind::kInt) {
    if (v.integer == INT64_MIN) return Value::from_float(9.223372036854775808e18);
    return Value::from_int(std::llabs(v.integer));
  }
  return Value::from_float(std::fabs(v.number));
}

// round(precision=0, method='common')
Value filter_round(const FilterCall& c) {
  if (!c.operand.is_number()) c.fail();
  const Value* precision_v = arg(c.args, 0, "precision");
  const int64_t precision = precision_v && precision_v->kind == Kind::kInt ? std::clamp<int64_t>(precision_v->integer, 0, 15) : 0;
  const Value* method_v = arg(c.args, 1, "method");
  const std::string method = method_v && method_v->is_string() ? method_v->string : "common";
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = c.operand.as_double() * scale;
  const double r = method == "floor" ? std::floor(x) : method == "ceil" ? std::ceil(x) : std::round(x);
  return Value::from_float(r / scale);
}

Value filter_bool(const FilterCall& c) { return Value::from_bool(c.operand.truthy()); }

}  // namespace

const std::vector<FilterRow>& value_filters() {
  static const std::vector<FilterRow> kRows = {
      {"safe", Operand::kAny, filter_safe},
      {"tojson", Operand::kAny, filter_tojson},
      {"default", Operand::kAny, filter_default},
      {"d", Operand::kAny, filter_default},
      {"string", Operand::kAny, filter_string},
      {"length", Operand::kAny, filter_length},
      {"count", Operand::kAny, filter_length},
      {"int", Operand::kAny, filter_int},
      {"float", Operand::kAny, filter_float},
      {"join", Operand::kAny, filter_join},
      {"list", Operand::kAny, filter_list},
      {"abs", Operand::kAny, filter_abs},
      {"round", Operand::kAny, filter_round},
      {"bool", Operand::kAny, filter_bool},
  };
  return kRows;
}

}  // namespace mlxpack::jinja
