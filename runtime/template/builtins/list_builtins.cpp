// Builtins of lists: the list filters and the methods of list.
#include <algorithm>

#include "runtime/template/builtins/builtins.h"
#include "runtime/template/template_error.h"

namespace mlxpack::jinja {

namespace {

const Array& items_of(const FilterCall& c) { return *c.operand.array; }

Value filter_first(const FilterCall& c) { return items_of(c).empty() ? Value() : items_of(c).front(); }
Value filter_last(const FilterCall& c) { return items_of(c).empty() ? Value() : items_of(c).back(); }
Value filter_reverse(const FilterCall& c) { return Value::from_array(Array(items_of(c).rbegin(), items_of(c).rend())); }

Value filter_unique(const FilterCall& c) {
  Array out;
  for (const Value& item : items_of(c)) {
    bool seen = false;
    charge_work(out.size());  // quadratic in the list: each comparison is work
    for (const Value& o : out)
      if (strict_equals(o, item)) seen = true;
    if (!seen) out.push_back(item);
  }
  return Value::from_array(std::move(out));
}

// sum(attribute=None, start=0): integers stay integers until they overflow.
Value filter_sum(const FilterCall& c) {
  const Value* attribute = c.args.kwarg("attribute");
  const Value* start = c.args.kwarg("start");
  Value total = start ? *start : Value::from_int(0);
  for (const Value& item : items_of(c)) {
    const Value x = attribute && attribute->is_string() ? attribute_path(item, attribute->string) : item;
    if (!x.is_number() || !total.is_number()) throw TemplateError("sum: items must be numbers", c.line);
    if (total.kind == Kind::kInt && x.kind == Kind::kInt) {
      int64_t r;
      total = __builtin_add_overflow(total.integer, x.integer, &r) ? Value::from_float(total.as_double() + x.as_double())
                                                                    : Value::from_int(r);
    } else {
      total = Value::from_float(total.as_double() + x.as_double());
    }
  }
  return total;
}

// The sort key of sort/min/max: the item, or its attribute (a dotted path or
// an index).
Value sort_key(const Value& item, const Value* attribute) {
  if (!attribute || attribute->is_none() || attribute->is_undefined()) return item;
  const std::string path = attribute->kind == Kind::kInt ? std::to_string(attribute->integer) : attribute->string;
  return attribute_path(item, path);
}

// sort(reverse=False, case_sensitive=False, attribute=None), stable.
Value filter_sort(const FilterCall& c) {
  const bool reverse = bool_arg(c.args, 0, "reverse", false);
  const bool case_sensitive = bool_arg(c.args, 1, "case_sensitive", false);
  const Value* attribute = arg(c.args, 2, "attribute");
  Array sorted = items_of(c);
  std::stable_sort(sorted.begin(), sorted.end(), [&](const Value& a, const Value& b) {
    const int order = compare_values(sort_key(a, attribute), sort_key(b, attribute), case_sensitive);
    return reverse ? order > 0 : order < 0;
  });
  return Value::from_array(std::move(sorted));
}

// min/max(case_sensitive=False, attribute=None): the first extreme item.
Value extreme(const FilterCall& c, bool want_min) {
  const Array& items = items_of(c);
  const bool case_sensitive = bool_arg(c.args, 0, "case_sensitive", false);
  const Value* attribute = arg(c.args, 1, "attribute");
  if (items.empty()) return Value();
  size_t best = 0;
  for (size_t k = 1; k < items.size(); ++k) {
    const int order = compare_values(sort_key(items[k], attribute), sort_key(items[best], attribute), case_sensitive);
    if (want_min ? order < 0 : order > 0) best = k;
  }
  return items[best];
}
Value filter_min(const FilterCall& c) { return extreme(c, true); }
Value filter_max(const FilterCall& c) { return extreme(c, false); }

// select/reject(test, args...) and selectattr/rejectattr(attribute, test,
// args...): items whose value passes the test (or is truthy, without one).
Value select_items(const FilterCall& c, bool by_attribute, bool keep_matches) {
  const std::vector<Value>& positional = c.args.positional;
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (positional.empty() || !positional[0].is_string()) {
      throw TemplateError(c.name + ": the first argument must be an attribute name", c.line);
    }
    attribute = positional[0].string;
    next = 1;
  }
  std::string test;
  if (next < positional.size()) {
    if (!positional[next].is_string()) throw TemplateError(c.name + ": the test name must be a string", c.line);
    test = positional[next].string;
  }
  const std::vector<Value> test_args(positional.begin() + static_cast<std::ptrdiff_t>(std::min(next + 1, positional.size())),
                                     positional.end());
  Array out;
  for (const Value& item : items_of(c)) {
    if (by_attribute && !item.is_attribute_container()) throw TemplateError(c.name + " can only be applied to a list of dicts", c.line);
    const Value x = by_attribute ? attribute_path(item, attribute) : item;
    const bool match = test.empty() ? x.truthy() : c.self.apply_test(test, x, test_args, c.line);
    if (match == keep_matches) out.push_back(item);
  }
  return Value::from_array(std::move(out));
}
Value filter_select(const FilterCall& c) { return select_items(c, false, true); }
Value filter_reject(const FilterCall& c) { return select_items(c, false, false); }
Value filter_selectattr(const FilterCall& c) { return select_items(c, true, true); }
Value filter_rejectattr(const FilterCall& c) { return select_items(c, true, false); }

// map(attribute=NAME, default=...) or map(FILTER): each item's attribute, or
// each item through the named filter.
Value filter_map(const FilterCall& c) {
  Array out;
  if (const Value* attribute = c.args.kwarg("attribute")) {
    if (!attribute->is_string()) throw TemplateError("map: attribute must be a string", c.line);
    const Value* fallback = c.args.kwarg("default");
    for (const Value& item : items_of(c)) {
      Value x = attribute_path(item, attribute->string);
      out.push_back(x.is_undefined() && fallback ? *fallback : x);
    }
    return Value::from_array(std::move(out));
  }
  if (c.args.positional.empty() || !c.args.positional[0].is_string()) {
    throw TemplateError("map needs attribute=NAME or a filter name", c.line);
  }
  Node filter;
  filter.kind = NodeKind::kIdentifier;
  filter.str = c.args.positional[0].string;
  filter.line = c.line;
  for (const Value& item : items_of(c)) out.push_back(c.self.apply_filter(item, filter, c.env));
  return Value::from_array(std::move(out));
}

// batch(linecount): the list cut into lists of that many items.
Value filter_batch(const FilterCall& c) {
  const Array& items = items_of(c);
  const Value* size_v = arg(c.args, 0, "linecount");
  if (!size_v || size_v->kind != Kind::kInt || size_v->integer <= 0) throw TemplateError("batch: size must be a positive integer", c.line);
  const auto size = static_cast<size_t>(size_v->integer);
  Array out;
  for (size_t k = 0; k < items.size(); k += size) {
    out.push_back(Value::from_array(Array(items.begin() + static_cast<std::ptrdiff_t>(k),
                                          items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), k + size)))));
  }
  return Value::from_array(std::move(out));
}

