// GGUF export: stories260K against llama.cpp's own conversion of the same
// checkpoint, round trips (directory -> GGUF -> pack) that keep every float
// tensor and MLX 4-bit layer exactly and every shared tokenizer's reference
// encodings, ggml's error bounds for the quantized types, and refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "convert/converter.h"
#include "format/byte_order.h"
#include "format/gguf.h"
#include "format/half.h"
#include "format/safetensors.h"
#include "mlxpack/model_source.h"
#include "mlxpack/tokenizer.h"
#include "tests/runtime/tiny_model.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

using nlohmann::json;

Result<ConvertReport> run_convert(const std::string& in, const std::string& out, OutputFormat format,
                                  GgufOutputType type = GgufOutputType::kKeep) {
  ConvertOptions o;
  o.input = in;
  o.output = out;
  o.format = format;
  o.gguf_type = type;
  o.overwrite = true;
  return convert_model(o);
}

std::string tensor_bytes(const std::string& file, const GgufFile& g, const std::string& name) {
  const GgufTensorInfo* t = g.tensor(name);
  if (t == nullptr) return "";
  return test::read_file(file).substr(t->offset, t->size_bytes);
}

std::string bytes_of(const TensorView& t) { return std::string(static_cast<const char*>(t.data), t.size_bytes); }

TEST(GgufExport, Stories260KMatchesLlamaCppsOwnConversion) {
  std::string hf, theirs;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", hf);
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K-gguf", theirs);
  test::TempDir dir;
  Result<ConvertReport> r = run_convert(hf, dir.file("s.gguf"), OutputFormat::kGguf);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  Result<GgufFile> ours = read_gguf(dir.file("s.gguf"));
  Result<GgufFile> ref = read_gguf(theirs + "/stories260K.gguf");
  ASSERT_TRUE(ours.is_ok() && ref.is_ok()) << ours.status().to_string();
  // Every tensor as llama.cpp wrote it, q/k rows in its order; the tied
  // lm_head is left to llama.cpp's tying (no output.weight).
  EXPECT_EQ(ours->tensors.size(), 47u);
  for (const GgufTensorInfo& t : ref->tensors) {
    if (t.name == "output.weight") continue;
    EXPECT_TRUE(tensor_bytes(dir.file("s.gguf"), *ours, t.name) == tensor_bytes(theirs + "/stories260K.gguf", *ref, t.name))
        << t.name;
  }
  EXPECT_EQ(ours->find("tokenizer.ggml.tokens")->strings, ref->find("tokenizer.ggml.tokens")->strings);
  EXPECT_EQ(ours->find("tokenizer.ggml.token_type")->ints, ref->find("tokenizer.ggml.token_type")->ints);
  for (const char* key : {"llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
                          "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.dimension_count",
                          "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    EXPECT_EQ(ours->find(key)->as_uint(), ref->find(key)->as_uint()) << key;
  }
  EXPECT_EQ(ours->find("llama.attention.layer_norm_rms_epsilon")->f,
            ref->find("llama.attention.layer_norm_rms_epsilon")->f);

  // And back: the checkpoint and its tokenizer, exactly.
  ASSERT_TRUE(run_convert(dir.file("s.gguf"), dir.file("back"), OutputFormat::kMlxDir).is_ok());
  auto back = ModelSource::open(dir.file("back"));
  auto want = ModelSource::open(hf);
  ASSERT_TRUE(back.is_ok() && want.is_ok());
  for (const std::string& name : (*want)->tensor_names()) {
    EXPECT_TRUE(bytes_of(*(*back)->tensor(name)) == bytes_of(*(*want)->tensor(name))) << name;
  }
  EXPECT_EQ(json::parse(*(*back)->file("tokenizer.json")), json::parse(*(*want)->file("tokenizer.json")));
  EXPECT_EQ(json::parse(*(*back)->file("config.json"))["tie_word_embeddings"], true);
}

TEST(GgufExport, KeepCarriesMlx4BitGroupsOf32AsQ4_1BlockForBlock) {
  std::string hf;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", hf);
  test::TempDir dir;
  ConvertOptions q;
  q.input = hf;
  q.output = dir.file("q4.mlxpack");
  q.quant.quantize_linear = true;
  q.quant.linear = {4, 32};
  q.quant.float_embeddings = true;
  q.dtype = DType::kF16;  // float16 scales and biases: what Q4_1 holds
  ASSERT_TRUE(convert_model(q).is_ok());
  Result<ConvertReport> r = run_convert(dir.file("q4.mlxpack"), dir.file("q4.gguf"), OutputFormat::kGguf);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(r->kept_float.empty());  // nothing requantized
  Result<GgufFile> g = read_gguf(dir.file("q4.gguf"));
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->tensor("blk.0.attn_q.weight")->type, kGgmlQ4_1);
  EXPECT_EQ(g->tensor("blk.0.ffn_down.weight")->type, kGgmlF16);  // 172 columns: mlx-lm left it float
  EXPECT_EQ(g->tensor("blk.0.attn_norm.weight")->type, kGgmlF32);  // as llama.cpp keeps norms
  ASSERT_TRUE(run_convert(dir.file("q4.gguf"), dir.file("back.mlxpack"), OutputFormat::kPack).is_ok());
  auto back = ModelSource::open(dir.file("back.mlxpack"));
  auto want = ModelSource::open(dir.file("q4.mlxpack"));
  ASSERT_TRUE(back.is_ok() && want.is_ok());
  size_t affine = 0;
  for (const std::string& name : (*want)->tensor_names()) {
    const TensorView a = *(*back)->tensor(name), b = *(*want)->tensor(name);
    if (a.rank == 1) {  // norms come back as F32, with the same values
      ASSERT_EQ(a.dtype, DType::kF32);
      for (uint64_t i = 0; i < b.shape[0]; ++i) {
        EXPECT_EQ(static_cast<const float*>(a.data)[i], f16_to_f32(static_cast<const uint16_t*>(b.data)[i])) << name;
      }
      continue;
    }
    EXPECT_TRUE(bytes_of(a) == bytes_of(b)) << name;
    affine += name.find(".scales") != std::string::npos;
  }
  EXPECT_EQ(affine, 5u * 6);  // q, k, v, o, gate, up in five layers
}

