// Generation through the C API (mlxpack/mlxpack_runtime.h) on stories260K:
// the same ids and text as the C++ API, early stop, and errors as statuses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mlxpack/mlxpack_runtime.h"
#include "mlxpack/runtime.h"
#include "mlxpack/tokenizer.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

std::vector<int32_t> expected_ids(const std::string& dir) {
  std::string text = test::read_file(dir + "/expected/greedy_ids_from_bos.txt");
  for (char& c : text) {
    if (c == ',') c = ' ';
  }
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t next = text.find_first_of("0123456789", pos);
    if (next == std::string::npos) break;
    size_t used = 0;
    ids.push_back(std::stoi(text.substr(next), &used));
    pos = next + used;
  }
  return ids;
}

// Collects ids; stops (returns 0) once `limit` are in.
struct Collector {
  std::vector<int32_t> ids;
  size_t limit = ~size_t{0};
  static int on_token(void* user, int32_t id, float logprob, int /*is_stop*/) {
    auto* self = static_cast<Collector*>(user);
    EXPECT_LE(logprob, 0.0f);
    self->ids.push_back(id);
    return self->ids.size() < self->limit ? 1 : 0;
  }
};

class CApiRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
    ASSERT_EQ(mlxpack_runtime_open(dir.c_str(), 1, 0, &rt), MLXPACK_OK) << mlxpack_last_error();
  }
  void TearDown() override { mlxpack_runtime_close(rt); }
  std::string dir;
  mlxpack_runtime* rt = nullptr;
};

TEST_F(CApiRuntime, GeneratesTheGreedyStoryAndDecodesIt) {
  const std::vector<int32_t> expected = expected_ids(dir);
  ASSERT_EQ(expected.size(), 200u);
  mlxpack_generation_options options;
  mlxpack_generation_options_init(&options);
  EXPECT_EQ(options.max_tokens, 500);
  EXPECT_EQ(options.temperature, 0.0f);
  options.max_tokens = 200;
  const int32_t bos = mlxpack_runtime_bos_id(rt);
  Collector c;
  size_t n = 0;
  ASSERT_EQ(mlxpack_generate(rt, &bos, 1, &options, Collector::on_token, &c, &n), MLXPACK_OK) << mlxpack_last_error();
  EXPECT_EQ(n, 200u);
  EXPECT_EQ(c.ids, expected);

  char* text = nullptr;
  size_t size = 0;
  ASSERT_EQ(mlxpack_decode(rt, c.ids.data(), c.ids.size(), 1, &text, &size), MLXPACK_OK);
  EXPECT_EQ(std::string(text, size) + "\n", test::read_file(dir + "/expected/greedy_text_from_bos.txt") + "\n");
  EXPECT_EQ(text[size], '\0');
  mlxpack_free(text);
}

TEST_F(CApiRuntime, EncodesAsTheTokenizerAndStopsWhenTheCallbackSaysSo) {
  auto tok = Tokenizer::load(dir);
  ASSERT_TRUE(tok.is_ok());
  const std::string prompt = "Once upon a time";
  int32_t* ids = nullptr;
  size_t n = 0;
  ASSERT_EQ(mlxpack_encode(rt, prompt.data(), prompt.size(), 1, &ids, &n), MLXPACK_OK);
  const std::vector<int32_t> got(ids, ids + n);
  mlxpack_free(ids);
  EXPECT_EQ(got, *(*tok)->encode(prompt, true));
  EXPECT_EQ(mlxpack_runtime_vocab_size(rt), static_cast<int32_t>((*tok)->vocab_size()));

  Collector c;
  c.limit = 5;
  size_t produced = 0;
  ASSERT_EQ(mlxpack_generate(rt, got.data(), got.size(), nullptr, Collector::on_token, &c, &produced), MLXPACK_OK);
  EXPECT_EQ(produced, 5u);
  mlxpack_runtime_reset(rt);
}

