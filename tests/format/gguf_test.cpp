// The GGUF header reader: a real file written by llama.cpp, files built here
// from the specification, and one hostile file per rule (the GGUF parser
// CVEs' checklist), each refused with its own message.
#include "format/gguf.h"

#include <gtest/gtest.h>

#include "tests/support/gguf_builder.h"
#include "tests/support/test_files.h"

namespace mlxpack {
namespace {

using test::GgufBuilder;

Result<GgufFile> parse(const std::string& bytes, bool* more = nullptr) {
  return parse_gguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), bytes.size(), "t.gguf", more);
}

// The error message of parsing `bytes`, which must fail with `code`.
std::string error_of(const std::string& bytes, StatusCode code = StatusCode::kInvalidArgument) {
  Result<GgufFile> r = parse(bytes);
  EXPECT_FALSE(r.is_ok());
  if (r.is_ok()) return "";
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  return r.status().message();
}

GgufBuilder small() {
  GgufBuilder b;
  b.str("general.architecture", "llama").u32("llama.block_count", 2).f32("x.eps", 1e-5f);
  b.strings("tokenizer.ggml.tokens", {"a", "b", "c"}).f32s("tokenizer.ggml.scores", {0, -1, -2});
  b.tensor("w", {32, 2}, 0, std::string(32 * 2 * 4, '\1'));
  b.tensor("q", {64, 1}, 2, std::string(2 * 18, '\2'));
  return b;
}

TEST(Gguf, ReadsLlamaCppsStories260K) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K-gguf", dir);
  Result<GgufFile> f = read_gguf(dir + "/stories260K.gguf");
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->version, 3u);
  EXPECT_EQ(f->alignment, 32u);
  EXPECT_EQ(f->keys.size(), 19u);
  ASSERT_EQ(f->tensors.size(), 48u);
  EXPECT_EQ(f->find("general.architecture")->s, "llama");
  EXPECT_EQ(f->find("llama.block_count")->as_uint(), 5u);
  EXPECT_EQ(f->find("tokenizer.ggml.tokens")->strings.size(), 512u);
  EXPECT_EQ(f->find("tokenizer.ggml.tokens")->strings[259], "\xe2\x96\x81t");
  EXPECT_FLOAT_EQ(static_cast<float>(f->find("tokenizer.ggml.scores")->number_at(260)), -1.0f);
  const GgufTensorInfo* embed = f->tensor("token_embd.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dims, (std::vector<uint64_t>{64, 512}));
  EXPECT_EQ(embed->type, kGgmlF32);
  EXPECT_EQ(embed->size_bytes, 64u * 512 * 4);
  EXPECT_EQ(embed->offset, f->data_offset);
  EXPECT_EQ(f->data_offset % 32, 0u);
  const GgufTensorInfo& last = f->tensors.back();
  EXPECT_EQ(last.offset + last.size_bytes, f->file_size);
}

TEST(Gguf, ReadsWhatTheBuilderWrites) {
  for (uint32_t version : {2u, 3u}) {
    for (uint32_t alignment : {32u, 64u, 1u}) {
      GgufBuilder b = small();
      if (alignment != 32) b.u32("general.alignment", alignment);
      const std::string bytes = b.build(version, alignment);
      Result<GgufFile> f = parse(bytes);
      ASSERT_TRUE(f.is_ok()) << f.status().to_string();
      EXPECT_EQ(f->version, version);
      EXPECT_EQ(f->alignment, alignment);
      EXPECT_EQ(f->find("llama.block_count")->as_uint(), 2u);
      EXPECT_FLOAT_EQ(static_cast<float>(*f->find("x.eps")->as_number()), 1e-5f);
      EXPECT_EQ(f->find("tokenizer.ggml.tokens")->strings, (std::vector<std::string>{"a", "b", "c"}));
      ASSERT_EQ(f->tensors.size(), 2u);
      EXPECT_EQ(f->tensors[1].name, "q");
      EXPECT_EQ(f->tensors[1].size_bytes, 36u);
      EXPECT_EQ(f->tensors[1].rows(), 1u);
      EXPECT_EQ(bytes.substr(f->tensors[1].offset, 36), std::string(36, '\2'));
    }
  }
}