// A small llama model around a real tokenizer (vocabulary sized to it).
void write_model_with_tokenizer(const std::string& dir, const std::string& tokenizer_dir, uint64_t vocab) {
  std::filesystem::create_directories(dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(tokenizer_dir + "/" + f, dir + "/" + f);
  }
  const uint64_t h = 32, ff = 64;
  test::write_file(dir + "/config.json",
                   json{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", h},
                        {"intermediate_size", ff}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
                        {"num_key_value_heads", 1}, {"vocab_size", vocab}, {"rms_norm_eps", 1e-5},
                        {"rope_theta", 500000.0}, {"tie_word_embeddings", true}}
                       .dump());
  std::vector<SafetensorsWriteTensor> t = {
      {"model.embed_tokens.weight", DType::kBF16, {vocab, h}, test::random_bytes(vocab * h * 2, 1)},
      {"model.norm.weight", DType::kF32, {h}, test::random_bytes(h * 4, 2)},
      {"model.layers.0.input_layernorm.weight", DType::kF32, {h}, test::random_bytes(h * 4, 3)},
      {"model.layers.0.post_attention_layernorm.weight", DType::kF32, {h}, test::random_bytes(h * 4, 4)},
      {"model.layers.0.self_attn.q_proj.weight", DType::kF16, {h, h}, test::random_bytes(h * h * 2, 5)},
      {"model.layers.0.self_attn.k_proj.weight", DType::kF16, {h / 2, h}, test::random_bytes(h * h, 6)},
      {"model.layers.0.self_attn.v_proj.weight", DType::kF16, {h / 2, h}, test::random_bytes(h * h, 7)},
      {"model.layers.0.self_attn.o_proj.weight", DType::kF16, {h, h}, test::random_bytes(h * h * 2, 8)},
      {"model.layers.0.mlp.gate_proj.weight", DType::kF16, {ff, h}, test::random_bytes(ff * h * 2, 9)},
      {"model.layers.0.mlp.up_proj.weight", DType::kF16, {ff, h}, test::random_bytes(ff * h * 2, 10)},
      {"model.layers.0.mlp.down_proj.weight", DType::kF16, {h, ff}, test::random_bytes(ff * h * 2, 11)},
  };
  test::write_file(dir + "/model.safetensors", encode_safetensors(t, {{"format", "pt"}}));
}

