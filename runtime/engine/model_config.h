// What the runtime needs to know of a model, read from config.json (and
// generation_config.json for stop ids). Every supported architecture is a
// row of data (architecture_table()): which tensors it has and which
// operations it applies, so one forward pass serves them all.
#ifndef MLXPACK_RUNTIME_ENGINE_MODEL_CONFIG_H_
#define MLXPACK_RUNTIME_ENGINE_MODEL_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mlxpack/status.h"

namespace mlxpack::engine {

// The normalization a model applies.
enum class NormKind : uint8_t {
  kRms,            // x / rms(x) * w (Llama)
  kRmsUnitOffset,  // x / rms(x) * (1 + w) (Gemma): bound as 1 + w, then kRms
  kLayerNorm,      // (x - mean) / std * w + b (Phi-2)
};

// How a decoder layer combines attention and MLP.
enum class BlockKind : uint8_t {
  kSequential,  // x += attn(norm1(x)); x += mlp(norm2(x))
  kParallel,    // h = norm1(x); x += attn(h) + mlp(h) (Phi-2)
  kSandwich,    // x += norm2(attn(norm1(x))); x += norm4(mlp(norm3(x))) (Gemma 2/3)
};

enum class MlpKind : uint8_t {
  kGated,    // down(act(gate(h)) * up(h))
  kPlain,    // fc2(act(fc1(h))), both with biases (Phi-2)
  kExperts,  // top-k of n gated experts per token (Mixtral, Qwen3-MoE)
};

enum class Activation : uint8_t { kSilu, kGeluTanh, kGelu };

// The tensor names that differ between architectures ("model.layers.N." +
// name); the rest are Llama's.
struct TensorNames {
  const char* attn_out = "self_attn.o_proj";
  const char* gate = "mlp.gate_proj";  // kPlain: the first projection (fc1)
  const char* up = "mlp.up_proj";
  const char* down = "mlp.down_proj";  // kPlain: the second (fc2)
  const char* final_norm = "model.norm";
  const char* moe = "";  // kExperts: the sparse block ("block_sparse_moe", "mlp")
  // kExperts, Hugging Face's per-expert names under moe + ".experts.E."
  const char* expert_gate = "";
  const char* expert_up = "";
  const char* expert_down = "";
};

// How an architecture differs from plain Llama.
struct ArchitectureTraits {
  const char* model_type = "";  // config.json "model_type"
  const char* class_name = "";  // config.json "architectures"[0]
  bool qkv_bias = false;        // q/k/v projections carry biases (Qwen2)
  bool qk_norm = false;         // a norm over each head of q and k (Qwen3, Gemma 3)
  bool fused_qkv = false;       // one qkv_proj (Phi-3)
  bool fused_gate_up = false;   // one gate_up_proj (Phi-3)
  bool sliding_window = false;  // honours config "sliding_window" (Mistral, Qwen2 when enabled)
  // Sliding-window and global layers alternate (Gemma 2/3): one global
  // layer in every local_period when config.json names no layer_types or
  // sliding_window_pattern; 0 = not local-global.
  int local_period = 0;
  bool local_rope_base = false;  // local layers use rope_local_base_freq (Gemma 3)
  bool nope_layers = false;     // some layers use no RoPE (SmolLM3's no_rope_layers)
  bool scale_embeddings = false;  // embeddings times sqrt(hidden_size) (Gemma)
  bool linear_biases = false;   // every projection and lm_head has a bias (Phi-2)
  bool renormalize_topk = false;  // kExperts: norm_topk_prob when config.json omits it
  bool reads_norm_topk_prob = true;  // false: renormalize_topk whatever config.json says (Mixtral)
  NormKind norm = NormKind::kRms;
  BlockKind block = BlockKind::kSequential;
  MlpKind mlp = MlpKind::kGated;
  Activation default_activation = Activation::kSilu;
  TensorNames names;
};

const std::vector<ArchitectureTraits>& architecture_table();

// The most experts a mixture-of-experts layer may have (Qwen3-MoE has 128,
// the largest open models 512).
inline constexpr int kMaxExperts = 1024;
// "llama (LlamaForCausalLM), mistral (...), ..." for error messages.
std::string supported_architectures();

enum class RopeScaling { kNone, kLinear, kLlama3 };

struct QuantOverride {
  int bits = 0;
  int group_size = 0;
};

struct ModelConfig {
  ArchitectureTraits arch{};
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int rotary_dim = 0;  // head_dim x partial_rotary_factor
  int vocab_size = 0;
  float norm_eps = 1e-5f;  // rms_norm_eps, or layer_norm_eps for LayerNorm
  Activation activation = Activation::kSilu;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling = RopeScaling::kNone;
  double rope_factor = 1.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  double rope_original_max_positions = 8192.0;
  int max_position_embeddings = 0;
  int sliding_window = 0;  // 0 = none
  // Per layer: true when the layer attends only to the last sliding_window
  // positions (every layer when sliding_window > 0 and the architecture is
  // not local-global).
  std::vector<bool> layer_local;
  double local_rope_theta = 0;  // local layers' RoPE base (Gemma 3); 0: the global one
  std::vector<bool> layer_rope;  // per layer: RoPE applied (false: SmolLM3's NoPE layers)
  float attn_scale = 0;         // softmax scale: 1/sqrt(query_pre_attn_scalar or head_dim)
  float attn_softcap = 0;       // scores -> cap * tanh(scores / cap); 0 = none
  float final_softcap = 0;      // the same on the logits
  // Mixture of experts (MlpKind::kExperts).
  int num_experts = 0;
  int experts_per_token = 0;
  bool renormalize_topk = false;  // the top-k weights divided by their sum
  int expert_size = 0;            // each expert's hidden size
  std::vector<bool> layer_sparse;  // per layer: routed experts (else a dense MLP)
  bool attention_bias = false;  // q/k/v/o biases (Llama's attention_bias)
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  std::vector<int> eos_token_ids;
  int bos_token_id = -1;
  // MLX quantization from config "quantization": the default, and per-module
  // overrides keyed by module path ("model.layers.0.mlp.down_proj").
  QuantOverride quantization;
  std::map<std::string, QuantOverride> quant_overrides;
};

// Parses config.json text (format/hf_config.h) and checks it against what
// the engine computes. `label` names the file in messages. Errors:
// InvalidArgument naming the field, its value and the limit; Unsupported for
// an architecture not in the table (naming it and listing the supported
// ones) or a rope_scaling type the runtime lacks.
Result<ModelConfig> parse_model_config(const std::string& config_json, const std::string& label);

// Adds the stop ids of generation_config.json ("eos_token_id": int or list).
Status merge_generation_config(const std::string& json_text, const std::string& label, ModelConfig* config);

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_MODEL_CONFIG_H_
