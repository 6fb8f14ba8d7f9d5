#include "mlxpack/loader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "format/layout.h"
#include "format/safetensors.h"
#include "mlxpack/mlxpack.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tensors_ = test::sample_tensors();
    test::write_model_dir(dir_.file("m"), tensors_);
    tokenizer_ = std::string(5000, 't') + "{\"vocab\": {}}";
    test::write_file(dir_.file("m/tokenizer.json"), tokenizer_);
    path_ = dir_.file("m.mlxpack");
    test::pack_or_die(dir_.file("m"), path_);
  }

  // Flips one byte at `offset` in a copy of the pack and returns its path.
  std::string corrupted_copy(uint64_t offset) {
    std::string bytes = test::read_file(path_);
    bytes[offset] ^= 0x01;
    const std::string p = dir_.file("bad.mlxpack");
    test::write_file(p, bytes);
    return p;
  }

  test::TempDir dir_;
  std::vector<SafetensorsWriteTensor> tensors_;
  std::string tokenizer_;
  std::string path_;
};

TEST_F(ReaderTest, TensorViewsPointIntoTheMappingWithoutCopy) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const std::string file = test::read_file(path_);
  for (const auto& want : tensors_) {
    auto t = (*r)->tensor(want.name);
    ASSERT_TRUE(t.is_ok()) << want.name;
    EXPECT_EQ(t->name, want.name);
    EXPECT_EQ(t->dtype, want.dtype);
    ASSERT_EQ(t->size_bytes, want.bytes.size());
    EXPECT_EQ(std::memcmp(t->data, want.bytes.data(), want.bytes.size()), 0);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 64, 0u);
    // Same pointer twice: a view, not a copy.
    EXPECT_EQ((*r)->tensor(want.name)->data, t->data);
  }
  auto missing = (*r)->tensor("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
}

TEST_F(ReaderTest, FilesComeBackDecompressed) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  auto tok = (*r)->file("tokenizer.json");
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_EQ(*tok, tokenizer_);
  bool compressed = false;
  for (uint64_t i = 0; i < (*r)->entry_count(); ++i) {
    const EntryInfo e = (*r)->entry(i);
    if (e.name == "tokenizer.json") compressed = e.compressed && e.stored_size_bytes < e.original_size_bytes;
  }
  EXPECT_TRUE(compressed);
  EXPECT_EQ((*r)->file("missing.json").status().code(), StatusCode::kNotFound);
}

TEST_F(ReaderTest, InfoCountsEntries) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  const PackInfo& info = (*r)->info();
  EXPECT_EQ(info.tensor_count, 4u);
  EXPECT_EQ(info.file_count, 2u);
  EXPECT_EQ(info.source_count, 1u);
  EXPECT_EQ(info.checksum_algorithm, "XXH3-128");
  EXPECT_EQ(info.version_major, 1);
}

TEST_F(ReaderTest, SoundPackVerifies) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  for (unsigned threads : {1u, 2u, 8u}) {
    auto bad = (*r)->verify_all(threads);
    ASSERT_TRUE(bad.is_ok());
    EXPECT_TRUE(bad->empty()) << (*bad)[0].name << ": " << (*bad)[0].reason;
  }
  EXPECT_TRUE((*r)->verify("model.safetensors").is_ok());
  EXPECT_EQ((*r)->verify("nothing").code(), StatusCode::kNotFound);
}

// A single changed byte in any entry's stored bytes is reported under that
// entry's name, and only that one; a changed index byte fails open.
TEST_F(ReaderTest, EveryChangedDataByteIsReportedUnderItsEntry) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  // EntryInfo::name views the reader's index: keep owned copies, since the
  // reader is closed before the copies are opened.
  struct Owned {
    std::string name;
    EntryType type;
    uint64_t offset, stored_size_bytes;
  };
  std::vector<Owned> entries;
  for (uint64_t i = 0; i < (*r)->entry_count(); ++i) {
    const EntryInfo e = (*r)->entry(i);
    entries.push_back({std::string(e.name), e.type, e.offset, e.stored_size_bytes});
  }
  r->reset();
  for (const Owned& e : entries) {
    for (uint64_t at : {uint64_t{0}, e.stored_size_bytes / 2, e.stored_size_bytes - 1}) {
      if (e.stored_size_bytes == 0) continue;
      auto bad_reader = Reader::open(corrupted_copy(e.offset + at));
      ASSERT_TRUE(bad_reader.is_ok()) << "data corruption must not fail open";
      auto bad = (*bad_reader)->verify_all(2);
      ASSERT_TRUE(bad.is_ok());
      ASSERT_EQ(bad->size(), 1u) << e.name << " byte " << at;
      EXPECT_EQ((*bad)[0].name, e.name);
      EXPECT_EQ((*bad)[0].type, e.type);
      EXPECT_NE((*bad)[0].reason.find("checksum_mismatch"), std::string::npos) << (*bad)[0].reason;
      EXPECT_EQ((*bad_reader)->verify(e.name).format_error(), FormatError::kChecksumMismatch);
    }
  }
}

