// Recursive-descent parser for the Jinja subset, following the grammar and
// operator precedence of the reference (@huggingface/jinja): ternary < or <
// and < not < comparison/in < additive < multiplicative < power < is-test <
// filter < unary sign < call/member < primary.
#include "runtime/template/ast.h"
#include "runtime/template/lexer.h"
#include "runtime/template/template_error.h"

namespace mlxpack::jinja {

namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, uint32_t max_depth) : tokens_(tokens), max_depth_(max_depth) {}

  NodeList parse_program() {
    NodeList body;
    while (pos_ < tokens_.size()) body.push_back(parse_any());
    return body;
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : parser(p) {
      if (++parser->depth_ > parser->max_depth_) {
        throw TemplateError("template nests deeper than the limit of " + std::to_string(parser->max_depth_),
                            parser->line());
      }
    }
    ~DepthGuard() { --parser->depth_; }
    Parser* parser;
  };

  // A left-associative chain (a + b + c, x.y.z, v | f | g, f()()) builds a
  // tree as deep as the chain is long while the parser only loops, and the
  // interpreter recurses over that tree: each link counts as one level.
  struct ChainDepth {
    explicit ChainDepth(Parser* p) : parser(p) {}
    void link() {
      ++links;
      if (++parser->depth_ > parser->max_depth_) {
        throw TemplateError("template nests deeper than the limit of " + std::to_string(parser->max_depth_),
                            parser->line());
      }
    }
    ~ChainDepth() { parser->depth_ -= links; }
    Parser* parser;
    uint32_t links = 0;
  };

  int line() const {
    if (tokens_.empty()) return 0;
    return tokens_[pos_ < tokens_.size() ? pos_ : tokens_.size() - 1].line;
  }
  [[noreturn]] void fail(const std::string& what) const { throw TemplateError(what, line()); }

  const Token& peek(size_t ahead = 0) const {
    if (pos_ + ahead >= tokens_.size()) fail("unexpected end of template");
    return tokens_[pos_ + ahead];
  }
  bool at_end() const { return pos_ >= tokens_.size(); }
  bool is(TokenType type) const { return pos_ < tokens_.size() && tokens_[pos_].type == type; }
  bool is_identifier(const char* name, size_t ahead = 0) const {
    return pos_ + ahead < tokens_.size() && tokens_[pos_ + ahead].type == TokenType::kIdentifier &&
           tokens_[pos_ + ahead].value == name;
  }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (pos_ + 1 >= tokens_.size() || tokens_[pos_].type != TokenType::kOpenStatement ||
        tokens_[pos_ + 1].type != TokenType::kIdentifier) {
      return false;
    }
    for (const char* n : names)
      if (tokens_[pos_ + 1].value == n) return true;
    return false;
  }
  const Token& expect(TokenType type, const char* what) {
    if (at_end()) fail(std::string("expected ") + what + " but the template ended");
    const Token& t = tokens_[pos_];
    if (t.type != type) {
      fail(std::string("expected ") + what + ", got " + token_type_name(t.type) +
           (t.value.empty() ? "" : " '" + t.value.substr(0, 40) + "'"));
    }
    ++pos_;
    return t;
  }
  void expect_identifier(const char* name) {
    if (!is_identifier(name)) fail(std::string("expected '") + name + "'");
    ++pos_;
  }
  NodePtr make(NodeKind kind) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->line = line();
    return n;
  }

  // Statements until one of `enders` opens; the caller consumes the ender.
  NodeList parse_until(std::initializer_list<const char*> enders, const char* block) {
    NodeList body;
    while (!is_statement(enders)) {
      if (at_end()) fail(std::string("unclosed '") + block + "' block: the template ended before its end tag");
      body.push_back(parse_any());
    }
    return body;
  }

  NodePtr parse_any() {
    DepthGuard guard(this);
    const Token& t = peek();
    switch (t.type) {
      case TokenType::kComment: {
        ++pos_;
        return make(NodeKind::kComment);
      }
      case TokenType::kText: {
        auto n = make(NodeKind::kText);
        n->str = t.value;
        ++pos_;
        return n;
      }
      case TokenType::kOpenStatement:
        return parse_statement();
      case TokenType::kOpenExpression: {
        ++pos_;
        auto e = parse_expression();
        expect(TokenType::kCloseExpression, "'}}'");
        return e;
      }
      default:
        fail(std::string("unexpected ") + token_type_name(t.type));
    }
  }

  void close_block(const char* end_name) {
    expect(TokenType::kOpenStatement, "'{%'");
    expect_identifier(end_name);
    expect(TokenType::kCloseStatement, "'%}'");
  }

  NodePtr parse_statement() {
    expect(TokenType::kOpenStatement, "'{%'");
    const Token& t = peek();
    if (t.type != TokenType::kIdentifier) fail(std::string("expected a statement name, got ") + token_type_name(t.type));
    const std::string name = t.value;
    ++pos_;
    if (name == "set") return parse_set();
    if (name == "if") {
      auto n = parse_if();
      close_block("endif");
      return n;
    }
    if (name == "for") {
      auto n = parse_for();
      close_block("endfor");
      return n;
    }
    if (name == "macro") {
      auto n = make(NodeKind::kMacro);
      auto callee = parse_primary();
      if (callee->kind != NodeKind::kIdentifier) fail("expected a name after 'macro'");
      n->str = callee->str;
      n->args = parse_args(true);
      expect(TokenType::kCloseStatement, "'%}'");
      n->body = parse_until({"endmacro"}, "macro");
      close_block("endmacro");
      return n;
    }
    if (name == "call") {
      auto n = make(NodeKind::kCallStatement);
      if (is(TokenType::kOpenParen)) n->args = parse_args(true);
      auto callee = parse_primary();
      if (callee->kind != NodeKind::kIdentifier) fail("expected a macro name after 'call'");
      auto call = make(NodeKind::kCall);
      call->a = std::move(callee);
      call->args = parse_args(false);
      n->a = std::move(call);
      expect(TokenType::kCloseStatement, "'%}'");
      n->body = parse_until({"endcall"}, "call");
      close_block("endcall");
      return n;
    }
    if (name == "break" || name == "continue") {
      expect(TokenType::kCloseStatement, "'%}'");
      return make(name == "break" ? NodeKind::kBreak : NodeKind::kContinue);
    }
    if (name == "filter") {
      auto n = make(NodeKind::kFilterStatement);
      auto filter = parse_primary();
      if (filter->kind == NodeKind::kIdentifier && is(TokenType::kOpenParen)) filter = parse_call(std::move(filter));
      n->a = std::move(filter);
      expect(TokenType::kCloseStatement, "'%}'");
      n->body = parse_until({"endfilter"}, "filter");
      close_block("endfilter");
      return n;
    }
    fail("unknown statement '" + name + "'");
  }

  NodePtr parse_set() {
    auto n = make(NodeKind::kSet);
    n->a = parse_expression_sequence(false);
    if (is(TokenType::kEquals)) {
      ++pos_;
      n->b = parse_expression_sequence(false);
    } else {
      expect(TokenType::kCloseStatement, "'%}' or '='");
      n->body = parse_until({"endset"}, "set");
      expect(TokenType::kOpenStatement, "'{%'");
      expect_identifier("endset");
    }
    expect(TokenType::kCloseStatement, "'%}'");
    return n;
  }

  NodePtr parse_if() {
    auto n = make(NodeKind::kIf);
    n->a = parse_expression();
    expect(TokenType::kCloseStatement, "'%}'");
    n->body = parse_until({"elif", "else", "endif"}, "if");
    if (is_statement({"elif"})) {
      pos_ += 2;
      DepthGuard guard(this);  // an elif chain nests
      n->alternate.push_back(parse_if());
    } else if (is_statement({"else"})) {
      pos_ += 2;
      expect(TokenType::kCloseStatement, "'%}'");
      n->alternate = parse_until({"endif"}, "if");
    }
    return n;
  }

  NodePtr parse_for() {
    auto n = make(NodeKind::kFor);
    n->a = parse_expression_sequence(true);
    if (n->a->kind != NodeKind::kIdentifier && n->a->kind != NodeKind::kTupleLiteral) {
      fail("expected a name or names for the loop variable");
    }
    if (!is_identifier("in")) fail("expected 'in' after the loop variable");
    ++pos_;
    n->b = parse_expression();
    expect(TokenType::kCloseStatement, "'%}'");
    n->body = parse_until({"endfor", "else"}, "for");
    if (is_statement({"else"})) {
      pos_ += 2;
      expect(TokenType::kCloseStatement, "'%}'");
      n->alternate = parse_until({"endfor"}, "for");
    }
    return n;
  }

  NodePtr parse_expression_sequence(bool primary) {
    auto first = primary ? parse_primary() : parse_expression();
    if (!is(TokenType::kComma)) return first;
    auto tuple = make(NodeKind::kTupleLiteral);
    tuple->args.push_back(std::move(first));
    while (is(TokenType::kComma)) {
      ++pos_;
      tuple->args.push_back(primary ? parse_primary() : parse_expression());
    }
    return tuple;
  }

  NodePtr parse_expression() {
    DepthGuard guard(this);
    return parse_if_expression();
  }

  NodePtr parse_if_expression() {
    auto a = parse_or();
    if (is_identifier("if")) {
      ++pos_;
      auto test = parse_or();
      if (is_identifier("else")) {
        ++pos_;
        auto n = make(NodeKind::kTernary);
        n->a = std::move(test);
        n->b = std::move(a);
        DepthGuard guard(this);  // "a if b else c if d else ..." nests to the right
        n->c = parse_if_expression();
        return n;
      }
      auto n = make(NodeKind::kSelect);
      n->a = std::move(a);
      n->b = std::move(test);
      return n;
    }
    return a;
  }

  NodePtr binary(std::string op, NodePtr left, NodePtr right) {
    auto n = make(NodeKind::kBinary);
    n->str = std::move(op);
    n->a = std::move(left);
    n->b = std::move(right);
    return n;
  }

  NodePtr parse_or() {
    auto left = parse_and();
    ChainDepth chain(this);
    while (is_identifier("or")) {
      chain.link();
      ++pos_;
      left = binary("or", std::move(left), parse_and());
    }
    return left;
  }

  NodePtr parse_and() {
    auto left = parse_not();
    ChainDepth chain(this);
    while (is_identifier("and")) {
      chain.link();
      ++pos_;
      left = binary("and", std::move(left), parse_not());
    }
    return left;
  }

  NodePtr parse_not() {
    if (is_identifier("not")) {
      DepthGuard guard(this);
      auto n = make(NodeKind::kUnary);
      ++pos_;
      n->str = "not";
      n->a = parse_not();
      return n;
    }
    return parse_comparison();
  }

  NodePtr parse_comparison() {
    auto left = parse_additive();
    ChainDepth chain(this);
    for (;;) {
      std::string op;
      if (is_identifier("not") && is_identifier("in", 1)) {
        op = "not in";
        pos_ += 2;
      } else if (is_identifier("in")) {
        op = "in";
        ++pos_;
      } else if (is(TokenType::kComparisonBinaryOperator)) {
        op = tokens_[pos_++].value;
      } else {
        break;
      }
      chain.link();
      left = binary(op, std::move(left), parse_additive());
    }
    return left;
  }

  NodePtr parse_additive() {
    auto left = parse_multiplicative();
    ChainDepth chain(this);
    while (is(TokenType::kAdditiveBinaryOperator)) {
      chain.link();
      std::string op = tokens_[pos_++].value;
      left = binary(op, std::move(left), parse_multiplicative());
    }
    return left;
  }

  NodePtr parse_multiplicative() {
    auto left = parse_power();
    ChainDepth chain(this);
    while (is(TokenType::kMultiplicativeBinaryOperator)) {
      chain.link();
      std::string op = tokens_[pos_++].value;
      left = binary(op, std::move(left), parse_power());
    }
    return left;
  }

  NodePtr parse_power() {
    auto left = parse_test();
    ChainDepth chain(this);
    while (is(TokenType::kExponentiationBinaryOperator)) {
      chain.link();
      ++pos_;
      left = binary("**", std::move(left), parse_test());
    }
    return left;
  }

  NodePtr parse_test() {
    auto operand = parse_filter();
    ChainDepth chain(this);
    while (is_identifier("is")) {
      chain.link();
      ++pos_;
      auto n = make(NodeKind::kTest);
      n->flag = is_identifier("not");
      if (n->flag) ++pos_;
      const Token& t = peek();
      // "none", "true", "false" are names of tests too.
      if (t.type != TokenType::kIdentifier) fail("expected a test name after 'is'");
      n->str = t.value;
      ++pos_;
      if (is(TokenType::kOpenParen)) {
        n->args = parse_args(false);
      } else if (is(TokenType::kNumericLiteral) || is(TokenType::kStringLiteral) ||
                 (is(TokenType::kIdentifier) && !is_identifier("and") && !is_identifier("or") &&
                  !is_identifier("if") && !is_identifier("else") && !is_identifier("is") && !is_identifier("in") &&
                  !is_identifier("not"))) {
        // Jinja's "x is divisibleby 3" / "x is sameas y" form: one argument.
        n->args.push_back(parse_primary());
      }
      n->a = std::move(operand);
      operand = std::move(n);
    }
    return operand;
  }

  NodePtr parse_filter() {
    auto operand = parse_unary_sign();
    ChainDepth chain(this);
    while (is(TokenType::kPipe)) {
      chain.link();
      ++pos_;
      auto filter = parse_primary();
      if (filter->kind != NodeKind::kIdentifier) fail("expected a filter name after '|'");
      if (is(TokenType::kOpenParen)) filter = parse_call(std::move(filter));
      auto n = make(NodeKind::kFilter);
      n->a = std::move(operand);
      n->b = std::move(filter);
      operand = std::move(n);
    }
    return operand;
  }

  NodePtr parse_unary_sign() {
    if (!at_end() && (tokens_[pos_].type == TokenType::kUnaryOperator ||
                      tokens_[pos_].type == TokenType::kAdditiveBinaryOperator) &&
        (tokens_[pos_].value == "-" || tokens_[pos_].value == "+")) {
      DepthGuard guard(this);
      auto n = make(NodeKind::kUnary);
      n->str = tokens_[pos_++].value;
      n->a = parse_unary_sign();
      return n;
    }
    return parse_call_member();
  }

  NodePtr parse_call_member() {
    auto member = parse_member(parse_primary());
    if (is(TokenType::kOpenParen)) return parse_call(std::move(member));
    return member;
  }

  NodePtr parse_call(NodePtr callee) {
    ChainDepth chain(this);
    NodePtr expr = std::move(callee);
    do {
      chain.link();
      auto n = make(NodeKind::kCall);
      n->a = std::move(expr);
      n->args = parse_args(false);
      expr = parse_member(std::move(n));
    } while (is(TokenType::kOpenParen));
    return expr;
  }

  NodeList parse_args(bool parameters) {
    DepthGuard guard(this);
    expect(TokenType::kOpenParen, "'('");
    NodeList args;
    bool saw_keyword = false;
    bool saw_spread = false;
    std::vector<std::string> names;
    while (!is(TokenType::kCloseParen)) {
      if (at_end()) fail("unclosed '(' in an argument list");
      const bool keyword_spread = is(TokenType::kExponentiationBinaryOperator);
      const bool spread = is(TokenType::kMultiplicativeBinaryOperator) && tokens_[pos_].value == "*";
      if (parameters && (keyword_spread || spread)) fail("argument unpacking is not allowed in parameters");
      if (keyword_spread) {
        ++pos_;
        auto n = make(NodeKind::kKeywordSpread);
        n->a = parse_expression();
        args.push_back(std::move(n));
        if (is(TokenType::kComma)) ++pos_;
        if (!is(TokenType::kCloseParen)) fail("'**' must be applied to the last argument");
        break;
      }
      NodePtr arg;
      if (spread) {
        if (saw_spread) fail("only one '*' argument unpacking is allowed");
        saw_spread = true;
        ++pos_;
        arg = make(NodeKind::kSpread);
        arg->a = parse_expression();
      } else {
        arg = parse_expression();
        if (is(TokenType::kEquals)) {
          ++pos_;
          if (arg->kind != NodeKind::kIdentifier) fail(parameters ? "expected a parameter name" : "expected a keyword argument name");
          auto kw = make(NodeKind::kKeywordArgument);
          kw->str = arg->str;
          kw->a = parse_expression();
          arg = std::move(kw);
        }
        if (parameters) {
          if (arg->kind != NodeKind::kIdentifier && arg->kind != NodeKind::kKeywordArgument) fail("expected a parameter name");
          for (const auto& prior : names)
            if (prior == arg->str) fail("duplicate parameter name '" + arg->str + "'");
          names.push_back(arg->str);
        }
        if (arg->kind == NodeKind::kKeywordArgument) {
          saw_keyword = true;
        } else if (saw_keyword) {
          fail(parameters ? "a parameter without a default follows one with a default"
                          : "positional arguments must come before keyword arguments");
        } else if (saw_spread) {
          fail("positional arguments must not follow '*' unpacking");
        }
      }
      args.push_back(std::move(arg));
      if (is(TokenType::kComma)) ++pos_;
    }
    expect(TokenType::kCloseParen, "')'");
    return args;
  }

  NodePtr parse_subscript() {
    std::vector<NodePtr> parts;
    bool is_slice = false;
    while (!is(TokenType::kCloseSquareBracket)) {
      if (at_end()) fail("unclosed '['");
      if (is(TokenType::kColon)) {
        parts.push_back(nullptr);
        ++pos_;
        is_slice = true;
      } else {
        parts.push_back(parse_expression());
        if (is(TokenType::kColon)) {
          ++pos_;
          is_slice = true;
        }
      }
    }
    if (parts.empty()) fail("expected an index or a slice inside '[]'");
    if (!is_slice) return std::move(parts[0]);
    if (parts.size() > 3) fail("a slice takes at most 3 parts");
    auto n = make(NodeKind::kSlice);
    if (parts.size() > 0) n->a = std::move(parts[0]);
    if (parts.size() > 1) n->b = std::move(parts[1]);
    if (parts.size() > 2) n->c = std::move(parts[2]);
    return n;
  }

  NodePtr parse_member(NodePtr object) {
    ChainDepth chain(this);
    while (is(TokenType::kDot) || is(TokenType::kOpenSquareBracket)) {
      chain.link();
      const bool computed = is(TokenType::kOpenSquareBracket);
      ++pos_;
      auto n = make(NodeKind::kMember);
      n->flag = computed;
      if (computed) {
        n->b = parse_subscript();
        expect(TokenType::kCloseSquareBracket, "']'");
      } else {
        n->b = parse_primary();
        if (n->b->kind != NodeKind::kIdentifier && n->b->kind != NodeKind::kIntegerLiteral) {
          fail("expected a name or an integer after '.'");
        }
      }
      n->a = std::move(object);
      object = std::move(n);
    }
    return object;
  }

  NodePtr parse_primary() {
    DepthGuard guard(this);
    const Token& t = peek();
    ++pos_;
    switch (t.type) {
      case TokenType::kNumericLiteral: {
        if (t.value.find('.') != std::string::npos) {
          auto n = make(NodeKind::kFloatLiteral);
          n->f = std::strtod(t.value.c_str(), nullptr);
          return n;
        }
        auto n = make(NodeKind::kIntegerLiteral);
        errno = 0;
        const long long v = std::strtoll(t.value.c_str(), nullptr, 10);
        if (errno == ERANGE) {  // beyond int64: keep it as a float, as JavaScript would
          auto f = make(NodeKind::kFloatLiteral);
          f->f = std::strtod(t.value.c_str(), nullptr);
          return f;
        }
        n->i = v;
        return n;
      }
      case TokenType::kStringLiteral: {
        auto n = make(NodeKind::kStringLiteral);
        n->str = t.value;
        while (is(TokenType::kStringLiteral)) n->str += tokens_[pos_++].value;  // adjacent literals concatenate
        return n;
      }
      case TokenType::kIdentifier: {
        auto n = make(NodeKind::kIdentifier);
        n->str = t.value;
        return n;
      }
      case TokenType::kOpenParen: {
        auto e = parse_expression_sequence(false);
        expect(TokenType::kCloseParen, "')'");
        return e;
      }
      case TokenType::kOpenSquareBracket: {
        auto n = make(NodeKind::kArrayLiteral);
        while (!is(TokenType::kCloseSquareBracket)) {
          if (at_end()) fail("unclosed '['");
          n->args.push_back(parse_expression());
          if (is(TokenType::kComma)) ++pos_;
        }
        ++pos_;
        return n;
      }
      case TokenType::kOpenCurlyBracket: {
        auto n = make(NodeKind::kObjectLiteral);
        while (!is(TokenType::kCloseCurlyBracket)) {
          if (at_end()) fail("unclosed '{'");
          n->args.push_back(parse_expression());
          expect(TokenType::kColon, "':' between a key and its value");
          n->args.push_back(parse_expression());
          if (is(TokenType::kComma)) ++pos_;
        }
        ++pos_;
        return n;
      }
      default:
        --pos_;
        fail(std::string("unexpected ") + token_type_name(t.type) + (t.value.empty() ? "" : " '" + t.value.substr(0, 40) + "'"));
    }
  }

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  uint32_t max_depth_;
  uint32_t depth_ = 0;
};

}  // namespace

NodeList parse(const std::vector<Token>& tokens, uint32_t max_depth) {
  Parser parser(tokens, max_depth);
  return parser.parse_program();
}

}  // namespace mlxpack::jinja
