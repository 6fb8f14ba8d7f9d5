#include "runtime/engine/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "format/half.h"
#include "runtime/engine/rope.h"
#include "runtime/kernels/linear.h"

namespace mlxpack::engine {
namespace {

// Q8_0's group: whole 32-value blocks as llama.cpp's when the head allows,
// otherwise the largest part of 32 that divides the head.
int q8_group(int head_dim) { return std::gcd(head_dim, 32); }

// A group's scale, max|x| / 127 as stored (F16), and its inverse for
// quantizing (0 for an all-zero group: every q is then 0).
struct Q8Scale {
  uint16_t stored;
  float inverse;
};
// The scale of the group x[0..n).
Q8Scale q8_scale(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  return {f32_to_f16(d), d > 0.0f ? 1.0f / d : 0.0f};
}

int8_t q8_value(float x, float inverse) {
  // |x * inverse| <= 127 up to rounding; the clamp keeps it so (and maps a
  // NaN's undefined conversion away).
  const float q = std::round(x * inverse);
  return static_cast<int8_t>(q >= 127.0f ? 127 : q <= -127.0f ? -127 : q == q ? q : 0);
}

}  // namespace

uint64_t KvCache::bytes_for(int layers, int capacity, int kv_heads, int head_dim, KvType type) {
  const uint64_t entries = 2ull * static_cast<uint64_t>(layers) * static_cast<uint64_t>(capacity) *
                           static_cast<uint64_t>(kv_heads) * static_cast<uint64_t>(head_dim);
  if (type == KvType::kF32) return entries * 4;
  if (type == KvType::kF16) return entries * 2;
  return entries + entries / q8_group(head_dim) * sizeof(uint16_t);
}

void KvCache::init(int layers, int capacity, int kv_heads, int head_dim, KvType type) {
  type_ = type;
  layers_ = layers;
  capacity_ = capacity;
  kv_heads_ = kv_heads;
  head_dim_ = head_dim;
  kv_dim_ = kv_heads * head_dim;
  length_ = 0;
  group_ = type == KvType::kQ8_0 ? q8_group(head_dim) : 0;
  elements_ = static_cast<size_t>(layers) * capacity * kv_dim_;
  keys_ = kernels::make_uninitialized<uint8_t>(elements_ * element_bytes());
  values_ = kernels::make_uninitialized<uint8_t>(elements_ * element_bytes());
  if (group_ > 0) {
    key_scales_ = kernels::make_uninitialized<uint16_t>(elements_ / group_);
    value_scales_ = kernels::make_uninitialized<uint16_t>(elements_ / group_);
  }
}

float KvCache::key(int layer, int slot, int i) const {
  if (type_ == KvType::kF32) return key_row(layer, i)[slot];
  if (type_ == KvType::kQ8_0) return f16_to_f32(key_scales(layer, i / group_)[slot]) * key_row8(layer, i)[slot];
  float f;
  kernels::active_table()->f16_to_f32(key_row16(layer, i) + slot, &f, 1);
  return f;
}

void KvCache::store_value(int layer, int slot, const float* v) {
  if (type_ == KvType::kF32) {
    std::memcpy(value_at(layer, slot), v, sizeof(float) * kv_dim_);
  } else if (type_ == KvType::kF16) {
    kernels::active_table()->f32_to_f16(v, reinterpret_cast<uint16_t*>(value_at(layer, slot)), kv_dim_);
  } else {
    int8_t* out = reinterpret_cast<int8_t*>(value_at(layer, slot));
    for (int g = 0; g < kv_dim_ / group_; ++g) {
      const float* x = v + g * group_;
      const Q8Scale d = q8_scale(x, group_);
      value_scales_[scale_row(layer, g) + slot] = d.stored;
      for (int j = 0; j < group_; ++j) out[g * group_ + j] = q8_value(x[j], d.inverse);
    }
  }
}

void KvCache::scores(int layer, int h, const float* q, size_t q_stride, int heads, int lo, int count, float* scores,
                     size_t scores_stride) const {
  const kernels::KernelTable* k = kernels::active_table();
  const int first = h * head_dim_;
  if (type_ == KvType::kF32) {
    k->weighted_sum_f32(q, q_stride, heads, key_row(layer, first) + lo, capacity_, head_dim_, count, scores,
                        scores_stride);
  } else if (type_ == KvType::kF16) {
    k->weighted_sum_f16(q, q_stride, heads, key_row16(layer, first) + lo, capacity_, head_dim_, count, scores,
                        scores_stride);
  } else {
    // Per group: the int8 rows' sums, then times the group's scales.
    thread_local kernels::AlignedVector<float> part, scale;
    const size_t need = static_cast<size_t>(heads) * count;
    if (part.size() < need) part.resize(need);
    if (scale.size() < static_cast<size_t>(count)) scale.resize(count);
    for (int g = 0; g < head_dim_ / group_; ++g) {
      const bool into_scores = g == 0;
      float* sums = into_scores ? scores : part.data();
      const size_t sums_stride = into_scores ? scores_stride : static_cast<size_t>(count);
      k->weighted_sum_i8(q + g * group_, q_stride, heads, key_row8(layer, first + g * group_) + lo, capacity_, group_,
                         count, sums, sums_stride);
      k->f16_to_f32(key_scales(layer, first / group_ + g) + lo, scale.data(), count);
      for (int j = 0; j < heads; ++j) {
        float* sc = scores + j * scores_stride;
        if (into_scores) {
          for (int s = 0; s < count; ++s) sc[s] *= scale[s];
        } else {
          const float* pj = part.data() + static_cast<size_t>(j) * count;
          for (int s = 0; s < count; ++s) sc[s] += pj[s] * scale[s];
        }
      }
    }
  }
}

void KvCache::mix_values(int layer, int h, const float* p, size_t p_stride, int heads, int lo, int count, float* out,
                         size_t out_stride) const {
  const kernels::KernelTable* k = kernels::active_table();
  const int first = h * head_dim_;
  if (type_ == KvType::kF32) {
    k->weighted_sum_f32(p, p_stride, heads, value(layer, lo) + first, kv_dim_, count, head_dim_, out, out_stride);
  } else if (type_ == KvType::kF16) {
    k->weighted_sum_f16(p, p_stride, heads, value16(layer, lo) + first, kv_dim_, count, head_dim_, out, out_stride);
  } else {
    // Per group: the probabilities times the group's scales weight its int8
    // columns.
    thread_local kernels::AlignedVector<float> scale, weights;
    const size_t need = static_cast<size_t>(heads) * count;
    if (weights.size() < need) weights.resize(need);
    if (scale.size() < static_cast<size_t>(count)) scale.resize(count);
    for (int g = 0; g < head_dim_ / group_; ++g) {
      k->f16_to_f32(value_scales(layer, first / group_ + g) + lo, scale.data(), count);
      for (int j = 0; j < heads; ++j) {
        float* w = weights.data() + static_cast<size_t>(j) * count;
        const float* pj = p + j * p_stride;
        for (int s = 0; s < count; ++s) w[s] = scale[s] * pj[s];
      }
      k->weighted_sum_i8(weights.data(), count, heads, value8(layer, lo) + first + g * group_, kv_dim_, count, group_,
                         out + g * group_, out_stride);
    }
  }
}

void KvCache::quantize_key_group(int layer, int g, int slot, int n, const float* x, size_t ld) {
  thread_local std::vector<float> inverse;
  inverse.resize(static_cast<size_t>(n));
  uint16_t* scales = key_scales_.get() + scale_row(layer, g);
  for (int t = 0; t < n; ++t) {
    const Q8Scale d = q8_scale(x + t * ld, group_);
    scales[slot + t] = d.stored;
    inverse[t] = d.inverse;
  }
  for (int j = 0; j < group_; ++j) {
    int8_t* row = reinterpret_cast<int8_t*>(key_at(layer, g * group_ + j)) + slot;
    for (int t = 0; t < n; ++t) row[t] = q8_value(x[t * ld + j], inverse[t]);
  }
}

void KvCache::dequantize_key_group(int layer, int g, int slot, int n, float* const* rows) const {
  const uint16_t* scales = key_scales(layer, g) + slot;
  for (int j = 0; j < group_; ++j) {
    const int8_t* q = key_row8(layer, g * group_ + j) + slot;
    for (int t = 0; t < n; ++t) rows[j][t] = f16_to_f32(scales[t]) * q[t];
  }
}

void KvCache::store_keys(int layer, int slot, int n, const float* k, size_t ld, int u0, int u1) {
  if (type_ == KvType::kQ8_0) {
    for (int g = u0; g < u1; ++g) quantize_key_group(layer, g, slot, n, k + g * group_, ld);
    return;
  }
  const int i0 = u0, i1 = u1;
  if (type_ == KvType::kF32) {
    for (int i = i0; i < i1; ++i) {
      float* row = reinterpret_cast<float*>(key_at(layer, i)) + slot;
      for (int t = 0; t < n; ++t) row[t] = k[t * ld + i];
    }
    return;
  }
  const kernels::KernelTable* t = kernels::active_table();
  if (n == 1) {
    // A decode step's one key: its values are adjacent in k, one per
    // dimension row; converted together, then scattered (converting one
    // value per call took 4% of a 110M-shape decode).
    thread_local std::vector<uint16_t> halves;
    halves.resize(static_cast<size_t>(i1 - i0));
    t->f32_to_f16(k + i0, halves.data(), i1 - i0);
    for (int i = i0; i < i1; ++i) reinterpret_cast<uint16_t*>(key_at(layer, i))[slot] = halves[i - i0];
    return;
  }
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
  // F16 and Q8_0 keys turn as floats: one head's rows at a time (Q8_0's
  // then quantized again from a slot-major copy, as store_keys takes them).
  const bool as_floats = type_ != KvType::kF32;
  std::vector<float> head(as_floats ? static_cast<size_t>(head_dim_) * n : 0);
  std::vector<float> slots(type_ == KvType::kQ8_0 ? head.size() : 0);
  std::vector<float*> rows(head_dim_);
  for (int h = 0; h < kv_heads_; ++h) {
    const int first = h * head_dim_;
    for (int d = 0; d < head_dim_; ++d) {
      rows[d] = as_floats ? head.data() + static_cast<size_t>(d) * n
                          : reinterpret_cast<float*>(key_at(layer, first + d)) + first_slot;
      if (type_ == KvType::kF16) t->f16_to_f32(key_row16(layer, first + d) + first_slot, rows[d], n);
    }
    const int groups = type_ == KvType::kQ8_0 ? head_dim_ / group_ : 0;
    for (int g = 0; g < groups; ++g) dequantize_key_group(layer, first / group_ + g, first_slot, n, &rows[g * group_]);
    rope.apply_rows(rows.data(), n, cos.data(), sin.data());
    if (type_ == KvType::kF16) {
      for (int d = 0; d < head_dim_; ++d) {
        t->f32_to_f16(rows[d], reinterpret_cast<uint16_t*>(key_at(layer, first + d)) + first_slot, n);
      }
    }
    if (type_ == KvType::kQ8_0) {
      for (int d = 0; d < head_dim_; ++d) {
        for (int s = 0; s < n; ++s) slots[static_cast<size_t>(s) * head_dim_ + d] = rows[d][s];
      }
      for (int g = 0; g < groups; ++g) {
        quantize_key_group(layer, first / group_ + g, first_slot, n, slots.data() + g * group_, head_dim_);
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
    for (int g = 0; group_ > 0 && g < kv_dim_ / group_; ++g) {
      for (uint16_t* scales : {key_scales_.get() + scale_row(layer, g), value_scales_.get() + scale_row(layer, g)}) {
        std::memmove(scales + sinks, scales + sinks + count, static_cast<size_t>(kept) * sizeof(uint16_t));
      }
    }
    if (layer_ropes[layer]) rotate_keys(layer, sinks, kept, count, *layer_ropes[layer]);
  }
  length_ = sinks + kept;
}

}  // namespace mlxpack::engine
