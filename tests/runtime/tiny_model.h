// Small random models of every supported architecture, written as Hugging
// Face directories, and a straightforward reference forward pass (double
// accumulation, written from the transformers modelling code, sharing
// nothing with runtime/engine) to check the runtime against.
#ifndef MLXPACK_TESTS_RUNTIME_TINY_MODEL_H_
#define MLXPACK_TESTS_RUNTIME_TINY_MODEL_H_

#include <map>
#include <string>
#include <vector>

#include "mlxpack/dtype.h"

namespace mlxpack::test {

struct TinySpec {
  std::string model_type = "llama";  // llama, mistral, qwen2, qwen3, phi3, phi, gemma2, gemma3_text, mixtral, qwen3_moe
  int hidden = 64;
  int intermediate = 128;
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;
  int head_dim = 16;
  int vocab = 96;
  bool tie_embeddings = false;
  bool attention_bias = false;  // Llama's q/k/v/o biases
  int sliding_window = 0;       // mistral/qwen2
  bool llama3_rope = false;
  double partial_rotary = 1.0;
  int max_positions = 256;
  // Gemma: attention scale, soft-caps (0: none), local layers.
  double query_pre_attn_scalar = 0;  // 0: head_dim
  double attn_softcap = 0;
  double final_softcap = 0;
  int sliding_window_pattern = 0;  // gemma3_text: written when > 0
  bool layer_types = false;        // write layer_types instead of a pattern
  double rope_theta = 10000.0;
  double local_rope_theta = 0;     // gemma3_text: rope_local_base_freq when > 0
  double linear_rope_factor = 0;   // rope_scaling linear when > 0
  int no_rope_interval = 0;        // smollm3: every Nth layer without RoPE (written as no_rope_layers)
  // Mixture of experts.
  int experts = 0;
  int experts_per_token = 0;
  int expert_size = 0;             // qwen3_moe's moe_intermediate_size (0: intermediate)
  bool norm_topk_prob = false;     // qwen3_moe
  std::vector<int> mlp_only_layers;  // qwen3_moe
  bool stacked_experts = false;    // mlx-lm's switch_mlp layout instead of per-expert tensors
  DType dtype = DType::kF32;
  uint64_t seed = 1;
};

using Tensors = std::map<std::string, std::vector<float>>;

// Writes config.json, generation_config.json, model.safetensors and a small
// tokenizer.json into `dir`; returns the weights as floats (after rounding
// to `dtype`), keyed by tensor name.
Tensors write_tiny_model(const std::string& dir, const TinySpec& spec);

// A random LoRA adapter (mlx-lm's layout: adapter_config.json and
// adapters.safetensors with PATH.lora_a [in, rank] and PATH.lora_b [rank,
// out], in `dtype`) on the layers `paths` of a model written by
// write_tiny_model with weights `w`. Returns `w` with each adapted weight
// replaced by W + scale * (A B)^T, computed in double: the fused model.
Tensors write_lora_adapter(const std::string& dir, const Tensors& w, const std::vector<std::string>& paths, int rank,
                           double scale, DType dtype, uint64_t seed);

// Which layers of `spec` attend to a window, as transformers decides it.
bool layer_is_local(const TinySpec& spec, int layer);
// Whether `layer` of `spec` rotates q and k (SmolLM3's NoPE layers do not).
bool layer_has_rope(const TinySpec& spec, int layer);
// Whether `layer` of `spec` routes to experts.
bool layer_is_sparse(const TinySpec& spec, int layer);

// Logits (vocab floats per position) of every position of `tokens`, from
// scratch, as transformers computes them.
std::vector<std::vector<double>> reference_logits(const TinySpec& spec, const Tensors& w,
                                                  const std::vector<int>& tokens);

}  // namespace mlxpack::test

#endif  // MLXPACK_TESTS_RUNTIME_TINY_MODEL_H_
