// Each architecture's forward pass on a small random model against the
// reference implementation in tiny_model.cpp (double accumulation), in one
// prefill batch and token by token; StreamingLLM eviction against a fresh
// run over the tokens it keeps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "mlxpack/model_source.h"
#include "runtime/engine/model_config.h"
#include "runtime/engine/model_weights.h"
#include "runtime/engine/thread_pool.h"
#include "runtime/engine/transformer.h"
#include "runtime/kernels/linear.h"
#include "tests/runtime/tiny_model.h"
#include "convert/converter.h"
#include "tests/support/ggml_blocks.h"
#include "tests/support/gguf_builder.h"
#include "tests/support/test_support.h"

namespace mlxpack::test {
namespace {

struct Engine {
  std::unique_ptr<ModelSource> source;
  std::unique_ptr<engine::ThreadPool> pool;
  std::unique_ptr<engine::Transformer> model;
};

Engine load(const std::string& dir, int capacity, int max_batch, int threads,
            engine::KvType kv = engine::KvType::kF32) {
  Engine e;
  auto src = ModelSource::open(dir);
  EXPECT_TRUE(src.is_ok()) << src.status().to_string();
  if (!src.is_ok()) return e;
  e.source = std::move(src).value();
  auto text = e.source->file("config.json");
  auto config = engine::parse_model_config(*text, "config.json");
  EXPECT_TRUE(config.is_ok()) << config.status().to_string();
  if (!config.is_ok()) return e;
  auto weights = engine::bind_weights(*e.source, *config);
  EXPECT_TRUE(weights.is_ok()) << weights.status().to_string();
  if (!weights.is_ok()) return e;
  e.pool = std::make_unique<engine::ThreadPool>(threads);
  e.model =
      std::make_unique<engine::Transformer>(*config, std::move(weights).value(), e.pool.get(), capacity, max_batch, kv);
  return e;
}

double max_abs(const std::vector<std::vector<double>>& a) {
  double m = 0;
  for (const auto& r : a) {
    for (double v : r) m = std::max(m, std::fabs(v));
  }
  return m;
}

void expect_close(const float* got, const std::vector<double>& want, double tolerance, const std::string& what) {
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(got[i] - want[i]);
    if (d > worst) worst = d, at = i;
  }
  EXPECT_LE(worst, tolerance) << what << ": logit " << at << " is " << got[at] << ", reference " << want[at];
}

std::vector<int> some_tokens(int n, int vocab, uint64_t seed) {
  std::vector<int> t(n);
  for (int i = 0; i < n; ++i) t[i] = int((seed * 2654435761u + i * 40503u) % vocab);
  return t;
}

struct ArchCase {
  const char* name;
  TinySpec spec;
};

std::vector<ArchCase> arch_cases() {
  std::vector<ArchCase> c;
  TinySpec s;
  c.push_back({"llama", s});
  s = {};
  s.tie_embeddings = true;
  s.llama3_rope = true;
  c.push_back({"llama3_rope_tied", s});
  s = {};
  s.attention_bias = true;
  s.kv_heads = 4;
  c.push_back({"llama_attention_bias_mha", s});
  s = {};
  s.model_type = "mistral";
  s.sliding_window = 5;
  c.push_back({"mistral_sliding_window", s});
  s = {};
  s.model_type = "qwen2";
  c.push_back({"qwen2_qkv_bias", s});
  s = {};
  s.model_type = "qwen3";
  s.kv_heads = 1;
  c.push_back({"qwen3_qk_norm", s});
  s = {};
  s.model_type = "phi3";
  c.push_back({"phi3_fused", s});
  s = {};
  s.partial_rotary = 0.5;
  s.dtype = DType::kBF16;
  c.push_back({"llama_partial_rotary_bf16", s});
  s = {};
  s.dtype = DType::kF16;
  c.push_back({"llama_f16", s});
  return c;
}

// The model in `dir` against the reference logits: in one batch (the
// register-tiled path, 2 threads) and one token at a time (the
// matrix-vector path, 1 thread), with the F32 cache within `tol` and the
// F16 cache (keys and values rounded to 11 significant bits once each)
// within `tol16`.
void check_forward(const std::string& dir, const TinySpec& spec, const std::vector<int>& tokens,
                   const std::vector<std::vector<double>>& want, double tol, double tol16, const std::string& what) {
  SCOPED_TRACE(what);
  for (const engine::KvType kv : {engine::KvType::kF32, engine::KvType::kF16}) {
    const double t = kv == engine::KvType::kF32 ? tol : tol16;
    const std::string cache = kv == engine::KvType::kF32 ? "" : "F16 cache, ";
    Engine batch = load(dir, 32, 16, 2, kv);
    ASSERT_TRUE(batch.model);
    std::vector<float> logits(tokens.size() * spec.vocab);
    batch.model->forward(tokens.data(), int(tokens.size()), logits.data(), /*all_logits=*/true);
    for (size_t i = 0; i < tokens.size(); ++i) {
      expect_close(&logits[i * spec.vocab], want[i], t, cache + "batch position " + std::to_string(i));
    }
    Engine step = load(dir, 32, 1, 1, kv);
    ASSERT_TRUE(step.model);
    std::vector<float> one(spec.vocab);
    for (size_t i = 0; i < tokens.size(); ++i) {
      step.model->forward(&tokens[i], 1, one.data());
      expect_close(one.data(), want[i], t, cache + "step position " + std::to_string(i));
    }
  }
}

class ForwardTest : public ::testing::TestWithParam<ArchCase> {};

TEST_P(ForwardTest, MatchesTheReferenceInOneBatchAndTokenByToken) {
  const TinySpec& spec = GetParam().spec;
  TempDir dir;
  const Tensors w = write_tiny_model(dir.path(), spec);
  const std::vector<int> tokens = some_tokens(11, spec.vocab, 3);
  const auto want = reference_logits(spec, w, tokens);
  const double scale = std::max(1.0, max_abs(want));
  const kernels::KernelTable* active = kernels::active_table();
  if (spec.dtype != DType::kBF16 || active->dot_bf16 == nullptr) {
    check_forward(dir.path(), spec, tokens, want, 2e-4 * scale, 2e-3 * scale, active->name);
    return;
  }
  // BF16 products round the activations to BF16 (as MLX and llama.cpp
  // multiply BF16 weights): up to 2^-9 of each product, about 2e-3 of the
  // logits' scale here (measured: at most 0.0043 at a scale of about 1.9).
  check_forward(dir.path(), spec, tokens, want, 1e-2 * scale, 1e-2 * scale, active->name);
  // And the float path, to the float tolerance, on the widest table
  // without them.
  kernels::set_active_table(kernels::avx512_table());
  check_forward(dir.path(), spec, tokens, want, 2e-4 * scale, 2e-3 * scale, kernels::avx512_table()->name);
  kernels::set_active_table(nullptr);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ForwardTest, ::testing::ValuesIn(arch_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// A qwen3 model imported from a GGUF whose matrices are K-quants (groups
// of 16 multiplied as float rows, Q4_K/Q5_K's groups of 32 by the int8
// kernels) against the reference run on ggml's dequantization of the same
// blocks.
TEST(GgufKQuants, ImportedModelRunsAsItsDequantizedWeights) {
  TinySpec spec;
  spec.model_type = "qwen3";
  spec.hidden = 256, spec.intermediate = 256, spec.layers = 1, spec.heads = 4, spec.kv_heads = 2;
  spec.head_dim = 64;
  TempDir dir;
  Tensors w = write_tiny_model(dir.file("ref"), spec);
  const std::map<std::string, std::string> names = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"lm_head.weight", "output.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight"},
      {"model.layers.0.post_attention_layernorm.weight", "blk.0.ffn_norm.weight"},
      {"model.layers.0.self_attn.q_norm.weight", "blk.0.attn_q_norm.weight"},
      {"model.layers.0.self_attn.k_norm.weight", "blk.0.attn_k_norm.weight"},
      {"model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"},
      {"model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight"},
      {"model.layers.0.self_attn.v_proj.weight", "blk.0.attn_v.weight"},
      {"model.layers.0.self_attn.o_proj.weight", "blk.0.attn_output.weight"},
      {"model.layers.0.mlp.gate_proj.weight", "blk.0.ffn_gate.weight"},
      {"model.layers.0.mlp.up_proj.weight", "blk.0.ffn_up.weight"},
      {"model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight"},
  };
  GgufBuilder b;
  b.str("general.architecture", "qwen3").u32("qwen3.block_count", 1).u32("qwen3.embedding_length", 256);
  b.u32("qwen3.feed_forward_length", 256).u32("qwen3.attention.head_count", 4);
  b.u32("qwen3.attention.head_count_kv", 2).u32("qwen3.attention.key_length", 64);
  b.u32("qwen3.context_length", uint32_t(spec.max_positions)).f32("qwen3.rope.freq_base", 10000.0f);
  b.f32("qwen3.attention.layer_norm_rms_epsilon", 1e-6f);
  std::vector<std::string> tokens;
  for (int i = 0; i < spec.vocab; ++i) tokens.push_back("t" + std::to_string(i));
  b.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", "qwen2").strings("tokenizer.ggml.tokens", tokens);
  b.strings("tokenizer.ggml.merges", {});
  const uint32_t types[] = {kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K};
  std::mt19937 rng(5);
  size_t next = 0;
  for (auto& [name, values] : w) {
    ASSERT_TRUE(names.count(name)) << name;
    const std::string& gguf = names.at(name);
    if (values.size() == 256 || values.size() == 64) {  // norms: F32 as they are
      std::string bytes;
      for (float v : values) put_f32(&bytes, v);
      b.tensor(gguf, {values.size()}, 0, bytes);
      continue;
    }
    const uint32_t type = types[next++ % 5];
    const uint64_t cols = 256, rows = values.size() / cols;
    const std::string bytes = random_ggml_blocks(type, values.size() / 256, &rng);
    for (uint64_t i = 0; i < values.size() / 256; ++i) {
      ggml_dequantize_block(type, reinterpret_cast<const uint8_t*>(bytes.data()) + i * ggml_block_bytes(type),
                            values.data() + i * 256);
    }
    b.tensor(gguf, {cols, rows}, type, bytes);
  }
  write_file(dir.file("k.gguf"), b.build());
  ConvertOptions o;
  o.input = dir.file("k.gguf");
  o.output = dir.file("k.mlxpack");
  auto r = convert_model(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const std::vector<int> prompt = some_tokens(11, spec.vocab, 3);
  const auto want = reference_logits(spec, w, prompt);
  const double scale = std::max(1.0, max_abs(want));
  // Q4_K and Q5_K layers multiply int8-quantized activations (blocks of 32,
  // as every quantized layer does): measured at most 0.6% of the logits'
  // scale here (0.0063 at a scale of 1.16).
  check_forward(dir.file("k.mlxpack"), spec, prompt, want, 2e-2 * scale, 2e-2 * scale, "K-quants");
}

// StreamingLLM: after evicting positions [sinks, sinks + count), the cache
// must behave exactly like a fresh run over the kept tokens (positions are
// those in the cache), which is what re-rotating the kept keys ensures. With
// one layer the kept keys and values depend only on their token and
// position, so the two runs must agree exactly; deeper models' cached states
// still carry what the evicted tokens contributed, by design.
TEST(KvCacheEviction, KeepsSinksAndEqualsAFreshRunOverTheKeptTokens) {
  TinySpec spec;
  spec.layers = 1;
  TempDir dir;
  write_tiny_model(dir.path(), spec);
  const std::vector<int> tokens = some_tokens(20, spec.vocab, 9);
  const int sinks = 4, count = 6;
  // F32 entries, and F16 ones (a kept key is rounded again after its
  // rotation, so the two runs agree to F16 precision there).
  for (const engine::KvType type : {engine::KvType::kF32, engine::KvType::kF16}) {
    const bool f16 = type == engine::KvType::kF16;
    SCOPED_TRACE(f16 ? "F16 cache" : "F32 cache");
    Engine evicted = load(dir.path(), 24, 8, 1, type);
    ASSERT_TRUE(evicted.model);
    engine::KvCache& cache = evicted.model->cache();
    std::vector<float> logits(spec.vocab);
    for (size_t i = 0; i < tokens.size(); i += 5) evicted.model->forward(&tokens[i], 5, logits.data());
    ASSERT_EQ(cache.length(), 20);
    // The sink keys must not move.
    const int kv = spec.kv_heads * spec.head_dim;
    const auto sink_keys = [&] {
      std::vector<float> k;
      for (int s = 0; s < sinks; ++s) {
        for (int i = 0; i < kv; ++i) k.push_back(cache.key(0, s, i));
      }
      return k;
    };
    const std::vector<float> before = sink_keys();
    cache.evict(sinks, count, evicted.model->rope());
    EXPECT_EQ(cache.length(), 20 - count);
    EXPECT_EQ(before, sink_keys());
    const int next = 7;
    std::vector<float> after(spec.vocab);
    evicted.model->forward(&next, 1, after.data());

    std::vector<int> kept(tokens.begin(), tokens.begin() + sinks);
    kept.insert(kept.end(), tokens.begin() + sinks + count, tokens.end());
    kept.push_back(next);
    Engine fresh = load(dir.path(), 24, 16, 1, type);
    ASSERT_TRUE(fresh.model);
    std::vector<float> expected(spec.vocab);
    fresh.model->forward(kept.data(), int(kept.size()), expected.data());
    for (int i = 0; i < spec.vocab; ++i) EXPECT_NEAR(after[i], expected[i], f16 ? 2e-3 : 1e-3) << "logit " << i;
  }
}

}  // namespace
}  // namespace mlxpack::test

