#include "format/names.h"

#include <gtest/gtest.h>

namespace mlxpack {
namespace {

TEST(NamesTest, SafeRelativePathsAreAccepted) {
  for (const char* p : {"config.json", "sub/dir/file.txt", "tokenizer.model", "naïve/файл.json", "a..b", ".hidden"}) {
    EXPECT_EQ(check_relative_path(p), "") << p;
  }
}

TEST(NamesTest, UnsafePathsAreRejectedWithAReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"/etc/passwd", "absolute"}, {"../x", "'..'"},     {"a/../../x", "'..'"}, {"a\\b", "backslash"},
      {"a//b", "empty component"}, {"a/", "empty component"}, {"./a", "'.'"},  {std::string("a\0b", 3), "NUL"},
      {"", "empty"},
  };
  for (const auto& [path, reason] : cases) {
    const std::string got = check_relative_path(path);
    EXPECT_NE(got.find(reason), std::string::npos) << "'" << path << "' gave '" << got << "'";
  }
}

TEST(NamesTest, NamesMustBeValidUtf8AndBounded) {
  EXPECT_EQ(check_entry_name("model.layers.0.\xE2\x9C\x93"), "");
  EXPECT_NE(check_entry_name("\xFF"), "");
  EXPECT_NE(check_entry_name("\xC0\xAF"), "");          // overlong '/'
  EXPECT_NE(check_entry_name("\xED\xA0\x80"), "");      // surrogate
  EXPECT_NE(check_entry_name("\xE2\x9C"), "");          // truncated
  EXPECT_EQ(check_entry_name(std::string(4096, 'a')), "");
  EXPECT_NE(check_entry_name(std::string(4097, 'a')).find("4096"), std::string::npos);
}

}  // namespace
}  // namespace mlxpack
