// Keys and values of every layer for the positions in the context window,
// with StreamingLLM eviction (Xiao et al., "Efficient Streaming Language
// Models with Attention Sinks", 2023): the first `sinks` positions stay, the
// oldest of the rest go in one batch, and positions are those in the cache,
// not in the text. Keys are stored already rotated (RoPE) at their cache
// position; evicting d positions shifts the kept keys down d slots and
// rotates them back by d positions, which is exact because RoPE rotations
// compose additively. Batching the eviction amortizes that rotation.
//
// Layout. Values are position-major (a slot's kv_dim values together: the
// weighted sum adds whole rows). Keys are dimension-major: per layer, row i
// (i = head * head_dim + d) holds dimension d of kv head `head` for every
// slot, so a head's scores over positions lo..hi are a weighted sum of its
// head_dim rows with q's values as weights: vertical multiply-adds over
// contiguous positions, where position-major keys needed a horizontal
// reduction per position (the dot products were a quarter of a 110M decode
// step at 1,280 positions).
//
// Entries are F32, F16 or Q8_0. F16 (llama.cpp's default cache type)
// halves the cache's memory and what attention reads per position; keys
// and values are rounded once as they are stored (and a kept key again
// when an eviction rotates it). Q8_0 is llama.cpp's q8_0 block per slot:
// each head's row is cut in groups of G = gcd(head_dim, 32) values stored
// as int8 q with one F16 scale d = max|x| / 127, x ~ d * q. Per head, a
// group's scales are one more dimension-major row (capacity scales), so
// attention reads a key group as G int8 rows plus a scale row and a score
// is sum over groups of d_g[s] * <q_g, k_g[s]>; a value group the same way
// with d_g[s] folded into the probability. At G = 32: 34 bytes per 32
// values, 27% of F32.
#ifndef MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_
#define MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kernels/aligned.h"

namespace mlxpack::engine {

class Rope;

enum class KvType { kF32, kF16, kQ8_0 };

class KvCache {
 public:
  // capacity positions of kv_dim values (kv heads x head_dim) per layer.
  void init(int layers, int capacity, int kv_heads, int head_dim, KvType type);
  // The bytes init() allocates (each factor is an int, so the product of
  // these few fits in 64 bits).
  static uint64_t bytes_for(int layers, int capacity, int kv_heads, int head_dim, KvType type);

  KvType type() const { return type_; }
  int capacity() const { return capacity_; }
  int length() const { return length_; }
  void set_length(int length) { length_ = length; }
  uint64_t bytes() const { return bytes_for(layers_, capacity_, kv_heads_, head_dim_, type_); }
  // Q8_0: values per scale (G above); 0 for the float types.
  int group_size() const { return group_; }

  // Key row i of `layer` (see Layout): capacity values, slot s at [s].
  // Rows are capacity() values apart.
  // REQUIRES: type() == KvType::kF32 for key_row(), kF16 for key_row16(),
  // kQ8_0 for key_row8().
  const float* key_row(int layer, int i) const { return reinterpret_cast<const float*>(key_at(layer, i)); }
  const uint16_t* key_row16(int layer, int i) const { return reinterpret_cast<const uint16_t*>(key_at(layer, i)); }
  const int8_t* key_row8(int layer, int i) const { return reinterpret_cast<const int8_t*>(key_at(layer, i)); }
  // Q8_0: the F16 scales of key group g (rows g * G .. g * G + G - 1) of
  // `layer`, slot s at [s]; value_scales the same for the values' group g.
  const uint16_t* key_scales(int layer, int g) const { return key_scales_.get() + scale_row(layer, g); }
  const uint16_t* value_scales(int layer, int g) const { return value_scales_.get() + scale_row(layer, g); }
  // Slot `slot`'s kv_dim values of `layer`; slots are kv_dim values apart.
  // REQUIRES: as for the keys.
  const float* value(int layer, int slot) const { return reinterpret_cast<const float*>(value_at(layer, slot)); }
  const uint16_t* value16(int layer, int slot) const {
    return reinterpret_cast<const uint16_t*>(value_at(layer, slot));
  }
  const int8_t* value8(int layer, int slot) const { return reinterpret_cast<const int8_t*>(value_at(layer, slot)); }
  // Value i of slot `slot`'s key as a float, any type (for tests).
  float key(int layer, int slot, int i) const;

