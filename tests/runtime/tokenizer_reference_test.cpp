// Every case of ../shared/reference/tokenizers/: ids, ids with special
// tokens and decoded text must equal what the Hugging Face implementation
// produced for the same tokenizer files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mlxpack/tokenizer.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

struct ReferenceSet {
  const char* name;
  const char* tokenizer_dir;  // relative to the test data
};

const ReferenceSet kSets[] = {
    {"llama3", "tokenizers/llama3"},
    {"qwen3", "tokenizers/qwen3"},
    {"mistral", "tokenizers/mistral"},
    {"stories260K", "models/stories260K"},
};

class TokenizerReferenceTest : public ::testing::TestWithParam<ReferenceSet> {};

TEST_P(TokenizerReferenceTest, EveryCaseMatchesTheReference) {
  const ReferenceSet& set = GetParam();
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA(set.tokenizer_dir, dir);
  std::string reference_path;
  MLXPACK_REQUIRE_TEST_DATA(std::string("reference/tokenizers/") + set.name + ".json", reference_path);
  auto tok = Tokenizer::load(dir);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  const auto reference = nlohmann::json::parse(test::read_file(reference_path));
  ASSERT_GE(reference["cases"].size(), 50u);
  size_t checked = 0;
  for (const auto& c : reference["cases"]) {
    const std::string text = c["text"];
    auto ids = (*tok)->encode(text, false);
    ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>()) << set.name << ": " << text;
    auto with_special = (*tok)->encode(text, true);
    ASSERT_TRUE(with_special.is_ok());
    EXPECT_EQ(*with_special, c["ids_with_special_tokens"].get<std::vector<int32_t>>()) << set.name << ": " << text;
    auto decoded = (*tok)->decode(c["ids"].get<std::vector<int32_t>>());
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, c["decoded"].get<std::string>()) << set.name << ": " << text;
    ++checked;
  }
  EXPECT_EQ(checked, reference["cases"].size());
}

INSTANTIATE_TEST_SUITE_P(AllReferenceSets, TokenizerReferenceTest, ::testing::ValuesIn(kSets),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mlxpack