TEST_F(CApiRuntime, ErrorsAreStatusesWithMessages) {
  Collector c;
  EXPECT_EQ(mlxpack_generate(rt, nullptr, 0, nullptr, Collector::on_token, &c, nullptr), MLXPACK_INVALID_ARGUMENT);
  const int32_t bad = 1 << 30;
  EXPECT_EQ(mlxpack_generate(rt, &bad, 1, nullptr, Collector::on_token, &c, nullptr), MLXPACK_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mlxpack_last_error()).find(std::to_string(bad)), std::string::npos) << mlxpack_last_error();
  EXPECT_EQ(mlxpack_encode(rt, "x", 1, 0, nullptr, nullptr), MLXPACK_INVALID_ARGUMENT);
  char* text = nullptr;
  size_t size = 0;
  // stories260K has no chat template.
  EXPECT_EQ(mlxpack_apply_chat_template(rt, "{\"messages\": []}", &text, &size), MLXPACK_NOT_FOUND);
  mlxpack_runtime* none = nullptr;
  test::TempDir tmp;
  EXPECT_EQ(mlxpack_runtime_open(tmp.file("missing").c_str(), 1, 0, &none), MLXPACK_IO_ERROR);
  EXPECT_NE(std::string(mlxpack_last_error()).find("missing"), std::string::npos) << mlxpack_last_error();
  EXPECT_EQ(none, nullptr);
  mlxpack_runtime_close(nullptr);
}

// min_p = 1 keeps only the most likely token, so sampling at temperature 1
// gives the greedy story whatever the seed.
TEST_F(CApiRuntime, MinPOfOneSamplesTheGreedyStory) {
  const std::vector<int32_t> expected = expected_ids(dir);
  mlxpack_generation_options options;
  mlxpack_generation_options_init(&options);
  options.max_tokens = 60;
  options.temperature = 1.0f;
  options.seed = 7;
  mlxpack_logit_filters filters;
  mlxpack_logit_filters_init(&filters);
  EXPECT_EQ(filters.struct_size, sizeof(mlxpack_logit_filters));
  filters.min_p = 1.0f;
  Collector c;
  const int32_t bos = 1;
  ASSERT_EQ(mlxpack_generate_filtered(rt, &bos, 1, &options, &filters, Collector::on_token, &c, nullptr), MLXPACK_OK)
      << mlxpack_last_error();
  EXPECT_EQ(c.ids, std::vector<int32_t>(expected.begin(), expected.begin() + 60));
}

// The repetition penalty reaches the runtime: the same ids as the C++ API
// with the same filters, and not the unpenalized greedy story.
TEST_F(CApiRuntime, RepetitionPenaltyMatchesTheCppApi) {
  const std::vector<int32_t> expected = expected_ids(dir);
  mlxpack_generation_options options;
  mlxpack_generation_options_init(&options);
  options.max_tokens = 100;
  mlxpack_logit_filters filters;
  mlxpack_logit_filters_init(&filters);
  filters.repetition_penalty = 1.5f;
  filters.repetition_context = 32;
  Collector c;
  const int32_t bos = 1;
  ASSERT_EQ(mlxpack_generate_filtered(rt, &bos, 1, &options, &filters, Collector::on_token, &c, nullptr), MLXPACK_OK)
      << mlxpack_last_error();
  EXPECT_NE(c.ids, std::vector<int32_t>(expected.begin(), expected.begin() + 100));

  auto cpp = Runtime::open(dir);
  ASSERT_TRUE(cpp.is_ok()) << cpp.status().message();
  GenerationOptions g;
  g.max_tokens = 100;
  LogitFilters f;
  f.repetition_penalty = 1.5f;
  f.repetition_context = 32;
  std::vector<int32_t> ids;
  ASSERT_TRUE((*cpp)->generate({1}, g, f, [&](const TokenEvent& e) { ids.push_back(e.id); return true; }, nullptr)
                  .is_ok());
  EXPECT_EQ(c.ids, ids);
}

