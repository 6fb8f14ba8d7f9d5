#include "inspect/extract.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

namespace fs = std::filesystem;

// Packs `dir`, extracts the pack, and checks every packed file came back
// byte for byte (a full byte comparison, stronger than comparing sha256).
void expect_round_trip(const std::string& dir, std::vector<std::string> expected_files) {
  std::sort(expected_files.begin(), expected_files.end());
  test::TempDir tmp;
  test::pack_or_die(dir, tmp.file("p.mlxpack"));
  auto r = Reader::open(tmp.file("p.mlxpack"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ExtractOptions o;
  o.output_dir = tmp.file("out");
  auto files = extract_pack(**r, o);
  ASSERT_TRUE(files.is_ok()) << files.status().to_string();
  EXPECT_EQ(test::list_files(o.output_dir), expected_files);
  for (const std::string& f : expected_files) {
    const std::string original = test::read_file(dir + "/" + f);
    const std::string restored = test::read_file(o.output_dir + "/" + f);
    ASSERT_EQ(restored.size(), original.size()) << f;
    EXPECT_TRUE(restored == original) << f << " differs";
  }
}

TEST(ExtractTest, StoriesRoundTripsByteForByte) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  expect_round_trip(dir, {"config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
                          "tokenizer.json", "tokenizer_config.json"});
}

TEST(ExtractTest, ShardedStoriesRoundTripsByteForByte) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K-sharded", dir);
  expect_round_trip(dir, {"config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                          "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                          "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"});
}

// Each sample (one per dtype, with __metadata__) packed beside a config.json.
TEST(ExtractTest, SafetensorsSamplesRoundTripByteForByte) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("safetensors-samples", dir);
  int n = 0;
  for (const std::string& name : test::list_files(dir)) {
    if (name.size() < 12 || name.substr(name.size() - 12) != ".safetensors") continue;
    test::TempDir model;
    test::write_file(model.file("config.json"), "{}");
    fs::copy_file(dir + "/" + name, model.file(name));
    expect_round_trip(model.path(), {"config.json", name});
    ++n;
  }
  EXPECT_EQ(n, 10);
}

TEST(ExtractTest, GeneratedFixturesRoundTrip) {
  test::TempDir tmp;
  std::vector<SafetensorsWriteTensor> tensors;
  for (uint8_t code = 1; code <= kMaxDTypeCode; ++code) {
    const auto dtype = static_cast<DType>(code);
    tensors.push_back({std::string("t.") + dtype_name(dtype), dtype, {2, 3}, test::random_bytes(6 * dtype_size_bytes(dtype), code)});
  }
  tensors.push_back({"scalar", DType::kF64, {}, test::random_bytes(8, 99)});
  tensors.push_back({"zero", DType::kF32, {0, 7}, ""});
  tensors.push_back({"ünïcødé.权重", DType::kU8, {1}, "u"});
  test::write_model_dir(tmp.file("m"), tensors);
  test::write_file(tmp.file("m/tokenizer.json"), std::string(3000, 'q'));
  test::write_file(tmp.file("m/chat_template.jinja"), "{{ messages }}");
  expect_round_trip(tmp.file("m"), {"chat_template.jinja", "config.json", "model.safetensors", "tokenizer.json"});
}

// Zero-sized tensors share their offset with the next tensor; whatever the
// name order, the file comes back in its own order.
TEST(ExtractTest, ZeroSizedTensorsBeforeOthersAtTheSameOffsetRoundTrip) {
  test::TempDir tmp;
  test::write_model_dir(tmp.file("m"), {
                                           {"z.empty", DType::kF32, {0}, ""},
                                           {"a.data", DType::kU8, {4}, "abcd"},
                                           {"y.empty", DType::kF16, {3, 0}, ""},
                                           {"b.data", DType::kU8, {2}, "ef"},
                                       });
  expect_round_trip(tmp.file("m"), {"config.json", "model.safetensors"});
}

TEST(ExtractTest, TenThousandTensorsWithUnicodeNamesRoundTrip) {
  test::TempDir tmp;
  std::vector<SafetensorsWriteTensor> tensors;
  for (int i = 0; i < 10000; ++i) {
    tensors.push_back({"блок." + std::to_string(i) + ".重み", i % 2 ? DType::kBF16 : DType::kU8,
                       {static_cast<uint64_t>(i % 7)}, test::random_bytes((i % 7) * (i % 2 ? 2 : 1), i)});
  }
  test::write_model_dir(tmp.file("m"), tensors);
  expect_round_trip(tmp.file("m"), {"config.json", "model.safetensors"});
}

TEST(ExtractTest, OneFileAndOverwriteRules) {
  test::TempDir tmp;
  test::write_model_dir(tmp.file("m"), test::sample_tensors());
  test::pack_or_die(tmp.file("m"), tmp.file("p.mlxpack"));
  auto r = Reader::open(tmp.file("p.mlxpack"));
  ASSERT_TRUE(r.is_ok());
  ExtractOptions o;
  o.output_dir = tmp.file("out");
  o.only = "config.json";
  auto one = extract_pack(**r, o);
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(test::list_files(o.output_dir), std::vector<std::string>{"config.json"});

  o.only.clear();
  auto again = extract_pack(**r, o);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  // Nothing else was written before the refusal.
  EXPECT_EQ(test::list_files(o.output_dir), std::vector<std::string>{"config.json"});
  o.overwrite = true;
  EXPECT_TRUE(extract_pack(**r, o).is_ok());
  EXPECT_EQ(test::list_files(o.output_dir).size(), 2u);

  o.only = "nothing.json";
  EXPECT_EQ(extract_pack(**r, o).status().code(), StatusCode::kNotFound);
}

TEST(ExtractTest, CorruptEntryIsNotWritten) {
  test::TempDir tmp;
  test::write_model_dir(tmp.file("m"), test::sample_tensors());
  test::pack_or_die(tmp.file("m"), tmp.file("p.mlxpack"));
  std::string bytes = test::read_file(tmp.file("p.mlxpack"));
  {
    auto r = Reader::open(tmp.file("p.mlxpack"));
    ASSERT_TRUE(r.is_ok());
    bytes[(*r)->entry(0).offset] ^= 1;  // first tensor's first byte
  }
  test::write_file(tmp.file("bad.mlxpack"), bytes);
  auto r = Reader::open(tmp.file("bad.mlxpack"));
  ASSERT_TRUE(r.is_ok());
  ExtractOptions o;
  o.output_dir = tmp.file("out");
  auto files = extract_pack(**r, o);
  ASSERT_FALSE(files.is_ok());
  EXPECT_EQ(files.status().format_error(), FormatError::kChecksumMismatch);
  for (const auto& f : test::list_files(o.output_dir)) EXPECT_NE(f, "model.safetensors");
}

}  // namespace
}  // namespace mlxpack