// Methods.

Value method_length(Interpreter&, const Value& o) { return Value::from_int(static_cast<int64_t>(o.array->size())); }

// list.append(x) changes the list in place, within the template's limits.
Value method_append(Interpreter& self, const Value& o) {
  return bound([&self, arr = o.array](CallArgs& args) {
    if (args.positional.size() != 1) throw TemplateError("append() takes one argument");
    self.check_sequence(arr->size() + 1, 0);
    self.check_nesting(args.positional[0], 0);
    charge_allocation(sizeof(Value));
    arr->push_back(args.positional[0]);
    self.note_mutation(arr);
    return Value::none();
  });
}

}  // namespace

Value list_item(const Array& items, int64_t index) {
  const auto n = static_cast<int64_t>(items.size());
  const int64_t i = index < 0 ? index + n : index;
  return i >= 0 && i < n ? items[static_cast<size_t>(i)] : Value();
}

const std::vector<FilterRow>& list_filters() {
  static const std::vector<FilterRow> kRows = {
      {"first", Operand::kArray, filter_first},
      {"last", Operand::kArray, filter_last},
      {"reverse", Operand::kArray, filter_reverse},
      {"unique", Operand::kArray, filter_unique},
      {"sum", Operand::kArray, filter_sum},
      {"sort", Operand::kArray, filter_sort},
      {"min", Operand::kArray, filter_min},
      {"max", Operand::kArray, filter_max},
      {"select", Operand::kArray, filter_select},
      {"reject", Operand::kArray, filter_reject},
      {"selectattr", Operand::kArray, filter_selectattr},
      {"rejectattr", Operand::kArray, filter_rejectattr},
      {"map", Operand::kArray, filter_map},
      {"batch", Operand::kArray, filter_batch},
  };
  return kRows;
}

const std::vector<MethodRow>& list_methods() {
  static const std::vector<MethodRow> kRows = {
      {"length", method_length},
      {"append", method_append},
  };
  return kRows;
}

}  // namespace mlxpack::jinja
