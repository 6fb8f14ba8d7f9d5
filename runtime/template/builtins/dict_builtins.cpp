// Builtins of dicts: the dict filters and the methods of dict.
#include <algorithm>

#include "runtime/template/builtins/builtins.h"
#include "runtime/template/template_error.h"

namespace mlxpack::jinja {

namespace {

Array item_pairs(const std::vector<std::pair<std::string, Value>>& items) {
  Array out;
  for (const auto& [k, v] : items) out.push_back(Value::from_array({Value::from_string(k), v}));
  return out;
}

// dictsort(case_sensitive=False, by='key', reverse=False): [key, value]
// pairs, stably sorted.
Value dictsort(const Object& object, CallArgs& args) {
  const bool case_sensitive = bool_arg(args, 0, "case_sensitive", false);
  const Value* by = arg(args, 1, "by");
  const bool by_value = by && by->is_string() && by->string == "value";
  if (by && !(by->is_string() && (by->string == "key" || by->string == "value"))) {
    throw TemplateError("dictsort: by must be 'key' or 'value'");
  }
  const bool reverse = bool_arg(args, 2, "reverse", false);
  std::vector<std::pair<std::string, Value>> items = object.items;
  std::stable_sort(items.begin(), items.end(), [&](const auto& a, const auto& b) {
    const int order = by_value ? compare_values(a.second, b.second, case_sensitive)
                               : compare_values(Value::from_string(a.first), Value::from_string(b.first), case_sensitive);
    return reverse ? order > 0 : order < 0;
  });
  return Value::from_array(item_pairs(items));
}

// Filters.

// items(): a dict's or a namespace's [key, value] pairs.
Value filter_items(const FilterCall& c) {
  if (!c.operand.is_attribute_container()) c.fail();
  return Value::from_array(item_pairs(c.operand.object->items));
}

Value filter_dictsort(const FilterCall& c) {
  if (!c.operand.is_mapping()) c.fail();
  return dictsort(*c.operand.object, c.args);
}

// Methods: each binds the dict (shared, so later changes are seen).

Value method_get(Interpreter&, const Value& o) {
  return bound([obj = o.object](CallArgs& args) {
    const Value* key = arg(args, 0, "key");
    if (!key || !key->is_string()) throw TemplateError("dict.get() key must be a string");
    if (const Value* v = obj->find(key->string)) return *v;
    const Value* fallback = arg(args, 1, "default");
    return fallback ? *fallback : Value::none();
  });
}

Value method_items(Interpreter&, const Value& o) {
  return bound([obj = o.object](CallArgs&) { return Value::from_array(item_pairs(obj->items)); });
}

Value method_keys(Interpreter&, const Value& o) {
  return bound([obj = o.object](CallArgs&) {
    Array out;
    for (const auto& [k, v] : obj->items) out.push_back(Value::from_string(k));
    return Value::from_array(std::move(out));
  });
}

Value method_values(Interpreter&, const Value& o) {
  return bound([obj = o.object](CallArgs&) {
    Array out;
    for (const auto& [k, v] : obj->items) out.push_back(v);
    return Value::from_array(std::move(out));
  });
}

Value method_dictsort(Interpreter&, const Value& o) {
  return bound([obj = o.object](CallArgs& args) { return dictsort(*obj, args); });
}

}  // namespace

const std::vector<FilterRow>& dict_filters() {
  static const std::vector<FilterRow> kRows = {
      {"items", Operand::kAny, filter_items},
      {"dictsort", Operand::kAny, filter_dictsort},
  };
  return kRows;
}

const std::vector<MethodRow>& dict_methods() {
  static const std::vector<MethodRow> kRows = {
      {"get", method_get},
      {"items", method_items},
      {"keys", method_keys},
      {"values", method_values},
      {"dictsort", method_dictsort},
  };
  return kRows;
}

}  // namespace mlxpack::jinja
