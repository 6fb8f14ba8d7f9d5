// The AVX-512 table plus BF16 products (AVX512_BF16: Cooper Lake, Sapphire
// Rapids, Zen 4 and later). vdpbf16ps multiplies pairs of BF16 values
// exactly and adds them into FP32 lanes: 32 products per instruction, twice
// an FP32 FMA's, and BF16 rows are read in place instead of being widened
// to float first. Compiled with -mavx512bf16 for this file only; chosen
// only when the CPU reports it.
#include <immintrin.h>

#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

namespace {

inline __m512bh load_bh(const uint16_t* p) { return (__m512bh)_mm512_loadu_si512(p); }
inline __m512bh load_bh(const uint16_t* p, __mmask32 m) { return (__m512bh)_mm512_maskz_loadu_epi16(m, p); }
inline __mmask32 tail_mask(int left) { return left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1; }

// Round to nearest even, as vcvtneps2bf16 does (NaN stays NaN).
void f32_to_bf16(const float* in, uint16_t* out, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(in + i)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(out + i, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, in + i)));
  }
}

float dot_bf16(const uint16_t* w, const uint16_t* x, int n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_dpbf16_ps(s0, load_bh(w + i), load_bh(x + i));
    s1 = _mm512_dpbf16_ps(s1, load_bh(w + i + 32), load_bh(x + i + 32));
  }
  for (; i < n; i += 32) {
    const __mmask32 m = tail_mask(n - i);
    s0 = _mm512_dpbf16_ps(s0, load_bh(w + i, m), load_bh(x + i, m));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// out[r * 4 + c] = <w[r], x[c]> over n values.
void tile_bf16(const uint16_t* const* w, const uint16_t* const* x, int n, float* out) {
  __m512 acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  for (int i = 0; i < n; i += 32) {
    const __mmask32 m = tail_mask(n - i);
    __m512bh xv[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) xv[c] = load_bh(x[c] + i, m);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m512bh wv = load_bh(w[r] + i, m);
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv, xv[c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = _mm512_reduce_add_ps(acc[r][c]);
  }
}

KernelTable make_table() {
  KernelTable t = *avx512_table();
  t.name = "avx512-bf16";
  t.f32_to_bf16 = f32_to_bf16;
  t.dot_bf16 = dot_bf16;
  t.tile_bf16 = tile_bf16;
  return t;
}

}  // namespace

const KernelTable* avx512_bf16_table() {
  static const KernelTable table = make_table();
  return &table;
}

}  // namespace mlxpack::kernels
