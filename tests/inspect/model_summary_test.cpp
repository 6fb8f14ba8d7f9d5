#include "inspect/model_summary.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

// stories260K from the test data, packed and summarized.
class StoriesPack : public ::testing::Test {
 protected:
  void SetUp() override {
    MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
    test::pack_or_die(dir, tmp.file("s.mlxpack"));
    auto opened = Reader::open(tmp.file("s.mlxpack"));
    ASSERT_TRUE(opened.is_ok());
    reader = std::move(*opened);
    auto summary = summarize(*reader);
    ASSERT_TRUE(summary.is_ok()) << summary.status().to_string();
    pack_summary = std::move(*summary);
  }
  std::string dir;
  test::TempDir tmp;
  std::unique_ptr<Reader> reader;
  ModelSummary pack_summary;
};

TEST_F(StoriesPack, FactsComeFromItsConfig) {
  const ModelSummary* s = &pack_summary;
  const std::unique_ptr<Reader>* r = &reader;
  // Compare with the model's own config.json, parsed here independently.
  const auto config = nlohmann::json::parse(test::read_file(dir + "/config.json"));
  EXPECT_EQ(s->architecture, config["architectures"][0].get<std::string>());
  EXPECT_EQ(*s->hidden_size, config["hidden_size"].get<int64_t>());
  EXPECT_EQ(*s->num_layers, config["num_hidden_layers"].get<int64_t>());
  EXPECT_EQ(*s->num_attention_heads, config["num_attention_heads"].get<int64_t>());
  EXPECT_EQ(*s->num_kv_heads, config["num_key_value_heads"].get<int64_t>());
  EXPECT_EQ(*s->vocab_size, config["vocab_size"].get<int64_t>());
  EXPECT_EQ(*s->bos_token_id, config["bos_token_id"].get<int64_t>());
  EXPECT_EQ(s->eos_token_ids, std::vector<int64_t>{config["eos_token_id"].get<int64_t>()});
  EXPECT_FALSE(s->has_chat_template);
  EXPECT_FALSE(s->quantization.has_value());
  EXPECT_EQ(s->tensor_count_by_dtype.at("F32"), (*r)->info().tensor_count);
  ASSERT_EQ(s->sources.size(), 1u);
  EXPECT_EQ(s->sources[0].size_bytes, test::read_file(dir + "/model.safetensors").size());

  const auto j = nlohmann::json::parse(summary_to_json(*s, true));
  EXPECT_EQ(j["model"]["vocab_size"], config["vocab_size"]);
  EXPECT_EQ(j["tensors"]["list"].size(), (*r)->info().tensor_count);
  EXPECT_EQ(j["format"]["checksum_algorithm"], "XXH3-128");
}

TEST(ModelSummaryTest, QuantizationChatTemplateAndEosListAreReported) {
  test::TempDir tmp;
  test::write_model_dir(tmp.file("m"), test::sample_tensors());
  test::write_file(tmp.file("m/config.json"),
                   R"({"model_type":"qwen3","hidden_size":8,"quantization":{"group_size":64,"bits":4},)"
                   R"("eos_token_id":[5,6]})");
  test::write_file(tmp.file("m/generation_config.json"), R"({"bos_token_id":9,"eos_token_id":[7,8]})");
  test::write_file(tmp.file("m/tokenizer_config.json"), R"({"chat_template":"{{ x }}"})");
  test::pack_or_die(tmp.file("m"), tmp.file("p.mlxpack"));
  auto r = Reader::open(tmp.file("p.mlxpack"));
  ASSERT_TRUE(r.is_ok());
  auto s = summarize(**r);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->architecture, "qwen3");
  ASSERT_TRUE(s->quantization.has_value());
  EXPECT_EQ(s->quantization->bits, 4);
  EXPECT_EQ(s->quantization->group_size, 64);
  EXPECT_EQ(s->quantization->mode, "affine");
  EXPECT_EQ(*s->bos_token_id, 9);
  EXPECT_EQ(s->eos_token_ids, (std::vector<int64_t>{7, 8}));
  EXPECT_TRUE(s->has_chat_template);
  EXPECT_NE(summary_to_text(*s, false).find("4-bit, group size 64"), std::string::npos);
}

