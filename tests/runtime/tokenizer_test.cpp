// Tokenizer behaviour beyond the reference cases: round trips, added
// tokens, loading from packs and tokenizer.model, and hostile input.
#include "mlxpack/tokenizer.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "runtime/text/unicode.h"
#include "runtime/text/utf8.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

std::unique_ptr<Tokenizer> load_or_die(const std::string& dir) {
  auto tok = Tokenizer::load(dir);
  EXPECT_TRUE(tok.is_ok()) << tok.status().to_string();
  return tok.is_ok() ? std::move(tok).value() : nullptr;
}

// Random text mixing ASCII words, Latin-1, CJK, emoji, combining marks,
// whitespace runs and control characters: every code point is valid.
std::string random_unicode(std::mt19937& rng, size_t n_codepoints) {
  static const std::pair<char32_t, char32_t> kRanges[] = {
      {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x17F}, {0x300, 0x36F}, {0x391, 0x3C9},
      {0x410, 0x44F}, {0x5D0, 0x5EA}, {0x900, 0x97F}, {0x3040, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
      {0x1F300, 0x1F64F}, {0x2000, 0x206F}, {0xE000, 0xE0FF}, {0x10000, 0x1007F}};
  std::string s;
  for (size_t i = 0; i < n_codepoints; ++i) {
    const auto& r = kRanges[rng() % (sizeof(kRanges) / sizeof(kRanges[0]))];
    text::append_utf8(&s, r.first + static_cast<char32_t>(rng() % (r.second - r.first + 1)));
  }
  return s;
}

struct RoundTripSet {
  const char* dir;
  bool normalizes;  // NFC normalizer: compare against the NFC form
};

TEST(TokenizerRoundTrip, RandomUnicodeDecodesBackToItsText) {
  const RoundTripSet sets[] = {{"tokenizers/llama3", false},
                               {"tokenizers/qwen3", true},
                               {"tokenizers/mistral", false},
                               {"models/stories260K", false}};
  for (const RoundTripSet& set : sets) {
    std::string dir;
    MLXPACK_REQUIRE_TEST_DATA(set.dir, dir);
    auto tok = load_or_die(dir);
    ASSERT_TRUE(tok);
    std::mt19937 rng(1234);
    DecodeOptions no_cleanup;
    no_cleanup.clean_up_tokenization_spaces = false;
    for (int round = 0; round < 200; ++round) {
      const std::string s = random_unicode(rng, 1 + rng() % 60);
      auto ids = tok->encode(s);
      ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
      auto back = tok->decode(*ids, no_cleanup);
      ASSERT_TRUE(back.is_ok());
      const std::string expected = set.normalizes ? text::normalize(s, text::NormalForm::kNFC) : s;
      ASSERT_EQ(*back, expected) << set.dir << " round " << round;
    }
  }
}

TEST(Tokenizer, SpecialTokensInTextAreRecognizedAndSkippable) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama3", dir);
  auto tok = load_or_die(dir);
  ASSERT_TRUE(tok);
  auto ids = tok->encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  ASSERT_TRUE(ids.is_ok());
  const auto eot = tok->token_to_id("<|eot_id|>");
  ASSERT_TRUE(eot.has_value());
  EXPECT_EQ(ids->back(), *eot);
  EXPECT_TRUE(tok->is_special(*eot));
  EXPECT_EQ(tok->id_to_token(*eot), "<|eot_id|>");
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  auto text = tok->decode(*ids, skip);
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(*text, "user\n\nHi");
  EXPECT_EQ(tok->bos_token(), "<|begin_of_text|>");
  EXPECT_FALSE(tok->chat_template().empty());
}

