// The AVX-512 table (with BF16) plus AMX for the prefill's quantized
// matrix-matrix products (Sapphire Rapids and later Intel cores). One
// TDPBSUD multiplies a 16 x 32 tile of int8 activations by a 32 x 16 tile
// of unsigned weight bytes into 16 x 16 int32 sums: 8,192 multiply-adds,
// where a 512-bit vpdpbusd does 64. The weights come from the VNNI table's
// strips unchanged (avx512_strips.h: a block of a strip is exactly AMX's
// B tile), the activations from the batch laid out as A tiles
// (AffineBatch::xq_tiles). Every 32-value block still gets its own scale
// step (its int32 sums times the weight row's group scale and the
// activation row's block scale), so the integer sums are those of every
// other table. Compiled with -mamx-tile -mamx-int8 for this file only;
// chosen only when the CPU reports AMX and Linux granted this process the
// tile state (cpu_features).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/avx512_strips.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

namespace {

// Tiles 0-1: one block of the two strips (B: 8 rows of 16 weight rows x 4
// values); 2-3: one block of 16 activation rows each (A: 16 rows of 32
// values); 4-7: the int32 sums of A0.B0, A1.B0, A0.B1, A1.B1 (16 x 16).
constexpr int kTileRows = 16;
constexpr int kPanelRows = 2 * kStripRows;  // weight rows per panel
constexpr int kActRows = 2 * kTileRows;     // activation rows per pass

struct alignas(64) TileConfig {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

void configure_tiles() {
  TileConfig c;
  std::memset(&c, 0, sizeof(c));
  c.palette = 1;
  for (int t = 0; t < 2; ++t) {
    c.rows[t] = kBlock / 4;
    c.colsb[t] = 64;
  }
  for (int t = 2; t < 4; ++t) {
    c.rows[t] = kTileRows;
    c.colsb[t] = kBlock;
  }
  for (int t = 4; t < 8; ++t) {
    c.rows[t] = kTileRows;
    c.colsb[t] = 64;
  }
  _tile_loadconfig(&c);
}

// The scale step of one tile of one block: the tile's sums stored at c,
// row i of tile t = 2k + j (A tile j, strip k) being activation row 16j + i
// against the strip's 16 weight rows. The sums are scaled by the
// activation's block scale (dv: d0 or d1, the A tiles' block scales) into
// g, the group's partial sums, and g by the weight rows' group scale into
// acc once per group: two vector operations a row a block instead of three
// (conversion, scale product, FMA), the vector side being what holds the
// tile unit back.
enum class Step { kOnly, kFirst, kMiddle, kLast };

template <Step kStep>
inline void scale_tile(int t, const int32_t* c, const float* scales, const float* d0, const float* d1, float* g,
                       float* acc) {
  const int k = t / 2, j = t % 2;
  const __m512 sv = _mm512_load_ps(scales + k * kStripRows);
  const float* d = j == 0 ? d0 : d1;
#pragma GCC unroll 16
  for (int i = 0; i < kTileRows; ++i) {
    const size_t at = static_cast<size_t>(j * kTileRows + i) * kPanelRows + k * kStripRows;
    const __m512 sums = _mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * i));
    const __m512 dv = _mm512_set1_ps(d[i]);
    if constexpr (kStep == Step::kOnly) {
      _mm512_store_ps(acc + at, _mm512_fmadd_ps(sums, _mm512_mul_ps(sv, dv), _mm512_load_ps(acc + at)));
    } else if constexpr (kStep == Step::kFirst) {
      _mm512_store_ps(g + at, _mm512_mul_ps(sums, dv));
    } else if constexpr (kStep == Step::kMiddle) {
      _mm512_store_ps(g + at, _mm512_fmadd_ps(sums, dv, _mm512_load_ps(g + at)));
    } else {
      const __m512 group = _mm512_fmadd_ps(sums, dv, _mm512_load_ps(g + at));
      _mm512_store_ps(acc + at, _mm512_fmadd_ps(group, sv, _mm512_load_ps(acc + at)));
    }
  }
}

