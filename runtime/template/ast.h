// The syntax tree of a Jinja template. One node type with a kind keeps the
// parser and interpreter compact; the fields each kind uses are listed.
#ifndef MLXPACK_RUNTIME_TEMPLATE_AST_H_
#define MLXPACK_RUNTIME_TEMPLATE_AST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlxpack::jinja {

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

enum class NodeKind {
  // Statements
  kText,           // str
  kComment,        //
  kSet,            // a = assignee, b = value (or null: body)
  kIf,             // a = test, body, alternate
  kFor,            // a = loop variable, b = iterable, body, alternate (else block)
  kBreak,
  kContinue,
  kMacro,          // str = name, args = parameters, body
  kCallStatement,  // a = call expression, args = caller parameters, body
  kFilterStatement,  // a = filter (identifier or call), body
  // Expressions
  kIntegerLiteral,  // i
  kFloatLiteral,    // f
  kStringLiteral,   // str
  kArrayLiteral,    // args
  kTupleLiteral,    // args
  kObjectLiteral,   // args = key0, value0, key1, value1, ...
  kIdentifier,      // str
  kMember,          // a = object, b = property, computed
  kCall,            // a = callee, args
  kUnary,           // str = operator, a = operand
  kBinary,          // str = operator, a, b
  kFilter,          // a = operand, b = filter (identifier or call)
  kTest,            // a = operand, str = test name, negate, args = test arguments
  kSelect,          // a = value, b = condition ("x if c" without else)
  kTernary,         // a = condition, b = if true, c = if false
  kSlice,           // a = start, b = stop, c = step (each may be null)
  kKeywordArgument,  // str = key, a = value
  kSpread,           // a
  kKeywordSpread,    // a
};

struct Node {
  NodeKind kind;
  int line = 0;
  std::string str;
  int64_t i = 0;
  double f = 0;
  bool flag = false;  // kMember: computed; kTest: negate
  NodePtr a;
  NodePtr b;
  NodePtr c;
  NodeList args;
  NodeList body;
  NodeList alternate;
};

// Parses tokens into the statements of a template. Throws TemplateError.
struct Token;
NodeList parse(const std::vector<Token>& tokens, uint32_t max_depth);

}  // namespace mlxpack::jinja

#endif  // MLXPACK_RUNTIME_TEMPLATE_AST_H_
