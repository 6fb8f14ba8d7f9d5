// Each architecture's forward pass on a small random model against the
// reference implementation in tiny_model.cpp (double accumulation), in one
// prefill batch and token by token; StreamingLLM eviction against a fresh
// run over the tokens it keeps.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <cstring>
#include <memory>

#include "mlxpack/model_source.h"
#include "mlxpack/runtime.h"
#include "runtime/engine/model_config.h"
#include "runtime/engine/model_weights.h"
#include "runtime/engine/thread_pool.h"
#include "runtime/engine/transformer.h"
#include "runtime/kernels/linear.h"
#include "tests/runtime/tiny_model.h"
#include "convert/affine_quant.h"
#include "convert/converter.h"
#include "convert/float_convert.h"
#include "format/lora_adapter.h"
#include "tests/support/ggml_blocks.h"
#include "tests/support/gguf_builder.h"
#include "tests/support/test_support.h"
#include "tests/support/torch_checkpoint_writer.h"
#include "format/torch_checkpoint.h"
#include "format/file_io.h"

namespace mlxpack::test {
namespace {

struct Engine {
  std::unique_ptr<ModelSource> source;
  std::unique_ptr<engine::ThreadPool> pool;
  std::unique_ptr<engine::Transformer> model;
};

Engine load(const std::string& dir, int capacity, int max_batch, int threads,
            engine::KvType kv = engine::KvType::kF32, const std::string& adapter = "") {
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
  if (!adapter.empty()) {
    auto lora = read_lora_adapter(adapter);
    EXPECT_TRUE(lora.is_ok()) << lora.status().to_string();
    Status attached = lora.is_ok() ? e.model->attach_adapter(std::move(lora).value()) : lora.status();
    EXPECT_TRUE(attached.is_ok()) << attached.to_string();
    if (!attached.is_ok()) e.model.reset();
  }
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

void PrintTo(const ArchCase& c, std::ostream* os) { *os << c.name; }

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
  // Phi-4-mini: phi3 with partial rotary and tied embeddings.
  s = {};
  s.model_type = "phi3";
  s.partial_rotary = 0.75;
  s.tie_embeddings = true;
  c.push_back({"phi4_mini_partial_rotary_tied", s});
  // SmolLM2: Llama with tied embeddings, grouped-query attention; SmolLM3
  // (smollm3): the same with every second layer here without RoPE.
  s = {};
  s.tie_embeddings = true;
  s.kv_heads = 1;
  s.rope_theta = 100000.0;
  c.push_back({"smollm2_tied_gqa", s});
  s.model_type = "smollm3";
  s.layers = 4;
  s.no_rope_interval = 2;
  c.push_back({"smollm3_nope_layers", s});
  s = {};
  s.model_type = "phi";
  s.partial_rotary = 0.5;
  s.kv_heads = 4;
  c.push_back({"phi2_parallel_layernorm_gelu", s});
  s.dtype = DType::kBF16;
  c.push_back({"phi2_bf16", s});
  // Gemma 2: local and global layers alternate, both soft-caps, a query
  // scale that is not head_dim.
  s = {};
  s.model_type = "gemma2";
  s.layers = 3;
  s.tie_embeddings = true;
  s.sliding_window = 3;
  s.query_pre_attn_scalar = 24;
  s.attn_softcap = 1.5;
  s.final_softcap = 2.0;
  c.push_back({"gemma2_local_global_softcap", s});
  s.dtype = DType::kBF16;
  s.hidden = 48;  // sqrt(48) rounds in BF16
  c.push_back({"gemma2_bf16", s});
  // Gemma 3: q/k norms, one global layer in three, its own local RoPE base
  // and linear scaling on the global layers only.
  s = {};
  s.model_type = "gemma3_text";
  s.layers = 3;
  s.tie_embeddings = true;
  s.sliding_window = 4;
  s.sliding_window_pattern = 3;
  s.rope_theta = 1000000.0;
  s.local_rope_theta = 10000.0;
  s.linear_rope_factor = 4.0;
  s.query_pre_attn_scalar = 16;
  c.push_back({"gemma3_pattern_two_ropes", s});
  s.layer_types = true;
  s.sliding_window_pattern = 2;
  c.push_back({"gemma3_layer_types", s});
  // Mixture of experts: Mixtral (per-expert tensors, and mlx-lm's stacked
  // switch_mlp), Qwen3-MoE with and without renormalized top-k and a dense
  // layer.
  s = {};
  s.model_type = "mixtral";
  s.experts = 4;
  s.experts_per_token = 2;
  c.push_back({"mixtral_per_expert", s});
  s.stacked_experts = true;
  s.dtype = DType::kBF16;
  c.push_back({"mixtral_stacked_bf16", s});
  s = {};
  s.model_type = "qwen3_moe";
  s.experts = 6;
  s.experts_per_token = 3;
  s.expert_size = 32;
  s.mlp_only_layers = {1};
  c.push_back({"qwen3_moe_olmoe_routing", s});
  s.norm_topk_prob = true;
  s.stacked_experts = true;
  c.push_back({"qwen3_moe_norm_topk_stacked", s});
  return c;
}

// The model in `dir` against the reference logits: in one batch (the
// register-tiled path, 2 threads) and one token at a time (the
// matrix-vector path, 1 thread), with the F32 cache within `tol` and the
// F16 cache (keys and values rounded to 11 significant bits once each)
// within `tol16`, and the Q8_0 cache within `tol8` if given.
void check_forward(const std::string& dir, const TinySpec& spec, const std::vector<int>& tokens,
                   const std::vector<std::vector<double>>& want, double tol, double tol16, const std::string& what,
                   const std::string& adapter = "", double tol8 = 0) {
  SCOPED_TRACE(what);
  std::vector<engine::KvType> types = {engine::KvType::kF32, engine::KvType::kF16};
  if (tol8 > 0) types.push_back(engine::KvType::kQ8_0);
  for (const engine::KvType kv : types) {
    const double t = kv == engine::KvType::kF32 ? tol : kv == engine::KvType::kF16 ? tol16 : tol8;
    const std::string cache = kv == engine::KvType::kF32 ? "" : kv == engine::KvType::kF16 ? "F16 cache, " : "Q8_0 cache, ";
    Engine batch = load(dir, 32, 16, 2, kv, adapter);
    ASSERT_TRUE(batch.model);
    std::vector<float> logits(tokens.size() * spec.vocab);
    batch.model->forward(tokens.data(), int(tokens.size()), logits.data(), /*all_logits=*/true);
    for (size_t i = 0; i < tokens.size(); ++i) {
      expect_close(&logits[i * spec.vocab], want[i], t, cache + "batch position " + std::to_string(i));
    }
    Engine step = load(dir, 32, 1, 1, kv, adapter);
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
  // The Q8_0 cache's step is 2^-7 of its group's largest entry where F16's
  // is 2^-11 of each entry: 16 times F16's tolerance.
  if (spec.dtype != DType::kBF16 || active->dot_bf16 == nullptr) {
    check_forward(dir.path(), spec, tokens, want, 2e-4 * scale, 2e-3 * scale, active->name, "", 3.2e-2 * scale);
    return;
  }
  // BF16 products round the activations to BF16 (as MLX and llama.cpp
  // multiply BF16 weights): up to 2^-9 of each product, about 2e-3 of the
  // logits' scale here (measured: at most 0.0043 at a scale of about 1.9;
  // Gemma 2, whose post-norms rescale small outputs, 0.0141 at 1.0).
  check_forward(dir.path(), spec, tokens, want, 2e-2 * scale, 2e-2 * scale, active->name);
  // And the float path, to the float tolerance, on the widest table
  // without them.
  kernels::set_active_table(kernels::avx512_table());
  check_forward(dir.path(), spec, tokens, want, 2e-4 * scale, 2e-3 * scale, kernels::avx512_table()->name, "",
                3.2e-2 * scale);
  kernels::set_active_table(nullptr);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ForwardTest, ::testing::ValuesIn(arch_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// The expected weights of a 4-bit conversion: every matrix `convert -q`
// quantizes (4 bits, groups of 32; routers 8 bits, groups of 64, as
// mlx-lm's quant_predicate), quantized and dequantized back to float.
Tensors dequantized_like_convert(const TinySpec& spec, Tensors w) {
  for (auto& [name, values] : w) {
    const bool matrix = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 &&
                        name.find("norm") == std::string::npos && values.size() % spec.hidden == 0 &&
                        values.size() > size_t(spec.hidden);
    if (!matrix) continue;
    const bool router = name.find(".mlp.gate.weight") != std::string::npos ||
                        name.find(".block_sparse_moe.gate.weight") != std::string::npos;
    const QuantSpec q = router ? QuantSpec{8, 64} : QuantSpec{4, 32};
    // Rows of the tensor: its input dimension is hidden, or the MLP's.
    const bool down = name.find("down_proj") != std::string::npos || name.find(".w2.") != std::string::npos ||
                      name.find("fc2") != std::string::npos;
    const bool o = name.find("o_proj") != std::string::npos || name.find("dense") != std::string::npos;
    const bool expert = name.find(".experts.") != std::string::npos;
    const uint64_t cols = down ? uint64_t(expert && spec.expert_size ? spec.expert_size : spec.intermediate)
                          : o  ? uint64_t(spec.heads) * spec.head_dim
                               : uint64_t(spec.hidden);
    if (cols % uint64_t(q.group_size) != 0) continue;  // convert leaves it float
    std::string bytes(values.size() * dtype_size_bytes(spec.dtype), '\0');
    for (size_t i = 0; i < values.size(); ++i) store_float(reinterpret_cast<uint8_t*>(bytes.data()), spec.dtype, i, values[i]);
    auto quantized = affine_quantize(reinterpret_cast<const uint8_t*>(bytes.data()), spec.dtype,
                                     {values.size() / cols, cols}, q, 1, name);
    EXPECT_TRUE(quantized.is_ok()) << name;
    if (quantized.is_ok()) values = affine_dequantize(*quantized, spec.dtype, q);
  }
  return w;
}

class QuantizedForwardTest : public ::testing::TestWithParam<ArchCase> {};

// `convert -q --q-group-size 32` of each new architecture: the pack (experts
// stacked into switch_mlp) against the reference on the dequantized
// weights, whose only difference left is the int8 activations (blocks of
// 32); the greedy ids and top-5 log-probabilities agree.
TEST_P(QuantizedForwardTest, FourBitPackMatchesTheReferenceOnItsDequantizedWeights) {
  const TinySpec& spec = GetParam().spec;
  TempDir dir;
  const Tensors w = write_tiny_model(dir.file("model"), spec);
  ConvertOptions o;
  o.input = dir.file("model");
  o.output = dir.file("q.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.linear = QuantSpec{4, 32};
  auto r = convert_model(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  if (spec.experts > 0) {
    auto src = ModelSource::open(o.output);
    ASSERT_TRUE(src.is_ok());
    const std::string moe = spec.model_type == "mixtral" ? ".block_sparse_moe" : ".mlp";
    EXPECT_TRUE((*src)->has_tensor("model.layers.0" + moe + ".switch_mlp.gate_proj.scales"));
    EXPECT_FALSE((*src)->has_tensor("model.layers.0" + moe + ".experts.0." +
                                    (spec.model_type == "mixtral" ? "w1" : "gate_proj") + ".weight"));
  }
  const std::vector<int> tokens = some_tokens(11, spec.vocab, 3);
  const auto want = reference_logits(spec, dequantized_like_convert(spec, w), tokens);
  const double scale = std::max(1.0, max_abs(want));
  // Measured (int8 activations, the same with 8-bit weights): at most
  // 1.6% of the logits' scale for Phi-2 and the experts, 4.5% for Gemma,
  // whose post-norms rescale the noise of small outputs back to full size.
  check_forward(o.output, spec, tokens, want, 5e-2 * scale, 5e-2 * scale, "4-bit");
  // Greedy ids and top-5 log-probabilities at every position.
  Engine e = load(o.output, 32, 16, 2);
  ASSERT_TRUE(e.model);
  std::vector<float> logits(tokens.size() * spec.vocab);
  e.model->forward(tokens.data(), int(tokens.size()), logits.data(), true);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const float* got = &logits[t * spec.vocab];
    const auto log_softmax = [&](auto at) {
      double mx = -INFINITY, sum = 0;
      for (int i = 0; i < spec.vocab; ++i) mx = std::max(mx, double(at(i)));
      for (int i = 0; i < spec.vocab; ++i) sum += std::exp(double(at(i)) - mx);
      std::vector<double> out(spec.vocab);
      for (int i = 0; i < spec.vocab; ++i) out[i] = double(at(i)) - mx - std::log(sum);
      return out;
    };
    const auto lp_got = log_softmax([&](int i) { return got[i]; });
    const auto lp_want = log_softmax([&](int i) { return want[t][i]; });
    std::vector<int> order(spec.vocab);
    for (int i = 0; i < spec.vocab; ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int a, int b) { return lp_want[a] > lp_want[b]; });
    const int greedy = int(std::max_element(lp_got.begin(), lp_got.end()) - lp_got.begin());
    // The reference's best, unless its margin is within the tolerance.
    if (lp_want[order[0]] - lp_want[order[1]] > 4e-2 * scale) {
      EXPECT_EQ(greedy, order[0]) << "position " << t;
    }
    for (int k = 0; k < 5; ++k) {
      EXPECT_NEAR(lp_got[order[k]], lp_want[order[k]], 4e-2 * scale) << "position " << t << ", rank " << k;
    }
  }
}

std::vector<ArchCase> quantized_cases() {
  std::vector<ArchCase> out;
  for (const ArchCase& c : arch_cases()) {
    const std::string name = c.name;
    const bool is_new = name.rfind("phi2", 0) == 0 || name.rfind("gemma", 0) == 0 || name.rfind("mixtral", 0) == 0 ||
                        name.rfind("qwen3_moe", 0) == 0;
    if (!is_new) continue;
    ArchCase q = c;
    q.spec.stacked_experts = false;  // convert stacks them
    out.push_back(q);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Architectures, QuantizedForwardTest, ::testing::ValuesIn(quantized_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// A LoRA adapter applied at run time: the base weights stay in place, and
// the logits equal the float64 reference on W + scale * (A B)^T, on a float
// base (F32 adapter) and on a 4-bit one (BF16 adapter, against the
// reference on the dequantized base plus the same delta); the fused
// qkv_proj of phi3 is adapted as one layer.
TEST(LoraAdapter, RunTimeApplicationEqualsTheFusedReference) {
  const std::vector<std::string> paths = {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                          "model.layers.1.self_attn.o_proj", "model.layers.1.mlp.down_proj",
                                          "lm_head"};
  TinySpec spec;
  TempDir dir;
  const Tensors w = write_tiny_model(dir.file("m"), spec);
  const Tensors fused = write_lora_adapter(dir.file("a"), w, paths, 4, 2.0, DType::kF32, 7);
  const std::vector<int> tokens = some_tokens(11, spec.vocab, 3);
  const auto want = reference_logits(spec, fused, tokens);
  const double scale = std::max(1.0, max_abs(want));
  // The adapter changes the logits well beyond the tolerance.
  const auto base = reference_logits(spec, w, tokens);
  double moved = 0;
  for (size_t t = 0; t < base.size(); ++t) {
    for (int i = 0; i < spec.vocab; ++i) moved = std::max(moved, std::fabs(base[t][i] - want[t][i]));
  }
  EXPECT_GT(moved, 50 * 2e-4 * scale);
  check_forward(dir.file("m"), spec, tokens, want, 2e-4 * scale, 2e-3 * scale, "F32 base", dir.file("a"));

  ConvertOptions o;
  o.input = dir.file("m");
  o.output = dir.file("q.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.linear = QuantSpec{4, 32};
  ASSERT_TRUE(convert_model(o).is_ok());
  const Tensors deq = dequantized_like_convert(spec, w);
  const Tensors deq_fused = write_lora_adapter(dir.file("b"), deq, paths, 4, 2.0, DType::kBF16, 7);
  const auto want_q = reference_logits(spec, deq_fused, tokens);
  check_forward(o.output, spec, tokens, want_q, 2e-2 * scale, 2e-2 * scale, "4-bit base", dir.file("b"));

  TinySpec phi3;
  phi3.model_type = "phi3";
  const Tensors w3 = write_tiny_model(dir.file("p"), phi3);
  const Tensors fused3 = write_lora_adapter(dir.file("pa"), w3, {"model.layers.0.self_attn.qkv_proj"}, 2, 3.0,
                                            DType::kF32, 8);
  const auto want3 = reference_logits(phi3, fused3, tokens);
  const double scale3 = std::max(1.0, max_abs(want3));
  check_forward(dir.file("p"), phi3, tokens, want3, 2e-4 * scale3, 2e-3 * scale3, "phi3 qkv", dir.file("pa"));
}

// convert --adapter-path: the fused pack equals the reference on the fused
// weights and the base with the adapter applied at run time; fused and
// quantized, it matches the reference on the dequantized fused weights.
TEST(LoraAdapter, ConvertFusesItAsRunTimeApplicationComputes) {
  const std::vector<std::string> paths = {"model.layers.0.self_attn.k_proj", "model.layers.1.mlp.gate_proj",
                                          "model.layers.1.mlp.down_proj"};
  TinySpec spec;
  TempDir dir;
  const Tensors w = write_tiny_model(dir.file("m"), spec);
  const Tensors fused = write_lora_adapter(dir.file("a"), w, paths, 8, 1.5, DType::kBF16, 11);
  ConvertOptions o;
  o.input = dir.file("m");
  o.output = dir.file("fused.mlxpack");
  o.adapter_path = dir.file("a");
  auto r = convert_model(o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->fused, 3u);
  const std::vector<int> tokens = some_tokens(11, spec.vocab, 5);
  const auto want = reference_logits(spec, fused, tokens);
  const double scale = std::max(1.0, max_abs(want));
  check_forward(o.output, spec, tokens, want, 2e-4 * scale, 2e-3 * scale, "fused F32");
  // Fused against applied at run time, the same batch.
  Engine applied = load(dir.file("m"), 32, 16, 2, engine::KvType::kF32, dir.file("a"));
  Engine fused_pack = load(o.output, 32, 16, 2);
  ASSERT_TRUE(applied.model && fused_pack.model);
  std::vector<float> a(tokens.size() * spec.vocab), b(a.size());
  applied.model->forward(tokens.data(), int(tokens.size()), a.data(), true);
  fused_pack.model->forward(tokens.data(), int(tokens.size()), b.data(), true);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4 * scale) << "logit " << i;

  o.output = dir.file("fused4.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.linear = QuantSpec{4, 32};
  ASSERT_TRUE(convert_model(o).is_ok());
  const auto want4 = reference_logits(spec, dequantized_like_convert(spec, fused), tokens);
  check_forward(o.output, spec, tokens, want4, 2e-2 * scale, 2e-2 * scale, "fused 4-bit");

  // A quantized input cannot take a fused adapter; GGUF on either side neither.
  o.input = dir.file("fused4.mlxpack");
  o.output = dir.file("again.mlxpack");
  o.quant = {};
  auto refused = convert_model(o);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("fusing an adapter needs the float model"), std::string::npos)
      << refused.status().message();
  o.input = dir.file("m");
  o.format = OutputFormat::kGguf;
  o.output = dir.file("x.gguf");
  EXPECT_FALSE(convert_model(o).is_ok());
}

// An adapter that names a layer the model lacks, or with other shapes, is
// refused when attached, naming the layer.
TEST(LoraAdapter, LayersTheModelLacksOrOfOtherShapesAreRefused) {
  TinySpec spec;
  TempDir dir;
  Tensors w = write_tiny_model(dir.file("m"), spec);
  w["model.layers.5.mlp.up_proj.weight"] = std::vector<float>(128 * 64);
  write_lora_adapter(dir.file("a"), w, {"model.layers.5.mlp.up_proj"}, 2, 1.0, DType::kF32, 1);
  auto lora = read_lora_adapter(dir.file("a"));
  ASSERT_TRUE(lora.is_ok()) << lora.status().to_string();
  Engine e = load(dir.file("m"), 16, 4, 1);
  ASSERT_TRUE(e.model);
  Status s = e.model->attach_adapter(*lora);
  EXPECT_EQ(s.message(), "the adapter adapts 'model.layers.5.mlp.up_proj', which is not a linear layer of this llama "
                         "model (2 layers; experts are not adaptable)");
  Tensors wide = w;
  wide["model.layers.0.mlp.up_proj.weight"] = std::vector<float>(96 * 64);  // 96 outputs instead of 128
  write_lora_adapter(dir.file("b"), wide, {"model.layers.0.mlp.up_proj"}, 2, 1.0, DType::kF32, 1);
  s = e.model->attach_adapter(*read_lora_adapter(dir.file("b")));
  EXPECT_EQ(s.message(), "the adapter's 'model.layers.0.mlp.up_proj' maps 64 to 96 features, but the model's layer "
                         "maps 64 to 128");
}

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
// still carry what the evicted tokens contributed, by design. Llama; a
// SmolLM3 NoPE layer (its keys have no rotation to undo); a Gemma 3 local
// layer (turned back with the local RoPE base).
class KvCacheEviction : public ::testing::TestWithParam<ArchCase> {};

std::vector<ArchCase> eviction_cases() {
  std::vector<ArchCase> c;
  TinySpec s;
  s.layers = 1;
  c.push_back({"llama", s});
  s.model_type = "smollm3";
  s.no_rope_interval = 1;
  c.push_back({"smollm3_nope", s});
  s = {};
  s.layers = 1;
  s.model_type = "gemma3_text";
  s.layer_types = true;
  s.sliding_window = 64;
  s.sliding_window_pattern = 2;  // layer 0 local
  s.rope_theta = 1000000.0;
  s.local_rope_theta = 10000.0;
  c.push_back({"gemma3_local", s});
  return c;
}

INSTANTIATE_TEST_SUITE_P(Architectures, KvCacheEviction, ::testing::ValuesIn(eviction_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_P(KvCacheEviction, KeepsSinksAndEqualsAFreshRunOverTheKeptTokens) {
  const TinySpec& spec = GetParam().spec;
  TempDir dir;
  write_tiny_model(dir.path(), spec);
  const std::vector<int> tokens = some_tokens(20, spec.vocab, 9);
  const int sinks = 4, count = 6;
  // F32 entries, and F16 and Q8_0 ones (a kept key is rounded again after
  // its rotation, so the two runs agree to the type's precision there: 16
  // times as far for Q8_0, as in the forward tests).
  for (const engine::KvType type : {engine::KvType::kF32, engine::KvType::kF16, engine::KvType::kQ8_0}) {
    const bool f16 = type == engine::KvType::kF16, q8 = type == engine::KvType::kQ8_0;
    SCOPED_TRACE(f16 ? "F16 cache" : q8 ? "Q8_0 cache" : "F32 cache");
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
    evicted.model->evict(sinks, count);
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
    const double tol = q8 ? 3.2e-2 : f16 ? 2e-3 : 1e-3;
    for (int i = 0; i < spec.vocab; ++i) EXPECT_NEAR(after[i], expected[i], tol) << "logit " << i;
  }
}

// A Meta checkpoint of a tiny Llama (consolidated.00.pth written by hand,
// params.json, Llama 2's tokenizer.model): Meta's layout is the
// transformers model's with each head's q/k rows interleaved (the inverse
// of the permutation the importer applies, written here from its
// definition: Meta row h*d + 2i + j is row h*d + j*d/2 + i of the
// transformers weights), so the imported model must give the transformers
// reference's logits.
struct MetaDir {
  TinySpec spec;
  Tensors w;
  std::string dir;
};

MetaDir write_meta_checkpoint(const TempDir& tmp, const std::string& sp_model, bool with_output = true) {
  MetaDir m;
  m.spec.vocab = 32000;  // Llama 2's tokenizer.model
  m.spec.tie_embeddings = !with_output;
  m.w = write_tiny_model(tmp.file("hf"), m.spec);
  m.dir = tmp.file("meta");
  std::filesystem::create_directories(m.dir);
  const TinySpec& s = m.spec;
  const int d = s.head_dim;
  const auto interleave = [&](const std::vector<float>& hf, int heads, int cols) {
    std::vector<float> meta(hf.size());
    for (int h = 0; h < heads; ++h) {
      for (int i = 0; i < d / 2; ++i) {
        for (int j = 0; j < 2; ++j) {
          std::copy_n(&hf[size_t(h * d + j * d / 2 + i) * cols], cols, &meta[size_t(h * d + 2 * i + j) * cols]);
        }
      }
    }
    return meta;
  };
  std::vector<PickledTensor> tensors;
  const auto add = [&](const std::string& name, const std::vector<float>& v, std::vector<uint64_t> shape) {
    PickledTensor t{name, DType::kF32, shape, std::string(v.size() * 4, '\0')};
    std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
    tensors.push_back(std::move(t));
  };
  const uint64_t h = s.hidden, kv = uint64_t(s.kv_heads) * d, f = s.intermediate, vocab = s.vocab;
  add("tok_embeddings.weight", m.w.at("model.embed_tokens.weight"), {vocab, h});
  add("norm.weight", m.w.at("model.norm.weight"), {h});
  if (with_output) add("output.weight", m.w.at("lm_head.weight"), {vocab, h});
  for (int l = 0; l < s.layers; ++l) {
    const std::string hf = "model.layers." + std::to_string(l) + ".", meta = "layers." + std::to_string(l) + ".";
    add(meta + "attention.wq.weight", interleave(m.w.at(hf + "self_attn.q_proj.weight"), s.heads, s.hidden), {h, h});
    add(meta + "attention.wk.weight", interleave(m.w.at(hf + "self_attn.k_proj.weight"), s.kv_heads, s.hidden), {kv, h});
    add(meta + "attention.wv.weight", m.w.at(hf + "self_attn.v_proj.weight"), {kv, h});
    add(meta + "attention.wo.weight", m.w.at(hf + "self_attn.o_proj.weight"), {h, h});
    add(meta + "feed_forward.w1.weight", m.w.at(hf + "mlp.gate_proj.weight"), {f, h});
    add(meta + "feed_forward.w3.weight", m.w.at(hf + "mlp.up_proj.weight"), {f, h});
    add(meta + "feed_forward.w2.weight", m.w.at(hf + "mlp.down_proj.weight"), {h, f});
    add(meta + "attention_norm.weight", m.w.at(hf + "input_layernorm.weight"), {h});
    add(meta + "ffn_norm.weight", m.w.at(hf + "post_attention_layernorm.weight"), {h});
  }
  add("rope.freqs", std::vector<float>(d / 2, 1.0f), {uint64_t(d / 2)});  // Llama 2 carries it; unused
  write_file(m.dir + "/consolidated.00.pth", torch_checkpoint(tensors, "consolidated"));
  write_file(m.dir + "/params.json", "{\"dim\": " + std::to_string(h) + ", \"n_layers\": " + std::to_string(s.layers) +
                                         ", \"n_heads\": " + std::to_string(s.heads) + ", \"n_kv_heads\": " +
                                         std::to_string(s.kv_heads) + ", \"vocab_size\": -1, \"multiple_of\": 32, " +
                                         "\"norm_eps\": 1e-06, \"rope_theta\": 10000.0}");
  std::filesystem::copy_file(sp_model, m.dir + "/tokenizer.model");
  return m;
}

TEST(MetaCheckpoint, ImportedModelGivesTheTransformersReferenceLogits) {
  std::string sp;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama2-sentencepiece", sp);
  for (const bool with_output : {true, false}) {
    SCOPED_TRACE(with_output ? "output.weight" : "tied");
    TempDir tmp;
    const MetaDir m = write_meta_checkpoint(tmp, sp + "/tokenizer.model", with_output);
    ConvertOptions o;
    o.input = m.dir;
    o.output = tmp.file("m.mlxpack");
    auto report = convert_model(o);
    ASSERT_TRUE(report.is_ok()) << report.status().to_string();
    EXPECT_EQ(report->tensors_in, 3u + (with_output ? 1 : 0) + 9u * m.spec.layers);
    const std::vector<int> tokens = some_tokens(11, m.spec.vocab, 3);
    const auto want = reference_logits(m.spec, m.w, tokens);
    const double scale = std::max(1.0, max_abs(want));
    check_forward(o.output, m.spec, tokens, want, 2e-4 * scale, 2e-3 * scale, "meta import");
    auto src = ModelSource::open(o.output);
    ASSERT_TRUE(src.is_ok());
    const nlohmann::json config = nlohmann::json::parse(*(*src)->file("config.json"));
    EXPECT_EQ(config["tie_word_embeddings"], !with_output);
    EXPECT_EQ(config["bos_token_id"], 1);
    EXPECT_EQ(config["eos_token_id"], 2);
    EXPECT_EQ(config["intermediate_size"], m.spec.intermediate);
    EXPECT_EQ(config["max_position_embeddings"], 4096);
    EXPECT_TRUE((*src)->has_file("tokenizer.model"));
  }
}

// Llama 3's layout: a tiktoken tokenizer.model (here the 256 bytes and two
// merges), scaled RoPE in params.json: tokenizer.json comes with 3.1's
// special tokens after the ranks, config.json with llama3 rope scaling
// and the end-of-text, end-of-message and end-of-turn ids.
TEST(MetaCheckpoint, Llama3sTiktokenTokenizerAndScaledRopeCarryOver) {
  std::string sp;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama2-sentencepiece", sp);
  TempDir tmp;
  const MetaDir m = write_meta_checkpoint(tmp, sp + "/tokenizer.model");
  std::string tiktoken;
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto b64 = [&](const std::string& in) {
    std::string out;
    for (size_t i = 0; i < in.size(); i += 3) {
      uint32_t n = uint8_t(in[i]) << 16 | (i + 1 < in.size() ? uint8_t(in[i + 1]) << 8 : 0) |
                   (i + 2 < in.size() ? uint8_t(in[i + 2]) : 0);
      out += std::string{k[n >> 18], k[(n >> 12) & 63], i + 1 < in.size() ? k[(n >> 6) & 63] : '=',
                         i + 2 < in.size() ? k[n & 63] : '='};
    }
    return out;
  };
  for (int b = 0; b < 256; ++b) tiktoken += b64(std::string(1, char(b))) + " " + std::to_string(b) + "\n";
  tiktoken += b64("ab") + " 256\n" + b64("abc") + " 257\n";
  write_file(m.dir + "/tokenizer.model", tiktoken);
  std::string params = read_file(m.dir + "/params.json");
  params.insert(params.size() - 1, ", \"use_scaled_rope\": true, \"rope_scaling_factor\": 32.0");
  write_file(m.dir + "/params.json", params);
  ConvertOptions o;
  o.input = m.dir;
  o.output = tmp.file("l3.mlxpack");
  auto report = convert_model(o);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  auto rt = Runtime::open(o.output);
  ASSERT_TRUE(rt.is_ok()) << rt.status().to_string();
  auto ids = (*rt)->tokenizer().encode("abc ab", true);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{258, 257, ' ', 256}));  // BOS at 258: after the 258 ranks
  EXPECT_EQ((*rt)->tokenizer().id_to_token(258 + 10), "<|python_tag|>");
  EXPECT_EQ((*rt)->eos_token_ids(), (std::vector<int32_t>{259, 258 + 8, 258 + 9}));
  auto src = ModelSource::open(o.output);
  const nlohmann::json config = nlohmann::json::parse(*(*src)->file("config.json"));
  EXPECT_EQ(config["rope_scaling"]["rope_type"], "llama3");
  EXPECT_EQ(config["rope_scaling"]["factor"], 32.0);
  EXPECT_EQ(config["max_position_embeddings"], 131072);
}

// Model-parallel shards as Meta's fairscale layers cut them (wq, wk, wv,
// w1, w3, output along rows; wo, w2 along columns; tok_embeddings along
// columns for Llama 2, along rows for Llama 3; norms copied), joined back:
// the same logits as the transformers reference.
TEST(MetaCheckpoint, ModelParallelShardsAreJoined) {
  std::string sp;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama2-sentencepiece", sp);
  for (const bool vocab_parallel : {false, true}) {
    SCOPED_TRACE(vocab_parallel ? "tok_embeddings by rows" : "tok_embeddings by columns");
    TempDir tmp;
    const MetaDir m = write_meta_checkpoint(tmp, sp + "/tokenizer.model");
    auto in = InputFile::open(m.dir + "/consolidated.00.pth");
    ASSERT_TRUE(in.is_ok());
    auto whole = read_torch_checkpoint(*in);
    ASSERT_TRUE(whole.is_ok());
    const std::string file = read_file(m.dir + "/consolidated.00.pth");
    std::vector<PickledTensor> shard[2];
    for (const CheckpointTensor& t : *whole) {
      const std::string bytes = file.substr(t.offset, t.size_bytes);
      const auto ends = [&](const char* s) { return t.name.size() >= strlen(s) && t.name.rfind(s) == t.name.size() - strlen(s); };
      int dim = -1;
      if (ends("wq.weight") || ends("wk.weight") || ends("wv.weight") || ends("w1.weight") || ends("w3.weight") ||
          t.name == "output.weight" || (t.name == "tok_embeddings.weight" && vocab_parallel)) {
        dim = 0;
      } else if (ends("wo.weight") || ends("w2.weight") || t.name == "tok_embeddings.weight") {
        dim = 1;
      }
      for (int k = 0; k < 2; ++k) {
        PickledTensor p{t.name, t.dtype, t.shape, bytes};
        if (dim == 0) {
          p.shape[0] /= 2;
          p.bytes = bytes.substr(k * bytes.size() / 2, bytes.size() / 2);
        } else if (dim == 1) {
          p.shape[1] /= 2;
          const size_t row = bytes.size() / t.shape[0];
          p.bytes.clear();
          for (uint64_t r = 0; r < t.shape[0]; ++r) p.bytes += bytes.substr(r * row + k * row / 2, row / 2);
        }
        shard[k].push_back(std::move(p));
      }
    }
    write_file(m.dir + "/consolidated.00.pth", torch_checkpoint(shard[0], "consolidated.00"));
    write_file(m.dir + "/consolidated.01.pth", torch_checkpoint(shard[1], "consolidated.01"));
    ConvertOptions o;
    o.input = m.dir;
    o.output = tmp.file("m.mlxpack");
    auto report = convert_model(o);
    ASSERT_TRUE(report.is_ok()) << report.status().to_string();
    const std::vector<int> tokens = some_tokens(11, m.spec.vocab, 3);
    const auto want = reference_logits(m.spec, m.w, tokens);
    const double scale = std::max(1.0, max_abs(want));
    check_forward(o.output, m.spec, tokens, want, 2e-4 * scale, 2e-3 * scale, "two shards");
  }
}

TEST(MetaCheckpoint, QuantizingImportsThenConverts) {
  std::string sp;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama2-sentencepiece", sp);
  TempDir tmp;
  const MetaDir m = write_meta_checkpoint(tmp, sp + "/tokenizer.model");
  ConvertOptions o;
  o.input = m.dir;
  o.output = tmp.file("q.mlxpack");
  o.quant.quantize_linear = true;
  o.quant.linear = QuantSpec{8, 32};
  auto report = convert_model(o);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_GT(report->quantized, 0u);
  Engine e = load(o.output, 32, 16, 1);
  ASSERT_TRUE(e.model);
  EXPECT_NE(e.model->weights().description.find("affine 8-bit g32"), std::string::npos)
      << e.model->weights().description;
  // Nothing of the temporary import stays beside the output.
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) entries += entry.path().filename() != "hf";
  EXPECT_EQ(entries, 2u);  // meta/ and q.mlxpack
}

void expect_refusal(const std::string& error, const std::string& part) {
  EXPECT_NE(error.find(part), std::string::npos) << error;
}

TEST(MetaCheckpoint, WhatDoesNotFitMetasLlamaIsRefusedByName) {
  std::string sp;
  MLXPACK_REQUIRE_TEST_DATA("tokenizers/llama2-sentencepiece", sp);
  TempDir tmp;
  const MetaDir m = write_meta_checkpoint(tmp, sp + "/tokenizer.model");
  const auto import_error = [&](const std::string& what) {
    ConvertOptions o;
    o.input = m.dir;
    o.output = tmp.file("x-" + std::to_string(std::hash<std::string>()(what)) + ".mlxpack");
    auto r = convert_model(o);
    EXPECT_FALSE(r.is_ok()) << what;
    EXPECT_FALSE(std::filesystem::exists(o.output)) << what;
    return r.is_ok() ? std::string("accepted") : r.status().to_string();
  };
  const std::string params = read_file(m.dir + "/params.json");
  write_file(m.dir + "/params.json", "{\"dim\": 64, \"n_layers\": 3, \"n_heads\": 4, \"n_kv_heads\": 2}");
  expect_refusal(import_error("a layer more"), "tensors where params.json's 3 layers need");
  write_file(m.dir + "/params.json", "{\"dim\": 64, \"n_layers\": 2, \"n_heads\": 4, \"n_kv_heads\": 4}");
  expect_refusal(import_error("kv heads"), "tensor layers.0.attention.wk.weight is [32, 64], params.json says [64, 64]");
  write_file(m.dir + "/params.json", "{\"dim\": 64, \"n_layers\": 2, \"n_heads\": 5}");
  expect_refusal(import_error("uneven heads"), "do not make even heads");
  write_file(m.dir + "/params.json", "{\"dim\": 64, \"n_layers\": 0, \"n_heads\": 4}");
  expect_refusal(import_error("no layers"), "params.json.n_layers");
  write_file(m.dir + "/params.json", params);
  std::filesystem::copy_file(m.dir + "/consolidated.00.pth", m.dir + "/consolidated.01.pth");
  // Two shards that are each the whole model join into twice its width.
  expect_refusal(import_error("two whole copies as shards"),
                 "tensor layers.0.attention.wq.weight is [128, 64], params.json says [64, 64]");
  std::filesystem::remove(m.dir + "/consolidated.01.pth");
  std::filesystem::remove(m.dir + "/tokenizer.model");
  expect_refusal(import_error("no tokenizer"), "tokenizer.model: missing");
  write_file(m.dir + "/tokenizer.model", "not a model");
  expect_refusal(import_error("a bad tokenizer"), "neither a SentencePiece model");
  // A tensor Meta's Llama does not have.
  std::filesystem::copy_file(sp + "/tokenizer.model", m.dir + "/tokenizer.model",
                             std::filesystem::copy_options::overwrite_existing);
  const auto floats = [](uint64_t n) { return std::string(n * 4, '\0'); };
  write_file(m.dir + "/consolidated.00.pth",
             torch_checkpoint({{"tok_embeddings.weight", DType::kF32, {32000, 64}, floats(32000 * 64)},
                               {"layers.0.feed_forward.w1.weight", DType::kF32, {128, 64}, floats(128 * 64)},
                               {"layers.0.attention.wz.weight", DType::kF32, {1}, floats(1)}}));
  expect_refusal(import_error("unknown tensor"), "tensor layers.0.attention.wz.weight is not one of Meta's Llama");
  write_file(m.dir + "/consolidated.00.pth",
             torch_checkpoint({{"tok_embeddings.weight", DType::kF32, {32000, 64}, floats(32000 * 64)},
                               {"layers.0.feed_forward.w1.weight", DType::kF32, {128, 64}, floats(128 * 64)},
                               {"layers.7.attention_norm.weight", DType::kF32, {64}, floats(64)}}));
  expect_refusal(import_error("a layer past n_layers"), "tensor layers.7.attention_norm.weight is not one");
}

// The shared stories260K teacher-forced over its 200 greedy ids with each
// cache type against the F32 cache: the figures the README states (the
// largest logit difference, the mean KL divergence of the next-token
// distributions, the positions whose top token is the same) are printed,
// and the Q8_0 cache is held to the README's floor: the same top token at
// 95% of positions and a mean KL divergence below 0.01 nats.
TEST(SharedModelKvCache, Q8_0CacheKeepsTheReadmesAgreementWithTheF32Cache) {
  std::string dir;
  MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
  std::vector<int> ids = {1};
  {
    std::ifstream in(dir + "/expected/greedy_ids_from_bos.txt");
    std::string item;
    while (std::getline(in, item, ',')) {
      if (item.find_first_not_of(" \n\r\t") != std::string::npos) ids.push_back(std::stoi(item));
    }
  }
  ASSERT_EQ(ids.size(), 201u);
  const auto logits = [&](engine::KvType type) {
    Engine e = load(dir, 256, 64, 2, type);
    const int vocab = e.model->config().vocab_size;
    std::vector<float> out(ids.size() * vocab);
    for (size_t i = 0; i < ids.size(); i += 64) {
      const int n = int(std::min<size_t>(64, ids.size() - i));
      e.model->forward(&ids[i], n, &out[i * vocab], /*all_logits=*/true);
    }
    return out;
  };
  const std::vector<float> f32 = logits(engine::KvType::kF32);
  const int vocab = int(f32.size() / ids.size());
  const auto log_softmax = [&](const float* x) {
    const double m = *std::max_element(x, x + vocab);
    double sum = 0;
    for (int v = 0; v < vocab; ++v) sum += std::exp(x[v] - m);
    std::vector<double> y(vocab);
    for (int v = 0; v < vocab; ++v) y[v] = x[v] - m - std::log(sum);
    return y;
  };
  struct Agreement {
    double max_diff = 0, mean_kl = 0;
    int same_top = 0;
  };
  const auto compare = [&](const std::vector<float>& other) {
    Agreement r;
    for (size_t i = 0; i < ids.size(); ++i) {
      const float* a = &f32[i * vocab];
      const float* b = &other[i * vocab];
      const std::vector<double> la = log_softmax(a), lb = log_softmax(b);
      for (int v = 0; v < vocab; ++v) {
        r.max_diff = std::max(r.max_diff, double(std::fabs(a[v] - b[v])));
        r.mean_kl += std::exp(la[v]) * (la[v] - lb[v]) / double(ids.size());
      }
      r.same_top += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b;
    }
    return r;
  };
  const Agreement f16 = compare(logits(engine::KvType::kF16));
  const Agreement q8 = compare(logits(engine::KvType::kQ8_0));
  float largest = 0;
  for (float x : f32) largest = std::max(largest, std::fabs(x));
  std::printf("stories260K, 201 positions, logits up to %.2f, against the F32 cache:\n"
              "  F16:  max |logit diff| %.4f, mean KL %.2e nats, same top token at %d\n"
              "  Q8_0: max |logit diff| %.4f, mean KL %.2e nats, same top token at %d\n",
              largest, f16.max_diff, f16.mean_kl, f16.same_top, q8.max_diff, q8.mean_kl, q8.same_top);
  EXPECT_GT(q8.max_diff, 0.0) << "Q8_0 entries are rounded";
  EXPECT_GE(q8.same_top, 0.95 * ids.size());
  EXPECT_LT(q8.mean_kl, 0.01);
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
  EXPECT_EQ(c.status().message().rfind("config.json.hidden_act: \"exec\" is not supported; supported: \"silu\"", 0), 0u)
      << c.status().message();
  EXPECT_TRUE(engine::parse_model_config(llama_config(R"(, "hidden_act": "silu")"), "config.json").is_ok());
}

// The new architectures' fields, each out of its bounds, refused with a
// message naming the field, the value and the limit.
TEST(ModelConfigHostile, ExpertsWindowsSoftCapsAndRotaryOutOfBoundsAreRefused) {
  const std::string base = R"("hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3,
                              "num_attention_heads": 4, "head_dim": 16, "vocab_size": 32)";
  struct Case {
    const char* fields;
    const char* message;
  };
  const Case cases[] = {
      {R"("model_type": "mixtral", "num_local_experts": 0, "num_experts_per_tok": 2)",
       "config.json.num_local_experts: value 0 is outside [1, 1024]"},
      {R"("model_type": "qwen3_moe", "num_experts": 5000, "num_experts_per_tok": 2)",
       "config.json.num_experts: value 5000 is outside [1, 1024]"},
      {R"("model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 9)",
       "config.json.num_experts_per_tok: value 9 is outside [1, 8]"},
      {R"("model_type": "mixtral", "num_local_experts": 8)", "config.json.num_experts_per_tok: missing (expected an integer)"},
      {R"("model_type": "qwen3_moe", "num_experts": 8, "num_experts_per_tok": 2, "mlp_only_layers": [3])",
       "config.json.mlp_only_layers[0]: value 3 is outside [0, 2]"},
      {R"("model_type": "qwen3_moe", "num_experts": 8, "num_experts_per_tok": 2, "decoder_sparse_step": 0)",
       "config.json.decoder_sparse_step: value 0 is outside [1, 3]"},
      {R"("model_type": "gemma3_text", "sliding_window_pattern": 4)",
       "config.json.sliding_window_pattern: value 4 is outside [1, 3]"},
      {R"("model_type": "gemma3_text", "layer_types": ["sliding_attention", "full_attention"])",
       "config.json.layer_types: names 2 layers but num_hidden_layers is 3"},
      {R"("model_type": "gemma2", "layer_types": ["sliding_attention", "chunked_attention", "full_attention"])",
       "config.json.layer_types[1]: \"chunked_attention\" is not \"sliding_attention\" or \"full_attention\""},
      {R"("model_type": "gemma2", "sliding_window": 0)", "config.json.sliding_window: value 0 is outside [1, 1073741824]"},
      {R"("model_type": "gemma2", "attn_logit_softcapping": 0)",
       "config.json.attn_logit_softcapping: value 0.0 is outside (0, 1000000]"},
      {R"("model_type": "gemma2", "final_logit_softcapping": -30.0)",
       "config.json.final_logit_softcapping: value -30.0 is outside (0, 1000000]"},
      {R"("model_type": "gemma2", "query_pre_attn_scalar": 0)",
       "config.json.query_pre_attn_scalar: value 0.0 is outside [1e-06, 1000000000.0]"},
      {R"("model_type": "phi", "partial_rotary_factor": 0)",
       "config.json.partial_rotary_factor: value 0.0 is outside (0, 1] or rotates fewer than 2 of head_dim 16 dimensions"},
      {R"("model_type": "phi", "partial_rotary_factor": 1.5)",
       "config.json.partial_rotary_factor: value 1.5 is outside (0, 1] or rotates fewer than 2 of head_dim 16 dimensions"},
      {R"("model_type": "phi", "qk_layernorm": true)",
       "config.json.qk_layernorm: true is not supported (LayerNorms over q and k)"},
      {R"("model_type": "gemma2", "hidden_activation": "relu")",
       "config.json.hidden_activation: \"relu\" is not supported; supported: \"silu\" (also written \"swish\"), "
       "\"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\", \"gelu_fast\""},
      {R"("model_type": "smollm3", "no_rope_layers": [1, 1])",
       "config.json.no_rope_layers: names 2 layers but num_hidden_layers is 3"},
      {R"("model_type": "smollm3", "no_rope_layers": [1, 2, 1])", "config.json.no_rope_layers[1]: value 2 is outside [0, 1]"},
      {R"("model_type": "smollm3", "no_rope_layer_interval": 0)",
       "config.json.no_rope_layer_interval: value 0 is outside [1, 3]"},
      {R"("model_type": "olmoe")", "config.json: model_type 'olmoe' is not supported; supported: llama (LlamaForCausalLM)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fields);
    auto r = engine::parse_model_config("{" + base + ", " + c.fields + "}", "config.json");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().message().substr(0, std::string(c.message).size()), c.message) << r.status().message();
  }
}

}  // namespace
}  // namespace mlxpack