TEST(Tokenizer, MetaspaceSplittingGivesTheSameIdsAsOneWholePiece) {
  // A vocabulary token with "▁" after another character disables the split
  // (see BpeModel::next_independent_part) without changing any tokenization, so
  // the two tokenizers must agree on every text.
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/mistral", dir);
  const std::string json_text = test::read_file(dir + "/tokenizer.json");
  // Insert the extra token textually (an ordered_json round trip of a
  // 32,000-entry object is quadratic).
  const size_t vocab = json_text.find("\"vocab\": {");
  ASSERT_NE(vocab, std::string::npos);
  std::string edited = json_text;
  edited.insert(vocab + 10, "\"x\xE2\x96\x81\": 1000000, ");
  auto split = Tokenizer::from_json(json_text);
  auto whole = Tokenizer::from_json(edited);
  ASSERT_TRUE(split.is_ok() && whole.is_ok());
  std::mt19937 rng(99);
  std::vector<std::string> texts = {"The quick brown fox  jumps   over the lazy dog.\n\nSecond    paragraph.",
                                    "    indented code()\n\tand tabs", " leading space", "trailing   "};
  for (int i = 0; i < 40; ++i) texts.push_back(random_unicode(rng, 1 + rng() % 120));
  for (const std::string& t : texts) {
    auto a = (*split)->encode(t, true);
    auto b = (*whole)->encode(t, true);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    ASSERT_EQ(*a, *b) << t;
  }
}

TEST(Tokenizer, LoadsFromAPackTheSameAsFromItsDirectory) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  test::TempDir tmp;
  const std::string pack = tmp.file("model.mlxpack");
  test::pack_or_die(dir, pack);
  auto from_dir = load_or_die(dir);
  auto from_pack = load_or_die(pack);
  ASSERT_TRUE(from_dir && from_pack);
  for (const char* t : {"Once upon a time, there was a little girl.", "Lily liked to play.", ""}) {
    auto a = from_dir->encode(t, true);
    auto b = from_pack->encode(t, true);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(*a, *b);
  }
  EXPECT_EQ(from_pack->eos_token(), "</s>");
}

TEST(Tokenizer, ReadsASentencePieceModelWhenThereIsNoTokenizerJson) {
  std::string model;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama2-sentencepiece/tokenizer.model", model);
  test::TempDir tmp;
  test::write_file(tmp.file("tokenizer.model"), test::read_file(model));
  auto tok = load_or_die(tmp.path());
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->vocab_size(), 32000u);
  auto ids = tok->encode("Hello world", true);
  ASSERT_TRUE(ids.is_ok());
  ASSERT_GE(ids->size(), 2u);
  EXPECT_EQ((*ids)[0], *tok->token_to_id("<s>"));  // add_bos_token defaults to true
  auto pieces = tok->encode_pieces("Hello world");
  ASSERT_TRUE(pieces.is_ok());
  EXPECT_EQ((*pieces)[0].piece, "\xE2\x96\x81Hello");
  auto text = tok->decode(*ids, DecodeOptions{true, std::nullopt});
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(*text, "Hello world");
}

