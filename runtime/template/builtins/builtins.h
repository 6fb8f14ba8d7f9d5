// The template language's builtins as tables: filters (`x | name(args)`),
// tests (`x is name(args)`) and methods/properties (`x.name`), each a small
// function in a row keyed by name (and, for methods, by the kind of value
// that owns it). The dispatchers in dispatch.cpp look rows up and hold the
// one fallback rule; adding a builtin is adding a function and a row.
//
// Names and behaviour follow the reference (@huggingface/jinja), with the
// arguments Python's Jinja accepts where the reference ignores them (e.g.
// str.strip(chars)), since templates are written against Python.
#ifndef MLXPACK_RUNTIME_TEMPLATE_BUILTINS_BUILTINS_H_
#define MLXPACK_RUNTIME_TEMPLATE_BUILTINS_BUILTINS_H_

#include <functional>
#include <string>
#include <vector>

#include "runtime/template/interpreter.h"

namespace mlxpack::jinja {

// One application of a filter.
struct FilterCall {
  Interpreter& self;
  const Value& operand;
  CallArgs& args;
  const EnvPtr& env;
  const std::string& name;
  int line;
  // Throws "filter 'NAME' cannot be applied to a TYPE".
  [[noreturn]] void fail() const;
};
using FilterFn = Value (*)(const FilterCall&);

// The operands a filter row takes. A kAny row checks kinds itself (and
// fails without the dispatcher's method fallback); kString and kArray rows
// are skipped for other operands, so one name may have a row for each.
enum class Operand { kAny, kString, kArray };

struct FilterRow {
  const char* name;
  Operand operand;
  FilterFn fn;
};

// One application of a test.
struct TestCall {
  const Value& value;
  const std::vector<Value>& args;
  const std::string& name;
  int line;
  // args[0]; throws if the test was given none.
  const Value& arg() const;
};
using TestFn = bool (*)(const TestCall&);

struct TestRow {
  const char* name;
  TestFn fn;
};

// `object.name` for a dict, a list or a string (each kind its own table): a
// bound method, or for `length` the value itself.
using MethodFn = Value (*)(Interpreter& self, const Value& object);

struct MethodRow {
  const char* name;
  MethodFn fn;
};

// The tables, grouped by what they act on.
const std::vector<FilterRow>& value_filters();   // value_filters.cpp: any kind of value
const std::vector<FilterRow>& string_filters();  // string_builtins.cpp
const std::vector<MethodRow>& string_methods();  // string_builtins.cpp
const std::vector<FilterRow>& list_filters();    // list_builtins.cpp
const std::vector<MethodRow>& list_methods();    // list_builtins.cpp
const std::vector<FilterRow>& dict_filters();    // dict_builtins.cpp
const std::vector<MethodRow>& dict_methods();    // dict_builtins.cpp
const std::vector<TestRow>& test_table();        // tests.cpp

// `s[index]` (a code point, negative from the end) and `list[index]`;
// undefined when out of range.
Value string_item(const std::string& s, int64_t index);
Value list_item(const Array& items, int64_t index);

// Helpers the tables share (support.cpp).
// positional[index], else the keyword `name`, else nullptr.
const Value* arg(const CallArgs& args, size_t index, const char* name);
bool bool_arg(const CallArgs& args, size_t index, const char* name, bool fallback);
// A function value that ignores the interpreter and environment.
Value bound(std::function<Value(CallArgs&)> f);
// Ordering for sort/dictsort/min/max: numbers (and booleans) by value,
// strings by code point (case-insensitively unless asked), else an error.
int compare_values(const Value& a, const Value& b, bool case_sensitive);
// item.a.b / item.0: attributes and list indexes along a dotted path.
Value attribute_path(const Value& item, const std::string& path);
// Words of `s` split as str.split(): on whitespace without `sep`.
Value split_string(const std::string& s, const Value* sep, const Value* maxsplit);

}  // namespace mlxpack::jinja

#endif  // MLXPACK_RUNTIME_TEMPLATE_BUILTINS_BUILTINS_H_
