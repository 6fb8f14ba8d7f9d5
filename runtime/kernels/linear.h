// y = W x for the weights a model holds in place in its mapping: F32, F16,
// BF16, and MLX affine-quantized (2, 3, 4, 5, 6, 8 bits, any group size that
// divides the row) with F32/F16/BF16 scales and biases. Nothing is
// dequantized ahead of time: each row is expanded into a small per-thread
// buffer as it is used, and quantized rows are multiplied against int8
// activations (blocks of 32 with a float scale each), the way llama.cpp
// multiplies its Q4/Q8 weights.
#ifndef MLXPACK_RUNTIME_KERNELS_LINEAR_H_
#define MLXPACK_RUNTIME_KERNELS_LINEAR_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kernels/aligned.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

// A [rows, cols] weight (out features x in features) viewed in place.
struct Weight {
  ParamKind kind = ParamKind::kF32;
  int rows = 0;
  int cols = 0;
  const uint8_t* data = nullptr;  // rows x row_bytes
  uint64_t row_bytes = 0;
  // kAffine only: q in `bits` bits, LSB first; per row cols/group_size
  // scales and biases of kind scale_kind (kF32, kF16 or kBF16).
  int bits = 0;
  int group_size = 0;
  ParamKind scale_kind = ParamKind::kF32;
  const uint8_t* scales = nullptr;
  const uint8_t* biases = nullptr;
  // Optional output bias, one float per row (q/k/v biases).
  const float* bias = nullptr;
};

// The kernel table in use: the best the CPU supports, unless
// MLXPACK_KERNELS=scalar|avx2|avx512 names another (for comparisons).
const KernelTable* active_table();
// Every table this CPU can run, scalar first, best last.
std::vector<const KernelTable*> supported_tables();
// Overrides the choice (tests compare tables); nullptr restores the default.
void set_active_table(const KernelTable* table);

// M rows of K floats, plus their int8 block form when K % 32 == 0. Buffers
// grow to the largest shape seen and are reused: no allocation per token.
class Activations {
 public:
  // Views x (m rows of k floats) and quantizes every row.
  void set(const float* x, int m, int k) {
    prepare(x, m, k);
    quantize_rows(0, m);
  }
  // set() in two steps, for callers that spread rows over threads:
  // prepare() sizes the buffers (one thread, before the others);
  // quantize_rows() fills rows [begin, end), and calls with disjoint ranges
  // may run concurrently. The rows of x must hold their values by then.
  void prepare(const float* x, int m, int k);
  void quantize_rows(int begin, int end);
  int m() const { return m_; }
  int k() const { return k_; }
  const float* row(int i) const { return x_ + static_cast<size_t>(i) * k_; }
  bool quantized() const { return quantized_; }
  const int8_t* q(int i) const { return xq_.data() + static_cast<size_t>(i) * k_; }
  const float* d(int i) const { return d_.data() + static_cast<size_t>(i) * (k_ / kBlock); }
  const float* sum(int i) const { return sum_.data() + static_cast<size_t>(i) * (k_ / kBlock); }
  const int32_t* isum(int i) const { return isum_.data() + static_cast<size_t>(i) * (k_ / kBlock); }
  // Row i of xq in nibble order (k % 128 == 0 only): per 128 values the 64
  // at even positions, then the 64 at odd positions, matching how 4-bit
  // weights pack two values per byte.
  bool has_nibble_order() const { return quantized_ && k_ % 128 == 0; }
  const int8_t* q_nibble(int i) const { return xq4_.data() + static_cast<size_t>(i) * k_; }
  // Row i's lane scales per chunk of the fused kernels (see AffineInput):
  // 4-bit, k % 128 == 0 only; 8-bit, k % 64 == 0 only.
  const float* dlanes(int i) const { return dlanes_.data() + static_cast<size_t>(i) * (k_ / 128) * 16; }
  const float* dlanes8(int i) const { return dlanes8_.data() + static_cast<size_t>(i) * (k_ / 64) * 16; }
  // Sums of the float values of row i per group of `group` (32, 64, 128).
  const float* group_sum(int i, int group) const;
  // Every row as one batch for the 4- and 8-bit matrix-matrix kernels (see
  // AffineBatch). REQUIRES: has_nibble_order() and m() >= 4.
  AffineBatch batch(int group) const;

 private:
  const float* x_ = nullptr;
  int m_ = 0;
  int k_ = 0;
  bool quantized_ = false;
  AlignedVector<int8_t> xq_;
  AlignedVector<float> d_;
  AlignedVector<float> sum_;
  AlignedVector<int32_t> isum_;
  AlignedVector<int8_t> xq4_;
  AlignedVector<float> gsum64_;
  AlignedVector<float> gsum128_;
  AlignedVector<float> dlanes_;
  AlignedVector<float> dlanes8_;
  AlignedVector<float> gsum_t_;  // transposed group sums: 32, then 64, then 128
  bool strips_ = false;  // the active table has the VNNI strip kernel: xq_strips_ is built
  AlignedVector<int8_t> xq_strips_;
  AlignedVector<float> d_strips_;
  bool tiles_ = false;  // the active table has the AMX kernel: xq_tiles_ is built
  AlignedVector<int8_t> xq_tiles_;
  AlignedVector<float> d_tiles_;
};

// y[i * ldy + n] = sum_k x.row(i)[k] * W[n, k] (+ bias[n]) for every i < x.m()
// and n in [n0, n1). REQUIRES: x.k() == w.cols; for kAffine x.quantized().
void linear_rows(const Weight& w, const Activations& x, float* y, int ldy, int n0, int n1);

// Row `row` of W as floats (embedding look-up); out holds w.cols floats.
void weight_row(const Weight& w, int row, float* out);

// Reads one scale/bias value of kind kF32/kF16/kBF16.
float load_scalar(const uint8_t* p, ParamKind kind, int i);

// Unpacks `n` values of `bits` bits (LSB-first stream) starting at value 0.
void unpack_bits(const uint8_t* packed, int bits, uint8_t* out, int n);

}  // namespace mlxpack::kernels

#endif  // MLXPACK_RUNTIME_KERNELS_LINEAR_H_
