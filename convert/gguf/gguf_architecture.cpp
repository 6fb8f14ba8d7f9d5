#include "convert/gguf/gguf_architecture.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "format/byte_order.h"
#include "format/half.h"
#include "format/names.h"

namespace mlxpack {

namespace {

using ordered_json = nlohmann::ordered_json;

// One architecture as data.
struct Architecture {
  const char* gguf;         // general.architecture
  const char* model_type;   // config.json
  const char* hf_class;     // config.json "architectures"
  bool permuted_qk;         // llama.cpp stores q/k rows in Meta's interleaved order
  bool fused_gate_up;       // ffn_up holds gate and up (phi3)
};

constexpr Architecture kArchitectures[] = {
    {"llama", "llama", "LlamaForCausalLM", true, false},
    {"qwen2", "qwen2", "Qwen2ForCausalLM", false, false},
    {"qwen3", "qwen3", "Qwen3ForCausalLM", false, false},
    {"phi3", "phi3", "Phi3ForCausalLM", false, true},
};

// GGUF block tensor names and their Hugging Face counterparts.
const std::map<std::string, std::string>& block_names(bool fused_gate_up) {
  static const std::map<std::string, std::string> names = {
      {"attn_norm", "input_layernorm"},      {"attn_q", "self_attn.q_proj"},
      {"attn_k", "self_attn.k_proj"},        {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"},   {"attn_qkv", "self_attn.qkv_proj"},
      {"attn_q_norm", "self_attn.q_norm"},   {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_norm", "post_attention_layernorm"}, {"ffn_gate", "mlp.gate_proj"},
      {"ffn_up", "mlp.up_proj"},             {"ffn_down", "mlp.down_proj"},
  };
  static const std::map<std::string, std::string> fused = [] {
    auto m = names;
    m["ffn_up"] = "mlp.gate_up_proj";
    return m;
  }();
  return fused_gate_up ? fused : names;
}

// GGUF stores these as float32: the shortest decimal that reads back as
// the same float32 (1e-05, not 9.999999747378752e-06), as the model's own
// config.json had it.
double shortest(double x) {
  const float f = static_cast<float>(x);
  if (static_cast<double>(f) != x) return x;  // a float64 value: as it is
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
    if (std::strtof(buf, nullptr) == f) return std::strtod(buf, nullptr);
  }
  return x;
}

struct Hyper {
  uint64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, rope_dim = 0;
};

// "blk.N.rest" -> N and rest; false if the name is not a block tensor.
bool split_block_name(const std::string& name, uint64_t* layer, std::string* rest) {
  if (name.rfind("blk.", 0) != 0) return false;
  size_t i = 4;
  uint64_t n = 0;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9' && i < 12) n = n * 10 + static_cast<uint64_t>(name[i++] - '0');
  if (i == 4 || i >= name.size() || name[i] != '.' || (name[4] == '0' && i > 5)) return false;
  *layer = n;
  *rest = name.substr(i + 1);
  return true;
}

// The Hugging Face name of a GGUF tensor; empty if it is not the model's.
std::string hf_name(const std::string& name, const Architecture& arch, uint64_t layers) {
  static const std::map<std::string, std::string> top = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  if (auto it = top.find(name); it != top.end()) return it->second;
  uint64_t layer = 0;
  std::string rest;
  if (!split_block_name(name, &layer, &rest) || layer >= layers) return "";
  const size_t dot = rest.rfind('.');
  if (dot == std::string::npos) return "";
  const std::string base = rest.substr(0, dot), suffix = rest.substr(dot);
  if (suffix != ".weight" && suffix != ".bias") return "";
  const auto& names = block_names(arch.fused_gate_up);
  auto it = names.find(base);
  if (it == names.end()) return "";
  return "model.layers." + std::to_string(layer) + "." + it->second + suffix;
}

}  // namespace

// llama.cpp's permute(): GGUF row h*hd + 2j + i holds Hugging Face row
// h*hd + i*hd/2 + j (i in {0, 1}, j < hd/2).
std::vector<uint64_t> llama_qk_gguf_rows(uint64_t heads, uint64_t head_dim) {
  std::vector<uint64_t> from(heads * head_dim);
  const uint64_t half = head_dim / 2;
  for (uint64_t h = 0; h < heads; ++h) {
    for (uint64_t i = 0; i < 2; ++i) {
      for (uint64_t j = 0; j < half; ++j) from[h * head_dim + i * half + j] = h * head_dim + 2 * j + i;
    }
  }
  return from;
}

namespace {

Result<Hyper> read_hyper(const GgufMetadata& meta, const std::string& a, ordered_json* c) {
  Hyper h;
  auto key = [&](const char* k) { return a + "." + k; };
  if (const GgufValue* v = meta.find(key("attention.head_count")); v && v->type == GgufType::kArray) {
    return Status::unsupported(meta.name() + ": " + key("attention.head_count") +
                               " is per layer; models with per-layer head counts are not imported");
  }
  MLXPACK_ASSIGN_OR_RETURN(h.hidden, meta.uint(key("embedding_length"), 1, 1 << 20));
  MLXPACK_ASSIGN_OR_RETURN(h.layers, meta.uint(key("block_count"), 1, 4096));
  MLXPACK_ASSIGN_OR_RETURN(h.heads, meta.uint(key("attention.head_count"), 1, 4096));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> kv, meta.optional_uint(key("attention.head_count_kv"), 1, h.heads));
  h.kv_heads = kv.value_or(h.heads);
  if (h.heads % h.kv_heads != 0) {
    return meta.invalid(key("attention.head_count_kv"), std::to_string(h.kv_heads) + " does not divide the " +
                                                             std::to_string(h.heads) + " attention heads");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> hd, meta.optional_uint(key("attention.key_length"), 2, 4096));
  h.head_dim = hd.value_or(h.hidden / h.heads);
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> vd, meta.optional_uint(key("attention.value_length"), 2, 4096));
  if (vd && *vd != h.head_dim) {
    return meta.invalid(key("attention.value_length"), std::to_string(*vd) + " differs from the key length " +
                                                           std::to_string(h.head_dim));
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> rd, meta.optional_uint(key("rope.dimension_count"), 2, h.head_dim));
  h.rope_dim = rd.value_or(h.head_dim);
  MLXPACK_ASSIGN_OR_RETURN(uint64_t ff, meta.uint(key("feed_forward_length"), 1, 1 << 22));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> ctx, meta.optional_uint(key("context_length"), 1, 1u << 30));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<double> theta, meta.optional_number(key("rope.freq_base"), 1e-3, 1e12));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<double> eps,
                           meta.optional_number(key("attention.layer_norm_rms_epsilon"), 1e-12, 1.0));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<uint64_t> window,
                           meta.optional_uint(key("attention.sliding_window"), 1, 1u << 30));
  (*c)["hidden_size"] = h.hidden;
  (*c)["intermediate_size"] = ff;
  (*c)["num_hidden_layers"] = h.layers;
  (*c)["num_attention_heads"] = h.heads;
  (*c)["num_key_value_heads"] = h.kv_heads;
  (*c)["head_dim"] = h.head_dim;
  (*c)["max_position_embeddings"] = ctx.value_or(4096);
  (*c)["rms_norm_eps"] = shortest(eps.value_or(1e-5));
  (*c)["rope_theta"] = shortest(theta.value_or(10000.0));
  if (window) (*c)["sliding_window"] = *window;
  if (h.rope_dim != h.head_dim) (*c)["partial_rotary_factor"] = static_cast<double>(h.rope_dim) / h.head_dim;
  return h;
}