TEST(TokenizerHostileInput, InvalidUtf8IsRejectedWithItsOffset) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  auto tok = load_or_die(dir);
  ASSERT_TRUE(tok);
  for (const std::string& bad : {std::string("ok\xff"), std::string("ab\xC0\xAF"), std::string("\xED\xA0\x80x"),
                                std::string("abc\xE2\x82"), std::string("\xF4\x90\x80\x80")}) {
    auto ids = tok->encode(bad);
    ASSERT_FALSE(ids.is_ok());
    EXPECT_EQ(ids.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(ids.status().message().find("not valid UTF-8"), std::string::npos) << ids.status().message();
    EXPECT_NE(ids.status().message().find("offset " + std::to_string(*text::find_invalid_utf8(bad))), std::string::npos);
  }
}

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// The largest resident size seen from construction to stop(), sampled
// every millisecond by a thread of its own.
class PeakResidentBytes {
 public:
  PeakResidentBytes() : peak_(resident_bytes()), sampler_([this] {
    while (!done_.load()) {
      peak_ = std::max<uint64_t>(peak_, resident_bytes());
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }) {}
  ~PeakResidentBytes() { stop(); }
  uint64_t stop() {
    if (sampler_.joinable()) {
      done_ = true;
      sampler_.join();
      peak_ = std::max<uint64_t>(peak_, resident_bytes());
    }
    return peak_;
  }

 private:
  std::atomic<bool> done_{false};
  uint64_t peak_;
  std::thread sampler_;
};

TEST(TokenizerHostileInput, ATenMegabyteSingleLineEncodesInBoundedTimeAndMemory) {
  for (const char* set : {"tokenizers/llama3", "tokenizers/mistral"}) {
    std::string dir;
    MLXPACK_REQUIRE_TEST_DATA(set, dir);
    auto tok = load_or_die(dir);
    ASSERT_TRUE(tok);
    std::mt19937 rng(7);
    static const char* kWords[] = {"the", "cat", "sat", "on", "a", "mat,", "and", "then", "42", "ran."};
    std::string line;
    while (line.size() < 10'000'000) {
      line += kWords[rng() % 10];
      line += ' ';
    }
    const auto start = std::chrono::steady_clock::now();
    const uint64_t rss_before = resident_bytes();
    PeakResidentBytes peak;
    auto ids = tok->encode(line);
    const uint64_t rss_peak = peak.stop();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
    EXPECT_GT(ids->size(), 1'000'000u);
#if !defined(__SANITIZE_ADDRESS__)  // ASan keeps freed memory in quarantine
    // Pieces stream from the pre-tokenizer to the model, so an encode needs
    // the ids, a copy of the text and the normalizer's work, not memory for
    // every piece, match and span of the text at once (that took ~50 bytes
    // per input byte).
    const uint64_t grown = rss_peak > rss_before ? rss_peak - rss_before : 0;
    EXPECT_LT(grown, 5 * line.size() + (32u << 20)) << set << ": resident memory grew by " << grown << " bytes";
#else
    (void)rss_before;
    (void)rss_peak;
#endif
    DecodeOptions no_cleanup;
    no_cleanup.clean_up_tokenization_spaces = false;
    auto back = tok->decode(*ids, no_cleanup);
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(*back, line);
    // A generous bound that still catches quadratic behaviour (sanitizer
    // builds are ~5x slower than release).
    EXPECT_LT(seconds, 120.0) << set;
  }
  // One 1 MB "word" takes the heap path of the merge.
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/mistral", dir);
  auto tok = load_or_die(dir);
  ASSERT_TRUE(tok);
  auto ids = tok->encode(std::string(1'000'000, 'a'));
  ASSERT_TRUE(ids.is_ok());
  auto back = tok->decode(*ids);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, std::string(1'000'000, 'a'));
}

TEST(TokenizerHostileInput, ATokenizerFileThatCannotBeReadIsNamed) {
  test::TempDir dir;
  // A directory where tokenizer.json should be.
  ASSERT_EQ(::mkdir(dir.file("tokenizer.json").c_str(), 0755), 0);
  auto tok = Tokenizer::load(dir.path());
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find(dir.path() + "/tokenizer.json: not a regular file"), std::string::npos)
      << tok.status().message();
  // An empty file is read as such, and is not JSON.
  test::TempDir empty;
  test::write_file(empty.file("tokenizer.json"), "");
  tok = Tokenizer::load(empty.path());
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("not valid JSON"), std::string::npos) << tok.status().message();
  // The whole of a file is read: a tokenizer.json written here loads and encodes.
  std::string shared;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama3", shared);
  const std::string json_text = test::read_file(shared + "/tokenizer.json");
  test::TempDir copy;
  test::write_file(copy.file("tokenizer.json"), json_text);
  tok = Tokenizer::load(copy.path());
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_EQ(*(*tok)->encode("Hello world"), (std::vector<int32_t>{9906, 1917}));
}

TEST(TokenizerHostileInput, TextOverTheLimitIsRefused) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  TokenizerLimits limits;
  limits.max_text_bytes = 100;
  auto tok = Tokenizer::from_json(test::read_file(dir + "/tokenizer.json"), "", "tokenizer.json", limits);
  ASSERT_TRUE(tok.is_ok());
  auto ids = (*tok)->encode(std::string(101, 'a'));
  ASSERT_FALSE(ids.is_ok());
  EXPECT_NE(ids.status().message().find("101 bytes, more than the limit 100"), std::string::npos);
}

TEST(TokenizerHostileInput, DecodingAnUnknownIdNamesIt) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  auto tok = load_or_die(dir);
  ASSERT_TRUE(tok);
  auto text = tok->decode({1, 512});
  ASSERT_FALSE(text.is_ok());
  EXPECT_NE(text.status().message().find("id 512 (position 1)"), std::string::npos) << text.status().message();
  EXPECT_FALSE(tok->decode({-1}).is_ok());
}

