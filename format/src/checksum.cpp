#include "format/checksum.h"

#include <cstdio>

#include "format/cpu_features.h"
#include "format/src/checksum_impl.h"

namespace mlxpack {
namespace {

const checksum_impl::Table& pick_table() {
  if (cpu_features().avx2) {
    if (const checksum_impl::Table* t = checksum_impl::avx2_table()) return *t;
  }
  return checksum_impl::generic_table();
}

const checksum_impl::Table& table() {
  static const checksum_impl::Table& t = pick_table();
  return t;
}

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

const char* checksum_implementation() {
  return &table() == &checksum_impl::generic_table() ? "generic" : "avx2";
}

}  // namespace mlxpack
