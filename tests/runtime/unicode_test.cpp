// Unicode normalization, which mlxpack does piecewise (cut before ASCII
// characters), against utf8proc run over the whole text at once.
#include "runtime/text/unicode.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <random>
#include <string>

#include "runtime/text/utf8.h"

namespace mlxpack::text {
namespace {

std::string whole(const std::string& s, int options) {
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                          static_cast<utf8proc_ssize_t>(s.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  EXPECT_GE(n, 0);
  std::string r(reinterpret_cast<const char*>(out), n < 0 ? 0 : static_cast<size_t>(n));
  std::free(out);
  return r;
}

TEST(Unicode, NormalizingPiecewiseEqualsNormalizingTheWholeText) {
  // ASCII next to what composes, decomposes or reorders: combining marks
  // (several, out of canonical order), Hangul jamo, precomposed Latin and
  // Hangul, compatibility characters, excluded compositions.
  static const std::pair<char32_t, char32_t> kRanges[] = {
      {'a', 'z'},       {'A', 'Z'},       {' ', '@'},       {0x300, 0x36F},   {0x316, 0x319}, {0x1100, 0x1112},
      {0x1161, 0x1175}, {0x11A8, 0x11C2}, {0xAC00, 0xAC40}, {0xC0, 0xFF},     {0xFB00, 0xFB06}, {0x2460, 0x2473},
      {0xFF01, 0xFF5E}, {0x915, 0x93C},   {0x1E00, 0x1E20}, {0x386, 0x3CE},   {0x212B, 0x212B}, {0x2126, 0x2126}};
  const struct {
    NormalForm form;
    int options;
  } kForms[] = {{NormalForm::kNFC, UTF8PROC_STABLE | UTF8PROC_COMPOSE},
                {NormalForm::kNFD, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE},
                {NormalForm::kNFKC, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT},
                {NormalForm::kNFKD, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT}};
  std::mt19937 rng(3);
  size_t changed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const size_t n = rng() % 40;
    for (size_t k = 0; k < n; ++k) {
      const auto& r = kRanges[rng() % (sizeof(kRanges) / sizeof(kRanges[0]))];
      append_utf8(&s, r.first + static_cast<char32_t>(rng() % (r.second - r.first + 1)));
    }
    for (const auto& f : kForms) {
      const std::string expected = whole(s, f.options);
      ASSERT_EQ(normalize(s, f.form), expected) << "text #" << i;
      if (expected != s) ++changed;
    }
  }
  EXPECT_GT(changed, 5000u);  // the texts exercise normalization
  // The classic cases, spelled out.
  EXPECT_EQ(normalize("Cafe\xCC\x81 au lait", NormalForm::kNFC), "Caf\xC3\xA9 au lait");
  EXPECT_EQ(normalize("Caf\xC3\xA9", NormalForm::kNFD), "Cafe\xCC\x81");
  EXPECT_EQ(normalize("\xEF\xAC\x81le", NormalForm::kNFKC), "file");  // U+FB01 ligature
  EXPECT_EQ(normalize("plain ASCII text", NormalForm::kNFKD), "plain ASCII text");
}

}  // namespace
}  // namespace mlxpack::text