// verify_all reads entries through a chunk buffer (1 MiB): a tensor of
// several chunks whose last chunk is short, changed in its first, a middle
// and its last chunk, is reported each time; unchanged, it verifies.
TEST(ReaderVerify, ChangesInEveryChunkOfALargeEntryAreFound) {
  test::TempDir dir;
  const uint64_t floats = (uint64_t{5} << 20) / 2 + 123;  // 2.5 MiB and a bit
  test::write_model_dir(dir.file("m"), {{"big", DType::kF32, {floats}, test::random_bytes(floats * 4, 3)}});
  const std::string path = dir.file("m.mlxpack");
  test::pack_or_die(dir.file("m"), path);
  auto r = Reader::open(path);
  ASSERT_TRUE(r.is_ok());
  ASSERT_TRUE((*r)->verify_all(1)->empty());
  uint64_t offset = 0;
  for (uint64_t i = 0; i < (*r)->entry_count(); ++i) {
    if ((*r)->entry(i).name == "big") offset = (*r)->entry(i).offset;
  }
  ASSERT_GT(offset, 0u);
  r->reset();
  const std::string original = test::read_file(path);
  for (uint64_t at : {uint64_t{0}, uint64_t{1} << 20, (uint64_t{1} << 21) + 5, floats * 4 - 1}) {
    std::string bytes = original;
    bytes[offset + at] ^= 0x40;
    test::write_file(dir.file("bad.mlxpack"), bytes);
    for (unsigned threads : {1u, 2u}) {
      auto bad_reader = Reader::open(dir.file("bad.mlxpack"));
      ASSERT_TRUE(bad_reader.is_ok());
      auto bad = (*bad_reader)->verify_all(threads);
      ASSERT_TRUE(bad.is_ok());
      ASSERT_EQ(bad->size(), 1u) << "byte " << at;
      EXPECT_EQ((*bad)[0].name, "big");
      EXPECT_NE((*bad)[0].reason.find("checksum_mismatch"), std::string::npos) << (*bad)[0].reason;
    }
  }
}

TEST_F(ReaderTest, ChangedPaddingIsReported) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  const EntryInfo first = (*r)->entry(0);
  // Find an entry followed by padding.
  for (uint64_t i = 0; i < (*r)->entry_count(); ++i) {
    const EntryInfo e = (*r)->entry(i);
    if (e.stored_size_bytes % 64 == 0) continue;
    auto bad_reader = Reader::open(corrupted_copy(e.offset + e.stored_size_bytes));
    ASSERT_TRUE(bad_reader.is_ok());
    auto bad = (*bad_reader)->verify_all(1);
    ASSERT_TRUE(bad.is_ok());
    ASSERT_EQ(bad->size(), 1u);
    EXPECT_NE((*bad)[0].reason.find("nonzero_padding"), std::string::npos);
    return;
  }
  FAIL() << "no padding in the fixture";
}

TEST_F(ReaderTest, ChangedIndexByteFailsOpen) {
  const std::string bytes = test::read_file(path_);
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  const PackInfo info = (*r)->info();
  const uint64_t index_offset = info.file_size_bytes - layout::kSuperblockSize - info.index_size_bytes;
  for (uint64_t at = 0; at < info.index_size_bytes; at += 37) {
    auto bad = Reader::open(corrupted_copy(index_offset + at));
    ASSERT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().format_error(), FormatError::kIndexChecksum);
  }
}

TEST_F(ReaderTest, LazyModeChecksATensorOnFirstUse) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  uint64_t offset = 0;
  for (uint64_t i = 0; i < (*r)->entry_count(); ++i) {
    if ((*r)->entry(i).name == tensors_[0].name) offset = (*r)->entry(i).offset;
  }
  const std::string bad_path = corrupted_copy(offset + 3);
  auto plain = Reader::open(bad_path);
  ASSERT_TRUE(plain.is_ok());
  EXPECT_TRUE((*plain)->tensor(tensors_[0].name).is_ok());  // kNone: not checked
  auto lazy = Reader::open(bad_path, {VerifyMode::kLazy});
  ASSERT_TRUE(lazy.is_ok());
  EXPECT_TRUE((*lazy)->tensor(tensors_[1].name).is_ok());
  for (int twice = 0; twice < 2; ++twice) {
    auto t = (*lazy)->tensor(tensors_[0].name);
    ASSERT_FALSE(t.is_ok());
    EXPECT_EQ(t.status().format_error(), FormatError::kChecksumMismatch);
  }
  auto at_open = Reader::open(bad_path, {VerifyMode::kAtOpen});
  ASSERT_FALSE(at_open.is_ok());
  EXPECT_NE(at_open.status().message().find(tensors_[0].name), std::string::npos);
}