struct TokenizerCase {
  const char* name;
  const char* dir;
  uint64_t vocab;
};

class GgufTokenizerRoundTrip : public ::testing::TestWithParam<TokenizerCase> {};

// Directory -> GGUF -> directory: the tokenizer encodes and decodes every
// shared reference case exactly as the original.
TEST_P(GgufTokenizerRoundTrip, EncodesEveryReferenceCaseAsTheOriginal) {
  const TokenizerCase& c = GetParam();
  std::string tokenizer_dir, reference_path;
  MLXPACK_REQUIRE_TEST_DATA(c.dir, tokenizer_dir);
  MLXPACK_REQUIRE_TEST_DATA(std::string("reference/tokenizers/") + c.name + ".json", reference_path);
  test::TempDir dir;
  write_model_with_tokenizer(dir.file("model"), tokenizer_dir, c.vocab);
  Result<ConvertReport> r = run_convert(dir.file("model"), dir.file("m.gguf"), OutputFormat::kGguf);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  r = run_convert(dir.file("m.gguf"), dir.file("back"), OutputFormat::kMlxDir);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  auto tok = Tokenizer::load(dir.file("back"));
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  const json reference = json::parse(test::read_file(reference_path));
  size_t checked = 0;
  for (const json& k : reference["cases"]) {
    const std::string text = k["text"];
    auto ids = (*tok)->encode(text, false);
    ASSERT_TRUE(ids.is_ok());
    EXPECT_EQ(*ids, k["ids"].get<std::vector<int32_t>>()) << c.name << ": " << text;
    auto with_special = (*tok)->encode(text, true);
    EXPECT_EQ(*with_special, k["ids_with_special_tokens"].get<std::vector<int32_t>>()) << c.name << ": " << text;
    auto decoded = (*tok)->decode(k["ids"].get<std::vector<int32_t>>());
    ASSERT_TRUE(decoded.is_ok());
    EXPECT_EQ(*decoded, k["decoded"].get<std::string>()) << c.name << ": " << text;
    ++checked;
  }
  EXPECT_GE(checked, 50u);
  // The float tensors come back exactly (BF16, F16 and F32 kept).
  auto back = ModelSource::open(dir.file("back"));
  auto want = ModelSource::open(dir.file("model"));
  ASSERT_TRUE(back.is_ok() && want.is_ok());
  for (const std::string& name : (*want)->tensor_names()) {
    EXPECT_TRUE(bytes_of(*(*back)->tensor(name)) == bytes_of(*(*want)->tensor(name))) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(SharedTokenizers, GgufTokenizerRoundTrip,
                         ::testing::Values(TokenizerCase{"llama3", "tokenizers/llama3", 128256},
                                           TokenizerCase{"qwen3", "tokenizers/qwen3", 151669},
                                           TokenizerCase{"mistral", "tokenizers/mistral", 32000}),
                         [](const auto& info) { return std::string(info.param.name); });

// Every architecture, directory -> GGUF -> pack: the same tensors byte for
// byte (llama's q/k rows permuted and back, phi3's fused matrices, qwen2's
// biases, qwen3's q/k norms) and the same configuration.
class GgufArchitectureRoundTrip : public ::testing::TestWithParam<test::TinySpec> {};

TEST_P(GgufArchitectureRoundTrip, KeepsTensorsAndConfig) {
  std::string stories;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", stories);
  const test::TinySpec& spec = GetParam();
  test::TempDir dir;
  test::write_tiny_model(dir.file("m"), spec);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(stories + "/" + f, dir.file(std::string("m/") + f),
                               std::filesystem::copy_options::overwrite_existing);
  }
  ASSERT_TRUE(run_convert(dir.file("m"), dir.file("m.gguf"), OutputFormat::kGguf).is_ok());
  Result<ConvertReport> r = run_convert(dir.file("m.gguf"), dir.file("back.mlxpack"), OutputFormat::kPack);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  auto back = ModelSource::open(dir.file("back.mlxpack"));
  auto want = ModelSource::open(dir.file("m"));
  ASSERT_TRUE(back.is_ok() && want.is_ok());
  EXPECT_EQ((*back)->tensor_names(), (*want)->tensor_names());
  for (const std::string& name : (*want)->tensor_names()) {
    EXPECT_TRUE(bytes_of(*(*back)->tensor(name)) == bytes_of(*(*want)->tensor(name))) << name;
  }
  const json a = json::parse(*(*back)->file("config.json")), b = json::parse(*(*want)->file("config.json"));
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "max_position_embeddings",
                          "tie_word_embeddings", "sliding_window", "partial_rotary_factor"}) {
    EXPECT_EQ(a.value(key, json()), b.value(key, json())) << key;
  }
  EXPECT_EQ(a["model_type"], spec.model_type == "mistral" ? "llama" : spec.model_type);  // llama.cpp's name
}

