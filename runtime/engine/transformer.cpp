#include "runtime/engine/transformer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace mlxpack::engine {

namespace {

using Clock = std::chrono::steady_clock;
using kernels::Activations;
using kernels::Weight;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void rms_norm(const float* x, const float* w, float* y, int n, float eps) {
  double ss = 0.0;
  for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
  for (int i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

struct LinearJob {
  const Weight* w;
  float* y;  // column 0 of this weight's output
};

// Several projections of the same input in one parallel section: rows of
// all jobs are one range split across the pool.
void run_linears(ThreadPool* pool, const Activations& a, int ldy, std::initializer_list<LinearJob> jobs) {
  int total = 0;
  for (const LinearJob& j : jobs) total += j.w->rows;
  // A row's cost: its columns times the batch's rows.
  const int64_t row_cost = int64_t{jobs.begin()->w->cols} * a.m();
  pool->parallel_for(total, 16, row_cost, [&](int begin, int end) {
    int offset = 0;
    for (const LinearJob& j : jobs) {
      const int lo = std::max(begin, offset), hi = std::min(end, offset + j.w->rows);
      if (lo < hi) kernels::linear_rows(*j.w, a, j.y, ldy, lo - offset, hi - offset);
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
}

void Transformer::forward(const int* tokens, int n, float* logits, bool all_logits) {
  const ModelConfig& c = config_;
  const int d = c.hidden_size, inter = c.intermediate_size, hd = c.head_dim;
  const int start = cache_.length();
  const int half = rope_.rotary_dim() / 2;

  auto t0 = Clock::now();
  for (int t = 0; t < n; ++t) kernels::weight_row(weights_.embed, tokens[t], &x_[static_cast<size_t>(t) * d]);
  for (int t = 0; t < n; ++t) rope_.angles(start + t, &cos_[static_cast<size_t>(t) * half], &sin_[static_cast<size_t>(t) * half]);
  times_.embedding += seconds_since(t0);

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = weights_.layers[l];
    t0 = Clock::now();
    norm_rows(L.attn_norm.data(), n, 0, act_hidden_);
    if (c.arch.fused_qkv) {
      run_linears(pool_, act_hidden_, qkv_dim_, {{&L.qkv, qkv_.data()}});
    } else {
      run_linears(pool_, act_hidden_, qkv_dim_,
                  {{&L.q, qkv_.data()}, {&L.k, qkv_.data() + q_dim_}, {&L.v, qkv_.data() + q_dim_ + kv_dim_}});
    }
    pool_->parallel_for(n, 4, 4 * int64_t{qkv_dim_}, [&](int begin, int end) {
      for (int t = begin; t < end; ++t) {
        float* q = &qkv_[size_t(t) * qkv_dim_];
        float* k = q + q_dim_;
        const float* v = k + kv_dim_;
        if (c.arch.qk_norm) {
          for (int h = 0; h < c.num_heads; ++h) rms_norm(q + h * hd, L.q_norm.data(), q + h * hd, hd, c.rms_norm_eps);
          for (int h = 0; h < c.num_kv_heads; ++h) rms_norm(k + h * hd, L.k_norm.data(), k + h * hd, hd, c.rms_norm_eps);
        }
        rope_.apply(q, c.num_heads, hd, &cos_[size_t(t) * half], &sin_[size_t(t) * half]);
        rope_.apply(k, c.num_kv_heads, hd, &cos_[size_t(t) * half], &sin_[size_t(t) * half]);
        cache_.store_value(l, start + t, v);
      }
    });
    // Keys go in dimension-major (see KvCache): a batch row by row, rows
    // spread over the pool; a decode step's one key on this thread.
    const auto store_keys = [&](int i0, int i1) { cache_.store_keys(l, start, n, &qkv_[q_dim_], qkv_dim_, i0, i1); };
    if (n < 16) {
      store_keys(0, kv_dim_);
    } else {
      pool_->parallel_for(kv_dim_, 16, n, store_keys);
    }
    attention(l, n, start);
    fill_and_quantize(pool_, act_attn_, attn_.data(), n, q_dim_, [](int) {});
    run_linears(pool_, act_attn_, d, {{&L.o, out_.data()}});
    for (size_t i = 0; i < size_t(n) * d; ++i) x_[i] += out_[i];
    times_.attention += seconds_since(t0);

    t0 = Clock::now();
    norm_rows(L.mlp_norm.data(), n, 0, act_hidden_);
    if (c.arch.fused_gate_up) {
      run_linears(pool_, act_hidden_, 2 * inter, {{&L.gate_up, gate_up_.data()}});
    } else {
      run_linears(pool_, act_hidden_, 2 * inter, {{&L.gate, gate_up_.data()}, {&L.up, gate_up_.data() + inter}});
    }
    const kernels::KernelTable* kt = kernels::active_table();
    fill_and_quantize(pool_, act_mlp_, act_.data(), n, inter, [&](int t) {
      const float* g = &gate_up_[size_t(t) * 2 * inter];
      kt->silu_mul(g, g + inter, &act_[size_t(t) * inter], inter);
    });
    run_linears(pool_, act_mlp_, d, {{&L.down, out_.data()}});
    for (size_t i = 0; i < size_t(n) * d; ++i) x_[i] += out_[i];
    times_.mlp += seconds_since(t0);
  }
  cache_.set_length(start + n);

  t0 = Clock::now();
  const int first = all_logits ? 0 : n - 1;
  norm_rows(weights_.final_norm.data(), n - first, first, act_hidden_);
  run_linears(pool_, act_hidden_, c.vocab_size, {{&weights_.lm_head, logits}});
  times_.lm_head += seconds_since(t0);
}

void Transformer::norm_rows(const float* weight, int n, int first, kernels::Activations& act) {
  const int d = config_.hidden_size;
  fill_and_quantize(pool_, act, h_.data(), n, d, [&](int t) {
    rms_norm(&x_[size_t(first + t) * d], weight, &h_[size_t(t) * d], d, config_.rms_norm_eps);
  });
}

void Transformer::attention(int layer, int n, int start) {
  const ModelConfig& c = config_;
  const int hd = c.head_dim;
  const int group = c.num_heads / c.num_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const kernels::KernelTable* k = kernels::active_table();
  const bool f16 = cache_.type() == KvType::kF16;
  // An item (a row's head) reads its keys and values: 2 * hd per position.
  const int64_t item_cost = 2 * int64_t{hd} * (start + n);
  pool_->parallel_for(n * c.num_heads, 1, item_cost, [&](int begin, int end) {
    thread_local kernels::AlignedVector<float> scores;
    if (scores.size() < static_cast<size_t>(cache_.capacity())) scores.resize(cache_.capacity());
    for (int item = begin; item < end; ++item) {
      // Causal rows grow with t, and the pool hands out contiguous ranges:
      // items alternate between the batch's first and last rows (0, n-1, 1,
      // n-2, ...) so every range holds about the same number of positions.
      const int j = item / c.num_heads, h = item % c.num_heads;
      const int t = j % 2 == 0 ? j / 2 : n - 1 - j / 2;
      const int pos = start + t;
      const int lo = c.sliding_window > 0 ? std::max(0, pos - c.sliding_window + 1) : 0;
      const float* q = &qkv_[size_t(t) * qkv_dim_ + size_t(h) * hd];
      const int kvh = h / group;
      const int count = pos - lo + 1;
      float* sc = scores.data();
      // Scores: the head's hd key rows (dimension-major, capacity apart)
      // weighted by q's values, positions lo..pos at once.
      const int cap = cache_.capacity();
      if (f16) {
        k->weighted_sum_f16(q, cache_.key_row16(layer, kvh * hd) + lo, cap, hd, count, sc);
      } else {
        k->weighted_sum_f32(q, cache_.key_row(layer, kvh * hd) + lo, cap, hd, count, sc);
      }
      // Values are one kv row apart: kv_dim values per slot.
      const size_t head = size_t(kvh) * hd;
      float max_score = -INFINITY;
      for (int s = 0; s < count; ++s) {
        sc[s] *= scale;
        max_score = std::max(max_score, sc[s]);
      }
      const float inv = 1.0f / k->exp_sum(sc, max_score, sc, count);
      for (int s = 0; s < count; ++s) sc[s] *= inv;
      float* out = &attn_[size_t(t) * q_dim_ + size_t(h) * hd];
      if (f16) {
        k->weighted_sum_f16(sc, cache_.value16(layer, lo) + head, kv_dim_, count, hd, out);
      } else {
        k->weighted_sum_f32(sc, cache_.value(layer, lo) + head, kv_dim_, count, hd, out);
      }
    }
  });
}

}  // namespace mlxpack::engine
