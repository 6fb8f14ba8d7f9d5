#include "runtime/engine/model_config.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <nlohmann/json.hpp>

namespace mlxpack::engine {

using nlohmann::json;

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

// A field read with its bounds; every message names file, field, value, limit.
class Fields {
 public:
  Fields(const json& doc, const std::string& label) : doc_(doc), label_(label) {}

  Result<int> integer(const char* key, int64_t lo, int64_t hi, std::optional<int64_t> fallback) const {
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) {
      if (fallback) return static_cast<int>(*fallback);
      return Status::invalid_argument(label_ + ": field '" + key + "' is missing");
    }
    if (!it->is_number_integer()) {
      return Status::invalid_argument(label_ + ": field '" + key + "' is " + it->dump() + ", expected an integer");
    }
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi) {
      return Status::invalid_argument(label_ + ": field '" + key + "' is " + std::to_string(v) + ", outside [" +
                                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return static_cast<int>(v);
  }

  Result<double> number(const char* key, double lo, double hi, double fallback) const {
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return fallback;
    if (!it->is_number()) {
      return Status::invalid_argument(label_ + ": field '" + key + "' is " + it->dump() + ", expected a number");
    }
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi)) {
      return Status::invalid_argument(label_ + ": field '" + key + "' is " + it->dump() + ", outside [" +
                                      json(lo).dump() + ", " + json(hi).dump() + "]");
    }
    return v;
  }

  Result<bool> boolean(const char* key, bool fallback) const {
    auto it = doc_.find(key);
    if (it == doc_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) {
      return Status::invalid_argument(label_ + ": field '" + key + "' is " + it->dump() + ", expected true or false");
    }
    return it->get<bool>();
  }

 private:
  const json& doc_;
  std::string label_;  // a copy: callers pass temporaries (label + ": rope_scaling")
};

Status add_token_ids(const json& value, const std::string& label, const char* key, std::vector<int>* out) {
  auto add = [&](const json& v) -> Status {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (1 << 30)) {
      return Status::invalid_argument(label + ": field '" + key + "' holds " + v.dump() +
                                      ", expected a token id in [0, 2^30]");
    }
    const int id = static_cast<int>(v.get<int64_t>());
    for (int seen : *out) {
      if (seen == id) return Status::ok();
    }
    out->push_back(id);
    return Status::ok();
  };
  if (value.is_null()) return Status::ok();
  if (value.is_array()) {
    // Real models list one to four stop ids; the cap keeps the duplicate
    // check (and the per-token stop check) trivially cheap.
    constexpr size_t kMaxTokenIds = 1024;
    if (value.size() > kMaxTokenIds) {
      return Status::invalid_argument(label + ": field '" + key + "' lists " + std::to_string(value.size()) +
                                      " token ids, more than the limit of " + std::to_string(kMaxTokenIds));
    }
    for (const json& v : value) MLXPACK_RETURN_IF_ERROR(add(v));
    return Status::ok();
  }
  return add(value);
}