TEST_F(CApiRuntime, LogitFiltersAreChecked) {
  Collector c;
  const int32_t bos = 1;
  mlxpack_logit_filters filters;
  mlxpack_logit_filters_init(&filters);
  filters.struct_size = 4;  // a caller that did not call init
  EXPECT_EQ(mlxpack_generate_filtered(rt, &bos, 1, nullptr, &filters, Collector::on_token, &c, nullptr),
            MLXPACK_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mlxpack_last_error()).find("struct_size"), std::string::npos) << mlxpack_last_error();
  mlxpack_logit_filters_init(&filters);
  filters.min_p = 2.0f;
  EXPECT_EQ(mlxpack_generate_filtered(rt, &bos, 1, nullptr, &filters, Collector::on_token, &c, nullptr),
            MLXPACK_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mlxpack_last_error()).find("min_p"), std::string::npos) << mlxpack_last_error();
  mlxpack_logit_filters_init(&filters);
  filters.repetition_penalty = 0.0f;
  EXPECT_EQ(mlxpack_generate_filtered(rt, &bos, 1, nullptr, &filters, Collector::on_token, &c, nullptr),
            MLXPACK_INVALID_ARGUMENT);
  EXPECT_TRUE(c.ids.empty());
}

// The options struct: a Q8_0 cache of 256 positions, the same cache and
// greedy ids as the C++ API's with those options; bad versions and types
// refused.
TEST_F(CApiRuntime, OptionsOpenAQ8_0CacheAsTheCppApiDoes) {
  EXPECT_EQ(mlxpack_runtime_kv_cache_type(rt), MLXPACK_KV_CACHE_F16);
  mlxpack_runtime_options options;
  mlxpack_runtime_options_init(&options);
  EXPECT_EQ(options.kv_cache_type, MLXPACK_KV_CACHE_F16);
  EXPECT_EQ(options.adapter_path, nullptr);
  options.threads = 1;
  options.context_size = 256;
  options.kv_cache_type = MLXPACK_KV_CACHE_Q8_0;
  mlxpack_runtime* q8 = nullptr;
  ASSERT_EQ(mlxpack_runtime_open_with_options(dir.c_str(), &options, &q8), MLXPACK_OK) << mlxpack_last_error();
  EXPECT_EQ(mlxpack_runtime_kv_cache_type(q8), MLXPACK_KV_CACHE_Q8_0);
  RuntimeOptions cpp;
  cpp.threads = 1;
  cpp.context_size = 256;
  cpp.kv_cache_type = KvCacheType::kQ8_0;
  auto reference = Runtime::open(dir, cpp);
  ASSERT_TRUE(reference.is_ok()) << reference.status().to_string();
  EXPECT_EQ(mlxpack_runtime_kv_cache_bytes(q8), (*reference)->kv_cache_bytes());
  std::vector<int32_t> want;
  GenerationOptions g;
  g.max_tokens = 200;
  ASSERT_TRUE((*reference)->generate({1}, g, [&](const TokenEvent& e) { want.push_back(e.id); return true; }, nullptr).is_ok());
  mlxpack_generation_options go;
  mlxpack_generation_options_init(&go);
  go.max_tokens = 200;
  const int32_t bos = 1;
  Collector c;
  ASSERT_EQ(mlxpack_generate(q8, &bos, 1, &go, Collector::on_token, &c, nullptr), MLXPACK_OK) << mlxpack_last_error();
  EXPECT_EQ(c.ids, want);
  mlxpack_runtime_close(q8);

  mlxpack_runtime* bad = nullptr;
  options.kv_cache_type = 3;
  EXPECT_EQ(mlxpack_runtime_open_with_options(dir.c_str(), &options, &bad), MLXPACK_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mlxpack_last_error()).find("kv_cache_type is 3"), std::string::npos) << mlxpack_last_error();
  mlxpack_runtime_options_init(&options);
  options.struct_size = 8;
  EXPECT_EQ(mlxpack_runtime_open_with_options(dir.c_str(), &options, &bad), MLXPACK_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mlxpack_last_error()).find("struct_size"), std::string::npos) << mlxpack_last_error();
  EXPECT_EQ(bad, nullptr);
}