namespace mlxpack {
namespace {

std::string llama_config(const std::string& extra) {
  return R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
             "num_attention_heads": 4, "vocab_size": 32)" +
         extra + "}";
}

// The rope_scaling messages were built from a reference to a temporary
// label: a factor of 0 printed freed memory.
TEST(ModelConfigHostile, RopeScalingErrorsNameTheField) {
  for (const char* field : {"factor", "original_max_position_embeddings"}) {
    SCOPED_TRACE(field);
    std::string scaling = R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192})";
    const std::string key = std::string("\"") + field + "\": ";
    const size_t at = scaling.find(key) + key.size();
    scaling.replace(at, scaling.find_first_of(",}", at) - at, "0");
    auto c = engine::parse_model_config(llama_config(", \"rope_scaling\": " + scaling), "config.json");
    ASSERT_FALSE(c.is_ok());
    EXPECT_EQ(c.status().message().rfind("config.json.rope_scaling." + std::string(field) + ": value 0.0 is outside [", 0), 0u)
        << c.status().message();
  }
}

TEST(ModelConfigHostile, AnUnknownActivationIsRefused) {
  auto c = engine::parse_model_config(llama_config(R"(, "hidden_act": "exec")"), "config.json");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(c.status().message(), "config.json.hidden_act: \"exec\" is not supported; supported: \"silu\" (also written \"swish\")")
      << c.status().message();
  EXPECT_TRUE(engine::parse_model_config(llama_config(R"(, "hidden_act": "silu")"), "config.json").is_ok());
}

}  // namespace
}  // namespace mlxpack
