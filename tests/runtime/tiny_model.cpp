#include "tests/runtime/tiny_model.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "convert/float_convert.h"
#include "format/safetensors.h"
#include "tests/support/test_support.h"

namespace mlxpack::test {

namespace {

using nlohmann::json;

struct Builder {
  const TinySpec& spec;
  std::mt19937_64 rng;
  std::vector<SafetensorsWriteTensor> out;
  Tensors floats;

  void add(const std::string& name, std::vector<uint64_t> shape, double scale, double offset = 0.0) {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<float> v(n);
    std::string bytes(n * dtype_size_bytes(spec.dtype), '\0');
    for (uint64_t i = 0; i < n; ++i) {
      store_float(reinterpret_cast<uint8_t*>(bytes.data()), spec.dtype, i, static_cast<float>(offset + scale * u(rng)));
      v[i] = load_float(reinterpret_cast<const uint8_t*>(bytes.data()), spec.dtype, i);
    }
    floats[name] = std::move(v);
    out.push_back({name, spec.dtype, std::move(shape), std::move(bytes)});
  }
};

bool has_qkv_bias(const TinySpec& s) { return s.model_type == "qwen2" || s.model_type == "phi" || s.attention_bias; }
bool is_gemma(const TinySpec& s) { return s.model_type == "gemma2" || s.model_type == "gemma3_text"; }
bool is_moe(const TinySpec& s) { return s.model_type == "mixtral" || s.model_type == "qwen3_moe"; }
bool has_qk_norm(const TinySpec& s) {
  return s.model_type == "qwen3" || s.model_type == "gemma3_text" || s.model_type == "qwen3_moe";
}
// Gemma's norms multiply by 1 + w: weights near 0, the others near 1.
double norm_offset(const TinySpec& s) { return is_gemma(s) ? 0.0 : 1.0; }

// A norm: weight, and for Phi-2's LayerNorm a bias.
void add_norm(Builder& b, const std::string& name, uint64_t n) {
  b.add(name + ".weight", {n}, 0.1, norm_offset(b.spec));
  if (b.spec.model_type == "phi") b.add(name + ".bias", {n}, 0.1);
}

// The experts of one sparse layer, per expert (Hugging Face) or stacked
// along a first dimension (mlx-lm's switch_mlp; the floats kept per expert
// under the Hugging Face names, which the reference reads).
void add_experts(Builder& b, const std::string& p, uint64_t h) {
  const TinySpec& s = b.spec;
  const std::string moe = p + (s.model_type == "mixtral" ? ".block_sparse_moe" : ".mlp");
  const uint64_t e_inter = s.expert_size > 0 ? s.expert_size : s.intermediate;
  b.add(moe + ".gate.weight", {uint64_t(s.experts), h}, 1.0 / std::sqrt(double(h)));
  const bool mixtral = s.model_type == "mixtral";
  const std::string names[3][2] = {{mixtral ? "w1" : "gate_proj", "gate_proj"},
                                   {mixtral ? "w3" : "up_proj", "up_proj"},
                                   {mixtral ? "w2" : "down_proj", "down_proj"}};
  for (int j = 0; j < 3; ++j) {
    const bool down = j == 2;
    const std::vector<uint64_t> shape = down ? std::vector<uint64_t>{h, e_inter} : std::vector<uint64_t>{e_inter, h};
    const double scale = 1.0 / std::sqrt(double(down ? e_inter : h));
    for (int e = 0; e < s.experts; ++e) b.add(moe + ".experts." + std::to_string(e) + "." + names[j][0] + ".weight", shape, scale);
    if (!s.stacked_experts) continue;
    // Move the per-expert tensors into one stacked tensor.
    SafetensorsWriteTensor stacked{moe + ".switch_mlp." + names[j][1] + ".weight", s.dtype,
                                   {uint64_t(s.experts), shape[0], shape[1]}, ""};
    for (int e = 0; e < s.experts; ++e) {
      const std::string name = moe + ".experts." + std::to_string(e) + "." + names[j][0] + ".weight";
      auto it = std::find_if(b.out.begin(), b.out.end(), [&](const auto& t) { return t.name == name; });
      stacked.bytes += it->bytes;
      b.out.erase(it);
    }
    b.out.push_back(std::move(stacked));
  }
}

}  // namespace

bool layer_is_local(const TinySpec& s, int layer) {
  if (s.model_type == "gemma2") return layer % 2 == 0;
  if (s.model_type == "gemma3_text") return (layer + 1) % s.sliding_window_pattern != 0;
  return s.sliding_window > 0;
}

Tensors write_lora_adapter(const std::string& dir, const Tensors& w, const std::vector<std::string>& paths, int rank,
                           double scale, DType dtype, uint64_t seed) {
  TinySpec spec;
  spec.dtype = dtype;
  Builder b{spec, std::mt19937_64(seed), {}, {}};
  Tensors fused = w;
  for (const std::string& path : paths) {
    std::vector<float>& weight = fused.at(path + ".weight");
    // The layer's shape from the tensor's size and its input dimension,
    // which is the hidden size (64) except for o_proj/down_proj/fc2.
    const bool wide_in = path.find("down_proj") != std::string::npos || path.find("fc2") != std::string::npos;
    const uint64_t in = wide_in ? 128 : 64, out = weight.size() / in;
    b.add(path + ".lora_a", {in, uint64_t(rank)}, 1.0 / std::sqrt(double(in)));
    b.add(path + ".lora_b", {uint64_t(rank), out}, 0.5);
    const std::vector<float>& a = b.floats.at(path + ".lora_a");
    const std::vector<float>& bb = b.floats.at(path + ".lora_b");
    for (uint64_t o = 0; o < out; ++o) {
      for (uint64_t i = 0; i < in; ++i) {
        double d = 0;
        for (int r = 0; r < rank; ++r) d += double(a[i * rank + r]) * bb[r * out + o];
        weight[o * in + i] = float(weight[o * in + i] + scale * d);
      }
    }
  }
  write_file(dir + "/adapters.safetensors", encode_safetensors(b.out, {}));
  json config = {{"fine_tune_type", "lora"},
                 {"num_layers", 2},
                 {"lora_parameters", {{"rank", rank}, {"scale", scale}, {"dropout", 0.0}}}};
  write_file(dir + "/adapter_config.json", config.dump(2));
  return fused;
}

bool layer_has_rope(const TinySpec& s, int layer) {
  return s.model_type != "smollm3" || s.no_rope_interval <= 0 || (layer + 1) % s.no_rope_interval != 0;
}

bool layer_is_sparse(const TinySpec& s, int layer) {
  return is_moe(s) && std::find(s.mlp_only_layers.begin(), s.mlp_only_layers.end(), layer) == s.mlp_only_layers.end();
}

Tensors write_tiny_model(const std::string& dir, const TinySpec& s) {
  Builder b{s, std::mt19937_64(s.seed), {}, {}};
  const uint64_t h = s.hidden, inter = s.intermediate, q = uint64_t(s.heads) * s.head_dim,
                 kv = uint64_t(s.kv_heads) * s.head_dim;
  const double in_scale = 1.0 / std::sqrt(double(h));
  const bool phi = s.model_type == "phi";
  b.add("model.embed_tokens.weight", {uint64_t(s.vocab), h}, is_gemma(s) ? in_scale : 1.0);
  add_norm(b, phi ? "model.final_layernorm" : "model.norm", h);
  if (!s.tie_embeddings) b.add("lm_head.weight", {uint64_t(s.vocab), h}, in_scale);
  if (phi) b.add("lm_head.bias", {uint64_t(s.vocab)}, 0.1);
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    add_norm(b, p + ".input_layernorm", h);
    if (!phi) add_norm(b, p + ".post_attention_layernorm", h);
    if (is_gemma(s)) {
      add_norm(b, p + ".pre_feedforward_layernorm", h);
      add_norm(b, p + ".post_feedforward_layernorm", h);
    }
    if (s.model_type == "phi3") {
      b.add(p + ".self_attn.qkv_proj.weight", {q + 2 * kv, h}, in_scale);
      b.add(p + ".mlp.gate_up_proj.weight", {2 * inter, h}, in_scale);
    } else {
      b.add(p + ".self_attn.q_proj.weight", {q, h}, in_scale);
      b.add(p + ".self_attn.k_proj.weight", {kv, h}, in_scale);
      b.add(p + ".self_attn.v_proj.weight", {kv, h}, in_scale);
      if (has_qkv_bias(s)) {
        b.add(p + ".self_attn.q_proj.bias", {q}, 0.1);
        b.add(p + ".self_attn.k_proj.bias", {kv}, 0.1);
        b.add(p + ".self_attn.v_proj.bias", {kv}, 0.1);
      }
      if (phi) {
        b.add(p + ".mlp.fc1.weight", {inter, h}, in_scale);
        b.add(p + ".mlp.fc1.bias", {inter}, 0.1);
      } else if (layer_is_sparse(s, l)) {
        add_experts(b, p, h);
      } else {
        b.add(p + ".mlp.gate_proj.weight", {inter, h}, in_scale);
        b.add(p + ".mlp.up_proj.weight", {inter, h}, in_scale);
      }
    }
    const std::string o = p + (phi ? ".self_attn.dense" : ".self_attn.o_proj");
    if (s.attention_bias || phi) b.add(o + ".bias", {h}, 0.1);
    if (has_qk_norm(s)) {
      add_norm(b, p + ".self_attn.q_norm", s.head_dim);
      add_norm(b, p + ".self_attn.k_norm", s.head_dim);
    }
    b.add(o + ".weight", {h, q}, 1.0 / std::sqrt(double(q)));
    if (phi) {
      b.add(p + ".mlp.fc2.weight", {h, inter}, 1.0 / std::sqrt(double(inter)));
      b.add(p + ".mlp.fc2.bias", {h}, 0.1);
    } else if (!layer_is_sparse(s, l)) {
      b.add(p + ".mlp.down_proj.weight", {h, inter}, 1.0 / std::sqrt(double(inter)));
    }
  }
  write_file(dir + "/model.safetensors", encode_safetensors(b.out, {{"format", "pt"}}));

