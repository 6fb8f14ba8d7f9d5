// The forward pass shared by every supported architecture: pre-norm
// decoder layers (RMSNorm, grouped-query attention with RoPE, SwiGLU MLP),
// the differences taken from ArchitectureTraits and the config. A call runs
// a batch of tokens (the prompt in chunks, then one token per step) against
// the KV cache, reading the weights in place.
#ifndef MLXPACK_RUNTIME_ENGINE_TRANSFORMER_H_
#define MLXPACK_RUNTIME_ENGINE_TRANSFORMER_H_

#include <vector>

#include "runtime/engine/kv_cache.h"
#include "runtime/engine/model_config.h"
#include "runtime/engine/model_weights.h"
#include "runtime/engine/rope.h"
#include "runtime/engine/thread_pool.h"
#include "runtime/kernels/linear.h"

namespace mlxpack::engine {

// Seconds spent per stage since the last reset.
struct StageTimes {
  double embedding = 0;
  double attention = 0;  // norms, q/k/v/o projections, RoPE, attention itself
  double mlp = 0;
  double lm_head = 0;    // final norm and the vocabulary projection
};

class Transformer {
 public:
  // `capacity`: KV positions; `max_batch`: largest batch forward() takes;
  // `kv_type`: the cache's entries.
  Transformer(const ModelConfig& config, ModelWeights weights, ThreadPool* pool, int capacity, int max_batch,
              KvType kv_type = KvType::kF32);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  KvCache& cache() { return cache_; }
  const KvCache& cache() const { return cache_; }
  const Rope& rope() const { return rope_; }
  int max_batch() const { return max_batch_; }

  // Runs tokens[0..n) at cache positions length()..length()+n and appends
  // them to the cache. Writes the logits (vocab_size floats) of the last
  // token to `logits`, or of all n tokens (n x vocab_size) if all_logits.
  // REQUIRES: 1 <= n <= max_batch(), length() + n <= capacity, ids < vocab.
  void forward(const int* tokens, int n, float* logits, bool all_logits = false);

  StageTimes& times() { return times_; }

 private:
  void attention(int layer, int n, int start);
  // h = rms_norm(x) * weight for n rows, then act quantizes h, rows spread
  // over the pool.
  void norm_rows(const float* weight, int n, int first, kernels::Activations& act);

  ModelConfig config_;
  ModelWeights weights_;
  ThreadPool* pool_;
  Rope rope_;
  KvCache cache_;
  int max_batch_;
  int q_dim_, kv_dim_, qkv_dim_;
  // Workspaces, sized once for max_batch.
  kernels::AlignedVector<float> x_, h_, qkv_, attn_, gate_up_, act_, out_, cos_, sin_;
  kernels::Activations act_hidden_, act_attn_, act_mlp_;
  StageTimes times_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_TRANSFORMER_H_