// llama.cpp stores Llama 3's rope scaling as the per-frequency factors it
// implies (rope_freqs.weight). Recover the parameters: the factor is the
// largest one; low/high frequency factors and the original context are
// Llama 3.1's (1, 4, 8192), accepted only if they reproduce every factor.
Result<ordered_json> llama3_rope_scaling(const GgufMetadata& meta, const GgufTensorInfo& t, const std::string& bytes,
                                         double theta, uint64_t rope_dim) {
  const uint64_t n = rope_dim / 2;
  if (t.type != kGgmlF32 || t.elements != n) {
    return Status::unsupported(meta.name() + ": rope_freqs.weight is not " + std::to_string(n) +
                               " F32 factors; this rope scaling is not imported");
  }
  std::vector<double> f(n);
  double factor = 0;
  for (uint64_t i = 0; i < n; ++i) {
    f[i] = f32_from_bits(load_le32(reinterpret_cast<const uint8_t*>(bytes.data()) + 4 * i));
    factor = std::max(factor, f[i]);
  }
  const double low = 1, high = 4, old_context = 8192;
  for (uint64_t i = 0; i < n; ++i) {
    const double freq = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(rope_dim));
    const double wavelen = 2 * M_PI / freq;
    double expect = factor;
    if (wavelen < old_context / high) {
      expect = 1;
    } else if (wavelen <= old_context / low) {
      const double smooth = (old_context / wavelen - low) / (high - low);
      expect = 1 / ((1 - smooth) / factor + smooth);
    }
    if (!(std::fabs(expect - f[i]) <= 1e-5 * expect)) {
      return Status::unsupported(meta.name() + ": rope_freqs.weight factor " + std::to_string(i) + " is " +
                                 std::to_string(f[i]) + ", not Llama 3's rope scaling (" + std::to_string(expect) +
                                 "); this rope scaling is not imported");
    }
  }
  return ordered_json{{"factor", shortest(static_cast<float>(factor))},
                      {"high_freq_factor", high},
                      {"low_freq_factor", low},
                      {"original_max_position_embeddings", old_context},
                      {"rope_type", "llama3"}};
}