  // Attention's two products over kv head h of `layer`, slots lo..lo+count-1,
  // for any entry type, for `heads` query heads j that share the kv head
  // (each key and value is read once for all of them): scores[j *
  // scores_stride + s] = <q_j, key of slot lo + s> (q_j = q + j * q_stride:
  // head_dim floats), out_j = sum_s p_j[s] * value of slot lo + s (p_j = p
  // + j * p_stride; out_j = out + j * out_stride: head_dim floats).
  // Thread-safe (scratch is per thread).
  void scores(int layer, int h, const float* q, size_t q_stride, int heads, int lo, int count, float* scores,
              size_t scores_stride) const;
  void mix_values(int layer, int h, const float* p, size_t p_stride, int heads, int lo, int count, float* out,
                  size_t out_stride) const;

  // The value of one slot (kv_dim floats), converted to the cache's type.
  // Calls for different slots may run concurrently.
  void store_value(int layer, int slot, const float* v);
  // Key units [u0, u1) of slots slot..slot+n-1: slot + t's key is the
  // kv_dim floats at k + t * ld. A unit is a row (F32, F16) or a group of
  // G rows quantized together (Q8_0); key_units() of them in all. A batch
  // is written row by row, each row's n slots in one run (one slot at a
  // time, every store touched another cache line). Calls for disjoint unit
  // ranges may run concurrently.
  void store_keys(int layer, int slot, int n, const float* k, size_t ld, int u0, int u1);
  int key_units() const { return group_ > 0 ? kv_dim_ / group_ : kv_dim_; }

  // Drops positions [sinks, sinks + count) of every layer, moves the later
  // ones down and re-rotates their keys by -count positions, layer l with
  // layer_ropes[l] (nullptr: a layer without RoPE, whose keys stay).
  // REQUIRES: sinks + count <= length(); one entry per layer.
  void evict(int sinks, int count, const std::vector<const Rope*>& layer_ropes);

 private:
  // Turns the keys of slots [first_slot, first_slot + n) of `layer` back
  // by `by` positions.
  void rotate_keys(int layer, int first_slot, int n, int by, const Rope& rope);
  // Q8_0: key group g of slots slot..slot+n-1 in, value j of slot + t at
  // x[t * ld + j].
  void quantize_key_group(int layer, int g, int slot, int n, const float* x, size_t ld);
  // Q8_0: slots [slot, slot + n) of key rows [first, first + G) out as
  // floats: rows[d][t] for d < G.
  void dequantize_key_group(int layer, int g, int slot, int n, float* const* rows) const;
  size_t element_bytes() const { return type_ == KvType::kF32 ? 4 : type_ == KvType::kF16 ? 2 : 1; }
  size_t scale_row(int layer, int g) const {
    return (static_cast<size_t>(layer) * (kv_dim_ / group_) + g) * capacity_;
  }
  size_t layer_elements() const { return static_cast<size_t>(capacity_) * kv_dim_; }
  uint8_t* key_at(int layer, int i) const {
    return keys_.get() + (layer * layer_elements() + static_cast<size_t>(i) * capacity_) * element_bytes();
  }
  uint8_t* value_at(int layer, int slot) const {
    return values_.get() + (layer * layer_elements() + static_cast<size_t>(slot) * kv_dim_) * element_bytes();
  }
  KvType type_ = KvType::kF32;
  int layers_ = 0;
  int capacity_ = 0;
  int kv_heads_ = 0;
  int head_dim_ = 0;
  int kv_dim_ = 0;
  int length_ = 0;
  int group_ = 0;
  size_t elements_ = 0;
  // Left uninitialized: pages are touched (and count in RSS) only as the
  // context fills; a slot is always written before it is read.
  kernels::AlignedArray<uint8_t> keys_;
  kernels::AlignedArray<uint8_t> values_;
  kernels::AlignedArray<uint16_t> key_scales_;    // Q8_0 only
  kernels::AlignedArray<uint16_t> value_scales_;  // Q8_0 only
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_
