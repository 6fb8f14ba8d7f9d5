#include "runtime/tokenizer/byte_level.h"

#include <array>

#include "runtime/text/utf8.h"

namespace mlxpack::tokenizer {

namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<std::string, 256> to_utf8;
  std::array<int, 512> to_byte{};  // every mapped code point is < 0x144
  Tables() {
    to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      // Bytes that are printable stand for themselves; the rest are moved
      // to 256 + n in byte order (GPT-2's bytes_to_unicode).
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      to_char[b] = cp;
      text::append_utf8(&to_utf8[b], cp);
      to_byte[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(uint8_t byte) { return tables().to_char[byte]; }

int char_to_byte(char32_t cp) { return cp < 512 ? tables().to_byte[cp] : -1; }

void append_byte_level(std::string_view bytes, std::string* out) {
  const Tables& t = tables();
  // Sized exactly first: most pieces are words short enough to stay in the
  // string's inline buffer, which a generous reserve would give up.
  size_t n = 0;
  for (char c : bytes) n += t.to_utf8[static_cast<uint8_t>(c)].size();
  out->reserve(out->size() + n);
  for (char c : bytes) *out += t.to_utf8[static_cast<uint8_t>(c)];
}

bool bytes_from_byte_level(std::string_view s, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    if (!text::decode_next(s, &i, &cp)) return false;
    const int b = char_to_byte(cp);
    if (b < 0) return false;
    out->push_back(static_cast<char>(b));
  }
  return true;
}

}  // namespace mlxpack::tokenizer
