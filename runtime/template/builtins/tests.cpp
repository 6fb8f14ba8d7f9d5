// Tests: `value is name(args)`, and the comparison aliases Jinja accepts.
#include "runtime/template/builtins/builtins.h"
#include "runtime/template/template_error.h"
#include "runtime/text/unicode.h"

namespace mlxpack::jinja {

namespace {

bool test_defined(const TestCall& t) { return !t.value.is_undefined(); }
bool test_undefined(const TestCall& t) { return t.value.is_undefined(); }
bool test_none(const TestCall& t) { return t.value.is_none(); }
bool test_boolean(const TestCall& t) { return t.value.kind == Kind::kBool; }
bool test_false(const TestCall& t) { return t.value.kind == Kind::kBool && !t.value.boolean; }
bool test_true(const TestCall& t) { return t.value.kind == Kind::kBool && t.value.boolean; }
bool test_string(const TestCall& t) { return t.value.is_string(); }
bool test_number(const TestCall& t) { return t.value.is_number(); }
bool test_integer(const TestCall& t) { return t.value.kind == Kind::kInt; }
bool test_float(const TestCall& t) { return t.value.kind == Kind::kFloat; }
bool test_iterable(const TestCall& t) { return t.value.is_array() || t.value.is_string(); }
bool test_mapping(const TestCall& t) { return t.value.is_mapping(); }
bool test_sequence(const TestCall& t) { return t.value.is_array() || t.value.is_mapping() || t.value.is_string(); }
bool test_callable(const TestCall& t) { return t.value.kind == Kind::kFunction; }
bool test_lower(const TestCall& t) { return t.value.is_string() && t.value.string == text::to_lower(t.value.string); }
bool test_upper(const TestCall& t) { return t.value.is_string() && t.value.string == text::to_upper(t.value.string); }

bool is_odd(const TestCall& t) {
  if (t.value.kind != Kind::kInt) throw TemplateError("test '" + t.name + "' needs an integer, got " + t.value.type_name(), t.line);
  return t.value.integer % 2 != 0;
}
bool test_odd(const TestCall& t) { return is_odd(t); }
bool test_even(const TestCall& t) { return !is_odd(t); }

bool test_divisibleby(const TestCall& t) {
  const Value& d = t.arg();
  if (t.value.kind != Kind::kInt || d.kind != Kind::kInt || d.integer == 0) {
    throw TemplateError("divisibleby needs non-zero integers", t.line);
  }
  return t.value.integer % d.integer == 0;
}

bool test_eq(const TestCall& t) { return loose_equals(t.value, t.arg()); }
bool test_ne(const TestCall& t) { return !loose_equals(t.value, t.arg()); }
bool test_sameas(const TestCall& t) { return strict_equals(t.value, t.arg()); }
bool test_lt(const TestCall& t) { return compare_values(t.value, t.arg(), true) < 0; }
bool test_le(const TestCall& t) { return compare_values(t.value, t.arg(), true) <= 0; }
bool test_gt(const TestCall& t) { return compare_values(t.value, t.arg(), true) > 0; }
bool test_ge(const TestCall& t) { return compare_values(t.value, t.arg(), true) >= 0; }

// `x is in(container)`: a list's item, a substring, a dict's key.
bool test_in(const TestCall& t) {
  const Value& container = t.arg();
  if (container.is_array()) {
    for (const Value& item : *container.array)
      if (strict_equals(item, t.value)) return true;
    return false;
  }
  if (container.is_string() && t.value.is_string()) return find_linear(container.string, t.value.string) != std::string::npos;
  if (container.is_mapping() && t.value.is_string()) return container.object->find(t.value.string) != nullptr;
  return false;
}

}  // namespace

const std::vector<TestRow>& test_table() {
  static const std::vector<TestRow> kRows = {
      {"defined", test_defined},   {"undefined", test_undefined},
      {"none", test_none},         {"boolean", test_boolean},
      {"false", test_false},       {"true", test_true},
      {"string", test_string},     {"number", test_number},
      {"integer", test_integer},   {"float", test_float},
      {"iterable", test_iterable}, {"mapping", test_mapping},
      {"sequence", test_sequence}, {"callable", test_callable},
      {"lower", test_lower},       {"upper", test_upper},
      {"odd", test_odd},           {"even", test_even},
      {"divisibleby", test_divisibleby},
      {"equalto", test_eq},        {"eq", test_eq},
      {"==", test_eq},             {"ne", test_ne},
      {"!=", test_ne},             {"sameas", test_sameas},
      {"lt", test_lt},             {"lessthan", test_lt},
      {"<", test_lt},              {"le", test_le},
      {"<=", test_le},             {"gt", test_gt},
      {"greaterthan", test_gt},    {">", test_gt},
      {"ge", test_ge},             {">=", test_ge},
      {"in", test_in},
  };
  return kRows;
}

}  // namespace mlxpack::jinja
