// Keys and values of every layer for the positions in the context window,
// with StreamingLLM eviction (Xiao et al., "Efficient Streaming Language
// Models with Attention Sinks", 2023): the first `sinks` positions stay, the
// oldest of the rest go in one batch, and positions are those in the cache,
// not in the text. Keys are stored already rotated (RoPE) at their cache
// position; evicting d positions shifts the kept keys down d slots and
// rotates them back by d positions, which is exact because RoPE rotations
// compose additively. Batching the eviction amortizes that rotation.
#ifndef MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_
#define MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_

#include <cstddef>
#include <memory>

#include "runtime/kernels/aligned.h"

namespace mlxpack::engine {

class Rope;

class KvCache {
 public:
  // capacity positions of kv_dim floats (kv heads x head_dim) per layer.
  void init(int layers, int capacity, int kv_heads, int head_dim);

  int capacity() const { return capacity_; }
  int length() const { return length_; }
  void set_length(int length) { length_ = length; }
  size_t bytes() const { return 2 * elements_ * sizeof(float); }

  float* key(int layer, int slot) { return keys_.get() + offset(layer, slot); }
  float* value(int layer, int slot) { return values_.get() + offset(layer, slot); }
  const float* key(int layer, int slot) const { return keys_.get() + offset(layer, slot); }
  const float* value(int layer, int slot) const { return values_.get() + offset(layer, slot); }

  // Drops positions [sinks, sinks + count) of every layer, moves the later
  // ones down and re-rotates their keys by -count positions.
  // REQUIRES: sinks + count <= length().
  void evict(int sinks, int count, const Rope& rope);

 private:
  size_t offset(int layer, int slot) const {
    return (static_cast<size_t>(layer) * capacity_ + static_cast<size_t>(slot)) * kv_dim_;
  }
  int layers_ = 0;
  int capacity_ = 0;
  int kv_heads_ = 0;
  int head_dim_ = 0;
  int kv_dim_ = 0;
  int length_ = 0;
  size_t elements_ = 0;
  // Left uninitialized: pages are touched (and count in RSS) only as the
  // context fills; a slot is always written before it is read.
  kernels::AlignedFloats keys_;
  kernels::AlignedFloats values_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_