// scale_tile for block b of groups of 2^shift blocks.
inline void scale_tile(int b, int shift, int t, const int32_t* c, const float* scales, const float* d0,
                       const float* d1, float* g, float* acc) {
  const int last = (1 << shift) - 1;
  const int in_group = b & last;
  if (shift == 0) {
    scale_tile<Step::kOnly>(t, c, scales, d0, d1, g, acc);
  } else if (in_group == 0) {
    scale_tile<Step::kFirst>(t, c, scales, d0, d1, g, acc);
  } else if (in_group < last) {
    scale_tile<Step::kMiddle>(t, c, scales, d0, d1, g, acc);
  } else {
    scale_tile<Step::kLast>(t, c, scales, d0, d1, g, acc);
  }
}

// acc[i * 32 + 0..32) = the bias part of activation rows 0..rows-1 (the
// output bias plus sum_g b_g * sum_{k in g} x_k), zero past them.
void bias_part(const AffineBatch& x, int i0, int rows, int groups, const float* biases, const __m512* ob,
               float* acc) {
  for (int i = 0; i < kActRows; i += kGemmStripCols) {
    __m512 a[kGemmStripCols][2];
#pragma GCC unroll 8
    for (int c = 0; c < kGemmStripCols; ++c) {
      a[c][0] = ob[0];
      a[c][1] = ob[1];
    }
    if (i < rows) {
      for (int g = 0; g < groups; ++g) {
        // Reads up to kGemmStripCols - 1 rows past m: group_sum_t's padding.
        const float* gs = x.group_sum_t + static_cast<size_t>(g) * x.m + i0 + i;
        const __m512 b0 = _mm512_load_ps(biases + g * kPanelRows), b1 = _mm512_load_ps(biases + g * kPanelRows + 16);
#pragma GCC unroll 8
        for (int c = 0; c < kGemmStripCols; ++c) {
          const __m512 sum = _mm512_set1_ps(gs[c]);
          a[c][0] = _mm512_fmadd_ps(b0, sum, a[c][0]);
          a[c][1] = _mm512_fmadd_ps(b1, sum, a[c][1]);
        }
      }
    }
#pragma GCC unroll 8
    for (int c = 0; c < kGemmStripCols; ++c) {
      _mm512_store_ps(acc + (i + c) * kPanelRows, a[c][0]);
      _mm512_store_ps(acc + (i + c) * kPanelRows + 16, a[c][1]);
    }
  }
}