// A minimal byte-level tokenizer.json to break field by field.
nlohmann::json small_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  vocab["a"] = 0;
  vocab["b"] = 1;
  vocab["ab"] = 2;
  vocab["<|end|>"] = 3;
  return {{"version", "1.0"},
          {"added_tokens", {{{"id", 3}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}}}};
}

// Components nested 10,000 deep (each kind of Sequence): refused before any
// is built, naming the field and the limit.
TEST(TokenizerHostileInput, DeeplyNestedComponentsAreRefusedBeforeBuilding) {
  const std::string head = small_tokenizer().dump();
  const struct {
    const char* field;
    const char* list;
    const char* leaf;
  } kinds[] = {{"normalizer", "normalizers", R"({"type":"NFC"})"},
               {"pre_tokenizer", "pretokenizers", R"({"type":"Whitespace"})"},
               {"decoder", "decoders", R"({"type":"Fuse"})"}};
  for (const auto& k : kinds) {
    SCOPED_TRACE(k.field);
    // 10,000 levels built front and back (prepending to the whole string
    // each time copied 2 GB, a minute of this test under ASan).
    const std::string open = std::string(R"({"type":"Sequence",")") + k.list + "\":[";
    std::string nested;
    for (int i = 0; i < 10000; ++i) nested += open;
    nested += k.leaf;
    for (int i = 0; i < 10000; ++i) nested += "]}";
    nlohmann::json j = small_tokenizer();
    std::string text = j.dump();
    const std::string key = std::string("\"") + k.field + "\":null";
    text.replace(text.find(key), key.size(), std::string("\"") + k.field + "\":" + nested);
    auto tok = Tokenizer::from_json(text);
    ASSERT_FALSE(tok.is_ok());
    EXPECT_NE(tok.status().message().find(std::string("tokenizer.json.") + k.field +
                                           ": nests deeper than the limit of 16 JSON levels"),
              std::string::npos)
        << tok.status().message();
  }
  // Three levels, as real files have, still load.
  nlohmann::json j = small_tokenizer();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}}}}};
  EXPECT_TRUE(Tokenizer::from_json(j.dump()).is_ok());
}

TEST(TokenizerHostileInput, AReplaceChainCannotAmplifyTheText) {
  nlohmann::json j = small_tokenizer();
  nlohmann::json steps = nlohmann::json::array();
  for (int i = 0; i < 12; ++i) steps.push_back({{"type", "Replace"}, {"pattern", {{"String", "a"}}}, {"content", "aaaaaaaaaa"}});
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", steps}};
  auto tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  auto ids = (*tok)->encode("a", false);
  ASSERT_FALSE(ids.is_ok());
  EXPECT_NE(ids.status().message().find("tokenizer.json.normalizer.normalizers[3]: normalized text grows past the limit of 4112 bytes"),
            std::string::npos)
      << ids.status().message();
  // One Replace with a huge replacement is stopped while it is built.
  j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", "a"}}}, {"content", std::string(60000, 'a')}};
  tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok());
  ids = (*tok)->encode(std::string(1000, 'a'), false);
  ASSERT_FALSE(ids.is_ok());
  EXPECT_NE(ids.status().message().find("tokenizer.json.normalizer: normalized text grows past the limit of 20096"),
            std::string::npos)
      << ids.status().message();
}

// A decoder Replace with a 60 KB replacement turned every decoded "a" into
// 60 KB; a piece may now grow as a normalized text may.
TEST(TokenizerHostileInput, AReplaceDecoderCannotAmplifyTheOutput) {
  nlohmann::json j = small_tokenizer();
  j["decoder"] = {{"type", "Replace"}, {"pattern", {{"String", "a"}}}, {"content", std::string(60000, 'z')}};
  auto tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  auto text = (*tok)->decode(std::vector<int32_t>(10, 0));
  ASSERT_FALSE(text.is_ok());
  EXPECT_NE(text.status().message().find("tokenizer.json.decoder: decoded piece grows past the limit of 4112 bytes"),
            std::string::npos)
      << text.status().message();
  j["decoder"]["content"] = "zz";  // small replacements decode as before
  tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok());
  auto ok = (*tok)->decode({0, 2});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(*ok, "zzzzb");
}

