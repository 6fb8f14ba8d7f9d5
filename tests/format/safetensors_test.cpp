#include "format/safetensors.h"

#include <gtest/gtest.h>

#include "format/byte_order.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

std::string with_prefix(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  store_le64(reinterpret_cast<uint8_t*>(out.data()), header.size());
  return out + header + data;
}

Result<SafetensorsHeader> parse(const std::string& file) {
  const auto* p = reinterpret_cast<const uint8_t*>(file.data());
  auto n = parse_safetensors_header_size(p, file.size(), "t.safetensors");
  if (!n.is_ok()) return n.status();
  return parse_safetensors_header(file.substr(8, *n), file.size(), "t.safetensors");
}

void expect_bad(const std::string& file, const std::string& fragment) {
  auto r = parse(file);
  ASSERT_FALSE(r.is_ok()) << "accepted: " << file.substr(8);
  EXPECT_EQ(r.status().format_error(), FormatError::kBadSafetensors) << r.status().to_string();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("t.safetensors"), std::string::npos);
}

TEST(SafetensorsTest, EncodeThenParseRoundTrips) {
  const auto tensors = test::sample_tensors();
  const std::string file = encode_safetensors(tensors, {{"format", "pt"}});
  auto h = parse(file);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  ASSERT_EQ(h->tensors.size(), tensors.size());
  EXPECT_EQ(h->data_offset() % 8, 0u);
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(h->tensors[i].name, tensors[i].name);
    EXPECT_EQ(h->tensors[i].dtype, tensors[i].dtype);
    EXPECT_EQ(h->tensors[i].shape, tensors[i].shape);
    EXPECT_EQ(file.substr(h->data_offset() + h->tensors[i].data_begin, h->tensors[i].size_bytes()), tensors[i].bytes);
  }
}

TEST(SafetensorsTest, HeaderLengthBeyondFileIsRejected) {
  std::string file = with_prefix("{}", "");
  store_le64(reinterpret_cast<uint8_t*>(file.data()), 1000);
  expect_bad(file, "only 2 bytes follow");
}

TEST(SafetensorsTest, HeaderOverLimitIsRejected) {
  std::string file = with_prefix("{}", "");
  store_le64(reinterpret_cast<uint8_t*>(file.data()), 200'000'000);
  expect_bad(file, "limit");
}

TEST(SafetensorsTest, ShortFileIsRejected) { expect_bad(std::string("\x02\0\0", 3), "too short"); }

TEST(SafetensorsTest, MalformedJsonIsRejected) {
  expect_bad(with_prefix("{\"a\":", ""), "not valid JSON");
  expect_bad(with_prefix("[1,2]   ", ""), "does not start with '{'");
}

TEST(SafetensorsTest, OffsetsOutOfRangeAreRejected) {
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", "ab"), "past the 2-byte data section");
}

TEST(SafetensorsTest, OverlapIsRejected) {
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                         "abcdef"),
             "overlap");
}

TEST(SafetensorsTest, HoleIsRejected) {
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", "abcd"), "hole");
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "abcd"), "trailing bytes");
}

TEST(SafetensorsTest, SizeNotMatchingDtypeAndShapeIsRejected) {
  expect_bad(with_prefix(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"), "give 8 bytes");
  expect_bad(with_prefix(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", "abcd"),
             "more than 2^64");
}

TEST(SafetensorsTest, MalformedTensorFieldsAreRejected) {
  expect_bad(with_prefix(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", "a"), "'dtype'");
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "a"), "shape");
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}})", "a"), "data_offsets");
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", "a"), "rank 9");
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}})", "a"), "unknown field");
  expect_bad(with_prefix(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}})", "a"),
             "twice");
  expect_bad(with_prefix(R"({"__metadata__":{"k":1}})", ""), "__metadata__");
}

TEST(SafetensorsTest, UnknownDtypeIsUnsupported) {
  auto r = parse(with_prefix(R"({"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", "a"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("'F4'"), std::string::npos);
}

TEST(SafetensorsTest, SharedSamplesParse) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("safetensors-samples", dir);
  for (const std::string& name : test::list_files(dir)) {
    if (name.find(".safetensors") == std::string::npos) continue;
    auto h = parse(test::read_file(dir + "/" + name));
    EXPECT_TRUE(h.is_ok()) << name << ": " << h.status().to_string();
  }
}

}  // namespace
}  // namespace mlxpack
