#include "runtime/template/interpreter.h"

#include <cmath>

#include "runtime/template/template_error.h"
#include "runtime/text/utf8.h"

namespace mlxpack::jinja {

namespace {

struct BreakSignal {};
struct ContinueSignal {};


Value checked_int(int64_t a, int64_t b, char op) {
  int64_t r = 0;
  bool overflow = false;
  switch (op) {
    case '+': overflow = __builtin_add_overflow(a, b, &r); break;
    case '-': overflow = __builtin_sub_overflow(a, b, &r); break;
    default: overflow = __builtin_mul_overflow(a, b, &r); break;
  }
  if (!overflow) return Value::from_int(r);
  const double x = static_cast<double>(a);
  const double y = static_cast<double>(b);
  return Value::from_float(op == '+' ? x + y : op == '-' ? x - y : x * y);
}

}  // namespace

Value Environment::lookup(const std::string& name) const {
  for (const Environment* e = this; e; e = e->parent.get()) {
    auto it = e->variables.find(name);
    if (it != e->variables.end()) return it->second;
  }
  return Value();
}

void Environment::set(const std::string& name, Value value) { variables.insert_or_assign(name, std::move(value)); }

void Interpreter::step(int line) {
  try {
    charge_work(1);
  } catch (const TemplateError& e) {
    throw TemplateError(e.what(), line);
  }
}

Interpreter::FrameGuard::FrameGuard(Interpreter* s, int line) : self(s) {
  if (++self->frame_depth_ > self->limits_.max_render_depth) {
    --self->frame_depth_;
    throw TemplateError("template evaluation nests deeper than the limit of " +
                            std::to_string(self->limits_.max_render_depth),
                        line);
  }
}

void Interpreter::check_nesting(const Value& child, int line) {
  uint64_t visited = 0;
  const uint32_t depth = nesting_depth(child, kMaxValueDepth - 1, &visited);
  charge_work(visited);
  if (depth > kMaxValueDepth - 1) {
    throw TemplateError("value nests deeper than the limit of " + std::to_string(kMaxValueDepth), line);
  }
}

void Interpreter::check_size(size_t size, int line) const {
  if (size > limits_.max_output_bytes) {
    throw TemplateError("template output reached " + std::to_string(size) + " bytes, more than the limit " +
                            std::to_string(limits_.max_output_bytes),
                        line);
  }
}

void Interpreter::check_sequence(uint64_t length, int line) const {
  if (length > limits_.max_sequence_length) {
    throw TemplateError("sequence of " + std::to_string(length) + " elements is longer than the limit " +
                            std::to_string(limits_.max_sequence_length),
                        line);
  }
}

std::string Interpreter::render(const NodeList& program, const EnvPtr& globals) {
  struct BreakCycles {
    Interpreter* self;
    ~BreakCycles() {
      for (auto& weak : self->mutated_arrays_)
        if (auto a = weak.lock()) Array().swap(*a);
      for (auto& weak : self->mutated_objects_)
        if (auto o = weak.lock()) decltype(o->items)().swap(o->items);
    }
  } break_cycles{this};
  budget_ = RenderBudget{0, limits_.max_render_bytes, 0, limits_.max_steps};
  BudgetScope budget_scope(&budget_);
  std::string out;
  try {
    execute_block(program, globals, &out);
  } catch (const BreakSignal&) {
    throw TemplateError("'break' outside a loop");
  } catch (const ContinueSignal&) {
    throw TemplateError("'continue' outside a loop");
  }
  return out;
}

void Interpreter::execute_block(const NodeList& body, const EnvPtr& env, std::string* out) {
  for (const NodePtr& node : body) execute(*node, env, out);
}

void Interpreter::execute(const Node& node, const EnvPtr& env, std::string* out) {
  step(node.line);
  FrameGuard frame(this, node.line);
  switch (node.kind) {
    case NodeKind::kText:
      *out += node.str;
      break;
    case NodeKind::kComment:
      break;
    case NodeKind::kSet: {
      Value value;
      if (node.b) {
        value = evaluate(*node.b, env);
      } else {
        std::string block;
        execute_block(node.body, env, &block);
        value = Value::from_string(std::move(block));
      }
      assign(*node.a, std::move(value), env);
      break;
    }
    case NodeKind::kIf:
      execute_block(evaluate(*node.a, env).truthy() ? node.body : node.alternate, env, out);
      break;
    case NodeKind::kFor:
      execute_for(node, env, out);
      break;
    case NodeKind::kBreak:
      throw BreakSignal();
    case NodeKind::kContinue:
      throw ContinueSignal();
    case NodeKind::kMacro:
      env->set(node.str, define_macro(node, env));
      break;
    case NodeKind::kCallStatement: {
      // `caller()` renders the call block's body in the scope around it.
      const Node* statement = &node;
      EnvPtr definition_env = env;
      Value caller = Value::from_function([this, statement, definition_env](CallArgs& args, Interpreter&, const EnvPtr&) {
        EnvPtr scope = Environment::child_of(definition_env);
        bind_arguments(statement->args, args, scope, "caller", statement->line);
        std::string body;
        execute_block(statement->body, scope, &body);
        return Value::from_string(std::move(body));
      });
      const Node& call_node = *node.a;
      CallArgs args = evaluate_arguments(call_node.args, env);
      Value callee = evaluate(*call_node.a, env);
      EnvPtr call_env = Environment::child_of(env);
      call_env->set("caller", std::move(caller));
      Value result = call(callee, args, call_env, node.line);
      if (!result.is_none() && !result.is_undefined()) *out += to_display_string(result);
      break;
    }
    case NodeKind::kFilterStatement: {
      std::string body;
      execute_block(node.body, env, &body);
      Value result = apply_filter(Value::from_string(std::move(body)), *node.a, env);
      if (!result.is_none() && !result.is_undefined()) *out += to_display_string(result);
      break;
    }
    default: {
      Value v = evaluate(node, env);
      if (!v.is_none() && !v.is_undefined()) *out += to_display_string(v);
      break;
    }
  }
  check_size(out->size(), node.line);
}

void Interpreter::assign(const Node& target, Value value, const EnvPtr& env) {
  if (target.kind == NodeKind::kIdentifier) {
    env->set(target.str, std::move(value));
    return;
  }
  if (target.kind == NodeKind::kTupleLiteral) {
    if (!value.is_array()) throw TemplateError(std::string("cannot unpack a ") + value.type_name() + " in set", target.line);
    if (value.array->size() != target.args.size()) {
      throw TemplateError(std::string("too ") + (target.args.size() > value.array->size() ? "few" : "many") +
                              " items to unpack in set",
                          target.line);
    }
    for (size_t k = 0; k < target.args.size(); ++k) {
      if (target.args[k]->kind != NodeKind::kIdentifier) throw TemplateError("can only unpack into names", target.line);
      env->set(target.args[k]->str, (*value.array)[k]);
    }
    return;
  }
  if (target.kind == NodeKind::kMember && !target.flag && target.b->kind == NodeKind::kIdentifier) {
    Value object = evaluate(*target.a, env);
    if (object.kind != Kind::kNamespace) throw TemplateError("cannot assign an attribute of a non-namespace object", target.line);
    check_nesting(value, target.line);
    object.object->set(target.b->str, std::move(value));
    note_mutation(object.object);
    return;
  }
  throw TemplateError("invalid target of set", target.line);
}

void Interpreter::execute_for(const Node& node, const EnvPtr& env, std::string* out) {
  EnvPtr scope = Environment::child_of(env);
  const Node* condition = nullptr;
  Value iterable;
  if (node.b->kind == NodeKind::kSelect) {
    iterable = evaluate(*node.b->a, scope);
    condition = node.b->b.get();
  } else {
    iterable = evaluate(*node.b, scope);
  }
  Array items;
  if (iterable.is_array()) {
    items = *iterable.array;
  } else if (iterable.is_mapping()) {
    for (const auto& [k, v] : iterable.object->items) items.push_back(Value::from_string(k));
  } else if (iterable.is_string()) {
    check_sequence(text::codepoint_count(iterable.string), node.line);
    for (std::string& ch : split_codepoints_charged(iterable.string)) items.push_back(Value::from_string(std::move(ch)));
  } else {
    throw TemplateError(std::string("cannot loop over a ") + iterable.type_name(), node.line);
  }
  const Node& target = *node.a;
  auto bind = [&](const EnvPtr& s, const Value& current) {
    if (target.kind == NodeKind::kIdentifier) {
      s->set(target.str, current);
      return;
    }
    if (!current.is_array()) throw TemplateError(std::string("cannot unpack a ") + current.type_name(), node.line);
    if (current.array->size() != target.args.size()) {
      throw TemplateError(std::string("too ") + (target.args.size() > current.array->size() ? "few" : "many") +
                              " items to unpack",
                          node.line);
    }
    for (size_t k = 0; k < target.args.size(); ++k) {
      if (target.args[k]->kind != NodeKind::kIdentifier) throw TemplateError("can only unpack into names", node.line);
      s->set(target.args[k]->str, (*current.array)[k]);
    }
  };
  if (condition) {
    Array kept;
    for (const Value& item : items) {
      EnvPtr test_scope = Environment::child_of(scope);
      bind(test_scope, item);
      if (evaluate(*condition, test_scope).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  bool iterated = false;
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    step(node.line);
    Value loop = Value::new_object();
    loop.object->items = {
        {"index", Value::from_int(i + 1)},
        {"index0", Value::from_int(i)},
        {"revindex", Value::from_int(n - i)},
        {"revindex0", Value::from_int(n - i - 1)},
        {"first", Value::from_bool(i == 0)},
        {"last", Value::from_bool(i == n - 1)},
        {"length", Value::from_int(n)},
        {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value()},
        {"nextitem", i < n - 1 ? items[static_cast<size_t>(i + 1)] : Value()},
    };
    scope->set("loop", std::move(loop));
    bind(scope, items[static_cast<size_t>(i)]);
    try {
      execute_block(node.body, scope, out);
    } catch (const ContinueSignal&) {
      continue;
    } catch (const BreakSignal&) {
      break;
    }
    iterated = true;
  }
  if (!iterated) execute_block(node.alternate, scope, out);
}

void Interpreter::bind_arguments(const NodeList& parameters, CallArgs& args, const EnvPtr& scope,
                                 const std::string& name, int line) {
  std::vector<std::pair<std::string, Value>> keyword = args.keyword;
  std::vector<std::pair<const std::string*, const Node*>> pending_defaults;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const Node& p = *parameters[i];
    const std::string& pname = p.str;
    const Node* default_value = p.kind == NodeKind::kKeywordArgument ? p.a.get() : nullptr;
    std::optional<Value> value;
    if (i < args.positional.size()) value = args.positional[i];
    for (auto it = keyword.begin(); it != keyword.end(); ++it) {
      if (it->first == pname) {
        if (!value) value = it->second;
        keyword.erase(it);
        break;
      }
    }
    if (!value && default_value) pending_defaults.emplace_back(&pname, default_value);
    scope->set(pname, value.value_or(Value()));
  }
  // Extra arguments are available as varargs / kwargs, as in Jinja.
  Array extra;
  for (size_t i = parameters.size(); i < args.positional.size(); ++i) extra.push_back(args.positional[i]);
  scope->set("varargs", Value::from_array(std::move(extra)));
  Value kwargs = Value::new_object();
  for (auto& [k, v] : keyword) kwargs.object->items.emplace_back(k, v);
  scope->set("kwargs", std::move(kwargs));
  (void)name;
  (void)line;
  for (const auto& [pname, expr] : pending_defaults) scope->set(*pname, evaluate(*expr, scope));
}

Value Interpreter::define_macro(const Node& node, const EnvPtr& env) {
  (void)env;
  const Node* macro = &node;
  return Value::from_function([this, macro](CallArgs& args, Interpreter&, const EnvPtr& caller_env) {
    // Like the reference, the macro body sees the caller's scope.
    EnvPtr scope = Environment::child_of(caller_env);
    bind_arguments(macro->args, args, scope, macro->str, macro->line);
    std::string body;
    execute_block(macro->body, scope, &body);
    return Value::from_string(std::move(body));
  });
}

Value Interpreter::call(const Value& callee, CallArgs& args, const EnvPtr& env, int line) {
  if (callee.kind != Kind::kFunction) {
    throw TemplateError(std::string("cannot call a ") + callee.type_name() + ": it is not a function", line);
  }
  if (++call_depth_ > limits_.max_nesting_depth) {
    --call_depth_;
    throw TemplateError("calls nest deeper than the limit of " + std::to_string(limits_.max_nesting_depth), line);
  }
  struct Unwind {
    uint32_t* depth;
    ~Unwind() { --*depth; }
  } unwind{&call_depth_};
  try {
    return (*callee.function)(args, *this, env);
  } catch (const TemplateError& e) {
    if (e.line() != 0 || e.raised()) throw;
    throw TemplateError(e.what(), line);
  }
}

CallArgs Interpreter::evaluate_arguments(const NodeList& args, const EnvPtr& env) {
  CallArgs out;
  for (const NodePtr& a : args) {
    if (a->kind == NodeKind::kSpread) {
      Value v = evaluate(*a->a, env);
      if (!v.is_array()) throw TemplateError(std::string("cannot unpack a ") + v.type_name() + " with *", a->line);
      for (const Value& item : *v.array) out.positional.push_back(item);
    } else if (a->kind != NodeKind::kKeywordArgument && a->kind != NodeKind::kKeywordSpread) {
      out.positional.push_back(evaluate(*a, env));
    }
  }
  auto add_keyword = [&](const std::string& key, Value v, int line) {
    if (out.kwarg(key)) throw TemplateError("got multiple values for keyword argument '" + key + "'", line);
    out.keyword.emplace_back(key, std::move(v));
  };
  for (const NodePtr& a : args) {
    if (a->kind == NodeKind::kKeywordArgument) {
      add_keyword(a->str, evaluate(*a->a, env), a->line);
    } else if (a->kind == NodeKind::kKeywordSpread) {
      Value v = evaluate(*a->a, env);
      if (!v.is_mapping()) throw TemplateError(std::string("argument after ** must be a mapping, not ") + v.type_name(), a->line);
      for (const auto& [k, item] : v.object->items) add_keyword(k, item, a->line);
    }
  }
  return out;
}

Value Interpreter::evaluate(const Node& node, const EnvPtr& env) {
  step(node.line);
  FrameGuard frame(this, node.line);
  switch (node.kind) {
    case NodeKind::kIntegerLiteral: return Value::from_int(node.i);
    case NodeKind::kFloatLiteral: return Value::from_float(node.f);
    case NodeKind::kStringLiteral:
    case NodeKind::kText: return Value::from_string(node.str);
    case NodeKind::kArrayLiteral:
    case NodeKind::kTupleLiteral: {
      Array items;
      for (const NodePtr& e : node.args) {
        items.push_back(evaluate(*e, env));
        check_nesting(items.back(), node.line);
      }
      return Value::from_array(std::move(items), node.kind == NodeKind::kTupleLiteral);
    }
    case NodeKind::kObjectLiteral: {
      Value obj = Value::new_object();
      for (size_t k = 0; k + 1 < node.args.size(); k += 2) {
        Value key = evaluate(*node.args[k], env);
        if (!key.is_string()) throw TemplateError(std::string("dict keys must be strings, got ") + key.type_name(), node.line);
        Value value = evaluate(*node.args[k + 1], env);
        check_nesting(value, node.line);
        obj.object->set(key.string, std::move(value));
      }
      return obj;
    }
    case NodeKind::kIdentifier: return env->lookup(node.str);
    case NodeKind::kCall: {
      CallArgs args = evaluate_arguments(node.args, env);
      Value callee = evaluate(*node.a, env);
      return call(callee, args, env, node.line);
    }
    case NodeKind::kMember: return evaluate_member(node, env);
    case NodeKind::kUnary: {
      Value v = evaluate(*node.a, env);
      if (node.str == "not") return Value::from_bool(!v.truthy());
      const bool negate = node.str == "-";
      if (v.kind == Kind::kFloat) return Value::from_float(negate ? -v.number : v.number);
      if (v.kind == Kind::kInt || v.kind == Kind::kBool) {
        const int64_t x = v.kind == Kind::kBool ? (v.boolean ? 1 : 0) : v.integer;
        if (negate && x == INT64_MIN) return Value::from_float(-static_cast<double>(x));
        return Value::from_int(negate ? -x : x);
      }
      throw TemplateError("unary " + node.str + " needs a number, got " + v.type_name(), node.line);
    }
    case NodeKind::kBinary: return evaluate_binary(node, env);
    case NodeKind::kFilter: return apply_filter(evaluate(*node.a, env), *node.b, env);
    case NodeKind::kTest: {
      Value operand = evaluate(*node.a, env);
      std::vector<Value> args;
      for (const NodePtr& a : node.args) args.push_back(evaluate(*a, env));
      const bool result = apply_test(node.str, operand, args, node.line);
      return Value::from_bool(node.flag ? !result : result);
    }
    case NodeKind::kSelect: {
      if (!evaluate(*node.b, env).truthy()) return Value();
      return evaluate(*node.a, env);
    }
    case NodeKind::kTernary:
      return evaluate(*node.a, env).truthy() ? evaluate(*node.b, env) : evaluate(*node.c, env);
    default:
      throw TemplateError("this statement cannot be used as a value", node.line);
  }
}

Value Interpreter::evaluate_binary(const Node& node, const EnvPtr& env) {
  const std::string& op = node.str;
  Value left = evaluate(*node.a, env);
  if (op == "and") return left.truthy() ? evaluate(*node.b, env) : left;
  if (op == "or") return left.truthy() ? left : evaluate(*node.b, env);
  Value right = evaluate(*node.b, env);
  const int line = node.line;
  if (left.is_string() && right.is_string()) charge_read(std::min(left.string.size(), right.string.size()));
  if (op == "==") return Value::from_bool(loose_equals(left, right));
  if (op == "!=") return Value::from_bool(!loose_equals(left, right));
  const bool membership = op == "in" || op == "not in";
  if (left.is_undefined() || right.is_undefined()) {
    if (right.is_undefined() && membership) return Value::from_bool(op == "not in");
    throw TemplateError("cannot apply '" + op + "' to an undefined value", line);
  }
  if (left.is_none() || right.is_none()) throw TemplateError("cannot apply '" + op + "' to none", line);
  if (op == "~") {
    std::string s = to_display_string(left) + to_display_string(right);
    check_size(s.size(), line);
    charge_read(s.size());
    check_size(s.size(), line);
    return Value::from_string(std::move(s));
  }
  const bool numeric = (left.is_number() || left.kind == Kind::kBool) && (right.is_number() || right.kind == Kind::kBool);
  if (op == "**" && numeric) {
    const double a = left.as_double();
    const double b = right.as_double();
    if (a == 0 && b < 0) throw TemplateError("0 cannot be raised to a negative power", line);
    const double r = std::pow(a, b);
    if (!std::isfinite(r)) throw TemplateError("power result is not a finite number", line);
    const bool is_float = left.kind == Kind::kFloat || right.kind == Kind::kFloat || b < 0 || std::fabs(r) >= 9.2e18;
    return is_float ? Value::from_float(r) : Value::from_int(static_cast<int64_t>(r));
  }
  if (left.is_number() && right.is_number()) {
    const bool ints = left.kind == Kind::kInt && right.kind == Kind::kInt;
    const double a = left.as_double();
    const double b = right.as_double();
    if (op == "+" || op == "-" || op == "*") {
      if (ints) return checked_int(left.integer, right.integer, op[0]);
      return Value::from_float(op == "+" ? a + b : op == "-" ? a - b : a * b);
    }
    if (op == "/") {
      if (b == 0) throw TemplateError("division by zero", line);
      return Value::from_float(a / b);
    }
    if (op == "//" || op == "%") {
      if (b == 0) throw TemplateError(op == "//" ? "division by zero" : "modulo by zero", line);
      if (ints) {
        const int64_t x = left.integer;
        const int64_t y = right.integer;
        if (x == INT64_MIN && y == -1) return Value::from_float(op == "//" ? 9.223372036854775808e18 : 0.0);
        int64_t q = x / y;
        int64_t r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) {  // floor semantics, as Python
          --q;
          r += y;
        }
        return Value::from_int(op == "//" ? q : r);
      }
      if (op == "//") return Value::from_float(std::floor(a / b));
      return Value::from_float(a - b * std::floor(a / b));
    }
    if (op == "<") return Value::from_bool(a < b);
    if (op == ">") return Value::from_bool(a > b);
    if (op == "<=") return Value::from_bool(a <= b);
    if (op == ">=") return Value::from_bool(a >= b);
  }
  if (left.is_array() && right.is_array() && op == "+") {
    check_sequence(left.array->size() + right.array->size(), line);
    Array joined = *left.array;
    joined.insert(joined.end(), right.array->begin(), right.array->end());
    check_sequence(joined.size(), line);
    return Value::from_array(std::move(joined));
  }
  if (right.is_array() && membership) {
    charge_work(right.array->size());
    bool found = false;
    for (const Value& item : *right.array) {
      if (strict_equals(item, left)) {
        found = true;
        break;
      }
    }
    return Value::from_bool(op == "in" ? found : !found);
  }
  if ((left.is_string() || right.is_string()) && op == "+") {
    std::string s = to_display_string(left) + to_display_string(right);
    charge_read(s.size());
    check_size(s.size(), line);
    return Value::from_string(std::move(s));
  }
  if (left.is_string() && right.is_string()) {
    if (membership) {
      const bool found = find_linear(right.string, left.string) != std::string::npos;
      return Value::from_bool(op == "in" ? found : !found);
    }
    if (op == "<") return Value::from_bool(left.string < right.string);
    if (op == ">") return Value::from_bool(left.string > right.string);
    if (op == "<=") return Value::from_bool(left.string <= right.string);
    if (op == ">=") return Value::from_bool(left.string >= right.string);
  }
  if (left.is_string() && right.is_mapping() && membership) {
    const bool found = right.object->find(left.string) != nullptr;
    return Value::from_bool(op == "in" ? found : !found);
  }
  if (op == "*" && ((left.is_string() && right.kind == Kind::kInt) || (left.kind == Kind::kInt && right.is_string()))) {
    const std::string& s = left.is_string() ? left.string : right.string;
    const int64_t times = std::max<int64_t>(0, left.is_string() ? right.integer : left.integer);
    if (!s.empty() && static_cast<uint64_t>(times) > limits_.max_output_bytes / s.size()) check_size(limits_.max_output_bytes + 1, line);
    std::string out;
    charge_allocation(s.size() * static_cast<uint64_t>(times));
    out.reserve(s.size() * static_cast<size_t>(times));
    for (int64_t k = 0; k < times; ++k) out += s;
    return Value::from_string(std::move(out));
  }
  throw TemplateError("unsupported operator '" + op + "' between " + left.type_name() + " and " + right.type_name(), line);
}

Value Interpreter::evaluate_member(const Node& node, const EnvPtr& env) {
  Value object = evaluate(*node.a, env);
  Value property;
  if (node.flag) {
    if (node.b->kind == NodeKind::kSlice) return evaluate_slice(object, *node.b, env);
    property = evaluate(*node.b, env);
  } else if (node.b->kind == NodeKind::kIntegerLiteral) {
    property = Value::from_int(node.b->i);
  } else {
    property = Value::from_string(node.b->str);
  }
  return get_member(object, property, node.line);
}

Value Interpreter::evaluate_slice(const Value& object, const Node& slice, const EnvPtr& env) {
  if (!object.is_array() && !object.is_string()) throw TemplateError("only lists and strings can be sliced", slice.line);
  auto part = [&](const NodePtr& n) -> std::optional<int64_t> {
    if (!n) return std::nullopt;
    Value v = evaluate(*n, env);
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (v.kind != Kind::kInt) throw TemplateError("slice bounds must be integers", slice.line);
    return v.integer;
  };
  const std::optional<int64_t> start_arg = part(slice.a);
  const std::optional<int64_t> stop_arg = part(slice.b);
  const int64_t step = part(slice.c).value_or(1);
  if (step == 0) throw TemplateError("slice step cannot be zero", slice.line);
  // A string is sliced by code points: their byte offsets (and the end),
  // not a string per code point.
  std::vector<size_t> offsets;
  if (object.is_string()) {
    const std::string& s = object.string;
    charge_allocation(sizeof(size_t) * (text::codepoint_count(s) + 1));
    charge_read(s.size());
    for (size_t k = 0; k < s.size(); ++k)
      if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) offsets.push_back(k);
    offsets.push_back(s.size());
  }
  const auto len = static_cast<int64_t>(object.is_string() ? offsets.size() - 1 : object.array->size());
  // Python's slice.indices().
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback, int64_t lo, int64_t hi) {
    if (!v) return fallback;
    int64_t x = *v;
    if (x < 0) x += len;
    return std::clamp(x, lo, hi);
  };
  int64_t start;
  int64_t stop;
  if (step > 0) {
    start = clamp(start_arg, 0, 0, len);
    stop = clamp(stop_arg, len, 0, len);
  } else {
    start = clamp(start_arg, len - 1, -1, len - 1);
    stop = clamp(stop_arg, -1, -1, len - 1);
  }
  // start and stop lie in [-1, len]; the loop leaves before i + step could
  // pass stop, so a step near 2^63 cannot overflow.
  auto advance = [&](int64_t* i) {
    if (step > 0 ? step >= stop - *i : step <= stop - *i) return false;
    *i += step;
    return true;
  };
  const bool empty = step > 0 ? start >= stop : start <= stop;
  if (object.is_string()) {
    const std::string& s = object.string;
    std::string out;
    for (int64_t i = start; !empty;) {
      const auto k = static_cast<size_t>(i);
      out.append(s, offsets[k], offsets[k + 1] - offsets[k]);
      if (!advance(&i)) break;
    }
    return Value::from_string(std::move(out));
  }
  Array out;
  for (int64_t i = start; !empty;) {
    out.push_back((*object.array)[static_cast<size_t>(i)]);
    if (!advance(&i)) break;
  }
  return Value::from_array(std::move(out));
}

}  // namespace mlxpack::jinja