// Speculative options: the greedy story from a draft model and from prompt
// lookup, with their figures; both at once refused.
TEST_F(CApiRuntime, SpeculativeOptionsGenerateTheSameStory) {
  const std::vector<int32_t> expected = expected_ids(dir);
  mlxpack_runtime_options options;
  mlxpack_runtime_options_init(&options);
  EXPECT_EQ(options.draft_model, nullptr);
  EXPECT_EQ(options.prompt_lookup_ngram, 0);
  EXPECT_EQ(options.num_draft_tokens, 0);
  options.threads = 1;
  mlxpack_generation_options go;
  mlxpack_generation_options_init(&go);
  go.max_tokens = 200;
  const int32_t bos = 1;
  for (int lookup : {0, 2}) {
    options.draft_model = lookup ? nullptr : dir.c_str();
    options.prompt_lookup_ngram = lookup;
    mlxpack_runtime* fast = nullptr;
    ASSERT_EQ(mlxpack_runtime_open_with_options(dir.c_str(), &options, &fast), MLXPACK_OK) << mlxpack_last_error();
    Collector c;
    ASSERT_EQ(mlxpack_generate(fast, &bos, 1, &go, Collector::on_token, &c, nullptr), MLXPACK_OK);
    EXPECT_EQ(c.ids, expected) << "lookup " << lookup;
    int drafted = -1, accepted = -1, passes = -1;
    mlxpack_runtime_speculation_stats(fast, &drafted, &accepted, &passes);
    EXPECT_GT(drafted, 0);
    EXPECT_EQ(passes + accepted, 199);
    if (!lookup) {
      EXPECT_EQ(accepted, drafted);  // the model proposing its own tokens
    }
    mlxpack_runtime_close(fast);
  }
  options.prompt_lookup_ngram = 3;
  options.draft_model = dir.c_str();
  mlxpack_runtime* bad = nullptr;
  EXPECT_EQ(mlxpack_runtime_open_with_options(dir.c_str(), &options, &bad), MLXPACK_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mlxpack_last_error()).find("choose one"), std::string::npos) << mlxpack_last_error();
  EXPECT_EQ(bad, nullptr);
}

TEST(CApiChatTemplate, RendersWithTheModelsSpecialTokens) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  test::TempDir tmp;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) {
    test::write_file(tmp.file(f), test::read_file(dir + "/" + f));
  }
  nlohmann::json config = nlohmann::json::parse(test::read_file(dir + "/tokenizer_config.json"));
  config["chat_template"] = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}";
  test::write_file(tmp.file("tokenizer_config.json"), config.dump());
  mlxpack_runtime* rt = nullptr;
  ASSERT_EQ(mlxpack_runtime_open(tmp.path().c_str(), 1, 0, &rt), MLXPACK_OK) << mlxpack_last_error();
  char* text = nullptr;
  size_t size = 0;
  ASSERT_EQ(mlxpack_apply_chat_template(rt, R"({"messages": [{"role": "user", "content": "Hi"}]})", &text, &size),
            MLXPACK_OK)
      << mlxpack_last_error();
  EXPECT_EQ(std::string(text, size), "<s>[user] Hi");
  mlxpack_free(text);
  text = nullptr;
  EXPECT_EQ(mlxpack_apply_chat_template(rt, "[1]", &text, &size), MLXPACK_INVALID_ARGUMENT);
  EXPECT_EQ(text, nullptr);
  ASSERT_EQ(mlxpack_apply_chat_template(rt, R"({"bos_token": "B", "messages": []})", &text, &size), MLXPACK_OK)
      << mlxpack_last_error();
  EXPECT_EQ(std::string(text, size), "B");  // the caller's bos_token wins
  mlxpack_free(text);
  mlxpack_runtime_close(rt);
}

}  // namespace
}  // namespace mlxpack