  json config = {{"model_type", s.model_type},
                 {"hidden_size", s.hidden},
                 {"intermediate_size", s.intermediate},
                 {"num_hidden_layers", s.layers},
                 {"num_attention_heads", s.heads},
                 {"num_key_value_heads", s.kv_heads},
                 {"head_dim", s.head_dim},
                 {"vocab_size", s.vocab},
                 {"rms_norm_eps", 1e-6},
                 {"rope_theta", 10000.0},
                 {"max_position_embeddings", s.max_positions},
                 {"tie_word_embeddings", s.tie_embeddings},
                 {"attention_bias", s.attention_bias},
                 {"bos_token_id", 1},
                 {"eos_token_id", 2}};
  if (s.sliding_window > 0 && !is_gemma(s)) {
    config["sliding_window"] = s.sliding_window;
    config["use_sliding_window"] = true;
  }
  if (s.llama3_rope) {
    config["rope_scaling"] = {{"rope_type", "llama3"},
                              {"factor", 8.0},
                              {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0},
                              {"original_max_position_embeddings", 64}};
  }
  if (s.partial_rotary != 1.0) config["partial_rotary_factor"] = s.partial_rotary;
  config["rope_theta"] = s.rope_theta;
  if (phi) {
    config.erase("rms_norm_eps");
    config["layer_norm_eps"] = 1e-5;
    config["hidden_act"] = "gelu_new";
    config["qk_layernorm"] = false;
  }
  if (is_gemma(s)) {
    config["hidden_activation"] = "gelu_pytorch_tanh";
    config["sliding_window"] = s.sliding_window;
    config["query_pre_attn_scalar"] = s.query_pre_attn_scalar > 0 ? s.query_pre_attn_scalar : double(s.head_dim);
    config["attn_logit_softcapping"] = s.attn_softcap > 0 ? json(s.attn_softcap) : json(nullptr);
    config["final_logit_softcapping"] = s.final_softcap > 0 ? json(s.final_softcap) : json(nullptr);
    if (s.layer_types) {
      json types = json::array();
      for (int l = 0; l < s.layers; ++l) types.push_back(layer_is_local(s, l) ? "sliding_attention" : "full_attention");
      config["layer_types"] = types;
    } else if (s.sliding_window_pattern > 0) {
      config["sliding_window_pattern"] = s.sliding_window_pattern;
    }
    if (s.local_rope_theta > 0) config["rope_local_base_freq"] = s.local_rope_theta;
  }
  if (s.model_type == "smollm3") {
    json flags = json::array();
    for (int l = 0; l < s.layers; ++l) flags.push_back(layer_has_rope(s, l) ? 1 : 0);
    config["no_rope_layers"] = flags;
  }
  if (s.linear_rope_factor > 0) config["rope_scaling"] = {{"rope_type", "linear"}, {"factor", s.linear_rope_factor}};
  if (s.model_type == "mixtral") {
    config["num_local_experts"] = s.experts;
    config["num_experts_per_tok"] = s.experts_per_token;
  } else if (s.model_type == "qwen3_moe") {
    config["num_experts"] = s.experts;
    config["num_experts_per_tok"] = s.experts_per_token;
    config["moe_intermediate_size"] = s.expert_size > 0 ? s.expert_size : s.intermediate;
    config["norm_topk_prob"] = s.norm_topk_prob;
    config["decoder_sparse_step"] = 1;
    config["mlp_only_layers"] = s.mlp_only_layers;
  }
  write_file(dir + "/config.json", config.dump(2));
  write_file(dir + "/generation_config.json", json({{"eos_token_id", 2}}).dump());