TEST(TokenizerHostileInput, ABacktrackingSplitPatternStopsAtTheRetryLimit) {
  nlohmann::json j = small_tokenizer();
  j["pre_tokenizer"] = {{"type", "Split"},
                        {"pattern", {{"Regex", "(?:.|.){0,22}[0-9]{9}|."}}},
                        {"behavior", "Isolated"},
                        {"invert", false}};
  auto tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  std::string prompt;
  for (int i = 0; i < 500; ++i) prompt += "a1";
  auto ids = (*tok)->encode(prompt, false);
  ASSERT_FALSE(ids.is_ok());
  EXPECT_NE(ids.status().message().find("tokenizer.json.pre_tokenizer.pattern.Regex: regex search at byte 0 backtracked more than the limit of 1000000 times"),
            std::string::npos)
      << ids.status().message();
}

TEST(TokenizerHostileInput, AHugeVocabularyOrAddedTokenIsRefusedAtLoad) {
  nlohmann::json j = small_tokenizer();
  j["model"]["vocab"][std::string(70000, 'x')] = 4;
  auto tok = Tokenizer::from_json(j.dump());
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("token with id 4 is 70000 bytes, more than the limit 65536"), std::string::npos)
      << tok.status().message();
  j = small_tokenizer();
  j["added_tokens"].push_back({{"id", 4}, {"content", std::string(70000, 'y')}, {"special", true}});
  tok = Tokenizer::from_json(j.dump());
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("added_tokens[1].content: is 70000 bytes, more than the limit 65536"),
            std::string::npos)
      << tok.status().message();
}

TEST(TokenizerHostileInput, AMalformedTokenizerJsonGetsAnErrorNamingTheField) {
  ASSERT_TRUE(Tokenizer::from_json(small_tokenizer().dump()).is_ok());
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    const char* expected;
  };
  const Case cases[] = {
      {[](nlohmann::json& j) { j.erase("model"); }, "tokenizer.json.model: missing"},
      {[](nlohmann::json& j) { j["model"]["vocab"] = "oops"; }, "tokenizer.json.model.vocab: expected an object, got string"},
      {[](nlohmann::json& j) { j["model"]["vocab"]["a"] = -5; }, "tokenizer.json.model.vocab[\"a\"]: id -5"},
      {[](nlohmann::json& j) { j["model"]["vocab"]["zz"] = 1; }, "id 1 is given to both"},
      {[](nlohmann::json& j) { j["model"]["merges"] = {"a c"}; }, "tokenizer.json.model.merges[0]: merge \"a\" + \"c\""},
      {[](nlohmann::json& j) { j["model"]["merges"] = {"abc"}; }, "merges[0]: \"abc\" is not two tokens"},
      {[](nlohmann::json& j) { j["model"]["merges"] = {42}; }, "merges[0]: expected \"a b\""},
      {[](nlohmann::json& j) { j["model"]["type"] = "Unigram"; }, "model.type: \"Unigram\" is not supported"},
      {[](nlohmann::json& j) { j["model"]["unk_token"] = "<unk>"; }, "model.unk_token: \"<unk>\" is not in the vocabulary"},
      {[](nlohmann::json& j) { j["normalizer"] = {{"type", "Teleport"}}; }, "normalizer.type: normalizer \"Teleport\""},
      {[](nlohmann::json& j) { j["normalizer"] = {{"type", "Replace"}, {"content", "x"}}; }, "normalizer.pattern: missing"},
      {[](nlohmann::json& j) { j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}}; },
       "pre_tokenizer.pattern.Regex: pattern does not compile"},
      {[](nlohmann::json& j) { j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}}; },
       "pre_tokenizer.behavior: \"Sideways\" is not one of"},
      {[](nlohmann::json& j) { j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", "yes"}}; },
       "pre_tokenizer.add_prefix_space: expected true or false, got string"},
      {[](nlohmann::json& j) { j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}}}; },
       "post_processor.special_tokens: has no entry for \"<s>\""},
      {[](nlohmann::json& j) { j["decoder"] = {{"type", "Strip"}, {"content", " "}, {"start", "one"}, {"stop", 0}}; },
       "decoder.start: expected an integer, got string"},
      {[](nlohmann::json& j) { j["added_tokens"][0]["id"] = 1ll << 40; }, "added_tokens[0].id: value 1099511627776 is outside"},
      {[](nlohmann::json& j) { j["added_tokens"][0].erase("content"); }, "added_tokens[0].content: missing"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = small_tokenizer();
    c.edit(j);
    auto tok = Tokenizer::from_json(j.dump());
    ASSERT_FALSE(tok.is_ok()) << c.expected;
    EXPECT_NE(tok.status().message().find(c.expected), std::string::npos)
        << "expected \"" << c.expected << "\" in: " << tok.status().message();
  }
  for (const char* text : {"", "{", "[1,2]", "{\"model\": ", "\xff\xfe"}) {
    auto tok = Tokenizer::from_json(text);
    ASSERT_FALSE(tok.is_ok());
    EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument);
  }
  TokenizerLimits limits;
  limits.max_vocab_size = 3;
  auto tok = Tokenizer::from_json(small_tokenizer().dump(), "", "tokenizer.json", limits);
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("more than the limit 3"), std::string::npos) << tok.status().message();
}

