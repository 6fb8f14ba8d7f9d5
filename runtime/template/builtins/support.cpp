// Helpers shared by the builtin tables, and the failure messages of calls.
#include <algorithm>
#include <cctype>

#include "runtime/template/builtins/builtins.h"
#include "runtime/template/template_error.h"
#include "runtime/text/unicode.h"

namespace mlxpack::jinja {

void FilterCall::fail() const {
  throw TemplateError("filter '" + name + "' cannot be applied to a " + operand.type_name(), line);
}

const Value& TestCall::arg() const {
  if (args.empty()) throw TemplateError("test '" + name + "' needs an argument", line);
  return args[0];
}

const Value* arg(const CallArgs& args, size_t index, const char* name) { return args.get(index, name); }

bool bool_arg(const CallArgs& args, size_t index, const char* name, bool fallback) {
  const Value* v = arg(args, index, name);
  if (!v || v->is_undefined()) return fallback;
  if (v->kind != Kind::kBool) throw TemplateError(std::string(name) + " must be a boolean");
  return v->boolean;
}

Value bound(std::function<Value(CallArgs&)> f) {
  return Value::from_function([f = std::move(f)](CallArgs& args, Interpreter&, const EnvPtr&) { return f(args); });
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  const bool a_num = a.is_number() || a.kind == Kind::kBool;
  const bool b_num = b.is_number() || b.kind == Kind::kBool;
  if (a_num && b_num) {
    const double x = a.as_double();
    const double y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_none() && b.is_none()) return 0;
  if (a.is_string() && b.is_string()) {
    charge_read(a.string.size() + b.string.size());  // sorting long strings is work per comparison
    const std::string x = case_sensitive ? a.string : text::to_lower(a.string);
    const std::string y = case_sensitive ? b.string : text::to_lower(b.string);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  throw TemplateError(std::string("cannot compare ") + a.type_name() + " with " + b.type_name());
}

Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (v.is_attribute_container()) {
      const Value* found = v.object->find(part);
      v = found ? *found : Value();
    } else if (v.is_array() && !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      const size_t index = std::stoul(part);
      v = index < v.array->size() ? (*v.array)[index] : Value();
    } else {
      return Value();
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return v;
}

}  // namespace mlxpack::jinja
