#include "runtime/engine/model_config.h"

#include <algorithm>
#include <optional>

#include "format/hf_config.h"

namespace mlxpack::engine {

const std::vector<ArchitectureTraits>& architecture_table() {
  // model_type, class, qkv_bias, qk_norm, fused_qkv, fused_gate_up, sliding_window
  static const std::vector<ArchitectureTraits> kTable = {
      {"llama", "LlamaForCausalLM", false, false, false, false, false},
      {"mistral", "MistralForCausalLM", false, false, false, false, true},
      {"qwen2", "Qwen2ForCausalLM", true, false, false, false, true},
      {"qwen3", "Qwen3ForCausalLM", false, true, false, false, true},
      {"phi3", "Phi3ForCausalLM", false, false, true, true, true},
  };
  return kTable;
}

std::string supported_architectures() {
  std::string out;
  for (const ArchitectureTraits& a : architecture_table()) {
    if (!out.empty()) out += ", ";
    out += std::string(a.model_type) + " (" + a.class_name + ")";
  }
  return out;
}

namespace {

// An integer field the engine computes with: present (or `fallback`) and
// within [lo, hi]. `where` is the config's label.
Result<int> bounded(const std::optional<int64_t>& value, const std::string& where, const char* key, int64_t lo,
                    int64_t hi, std::optional<int64_t> fallback) {
  if (!value && !fallback) return field_error(field_path(where, key), "missing (expected an integer)");
  const int64_t v = value ? *value : *fallback;
  if (v < lo || v > hi) return outside_range(field_path(where, key), Json(v), lo, hi);
  return static_cast<int>(v);
}

Result<double> bounded_number(const std::optional<double>& value, const std::string& where, const char* key, double lo,
                       double hi, double fallback) {
  const double v = value.value_or(fallback);
  if (!(v >= lo && v <= hi)) return outside_range(field_path(where, key), Json(v), lo, hi);
  return v;
}

Result<const ArchitectureTraits*> find_architecture(const HfConfig& hf, const std::string& label) {
  // model_type first (what transformers dispatches on), then the class name.
  for (const ArchitectureTraits& t : architecture_table()) {
    if ((!hf.model_type.empty() && hf.model_type == t.model_type) ||
        (hf.model_type.empty() && hf.architecture == t.class_name)) {
      return &t;
    }
  }
  const std::string name = !hf.model_type.empty()     ? "model_type '" + hf.model_type + "'"
                           : !hf.architecture.empty() ? "architecture '" + hf.architecture + "'"
                                                      : "no model_type or architectures field";
  return Status::unsupported(label + ": " + name + " is not supported; supported: " + supported_architectures());
}

// Layer sizes and the attention's shape.
Status read_shape(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  MLXPACK_ASSIGN_OR_RETURN(c->hidden_size, bounded(hf.hidden_size, label, "hidden_size", 1, 65536, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c->intermediate_size,
                           bounded(hf.intermediate_size, label, "intermediate_size", 1, 1 << 20, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c->num_layers, bounded(hf.num_hidden_layers, label, "num_hidden_layers", 1, 1024, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c->num_heads, bounded(hf.num_attention_heads, label, "num_attention_heads", 1, 1024, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c->num_kv_heads, bounded(hf.num_key_value_heads, label, "num_key_value_heads", 1, 1024, c->num_heads));
  if (c->num_heads % c->num_kv_heads != 0) {
    return Status::invalid_argument(label + ": num_attention_heads " + std::to_string(c->num_heads) +
                                    " is not a multiple of num_key_value_heads " + std::to_string(c->num_kv_heads));
  }
  MLXPACK_ASSIGN_OR_RETURN(c->head_dim, bounded(hf.head_dim, label, "head_dim", 2, 1024, c->hidden_size / c->num_heads));
  if (c->head_dim % 2 != 0) {
    return Status::invalid_argument(label + ": head_dim is " + std::to_string(c->head_dim) +
                                    ", expected an even number in [2, 1024]");
  }
  MLXPACK_ASSIGN_OR_RETURN(const double partial, bounded_number(hf.partial_rotary_factor, label, "partial_rotary_factor", 0.0, 1.0, 1.0));
  c->rotary_dim = static_cast<int>(c->head_dim * partial) / 2 * 2;
  MLXPACK_ASSIGN_OR_RETURN(c->vocab_size, bounded(hf.vocab_size, label, "vocab_size", 1, 1 << 22, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c->max_position_embeddings,
                           bounded(hf.max_position_embeddings, label, "max_position_embeddings", 1, 1 << 30, 4096));
  return Status::ok();
}

// Norm, biases, activation and attention window.
Status read_settings(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  MLXPACK_ASSIGN_OR_RETURN(const double eps, bounded_number(hf.rms_norm_eps, label, "rms_norm_eps", 0.0, 1.0, 1e-5));
  c->rms_norm_eps = static_cast<float>(eps);
  c->tie_word_embeddings = hf.tie_word_embeddings.value_or(false);
  c->attention_bias = hf.attention_bias.value_or(false);
  c->mlp_bias = hf.mlp_bias.value_or(false);
  // The MLP is SwiGLU: SiLU is the only activation the engine computes, so
  // any other one is refused rather than silently replaced.
  if (hf.hidden_act && *hf.hidden_act != "silu" && *hf.hidden_act != "swish") {
    return Status::unsupported(field_path(label, "hidden_act") + ": " + Json(*hf.hidden_act).dump() +
                               " is not supported; supported: \"silu\" (also written \"swish\")");
  }
  if (c->arch.sliding_window) {
    MLXPACK_ASSIGN_OR_RETURN(c->sliding_window, bounded(hf.sliding_window, label, "sliding_window", 0, 1 << 30, 0));
    if (!hf.use_sliding_window.value_or(true)) c->sliding_window = 0;
  }
  return Status::ok();
}

Status read_rope(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  MLXPACK_ASSIGN_OR_RETURN(c->rope_theta, bounded_number(hf.rope_theta, label, "rope_theta", 1.0, 1e12, 10000.0));
  if (!hf.rope_scaling) return Status::ok();
  const HfRopeScaling& rs = *hf.rope_scaling;
  const std::string where = field_path(label, "rope_scaling");
  if (rs.type == "default") {
    c->rope_scaling = RopeScaling::kNone;
  } else if (rs.type == "linear") {
    c->rope_scaling = RopeScaling::kLinear;
    MLXPACK_ASSIGN_OR_RETURN(c->rope_factor, bounded_number(rs.factor, where, "factor", 1e-3, 1e6, 1.0));
  } else if (rs.type == "llama3") {
    c->rope_scaling = RopeScaling::kLlama3;
    MLXPACK_ASSIGN_OR_RETURN(c->rope_factor, bounded_number(rs.factor, where, "factor", 1e-3, 1e6, 8.0));
    MLXPACK_ASSIGN_OR_RETURN(c->rope_low_freq_factor, bounded_number(rs.low_freq_factor, where, "low_freq_factor", 1e-6, 1e6, 1.0));
    MLXPACK_ASSIGN_OR_RETURN(c->rope_high_freq_factor, bounded_number(rs.high_freq_factor, where, "high_freq_factor", 1e-6, 1e6, 4.0));
    MLXPACK_ASSIGN_OR_RETURN(c->rope_original_max_positions,
                             bounded_number(rs.original_max_position_embeddings, where, "original_max_position_embeddings",
                                     1.0, 1e9, 8192.0));
    if (!(c->rope_high_freq_factor > c->rope_low_freq_factor)) {
      return Status::invalid_argument(where + ": high_freq_factor must exceed low_freq_factor");
    }
  } else {
    return Status::unsupported(where + ": type '" + rs.type + "' is not supported; supported: default, linear, llama3");
  }
  return Status::ok();
}

// MLX's bits and group sizes the kernels have.
Result<QuantOverride> quant_spec(const HfQuantization& q, const std::string& where) {
  MLXPACK_ASSIGN_OR_RETURN(const int bits, bounded(q.bits, where, "bits", 2, 8, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(const int group_size, bounded(q.group_size, where, "group_size", 16, 128, std::nullopt));
  if (bits == 7) return field_error(field_path(where, "bits"), "value 7 is not one of 2, 3, 4, 5, 6, 8");
  // 16: K-quant sub-blocks imported from GGUF (a layout of ours; MLX's are 32, 64, 128).
  if (group_size != 16 && group_size != 32 && group_size != 64 && group_size != 128) {
    return field_error(field_path(where, "group_size"),
                       "value " + std::to_string(group_size) + " is not one of 16, 32, 64, 128");
  }
  return QuantOverride{bits, group_size};
}

Status read_quantization(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  if (!hf.quantization) return Status::ok();
  const std::string where = field_path(label, "quantization");
  MLXPACK_ASSIGN_OR_RETURN(c->quantization, quant_spec(*hf.quantization, where));
  for (const auto& [module, q] : hf.quantization->modules) {
    MLXPACK_ASSIGN_OR_RETURN(c->quant_overrides[module], quant_spec(q, where + "['" + module + "']"));
  }
  return Status::ok();
}

std::vector<int> token_ids(const std::vector<int64_t>& ids) { return std::vector<int>(ids.begin(), ids.end()); }

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& config_json, const std::string& label) {
  MLXPACK_ASSIGN_OR_RETURN(const HfConfig hf, parse_hf_config(config_json, label));
  ModelConfig c;
  MLXPACK_ASSIGN_OR_RETURN(const ArchitectureTraits* arch, find_architecture(hf, label));
  c.arch = *arch;
  MLXPACK_RETURN_IF_ERROR(read_shape(hf, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_settings(hf, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_rope(hf, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_quantization(hf, label, &c));
  c.eos_token_ids = token_ids(hf.eos_token_ids);
  c.bos_token_id = static_cast<int>(hf.bos_token_id.value_or(-1));
  return c;
}

Status merge_generation_config(const std::string& json_text, const std::string& label, ModelConfig* config) {
  MLXPACK_ASSIGN_OR_RETURN(const HfGenerationConfig g, parse_hf_generation_config(json_text, label));
  for (const int id : token_ids(g.eos_token_ids)) {
    if (std::find(config->eos_token_ids.begin(), config->eos_token_ids.end(), id) == config->eos_token_ids.end()) {
      config->eos_token_ids.push_back(id);
    }
  }
  if (config->bos_token_id < 0 && g.bos_token_id) config->bos_token_id = static_cast<int>(*g.bos_token_id);
  return Status::ok();
}

}  // namespace mlxpack::engine
