// Cache-line-aligned buffers for the vectors the kernels read. A 64-byte
// vector load that straddles two cache lines costs two loads, and the
// prefill's products load an activation vector per few multiply-adds: with
// operator new's 16-byte alignment the FP32 4x4 tile ran at 51 GMAC/s in L1
// instead of 91 (one core of this machine, aligned vs offset by 16 bytes).
// Rows stay aligned when their length is a multiple of 16 floats, as every
// supported model's widths are.
#ifndef MLXPACK_RUNTIME_KERNELS_ALIGNED_H_
#define MLXPACK_RUNTIME_KERNELS_ALIGNED_H_

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace mlxpack::kernels {

inline constexpr std::size_t kBufferAlignment = 64;

template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}  // NOLINT: rebinding is implicit by design
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kBufferAlignment}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{kBufferAlignment}); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

// An aligned array of a trivial type left uninitialized (its pages are
// touched only as they are written, so they count in RSS only then).
template <typename T>
struct AlignedDelete {
  void operator()(T* p) const { ::operator delete[](p, std::align_val_t{kBufferAlignment}); }
};
template <typename T>
using AlignedArray = std::unique_ptr<T[], AlignedDelete<T>>;

template <typename T>
AlignedArray<T> make_uninitialized(std::size_t n) {
  return AlignedArray<T>(static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{kBufferAlignment})));
}

}  // namespace mlxpack::kernels

#endif  // MLXPACK_RUNTIME_KERNELS_ALIGNED_H_
