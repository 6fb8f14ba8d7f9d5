#include "runtime/engine/model_config.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "format/hf_config.h"

namespace mlxpack::engine {

// Rows name only what differs from the defaults. GCC 12 warns about the
// members designated initializers leave to their defaults, which is the point.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const std::vector<ArchitectureTraits>& architecture_table() {
  static const TensorNames kPhiNames{.attn_out = "self_attn.dense", .gate = "mlp.fc1", .up = "", .down = "mlp.fc2",
                                     .final_norm = "model.final_layernorm"};
  static const TensorNames kMixtralNames{.moe = "block_sparse_moe", .expert_gate = "w1", .expert_up = "w3",
                                         .expert_down = "w2"};
  static const TensorNames kQwenMoeNames{.moe = "mlp", .expert_gate = "gate_proj", .expert_up = "up_proj",
                                         .expert_down = "down_proj"};
  static const std::vector<ArchitectureTraits> kTable = {
      {.model_type = "llama", .class_name = "LlamaForCausalLM"},
      {.model_type = "mistral", .class_name = "MistralForCausalLM", .sliding_window = true},
      {.model_type = "qwen2", .class_name = "Qwen2ForCausalLM", .qkv_bias = true, .sliding_window = true},
      {.model_type = "qwen3", .class_name = "Qwen3ForCausalLM", .qk_norm = true, .sliding_window = true},
      {.model_type = "phi3", .class_name = "Phi3ForCausalLM", .fused_qkv = true, .fused_gate_up = true,
       .sliding_window = true},
      {.model_type = "smollm3", .class_name = "SmolLM3ForCausalLM", .sliding_window = true, .nope_layers = true},
      {.model_type = "phi", .class_name = "PhiForCausalLM", .qkv_bias = true, .linear_biases = true,
       .norm = NormKind::kLayerNorm, .block = BlockKind::kParallel, .mlp = MlpKind::kPlain,
       .default_activation = Activation::kGeluTanh, .names = kPhiNames},
      {.model_type = "gemma2", .class_name = "Gemma2ForCausalLM", .local_period = 2, .scale_embeddings = true,
       .norm = NormKind::kRmsUnitOffset, .block = BlockKind::kSandwich, .default_activation = Activation::kGeluTanh},
      {.model_type = "gemma3_text", .class_name = "Gemma3ForCausalLM", .qk_norm = true, .local_period = 6,
       .local_rope_base = true,
       .scale_embeddings = true, .norm = NormKind::kRmsUnitOffset, .block = BlockKind::kSandwich,
       .default_activation = Activation::kGeluTanh},
      {.model_type = "mixtral", .class_name = "MixtralForCausalLM", .sliding_window = true,
       .renormalize_topk = true, .reads_norm_topk_prob = false, .mlp = MlpKind::kExperts, .names = kMixtralNames},
      {.model_type = "qwen3_moe", .class_name = "Qwen3MoeForCausalLM", .qk_norm = true, .sliding_window = true,
       .mlp = MlpKind::kExperts, .names = kQwenMoeNames},
  };
  return kTable;
}
#pragma GCC diagnostic pop

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
  const double partial = hf.partial_rotary_factor.value_or(1.0);
  c->rotary_dim = static_cast<int>(c->head_dim * partial) / 2 * 2;
  if (!(partial > 0.0 && partial <= 1.0) || c->rotary_dim < 2) {
    return field_error(field_path(label, "partial_rotary_factor"),
                       "value " + Json(partial).dump() + " is outside (0, 1] or rotates fewer than 2 of head_dim " +
                           std::to_string(c->head_dim) + " dimensions");
  }
  MLXPACK_ASSIGN_OR_RETURN(c->vocab_size, bounded(hf.vocab_size, label, "vocab_size", 1, 1 << 22, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c->max_position_embeddings,
                           bounded(hf.max_position_embeddings, label, "max_position_embeddings", 1, 1 << 30, 4096));
  return Status::ok();
}

