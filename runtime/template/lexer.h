// Jinja source to tokens. Whitespace control is applied here, as the
// reference implementation (@huggingface/jinja) does: the source loses one
// trailing newline; lstrip_blocks removes spaces and tabs before a block or
// comment at the start of a line; trim_blocks removes the newline after a
// block or comment; "-" trims the whitespace next to a tag; the
// {% generation %} markers are dropped.
#ifndef MLXPACK_RUNTIME_TEMPLATE_LEXER_H_
#define MLXPACK_RUNTIME_TEMPLATE_LEXER_H_

#include <string>
#include <string_view>
#include <vector>

namespace mlxpack::jinja {

enum class TokenType {
  kText,
  kNumericLiteral,
  kStringLiteral,
  kIdentifier,
  kEquals,
  kOpenParen,
  kCloseParen,
  kOpenStatement,
  kCloseStatement,
  kOpenExpression,
  kCloseExpression,
  kOpenSquareBracket,
  kCloseSquareBracket,
  kOpenCurlyBracket,
  kCloseCurlyBracket,
  kComma,
  kDot,
  kColon,
  kPipe,
  kAdditiveBinaryOperator,
  kMultiplicativeBinaryOperator,
  kExponentiationBinaryOperator,
  kComparisonBinaryOperator,
  kUnaryOperator,
  kComment,
};

const char* token_type_name(TokenType type);

struct Token {
  TokenType type;
  std::string value;
  int line;
};

// Source after the reference's preprocessing (trailing newline,
// lstrip_blocks, trim_blocks, generation markers).
std::string preprocess(std::string_view source);
// The same, with the source line of each output character in *lines.
std::string preprocess_with_lines(std::string_view source, std::vector<int>* lines);

// Tokens of `source`; throws TemplateError with the line on a lexical error.
std::vector<Token> tokenize(std::string_view source);

}  // namespace mlxpack::jinja

#endif  // MLXPACK_RUNTIME_TEMPLATE_LEXER_H_
