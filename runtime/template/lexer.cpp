#include "runtime/template/lexer.h"

#include <cctype>
#include <algorithm>
#include <cstring>

#include "runtime/template/template_error.h"
#include "runtime/text/utf8.h"

namespace mlxpack::jinja {

const char* token_type_name(TokenType type) {
  switch (type) {
    case TokenType::kText: return "text";
    case TokenType::kNumericLiteral: return "number";
    case TokenType::kStringLiteral: return "string";
    case TokenType::kIdentifier: return "identifier";
    case TokenType::kEquals: return "'='";
    case TokenType::kOpenParen: return "'('";
    case TokenType::kCloseParen: return "')'";
    case TokenType::kOpenStatement: return "'{%'";
    case TokenType::kCloseStatement: return "'%}'";
    case TokenType::kOpenExpression: return "'{{'";
    case TokenType::kCloseExpression: return "'}}'";
    case TokenType::kOpenSquareBracket: return "'['";
    case TokenType::kCloseSquareBracket: return "']'";
    case TokenType::kOpenCurlyBracket: return "'{'";
    case TokenType::kCloseCurlyBracket: return "'}'";
    case TokenType::kComma: return "','";
    case TokenType::kDot: return "'.'";
    case TokenType::kColon: return "':'";
    case TokenType::kPipe: return "'|'";
    case TokenType::kAdditiveBinaryOperator: return "additive operator";
    case TokenType::kMultiplicativeBinaryOperator: return "multiplicative operator";
    case TokenType::kExponentiationBinaryOperator: return "'**'";
    case TokenType::kComparisonBinaryOperator: return "comparison operator";
    case TokenType::kUnaryOperator: return "unary operator";
    case TokenType::kComment: return "comment";
  }
  return "token";
}

namespace {

// Length of the JavaScript-whitespace code point at s[i], or 0.
size_t space_at(std::string_view s, size_t i) {
  size_t p = i;
  char32_t cp;
  if (i >= s.size() || !text::decode_next(s, &p, &cp) || !text::is_js_space(cp)) return 0;
  return p - i;
}

// Start of the JavaScript-whitespace run that ends at `end`, not before `floor`.
size_t space_run_start(std::string_view s, size_t end, size_t floor) {
  size_t b = end;
  while (b > floor) {
    size_t start = b - 1;
    while (start > floor && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    if (space_at(s, start) != b - start) break;
    b = start;
  }
  return b;
}

// If a {% generation %} / {% endgeneration %} tag starts at s[i], its end and
// whether it has - on either side.
bool generation_tag_at(std::string_view s, size_t i, size_t* end, bool* lstrip, bool* rstrip) {
  if (s.compare(i, 2, "{%") != 0) return false;
  size_t p = i + 2;
  *lstrip = p < s.size() && s[p] == '-';
  if (*lstrip) ++p;
  while (size_t n = space_at(s, p)) p += n;
  if (s.compare(p, 3, "end") == 0) p += 3;
  if (s.compare(p, 10, "generation") != 0) return false;
  p += 10;
  while (size_t n = space_at(s, p)) p += n;
  *rstrip = p < s.size() && s[p] == '-';
  if (*rstrip) ++p;
  if (s.compare(p, 2, "%}") != 0) return false;
  *end = p + 2;
  return true;
}

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string preprocess(std::string_view source) { return preprocess_with_lines(source, nullptr); }

std::string preprocess_with_lines(std::string_view source, std::vector<int>* lines_out) {
  // Each stage copies characters together with the source line they came
  // from, so error messages name lines of the template as written.
  std::string s(source);
  std::vector<int> lines(s.size());
  for (size_t i = 0, line = 1; i < s.size(); ++i) {
    lines[i] = static_cast<int>(line);
    if (s[i] == '\n') ++line;
  }
  if (!s.empty() && s.back() == '\n') {
    s.pop_back();
    lines.pop_back();
  }

  // lstrip_blocks: spaces and tabs at the start of a line, before {% {# {-.
  std::string a;
  std::vector<int> a_lines;
  a.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (i == 0 || s[i - 1] == '\n' || s[i - 1] == '\r') {
      size_t j = i;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j + 1 < s.size() && s[j] == '{' && (s[j + 1] == '%' || s[j + 1] == '#' || s[j + 1] == '-')) {
        i = j;  // drop the indentation
      }
    }
    // Copy up to and including the next line break.
    while (i < s.size()) {
      a_lines.push_back(lines[i]);
      const char c = s[i++];
      a.push_back(c);
      if (c == '\n' || c == '\r') break;
    }
  }

  // trim_blocks: the newline right after %} #} -}.
  std::string b;
  std::vector<int> b_lines;
  b.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    b.push_back(a[i]);
    b_lines.push_back(a_lines[i]);
    if ((a[i] == '%' || a[i] == '#' || a[i] == '-') && i + 2 < a.size() && a[i + 1] == '}' && a[i + 2] == '\n') {
      b.push_back('}');
      b_lines.push_back(a_lines[i + 1]);
      i += 2;
    }
  }