Result<Activation> read_activation(const HfConfig& hf, const std::string& label, Activation fallback) {
  // Gemma names it hidden_activation (and may carry an older hidden_act).
  const char* key = hf.hidden_activation ? "hidden_activation" : "hidden_act";
  const std::optional<std::string>& name = hf.hidden_activation ? hf.hidden_activation : hf.hidden_act;
  if (!name) return fallback;
  if (*name == "silu" || *name == "swish") return Activation::kSilu;
  if (*name == "gelu_new" || *name == "gelu_pytorch_tanh" || *name == "gelu_fast") return Activation::kGeluTanh;
  if (*name == "gelu") return Activation::kGelu;
  return Status::unsupported(field_path(label, key) + ": " + Json(*name).dump() +
                             " is not supported; supported: \"silu\" (also written \"swish\"), \"gelu\", "
                             "\"gelu_new\", \"gelu_pytorch_tanh\", \"gelu_fast\"");
}

// Norm, biases, activation.
Status read_settings(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  const bool layer_norm = c->arch.norm == NormKind::kLayerNorm;
  MLXPACK_ASSIGN_OR_RETURN(const double eps, bounded_number(layer_norm ? hf.layer_norm_eps : hf.rms_norm_eps, label,
                                                            layer_norm ? "layer_norm_eps" : "rms_norm_eps", 0.0, 1.0, 1e-5));
  c->norm_eps = static_cast<float>(eps);
  c->tie_word_embeddings = hf.tie_word_embeddings.value_or(false);
  c->attention_bias = hf.attention_bias.value_or(false);
  c->mlp_bias = hf.mlp_bias.value_or(false);
  MLXPACK_ASSIGN_OR_RETURN(c->activation, read_activation(hf, label, c->arch.default_activation));
  if (hf.qk_layernorm.value_or(false)) {
    return Status::unsupported(field_path(label, "qk_layernorm") + ": true is not supported (LayerNorms over q and k)");
  }
  return Status::ok();
}

// A soft-cap: absent, or a positive number.
Result<float> softcap(const std::optional<double>& v, const std::string& label, const char* key) {
  if (!v) return 0.0f;
  if (!(*v > 0.0 && *v <= 1e6)) {
    return field_error(field_path(label, key), "value " + Json(*v).dump() + " is outside (0, 1000000]");
  }
  return static_cast<float>(*v);
}

// Which layers attend to a window: every layer, or Gemma's alternation
// (layer_types, else one global layer every sliding_window_pattern).
Status read_local_layers(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  c->layer_local.assign(c->num_layers, false);
  if (c->arch.sliding_window) {
    MLXPACK_ASSIGN_OR_RETURN(c->sliding_window, bounded(hf.sliding_window, label, "sliding_window", 0, 1 << 30, 0));
    if (!hf.use_sliding_window.value_or(true)) c->sliding_window = 0;
    c->layer_local.assign(c->num_layers, c->sliding_window > 0);
    return Status::ok();
  }
  if (c->arch.local_period == 0) return Status::ok();
  MLXPACK_ASSIGN_OR_RETURN(c->sliding_window, bounded(hf.sliding_window, label, "sliding_window", 1, 1 << 30, 4096));
  if (hf.layer_types) {
    const std::vector<std::string>& types = *hf.layer_types;
    if (types.size() != static_cast<size_t>(c->num_layers)) {
      return field_error(field_path(label, "layer_types"), "names " + std::to_string(types.size()) +
                                                               " layers but num_hidden_layers is " +
                                                               std::to_string(c->num_layers));
    }
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] != "sliding_attention" && types[i] != "full_attention") {
        return field_error(field_path(label, "layer_types") + "[" + std::to_string(i) + "]",
                           Json(types[i]).dump() + " is not \"sliding_attention\" or \"full_attention\"");
      }
      c->layer_local[i] = types[i] == "sliding_attention";
    }
  } else {
    // Gemma 2 alternates (local first); Gemma 3 has sliding_window_pattern.
    MLXPACK_ASSIGN_OR_RETURN(const int pattern,
                             bounded(hf.sliding_window_pattern, label, "sliding_window_pattern", 1, c->num_layers,
                                     std::min<int64_t>(c->arch.local_period, c->num_layers)));
    for (int i = 0; i < c->num_layers; ++i) c->layer_local[i] = (i + 1) % pattern != 0;
  }
  MLXPACK_ASSIGN_OR_RETURN(const double local_theta,
                           bounded_number(hf.rope_local_base_freq, label, "rope_local_base_freq", 1.0, 1e12, 10000.0));
  if (c->arch.local_rope_base) c->local_rope_theta = local_theta;  // else one RoPE for all layers
  return Status::ok();
}

