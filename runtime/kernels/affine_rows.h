// The one-row loop of the fused affine matrix-vector products (the scalar
// table's, and the AVX-512 8-bit kernel's for rows with a 32-value tail),
// compiled with each including file's instruction set so that the per-row
// work (scale and bias conversion, the bias term, the dot product) inlines
// into one loop. The SIMD tables' main kernels go further (row blocks that
// read scales and biases in place as vectors; see kernels_avx512.cpp).
// Also the per-row parameter helpers the matrix-matrix kernels share.
#ifndef MLXPACK_RUNTIME_KERNELS_AFFINE_ROWS_H_
#define MLXPACK_RUNTIME_KERNELS_AFFINE_ROWS_H_

#include <cstdint>
#include <cstring>

#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

using AffineDot = float (*)(const uint8_t* packed, const float* scale, int shift, const int8_t* x, const float* d,
                            int n);
using HalfToFloat = void (*)(const uint16_t* in, float* out, int n);

// Row n's group scales and biases as floats: pointers into the mapping for
// F32 parameters (the format aligns every tensor to at least 4 bytes), else
// widened into scratch (2 * groups floats).
template <HalfToFloat F16, HalfToFloat BF16>
void row_params(const AffineRows& w, int n, float* scratch, const float** scales, const float** biases) {
  const int groups = w.cols / w.group_size;
  const uint64_t param_bytes = static_cast<uint64_t>(groups) * (w.scale_kind == ScaleKind::kF32 ? 4 : 2);
  const uint8_t* s = w.scales + static_cast<uint64_t>(n) * param_bytes;
  const uint8_t* b = w.biases + static_cast<uint64_t>(n) * param_bytes;
  switch (w.scale_kind) {
    case ScaleKind::kF16:
      F16(reinterpret_cast<const uint16_t*>(s), scratch, groups);
      F16(reinterpret_cast<const uint16_t*>(b), scratch + groups, groups);
      break;
    case ScaleKind::kBF16:
      BF16(reinterpret_cast<const uint16_t*>(s), scratch, groups);
      BF16(reinterpret_cast<const uint16_t*>(b), scratch + groups, groups);
      break;
    case ScaleKind::kF32:
      *scales = reinterpret_cast<const float*>(s);
      *biases = reinterpret_cast<const float*>(b);
      return;
  }
  *scales = scratch;
  *biases = scratch + groups;
}

// The matrix-matrix kernels' per-lane weight scales of one row: lane j of
// chunk ch sums values of block 4 ch + j / 4 (4-bit, 128-value chunks) or
// 2 ch + j / 8 (8-bit, 64-value chunks); 16 floats per chunk.
inline void spread_lane_scales(const float* scales, int bits, int chunks, int group_size, float* lanes) {
  const int blocks_per_group = group_size / kBlock;
  for (int ch = 0; ch < chunks; ++ch) {
    for (int j = 0; j < 16; ++j) {
      const int block = bits == 4 ? ch * 4 + j / 4 : ch * 2 + j / 8;
      lanes[ch * 16 + j] = scales[block / blocks_per_group];
    }
  }
}

template <AffineDot Dot, HalfToFloat F16, HalfToFloat BF16>
void affine_rows(const AffineRows& w, const AffineInput& in, float* scratch, float* y, int n0, int n1) {
  const int groups = w.cols / w.group_size;
  const int blocks_per_group = w.group_size / kBlock;
  const int shift = blocks_per_group == 1 ? 0 : blocks_per_group == 2 ? 1 : 2;  // group sizes 32, 64, 128
  for (int n = n0; n < n1; ++n) {
    const float* scales;
    const float* biases;
    row_params<F16, BF16>(w, n, scratch, &scales, &biases);
    // sum_k x_k (s_g q_k + b_g) = sum_b s_g d_b <q, xq>_b + sum_g b_g sum_{k in g} x_k
    // Four partial sums: a row has few groups (12 for a 768-wide row at
    // group 64), too few for a vector dot's set-up and reduction to pay.
    float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int g = 0;
    for (; g + 4 <= groups; g += 4) {
      for (int j = 0; j < 4; ++j) part[j] += biases[g + j] * in.group_sum[g + j];
    }
    for (; g < groups; ++g) part[0] += biases[g] * in.group_sum[g];
    const float bias_term = (part[0] + part[1]) + (part[2] + part[3]);
    const uint8_t* row = w.data + static_cast<uint64_t>(n) * w.row_bytes;
    prefetch_ahead(row, w.row_bytes);
    const float dot = Dot(row, scales, shift, in.xq, in.d, w.cols);
    y[n] = dot + bias_term + (w.out_bias != nullptr ? w.out_bias[n] : 0.0f);
  }
}

}  // namespace mlxpack::kernels

#endif  // MLXPACK_RUNTIME_KERNELS_AFFINE_ROWS_H_
