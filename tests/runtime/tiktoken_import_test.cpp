// Llama 3's tiktoken tokenizer.model turned into tokenizer.json
// (convert/meta/tiktoken_import.h), against the tokenizer.json transformers
// ships for Llama 3 (test data): the tiktoken file is written from that
// tokenizer.json's vocabulary (each token's bytes in base64 at its rank,
// as Meta's file has them), imported, and must give the same merges, the
// same special tokens and the same ids on every text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convert/meta/tiktoken_import.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/tokenizer_config.h"
#include "tests/support/test_support.h"

namespace mlxpack::test {
namespace {

// GPT-2's byte-level characters back to bytes.
std::string to_bytes(const std::string& chars) {
  std::vector<int> cp_of_byte(256);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cp_of_byte[b] = printable ? b : 256 + extra++;
  }
  std::string out;
  for (size_t i = 0; i < chars.size();) {
    const unsigned char c = chars[i];
    int cp = c < 0x80 ? c : ((c & 0x1F) << 6) | (chars[i + 1] & 0x3F);
    i += c < 0x80 ? 1 : 2;
    for (int b = 0; b < 256; ++b) {
      if (cp_of_byte[b] == cp) out.push_back(static_cast<char>(b));
    }
  }
  return out;
}

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) n |= uint8_t(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= uint8_t(in[i + 2]);
    out += k[n >> 18];
    out += k[(n >> 12) & 63];
    out += i + 1 < in.size() ? k[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? k[n & 63] : '=';
  }
  return out;
}

TEST(TiktokenImport, Llama3sFileBecomesTheTokenizerTransformersShips) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama3", dir);
  const std::string reference_json = read_file(dir + "/tokenizer.json");
  const nlohmann::json reference = nlohmann::json::parse(reference_json);
  const nlohmann::json& vocab = reference["model"]["vocab"];
  std::vector<std::string> by_rank(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) by_rank.at(it.value().get<size_t>()) = it.key();
  std::string file;
  for (size_t r = 0; r < by_rank.size(); ++r) file += base64(to_bytes(by_rank[r])) + " " + std::to_string(r) + "\n";
  ASSERT_TRUE(looks_like_tiktoken(file));
  auto imported = import_tiktoken(file, "tokenizer.model", /*llama31_specials=*/false, 8192);
  ASSERT_TRUE(imported.is_ok()) << imported.status().to_string();
  const nlohmann::json mine = nlohmann::json::parse(imported->tokenizer_json);
  EXPECT_EQ(mine["model"]["merges"].size(), reference["model"]["merges"].size());
  EXPECT_EQ(mine["model"]["merges"], reference["model"]["merges"]);
  ASSERT_EQ(mine["added_tokens"].size(), reference["added_tokens"].size());
  for (size_t k = 0; k < mine["added_tokens"].size(); ++k) {
    EXPECT_EQ(mine["added_tokens"][k]["content"], reference["added_tokens"][k]["content"]) << k;
    EXPECT_EQ(mine["added_tokens"][k]["id"], reference["added_tokens"][k]["id"]) << k;
  }
  EXPECT_EQ(imported->bos, 128000);
  EXPECT_EQ(imported->eos, (std::vector<int64_t>{128001, 128009}));

  auto ours = tokenizer::make_hf_tokenizer(imported->tokenizer_json, {}, "imported", TokenizerLimits{});
  auto theirs = tokenizer::make_hf_tokenizer(reference_json, {}, "reference", TokenizerLimits{});
  ASSERT_TRUE(ours.is_ok()) << ours.status().to_string();
  ASSERT_TRUE(theirs.is_ok()) << theirs.status().to_string();
  for (const std::string& text : std::vector<std::string>{"Once upon a time, there was a little girl named Lily.", "  leading spaces\n\n\ttabs and\r\nnewlines   ",
        "int main() { return 42; } // 1234567 3.14159", "naïve café — 東京タワー 🚀🚀 Привет мир",
        "I'm can't we'll they've SHE'S", "<|begin_of_text|>Hello<|eot_id|>"}) {
    auto a = (*ours)->encode(text, false);
    auto b = (*theirs)->encode(text, false);
    ASSERT_TRUE(a.is_ok() && b.is_ok()) << text;
    EXPECT_EQ(*a, *b) << text;
  }
  auto with_bos = (*ours)->encode("Hi", true);
  ASSERT_TRUE(with_bos.is_ok());
  EXPECT_EQ(with_bos->front(), 128000);
}

TEST(TiktokenImport, MalformedFilesAreRefusedByLine) {
  const struct {
    std::string file;
    const char* error;
  } cases[] = {
      {"QQ== 0\nQg== 2\n", "line 2: rank '2', expected 1"},
      {"QQ== 0\n*** 1\n", "line 2: not '<base64 token> <rank>'"},
      {"QQ== 0\nQQ== 1\n", "line 2: the token is already at rank 0"},
      {"QQ== 0\nQg 1\n", "line 2: not '<base64 token> <rank>'"},
      {"QQ== 99999999999\n", "line 1: rank '99999999999'"},
  };
  for (const auto& c : cases) {
    auto r = import_tiktoken(c.file, "t.model", true, 4096);
    ASSERT_FALSE(r.is_ok()) << c.file;
    EXPECT_NE(r.status().message().find(c.error), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().message().find("t.model"), std::string::npos);
  }
}

}  // namespace
}  // namespace mlxpack::test