Result<QuantOverride> parse_quant(const json& q, const std::string& label, const std::string& where) {
  QuantOverride out;
  auto bits = q.find("bits");
  auto group = q.find("group_size");
  if (bits == q.end() || !bits->is_number_integer() || group == q.end() || !group->is_number_integer()) {
    return Status::invalid_argument(label + ": " + where + " needs integer 'bits' and 'group_size', got " + q.dump());
  }
  out.bits = static_cast<int>(std::clamp<int64_t>(bits->get<int64_t>(), -1, 1000));
  out.group_size = static_cast<int>(std::clamp<int64_t>(group->get<int64_t>(), -1, 1 << 20));
  if (out.bits != 2 && out.bits != 3 && out.bits != 4 && out.bits != 5 && out.bits != 6 && out.bits != 8) {
    return Status::invalid_argument(label + ": " + where + " bits is " + bits->dump() + ", expected 2, 3, 4, 5, 6 or 8");
  }
  if (out.group_size != 32 && out.group_size != 64 && out.group_size != 128) {
    return Status::invalid_argument(label + ": " + where + " group_size is " + group->dump() +
                                    ", expected 32, 64 or 128");
  }
  return out;
}

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& config_json, const std::string& label) {
  json doc = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Status::invalid_argument(label + ": not a JSON object");
  ModelConfig c;

  // Architecture: model_type first (what transformers dispatches on), then
  // the class name.
  std::string model_type = doc.contains("model_type") && doc["model_type"].is_string() ? doc["model_type"].get<std::string>() : "";
  std::string class_name;
  if (auto a = doc.find("architectures"); a != doc.end() && a->is_array() && !a->empty() && (*a)[0].is_string()) {
    class_name = (*a)[0].get<std::string>();
  }
  const ArchitectureTraits* found = nullptr;
  for (const ArchitectureTraits& t : architecture_table()) {
    if ((!model_type.empty() && model_type == t.model_type) || (model_type.empty() && class_name == t.class_name)) {
      found = &t;
      break;
    }
  }
  if (found == nullptr) {
    const std::string name = !model_type.empty() ? "model_type '" + model_type + "'"
                             : !class_name.empty() ? "architecture '" + class_name + "'"
                                                   : "no model_type or architectures field";
    return Status::unsupported(label + ": " + name + " is not supported; supported: " + supported_architectures());
  }
  c.arch = *found;

  const Fields f(doc, label);
  MLXPACK_ASSIGN_OR_RETURN(c.hidden_size, f.integer("hidden_size", 1, 65536, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c.intermediate_size, f.integer("intermediate_size", 1, 1 << 20, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c.num_layers, f.integer("num_hidden_layers", 1, 1024, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c.num_heads, f.integer("num_attention_heads", 1, 1024, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(c.num_kv_heads, f.integer("num_key_value_heads", 1, 1024, c.num_heads));
  if (c.num_heads % c.num_kv_heads != 0) {
    return Status::invalid_argument(label + ": num_attention_heads " + std::to_string(c.num_heads) +
                                    " is not a multiple of num_key_value_heads " + std::to_string(c.num_kv_heads));
  }
  const int default_head_dim = c.hidden_size / c.num_heads;
  MLXPACK_ASSIGN_OR_RETURN(c.head_dim, f.integer("head_dim", 2, 1024, default_head_dim));
  if (c.head_dim < 2 || c.head_dim % 2 != 0) {
    return Status::invalid_argument(label + ": head_dim is " + std::to_string(c.head_dim) +
                                    ", expected an even number in [2, 1024]");
  }
  MLXPACK_ASSIGN_OR_RETURN(const double partial, f.number("partial_rotary_factor", 0.0, 1.0, 1.0));
  c.rotary_dim = static_cast<int>(c.head_dim * partial) / 2 * 2;
  MLXPACK_ASSIGN_OR_RETURN(c.vocab_size, f.integer("vocab_size", 1, 1 << 22, std::nullopt));
  MLXPACK_ASSIGN_OR_RETURN(const double eps, f.number("rms_norm_eps", 0.0, 1.0, 1e-5));
  c.rms_norm_eps = static_cast<float>(eps);
  MLXPACK_ASSIGN_OR_RETURN(c.rope_theta, f.number("rope_theta", 1.0, 1e12, 10000.0));
  MLXPACK_ASSIGN_OR_RETURN(c.max_position_embeddings, f.integer("max_position_embeddings", 1, 1 << 30, 4096));
  MLXPACK_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.boolean("tie_word_embeddings", false));
  MLXPACK_ASSIGN_OR_RETURN(c.attention_bias, f.boolean("attention_bias", false));
  MLXPACK_ASSIGN_OR_RETURN(c.mlp_bias, f.boolean("mlp_bias", false));
  // The MLP is SwiGLU: SiLU is the only activation the engine computes, so
  // any other one is refused rather than silently replaced.
  if (auto act = doc.find("hidden_act"); act != doc.end() && !act->is_null()) {
    if (!act->is_string() || (*act != "silu" && *act != "swish")) {
      return Status::unsupported(label + ": field 'hidden_act' is " + act->dump() +
                                 "; supported: \"silu\" (also written \"swish\")");
    }
  }
  if (c.arch.sliding_window) {
    MLXPACK_ASSIGN_OR_RETURN(const bool use_sw, f.boolean("use_sliding_window", true));
    MLXPACK_ASSIGN_OR_RETURN(c.sliding_window, f.integer("sliding_window", 0, 1 << 30, 0));
    if (!use_sw) c.sliding_window = 0;
  }

  if (auto rs = doc.find("rope_scaling"); rs != doc.end() && !rs->is_null()) {
    if (!rs->is_object()) return Status::invalid_argument(label + ": field 'rope_scaling' is " + rs->dump() + ", expected an object or null");
    std::string type;
    for (const char* key : {"rope_type", "type"}) {
      if (auto t = rs->find(key); t != rs->end() && t->is_string()) {
        type = t->get<std::string>();
        break;
      }
    }
    const Fields r(*rs, label + ": rope_scaling");
    if (type == "default") {
      c.rope_scaling = RopeScaling::kNone;
    } else if (type == "linear") {
      c.rope_scaling = RopeScaling::kLinear;
      MLXPACK_ASSIGN_OR_RETURN(c.rope_factor, r.number("factor", 1e-3, 1e6, 1.0));
    } else if (type == "llama3") {
      c.rope_scaling = RopeScaling::kLlama3;
      MLXPACK_ASSIGN_OR_RETURN(c.rope_factor, r.number("factor", 1e-3, 1e6, 8.0));
      MLXPACK_ASSIGN_OR_RETURN(c.rope_low_freq_factor, r.number("low_freq_factor", 1e-6, 1e6, 1.0));
      MLXPACK_ASSIGN_OR_RETURN(c.rope_high_freq_factor, r.number("high_freq_factor", 1e-6, 1e6, 4.0));
      MLXPACK_ASSIGN_OR_RETURN(c.rope_original_max_positions,
                               r.number("original_max_position_embeddings", 1.0, 1e9, 8192.0));
      if (!(c.rope_high_freq_factor > c.rope_low_freq_factor)) {
        return Status::invalid_argument(label + ": rope_scaling high_freq_factor must exceed low_freq_factor");
      }
    } else {
      return Status::unsupported(label + ": rope_scaling type '" + type +
                                 "' is not supported; supported: default, linear, llama3");
    }
  }

  if (auto e = doc.find("eos_token_id"); e != doc.end()) {
    MLXPACK_RETURN_IF_ERROR(add_token_ids(*e, label, "eos_token_id", &c.eos_token_ids));
  }
  if (auto b = doc.find("bos_token_id"); b != doc.end() && b->is_number_integer()) {
    c.bos_token_id = static_cast<int>(std::clamp<int64_t>(b->get<int64_t>(), -1, 1 << 30));
  }

  if (auto q = doc.find("quantization"); q != doc.end() && q->is_object()) {
    MLXPACK_ASSIGN_OR_RETURN(c.quantization, parse_quant(*q, label, "quantization"));
    for (auto it = q->begin(); it != q->end(); ++it) {
      if (!it.value().is_object()) continue;
      MLXPACK_ASSIGN_OR_RETURN(QuantOverride o, parse_quant(it.value(), label, "quantization['" + it.key() + "']"));
      c.quant_overrides[it.key()] = o;
    }
  }
  return c;
}

Status merge_generation_config(const std::string& json_text, const std::string& label, ModelConfig* config) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Status::invalid_argument(label + ": not a JSON object");
  if (auto e = doc.find("eos_token_id"); e != doc.end()) {
    MLXPACK_RETURN_IF_ERROR(add_token_ids(*e, label, "eos_token_id", &config->eos_token_ids));
  }
  if (config->bos_token_id < 0) {
    if (auto b = doc.find("bos_token_id"); b != doc.end() && b->is_number_integer()) {
      config->bos_token_id = static_cast<int>(std::clamp<int64_t>(b->get<int64_t>(), -1, 1 << 30));
    }
  }
  return Status::ok();
}

}  // namespace mlxpack::engine
