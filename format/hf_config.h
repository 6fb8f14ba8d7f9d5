// A Hugging Face model's config.json and generation_config.json, read once
// into typed fields. This is the one reading of those files: pack, inspect,
// convert and the engine all start here.
//
// Parsing checks types and the bounds no consumer can do without (counts are
// non-negative and fit an int; token-id lists are short); a wrongly typed
// field is an error naming its JSON path ("config.json.rope_scaling.factor:
// expected a number, got string"). What a field must be for a model to run
// (hidden_size <= 65536, a supported rope type) is the engine's to check.
#ifndef MLXPACK_FORMAT_HF_CONFIG_H_
#define MLXPACK_FORMAT_HF_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/json_fields.h"
#include "mlxpack/status.h"

namespace mlxpack {

// An MLX "quantization" object (or a transformers "quantization_config"):
// the default and, for MLX, per-module entries keyed by module path.
struct HfQuantization {
  std::optional<int64_t> bits;
  std::optional<int64_t> group_size;
  std::string mode;  // "" when absent (MLX's default is affine)
  std::map<std::string, HfQuantization> modules;
};

struct HfRopeScaling {
  std::string type;  // "rope_type", else "type"; "" when neither
  std::optional<double> factor;
  std::optional<double> low_freq_factor;
  std::optional<double> high_freq_factor;
  std::optional<double> original_max_position_embeddings;
};

struct HfConfig {
  std::string model_type;    // "" when absent
  std::string architecture;  // architectures[0]; "" when absent
  // The language model's sizes: multimodal configs (Llama 4, Gemma 3) keep
  // them under text_config, read when the top level lacks them.
  std::optional<int64_t> hidden_size;
  std::optional<int64_t> intermediate_size;
  std::optional<int64_t> num_hidden_layers;
  std::optional<int64_t> num_attention_heads;
  std::optional<int64_t> num_key_value_heads;
  std::optional<int64_t> head_dim;
  std::optional<int64_t> vocab_size;
  std::optional<int64_t> max_position_embeddings;
  std::optional<int64_t> sliding_window;
  std::optional<double> partial_rotary_factor;
  std::optional<double> rms_norm_eps;
  std::optional<double> rope_theta;
  std::optional<bool> tie_word_embeddings;
  std::optional<bool> attention_bias;
  std::optional<bool> mlp_bias;
  std::optional<bool> use_sliding_window;
  std::optional<std::string> hidden_act;
  std::optional<std::string> hidden_activation;  // Gemma's name for it
  // Phi-2: LayerNorm's epsilon, and LayerNorms over q and k.
  std::optional<double> layer_norm_eps;
  std::optional<bool> qk_layernorm;
  // Gemma 2/3: attention scale, soft-capping, and which layers are local.
  std::optional<double> query_pre_attn_scalar;
  std::optional<double> attn_logit_softcapping;
  std::optional<double> final_logit_softcapping;
  std::optional<int64_t> sliding_window_pattern;
  std::optional<std::vector<std::string>> layer_types;  // "sliding_attention" / "full_attention"
  std::optional<double> rope_local_base_freq;
  // SmolLM3: which layers use RoPE (1) and which none (0), or every
  // no_rope_layer_interval-th layer without.
  std::optional<std::vector<int64_t>> no_rope_layers;
  std::optional<int64_t> no_rope_layer_interval;
  // Mixture of experts: "num_local_experts" (Mixtral) or "num_experts"
  // (Qwen3-MoE, OLMoE), experts per token, renormalized top-k weights, the
  // experts' hidden size and which layers are sparse.
  std::optional<int64_t> num_experts;
  std::optional<int64_t> num_experts_per_tok;
  std::optional<bool> norm_topk_prob;
  std::optional<int64_t> moe_intermediate_size;
  std::optional<int64_t> decoder_sparse_step;
  std::vector<int64_t> mlp_only_layers;
  std::optional<HfRopeScaling> rope_scaling;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // "eos_token_id": one id or a list; no repeats
  std::optional<HfQuantization> quantization;         // MLX's
  std::optional<HfQuantization> quantization_config;  // transformers'
  Json document;  // the whole file, for rewriting (convert)
};

// What generation_config.json adds: the stop and start ids.
struct HfGenerationConfig {
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
};

// Token ids are below 2^30; a list names at most this many.
inline constexpr int64_t kMaxTokenId = int64_t{1} << 30;
inline constexpr size_t kMaxStopTokenIds = 1024;

// Parses config.json text; `label` names the file ("model.mlxpack:
// config.json") and roots every path in messages. Errors: InvalidArgument.
Result<HfConfig> parse_hf_config(std::string_view text, const std::string& label);
Result<HfGenerationConfig> parse_hf_generation_config(std::string_view text, const std::string& label);

// The two steps of those, for a caller that treats bad JSON and bad fields
// differently (inspect): the text as a JSON object, then its fields.
Result<Json> parse_json_object(std::string_view text, const std::string& label);
Result<HfConfig> read_hf_config(Json document, const std::string& label);
Result<HfGenerationConfig> read_hf_generation_config(const Json& document, const std::string& label);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_HF_CONFIG_H_
