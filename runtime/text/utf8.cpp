#include "runtime/text/utf8.h"

#include <algorithm>

namespace mlxpack::text {

namespace {

// Bounds of the second byte of a sequence led by `lead` (Unicode Table 3-7),
// and how many continuation bytes follow. need == 0: not a lead byte.
struct LeadInfo {
  int need;
  unsigned char lo;
  unsigned char hi;
};

LeadInfo lead_info(unsigned char b) {
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};  // excludes surrogates
  if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};  // <= U+10FFFF
  return {0, 0, 0};
}

}  // namespace

size_t sequence_length(std::string_view s, size_t pos) {
  const auto b = static_cast<unsigned char>(s[pos]);
  if (b < 0x80) return 1;
  const LeadInfo info = lead_info(b);
  if (info.need == 0 || s.size() - pos <= static_cast<size_t>(info.need)) return 0;
  const auto b1 = static_cast<unsigned char>(s[pos + 1]);
  if (b1 < info.lo || b1 > info.hi) return 0;
  for (int k = 2; k <= info.need; ++k) {
    const auto bk = static_cast<unsigned char>(s[pos + k]);
    if (bk < 0x80 || bk > 0xBF) return 0;
  }
  return static_cast<size_t>(info.need) + 1;
}

bool decode_next(std::string_view s, size_t* pos, char32_t* cp) {
  const size_t len = sequence_length(s, *pos);
  if (len == 0) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + *pos);
  switch (len) {
    case 1: *cp = p[0]; break;
    case 2: *cp = (char32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F); break;
    case 3: *cp = (char32_t(p[0] & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F); break;
    default:
      *cp = (char32_t(p[0] & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) |
            (p[3] & 0x3F);
  }
  *pos += len;
  return true;
}

std::optional<size_t> find_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = sequence_length(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::nullopt;
}

void append_utf8(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string decode_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    const LeadInfo info = lead_info(b);
    if (info.need == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    // Consume the longest prefix that could still start a valid sequence:
    // that prefix (the "maximal subpart") becomes one U+FFFD.
    size_t j = i + 1;
    bool complete = true;
    for (int k = 0; k < info.need; ++k, ++j) {
      if (j >= bytes.size()) {
        complete = false;
        break;
      }
      const auto c = static_cast<unsigned char>(bytes[j]);
      const unsigned char lo = k == 0 ? info.lo : 0x80;
      const unsigned char hi = k == 0 ? info.hi : 0xBF;
      if (c < lo || c > hi) {
        complete = false;
        break;
      }
    }
    if (complete) {
      out.append(bytes.substr(i, j - i));
    } else {
      out += "\xEF\xBF\xBD";
    }
    i = j;
  }
  return out;
}

bool is_js_space(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string_view trim_if(std::string_view s, bool (*pred)(char32_t), bool left, bool right) {
  size_t begin = 0;
  size_t end = s.size();
  if (left) {
    while (begin < end) {
      size_t p = begin;
      char32_t cp;
      if (!decode_next(s, &p, &cp) || !pred(cp)) break;
      begin = p;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      size_t p = start;
      char32_t cp;
      if (!decode_next(s, &p, &cp) || p != end || !pred(cp)) break;
      end = start;
    }
  }
  return s.substr(begin, end - begin);
}

std::string_view trim_js_space(std::string_view s, bool left, bool right) { return trim_if(s, is_js_space, left, right); }

std::vector<std::string> split_codepoints(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t len = std::max<size_t>(1, sequence_length(s, i));
    out.emplace_back(s.substr(i, len));
    i += len;
  }
  return out;
}

size_t codepoint_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace mlxpack::text