  // Generation markers (transformers' assistant-mask extension) render as
  // nothing; their - trims the whitespace beside them.
  std::string c;
  std::vector<int> c_lines;
  c.reserve(b.size());
  auto copy = [&](size_t from, size_t count) {
    c.append(b, from, count);
    c_lines.insert(c_lines.end(), b_lines.begin() + static_cast<std::ptrdiff_t>(from),
                   b_lines.begin() + static_cast<std::ptrdiff_t>(from + count));
  };
  size_t copied = 0;  // b[0, copied) is in c
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] != '{') continue;
    size_t end;
    bool lstrip;
    bool rstrip;
    if (!generation_tag_at(b, i, &end, &lstrip, &rstrip)) continue;
    const size_t before = space_run_start(b, i, copied);
    copy(copied, before - copied);
    if (!lstrip) copy(before, i - before);
    size_t after = end;
    while (size_t n = space_at(b, after)) after += n;
    if (!rstrip) copy(end, after - end);
    copied = after;
    i = after - 1;
  }
  copy(copied, b.size() - copied);
  if (lines_out) *lines_out = std::move(c_lines);
  return c;
}

std::vector<Token> tokenize(std::string_view source) {
  std::vector<int> line_of;
  const std::string src = preprocess_with_lines(source, &line_of);
  const size_t n = src.size();
  std::vector<Token> tokens;
  size_t pos = 0;
  int line = n > 0 ? line_of[0] : 1;
  int curly_depth = 0;
  auto advance = [&](size_t count) {
    pos = std::min(n, pos + count);
    if (pos < n) line = line_of[pos];
  };
  auto fail = [&](const std::string& what) -> TemplateError { return TemplateError(what, line); };
  auto push = [&](TokenType type, std::string value) { tokens.push_back(Token{type, std::move(value), line}); };
  auto strip_trailing_whitespace = [&] {
    if (!tokens.empty() && tokens.back().type == TokenType::kText) {
      tokens.back().value = std::string(text::trim_js_space(tokens.back().value, false, true));
      if (tokens.back().value.empty()) tokens.pop_back();
    }
  };
  auto skip_leading_whitespace = [&] {
    while (size_t k = space_at(src, pos)) advance(k);
  };
  // Characters of a string literal up to `quote`, with escapes decoded.
  auto read_string = [&](char quote) {
    std::string out;
    while (pos < n && src[pos] != quote) {
      if (src[pos] == '\\') {
        advance(1);
        if (pos >= n) throw fail("unexpected end of template in a string literal");
        const char e = src[pos];
        advance(1);
        if (e == 'x' || e == 'u') {
          const size_t len = e == 'x' ? 2 : 4;
          if (n - pos < len) throw fail(std::string("invalid escape \\") + e);
          unsigned value = 0;
          for (size_t k = 0; k < len; ++k) {
            const char h = src[pos + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) throw fail(std::string("invalid escape \\") + e);
            value = value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
          }
          advance(len);
          if (value >= 0xD800 && value <= 0xDFFF) value = 0xFFFD;  // a lone surrogate has no UTF-8 form
          text::append_utf8(&out, value);
          continue;
        }
        switch (e) {
          case 'n': out.push_back('\n'); break;
          case 't': out.push_back('\t'); break;
          case 'r': out.push_back('\r'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'v': out.push_back('\v'); break;
          case '\'': out.push_back('\''); break;
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          default: throw fail(std::string("unexpected escaped character '") + e + "'");
        }
        continue;
      }
      out.push_back(src[pos]);
      advance(1);
    }
    if (pos >= n) throw fail("unterminated string literal");
    advance(1);  // closing quote
    return out;
  };
  auto read_digits = [&] {
    std::string out;
    while (pos < n && is_digit(src[pos])) {
      out.push_back(src[pos]);
      advance(1);
    }
    return out;
  };

  static const std::pair<const char*, TokenType> kTable[] = {
      {"{%", TokenType::kOpenStatement},
      {"%}", TokenType::kCloseStatement},
      {"{{", TokenType::kOpenExpression},
      {"}}", TokenType::kCloseExpression},
      {"(", TokenType::kOpenParen},
      {")", TokenType::kCloseParen},
      {"{", TokenType::kOpenCurlyBracket},
      {"}", TokenType::kCloseCurlyBracket},
      {"[", TokenType::kOpenSquareBracket},
      {"]", TokenType::kCloseSquareBracket},
      {",", TokenType::kComma},
      {".", TokenType::kDot},
      {":", TokenType::kColon},
      {"|", TokenType::kPipe},
      {"<=", TokenType::kComparisonBinaryOperator},
      {">=", TokenType::kComparisonBinaryOperator},
      {"==", TokenType::kComparisonBinaryOperator},
      {"!=", TokenType::kComparisonBinaryOperator},
      {"<", TokenType::kComparisonBinaryOperator},
      {">", TokenType::kComparisonBinaryOperator},
      {"+", TokenType::kAdditiveBinaryOperator},
      {"-", TokenType::kAdditiveBinaryOperator},
      {"~", TokenType::kAdditiveBinaryOperator},
      {"**", TokenType::kExponentiationBinaryOperator},
      {"*", TokenType::kMultiplicativeBinaryOperator},
      {"//", TokenType::kMultiplicativeBinaryOperator},
      {"/", TokenType::kMultiplicativeBinaryOperator},
      {"%", TokenType::kMultiplicativeBinaryOperator},
      {"=", TokenType::kEquals},
  };

  while (pos < n) {
    const bool in_text = tokens.empty() || tokens.back().type == TokenType::kCloseStatement ||
                         tokens.back().type == TokenType::kCloseExpression || tokens.back().type == TokenType::kComment;
    if (in_text) {
      const size_t start = pos;
      const int start_line = line;
      while (pos < n && !(src[pos] == '{' && pos + 1 < n && (src[pos + 1] == '%' || src[pos + 1] == '{' || src[pos + 1] == '#'))) {
        advance(1);
      }
      if (pos > start) {
        tokens.push_back(Token{TokenType::kText, src.substr(start, pos - start), start_line});
        continue;
      }
    }
    if (src.compare(pos, 2, "{#") == 0) {
      advance(2);
      const bool strip_before = pos < n && src[pos] == '-';
      if (strip_before) advance(1);
      const size_t close = src.find("#}", pos);
      if (close == std::string::npos) throw fail("missing end of comment tag '#}'");
      std::string comment = src.substr(pos, close - pos);
      const bool strip_after = !comment.empty() && comment.back() == '-';
      if (strip_after) comment.pop_back();
      if (strip_before) strip_trailing_whitespace();
      advance(close + 2 - pos);
      push(TokenType::kComment, std::move(comment));
      if (strip_after) skip_leading_whitespace();
      continue;
    }
    if (src.compare(pos, 3, "{%-") == 0) {
      strip_trailing_whitespace();
      push(TokenType::kOpenStatement, "{%");
      advance(3);
      continue;
    }
    if (src.compare(pos, 3, "{{-") == 0) {
      strip_trailing_whitespace();
      push(TokenType::kOpenExpression, "{{");
      curly_depth = 0;
      advance(3);
      continue;
    }
    while (size_t k = space_at(src, pos)) advance(k);
    if (pos >= n) break;
    if (src.compare(pos, 3, "-%}") == 0) {
      push(TokenType::kCloseStatement, "%}");
      advance(3);
      skip_leading_whitespace();
      continue;
    }
    if (src.compare(pos, 3, "-}}") == 0) {
      push(TokenType::kCloseExpression, "}}");
      advance(3);
      skip_leading_whitespace();
      continue;
    }
    const char ch = src[pos];
    if (ch == '-' || ch == '+') {
      if (tokens.empty() || tokens.back().type == TokenType::kText) throw fail(std::string("unexpected character '") + ch + "'");
      const TokenType last = tokens.back().type;
      const bool after_value = last == TokenType::kIdentifier || last == TokenType::kNumericLiteral ||
                               last == TokenType::kStringLiteral || last == TokenType::kCloseParen ||
                               last == TokenType::kCloseSquareBracket;
      if (!after_value) {
        // A sign: part of a number literal, or a unary operator.
        advance(1);
        std::string num = read_digits();
        if (!num.empty() && pos + 1 < n && src[pos] == '.' && is_digit(src[pos + 1])) {
          advance(1);
          num += "." + read_digits();
        }
        push(num.empty() ? TokenType::kUnaryOperator : TokenType::kNumericLiteral, std::string(1, ch) + num);
        continue;
      }
    }
    bool matched = false;
    for (const auto& [seq, type] : kTable) {
      if (type == TokenType::kCloseExpression && curly_depth > 0) continue;
      const size_t len = std::strlen(seq);
      if (src.compare(pos, len, seq) != 0) continue;
      push(type, seq);
      if (type == TokenType::kOpenExpression) {
        curly_depth = 0;
      } else if (type == TokenType::kOpenCurlyBracket) {
        ++curly_depth;
      } else if (type == TokenType::kCloseCurlyBracket) {
        --curly_depth;
      }
      advance(len);
      matched = true;
      break;
    }
    if (matched) continue;
    if (ch == '\'' || ch == '"') {
      const int start_line = line;
      advance(1);
      std::string value = read_string(ch);
      tokens.push_back(Token{TokenType::kStringLiteral, std::move(value), start_line});
      continue;
    }
    if (is_digit(ch)) {
      std::string num = read_digits();
      const bool after_dot = !tokens.empty() && tokens.back().type == TokenType::kDot;
      if (!after_dot && pos + 1 < n && src[pos] == '.' && is_digit(src[pos + 1])) {
        advance(1);
        num += "." + read_digits();
      }
      push(TokenType::kNumericLiteral, std::move(num));
      continue;
    }
    if (is_word(ch)) {
      std::string word;
      while (pos < n && is_word(src[pos])) {
        word.push_back(src[pos]);
        advance(1);
      }
      push(TokenType::kIdentifier, std::move(word));
      continue;
    }
    throw fail(std::string("unexpected character '") + ch + "'");
  }
  return tokens;
}

}  // namespace mlxpack::jinja
