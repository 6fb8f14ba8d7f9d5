#include "format/checksum.h"

#include <cstdio>

#include "format/cpu_features.h"
#include "format/src/checksum_impl.h"

namespace mlxpack {
namespace checksum_impl {
namespace {

struct Choice {
  const Table* table;
  const char* name;
};

// The widest build the CPU runs. XXH3's AVX-512 loop hashes a cache-resident
// buffer about 1.4x faster than its AVX2 loop here; from memory both are
// bound by the read bandwidth, so verify feeds it cache-sized chunks.
Choice pick() {
  const CpuFeatures& cpu = cpu_features();
  if (cpu.avx512f && avx512_table() != nullptr) return {avx512_table(), "avx512"};
  if (cpu.avx2 && avx2_table() != nullptr) return {avx2_table(), "avx2"};
  return {&generic_table(), "generic"};
}

const Choice& choice() {
  static const Choice c = pick();
  return c;
}

}  // namespace

const Table& active_table() { return *choice().table; }
const char* active_name() { return choice().name; }

}  // namespace checksum_impl

namespace {
const checksum_impl::Table& table() { return checksum_impl::active_table(); }
}  // namespace

std::string Checksum128::to_hex() const {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(high64),
                static_cast<unsigned long long>(low64));
  return buf;
}

Checksum128 checksum_bytes(const void* data, size_t size) {
  Checksum128 c;
  table().oneshot(data, size, &c.low64, &c.high64);
  return c;
}

struct Hasher::State {
  checksum_impl::StateStorage storage;
};

Hasher::Hasher() : state_(std::make_unique<State>()) { table().reset(&state_->storage); }
Hasher::~Hasher() = default;

void Hasher::update(const void* data, size_t size) { table().update(&state_->storage, data, size); }

Checksum128 Hasher::digest() const {
  Checksum128 c;
  table().digest(&state_->storage, &c.low64, &c.high64);
  return c;
}

const char* checksum_implementation() { return checksum_impl::active_name(); }

}  // namespace mlxpack