TEST_F(ReaderTest, ManyThreadsReadAndVerifyAtOnce) {
  auto r = Reader::open(path_, {VerifyMode::kLazy});
  ASSERT_TRUE(r.is_ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        for (const auto& t : tensors_) failures += !(*r)->tensor(t.name).is_ok();
        failures += !(*r)->verify("tokenizer.json").is_ok();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(ReaderTest, SourceListsItsTensorsInFileOrder) {
  auto r = Reader::open(path_);
  ASSERT_TRUE(r.is_ok());
  auto s = (*r)->source("model.safetensors");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  ASSERT_EQ(s->tensors.size(), tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) EXPECT_EQ(s->tensors[i].name, tensors_[i].name);
}

TEST_F(ReaderTest, CApiOpensReadsAndVerifies) {
  mlxpack_reader* reader = nullptr;
  ASSERT_EQ(mlxpack_open(path_.c_str(), MLXPACK_VERIFY_LAZY, &reader), MLXPACK_OK) << mlxpack_last_error();
  EXPECT_EQ(mlxpack_entry_count(reader), 7u);
  mlxpack_tensor t;
  ASSERT_EQ(mlxpack_tensor_get(reader, tensors_[0].name.c_str(), &t), MLXPACK_OK);
  EXPECT_STREQ(t.name, tensors_[0].name.c_str());
  EXPECT_EQ(t.size_bytes, tensors_[0].bytes.size());
  EXPECT_EQ(std::memcmp(t.data, tensors_[0].bytes.data(), t.size_bytes), 0);
  EXPECT_EQ(mlxpack_tensor_get(reader, "missing", &t), MLXPACK_NOT_FOUND);
  EXPECT_NE(std::string(mlxpack_last_error()).find("missing"), std::string::npos);
  // Every tensor's file offset holds its bytes in the file itself.
  const std::string file_bytes = test::read_file(path_);
  for (const auto& tensor : tensors_) {
    uint64_t offset = 0;
    ASSERT_EQ(mlxpack_tensor_file_offset(reader, tensor.name.c_str(), &offset), MLXPACK_OK) << tensor.name;
    ASSERT_LE(offset + tensor.bytes.size(), file_bytes.size());
    EXPECT_EQ(file_bytes.compare(offset, tensor.bytes.size(), tensor.bytes), 0) << tensor.name;
  }
  uint64_t offset = 0;
  EXPECT_EQ(mlxpack_tensor_file_offset(reader, "missing", &offset), MLXPACK_NOT_FOUND);
  EXPECT_EQ(mlxpack_tensor_file_offset(reader, "tokenizer.json", &offset), MLXPACK_NOT_FOUND);  // a file
  void* data = nullptr;
  size_t size = 0;
  ASSERT_EQ(mlxpack_file_get(reader, "tokenizer.json", &data, &size), MLXPACK_OK);
  EXPECT_EQ(std::string(static_cast<char*>(data), size), tokenizer_);
  mlxpack_free(data);
  uint64_t n_corrupt = 99;
  EXPECT_EQ(mlxpack_verify_all(reader, 2, nullptr, nullptr, &n_corrupt), MLXPACK_OK);
  EXPECT_EQ(n_corrupt, 0u);
  mlxpack_entry_type type;
  const char* name = nullptr;
  ASSERT_EQ(mlxpack_entry(reader, 6, &type, &name), MLXPACK_OK);
  EXPECT_EQ(type, MLXPACK_ENTRY_SOURCE);
  EXPECT_STREQ(name, "model.safetensors");
  // Names are interned: asking again hands out the same string, not a new copy.
  const char* again = nullptr;
  ASSERT_EQ(mlxpack_entry(reader, 6, &type, &again), MLXPACK_OK);
  EXPECT_EQ(again, name);
  mlxpack_close(reader);

  std::string junk = dir_.file("junk.bin");
  test::write_file(junk, "{\"not\": \"a pack\"}");
  EXPECT_EQ(mlxpack_open(junk.c_str(), MLXPACK_VERIFY_NONE, &reader), MLXPACK_NOT_FOUND);
  EXPECT_EQ(mlxpack_last_format_error(), static_cast<int>(FormatError::kBadMagic));
  EXPECT_EQ(mlxpack_open(dir_.file("absent").c_str(), MLXPACK_VERIFY_NONE, &reader), MLXPACK_IO_ERROR);
}

TEST(ReaderSharedDataTest, StoriesTensorsMatchTheSafetensorsFile) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  test::TempDir tmp;
  test::pack_or_die(dir, tmp.file("s.mlxpack"));
  auto r = Reader::open(tmp.file("s.mlxpack"), {VerifyMode::kAtOpen});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const std::string st = test::read_file(dir + "/model.safetensors");
  const uint64_t n = *reinterpret_cast<const uint64_t*>(st.data());  // test-only, LE host
  auto header = parse_safetensors_header(st.substr(8, n), st.size(), "model.safetensors");
  ASSERT_TRUE(header.is_ok());
  ASSERT_EQ((*r)->info().tensor_count, header->tensors.size());
  for (const auto& t : header->tensors) {
    auto v = (*r)->tensor(t.name);
    ASSERT_TRUE(v.is_ok()) << t.name;
    ASSERT_EQ(v->size_bytes, t.size_bytes());
    EXPECT_EQ(std::memcmp(v->data, st.data() + header->data_offset() + t.data_begin, t.size_bytes()), 0) << t.name;
  }
}

}  // namespace
}  // namespace mlxpack
