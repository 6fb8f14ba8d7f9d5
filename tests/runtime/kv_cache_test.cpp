// The KV cache's entry types on their own: what a Q8_0 entry may differ
// from what was stored (half a step of its group plus the scale's F16
// rounding), the memory each type takes, and attention's two products
// against double sums over the entries as stored, for every type.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "format/half.h"
#include "runtime/engine/kv_cache.h"

namespace mlxpack::test {
namespace {

using engine::KvCache;
using engine::KvType;

constexpr int kLayers = 2, kCapacity = 40, kKvHeads = 2;

// slots x kv_dim floats, slot-major, with groups of every kind: ordinary
// ones, one with an outlier, and an all-zero one.
std::vector<float> entries(int slots, int kv_dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(size_t(slots) * kv_dim);
  for (float& v : x) v = normal(rng);
  for (int s = 0; s < slots; ++s) {
    x[size_t(s) * kv_dim + 3] = 40.0f * (s % 2 ? 1 : -1);
    for (int i = 0; i < std::min(kv_dim, 8); ++i) x[size_t(s) * kv_dim + kv_dim - 1 - i] = 0.0f;
  }
  return x;
}

KvCache filled(KvType type, int head_dim, const std::vector<float>& k, const std::vector<float>& v, int slots) {
  KvCache cache;
  cache.init(kLayers, kCapacity, kKvHeads, head_dim, type);
  const int kv_dim = kKvHeads * head_dim;
  for (int l = 0; l < kLayers; ++l) {
    // Two batches, the second split over unit ranges as threads split it,
    // then two decode steps' single slots (the second split too).
    const int first = slots / 2, batch_end = slots - 2;
    cache.store_keys(l, 0, first, k.data(), kv_dim, 0, cache.key_units());
    const int half_units = cache.key_units() / 2;
    cache.store_keys(l, first, batch_end - first, k.data() + size_t(first) * kv_dim, kv_dim, 0, half_units);
    cache.store_keys(l, first, batch_end - first, k.data() + size_t(first) * kv_dim, kv_dim, half_units,
                     cache.key_units());
    cache.store_keys(l, batch_end, 1, k.data() + size_t(batch_end) * kv_dim, kv_dim, 0, cache.key_units());
    const float* last = k.data() + size_t(slots - 1) * kv_dim;
    cache.store_keys(l, slots - 1, 1, last, kv_dim, 0, half_units);
    cache.store_keys(l, slots - 1, 1, last, kv_dim, half_units, cache.key_units());
    for (int s = 0; s < slots; ++s) cache.store_value(l, s, v.data() + size_t(s) * kv_dim);
  }
  cache.set_length(slots);
  return cache;
}

// Value i of slot s as stored, from the type's own accessors.
float stored_value(const KvCache& c, int layer, int slot, int i) {
  switch (c.type()) {
    case KvType::kF32: return c.value(layer, slot)[i];
    case KvType::kF16: return f16_to_f32(c.value16(layer, slot)[i]);
    case KvType::kQ8_0:
      return f16_to_f32(c.value_scales(layer, i / c.group_size())[slot]) * c.value8(layer, slot)[i];
  }
  return NAN;
}

TEST(KvCache, Q8_0EntriesAreWithinHalfAStepOfTheirGroupsLargest) {
  // Head sizes whose groups are 32 (llama.cpp's block), 16 (Phi-2's 80)
  // and the whole head (stories260K's 8).
  for (const auto& [head_dim, group] : {std::pair{64, 32}, std::pair{80, 16}, std::pair{8, 8}}) {
    SCOPED_TRACE("head_dim " + std::to_string(head_dim));
    const int kv_dim = kKvHeads * head_dim, slots = 21;
    const std::vector<float> k = entries(slots, kv_dim, 1), v = entries(slots, kv_dim, 2);
    const KvCache cache = filled(KvType::kQ8_0, head_dim, k, v, slots);
    EXPECT_EQ(cache.group_size(), group);
    EXPECT_EQ(cache.key_units(), kv_dim / group);
    // One int8 per entry and one F16 scale per group, keys and values.
    const uint64_t n = uint64_t(kLayers) * kCapacity * kv_dim;
    EXPECT_EQ(cache.bytes(), 2 * (n + n / group * 2));
    for (int l = 0; l < kLayers; ++l) {
      for (int s = 0; s < slots; ++s) {
        for (int g = 0; g < kv_dim / group; ++g) {
          float kmax = 0, vmax = 0;
          for (int j = 0; j < group; ++j) {
            kmax = std::max(kmax, std::fabs(k[size_t(s) * kv_dim + g * group + j]));
            vmax = std::max(vmax, std::fabs(v[size_t(s) * kv_dim + g * group + j]));
          }
          // Half a step (max / 127 / 2), and the scale's rounding to F16
          // (2^-11 of it) times |q| <= 127.
          for (int j = 0; j < group; ++j) {
            const int i = g * group + j;
            ASSERT_NEAR(cache.key(l, s, i), k[size_t(s) * kv_dim + i], kmax * (1 / 254.0 + 1 / 2048.0) + 1e-7)
                << "key layer " << l << " slot " << s << " entry " << i;
            ASSERT_NEAR(stored_value(cache, l, s, i), v[size_t(s) * kv_dim + i], vmax * (1 / 254.0 + 1 / 2048.0) + 1e-7)
                << "value layer " << l << " slot " << s << " entry " << i;
          }
        }
      }
    }
  }
}

// F32 and F16 entries read back as the floats stored, rounded to F16 for
// the F16 cache, whether they came in a batch or one decode step's slot.
TEST(KvCache, FloatEntriesReadBackAsStoredFromBatchesAndSingleSlots) {
  for (const KvType type : {KvType::kF32, KvType::kF16}) {
    SCOPED_TRACE(type == KvType::kF32 ? "F32" : "F16");
    const int head_dim = 64, kv_dim = kKvHeads * head_dim, slots = 21;
    const std::vector<float> k = entries(slots, kv_dim, 7), v = entries(slots, kv_dim, 8);
    const KvCache cache = filled(type, head_dim, k, v, slots);
    const auto as_stored = [&](float x) { return type == KvType::kF32 ? x : f16_to_f32(f32_to_f16(x)); };
    for (int l = 0; l < kLayers; ++l) {
      for (int s = 0; s < slots; ++s) {
        for (int i = 0; i < kv_dim; ++i) {
          ASSERT_EQ(cache.key(l, s, i), as_stored(k[size_t(s) * kv_dim + i])) << "key: layer " << l << " slot " << s;
          ASSERT_EQ(stored_value(cache, l, s, i), as_stored(v[size_t(s) * kv_dim + i])) << "value: slot " << s;
        }
      }
    }
  }
}

TEST(KvCache, AttentionProductsEqualDoubleSumsOverTheStoredEntries) {
  for (const KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    for (const int head_dim : {8, 64, 80}) {
      const std::string what = std::string(type == KvType::kF32 ? "F32" : type == KvType::kF16 ? "F16" : "Q8_0") +
                               " head_dim " + std::to_string(head_dim);
      SCOPED_TRACE(what);
      const int kv_dim = kKvHeads * head_dim, slots = 33;
      const std::vector<float> k = entries(slots, kv_dim, 3), v = entries(slots, kv_dim, 4);
      const KvCache cache = filled(type, head_dim, k, v, slots);
      // Three query heads per kv head (grouped-query attention), their rows
      // apart by more than they hold: each must get its own products.
      const int heads = 3, lo = 5, count = slots - lo;
      const size_t q_stride = head_dim + 3, p_stride = slots + 2, sc_stride = count + 4, out_stride = head_dim + 5;
      const std::vector<float> q = entries(heads, int(q_stride), 5), p = entries(heads, int(p_stride), 6);
      for (int h = 0; h < kKvHeads; ++h) {
        std::vector<float> scores(heads * sc_stride, 42.0f), out(heads * out_stride, 42.0f);
        cache.scores(1, h, q.data(), q_stride, heads, lo, count, scores.data(), sc_stride);
        cache.mix_values(1, h, p.data(), p_stride, heads, lo, count, out.data(), out_stride);
        for (int j = 0; j < heads; ++j) {
          for (int s = 0; s < count; ++s) {
            double want = 0, mag = 0;
            for (int d = 0; d < head_dim; ++d) {
              const double term = double(q[j * q_stride + d]) * cache.key(1, lo + s, h * head_dim + d);
              want += term;
              mag += std::fabs(term);
            }
            ASSERT_NEAR(scores[j * sc_stride + s], want, 1e-5 * mag + 1e-6) << "score " << s << " head " << h << "/" << j;
          }
          for (int d = 0; d < head_dim; ++d) {
            double want = 0, mag = 0;
            for (int s = 0; s < count; ++s) {
              const double term = double(p[j * p_stride + s]) * stored_value(cache, 1, lo + s, h * head_dim + d);
              want += term;
              mag += std::fabs(term);
            }
            ASSERT_NEAR(out[j * out_stride + d], want, 1e-5 * mag + 1e-6) << "value " << d << " head " << h << "/" << j;
          }
          for (size_t i = count; i < sc_stride; ++i) EXPECT_EQ(scores[j * sc_stride + i], 42.0f) << "wrote past count";
          for (size_t i = head_dim; i < out_stride; ++i) EXPECT_EQ(out[j * out_stride + i], 42.0f) << "wrote past head_dim";
        }
      }
    }
  }
}

}  // namespace
}  // namespace mlxpack::test
