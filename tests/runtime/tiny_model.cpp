#include "tests/runtime/tiny_model.h"

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

bool has_qkv_bias(const TinySpec& s) { return s.model_type == "qwen2" || s.attention_bias; }

}  // namespace

Tensors write_tiny_model(const std::string& dir, const TinySpec& s) {
  Builder b{s, std::mt19937_64(s.seed), {}, {}};
  const uint64_t h = s.hidden, inter = s.intermediate, q = uint64_t(s.heads) * s.head_dim,
                 kv = uint64_t(s.kv_heads) * s.head_dim;
  const double in_scale = 1.0 / std::sqrt(double(h));
  b.add("model.embed_tokens.weight", {uint64_t(s.vocab), h}, 1.0);
  b.add("model.norm.weight", {h}, 0.1, 1.0);
  if (!s.tie_embeddings) b.add("lm_head.weight", {uint64_t(s.vocab), h}, in_scale);
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    b.add(p + ".input_layernorm.weight", {h}, 0.1, 1.0);
    b.add(p + ".post_attention_layernorm.weight", {h}, 0.1, 1.0);
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
      b.add(p + ".mlp.gate_proj.weight", {inter, h}, in_scale);
      b.add(p + ".mlp.up_proj.weight", {inter, h}, in_scale);
    }
    if (s.attention_bias) b.add(p + ".self_attn.o_proj.bias", {h}, 0.1);
    if (s.model_type == "qwen3") {
      b.add(p + ".self_attn.q_norm.weight", {uint64_t(s.head_dim)}, 0.1, 1.0);
      b.add(p + ".self_attn.k_norm.weight", {uint64_t(s.head_dim)}, 0.1, 1.0);
    }
    b.add(p + ".self_attn.o_proj.weight", {h, q}, 1.0 / std::sqrt(double(q)));
    b.add(p + ".mlp.down_proj.weight", {h, inter}, 1.0 / std::sqrt(double(inter)));
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
  if (s.sliding_window > 0) {
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

Vec rms_norm(const Vec& x, const std::vector<float>& w, size_t offset, size_t n, double eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[offset + i] * x[offset + i];
  const double inv = 1.0 / std::sqrt(ss / n + eps);
  Vec y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[offset + i] * inv * w[i];
  return y;
}

// transformers: default inverse frequencies, then _compute_llama3_parameters.
Vec inverse_frequencies(const TinySpec& s) {
  const int dim = int(s.head_dim * s.partial_rotary) / 2 * 2;
  Vec inv(dim / 2);
  for (int i = 0; i < dim / 2; ++i) inv[i] = 1.0 / std::pow(10000.0, double(2 * i) / dim);
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

}  // namespace

std::vector<std::vector<double>> reference_logits(const TinySpec& s, const Tensors& w,
                                                  const std::vector<int>& tokens) {
  const int n = int(tokens.size()), h = s.hidden, hd = s.head_dim, q_dim = s.heads * hd, kv_dim = s.kv_heads * hd;
  const double eps = 1e-6;
  const Vec inv = inverse_frequencies(s);
  auto W = [&](const std::string& name) -> const std::vector<float>& { return w.at(name); };
  std::vector<Vec> x(n);
  for (int t = 0; t < n; ++t) {
    const auto& e = W("model.embed_tokens.weight");
    x[t].assign(e.begin() + size_t(tokens[t]) * h, e.begin() + size_t(tokens[t] + 1) * h);
  }
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    std::vector<Vec> q(n), k(n), v(n);
    for (int t = 0; t < n; ++t) {
      const Vec hn = rms_norm(x[t], W(p + ".input_layernorm.weight"), 0, h, eps);
      if (s.model_type == "phi3") {
        const Vec qkv = matvec(W(p + ".self_attn.qkv_proj.weight"), q_dim + 2 * kv_dim, h, hn);
        q[t].assign(qkv.begin(), qkv.begin() + q_dim);
        k[t].assign(qkv.begin() + q_dim, qkv.begin() + q_dim + kv_dim);
        v[t].assign(qkv.begin() + q_dim + kv_dim, qkv.end());
      } else {
        const bool bias = has_qkv_bias(s);
        q[t] = matvec(W(p + ".self_attn.q_proj.weight"), q_dim, h, hn, bias ? &W(p + ".self_attn.q_proj.bias") : nullptr);
        k[t] = matvec(W(p + ".self_attn.k_proj.weight"), kv_dim, h, hn, bias ? &W(p + ".self_attn.k_proj.bias") : nullptr);
        v[t] = matvec(W(p + ".self_attn.v_proj.weight"), kv_dim, h, hn, bias ? &W(p + ".self_attn.v_proj.bias") : nullptr);
      }
      if (s.model_type == "qwen3") {
        for (int i = 0; i < s.heads; ++i) {
          const Vec nq = rms_norm(q[t], W(p + ".self_attn.q_norm.weight"), size_t(i) * hd, hd, eps);
          std::copy(nq.begin(), nq.end(), q[t].begin() + size_t(i) * hd);
        }
        for (int i = 0; i < s.kv_heads; ++i) {
          const Vec nk = rms_norm(k[t], W(p + ".self_attn.k_norm.weight"), size_t(i) * hd, hd, eps);
          std::copy(nk.begin(), nk.end(), k[t].begin() + size_t(i) * hd);
        }
      }
      for (int i = 0; i < s.heads; ++i) rope(&q[t][size_t(i) * hd], inv, t);
      for (int i = 0; i < s.kv_heads; ++i) rope(&k[t][size_t(i) * hd], inv, t);
    }
    for (int t = 0; t < n; ++t) {
      Vec attn(q_dim, 0.0);
      for (int i = 0; i < s.heads; ++i) {
        const int g = i / (s.heads / s.kv_heads);
        const int lo = s.sliding_window > 0 ? std::max(0, t - s.sliding_window + 1) : 0;
        Vec score(t + 1, -INFINITY);
        double mx = -INFINITY;
        for (int u = lo; u <= t; ++u) {
          double d = 0;
          for (int j = 0; j < hd; ++j) d += q[t][size_t(i) * hd + j] * k[u][size_t(g) * hd + j];
          score[u] = d / std::sqrt(double(hd));
          mx = std::max(mx, score[u]);
        }
        double total = 0;
        for (int u = lo; u <= t; ++u) total += std::exp(score[u] - mx);
        for (int u = lo; u <= t; ++u) {
          const double pr = std::exp(score[u] - mx) / total;
          for (int j = 0; j < hd; ++j) attn[size_t(i) * hd + j] += pr * v[u][size_t(g) * hd + j];
        }
      }
      const Vec o = matvec(W(p + ".self_attn.o_proj.weight"), h, q_dim, attn,
                           s.attention_bias ? &W(p + ".self_attn.o_proj.bias") : nullptr);
      for (int i = 0; i < h; ++i) x[t][i] += o[i];
      const Vec hn = rms_norm(x[t], W(p + ".post_attention_layernorm.weight"), 0, h, eps);
      Vec gate, up;
      if (s.model_type == "phi3") {
        const Vec gu = matvec(W(p + ".mlp.gate_up_proj.weight"), 2 * s.intermediate, h, hn);
        gate.assign(gu.begin(), gu.begin() + s.intermediate);
        up.assign(gu.begin() + s.intermediate, gu.end());
      } else {
        gate = matvec(W(p + ".mlp.gate_proj.weight"), s.intermediate, h, hn);
        up = matvec(W(p + ".mlp.up_proj.weight"), s.intermediate, h, hn);
      }
      Vec act(s.intermediate);
      for (int i = 0; i < s.intermediate; ++i) act[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
      const Vec down = matvec(W(p + ".mlp.down_proj.weight"), h, s.intermediate, act);
      for (int i = 0; i < h; ++i) x[t][i] += down[i];
    }
  }
  std::vector<Vec> logits(n);
  const auto& head = s.tie_embeddings ? W("model.embed_tokens.weight") : W("lm_head.weight");
  for (int t = 0; t < n; ++t) logits[t] = matvec(head, s.vocab, h, rms_norm(x[t], W("model.norm.weight"), 0, h, eps));
  return logits;
}

}  // namespace mlxpack::test