TEST(Tokenizer, AddedTokenOptionsAreHonoured) {
  nlohmann::json j = small_tokenizer();
  j["added_tokens"][0]["lstrip"] = true;
  j["added_tokens"][0]["rstrip"] = true;
  j["model"]["vocab"][" "] = 4;
  auto tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  // lstrip/rstrip swallow the spaces around the token.
  EXPECT_EQ(*(*tok)->encode("ab  <|end|>  ab"), (std::vector<int32_t>{2, 3, 2}));
  j = small_tokenizer();
  j["added_tokens"][0]["single_word"] = true;
  j["model"]["vocab"]["<"] = 4;
  j["model"]["vocab"]["|"] = 5;
  j["model"]["vocab"]["e"] = 6;
  j["model"]["vocab"]["n"] = 7;
  j["model"]["vocab"]["d"] = 8;
  j["model"]["vocab"][">"] = 9;
  tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok());
  // Glued to a word, a single_word token is not matched.
  EXPECT_EQ(*(*tok)->encode("ab<|end|>"), (std::vector<int32_t>{2, 4, 5, 6, 7, 8, 5, 9}));
  EXPECT_EQ((*tok)->encode("<|end|>")->size(), 1u);
}

TEST(Tokenizer, ByteDecodersJoinRunsAndKeepOtherPieces) {
  DecodeOptions raw;
  raw.clean_up_tokenization_spaces = false;
  // ByteLevel: "\xC3\x83" (U+00C3) and "\xC2\xA9" (U+00A9) stand for the
  // bytes of "\xC3\xA9" split over two tokens; "x\xE4\xB8\xADy" has a code
  // point that stands for no byte and is kept as it is; added tokens too.
  nlohmann::json j = small_tokenizer();
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"]["vocab"]["\xC3\x83"] = 4;
  j["model"]["vocab"]["\xC2\xA9"] = 5;
  j["model"]["vocab"]["x\xE4\xB8\xADy"] = 6;
  j["model"]["vocab"]["\xC4\xA0" "b"] = 7;  // "Ġb"
  auto tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_EQ(*(*tok)->decode({0, 4, 5, 6, 7, 3, 4, 5, 0}, raw), "a\xC3\xA9x\xE4\xB8\xADy b<|end|>\xC3\xA9" "a");
  EXPECT_EQ(*(*tok)->decode({4}, raw), "\xEF\xBF\xBD");  // half a character: U+FFFD
  // ByteFallback: runs of <0xXX> pieces become their bytes' text.
  j = small_tokenizer();
  j["decoder"] = {{"type", "ByteFallback"}};
  j["model"]["vocab"]["<0xC3>"] = 4;
  j["model"]["vocab"]["<0xA9>"] = 5;
  j["model"]["vocab"]["<0xFF>"] = 6;
  tok = Tokenizer::from_json(j.dump());
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_EQ(*(*tok)->decode({0, 4, 5, 1, 6, 2, 3, 4, 5}, raw), "a\xC3\xA9" "b\xEF\xBF\xBD" "ab<|end|>\xC3\xA9");
}

