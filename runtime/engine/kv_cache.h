// Keys and values of every layer for the positions in the context window,
// with StreamingLLM eviction (Xiao et al., "Efficient Streaming Language
// Models with Attention Sinks", 2023): the first `sinks` positions stay, the
// oldest of the rest go in one batch, and positions are those in the cache,
// not in the text. Keys are stored already rotated (RoPE) at their cache
// position; evicting d positions shifts the kept keys down d slots and
// rotates them back by d positions, which is exact because RoPE rotations
// compose additively. Batching the eviction amortizes that rotation.
//
// Entries are F32 or F16. F16 (llama.cpp's default cache type) halves what
// attention reads per position, the largest cost of a decode step after the
// weights once the context is long, and the cache's memory; keys and values
// are rounded once as they are stored (and a kept key again when an
// eviction rotates it).
#ifndef MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_
#define MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/aligned.h"

namespace mlxpack::engine {

class Rope;

enum class KvType { kF32, kF16 };

class KvCache {
 public:
  // capacity positions of kv_dim values (kv heads x head_dim) per layer.
  void init(int layers, int capacity, int kv_heads, int head_dim, KvType type);

  KvType type() const { return type_; }
  int capacity() const { return capacity_; }
  int length() const { return length_; }
  void set_length(int length) { length_ = length; }
  size_t bytes() const { return 2 * elements_ * element_bytes(); }

  // Slot `slot` of `layer`: kv_dim values, rows one kv_dim apart.
  // REQUIRES: type() == KvType::kF32 for key()/value(), kF16 for key16()/value16().
  float* key(int layer, int slot) { return reinterpret_cast<float*>(at(keys_.get(), layer, slot)); }
  float* value(int layer, int slot) { return reinterpret_cast<float*>(at(values_.get(), layer, slot)); }
  const float* key(int layer, int slot) const { return reinterpret_cast<const float*>(at(keys_.get(), layer, slot)); }
  const float* value(int layer, int slot) const {
    return reinterpret_cast<const float*>(at(values_.get(), layer, slot));
  }
  uint16_t* key16(int layer, int slot) { return reinterpret_cast<uint16_t*>(at(keys_.get(), layer, slot)); }
  uint16_t* value16(int layer, int slot) { return reinterpret_cast<uint16_t*>(at(values_.get(), layer, slot)); }
  const uint16_t* key16(int layer, int slot) const {
    return reinterpret_cast<const uint16_t*>(at(keys_.get(), layer, slot));
  }
  const uint16_t* value16(int layer, int slot) const {
    return reinterpret_cast<const uint16_t*>(at(values_.get(), layer, slot));
  }

  // Stores kv_dim floats of key and value at (layer, slot), converted to
  // the cache's type.
  void store(int layer, int slot, const float* k, const float* v);

  // Drops positions [sinks, sinks + count) of every layer, moves the later
  // ones down and re-rotates their keys by -count positions.
  // REQUIRES: sinks + count <= length().
  void evict(int sinks, int count, const Rope& rope);

 private:
  size_t element_bytes() const { return type_ == KvType::kF16 ? 2 : 4; }
  uint8_t* at(uint8_t* base, int layer, int slot) const {
    return base + (static_cast<size_t>(layer) * capacity_ + static_cast<size_t>(slot)) * kv_dim_ * element_bytes();
  }
  const uint8_t* at(const uint8_t* base, int layer, int slot) const {
    return base + (static_cast<size_t>(layer) * capacity_ + static_cast<size_t>(slot)) * kv_dim_ * element_bytes();
  }
  KvType type_ = KvType::kF32;
  int layers_ = 0;
  int capacity_ = 0;
  int kv_heads_ = 0;
  int head_dim_ = 0;
  int kv_dim_ = 0;
  int length_ = 0;
  size_t elements_ = 0;
  // Left uninitialized: pages are touched (and count in RSS) only as the
  // context fills; a slot is always written before it is read.
  kernels::AlignedArray<uint8_t> keys_;
  kernels::AlignedArray<uint8_t> values_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_KV_CACHE_H_
