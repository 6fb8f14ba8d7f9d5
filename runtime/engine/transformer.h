// The forward pass shared by every supported architecture: pre-norm
// decoder layers (a norm, grouped-query attention with RoPE, a gated MLP or
// routed experts), the differences taken from ArchitectureTraits and the
// config: the norm kind, how attention and MLP combine (BlockKind), local
// and global layers, soft-caps. A call runs a batch of tokens (the prompt in
// chunks, then one token per step) against the KV cache, reading the
// weights in place.
#ifndef MLXPACK_RUNTIME_ENGINE_TRANSFORMER_H_
#define MLXPACK_RUNTIME_ENGINE_TRANSFORMER_H_

#include <initializer_list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "format/lora_adapter.h"

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
  // The RoPE of `layer` (local layers may have their own base).
  const Rope& rope(int layer) const { return config_.layer_local[layer] && local_rope_ ? *local_rope_ : rope_; }
  int max_batch() const { return max_batch_; }

  // Runs tokens[0..n) at cache positions length()..length()+n and appends
  // them to the cache. Writes the logits (vocab_size floats) of the last
  // token to `logits`, or of all n tokens (n x vocab_size) if all_logits.
  // REQUIRES: 1 <= n <= max_batch(), length() + n <= capacity, ids < vocab.
  void forward(const int* tokens, int n, float* logits, bool all_logits = false);

  // Drops cache positions [sinks, sinks + count) and re-rotates the later
  // keys, each layer with its own RoPE, NoPE layers' not at all
  // (KvCache::evict).
  void evict(int sinks, int count);

  StageTimes& times() { return times_; }

  // Applies a LoRA adapter at run time: every layer it names computes
  // W x + scale * (x A) B from then on, the base weights untouched.
  // InvalidArgument when it names a layer the model lacks (experts
  // included) or shapes that differ from the layer's.
  Status attach_adapter(LoraAdapter adapter);

 private:
  struct LinearJob {
    const kernels::Weight* w;
    float* y;  // column 0 of this weight's output
  };
  // Projections of one input (kernels::linear_rows over the pool), plus
  // the adapter's low-rank terms of the layers it adapts.
  void linears(const kernels::Activations& a, int ldy, std::initializer_list<LinearJob> jobs);
  void add_low_rank(const LoraModule& m, const kernels::Activations& a, float* y, int ldy);
  // out = o_proj(attention(norm(x))) for n rows at positions start.. .
  void attention_block(int layer, int n, int start);
  void attention(int layer, int n, int start);
  // out = the layer's MLP of act_hidden_ (a dense one or its experts).
  void mlp(int layer, int n);
  void experts(int layer, int n);
  // h = norm(x) for n rows, then act quantizes h, rows spread over the pool.
  void norm_rows(const Norm& norm, int n, int first, kernels::Activations& act);
  // y = norm(y) in place for n rows of hidden_size (Gemma's post-norms).
  void norm_in_place(const Norm& norm, float* y, int n);

  // A routed expert's share of a batch: its tokens, their router weights,
  // their inputs and its outputs.
  struct ExpertWork {
    std::vector<int> tokens;
    std::vector<float> weights;
    kernels::AlignedVector<float> input, gate_up, act, out;
    kernels::Activations in_act, mid_act;
  };

  ModelConfig config_;
  ModelWeights weights_;
  ThreadPool* pool_;
  Rope rope_;
  std::unique_ptr<Rope> local_rope_;  // Gemma 3's local layers
  float embed_scale_ = 1.0f;
  KvCache cache_;
  int max_batch_;
  int q_dim_, kv_dim_, qkv_dim_;
  // Workspaces, sized once for max_batch.
  kernels::AlignedVector<float> x_, h_, qkv_, attn_, gate_up_, act_, out_, cos_, sin_, local_cos_, local_sin_;
  kernels::AlignedVector<float> router_;  // n x num_experts
  std::vector<ExpertWork> expert_work_;
  std::unique_ptr<LoraAdapter> adapter_;
  std::unordered_map<const kernels::Weight*, const LoraModule*> deltas_;
  kernels::Activations act_hidden_, act_attn_, act_mlp_;
  StageTimes times_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_TRANSFORMER_H_