Result<std::optional<ordered_json>> linear_rope_scaling(const GgufMetadata& meta, const std::string& a) {
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> type, meta.optional_string(a + ".rope.scaling.type"));
  if (!type || *type == "none") return std::optional<ordered_json>();
  if (*type != "linear") {
    return Status::unsupported(meta.name() + ": " + a + ".rope.scaling.type \"" + printable(*type) +
                               "\" is not imported (linear is)");
  }
  MLXPACK_ASSIGN_OR_RETURN(std::optional<double> factor, meta.optional_number(a + ".rope.scaling.factor", 1e-3, 1e6));
  if (!factor) return meta.invalid(a + ".rope.scaling.factor", "missing for linear rope scaling");
  return std::optional<ordered_json>(ordered_json{{"factor", shortest(*factor)}, {"rope_type", "linear"}});
}

std::string generation_config(const GgufTokenizer& tok) {
  ordered_json g = ordered_json::object();
  if (tok.bos_id) g["bos_token_id"] = *tok.bos_id;
  if (tok.eos_id && tok.eot_id && *tok.eot_id != *tok.eos_id) {
    g["eos_token_id"] = ordered_json::array({*tok.eos_id, *tok.eot_id});
  } else if (tok.eos_id || tok.eot_id) {
    g["eos_token_id"] = tok.eos_id ? *tok.eos_id : *tok.eot_id;
  }
  if (tok.pad_id) g["pad_token_id"] = *tok.pad_id;
  return g.dump(2) + "\n";
}

}  // namespace

std::optional<GgufArchitectureFor> gguf_architecture_for(const std::string& model_type) {
  const std::string gguf = model_type == "mistral" ? "llama" : model_type;
  for (const Architecture& a : kArchitectures) {
    if (gguf == a.gguf) return GgufArchitectureFor{a.gguf, a.permuted_qk, a.fused_gate_up};
  }
  return std::nullopt;
}

std::string gguf_tensor_name(const std::string& hf, bool fused_gate_up, uint64_t layers) {
  static const std::map<std::string, std::string> top = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  if (auto it = top.find(hf); it != top.end()) return it->second;
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) != 0) return "";
  size_t i = prefix.size();
  uint64_t layer = 0;
  const size_t start = i;
  while (i < hf.size() && hf[i] >= '0' && hf[i] <= '9' && i - start < 8) layer = layer * 10 + static_cast<uint64_t>(hf[i++] - '0');
  if (i == start || i >= hf.size() || hf[i] != '.' || layer >= layers) return "";
  const std::string rest = hf.substr(i + 1);
  const size_t dot = rest.rfind('.');
  if (dot == std::string::npos) return "";
  const std::string base = rest.substr(0, dot), suffix = rest.substr(dot);
  for (const auto& [gguf, name] : block_names(fused_gate_up)) {
    if (name == base) return "blk." + std::to_string(layer) + "." + gguf + suffix;
  }
  return "";
}

