// Open-addressing hash tables for the tokenizer's two hot lookups: token
// string -> id, and merge pair -> (rank, id). One flat array each, no node
// allocations: building a 128,000-token vocabulary with 280,000 merges and
// looking pairs up while merging both cost one cache miss per probe instead
// of a pointer chase through std::unordered_map's nodes.
#ifndef MLXPACK_RUNTIME_TOKENIZER_FLAT_MAP_H_
#define MLXPACK_RUNTIME_TOKENIZER_FLAT_MAP_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlxpack::tokenizer {

inline uint64_t hash_bytes(std::string_view s) {
  // FNV-1a, then a final mix so the low bits used for the slot are good.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Token string -> id. The strings live in the caller's id -> token table,
// which must not change while the map is in use.
class TokenIdMap {
 public:
  void build(const std::vector<std::string>* tokens) {
    tokens_ = tokens;
    size_t capacity = 16;
    while (capacity < tokens->size() * 2) capacity <<= 1;
    slots_.assign(capacity, Slot{0, -1});
    mask_ = capacity - 1;
    for (size_t id = 0; id < tokens->size(); ++id) {
      const std::string& t = (*tokens)[id];
      if (t.empty()) continue;
      const uint64_t h = hash_bytes(t);
      for (size_t i = h & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].id < 0) {
          slots_[i] = Slot{static_cast<uint32_t>(h), static_cast<int32_t>(id)};
          break;
        }
        if (slots_[i].hash == static_cast<uint32_t>(h) && (*tokens)[static_cast<size_t>(slots_[i].id)] == t) break;
      }
    }
  }
  // -1 if absent.
  int32_t find(std::string_view s) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(s);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id < 0) return -1;
      if (slot.hash == static_cast<uint32_t>(h) && (*tokens_)[static_cast<size_t>(slot.id)] == s) return slot.id;
    }
  }

 private:
  struct Slot {
    uint32_t hash;
    int32_t id;
  };
  const std::vector<std::string>* tokens_ = nullptr;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// (left id, right id) -> (rank, merged id). Insert overwrites.
class MergeMap {
 public:
  struct Target {
    int32_t rank;
    int32_t id;
  };
  // Load factor at most 3/4: Llama 3's 280,000 merges fit in 2^19 slots
  // (8 MiB) at 0.53, where "at most 1/2" would double that.
  void reserve(size_t n) {
    size_t capacity = 16;
    while (capacity * 3 < n * 4) capacity <<= 1;
    slots_.assign(capacity, Slot{kEmpty, {0, 0}});
    mask_ = capacity - 1;
  }
  void insert(uint64_t key, Target target) {
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty || slots_[i].key == key) {
        slots_[i] = Slot{key, target};
        return;
      }
    }
  }
  const Target* find(uint64_t key) const {
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.target;
      if (slot.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;  // ids are < 2^31, so never a real key
  struct Slot {
    uint64_t key;
    Target target;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_FLAT_MAP_H_
