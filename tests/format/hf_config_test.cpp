// config.json and generation_config.json as every consumer reads them.
#include "format/hf_config.h"

#include <gtest/gtest.h>

namespace mlxpack {
namespace {

TEST(HfConfig, ReadsTheFieldsTheConsumersUse) {
  auto c = parse_hf_config(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": null, "rms_norm_eps": 1e-6,
      "tie_word_embeddings": true, "rope_scaling": {"type": "linear", "factor": 2}, "eos_token_id": [2, 3, 2],
      "bos_token_id": 1, "quantization": {"bits": 4, "group_size": 64, "lm_head": {"bits": 8, "group_size": 32}}})",
                           "config.json");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->architecture, "LlamaForCausalLM");
  EXPECT_EQ(c->model_type, "llama");
  EXPECT_EQ(*c->hidden_size, 64);
  EXPECT_FALSE(c->num_key_value_heads.has_value());  // null is absent
  EXPECT_FALSE(c->vocab_size.has_value());
  EXPECT_DOUBLE_EQ(*c->rms_norm_eps, 1e-6);
  EXPECT_TRUE(*c->tie_word_embeddings);
  EXPECT_EQ(c->rope_scaling->type, "linear");
  EXPECT_DOUBLE_EQ(*c->rope_scaling->factor, 2.0);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(*c->bos_token_id, 1);
  EXPECT_EQ(*c->quantization->bits, 4);
  EXPECT_EQ(*c->quantization->modules.at("lm_head").group_size, 32);
  EXPECT_EQ(c->document["hidden_size"], 64);  // kept whole for rewriting
}

// Every error names the file and the JSON path of the field.
TEST(HfConfig, ErrorsNameTheJsonPath) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"hidden_size": "64"})", "c.json.hidden_size: expected an integer, got string"},
      {R"({"hidden_size": -1})", "c.json.hidden_size: value -1 is outside [0, 2147483647]"},
      {R"({"text_config": {"vocab_size": 1.5}})", "c.json.text_config.vocab_size: expected an integer, got number"},
      {R"({"architectures": "Llama"})", "c.json.architectures: expected an array, got string"},
      {R"({"rope_scaling": {"factor": "8"}})", "c.json.rope_scaling.factor: expected a number, got string"},
      {R"({"eos_token_id": [1, "2"]})", "c.json.eos_token_id[1]: expected a token id, got string"},
      {R"({"eos_token_id": -3})", "c.json.eos_token_id: value -3 is outside [0, 1073741824]"},
      {R"({"quantization": {"bits": 4, "m.q": {"bits": true}}})", "c.json.quantization['m.q'].bits: expected an integer, got boolean"},
      {R"({"mlp_bias": 1})", "c.json.mlp_bias: expected true or false, got number"},
      {"[]", "c.json: expected a JSON object at the top level"},
      {"{", "c.json: not valid JSON"},
  };
  for (const auto& [text, message] : cases) {
    auto c = parse_hf_config(text, "c.json");
    ASSERT_FALSE(c.is_ok()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(c.status().message(), message);
  }
}

TEST(HfConfig, GenerationConfigGivesStopAndStartIds) {
  auto g = parse_hf_generation_config(R"({"bos_token_id": 1, "eos_token_id": 7, "do_sample": true})", "g.json");
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(*g->bos_token_id, 1);
  EXPECT_EQ(g->eos_token_ids, std::vector<int64_t>{7});
  std::string many = R"({"eos_token_id": [)";
  for (int i = 0; i < 1025; ++i) many += (i ? ",1" : "1");
  auto bad = parse_hf_generation_config(many + "]}", "g.json");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "g.json.eos_token_id: lists 1025 token ids, more than the limit of 1024");
}

}  // namespace
}  // namespace mlxpack