// `info DIR`: a model directory gives the same model and tensor facts as
// its pack; parameters, bits per weight, context, RoPE and tying come from
// the tensors and config.json (stories260K: F32, 32 bits, tied, theta 1e4).
TEST_F(StoriesPack, DirectoryAndPackGiveTheSameFacts) {
  auto source = ModelSource::open(dir);
  ASSERT_TRUE(source.is_ok()) << source.status().to_string();
  auto from_dir = summarize(**source);
  ASSERT_TRUE(from_dir.is_ok()) << from_dir.status().to_string();
  const ModelSummary& p = pack_summary;
  const ModelSummary& d = *from_dir;
  EXPECT_FALSE(d.pack.has_value());
  EXPECT_EQ(d.architecture, p.architecture);
  EXPECT_EQ(d.hidden_size, p.hidden_size);
  EXPECT_EQ(d.vocab_size, p.vocab_size);
  EXPECT_EQ(d.tensors.size(), p.tensors.size());
  EXPECT_EQ(d.tensor_bytes, p.tensor_bytes);
  EXPECT_EQ(d.parameter_count, p.parameter_count);
  ASSERT_EQ(d.sources.size(), 1u);
  EXPECT_EQ(d.sources[0].size_bytes, p.sources[0].size_bytes);
  // Parameters: the element count of every tensor, summed here from the
  // safetensors header independently of the summary's code.
  const std::string st = test::read_file(dir + "/model.safetensors");
  uint64_t header = 0;
  for (int k = 7; k >= 0; --k) header = header << 8 | static_cast<uint8_t>(st[k]);
  const auto j = nlohmann::json::parse(st.substr(8, header));
  uint64_t elements = 0;
  for (const auto& [name, t] : j.items()) {
    if (name == "__metadata__") continue;
    uint64_t n = 1;
    for (const auto& dim : t["shape"]) n *= dim.get<uint64_t>();
    elements += n;
  }
  EXPECT_EQ(p.parameter_count, elements);
  EXPECT_DOUBLE_EQ(p.bits_per_weight(), 32.0);
  EXPECT_EQ(p.context_length, 512);
  EXPECT_EQ(p.rope_theta, 10000.0);
  EXPECT_EQ(p.rope_scaling, "");
  EXPECT_EQ(p.tied_embeddings, true);
  const auto js = nlohmann::json::parse(summary_to_json(d, false));
  EXPECT_EQ(js["model"]["parameters"], elements);
  EXPECT_EQ(js["model"]["context_length"], 512);
  EXPECT_EQ(js["model"]["rope"]["theta"], 10000.0);
  EXPECT_EQ(js["model"]["tied_embeddings"], true);
  EXPECT_EQ(js["format"]["kind"], "model directory");
}

}  // namespace
}  // namespace mlxpack

namespace mlxpack {
namespace {

// Hostile config files: a wrongly typed field is reported by its JSON path
// while the other files are still summarized; malformed JSON is an error;
// nothing throws.
TEST(ModelSummaryTest, WronglyTypedFieldsAreReportedNotThrown) {
  ModelSummary s;
  const std::string config = R"({"model_type": "llama", "hidden_size": "64", "eos_token_id": 2})";
  const std::string generation = R"({"bos_token_id": 1, "eos_token_id": [5, 6]})";
  ASSERT_TRUE(interpret_model_files(&config, &generation, nullptr, "t", &s).is_ok());
  EXPECT_EQ(s.config_problems, std::vector<std::string>{"t: config.json.hidden_size: expected an integer, got string"});
  EXPECT_FALSE(s.hidden_size.has_value());
  EXPECT_EQ(s.architecture, "");
  EXPECT_EQ(*s.bos_token_id, 1);
  EXPECT_EQ(s.eos_token_ids, (std::vector<int64_t>{5, 6}));

  for (const std::string bad_config :
       {R"({"architectures": [7]})", R"({"quantization": {"bits": "4", "group_size": 64}})",
        R"({"eos_token_id": ["2", 3]})", R"({"tie_word_embeddings": "yes"})", R"({"text_config": 1})",
        R"({"rope_scaling": {"factor": "8"}})", R"({"quantization": {"model.layers.0.q": {"mode": [1]}}})"}) {
    ModelSummary t;
    ASSERT_TRUE(interpret_model_files(&bad_config, nullptr, nullptr, "t", &t).is_ok()) << bad_config;
    ASSERT_EQ(t.config_problems.size(), 1u) << bad_config;
    EXPECT_EQ(t.config_problems[0].rfind("t: config.json.", 0), 0u) << t.config_problems[0];
  }
  const std::string bad_generation = R"({"bos_token_id": {"x": 1}})";
  ASSERT_TRUE(interpret_model_files(nullptr, &bad_generation, nullptr, "t", &s).is_ok());
  EXPECT_EQ(s.config_problems.back(), "t: generation_config.json.bos_token_id: expected an integer, got object");

  const std::string broken = "{\"a\": ";
  const Status bad = interpret_model_files(&broken, nullptr, nullptr, "t", &s);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "t: config.json: not valid JSON");
  const std::string array = "[1]";
  EXPECT_FALSE(interpret_model_files(nullptr, &array, nullptr, "t", &s).is_ok());
}

// Multimodal configs keep the language model's sizes under text_config.
TEST(ModelSummaryTest, SizesFallBackToTextConfig) {
  ModelSummary s;
  const std::string config = R"({"model_type": "gemma3", "text_config": {"hidden_size": 640, "num_hidden_layers": 3},
                                 "num_hidden_layers": 2})";
  ASSERT_TRUE(interpret_model_files(&config, nullptr, nullptr, "t", &s).is_ok());
  EXPECT_EQ(*s.hidden_size, 640);
  EXPECT_EQ(*s.num_layers, 2);
  EXPECT_TRUE(s.config_problems.empty());
}