TEST(Gguf, EveryTruncationIsAnErrorAndAsksForMore) {
  const std::string bytes = small().build();
  const size_t data = parse(bytes)->data_offset;
  for (size_t n = 0; n < data; ++n) {
    // The file is this short: an error.
    Result<GgufFile> r = parse(bytes.substr(0, n));
    EXPECT_FALSE(r.is_ok()) << n;
    // Only a prefix of a longer file: an error that asks for more bytes
    // (past the magic), until the prefix holds the whole header (the
    // padding before the data may be missing).
    bool more = false;
    r = parse_gguf(reinterpret_cast<const uint8_t*>(bytes.data()), n, bytes.size(), "t.gguf", &more);
    if (r.is_ok()) {
      EXPECT_EQ(r->data_offset, data) << n;
      EXPECT_GT(n + 32, data) << n;
    } else if (n >= 4) {
      EXPECT_TRUE(more) << n << ": " << r.status().to_string();
    }
  }
}

TEST(Gguf, ReadGgufGrowsItsPrefixToTheWholeHeader) {
  // A header longer than the first 1 MiB read: a 1.5 MiB string.
  GgufBuilder b = small();
  b.str("tokenizer.chat_template", std::string(3 << 19, 'x'));
  test::TempDir dir;
  test::write_file(dir.file("m.gguf"), b.build());
  Result<GgufFile> f = read_gguf(dir.file("m.gguf"));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->find("tokenizer.chat_template")->s.size(), size_t{3} << 19);
}

std::string header(uint32_t version, uint64_t tensors, uint64_t kvs) {
  std::string s = "GGUF";
  test::put_u32(&s, version);
  test::put_u64(&s, tensors);
  test::put_u64(&s, kvs);
  return s;
}

TEST(Gguf, RefusesWrongMagicAndVersions) {
  EXPECT_NE(error_of("GGUX" + std::string(20, '\0')).find("not a GGUF file"), std::string::npos);
  EXPECT_NE(error_of(header(1, 0, 0), StatusCode::kUnsupported).find("version 1"), std::string::npos);
  EXPECT_NE(error_of(header(0x03000000, 0, 0), StatusCode::kUnsupported).find("big-endian"), std::string::npos);
  EXPECT_NE(error_of(header(4, 0, 0), StatusCode::kUnsupported).find("version 4"), std::string::npos);
}

TEST(Gguf, RefusesHugeCountsBeforeAllocating) {
  EXPECT_NE(error_of(header(3, uint64_t{1} << 40, 0)).find("tensor count 1099511627776 (limit"), std::string::npos);
  EXPECT_NE(error_of(header(3, 0, uint64_t{1} << 40)).find("metadata count 1099511627776 (limit"),
            std::string::npos);
  // A tensor count under the limit that cannot fit in the file.
  EXPECT_NE(error_of(header(3, 1000, 0)).find("1000 tensors cannot fit"), std::string::npos);
}

TEST(Gguf, RefusesHugeStringsAndArrays) {
  std::string s = header(3, 0, 1);
  test::put_u64(&s, uint64_t{1} << 62);  // key length
  EXPECT_NE(error_of(s).find("metadata key 0 is 4611686018427387904 bytes long but the file has"), std::string::npos);

  GgufBuilder b;
  std::string v;
  test::put_u64(&v, ~uint64_t{0});  // string value length
  b.raw("k", GgufBuilder::kString, v);
  EXPECT_NE(error_of(b.build()).find("the string value of k is 18446744073709551615 bytes long"), std::string::npos);

  // Array lengths whose item count times item size overflows, or does not fit.
  for (uint64_t n : {~uint64_t{0}, uint64_t{1} << 61, uint64_t{1000}}) {
    std::string a;
    test::put_u32(&a, GgufBuilder::kU64);
    test::put_u64(&a, n);
    GgufBuilder c;
    c.raw("arr", GgufBuilder::kArray, a);
    EXPECT_NE(error_of(c.build()).find("arr: an array of " + std::to_string(n) + " u64 items cannot fit"),
              std::string::npos);
  }
}

TEST(Gguf, RefusesDeepArraysUnknownTypesAndBadBools) {
  std::string a;
  for (int d = 0; d < 4; ++d) {
    test::put_u32(&a, GgufBuilder::kArray);
    test::put_u64(&a, 1);
  }
  test::put_u32(&a, GgufBuilder::kU8);
  test::put_u64(&a, 0);
  GgufBuilder b;
  b.raw("deep", GgufBuilder::kArray, a);
  EXPECT_NE(error_of(b.build()).find("arrays nested deeper than 3"), std::string::npos);

  GgufBuilder c;
  c.raw("k", 13, "");
  EXPECT_NE(error_of(c.build()).find("metadata key k has unknown value type 13"), std::string::npos);

  std::string e;
  test::put_u32(&e, 99);
  test::put_u64(&e, 0);
  GgufBuilder d;
  d.raw("k", GgufBuilder::kArray, e);
  EXPECT_NE(error_of(d.build()).find("k: unknown array element type 99"), std::string::npos);

  GgufBuilder f;
  f.raw("flag", GgufBuilder::kBool, "\x02");
  EXPECT_NE(error_of(f.build()).find("flag: a bool must be 0 or 1, not 2"), std::string::npos);
}

