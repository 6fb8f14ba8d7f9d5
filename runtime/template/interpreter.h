// Evaluates a parsed template. Scoping follows the reference: `for` bodies
// get their own scope (a `set` inside does not leak out; use a namespace),
// `if` does not, macros run in a child of the caller's scope.
#ifndef MLXPACK_RUNTIME_TEMPLATE_INTERPRETER_H_
#define MLXPACK_RUNTIME_TEMPLATE_INTERPRETER_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mlxpack/chat_template.h"
#include "runtime/template/ast.h"
#include "runtime/template/value.h"

namespace mlxpack::jinja {

struct Environment {
  std::shared_ptr<Environment> parent;
  std::unordered_map<std::string, Value> variables;

  static std::shared_ptr<Environment> child_of(std::shared_ptr<Environment> parent) {
    auto e = std::make_shared<Environment>();
    e->parent = std::move(parent);
    return e;
  }
  // The variable's value, or undefined.
  Value lookup(const std::string& name) const;
  // Declares or overwrites `name` in this scope.
  void set(const std::string& name, Value value);
};
using EnvPtr = std::shared_ptr<Environment>;

class Interpreter {
 public:
  explicit Interpreter(const TemplateLimits& limits) : limits_(limits) {}

  // Renders `program` with `globals` (context variables already set).
  // Throws TemplateError.
  std::string render(const NodeList& program, const EnvPtr& globals);

  Value evaluate(const Node& node, const EnvPtr& env);
  void execute_block(const NodeList& body, const EnvPtr& env, std::string* out);
  Value call(const Value& callee, CallArgs& args, const EnvPtr& env, int line);

  // Filters, tests and attribute access (builtins/dispatch.cpp), and the
  // global functions (builtins/globals.cpp).
  Value apply_filter(const Value& operand, const Node& filter, const EnvPtr& env);
  bool apply_test(const std::string& name, const Value& operand, const std::vector<Value>& args, int line);
  Value get_member(const Value& object, const Value& property, int line);
  void install_globals(const EnvPtr& env);

  CallArgs evaluate_arguments(const NodeList& args, const EnvPtr& env);
  // Fails if `size` bytes would pass the output limit.
  void check_size(size_t size, int line) const;
  void check_sequence(uint64_t length, int line) const;
  // Fails if putting `child` into a container would nest values deeper than
  // kMaxValueDepth (the walk is charged as work).
  void check_nesting(const Value& child, int line);
  const TemplateLimits& limits() const { return limits_; }

  // Containers changed in place (list.append, namespace attributes) are the
  // only way to build a reference cycle; render() empties those that are
  // still alive when it ends, so no cycle outlives a render.
  void note_mutation(const std::shared_ptr<Array>& array) { mutated_arrays_.push_back(array); }
  void note_mutation(const std::shared_ptr<Object>& object) { mutated_objects_.push_back(object); }

 private:
  void execute(const Node& node, const EnvPtr& env, std::string* out);
  void execute_for(const Node& node, const EnvPtr& env, std::string* out);
  void assign(const Node& target, Value value, const EnvPtr& env);
  Value define_macro(const Node& node, const EnvPtr& env);
  void bind_arguments(const NodeList& parameters, CallArgs& args, const EnvPtr& scope, const std::string& name,
                      int line);
  Value evaluate_binary(const Node& node, const EnvPtr& env);
  Value evaluate_member(const Node& node, const EnvPtr& env);
  Value evaluate_slice(const Value& object, const Node& slice, const EnvPtr& env);
  void step(int line);

  // Counts one active evaluate/execute frame for as long as it lives.
  struct FrameGuard {
    FrameGuard(Interpreter* self, int line);
    ~FrameGuard() { --self->frame_depth_; }
    Interpreter* self;
  };

  TemplateLimits limits_;
  RenderBudget budget_;
  uint32_t call_depth_ = 0;
  uint32_t frame_depth_ = 0;
  std::vector<std::weak_ptr<Array>> mutated_arrays_;
  std::vector<std::weak_ptr<Object>> mutated_objects_;
};

}  // namespace mlxpack::jinja

#endif  // MLXPACK_RUNTIME_TEMPLATE_INTERPRETER_H_