// The new architectures' fields: Gemma's local-global layers (from
// layer_types, sliding_window_pattern or Gemma 2's alternation), Phi-2's
// partial rotary, Mixtral's experts; a model without them shows none.
TEST(ModelSummaryTest, LocalGlobalLayersPartialRotaryAndExpertsAreShown) {
  struct Case {
    const char* config;
    const char* line;
  };
  const Case cases[] = {
      {R"({"model_type": "gemma3_text", "num_hidden_layers": 26, "sliding_window": 512, "sliding_window_pattern": 6})",
       "  sliding window   512, layers 22 local, 4 global (sliding_window_pattern 6)\n"},
      {R"({"model_type": "gemma3_text", "num_hidden_layers": 3, "sliding_window": 4,
           "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]})",
       "  sliding window   4, layers 2 local, 1 global (layer_types)\n"},
      {R"({"model_type": "gemma2", "num_hidden_layers": 5, "sliding_window": 4096})",
       "  sliding window   4096, layers 3 local, 2 global (alternating)\n"},
      {R"({"model_type": "mistral", "num_hidden_layers": 5, "sliding_window": 4096})",
       "  sliding window   4096, every layer\n"},
      {R"({"model_type": "phi", "partial_rotary_factor": 0.4})", "  rotary fraction  0.40\n"},
      {R"({"model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2})", "  experts          8, 2 per token\n"},
      {R"({"model_type": "qwen3_moe", "num_experts": 128, "num_experts_per_tok": 8})", "  experts          128, 8 per token\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.config);
    ModelSummary s;
    const std::string config = c.config;
    ASSERT_TRUE(interpret_model_files(&config, nullptr, nullptr, "t", &s).is_ok());
    EXPECT_NE(summary_to_text(s, false).find(c.line), std::string::npos) << summary_to_text(s, false);
  }
  ModelSummary s;
  const std::string gemma = cases[0].config;
  ASSERT_TRUE(interpret_model_files(&gemma, nullptr, nullptr, "t", &s).is_ok());
  const nlohmann::json j = nlohmann::json::parse(summary_to_json(s, false));
  EXPECT_EQ(j["model"]["sliding_window"], 512);
  EXPECT_EQ(j["model"]["attention_layout"], "22 local, 4 global (sliding_window_pattern 6)");
  EXPECT_TRUE(j["model"]["experts"].is_null());
  ModelSummary plain;
  const std::string llama = R"({"model_type": "llama", "num_hidden_layers": 2})";
  ASSERT_TRUE(interpret_model_files(&llama, nullptr, nullptr, "t", &plain).is_ok());
  const std::string text = summary_to_text(plain, false);
  for (const char* absent : {"sliding window", "experts ", "rotary fraction"}) EXPECT_EQ(text.find(absent), std::string::npos) << absent;
}

}  // namespace
}  // namespace mlxpack