Result<GgufModelPlan> plan_gguf_model(const GgufMetadata& meta, const GgufTokenizer& tokenizer,
                                      const GgufTensorReader& read) {
  const GgufFile& file = meta.file();
  MLXPACK_ASSIGN_OR_RETURN(std::optional<std::string> name, meta.optional_string("general.architecture"));
  if (!name) return Status::invalid_argument(meta.name() + ": general.architecture is missing");
  const Architecture* arch = nullptr;
  for (const Architecture& a : kArchitectures) {
    if (*name == a.gguf) arch = &a;
  }
  if (arch == nullptr) {
    return Status::unsupported(meta.name() + ": architecture \"" + printable(*name) +
                               "\" is not imported (llama, qwen2, qwen3, phi3 are)");
  }
  GgufModelPlan plan;
  plan.architecture = *name;
  ordered_json& c = plan.config;
  c["architectures"] = ordered_json::array({arch->hf_class});
  c["model_type"] = arch->model_type;
  MLXPACK_ASSIGN_OR_RETURN(Hyper h, read_hyper(meta, *name, &c));
  if (arch->permuted_qk && h.rope_dim != h.head_dim) {
    return Status::unsupported(meta.name() + ": a llama model with partial rotary embeddings is not imported");
  }
  const GgufTensorInfo* embed = file.tensor("token_embd.weight");
  if (embed == nullptr || embed->dims.size() != 2 || embed->dims[0] != h.hidden) {
    return Status::invalid_argument(meta.name() + ": token_embd.weight is missing or is not [" +
                                    std::to_string(h.hidden) + ", vocabulary]");
  }
  c["vocab_size"] = embed->dims[1];
  c["tie_word_embeddings"] = file.tensor("output.weight") == nullptr;
  if (tokenizer.bos_id) c["bos_token_id"] = *tokenizer.bos_id;
  if (tokenizer.eos_id) c["eos_token_id"] = *tokenizer.eos_id;
  MLXPACK_ASSIGN_OR_RETURN(std::optional<ordered_json> scaling, linear_rope_scaling(meta, *name));
  const std::vector<uint64_t> q_rows = arch->permuted_qk ? llama_qk_gguf_rows(h.heads, h.head_dim) : std::vector<uint64_t>();
  const std::vector<uint64_t> k_rows =
      arch->permuted_qk ? llama_qk_gguf_rows(h.kv_heads, h.head_dim) : std::vector<uint64_t>();
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const GgufTensorInfo& t = file.tensors[i];
    if (t.name == "rope_freqs.weight") {
      MLXPACK_ASSIGN_OR_RETURN(std::string bytes, read(t));
      MLXPACK_ASSIGN_OR_RETURN(ordered_json s, llama3_rope_scaling(meta, t, bytes, c["rope_theta"].get<double>(),
                                                                   h.rope_dim));
      scaling = s;
      continue;
    }
    GgufTensorPlan p;
    p.index = i;
    p.name = hf_name(t.name, *arch, h.layers);
    if (p.name.empty()) {
      return Status::invalid_argument(meta.name() + ": tensor " + printable(t.name) + " is not a tensor of a " + *name +
                                      " model with " + std::to_string(h.layers) + " layers");
    }
    const bool is_q = t.name.find(".attn_q.") != std::string::npos, is_k = t.name.find(".attn_k.") != std::string::npos;
    if (arch->permuted_qk && (is_q || is_k)) {
      const std::vector<uint64_t>& rows = is_q ? q_rows : k_rows;
      const uint64_t have = t.dims.size() == 1 ? t.dims[0] : t.rows();
      if (have != rows.size()) {
        return Status::invalid_argument(meta.name() + ": tensor " + t.name + " has " + std::to_string(have) +
                                        " rows; the config implies " + std::to_string(rows.size()));
      }
      p.rows_from = rows;
    }
    plan.tensors.push_back(std::move(p));
  }
  if (scaling) c["rope_scaling"] = *scaling;
  plan.generation_config_json = generation_config(tokenizer);
  return plan;
}

}  // namespace mlxpack
