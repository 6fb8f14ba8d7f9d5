// The dispatchers: find a builtin's row and apply it. The one fallback rule
// of filters lives here: a name no row takes for a dict's operand is tried
// as the dict's method (`d | items` and `d.items()` agree), as the
// reference does.
#include <initializer_list>

#include "runtime/template/builtins/builtins.h"
#include "runtime/template/template_error.h"

namespace mlxpack::jinja {

namespace {

bool accepts(Operand operand, const Value& v) {
  switch (operand) {
    case Operand::kAny: return true;
    case Operand::kString: return v.is_string();
    case Operand::kArray: return v.is_array();
  }
  return false;
}

// The first row named `name` that takes `operand`, searching the tables in
// order; nullptr if none.
const FilterRow* find_filter(const std::string& name, const Value& operand) {
  for (const std::vector<FilterRow>* table : {&value_filters(), &string_filters(), &list_filters(), &dict_filters()}) {
    for (const FilterRow& row : *table) {
      if (name == row.name && accepts(row.operand, operand)) return &row;
    }
  }
  return nullptr;
}

const MethodRow* find_method(const std::vector<MethodRow>& table, const std::string& name) {
  for (const MethodRow& row : table) {
    if (name == row.name) return &row;
  }
  return nullptr;
}

}  // namespace

Value Interpreter::apply_filter(const Value& operand, const Node& filter, const EnvPtr& env) {
  const int line = filter.line;
  std::string name;
  CallArgs args;
  if (filter.kind == NodeKind::kIdentifier) {
    name = filter.str;
  } else if (filter.kind == NodeKind::kCall && filter.a->kind == NodeKind::kIdentifier) {
    name = filter.a->str;
    args = evaluate_arguments(filter.args, env);
  } else {
    throw TemplateError("a filter must be a name or a call", line);
  }
  const FilterCall call_info{*this, operand, args, env, name, line};
  if (const FilterRow* row = find_filter(name, operand)) return row->fn(call_info);
  if (operand.is_mapping()) {
    Value method = get_member(operand, Value::from_string(name), line);
    if (method.kind == Kind::kFunction) return call(method, args, env, line);
  }
  call_info.fail();
}

bool Interpreter::apply_test(const std::string& name, const Value& operand, const std::vector<Value>& args, int line) {
  for (const TestRow& row : test_table()) {
    if (name == row.name) return row.fn(TestCall{operand, args, name, line});
  }
  throw TemplateError("unknown test '" + name + "'", line);
}

Value Interpreter::get_member(const Value& object, const Value& property, int line) {
  if (object.is_attribute_container()) {
    if (!property.is_string()) throw TemplateError(std::string("cannot index a dict with a ") + property.type_name(), line);
    if (const Value* v = object.object->find(property.string)) return *v;
    if (object.kind != Kind::kObject) return Value();  // a namespace has no methods
    const MethodRow* row = find_method(dict_methods(), property.string);
    return row ? row->fn(*this, object) : Value();
  }
  if (!object.is_array() && !object.is_string()) return Value();
  if (property.kind == Kind::kInt) {
    return object.is_array() ? list_item(*object.array, property.integer) : string_item(object.string, property.integer);
  }
  if (!property.is_string()) throw TemplateError(std::string("cannot index with a ") + property.type_name(), line);
  const MethodRow* row = find_method(object.is_array() ? list_methods() : string_methods(), property.string);
  return row ? row->fn(*this, object) : Value();
}

}  // namespace mlxpack::jinja