// Which layers rotate q and k: all, or SmolLM3's no_rope_layers (1: RoPE,
// 0: none), else every no_rope_layer_interval-th layer without.
Status read_rope_layers(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  c->layer_rope.assign(c->num_layers, true);
  if (!c->arch.nope_layers) return Status::ok();
  if (hf.no_rope_layers) {
    const std::vector<int64_t>& flags = *hf.no_rope_layers;
    if (flags.size() != static_cast<size_t>(c->num_layers)) {
      return field_error(field_path(label, "no_rope_layers"), "names " + std::to_string(flags.size()) +
                                                                  " layers but num_hidden_layers is " +
                                                                  std::to_string(c->num_layers));
    }
    for (size_t i = 0; i < flags.size(); ++i) {
      if (flags[i] > 1) {
        return outside_range(field_path(label, "no_rope_layers") + "[" + std::to_string(i) + "]", Json(flags[i]),
                             int64_t{0}, int64_t{1});
      }
      c->layer_rope[i] = flags[i] == 1;
    }
    return Status::ok();
  }
  MLXPACK_ASSIGN_OR_RETURN(const int interval, bounded(hf.no_rope_layer_interval, label, "no_rope_layer_interval", 1,
                                                       c->num_layers, std::min(4, c->num_layers)));
  for (int i = 0; i < c->num_layers; ++i) c->layer_rope[i] = (i + 1) % interval != 0;
  return Status::ok();
}

// The attention's scale and soft-caps (Gemma's query_pre_attn_scalar).
Status read_attention(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  MLXPACK_ASSIGN_OR_RETURN(const double scalar, bounded_number(hf.query_pre_attn_scalar, label, "query_pre_attn_scalar",
                                                               1e-6, 1e9, static_cast<double>(c->head_dim)));
  c->attn_scale = static_cast<float>(1.0 / std::sqrt(scalar));
  MLXPACK_ASSIGN_OR_RETURN(c->attn_softcap, softcap(hf.attn_logit_softcapping, label, "attn_logit_softcapping"));
  MLXPACK_ASSIGN_OR_RETURN(c->final_softcap, softcap(hf.final_logit_softcapping, label, "final_logit_softcapping"));
  return Status::ok();
}

// Mixture of experts: how many, how many per token, which layers.
Status read_experts(const HfConfig& hf, const std::string& label, ModelConfig* c) {
  c->layer_sparse.assign(c->num_layers, false);
  if (c->arch.mlp != MlpKind::kExperts) return Status::ok();
  const char* experts_key = hf.document.contains("num_local_experts") ? "num_local_experts" : "num_experts";
  MLXPACK_ASSIGN_OR_RETURN(c->num_experts, bounded(hf.num_experts, label, experts_key, 1, kMaxExperts, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c->experts_per_token,
                           bounded(hf.num_experts_per_tok, label, "num_experts_per_tok", 1, c->num_experts, std::nullopt));
  c->renormalize_topk = c->arch.reads_norm_topk_prob ? hf.norm_topk_prob.value_or(c->arch.renormalize_topk)
                                                     : c->arch.renormalize_topk;
  MLXPACK_ASSIGN_OR_RETURN(c->expert_size, bounded(hf.moe_intermediate_size ? hf.moe_intermediate_size : hf.intermediate_size,
                                                   label, hf.moe_intermediate_size ? "moe_intermediate_size" : "intermediate_size",
                                                   1, 1 << 20, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(const int step, bounded(hf.decoder_sparse_step, label, "decoder_sparse_step", 1, c->num_layers, 1));
  for (int i = 0; i < c->num_layers; ++i) c->layer_sparse[i] = (i + 1) % step == 0;
  for (size_t i = 0; i < hf.mlp_only_layers.size(); ++i) {
    const int64_t layer = hf.mlp_only_layers[i];
    if (layer >= c->num_layers) {
      return outside_range(field_path(label, "mlp_only_layers") + "[" + std::to_string(i) + "]", Json(layer), int64_t{0},
                           int64_t{c->num_layers - 1});
    }
    c->layer_sparse[layer] = false;
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
  MLXPACK_RETURN_IF_ERROR(read_local_layers(hf, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_rope_layers(hf, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_attention(hf, label, &c));
  MLXPACK_RETURN_IF_ERROR(read_experts(hf, label, &c));
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
