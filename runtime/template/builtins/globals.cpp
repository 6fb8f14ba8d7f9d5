// The template's global names: true/false/none in both spellings,
// raise_exception, range, strftime_now and namespace.
#include <algorithm>
#include <ctime>

#include "runtime/template/interpreter.h"
#include "runtime/template/template_error.h"

namespace mlxpack::jinja {

void Interpreter::install_globals(const EnvPtr& env) {
  env->set("true", Value::from_bool(true));
  env->set("false", Value::from_bool(false));
  env->set("none", Value::none());
  env->set("True", Value::from_bool(true));
  env->set("False", Value::from_bool(false));
  env->set("None", Value::none());
  env->set("raise_exception", Value::from_function([](CallArgs& args, Interpreter&, const EnvPtr&) -> Value {
    std::string message;
    for (size_t k = 0; k < args.positional.size(); ++k) {
      if (k) message += ",";
      message += to_display_string(args.positional[k]);
    }
    throw TemplateError(message, 0, /*raised=*/true);
  }));
  env->set("range", Value::from_function([](CallArgs& args, Interpreter& self, const EnvPtr&) {
    std::vector<int64_t> n;
    for (const Value& v : args.positional) {
      if (v.kind != Kind::kInt) throw TemplateError("range() arguments must be integers");
      n.push_back(v.integer);
    }
    if (n.empty() || n.size() > 3) throw TemplateError("range() takes 1 to 3 arguments");
    const int64_t start = n.size() == 1 ? 0 : n[0];
    const int64_t stop = n.size() == 1 ? n[0] : n[1];
    const int64_t step = n.size() == 3 ? n[2] : 1;
    if (step == 0) throw TemplateError("range() step must not be zero");
    // The exact length in 128 bits: bounds near 2^63 must not overflow.
    const __int128 span = static_cast<__int128>(stop) - start;
    __int128 count = 0;
    if (step > 0 && span > 0) count = (span + step - 1) / step;
    if (step < 0 && span < 0) count = (span + step + 1) / step;
    self.check_sequence(static_cast<uint64_t>(std::min<__int128>(count, INT64_MAX)), 0);
    Array out;
    out.reserve(static_cast<size_t>(count));
    for (__int128 k = 0; k < count; ++k) out.push_back(Value::from_int(static_cast<int64_t>(start + k * step)));
    return Value::from_array(std::move(out));
  }));
  env->set("strftime_now", Value::from_function([](CallArgs& args, Interpreter&, const EnvPtr&) {
    if (args.positional.empty() || !args.positional[0].is_string()) throw TemplateError("strftime_now() needs a format string");
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof(buf), args.positional[0].string.c_str(), &local);
    return Value::from_string(std::string(buf, n));
  }));
  env->set("namespace", Value::from_function([](CallArgs& args, Interpreter&, const EnvPtr&) {
    if (args.positional.size() > 1) throw TemplateError("namespace() takes at most 1 positional argument");
    Value ns = Value::new_object(Kind::kNamespace);
    if (!args.positional.empty()) {
      const Value& source = args.positional[0];
      if (source.is_mapping()) {
        for (const auto& [k, v] : source.object->items) ns.object->set(k, v);
      } else if (source.is_array()) {
        for (const Value& pair : *source.array) {
          if (!pair.is_array() || pair.array->size() != 2 || !(*pair.array)[0].is_string()) {
            throw TemplateError("namespace() expects a dict or a list of [key, value] pairs");
          }
          ns.object->set((*pair.array)[0].string, (*pair.array)[1]);
        }
      } else {
        throw TemplateError(std::string("namespace() cannot be built from a ") + source.type_name());
      }
    }
    for (const auto& [k, v] : args.keyword) ns.object->set(k, v);
    return ns;
  }));
}

}  // namespace mlxpack::jinja
