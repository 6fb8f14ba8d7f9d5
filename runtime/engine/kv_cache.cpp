#include "runtime/engine/kv_cache.h"

#include <cstring>
#include <vector>

#include "runtime/engine/rope.h"
#include "runtime/kernels/linear.h"

namespace mlxpack::engine {

void KvCache::init(int layers, int capacity, int kv_heads, int head_dim, KvType type) {
  type_ = type;
  layers_ = layers;
  capacity_ = capacity;
  kv_heads_ = kv_heads;
  head_dim_ = head_dim;
  kv_dim_ = kv_heads * head_dim;
  length_ = 0;
  elements_ = static_cast<size_t>(layers) * capacity * kv_dim_;
  keys_ = kernels::make_uninitialized<uint8_t>(elements_ * element_bytes());
  values_ = kernels::make_uninitialized<uint8_t>(elements_ * element_bytes());
}

void KvCache::store(int layer, int slot, const float* k, const float* v) {
  if (type_ == KvType::kF32) {
    std::memcpy(key(layer, slot), k, sizeof(float) * kv_dim_);
    std::memcpy(value(layer, slot), v, sizeof(float) * kv_dim_);
    return;
  }
  const kernels::KernelTable* t = kernels::active_table();
  t->f32_to_f16(k, key16(layer, slot), kv_dim_);
  t->f32_to_f16(v, value16(layer, slot), kv_dim_);
}

void KvCache::evict(int sinks, int count, const Rope& rope) {
  if (count <= 0) return;
  const int kept = length_ - sinks - count;
  std::vector<float> cos(rope.rotary_dim() / 2), sin(rope.rotary_dim() / 2);
  rope.angles(-static_cast<double>(count), cos.data(), sin.data());
  const kernels::KernelTable* t = kernels::active_table();
  std::vector<float> row(type_ == KvType::kF16 ? kv_dim_ : 0);
  for (int layer = 0; layer < layers_; ++layer) {
    const size_t bytes = static_cast<size_t>(kept) * kv_dim_ * element_bytes();
    std::memmove(at(keys_.get(), layer, sinks), at(keys_.get(), layer, sinks + count), bytes);
    std::memmove(at(values_.get(), layer, sinks), at(values_.get(), layer, sinks + count), bytes);
    for (int s = sinks; s < sinks + kept; ++s) {
      if (type_ == KvType::kF32) {
        rope.apply(key(layer, s), kv_heads_, head_dim_, cos.data(), sin.data());
      } else {
        t->f16_to_f32(key16(layer, s), row.data(), kv_dim_);
        rope.apply(row.data(), kv_heads_, head_dim_, cos.data(), sin.data());
        t->f32_to_f16(row.data(), key16(layer, s), kv_dim_);
      }
    }
  }
  length_ = sinks + kept;
}

}  // namespace mlxpack::engine
