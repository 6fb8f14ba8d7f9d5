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

float KvCache::key(int layer, int slot, int i) const {
  if (type_ == KvType::kF32) return key_row(layer, i)[slot];
  float f;
  kernels::active_table()->f16_to_f32(key_row16(layer, i) + slot, &f, 1);
  return f;
}

void KvCache::store_value(int layer, int slot, const float* v) {
  if (type_ == KvType::kF32) {
    std::memcpy(value_at(layer, slot), v, sizeof(float) * kv_dim_);
  } else {
    kernels::active_table()->f32_to_f16(v, reinterpret_cast<uint16_t*>(value_at(layer, slot)), kv_dim_);
  }
}

void KvCache::store_keys(int layer, int slot, int n, const float* k, size_t ld, int i0, int i1) {
  if (type_ == KvType::kF32) {
    for (int i = i0; i < i1; ++i) {
      float* row = reinterpret_cast<float*>(key_at(layer, i)) + slot;
      for (int t = 0; t < n; ++t) row[t] = k[t * ld + i];
    }
    return;
  }
  const kernels::KernelTable* t = kernels::active_table();
  thread_local std::vector<float> gathered;
  gathered.resize(static_cast<size_t>(n));
  for (int i = i0; i < i1; ++i) {
    for (int s = 0; s < n; ++s) gathered[s] = k[s * ld + i];
    t->f32_to_f16(gathered.data(), reinterpret_cast<uint16_t*>(key_at(layer, i)) + slot, n);
  }
}

void KvCache::rotate_keys(int layer, int first_slot, int n, int by, const Rope& rope) {
  std::vector<float> cos(rope.rotary_dim() / 2), sin(rope.rotary_dim() / 2);
  rope.angles(-static_cast<double>(by), cos.data(), sin.data());
  const kernels::KernelTable* t = kernels::active_table();
  // F16 keys turn as floats: one head's rows at a time.
  std::vector<float> head(type_ == KvType::kF16 ? static_cast<size_t>(head_dim_) * n : 0);
  std::vector<float*> rows(head_dim_);
  for (int h = 0; h < kv_heads_; ++h) {
    const int first = h * head_dim_;
    for (int d = 0; d < head_dim_; ++d) {
      rows[d] = type_ == KvType::kF32 ? reinterpret_cast<float*>(key_at(layer, first + d)) + first_slot
                                      : head.data() + static_cast<size_t>(d) * n;
      if (type_ == KvType::kF16) t->f16_to_f32(key_row16(layer, first + d) + first_slot, rows[d], n);
    }
    rope.apply_rows(rows.data(), n, cos.data(), sin.data());
    if (type_ == KvType::kF16) {
      for (int d = 0; d < head_dim_; ++d) {
        t->f32_to_f16(rows[d], reinterpret_cast<uint16_t*>(key_at(layer, first + d)) + first_slot, n);
      }
    }
  }
}

void KvCache::evict(int sinks, int count, const std::vector<const Rope*>& layer_ropes) {
  if (count <= 0) return;
  const int kept = length_ - sinks - count;
  const size_t e = element_bytes();
  for (int layer = 0; layer < layers_; ++layer) {
    std::memmove(value_at(layer, sinks), value_at(layer, sinks + count), static_cast<size_t>(kept) * kv_dim_ * e);
    for (int i = 0; i < kv_dim_; ++i) {
      uint8_t* row = key_at(layer, i);
      std::memmove(row + sinks * e, row + (sinks + count) * e, static_cast<size_t>(kept) * e);
    }
    if (layer_ropes[layer]) rotate_keys(layer, sinks, kept, count, *layer_ropes[layer]);
  }
  length_ = sinks + kept;
}

}  // namespace mlxpack::engine
