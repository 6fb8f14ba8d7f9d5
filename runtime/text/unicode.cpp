#include "runtime/text/unicode.h"

#include <utf8proc.h>

#include <cstdlib>

#include "runtime/text/utf8.h"

namespace mlxpack::text {

namespace {

// Appends utf8proc's normalization of `s` to `out`.
void append_normalized(std::string_view s, int options, std::string* out) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                          static_cast<utf8proc_ssize_t>(s.size()), &mapped,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) {  // only on invalid UTF-8, which callers exclude
    out->append(s);
  } else {
    out->append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  }
  std::free(mapped);
}

bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }

}  // namespace

std::string normalize(std::string_view s, NormalForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNFC: options |= UTF8PROC_COMPOSE; break;
    case NormalForm::kNFD: options |= UTF8PROC_DECOMPOSE; break;
    case NormalForm::kNFKC: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalForm::kNFKD: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  // In every form an ASCII character begins a normalization segment: it
  // maps to itself, has canonical combining class 0 (no mark reorders
  // across it) and is never the second half of a composition. So the text
  // normalizes piecewise, cut before ASCII characters: ASCII runs are
  // copied, and utf8proc sees only each non-ASCII run with the character
  // before it (a mark may compose with it). English text then costs a copy
  // instead of utf8proc's four bytes of buffer per code point.
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && is_ascii(s[j])) ++j;
    if (j == s.size()) {
      out.append(s.substr(i));
      break;
    }
    const size_t begin = j > i ? j - 1 : j;
    out.append(s.substr(i, begin - i));
    size_t end = j;
    while (end < s.size() && !is_ascii(s[end])) ++end;
    append_normalized(s.substr(begin, end - begin), options, &out);
    i = end;
  }
  return out;
}

char32_t to_lower(char32_t cp) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))); }
char32_t to_upper(char32_t cp) { return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp))); }

namespace {

template <typename F>
std::string map_codepoints(std::string_view s, F&& f) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    if (!decode_next(s, &i, &cp)) {  // callers pass valid text; copy a stray byte through
      out.push_back(s[i++]);
      continue;
    }
    f(cp, &out);
  }
  return out;
}

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

}  // namespace

std::string to_lower(std::string_view s) {
  return map_codepoints(s, [](char32_t cp, std::string* out) { append_utf8(out, to_lower(cp)); });
}

std::string to_upper(std::string_view s) {
  return map_codepoints(s, [](char32_t cp, std::string* out) { append_utf8(out, to_upper(cp)); });
}

std::string strip_accents(std::string_view s) {
  return map_codepoints(s, [](char32_t cp, std::string* out) {
    if (category(cp) != UTF8PROC_CATEGORY_MN) append_utf8(out, cp);
  });
}

bool is_letter(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool is_number(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool is_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_control(char32_t cp) {
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF;
}

}  // namespace mlxpack::text