TEST(Tokenizer, EncodesConcurrentlyWithTheSameResults) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/mistral", dir);
  auto tok = load_or_die(dir);
  ASSERT_TRUE(tok);
  std::mt19937 rng(5);
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> expected;
  for (int i = 0; i < 64; ++i) {
    texts.push_back(random_unicode(rng, 200));
    expected.push_back(*tok->encode(texts.back()));
  }
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = (t * 7) % texts.size(), k = 0; k < texts.size(); ++k, i = (i + 1) % texts.size()) {
          auto ids = tok->encode(texts[i]);
          if (!ids.is_ok() || *ids != expected[i]) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// English-like text: words, capitals, punctuation, numbers, contractions,
// a few non-ASCII words, spaces, newlines and blank lines.
std::string random_prose(std::mt19937& rng, size_t bytes) {
  static const char* kWords[] = {"the",  "license", "Software", "you",    "may",   "not", "use",  "this",
                                 "file", "except",  "in",       "don't",  "it's",  "42",  "1999", "café",
                                 "naïve", "日本語",   "we'll",    "GPL-3.0", "(c)", "and", "or",   "copies"};
  static const char* kSeparators[] = {" ", " ", " ", " ", " ", ", ", ". ", "; ", "! ", "?\n", "\n", "\n\n", "  "};
  std::string s;
  while (s.size() < bytes) {
    s += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
    s += kSeparators[rng() % (sizeof(kSeparators) / sizeof(kSeparators[0]))];
  }
  return s;
}

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

TEST(Tokenizer, ALongTextEncodesAsItsChunksDo) {
  // In these byte-level tokenizers' pattern, a letter, a space and a letter
  // always end one piece and start the next (" word" is one piece, and no
  // piece runs across a space into letters), so cutting the text at such
  // spaces cannot change its ids. The whole text streams its ~40,000 pieces
  // through the pre-tokenizer in many batches; each chunk (~2 KB, a few
  // hundred pieces) fits in one.
  for (const char* set : {"tokenizers/llama3", "tokenizers/qwen3"}) {
    std::string dir;
    MLXPACK_REQUIRE_TEST_DATA(set, dir);
    auto tok = load_or_die(dir);
    ASSERT_TRUE(tok);
    std::mt19937 rng(11);
    const std::string text = random_prose(rng, 200'000);
    std::vector<int32_t> from_chunks;
    size_t begin = 0;
    size_t chunks = 0;
    while (begin < text.size()) {
      size_t end = std::min(text.size(), begin + 2000);
      while (end < text.size() && !(is_ascii_letter(text[end - 1]) && text[end] == ' ' && end + 1 < text.size() &&
                                    is_ascii_letter(text[end + 1]))) {
        ++end;
      }
      auto ids = tok->encode(std::string_view(text).substr(begin, end - begin));
      ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
      from_chunks.insert(from_chunks.end(), ids->begin(), ids->end());
      begin = end;
      ++chunks;
    }
    ASSERT_GT(chunks, 50u);
    auto whole = tok->encode(text);
    ASSERT_TRUE(whole.is_ok()) << whole.status().to_string();
    EXPECT_GT(whole->size(), 40'000u) << set;
    EXPECT_EQ(*whole, from_chunks) << set;
    // encode_pieces takes the same path with pieces kept.
    auto pieces = tok->encode_pieces(text);
    ASSERT_TRUE(pieces.is_ok());
    ASSERT_EQ(pieces->size(), whole->size());
    for (size_t i = 0; i < pieces->size(); ++i) {
      ASSERT_EQ((*pieces)[i].id, (*whole)[i]) << set << " token " << i;
      ASSERT_EQ((*pieces)[i].piece, tok->id_to_token((*whole)[i])) << set << " token " << i;
    }
  }
}

}  // namespace
}  // namespace mlxpack