// Rows n..n+nr-1 (nr <= 32) times every activation row, 32 at a time: per
// 32-value block, two A tiles times two B tiles into four C tiles, stored
// (two buffers) for the scale steps.
template <int kBits>
void amx_panel(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n, int nr) {
  const int groups = w.cols / w.group_size;
  const int blocks = w.cols / kBlock;
  const int group_shift = w.group_size == 32 ? 0 : w.group_size == 64 ? 1 : 2;
  uint8_t* values = reinterpret_cast<uint8_t*>(scratch);
  const uint64_t strip_bytes = static_cast<uint64_t>(kStripRows) * w.cols;
  float* scales = reinterpret_cast<float*>(values + 2 * strip_bytes);
  float* biases = scales + static_cast<size_t>(kPanelRows) * groups;
  float* params = biases + static_cast<size_t>(kPanelRows) * groups;
  prepare_strips<kBits, 2>(w, n, nr, values, strip_bytes, scales, biases, params);
  __mmask16 keep[2];
  __m512 ob[2];
  for (int k = 0; k < 2; ++k) {
    const int left = std::clamp(nr - k * kStripRows, 0, kStripRows);
    keep[k] = static_cast<__mmask16>((1u << left) - 1);
    ob[k] = w.out_bias != nullptr ? _mm512_maskz_loadu_ps(keep[k], w.out_bias + n + k * kStripRows)
                                  : _mm512_setzero_ps();
  }
  alignas(64) float acc[kActRows * kPanelRows];
  alignas(64) float g[kActRows * kPanelRows];
  alignas(64) int32_t sums[2][4 * 256];
  for (int i0 = 0; i0 < x.m; i0 += kActRows) {
    const int mb = std::min(kActRows, x.m - i0);
    bias_part(x, i0, mb, groups, biases, ob, acc);
    // Rows past m are the batch's zero padding (AffineBatch::xq_tiles).
    const int8_t* a0 = x.xq_tiles + static_cast<size_t>(i0) * w.cols;
    const int8_t* a1 = a0 + static_cast<size_t>(kTileRows) * w.cols;
    const float* d0 = x.d_tiles + static_cast<size_t>(i0) * blocks;
    const float* d1 = d0 + static_cast<size_t>(kTileRows) * blocks;
    // Block b's tile products interleaved with block b - 1's scale steps,
    // a tile at a time: the scale step of a whole block between the
    // products and the stores left the tile unit idle while it ran
    // (amx microbenchmark, 2 x 2 tiles, medians: 194 GMAC/s against 229).
    auto step = [&](int e, int t) {
      if (e < 0) return;
      scale_tile(e, group_shift, t, sums[e & 1] + 256 * t, scales + (e >> group_shift) * kPanelRows, d0 + e * 16,
                 d1 + e * 16, g, acc);
    };
    for (int b = 0; b < blocks; ++b) {
      _tile_loadd(0, values + static_cast<size_t>(b) * 512, 64);
      _tile_loadd(1, values + strip_bytes + static_cast<size_t>(b) * 512, 64);
      _tile_loadd(2, a0 + static_cast<size_t>(b) * 512, kBlock);
      _tile_loadd(3, a1 + static_cast<size_t>(b) * 512, kBlock);
      _tile_zero(4);
      _tile_dpbsud(4, 2, 0);
      step(b - 1, 0);
      _tile_zero(5);
      _tile_dpbsud(5, 3, 0);
      step(b - 1, 1);
      _tile_zero(6);
      _tile_dpbsud(6, 2, 1);
      step(b - 1, 2);
      _tile_zero(7);
      _tile_dpbsud(7, 3, 1);
      step(b - 1, 3);
      int32_t* c = sums[b & 1];
      _tile_stored(4, c, 64);
      _tile_stored(5, c + 256, 64);
      _tile_stored(6, c + 512, 64);
      _tile_stored(7, c + 768, 64);
    }
    for (int t = 0; t < 4; ++t) step(blocks - 1, t);
    for (int i = 0; i < mb; ++i) {
      for (int k = 0; k < 2; ++k) {
        if (keep[k] == 0) continue;
        _mm512_mask_storeu_ps(y + static_cast<uint64_t>(i0 + i) * ldy + n + k * kStripRows, keep[k],
                              _mm512_load_ps(acc + i * kPanelRows + k * kStripRows));
      }
    }
  }
}

template <int kBits>
void amx_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0, int n1) {
  configure_tiles();
  for (int n = n0; n < n1; n += kPanelRows) amx_panel<kBits>(w, x, scratch, y, ldy, n, std::min(kPanelRows, n1 - n));
  // Hands the tile registers back: a thread holding tile state makes every
  // context switch save 8 KiB more.
  _tile_release();
}

void affine4_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                  int n1) {
  amx_gemm<4>(w, x, scratch, y, ldy, n0, n1);
}

void affine8_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                  int n1) {
  amx_gemm<8>(w, x, scratch, y, ldy, n0, n1);
}

KernelTable make_table() {
  KernelTable t = *avx512_bf16_table();
  t.name = "avx512-amx";
  t.affine4_gemm = affine4_gemm;
  t.affine8_gemm = affine8_gemm;
  // BF16 prefill on the float tiles: on the cores that have AMX (Sapphire
  // and Emerald Rapids) vdpbf16ps issues at half an FMA's rate, so the 4 x
  // 4 BF16 tile ran slower than widening rows to float (kernel_bench --bits
  // 16 --rows 2048 --cols 768 --m 128, one thread: 17-30 against 36-49
  // GMAC/s; generation_bench 110M BF16 prefill, 2 threads: 471-504 against
  // 738-924 tokens/s). On Zen 4/5, without AMX, the BF16 tile doubles it.
  // The matrix-vector dot_bf16 stays: decode is memory-bound and reads
  // half the bytes of a widened row.
  t.tile_bf16 = nullptr;
  return t;
}

}  // namespace

const KernelTable* avx512_amx_table() {
  static const KernelTable table = make_table();
  return &table;
}

}  // namespace mlxpack::kernels
