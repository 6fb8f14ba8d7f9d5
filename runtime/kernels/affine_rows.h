// The one-row loop of the fused affine matrix-vector products (the scalar
// table's, and the AVX-512 8-bit kernel's for rows with a 32-value tail),
// compiled with each including file's instruction set so that the per-row
// work (scale and bias conversion, the bias term, the dot product) inlines
// into one loop. The SIMD tables' main kernels go further (row blocks that
// read scales and biases in place as vectors; see kernels_avx512.cpp).
// Also the per-row parameter helpers and the blocked driver the
// matrix-matrix kernels share.
#ifndef MLXPACK_RUNTIME_KERNELS_AFFINE_ROWS_H_
#define MLXPACK_RUNTIME_KERNELS_AFFINE_ROWS_H_

#include <algorithm>
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
  const uint64_t param_bytes = static_cast<uint64_t>(groups) * (w.scale_kind == ParamKind::kF32 ? 4 : 2);
  const uint8_t* s = w.scales + static_cast<uint64_t>(n) * param_bytes;
  const uint8_t* b = w.biases + static_cast<uint64_t>(n) * param_bytes;
  switch (w.scale_kind) {
    case ParamKind::kF16:
      F16(reinterpret_cast<const uint16_t*>(s), scratch, groups);
      F16(reinterpret_cast<const uint16_t*>(b), scratch + groups, groups);
      break;
    case ParamKind::kBF16:
      BF16(reinterpret_cast<const uint16_t*>(s), scratch, groups);
      BF16(reinterpret_cast<const uint16_t*>(b), scratch + groups, groups);
      break;
    case ParamKind::kF32:
      *scales = reinterpret_cast<const float*>(s);
      *biases = reinterpret_cast<const float*>(b);
      return;
    case ParamKind::kAffine:  // never: scales and biases are floats (model_weights.cpp)
      break;
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

// The matrix-matrix (prefill) driver the SIMD tables share around their
// register tile. Tile(rows, lanes, xs, ds, chunks, out) multiplies kR weight
// rows (packed bytes, 16 lane scales per chunk) by kC activation rows (int8
// values, lane scales) over `chunks` chunks of 128 (4-bit) or 64 (8-bit)
// values, 64 packed bytes each, into out[r * kC + c].
//
// Blocking. The weight rows go in panels whose lane scales and biases are
// prepared once (and stay in L2 with the panel's bytes), the batch in
// blocks of kGemmBlockRows activation rows that every kR-row group of the
// panel passes over. A block's results gather in a small buffer, a run of
// activation rows per weight row, and reach y as contiguous runs of y's
// rows: written straight into y, column by column (a 16 KiB stride for a
// gate/up output), the stores fell into a few cache sets and evicted each
// other, and at m = 128 and 768 columns the AVX-512 kernel ran at half its
// speed on 16 rows (one core: 54 and 48 GMAC/s for 4 and 8 bits, now 120
// and 94). Cutting the columns into L1-sized slices as well measured slower
// (89 against 100 GMAC/s, 8-bit, 2048 columns): L2 keeps up with a block.
inline constexpr int kGemmPanelBytes = 192 << 10;

template <int kBits, int kR, int kC, auto Tile, HalfToFloat F16, HalfToFloat BF16>
void affine_gemm_blocked(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                         int n1) {
  static_assert(kGemmBlockRows % kC == 0 && kGemmPanelRows % kR == 0, "tiles divide blocks and panels");
  static_assert(kBits == 4 || kBits == 8, "4- and 8-bit weights");
  constexpr int values = kBits == 4 ? 128 : 64;  // per chunk
  const int chunks = w.cols / values;
  const int groups = w.cols / w.group_size;
  // A weight row's chunk is 64 packed bytes and 16 float lane scales.
  const int panel = std::max(kR, std::min(kGemmPanelBytes / (chunks * 128) / kR * kR, kGemmPanelRows));
  float* lane_scales = scratch;                                      // panel rows x chunks x 16
  float* panel_biases = lane_scales + kGemmPanelRows * chunks * 16;  // panel rows x groups
  float* params = panel_biases + kGemmPanelRows * groups;            // one row's 2 x groups
  alignas(64) float block[kGemmPanelRows * kGemmBlockRows];          // [weight row][activation row]
  const int8_t* xq = kBits == 4 ? x.xq : x.xq8;
  const float* dlanes = kBits == 4 ? x.dlanes : x.dlanes8;
  const uint8_t* rows[kR];
  const float* lanes[kR];
  const int8_t* xs[kC];
  const float* ds[kC];
  float out[kR * kC];
  for (int p0 = n0; p0 < n1; p0 += panel) {
    const int np = std::min(panel, n1 - p0);
    for (int r = 0; r < np; ++r) {
      const float* scales;
      const float* biases;
      row_params<F16, BF16>(w, p0 + r, params, &scales, &biases);
      spread_lane_scales(scales, kBits, chunks, w.group_size, lane_scales + static_cast<size_t>(r) * chunks * 16);
      std::memcpy(panel_biases + static_cast<size_t>(r) * groups, biases, sizeof(float) * groups);
    }
    for (int i0 = 0; i0 < x.m; i0 += kGemmBlockRows) {
      const int mb = std::min(kGemmBlockRows, x.m - i0);
      // The bias part first, sum_g b_g * sum_{k in g} x_k (the group sums
      // are transposed: the block's rows are adjacent, and padded so a
      // short last block reads whole vectors); the dot products are added
      // to it. A local accumulator of fixed length: one vector operation per
      // group.
      for (int r = 0; r < np; ++r) {
        const float* b = panel_biases + static_cast<size_t>(r) * groups;
        float acc[kGemmBlockRows];
        const float ob = w.out_bias != nullptr ? w.out_bias[p0 + r] : 0.0f;
        for (int i = 0; i < kGemmBlockRows; ++i) acc[i] = ob;
        for (int g = 0; g < groups; ++g) {
          const float bg = b[g];
          const float* gs = x.group_sum_t + static_cast<size_t>(g) * x.m + i0;
          for (int i = 0; i < kGemmBlockRows; ++i) acc[i] += bg * gs[i];
        }
        std::memcpy(block + r * kGemmBlockRows, acc, sizeof(acc));
      }
      for (int g = 0; g < np; g += kR) {
        const int nr = std::min(kR, np - g);
        for (int r = 0; r < kR; ++r) {
          const int row = g + std::min(r, nr - 1);  // edge rows repeat the last one; results dropped
          rows[r] = w.data + static_cast<uint64_t>(p0 + row) * w.row_bytes;
          lanes[r] = lane_scales + static_cast<size_t>(row) * chunks * 16;
        }
        for (int i = 0; i < mb; i += kC) {
          const int mr = std::min(kC, mb - i);
          for (int c = 0; c < kC; ++c) {
            const uint64_t row = static_cast<uint64_t>(i0 + i + std::min(c, mr - 1));
            xs[c] = xq + row * w.cols;
            ds[c] = dlanes + row * chunks * 16;
          }
          Tile(rows, lanes, xs, ds, chunks, out);
          for (int r = 0; r < nr; ++r) {
            for (int c = 0; c < mr; ++c) block[(g + r) * kGemmBlockRows + i + c] += out[r * kC + c];
          }
        }
      }
      for (int i = 0; i < mb; ++i) {
        float* yi = y + static_cast<uint64_t>(i0 + i) * ldy + p0;
        for (int r = 0; r < np; ++r) yi[r] = block[r * kGemmBlockRows + i];
      }
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