TEST(Gguf, RefusesDuplicateKeysAndTensorNames) {
  GgufBuilder b = small();
  b.u32("llama.block_count", 3);
  EXPECT_NE(error_of(b.build()).find("metadata key llama.block_count appears twice"), std::string::npos);
  GgufBuilder c = small();
  c.tensor("w", {32}, 0, std::string(128, '\0'));
  EXPECT_NE(error_of(c.build()).find("tensor w appears twice"), std::string::npos);
}

TEST(Gguf, RefusesBadTensorShapesTypesAndOffsets) {
  auto with = [](const std::vector<uint64_t>& dims, uint32_t type, const std::string& bytes) {
    GgufBuilder b;
    b.tensor("t", dims, type, bytes);
    return b.build();
  };
  EXPECT_NE(error_of(with({1, 1, 1, 1, 1}, 0, "")).find("tensor t has 5 dimensions (1 to 4)"), std::string::npos);
  EXPECT_NE(error_of(with({4, 0}, 0, "")).find("tensor t: dimension 1 of 0"), std::string::npos);
  EXPECT_NE(error_of(with({uint64_t{1} << 32, uint64_t{1} << 32}, 0, "")).find("past 2^63"), std::string::npos);
  EXPECT_NE(error_of(with({32}, 4, ""), StatusCode::kUnsupported).find("ggml type id 4"), std::string::npos);
  EXPECT_NE(error_of(with({32}, 1000, ""), StatusCode::kUnsupported).find("ggml type id 1000"), std::string::npos);
  EXPECT_NE(error_of(with({48}, 2, "")).find("rows of 48 are not whole Q4_0 blocks of 32"), std::string::npos);
  // Elements that fit 2^63 but whose byte size overflows 64 bits.
  EXPECT_NE(error_of(with({uint64_t{1} << 40, uint64_t{1} << 22}, 0, "")).find("its size overflows 64 bits"),
            std::string::npos);
  // Data past the end of the file (the builder writes none).
  EXPECT_NE(error_of(with({32, 2}, 0, "")).find("lie outside the file"), std::string::npos);

  // A misaligned offset, written by hand.
  std::string s = header(3, 1, 0);
  test::put_str(&s, "t");
  test::put_u32(&s, 1);
  test::put_u64(&s, 8);
  test::put_u32(&s, 0);
  test::put_u64(&s, 4);  // not a multiple of 32
  s.resize(256, '\0');
  EXPECT_NE(error_of(s).find("data offset 4 is not a multiple of the alignment 32"), std::string::npos);
}

TEST(Gguf, RefusesBadAlignment) {
  for (uint32_t a : {0u, 3u, 48u, 1u << 21}) {
    GgufBuilder b;
    b.u32("general.alignment", a);
    EXPECT_NE(error_of(b.build()).find("general.alignment must be a u32 power of two"), std::string::npos) << a;
  }
  GgufBuilder b;
  b.f32("general.alignment", 32);
  EXPECT_NE(error_of(b.build()).find("general.alignment must be a u32"), std::string::npos);
}

TEST(Gguf, KnowsGgmlBlockSizes) {
  // ggml-common.h: sizeof(block_q4_0) = 2 + 16, block_q6_K = 2 + 16 + 192, ...
  EXPECT_EQ(ggml_type(kGgmlQ4_0)->type_size, 18u);
  EXPECT_EQ(ggml_type(kGgmlQ8_0)->type_size, 34u);
  EXPECT_EQ(ggml_type(kGgmlQ6_K)->type_size, 210u);
  EXPECT_EQ(ggml_type(kGgmlQ4_K)->block_size, 256u);
  EXPECT_EQ(ggml_type(4), nullptr);
  EXPECT_EQ(std::string(ggml_type(kGgmlBF16)->name), "BF16");
}

}  // namespace
}  // namespace mlxpack