  // A character-level tokenizer: the printable ASCII letters and space.
  json vocab = json::object();
  vocab["<unk>"] = 0;
  vocab["<s>"] = 1;
  vocab["</s>"] = 2;
  int id = 3;
  for (char c = 'a'; c <= 'z' && id < s.vocab; ++c) vocab[std::string(1, c)] = id++;
  if (id < s.vocab) vocab[" "] = id++;
  json tok = {{"version", "1.0"},
              {"added_tokens",
               json::array({{{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                            {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", nullptr},
              {"post_processor", nullptr},
              {"decoder", nullptr},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}, {"unk_token", "<unk>"}}}};
  write_file(dir + "/tokenizer.json", tok.dump());
  return b.floats;
}

namespace {

using Vec = std::vector<double>;

Vec matvec(const std::vector<float>& w, int rows, int cols, const Vec& x, const std::vector<float>* bias = nullptr) {
  Vec y(rows);
  for (int r = 0; r < rows; ++r) {
    double s = bias ? (*bias)[r] : 0.0;
    for (int c = 0; c < cols; ++c) s += double(w[size_t(r) * cols + c]) * x[c];
    y[r] = s;
  }
  return y;
}

// The norm named `name` over x[offset, offset + n): RMSNorm (Gemma's with
// 1 + w) or Phi-2's LayerNorm with its bias.
Vec norm(const TinySpec& s, const Tensors& w, const std::string& name, const Vec& x, size_t offset, size_t n) {
  const std::vector<float>& g = w.at(name + ".weight");
  Vec y(n);
  if (s.model_type == "phi") {
    const std::vector<float>& bias = w.at(name + ".bias");
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; ++i) mean += x[offset + i] / n;
    for (size_t i = 0; i < n; ++i) var += (x[offset + i] - mean) * (x[offset + i] - mean) / n;
    for (size_t i = 0; i < n; ++i) y[i] = (x[offset + i] - mean) / std::sqrt(var + 1e-5) * g[i] + bias[i];
    return y;
  }
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[offset + i] * x[offset + i];
  const double inv = 1.0 / std::sqrt(ss / n + 1e-6);
  for (size_t i = 0; i < n; ++i) y[i] = x[offset + i] * inv * (is_gemma(s) ? 1.0 + g[i] : double(g[i]));
  return y;
}

double gelu_tanh(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
double silu(double x) { return x / (1.0 + std::exp(-x)); }

// transformers: default inverse frequencies (rope_theta, or Gemma 3's
// rope_local_base_freq on local layers), then the linear or llama3 scaling
// (global layers only).
Vec inverse_frequencies(const TinySpec& s, bool local) {
  const bool local_base = local && s.model_type == "gemma3_text" && s.local_rope_theta > 0;
  const double theta = local_base ? s.local_rope_theta : s.rope_theta;
  const int dim = int(s.head_dim * s.partial_rotary) / 2 * 2;
  Vec inv(dim / 2);
  for (int i = 0; i < dim / 2; ++i) inv[i] = 1.0 / std::pow(theta, double(2 * i) / dim);
  if (s.linear_rope_factor > 0 && !local_base) {
    for (double& f : inv) f /= s.linear_rope_factor;
  }
  if (s.llama3_rope) {
    const double factor = 8, low = 1, high = 4, old = 64;
    for (double& f : inv) {
      const double wavelen = 2 * M_PI / f;
      if (wavelen > old / low) {
        f = f / factor;
      } else if (wavelen >= old / high) {
        const double smooth = (old / wavelen - low) / (high - low);
        f = (1 - smooth) * f / factor + smooth * f;
      }
    }
  }
  return inv;
}

// rotate_half over the first `dim` values of one head.
void rope(double* v, const Vec& inv, int pos) {
  const size_t half = inv.size();
  for (size_t i = 0; i < half; ++i) {
    const double c = std::cos(pos * inv[i]), sn = std::sin(pos * inv[i]);
    const double a = v[i], b = v[i + half];
    v[i] = a * c - b * sn;
    v[i + half] = b * c + a * sn;
  }
}

// A gated MLP: down(act(gate(h)) * up(h)).
Vec gated_mlp(const TinySpec& s, const std::vector<float>& gate, const std::vector<float>& up,
              const std::vector<float>& down, int inter, const Vec& hn) {
  const Vec g = matvec(gate, inter, s.hidden, hn), u = matvec(up, inter, s.hidden, hn);
  Vec act(inter);
  for (int i = 0; i < inter; ++i) act[i] = (is_gemma(s) ? gelu_tanh(g[i]) : silu(g[i])) * u[i];
  return matvec(down, s.hidden, inter, act);
}

// transformers' MixtralSparseMoeBlock / Qwen3MoeSparseMoeBlock: softmax of
// the router logits, the top k, renormalized (Mixtral; Qwen3-MoE with
// norm_topk_prob), the experts' outputs weighted by them.
Vec sparse_mlp(const TinySpec& s, const Tensors& w, const std::string& p, const Vec& hn) {
  const bool mixtral = s.model_type == "mixtral";
  const std::string moe = p + (mixtral ? ".block_sparse_moe" : ".mlp");
  const int inter = s.expert_size > 0 ? s.expert_size : s.intermediate;
  Vec probs = matvec(w.at(moe + ".gate.weight"), s.experts, s.hidden, hn);
  const double mx = *std::max_element(probs.begin(), probs.end());
  double total = 0;
  for (double& v : probs) total += (v = std::exp(v - mx));
  for (double& v : probs) v /= total;
  std::vector<int> order(s.experts);
  for (int e = 0; e < s.experts; ++e) order[e] = e;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  double chosen = 0;
  for (int i = 0; i < s.experts_per_token; ++i) chosen += probs[order[i]];
  const bool renormalize = mixtral || s.norm_topk_prob;
  Vec out(s.hidden, 0.0);
  for (int i = 0; i < s.experts_per_token; ++i) {
    const int e = order[i];
    const std::string x = moe + ".experts." + std::to_string(e) + ".";
    const Vec y = gated_mlp(s, w.at(x + (mixtral ? "w1" : "gate_proj") + ".weight"),
                            w.at(x + (mixtral ? "w3" : "up_proj") + ".weight"),
                            w.at(x + (mixtral ? "w2" : "down_proj") + ".weight"), inter, hn);
    const double weight = probs[e] / (renormalize ? chosen : 1.0);
    for (int j = 0; j < s.hidden; ++j) out[j] += weight * y[j];
  }
  return out;
}

double soft_cap(double x, double cap) { return cap > 0 ? cap * std::tanh(x / cap) : x; }

}  // namespace

std::vector<std::vector<double>> reference_logits(const TinySpec& s, const Tensors& w,
                                                  const std::vector<int>& tokens) {
  const int n = int(tokens.size()), h = s.hidden, hd = s.head_dim, q_dim = s.heads * hd, kv_dim = s.kv_heads * hd;
  const bool phi = s.model_type == "phi", gemma = is_gemma(s);
  auto W = [&](const std::string& name) -> const std::vector<float>& { return w.at(name); };
  // Gemma multiplies the embeddings by sqrt(hidden) rounded to their dtype.
  double embed_scale = 1.0;
  if (gemma) {
    uint8_t bytes[4];
    store_float(bytes, s.dtype, 0, float(std::sqrt(double(h))));
    embed_scale = load_float(bytes, s.dtype, 0);
  }
  std::vector<Vec> x(n);
  for (int t = 0; t < n; ++t) {
    const auto& e = W("model.embed_tokens.weight");
    x[t].assign(e.begin() + size_t(tokens[t]) * h, e.begin() + size_t(tokens[t] + 1) * h);
    for (double& v : x[t]) v *= embed_scale;
  }
  const double scale = 1.0 / std::sqrt(s.query_pre_attn_scalar > 0 ? s.query_pre_attn_scalar : double(hd));
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    const bool local = layer_is_local(s, l);
    const Vec inv = inverse_frequencies(s, local);
    std::vector<Vec> q(n), k(n), v(n), hn(n);
    for (int t = 0; t < n; ++t) {
      hn[t] = norm(s, w, p + ".input_layernorm", x[t], 0, h);
      if (s.model_type == "phi3") {
        const Vec qkv = matvec(W(p + ".self_attn.qkv_proj.weight"), q_dim + 2 * kv_dim, h, hn[t]);
        q[t].assign(qkv.begin(), qkv.begin() + q_dim);
        k[t].assign(qkv.begin() + q_dim, qkv.begin() + q_dim + kv_dim);
        v[t].assign(qkv.begin() + q_dim + kv_dim, qkv.end());
      } else {
        const bool bias = has_qkv_bias(s);
        q[t] = matvec(W(p + ".self_attn.q_proj.weight"), q_dim, h, hn[t], bias ? &W(p + ".self_attn.q_proj.bias") : nullptr);
        k[t] = matvec(W(p + ".self_attn.k_proj.weight"), kv_dim, h, hn[t], bias ? &W(p + ".self_attn.k_proj.bias") : nullptr);
        v[t] = matvec(W(p + ".self_attn.v_proj.weight"), kv_dim, h, hn[t], bias ? &W(p + ".self_attn.v_proj.bias") : nullptr);
      }
      if (has_qk_norm(s)) {
        for (int i = 0; i < s.heads; ++i) {
          const Vec nq = norm(s, w, p + ".self_attn.q_norm", q[t], size_t(i) * hd, hd);
          std::copy(nq.begin(), nq.end(), q[t].begin() + size_t(i) * hd);
        }
        for (int i = 0; i < s.kv_heads; ++i) {
          const Vec nk = norm(s, w, p + ".self_attn.k_norm", k[t], size_t(i) * hd, hd);
          std::copy(nk.begin(), nk.end(), k[t].begin() + size_t(i) * hd);
        }
      }
      if (layer_has_rope(s, l)) {  // SmolLM3Attention: use_rope = no_rope_layers[layer]
        for (int i = 0; i < s.heads; ++i) rope(&q[t][size_t(i) * hd], inv, t);
        for (int i = 0; i < s.kv_heads; ++i) rope(&k[t][size_t(i) * hd], inv, t);
      }
    }
    for (int t = 0; t < n; ++t) {
      Vec attn(q_dim, 0.0);
      for (int i = 0; i < s.heads; ++i) {
        const int g = i / (s.heads / s.kv_heads);
        const int lo = local && s.sliding_window > 0 ? std::max(0, t - s.sliding_window + 1) : 0;
        Vec score(t + 1, -INFINITY);
        double mx = -INFINITY;
        for (int u = lo; u <= t; ++u) {
          double d = 0;
          for (int j = 0; j < hd; ++j) d += q[t][size_t(i) * hd + j] * k[u][size_t(g) * hd + j];
          score[u] = soft_cap(d * scale, s.attn_softcap);
          mx = std::max(mx, score[u]);
        }
        double total = 0;
        for (int u = lo; u <= t; ++u) total += std::exp(score[u] - mx);
        for (int u = lo; u <= t; ++u) {
          const double pr = std::exp(score[u] - mx) / total;
          for (int j = 0; j < hd; ++j) attn[size_t(i) * hd + j] += pr * v[u][size_t(g) * hd + j];
        }
      }
      const std::string o_name = p + (phi ? ".self_attn.dense" : ".self_attn.o_proj");
      Vec o = matvec(W(o_name + ".weight"), h, q_dim, attn, s.attention_bias || phi ? &W(o_name + ".bias") : nullptr);
      if (phi) {  // PhiDecoderLayer: x + attn(ln(x)) + mlp(ln(x))
        Vec f = matvec(W(p + ".mlp.fc1.weight"), s.intermediate, h, hn[t], &W(p + ".mlp.fc1.bias"));
        for (double& a : f) a = gelu_tanh(a);
        const Vec m = matvec(W(p + ".mlp.fc2.weight"), h, s.intermediate, f, &W(p + ".mlp.fc2.bias"));
        for (int i = 0; i < h; ++i) x[t][i] += o[i] + m[i];
        continue;
      }
      if (gemma) o = norm(s, w, p + ".post_attention_layernorm", o, 0, h);
      for (int i = 0; i < h; ++i) x[t][i] += o[i];
      const Vec h2 = norm(s, w, p + (gemma ? ".pre_feedforward_layernorm" : ".post_attention_layernorm"), x[t], 0, h);
      Vec m;
      if (layer_is_sparse(s, l)) {
        m = sparse_mlp(s, w, p, h2);
      } else if (s.model_type == "phi3") {
        const Vec gu = matvec(W(p + ".mlp.gate_up_proj.weight"), 2 * s.intermediate, h, h2);
        Vec act(s.intermediate);
        for (int i = 0; i < s.intermediate; ++i) act[i] = silu(gu[i]) * gu[s.intermediate + i];
        m = matvec(W(p + ".mlp.down_proj.weight"), h, s.intermediate, act);
      } else {
        m = gated_mlp(s, W(p + ".mlp.gate_proj.weight"), W(p + ".mlp.up_proj.weight"), W(p + ".mlp.down_proj.weight"),
                      s.intermediate, h2);
      }
      if (gemma) m = norm(s, w, p + ".post_feedforward_layernorm", m, 0, h);
      for (int i = 0; i < h; ++i) x[t][i] += m[i];
    }
  }
  std::vector<Vec> logits(n);
  const auto& head = s.tie_embeddings ? W("model.embed_tokens.weight") : W("lm_head.weight");
  for (int t = 0; t < n; ++t) {
    logits[t] = matvec(head, s.vocab, h, norm(s, w, phi ? "model.final_layernorm" : "model.norm", x[t], 0, h),
                       phi ? &W("lm_head.bias") : nullptr);
    for (double& v : logits[t]) v = soft_cap(v, s.final_softcap);
  }
  return logits;
}

}  // namespace mlxpack::test
