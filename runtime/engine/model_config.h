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

// How an architecture differs from plain Llama.
struct ArchitectureTraits {
  const char* model_type;   // config.json "model_type"
  const char* class_name;   // config.json "architectures"[0]
  bool qkv_bias;            // q/k/v projections carry biases (Qwen2)
  bool qk_norm;             // RMSNorm over each head of q and k (Qwen3)
  bool fused_qkv;           // one qkv_proj (Phi-3)
  bool fused_gate_up;       // one gate_up_proj (Phi-3)
  bool sliding_window;      // honours config "sliding_window" (Mistral, Qwen2 when enabled)
};

const std::vector<ArchitectureTraits>& architecture_table();
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
  float rms_norm_eps = 1e-5f;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling = RopeScaling::kNone;
  double rope_factor = 1.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  double rope_original_max_positions = 8192.0;
  int max_position_embeddings = 0;
  int sliding_window = 0;  // 0 = none
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
