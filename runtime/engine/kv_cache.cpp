#include "runtime/engine/kv_cache.h"

#include <cstring>
#include <vector>

#include "runtime/engine/rope.h"

namespace mlxpack::engine {

void KvCache::init(int layers, int capacity, int kv_heads, int head_dim) {
  layers_ = layers;
  capacity_ = capacity;
  kv_heads_ = kv_heads;
  head_dim_ = head_dim;
  kv_dim_ = kv_heads * head_dim;
  length_ = 0;
  elements_ = static_cast<size_t>(layers) * capacity * kv_dim_;
  keys_ = kernels::make_uninitialized_floats(elements_);
  values_ = kernels::make_uninitialized_floats(elements_);
}

void KvCache::evict(int sinks, int count, const Rope& rope) {
  if (count <= 0) return;
  const int kept = length_ - sinks - count;
  std::vector<float> cos(rope.rotary_dim() / 2), sin(rope.rotary_dim() / 2);
  rope.angles(-static_cast<double>(count), cos.data(), sin.data());
  for (int layer = 0; layer < layers_; ++layer) {
    const size_t bytes = static_cast<size_t>(kept) * kv_dim_ * sizeof(float);
    std::memmove(key(layer, sinks), key(layer, sinks + count), bytes);
    std::memmove(value(layer, sinks), value(layer, sinks + count), bytes);
    for (int s = sinks; s < sinks + kept; ++s) rope.apply(key(layer, s), kv_heads_, head_dim_, cos.data(), sin.data());
  }
  length_ = sinks + kept;
}

}  // namespace mlxpack::engine