std::vector<test::TinySpec> round_trip_specs() {
  std::vector<test::TinySpec> out;
  for (const char* type : {"llama", "qwen2", "qwen3", "phi3", "mistral"}) {
    test::TinySpec s;
    s.model_type = type;
    s.tie_embeddings = std::string(type) == "qwen3";
    if (std::string(type) == "mistral") s.sliding_window = 5;
    if (std::string(type) == "phi3") s.partial_rotary = 0.5;
    out.push_back(s);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Architectures, GgufArchitectureRoundTrip, ::testing::ValuesIn(round_trip_specs()),
                         [](const auto& info) { return info.param.model_type; });

// ggml's dequantization of our Q8_0/Q4_0/Q4_1 blocks is within half a step
// of the original, F16/BF16 round to nearest, and the values come back.
TEST(GgufExport, EveryRequestedTypeIsWithinItsQuantizationStep) {
  std::string hf;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", hf);
  auto original = ModelSource::open(hf);
  ASSERT_TRUE(original.is_ok());
  const TensorView w = *(*original)->tensor("model.layers.0.self_attn.q_proj.weight");  // [64, 64] F32
  const auto* src = static_cast<const float*>(w.data);
  test::TempDir dir;
  for (GgufOutputType type : {GgufOutputType::kF32, GgufOutputType::kF16, GgufOutputType::kBF16,
                              GgufOutputType::kQ8_0, GgufOutputType::kQ4_0, GgufOutputType::kQ4_1}) {
    const int t = static_cast<int>(type);
    ASSERT_TRUE(run_convert(hf, dir.file("t.gguf"), OutputFormat::kGguf, type).is_ok()) << t;
    ASSERT_TRUE(run_convert(dir.file("t.gguf"), dir.file("t.mlxpack"), OutputFormat::kPack).is_ok()) << t;
    auto back = ModelSource::open(dir.file("t.mlxpack"));
    ASSERT_TRUE(back.is_ok());
    const std::string base = "model.layers.0.self_attn.q_proj";
    double worst = 0;  // error over the allowed error
    for (uint64_t row = 0; row < 64; ++row) {
      for (uint64_t b = 0; b < 2; ++b) {
        float lo = INFINITY, hi = -INFINITY, amax = 0;
        for (int j = 0; j < 32; ++j) {
          const float x = src[row * 64 + b * 32 + j];
          lo = std::min(lo, x), hi = std::max(hi, x), amax = std::max(amax, std::fabs(x));
        }
        for (int j = 0; j < 32; ++j) {
          const uint64_t i = row * 64 + b * 32 + j;
          float got;
          double allowed;
          if (type == GgufOutputType::kF32 || type == GgufOutputType::kF16 || type == GgufOutputType::kBF16) {
            const TensorView v = *(*back)->tensor(base + ".weight");
            got = type == GgufOutputType::kF32   ? static_cast<const float*>(v.data)[i]
                  : type == GgufOutputType::kF16 ? f16_to_f32(static_cast<const uint16_t*>(v.data)[i])
                                                 : bf16_to_f32(static_cast<const uint16_t*>(v.data)[i]);
            allowed = type == GgufOutputType::kF32 ? 0 : std::fabs(src[i]) * (type == GgufOutputType::kF16 ? 0x1p-11 : 0x1p-8);
          } else {
            const TensorView q = *(*back)->tensor(base + ".weight"), s = *(*back)->tensor(base + ".scales"),
                             z = *(*back)->tensor(base + ".biases");
            const int bits = q.shape[1] * 32 / 64;
            const auto* words = static_cast<const uint8_t*>(q.data) + row * q.shape[1] * 4;
            uint32_t v = 0;
            for (int k = 0; k < bits; ++k) {
              const uint64_t bit = (b * 32 + j) * bits + k;
              v |= ((words[bit / 8] >> (bit % 8)) & 1u) << k;
            }
            const uint64_t g = row * 2 + b;
            got = f16_to_f32(static_cast<const uint16_t*>(s.data)[g]) * static_cast<float>(v) +
                  f16_to_f32(static_cast<const uint16_t*>(z.data)[g]);
            const double step = type == GgufOutputType::kQ8_0 ? amax / 127 : type == GgufOutputType::kQ4_0 ? amax / 8 : (hi - lo) / 15;
            // Half a step (Q4_0: a whole one where 16 clamps to 15), and the float16 rounding of d and m.
            allowed = step * (type == GgufOutputType::kQ4_0 ? 1.01 : 0.505) + 2e-3 * amax;
          }
          const double err = std::fabs(static_cast<double>(got) - src[i]);
          worst = std::max(worst, allowed == 0 ? (err == 0 ? 0.0 : INFINITY) : err / allowed);
        }
      }
    }
    EXPECT_LE(worst, 1.0) << "type " << t;
  }
}

TEST(GgufExport, RefusesWhatGgufCannotHold) {
  std::string hf, gguf;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", hf);
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K-gguf", gguf);
  test::TempDir dir;
  // GGUF to GGUF.
  Result<ConvertReport> r = run_convert(gguf + "/stories260K.gguf", dir.file("x.gguf"), OutputFormat::kGguf);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("already a GGUF"), std::string::npos);
  // An architecture llama.cpp's names here do not cover.
  std::filesystem::copy(hf, dir.file("gemma"));
  json config = json::parse(test::read_file(hf + "/config.json"));
  config["model_type"] = "gemma2";
  test::write_file(dir.file("gemma/config.json"), config.dump());
  r = run_convert(dir.file("gemma"), dir.file("g.gguf"), OutputFormat::kGguf);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("model_type \"gemma2\" is not exported to GGUF"), std::string::npos);
  // A Unigram tokenizer.
  std::filesystem::copy(hf, dir.file("uni"));
  json t = json::parse(test::read_file(hf + "/tokenizer.json"));
  t["model"]["type"] = "Unigram";
  test::write_file(dir.file("uni/tokenizer.json"), t.dump());
  r = run_convert(dir.file("uni"), dir.file("u.gguf"), OutputFormat::kGguf);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("only BPE tokenizers are written to GGUF"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("u.gguf")));
}

}  // namespace
}  // namespace mlxpack
