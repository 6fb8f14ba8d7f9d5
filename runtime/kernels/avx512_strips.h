// The weight strips of the AVX-512 VNNI prefill kernel: 16 weight rows
// unpacked to one byte per value and interleaved four values at a time, so
// that a 64-byte vector holds values 4s..4s+3 of each of the 16 rows,
// vpdpbusd's operand layout with the rows in its lanes; and the helpers it
// shares with the AMX kernel (parameter widening, a 16 x 16 transpose).
// Included only by files compiled with AVX-512 (F, BW, VL, DQ); the
// helpers have internal linkage so each file keeps its own copy under its
// own flags.
#ifndef MLXPACK_RUNTIME_KERNELS_AVX512_STRIPS_H_
#define MLXPACK_RUNTIME_KERNELS_AVX512_STRIPS_H_

#include <immintrin.h>

#include <cstdint>

#include "runtime/kernels/affine_rows.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {
namespace {

void f16_to_f32(const uint16_t* in, float* out, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i))));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, in + i)));
  }
}

void bf16_to_f32(const uint16_t* in, float* out, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i)));
    _mm512_storeu_ps(out + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, in + i));
    _mm512_mask_storeu_ps(out + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
  }
}

constexpr int kStripRows = 16;

struct Strip {
  const uint8_t* values;  // strip k: values + k * strip_bytes, [cols / 4][16 rows][4 bytes]
  uint64_t strip_bytes;   // 16 * cols
  const float* scales;    // [groups][16 * strips]
  int group_shift;        // block b is in group b >> group_shift
  int blocks;             // cols / 32
};

// Transposes 16 rows of 16 32-bit words: out[j] holds word j of every row.
inline void transpose16x16(__m512i* r, uint8_t* out) {
  __m512i t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // r[4i + j], 128-bit lane L: word 4L + j of rows 4i..4i+3.
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  // A 4 x 4 transpose of 128-bit lanes for each j.
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512i s0 = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x44);
    const __m512i s1 = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xee);
    const __m512i s2 = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x44);
    const __m512i s3 = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xee);
    _mm512_store_si512(out + (0 + j) * 64, _mm512_shuffle_i32x4(s0, s2, 0x88));
    _mm512_store_si512(out + (4 + j) * 64, _mm512_shuffle_i32x4(s0, s2, 0xdd));
    _mm512_store_si512(out + (8 + j) * 64, _mm512_shuffle_i32x4(s1, s3, 0x88));
    _mm512_store_si512(out + (12 + j) * 64, _mm512_shuffle_i32x4(s1, s3, 0xdd));
  }
}

// x[0..n) (n % 64 == 0) quantized in blocks of 64 values, d = max|x| / 127
// and round(x / d) per block, as one row of kLanes rows interleaved four
// values at a time: block b's value v at out[(b * 64 + v / 4 * 4) * kLanes
// + v % 4], its d at d[b * kLanes]. The AMX kernel's B tiles (kLanes = 16)
// and the VNNI kernel's activation strips (kGemmStripCols) are both this
// layout. A block's 16 groups of four values go out in one 32-bit scatter.
template <int kLanes>
void quantize_row64(const float* x, int n, int8_t* out, float* d) {
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  const __m512i lanes = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                           _mm512_set1_epi32(4 * kLanes));
  for (int b = 0; b < n / 64; ++b) {
    __m512 v[4];
    __m512 amax = _mm512_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm512_loadu_ps(x + b * 64 + 16 * j);
      amax = _mm512_max_ps(amax, _mm512_and_ps(v[j], abs_mask));
    }
    const float scale = _mm512_reduce_max_ps(amax) / 127.0f;
    const __m512 inv = _mm512_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
    __m128i q[4];
    for (int j = 0; j < 4; ++j) q[j] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v[j], inv)));
    const __m512i all = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_set_m128i(q[1], q[0])), _mm256_set_m128i(q[3], q[2]), 1);
    _mm512_i32scatter_epi32(out + static_cast<size_t>(b) * 64 * kLanes, lanes, all, 1);
    d[static_cast<size_t>(b) * kLanes] = scale;
  }
}

// Lays out rows n..n+nr-1 (nr <= 16S; missing rows repeat row n, their
// results are dropped) as S strips (see Strip), and their scales and
// biases as [group][16S] floats.
template <int kBits, int S>
void prepare_strips(const AffineRows& w, int n, int nr, uint8_t* values, uint64_t strip_bytes, float* scales,
                    float* biases, float* params) {
  constexpr int kPanel = kStripRows * S;
  const int groups = w.cols / w.group_size;
  for (int k = 0; k < S; ++k) {
    const uint8_t* src[kStripRows];
    for (int r = 0; r < kStripRows; ++r) {
      const int row = k * kStripRows + r < nr ? k * kStripRows + r : 0;
      const float* s;
      const float* b;
      row_params<f16_to_f32, bf16_to_f32>(w, n + row, params, &s, &b);
      for (int g = 0; g < groups; ++g) {
        scales[g * kPanel + k * kStripRows + r] = s[g];
        biases[g * kPanel + k * kStripRows + r] = b[g];
      }
      src[r] = w.data + static_cast<uint64_t>(n + row) * w.row_bytes;
    }
    uint8_t* strip = values + k * strip_bytes;
    __m512i rows[kStripRows];
    for (int c = 0; c < w.cols; c += 64) {
      if constexpr (kBits == 4) {
        // 32 packed bytes to 64 values: each byte widened to a 16-bit word
        // 0x00HL, then (x | x << 4) & 0x0f0f = 0x0H0L, the low nibble (the
        // even value) in the low byte. Three instructions per 64 values; a
        // separate unpacking pass over the strip's rows was 12% of a 1B
        // prefill.
#pragma GCC unroll 16
        for (int r = 0; r < kStripRows; ++r) {
          const __m512i x =
              _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[r] + c / 2)));
          rows[r] = _mm512_ternarylogic_epi32(x, _mm512_slli_epi16(x, 4), _mm512_set1_epi16(0x0f0f), 0xa8);
        }
      } else {
#pragma GCC unroll 16
        for (int r = 0; r < kStripRows; ++r) rows[r] = _mm512_loadu_si512(src[r] + c);
      }
      transpose16x16(rows, strip + static_cast<size_t>(c) * kStripRows);
    }
  }
}

}  // namespace
}  // namespace mlxpack::kernels

#endif  // MLXPACK_RUNTIME_KERNELS_AVX512_STRIPS_H_
