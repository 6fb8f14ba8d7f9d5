#include "runtime/engine/transformer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

#include "format/half.h"

namespace mlxpack::engine {

namespace {

using Clock = std::chrono::steady_clock;
using kernels::Activations;
using kernels::Weight;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// y = norm(x) over n values: RMSNorm (the weight already 1 + w for
// Gemma), or LayerNorm when the norm has a bias.
void normalize(const Norm& norm, const float* x, float* y, int n, float eps) {
  const float* w = norm.weight.data();
  if (norm.bias.empty()) {
    double ss = 0.0;
    for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
    for (int i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
    return;
  }
  double sum = 0.0, ss = 0.0;
  for (int i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / n;
  for (int i = 0; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
  const float m = static_cast<float>(mean);
  for (int i = 0; i < n; ++i) y[i] = (x[i] - m) * scale * w[i] + norm.bias[i];
}

float activate(Activation a, float x) {
  switch (a) {
    case Activation::kSilu: return x / (1.0f + std::exp(-x));
    case Activation::kGeluTanh: {  // transformers' gelu_new / gelu_pytorch_tanh
      const float k = 0.7978845608028654f;  // sqrt(2 / pi)
      return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
    }
    case Activation::kGelu: return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
  }
  return x;
}

// out[i] = act(g[i]) * u[i], or act(g[i]) when u is null.
void activate_rows(const kernels::KernelTable* kt, Activation a, const float* g, const float* u, float* out, int n) {
  if (a == Activation::kSilu && u) {
    kt->silu_mul(g, u, out, n);
    return;
  }
  for (int i = 0; i < n; ++i) out[i] = activate(a, g[i]) * (u ? u[i] : 1.0f);
}

// x -> cap * tanh(x / cap)
void soft_cap(float* x, int n, float cap) {
  for (int i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

// The embedding scale as the model's dtype holds it: transformers rounds
// sqrt(hidden_size) to the embedding's dtype before multiplying (Gemma).
float embedding_scale(const ModelConfig& c, kernels::ParamKind embed_kind) {
  if (!c.arch.scale_embeddings) return 1.0f;
  const float s = static_cast<float>(std::sqrt(static_cast<double>(c.hidden_size)));
  if (embed_kind == kernels::ParamKind::kBF16) return bf16_to_f32(f32_to_bf16(s));
  if (embed_kind == kernels::ParamKind::kF16) return f16_to_f32(f32_to_f16(s));
  return s;
}


// A projection with its own input and output stride (an expert's share).
struct BatchJob {
  const Weight* w;
  const Activations* a;
  float* y;
  int ldy;
};

// Every job's rows as one range split across the pool.
void run_batch_jobs(ThreadPool* pool, const std::vector<BatchJob>& jobs) {
  int total = 0;
  int64_t cost = 0;
  for (const BatchJob& j : jobs) {
    total += j.w->rows;
    cost += int64_t{j.w->rows} * j.w->cols * j.a->m();
  }
  if (total == 0) return;
  pool->parallel_for(total, 16, cost / total, [&](int begin, int end) {
    int offset = 0;
    for (const BatchJob& j : jobs) {
      const int lo = std::max(begin, offset), hi = std::min(end, offset + j.w->rows);
      if (lo < hi) kernels::linear_rows(*j.w, *j.a, j.y, j.ldy, lo - offset, hi - offset);
      offset += j.w->rows;
    }
  });
}


// Writes rows [0, n) of x (k floats each) with row(t), then quantizes them
// into act, rows spread over the pool: the kernels' input for the next
// projections, made on every thread instead of between parallel sections.
template <typename RowFn>
void fill_and_quantize(ThreadPool* pool, Activations& act, const float* x, int n, int k, RowFn row) {
  act.prepare(x, n, k);
  pool->parallel_for(n, 4, 4 * int64_t{k}, [&](int begin, int end) {
    for (int t = begin; t < end; ++t) row(t);
    act.quantize_rows(begin, end);
  });
}

}  // namespace

Transformer::Transformer(const ModelConfig& config, ModelWeights weights, ThreadPool* pool, int capacity,
                         int max_batch, KvType kv_type)
    : config_(config), weights_(std::move(weights)), pool_(pool), rope_(config), max_batch_(max_batch) {
  if (config_.local_rope_theta > 0) local_rope_ = std::make_unique<Rope>(config_, /*local=*/true);
  embed_scale_ = embedding_scale(config_, weights_.embed.kind);
  q_dim_ = config_.num_heads * config_.head_dim;
  kv_dim_ = config_.num_kv_heads * config_.head_dim;
  qkv_dim_ = q_dim_ + 2 * kv_dim_;
  cache_.init(config_.num_layers, capacity, config_.num_kv_heads, config_.head_dim, kv_type);
  const size_t b = static_cast<size_t>(max_batch);
  x_.resize(b * config_.hidden_size);
  h_.resize(b * config_.hidden_size);
  out_.resize(b * config_.hidden_size);
  qkv_.resize(b * qkv_dim_);
  attn_.resize(b * q_dim_);
  gate_up_.resize(b * 2 * config_.intermediate_size);
  act_.resize(b * config_.intermediate_size);
  cos_.resize(b * (rope_.rotary_dim() / 2 + 1));
  sin_.resize(b * (rope_.rotary_dim() / 2 + 1));
  if (local_rope_) {
    local_cos_.resize(cos_.size());
    local_sin_.resize(sin_.size());
  }
  if (config_.num_experts > 0) {
    router_.resize(b * config_.num_experts);
    expert_work_.resize(config_.num_experts);
  }
}

void Transformer::evict(int sinks, int count) {
  std::vector<const Rope*> ropes;
  for (int l = 0; l < config_.num_layers; ++l) ropes.push_back(config_.layer_rope[l] ? &rope(l) : nullptr);
  cache_.evict(sinks, count, ropes);
}

void Transformer::forward(const int* tokens, int n, float* logits, bool all_logits) {
  const ModelConfig& c = config_;
  const int d = c.hidden_size;
  const int start = cache_.length();
  const int half = rope_.rotary_dim() / 2;

  auto t0 = Clock::now();
  for (int t = 0; t < n; ++t) kernels::weight_row(weights_.embed, tokens[t], &x_[static_cast<size_t>(t) * d]);
  if (embed_scale_ != 1.0f) {
    for (size_t i = 0; i < size_t(n) * d; ++i) x_[i] *= embed_scale_;
  }
  for (int t = 0; t < n; ++t) {
    rope_.angles(start + t, &cos_[size_t(t) * half], &sin_[size_t(t) * half]);
    if (local_rope_) local_rope_->angles(start + t, &local_cos_[size_t(t) * half], &local_sin_[size_t(t) * half]);
  }
  times_.embedding += seconds_since(t0);

  const auto add_out = [&] {
    for (size_t i = 0; i < size_t(n) * d; ++i) x_[i] += out_[i];
  };
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = weights_.layers[l];
    t0 = Clock::now();
    attention_block(l, n, start);
    if (c.arch.block == BlockKind::kSandwich) norm_in_place(L.attn_post_norm, out_.data(), n);
    add_out();
    times_.attention += seconds_since(t0);

    t0 = Clock::now();
    // Parallel blocks feed the MLP the attention's normed input, still in
    // act_hidden_; the others normalize the updated x.
    if (c.arch.block != BlockKind::kParallel) norm_rows(L.mlp_norm, n, 0, act_hidden_);
    mlp(l, n);
    if (c.arch.block == BlockKind::kSandwich) norm_in_place(L.mlp_post_norm, out_.data(), n);
    add_out();
    times_.mlp += seconds_since(t0);
  }
  cache_.set_length(start + n);

  t0 = Clock::now();
  const int first = all_logits ? 0 : n - 1;
  norm_rows(weights_.final_norm, n - first, first, act_hidden_);
  linears(act_hidden_, c.vocab_size, {{&weights_.lm_head, logits}});
  if (c.final_softcap > 0) soft_cap(logits, (n - first) * c.vocab_size, c.final_softcap);
  times_.lm_head += seconds_since(t0);
}

void Transformer::attention_block(int l, int n, int start) {
  const ModelConfig& c = config_;
  const LayerWeights& L = weights_.layers[l];
  const int hd = c.head_dim, half = rope_.rotary_dim() / 2;
  const bool local = c.layer_local[l] && local_rope_;
  const float* cos = local ? local_cos_.data() : cos_.data();
  const float* sin = local ? local_sin_.data() : sin_.data();
  const Rope& rp = rope(l);
  norm_rows(L.attn_norm, n, 0, act_hidden_);
  if (c.arch.fused_qkv) {
    linears(act_hidden_, qkv_dim_, {{&L.qkv, qkv_.data()}});
  } else {
    linears(act_hidden_, qkv_dim_,
                {{&L.q, qkv_.data()}, {&L.k, qkv_.data() + q_dim_}, {&L.v, qkv_.data() + q_dim_ + kv_dim_}});
  }
  pool_->parallel_for(n, 4, 4 * int64_t{qkv_dim_}, [&](int begin, int end) {
    for (int t = begin; t < end; ++t) {
      float* q = &qkv_[size_t(t) * qkv_dim_];
      float* k = q + q_dim_;
      const float* v = k + kv_dim_;
      if (c.arch.qk_norm) {
        for (int h = 0; h < c.num_heads; ++h) normalize(L.q_norm, q + h * hd, q + h * hd, hd, c.norm_eps);
        for (int h = 0; h < c.num_kv_heads; ++h) normalize(L.k_norm, k + h * hd, k + h * hd, hd, c.norm_eps);
      }
      if (c.layer_rope[l]) {
        rp.apply(q, c.num_heads, hd, &cos[size_t(t) * half], &sin[size_t(t) * half]);
        rp.apply(k, c.num_kv_heads, hd, &cos[size_t(t) * half], &sin[size_t(t) * half]);
      }
      cache_.store_value(l, start + t, v);
    }
  });
  // Keys go in dimension-major (see KvCache): a batch unit by unit (rows,
  // or Q8_0's groups of rows), units spread over the pool; a decode step's
  // one key on this thread.
  const auto store_keys = [&](int u0, int u1) { cache_.store_keys(l, start, n, &qkv_[q_dim_], qkv_dim_, u0, u1); };
  if (n < 16) {
    store_keys(0, cache_.key_units());
  } else {
    pool_->parallel_for(cache_.key_units(), 16, n, store_keys);
  }
  attention(l, n, start);
  fill_and_quantize(pool_, act_attn_, attn_.data(), n, q_dim_, [](int) {});
  linears(act_attn_, c.hidden_size, {{&L.o, out_.data()}});
}

Status Transformer::attach_adapter(LoraAdapter adapter) {
  std::map<std::string, kernels::Weight*> by_path;
  for (const auto& [path, w] : linear_modules(config_, &weights_)) by_path[path] = w;
  for (const LoraModule& m : adapter.modules) {
    auto it = by_path.find(m.path);
    if (it == by_path.end()) {
      return Status::invalid_argument("the adapter adapts '" + m.path + "', which is not a linear layer of this " +
                                      config_.arch.model_type + " model (" + std::to_string(config_.num_layers) +
                                      " layers; experts are not adaptable)");
    }
    const kernels::Weight& w = *it->second;
    if (m.in != w.cols || m.out != w.rows) {
      return Status::invalid_argument("the adapter's '" + m.path + "' maps " + std::to_string(m.in) + " to " +
                                      std::to_string(m.out) + " features, but the model's layer maps " +
                                      std::to_string(w.cols) + " to " + std::to_string(w.rows));
    }
  }
  adapter_ = std::make_unique<LoraAdapter>(std::move(adapter));
  deltas_.clear();
  for (const LoraModule& m : adapter_->modules) deltas_[by_path[m.path]] = &m;
  return Status::ok();
}

// Several projections of the same input in one parallel section: rows of
// all jobs are one range split across the pool.
void Transformer::linears(const kernels::Activations& a, int ldy, std::initializer_list<LinearJob> jobs) {
  int total = 0;
  for (const LinearJob& j : jobs) total += j.w->rows;
  // A row's cost: its columns times the batch's rows.
  const int64_t row_cost = int64_t{jobs.begin()->w->cols} * a.m();
  pool_->parallel_for(total, 16, row_cost, [&](int begin, int end) {
    int offset = 0;
    for (const LinearJob& j : jobs) {
      const int lo = std::max(begin, offset), hi = std::min(end, offset + j.w->rows);
      if (lo < hi) kernels::linear_rows(*j.w, a, j.y, ldy, lo - offset, hi - offset);
      offset += j.w->rows;
    }
  });
  if (deltas_.empty()) return;
  for (const LinearJob& j : jobs) {
    auto it = deltas_.find(j.w);
    if (it != deltas_.end()) add_low_rank(*it->second, a, j.y, ldy);
  }
}

// y[t] += scale * (x[t] A) B for every row t of a, rows spread over the pool.
void Transformer::add_low_rank(const LoraModule& m, const kernels::Activations& a, float* y, int ldy) {
  const int r = adapter_->rank;
  const float scale = adapter_->scale;
  pool_->parallel_for(a.m(), 1, int64_t{r} * (m.in + m.out), [&](int begin, int end) {
    std::vector<float> z(r);
    for (int t = begin; t < end; ++t) {
      const float* x = a.row(t);
      std::fill(z.begin(), z.end(), 0.0f);
      for (int i = 0; i < m.in; ++i) {
        const float* ai = &m.a[size_t(i) * r];
        for (int k = 0; k < r; ++k) z[k] += x[i] * ai[k];
      }
      float* yt = y + size_t(t) * ldy;
      for (int k = 0; k < r; ++k) {
        const float zk = scale * z[k];
        const float* bk = &m.b[size_t(k) * m.out];
        for (int o = 0; o < m.out; ++o) yt[o] += zk * bk[o];
      }
    }
  });
}

void Transformer::mlp(int l, int n) {
  const ModelConfig& c = config_;
  if (c.layer_sparse[l]) {
    experts(l, n);
    return;
  }
  const LayerWeights& L = weights_.layers[l];
  const int inter = c.intermediate_size;
  const kernels::KernelTable* kt = kernels::active_table();
  if (c.arch.mlp == MlpKind::kPlain) {
    linears(act_hidden_, inter, {{&L.gate, gate_up_.data()}});
    fill_and_quantize(pool_, act_mlp_, act_.data(), n, inter, [&](int t) {
      activate_rows(kt, c.activation, &gate_up_[size_t(t) * inter], nullptr, &act_[size_t(t) * inter], inter);
    });
  } else {
    if (c.arch.fused_gate_up) {
      linears(act_hidden_, 2 * inter, {{&L.gate_up, gate_up_.data()}});
    } else {
      linears(act_hidden_, 2 * inter, {{&L.gate, gate_up_.data()}, {&L.up, gate_up_.data() + inter}});
    }
    fill_and_quantize(pool_, act_mlp_, act_.data(), n, inter, [&](int t) {
      const float* g = &gate_up_[size_t(t) * 2 * inter];
      activate_rows(kt, c.activation, g, g + inter, &act_[size_t(t) * inter], inter);
    });
  }
  linears(act_mlp_, c.hidden_size, {{&L.down, out_.data()}});
}

// Routes each token to its top-k experts, then runs every expert that got
// tokens on just those tokens: a decode step reads only k experts' weights,
// and a prefill batch multiplies each expert once for all its tokens.
void Transformer::experts(int l, int n) {
  const ModelConfig& c = config_;
  const LayerWeights& L = weights_.layers[l];
  const int d = c.hidden_size, inter = c.expert_size, ne = c.num_experts, k = c.experts_per_token;
  linears(act_hidden_, ne, {{&L.router, router_.data()}});
  for (ExpertWork& w : expert_work_) w.tokens.clear(), w.weights.clear();
  std::vector<int> order(ne);
  for (int t = 0; t < n; ++t) {
    // Softmax over all experts, the k largest (the lower index first among
    // equals), then their weights renormalized if the config says so.
    float* r = &router_[size_t(t) * ne];
    const float mx = *std::max_element(r, r + ne);
    double total = 0;
    for (int e = 0; e < ne; ++e) total += (r[e] = std::exp(r[e] - mx));
    for (int e = 0; e < ne; ++e) order[e] = e;
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int a, int b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
    double chosen = 0;
    for (int i = 0; i < k; ++i) chosen += r[order[i]];
    const double denominator = c.renormalize_topk ? chosen : total;
    for (int i = 0; i < k; ++i) {
      ExpertWork& w = expert_work_[order[i]];
      w.tokens.push_back(t);
      w.weights.push_back(static_cast<float>(r[order[i]] / denominator));
    }
  }
  // Gate and up projections of every active expert in one parallel section.
  std::vector<BatchJob> jobs;
  for (int e = 0; e < ne; ++e) {
    ExpertWork& w = expert_work_[e];
    const int m = static_cast<int>(w.tokens.size());
    if (m == 0) continue;
    w.input.resize(size_t(m) * d);
    for (int i = 0; i < m; ++i) std::memcpy(&w.input[size_t(i) * d], &h_[size_t(w.tokens[i]) * d], sizeof(float) * d);
    w.in_act.set(w.input.data(), m, d);
    w.gate_up.resize(size_t(m) * 2 * inter);
    jobs.push_back({&L.expert_gate[e], &w.in_act, w.gate_up.data(), 2 * inter});
    jobs.push_back({&L.expert_up[e], &w.in_act, w.gate_up.data() + inter, 2 * inter});
  }
  run_batch_jobs(pool_, jobs);
  const kernels::KernelTable* kt = kernels::active_table();
  jobs.clear();
  for (int e = 0; e < ne; ++e) {
    ExpertWork& w = expert_work_[e];
    const int m = static_cast<int>(w.tokens.size());
    if (m == 0) continue;
    w.act.resize(size_t(m) * inter);
    for (int i = 0; i < m; ++i) {
      const float* g = &w.gate_up[size_t(i) * 2 * inter];
      activate_rows(kt, c.activation, g, g + inter, &w.act[size_t(i) * inter], inter);
    }
    w.mid_act.set(w.act.data(), m, inter);
    w.out.resize(size_t(m) * d);
    jobs.push_back({&L.expert_down[e], &w.mid_act, w.out.data(), d});
  }
  run_batch_jobs(pool_, jobs);
  std::fill(out_.begin(), out_.begin() + size_t(n) * d, 0.0f);
  for (ExpertWork& w : expert_work_) {
    for (size_t i = 0; i < w.tokens.size(); ++i) {
      float* y = &out_[size_t(w.tokens[i]) * d];
      const float* o = &w.out[i * d];
      for (int j = 0; j < d; ++j) y[j] += w.weights[i] * o[j];
    }
  }
}

void Transformer::norm_rows(const Norm& norm, int n, int first, kernels::Activations& act) {
  const int d = config_.hidden_size;
  fill_and_quantize(pool_, act, h_.data(), n, d, [&](int t) {
    normalize(norm, &x_[size_t(first + t) * d], &h_[size_t(t) * d], d, config_.norm_eps);
  });
}

void Transformer::norm_in_place(const Norm& norm, float* y, int n) {
  const int d = config_.hidden_size;
  for (int t = 0; t < n; ++t) normalize(norm, y + size_t(t) * d, y + size_t(t) * d, d, config_.norm_eps);
}

void Transformer::attention(int layer, int n, int start) {
  const ModelConfig& c = config_;
  const int hd = c.head_dim;
  const int group = c.num_heads / c.num_kv_heads;
  const float scale = c.attn_scale;
  const int window = c.layer_local[layer] ? c.sliding_window : 0;
  const kernels::KernelTable* k = kernels::active_table();
  // An item is a row's kv head with `heads` of the query heads that share
  // it: the cache reads each key and value once for all of them (at 1,024
  // positions attention's reads were a sixth of a 1B decode step, every
  // query head reading its kv head's entries again). Fewer heads per item
  // when the items would not keep the pool's threads busy (a decode step of
  // a model with one or two kv heads).
  int heads = group;
  while (heads % 2 == 0 && int64_t{n} * (c.num_heads / heads) < 2 * pool_->size()) heads /= 2;
  const int parts = group / heads;  // items per kv head and row
  const int per_row = c.num_kv_heads * parts;
  const int64_t item_cost = 2 * int64_t{hd} * (start + n) * heads;
  pool_->parallel_for(n * per_row, 1, item_cost, [&](int begin, int end) {
    thread_local kernels::AlignedVector<float> scores;
    const size_t stride = static_cast<size_t>(cache_.capacity());
    if (scores.size() < stride * heads) scores.resize(stride * heads);
    for (int item = begin; item < end; ++item) {
      // Causal rows grow with t, and the pool hands out contiguous ranges:
      // items alternate between the batch's first and last rows (0, n-1, 1,
      // n-2, ...) so every range holds about the same number of positions.
      const int j = item / per_row, kvh = item % per_row / parts;
      const int h0 = kvh * group + item % parts * heads;
      const int t = j % 2 == 0 ? j / 2 : n - 1 - j / 2;
      const int pos = start + t;
      const int lo = window > 0 ? std::max(0, pos - window + 1) : 0;
      const float* q = &qkv_[size_t(t) * qkv_dim_ + size_t(h0) * hd];
      const int count = pos - lo + 1;
      cache_.scores(layer, kvh, q, hd, heads, lo, count, scores.data(), stride);
      for (int i = 0; i < heads; ++i) {
        float* sc = scores.data() + i * stride;
        float max_score = -INFINITY;
        for (int s = 0; s < count; ++s) sc[s] *= scale;
        if (c.attn_softcap > 0) soft_cap(sc, count, c.attn_softcap);
        for (int s = 0; s < count; ++s) max_score = std::max(max_score, sc[s]);
        const float inv = 1.0f / k->exp_sum(sc, max_score, sc, count);
        for (int s = 0; s < count; ++s) sc[s] *= inv;
      }
      float* out = &attn_[size_t(t) * q_dim_ + size_t(h0) * hd];
      cache_.mix_values(layer, kvh, scores.data(), stride, heads, lo, count, out, hd);
    }
  });
}

}  // namespace mlxpack::engine
