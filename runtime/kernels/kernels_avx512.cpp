// AVX-512 (F, BW, VL) with VNNI kernels (Ice Lake, Sapphire Rapids, Zen 4).
// VNNI's vpdpbusd sums u8 x s8 products straight into 32 bits, so 8-bit
// weights need no re-centring here. Compiled with those flags for this file
// only; used only when the CPU reports them.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/affine_rows.h"
#include "runtime/kernels/avx512_strips.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

namespace {

float dot_f32(const float* a, const float* b, int n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

void axpy_f32(float a, const float* x, float* y, int n) {
  const __m512 va = _mm512_set1_ps(a);
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// As the scalar table: the same d, xq (round to nearest even) and isum; sum
// in another order.
void quantize_blocks(const float* x, int8_t* xq, float* d, float* sum, int32_t* isum, int n) {
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int b = 0; b < n / kBlock; ++b) {
    const __m512 x0 = _mm512_loadu_ps(x + b * kBlock), x1 = _mm512_loadu_ps(x + b * kBlock + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(x0, abs_mask), _mm512_and_ps(x1, abs_mask)));
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    const __m512 vi = _mm512_set1_ps(inv);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, vi)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, vi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(xq + b * kBlock), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(xq + b * kBlock + 16), _mm512_cvtsepi32_epi8(q1));
    d[b] = scale;
    sum[b] = _mm512_reduce_add_ps(_mm512_add_ps(x0, x1));
    isum[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
  }
}

float dot_u8s8_blocks(const uint8_t* q, const int8_t* xq, const float* w, int nblocks) {
  __m512 acc = _mm512_setzero_ps();
  int b = 0;
  for (; b + 2 <= nblocks; b += 2) {
    const __m512i qv = _mm512_loadu_si512(q + b * kBlock);
    const __m512i xv = _mm512_loadu_si512(xq + b * kBlock);
    const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qv, xv);
    // Lanes 0-7 belong to block b, lanes 8-15 to block b + 1.
    const __m512 wv = _mm512_insertf32x8(_mm512_set1_ps(w[b]), _mm256_set1_ps(w[b + 1]), 1);
    acc = _mm512_fmadd_ps(wv, _mm512_cvtepi32_ps(p), acc);
  }
  float s = _mm512_reduce_add_ps(acc);
  if (b < nblocks) {
    const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * kBlock));
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * kBlock));
    const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), qv, xv);
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0x4e));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0xb1));
    s += w[b] * static_cast<float>(_mm_cvtsi128_si32(r));
  }
  return s;
}

float affine8_dot(const uint8_t* packed, const float* scale, int shift, const int8_t* x, const float* d, int n) {
  const int blocks = n / kBlock;
  __m512 acc = _mm512_setzero_ps();
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(packed + b * kBlock),
                                          _mm512_loadu_si512(x + b * kBlock));
    const __m512 wv = _mm512_insertf32x8(_mm512_set1_ps(scale[b >> shift] * d[b]),
                                         _mm256_set1_ps(scale[(b + 1) >> shift] * d[b + 1]), 1);
    acc = _mm512_fmadd_ps(wv, _mm512_cvtepi32_ps(p), acc);
  }
  float s = _mm512_reduce_add_ps(acc);
  if (b < blocks) {
    const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + b * kBlock)),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + b * kBlock)));
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0x4e));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0xb1));
    s += scale[b >> shift] * d[b] * static_cast<float>(_mm_cvtsi128_si32(r));
  }
  return s;
}

// The sums of four vectors: lane 0, 4, 8 and 12 of the result hold the
// totals of a, b, c and d (fewer shuffles than four separate reductions).
__m512 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
  const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
  // Quarter k now holds four partial sums of vector k (a, b, c, d).
  __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
  u = _mm512_add_ps(u, _mm512_permute_ps(u, 0x4E));
  return _mm512_add_ps(u, _mm512_permute_ps(u, 0xB1));
}

void tile_f32(const float* const* w, const float* const* x, int n, float* out) {
  // Fully unrolled so the 16 accumulators live in registers.
  __m512 a[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) a[r][c] = _mm512_setzero_ps();
  }
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 x0 = _mm512_loadu_ps(x[0] + i), x1 = _mm512_loadu_ps(x[1] + i);
    const __m512 x2 = _mm512_loadu_ps(x[2] + i), x3 = _mm512_loadu_ps(x[3] + i);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m512 wv = _mm512_loadu_ps(w[r] + i);
      a[r][0] = _mm512_fmadd_ps(wv, x0, a[r][0]);
      a[r][1] = _mm512_fmadd_ps(wv, x1, a[r][1]);
      a[r][2] = _mm512_fmadd_ps(wv, x2, a[r][2]);
      a[r][3] = _mm512_fmadd_ps(wv, x3, a[r][3]);
    }
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m, x[0] + i), x1 = _mm512_maskz_loadu_ps(m, x[1] + i);
    const __m512 x2 = _mm512_maskz_loadu_ps(m, x[2] + i), x3 = _mm512_maskz_loadu_ps(m, x[3] + i);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m512 wv = _mm512_maskz_loadu_ps(m, w[r] + i);
      a[r][0] = _mm512_fmadd_ps(wv, x0, a[r][0]);
      a[r][1] = _mm512_fmadd_ps(wv, x1, a[r][1]);
      a[r][2] = _mm512_fmadd_ps(wv, x2, a[r][2]);
      a[r][3] = _mm512_fmadd_ps(wv, x3, a[r][3]);
    }
  }
  alignas(64) float t[16];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
    _mm512_store_ps(t, reduce4(a[r][0], a[r][1], a[r][2], a[r][3]));
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = t[4 * c];
  }
}

// Cached rows as floats, F32, F16 or int8: 16 whole values, or the lanes a
// mask selects (the others read as zero). Whole vectors are read unmasked:
// the masked 16-bit load made attention over the F16 cache slower than over
// the F32 one on this machine's AMD cores (110M 4-bit decode at 1,280
// positions: 137 tok/s against F32's 163; unmasked, 193 against 158).
inline __m512 load_kv(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load_kv(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load_kv(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
inline __m512 load_kv(__mmask16 m, const float* p) {
  return m == 0xffff ? load_kv(p) : _mm512_maskz_loadu_ps(m, p);
}
inline __m512 load_kv(__mmask16 m, const uint16_t* p) {
  return m == 0xffff ? load_kv(p) : _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
inline __m512 load_kv(__mmask16 m, const int8_t* p) {
  return m == 0xffff ? load_kv(p) : _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

void f32_to_f16(const float* in, uint16_t* out, int n) {
  for (int i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(out + i, m, h);
  }
}

// Columns c..c+16V of H heads' weighted sums, V vectors each across every
// position; the last one's columns masked. A row's vectors are loaded and
// widened once for the H heads. One or two heads (a model without grouped
// queries) keep two sets of accumulators, even and odd positions: with one
// set, each of the V accumulators waits on its previous FMA, and attention
// ran at the FMA latency, not at the cache's speed (110M shape, 4-bit, one
// thread, decode after a 1,000-token prompt, AMD Zen 4: 126-132 -> 137-146
// tokens/s). kFull:
// all 16V columns are there, and the loads need no masks (a run-time
// test of the masks stayed in the loop).
template <int V, int H, bool kFull, typename T>
inline void weighted_sum_columns(const float* p, uint64_t p_stride, const T* v, uint64_t stride, int count, int c,
                                 int n, float* out, uint64_t out_stride) {
  constexpr int kSets = H <= 2 ? 2 : 1;
  __mmask16 m[V];
  __m512 a[kSets][H][V];
#pragma GCC unroll 4
  for (int j = 0; j < V; ++j) {
    const int left = n - c - 16 * j;
    m[j] = kFull || left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
#pragma GCC unroll 4
    for (int k = 0; k < kSets; ++k) {
#pragma GCC unroll 4
      for (int h = 0; h < H; ++h) a[k][h][j] = _mm512_setzero_ps();
    }
  }
  const auto step = [&](int k, int s) {
    const T* row = v + s * stride + c;
    __m512 x[V];
#pragma GCC unroll 4
    for (int j = 0; j < V; ++j) x[j] = kFull ? load_kv(row + 16 * j) : load_kv(m[j], row + 16 * j);
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h) {
      const __m512 ps = _mm512_set1_ps(p[h * p_stride + s]);
#pragma GCC unroll 4
      for (int j = 0; j < V; ++j) a[k][h][j] = _mm512_fmadd_ps(ps, x[j], a[k][h][j]);
    }
  };
  int s = 0;
  if constexpr (kSets == 2) {
    for (; s + 2 <= count; s += 2) {
      step(0, s);
      step(1, s + 1);
    }
  }
  for (; s < count; ++s) step(0, s);
#pragma GCC unroll 4
  for (int h = 0; h < H; ++h) {
#pragma GCC unroll 4
    for (int j = 0; j < V; ++j) {
      __m512 sum = a[0][h][j];
      if constexpr (kSets == 2) sum = _mm512_add_ps(sum, a[1][h][j]);
      _mm512_mask_storeu_ps(out + h * out_stride + c + 16 * j, m[j], sum);
    }
  }
}

// 64 columns at a time in four registers per head across every position;
// a last part of 1-48 columns takes only the vectors it needs (the
// attention scores of a prefill's early rows cover a few positions).
template <int H, typename T>
void weighted_sum_heads(const float* p, uint64_t p_stride, const T* v, uint64_t stride, int count, int n, float* out,
                        uint64_t out_stride) {
  for (int c = 0; c < n; c += 64) {
    const int left = n - c;
    if (left >= 64) {
      weighted_sum_columns<4, H, true>(p, p_stride, v, stride, count, c, n, out, out_stride);
    } else if (left > 48) {
      weighted_sum_columns<4, H, false>(p, p_stride, v, stride, count, c, n, out, out_stride);
    } else if (left > 32) {
      weighted_sum_columns<3, H, false>(p, p_stride, v, stride, count, c, n, out, out_stride);
    } else if (left > 16) {
      weighted_sum_columns<2, H, false>(p, p_stride, v, stride, count, c, n, out, out_stride);
    } else {
      weighted_sum_columns<1, H, false>(p, p_stride, v, stride, count, c, n, out, out_stride);
    }
  }
}

// Up to four heads at a time (16 accumulators).
template <typename T>
void weighted_sum(const float* p, uint64_t p_stride, int heads, const T* v, uint64_t stride, int count, int n,
                  float* out, uint64_t out_stride) {
  for (int h = 0; h < heads; h += 4) {
    const float* ph = p + h * p_stride;
    float* oh = out + h * out_stride;
    switch (std::min(4, heads - h)) {
      case 4: weighted_sum_heads<4>(ph, p_stride, v, stride, count, n, oh, out_stride); break;
      case 3: weighted_sum_heads<3>(ph, p_stride, v, stride, count, n, oh, out_stride); break;
      case 2: weighted_sum_heads<2>(ph, p_stride, v, stride, count, n, oh, out_stride); break;
      default: weighted_sum_heads<1>(ph, p_stride, v, stride, count, n, oh, out_stride); break;
    }
  }
}

// exp(x) = 2^m * e^r as in the AVX2 table (Cephes' expf polynomial); scalef
// applies 2^m.
__m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.0f));
  const __m512 m = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(m, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(m, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(y, m);
}

float exp_sum(const float* x, float shift, float* out, int n) {
  const __m512 sh = _mm512_set1_ps(shift);
  __m512 acc = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), sh));
    _mm512_mask_storeu_ps(out + i, m, e);
    acc = _mm512_mask_add_ps(acc, m, acc, e);
  }
  return _mm512_reduce_add_ps(acc);
}

void silu_mul(const float* g, const float* u, float* out, int n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 gv = _mm512_maskz_loadu_ps(m, g + i);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), gv));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_div_ps(gv, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, u + i)));
  }
}

// As the AVX2 table's, sixteen lanes.
int argmax_f32(const float* x, int n) {
  int i = 0;
  int best = 0;
  if (n >= 16) {
    __m512 vmax = _mm512_loadu_ps(x);
    __m512i vidx = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m512i cur = vidx;
    const __m512i step = _mm512_set1_epi32(16);
    for (i = 16; i + 16 <= n; i += 16) {
      cur = _mm512_add_epi32(cur, step);
      const __m512 v = _mm512_loadu_ps(x + i);
      const __mmask16 gt = _mm512_cmp_ps_mask(v, vmax, _CMP_GT_OQ);
      vmax = _mm512_mask_mov_ps(vmax, gt, v);
      vidx = _mm512_mask_mov_epi32(vidx, gt, cur);
    }
    alignas(64) float m[16];
    alignas(64) int32_t idx[16];
    _mm512_store_ps(m, vmax);
    _mm512_store_si512(idx, vidx);
    best = idx[0];
    for (int l = 1; l < 16; ++l) {
      if (m[l] > x[best] || (m[l] == x[best] && idx[l] < best)) best = idx[l];
    }
  }
  for (; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

// The prefill's matrix-matrix product. A strip of 16 weight rows is laid
// out once, unpacked to one byte per value and interleaved four values at a
// time (a 64-byte vector holds values 4s..4s+3 of each of the 16 rows), and
// is then multiplied by every activation row: lane r of one vpdpbusd
// against the broadcast x[4s..4s+3] adds four products of row r, so the
// lanes accumulate whole 32-value blocks in 32 bits and a block costs one
// scale step (a multiply, a conversion and an FMA) per 8 vpdpbusd. The
// previous kernel read the rows in place, so its 16 lanes held 16 different
// blocks of one row and every vpdpbusd needed its own scale step and a
// permute of the scales. bench/kernel_bench, 8192 x 2048, F16 scales,
// group 64, m = 128: one core 151-163 GMAC/s before and 256-262 after at 4
// bits, 112-118 and 242-252 at 8; two cores 249-272 and 430-512 at 4 bits,
// 177-228 and 405-507 at 8 (an int8 vpdpbusd peak of about 478 GMAC/s a
// core). Unpacking and interleaving a strip costs 16 x cols bytes of
// scratch and is repaid by every activation row after the first few.
// With the activations in 64-value blocks (quantize_strip_row), a weight
// group of 64 or more costs one scale step per 16 vpdpbusd: one core
// 272-275 GMAC/s before and 303-306 after at 4 bits, 277-291 and 301-318
// at 8; two cores 490-545 and 554-614 at 4 bits, 490-539 and 583 at 8
// (AMD Zen 5, int8 peak about 465 GMAC/s a core; the same kernel with no
// scale step at all ran 337-345 on one core).
constexpr int kStripCols = kGemmStripCols;  // activation rows per micro-kernel call

// acc[c * 16S + 0..16S) += the S strips' rows . activation row c of a
// group of kStripCols interleaved rows (xs, ds: see AffineBatch). Two
// strips share each broadcast activation word between two vpdpbusd: one
// strip's kernel issued a load per vpdpbusd (8 weight vectors and 64
// broadcasts per 64 vpdpbusd a block) and ran at about half the int8 peak
// with the load ports, not the multipliers, full. The two strips' float
// sums then live in acc (L1) instead of registers: 16 int32 sums, two
// weight vectors and a broadcast fill the 32 vector registers.
// The int32 sums are scaled every 4 * kSteps values: 64 (kSteps 16, one
// activation block) where a weight group is 64 or more, 32 (8) for groups
// of 32, each half of a 64-value activation block with its group's scale.
// Sixteen chained vpdpbusd of 4-bit or 8-bit weights and int8 values sum
// at most 64 * 255 * 127 in a lane, far from the int32 limit.
template <int S, int kSteps>
inline void strip_kernel(const Strip& st, const int8_t* xs, const float* ds, float* acc) {
  constexpr int kPanel = kStripRows * S;
  constexpr int kPerBlock = 16 / kSteps;  // scale steps per 64-value activation block
  __m512 fa[S][kStripCols];
#pragma GCC unroll 8
  for (int c = 0; c < kStripCols; ++c) {
#pragma GCC unroll 2
    for (int k = 0; k < S; ++k) fa[k][c] = _mm512_load_ps(acc + c * kPanel + k * kStripRows);
  }
  // Step e covers 32-value blocks kSteps / 8 * e onwards.
  for (int e = 0; e < st.blocks * 8 / kSteps; ++e) {
    __m512i ia[S][kStripCols];
#pragma GCC unroll 8
    for (int c = 0; c < kStripCols; ++c) {
#pragma GCC unroll 2
      for (int k = 0; k < S; ++k) ia[k][c] = _mm512_setzero_si512();
    }
    const uint8_t* u = st.values + static_cast<size_t>(e) * kSteps * 64;
    const int8_t* xb = xs + static_cast<size_t>(e) * 4 * kSteps * kStripCols;
#pragma GCC unroll 16
    for (int s = 0; s < kSteps; ++s) {
      __m512i wv[S];
#pragma GCC unroll 2
      for (int k = 0; k < S; ++k) wv[k] = _mm512_load_si512(u + k * st.strip_bytes + s * 64);
#pragma GCC unroll 8
      for (int c = 0; c < kStripCols; ++c) {
        int32_t x4;
        std::memcpy(&x4, xb + (s * kStripCols + c) * 4, 4);
        const __m512i xv = _mm512_set1_epi32(x4);
#pragma GCC unroll 2
        for (int k = 0; k < S; ++k) ia[k][c] = _mm512_dpbusd_epi32(ia[k][c], wv[k], xv);
      }
    }
    const int b32 = e * kSteps / 8;  // the step's first 32-value block
    const float* d = ds + static_cast<size_t>(e / kPerBlock) * kStripCols;
#pragma GCC unroll 2
    for (int k = 0; k < S; ++k) {
      const __m512 sv = _mm512_load_ps(st.scales + (b32 >> st.group_shift) * kPanel + k * kStripRows);
#pragma GCC unroll 8
      for (int c = 0; c < kStripCols; ++c) {
        fa[k][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[k][c]), _mm512_mul_ps(sv, _mm512_set1_ps(d[c])), fa[k][c]);
      }
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < kStripCols; ++c) {
#pragma GCC unroll 2
    for (int k = 0; k < S; ++k) _mm512_store_ps(acc + c * kPanel + k * kStripRows, fa[k][c]);
  }
}

// Rows n..n+nr-1 (nr <= 16S) times every activation row, S strips at a time.
template <int kBits, int S>
void affine_gemm_panel(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n,
                       int nr) {
  constexpr int kPanel = kStripRows * S;
  const int groups = w.cols / w.group_size;
  const int blocks = w.cols / kBlock;
  // Scratch (affine_gemm_scratch floats, more than needed here): the
  // strips' values (16S * cols bytes), scales and biases, one row's
  // parameters.
  uint8_t* values = reinterpret_cast<uint8_t*>(scratch);
  float* scales = reinterpret_cast<float*>(values + static_cast<size_t>(kPanel) * w.cols);
  float* biases = scales + static_cast<size_t>(kPanel) * groups;
  float* params = biases + static_cast<size_t>(kPanel) * groups;
  const Strip st{values, static_cast<uint64_t>(kStripRows) * w.cols, scales,
                 w.group_size == 32 ? 0 : w.group_size == 64 ? 1 : 2, blocks};
  prepare_strips<kBits, S>(w, n, nr, values, st.strip_bytes, scales, biases, params);
  // Activation rows in blocks whose int8 values stay in L2 (256 KiB).
  const int block_rows = std::max(kStripCols, (256 << 10) / w.cols / kStripCols * kStripCols);
  alignas(64) float acc[kGemmPanelRows * kPanel];
  const int acc_rows = std::min(block_rows, kGemmPanelRows);
  __mmask16 keep[S];
  __m512 ob[S];
  for (int k = 0; k < S; ++k) {
    const int left = std::clamp(nr - k * kStripRows, 0, kStripRows);
    keep[k] = static_cast<__mmask16>((1u << left) - 1);
    ob[k] = w.out_bias != nullptr ? _mm512_maskz_loadu_ps(keep[k], w.out_bias + n + k * kStripRows)
                                  : _mm512_setzero_ps();
  }
  for (int i0 = 0; i0 < x.m; i0 += acc_rows) {
    const int mb = std::min(acc_rows, x.m - i0);
    // The bias part, sum_g b_g * sum_{k in g} x_k, kStripCols activation
    // rows at a time (16S independent sums: one row's sum over the groups
    // alone was a chain of dependent FMAs, a tenth of the kernel's time).
    for (int i = 0; i < mb; i += kStripCols) {
      __m512 a[kStripCols][S];
#pragma GCC unroll 8
      for (int c = 0; c < kStripCols; ++c) {
        for (int k = 0; k < S; ++k) a[c][k] = ob[k];
      }
      for (int g = 0; g < groups; ++g) {
        const float* gs = x.group_sum_t + static_cast<size_t>(g) * x.m + i0 + i;
        __m512 bv[S];
        for (int k = 0; k < S; ++k) bv[k] = _mm512_load_ps(biases + g * kPanel + k * kStripRows);
#pragma GCC unroll 8
        for (int c = 0; c < kStripCols; ++c) {
          const __m512 sum = _mm512_set1_ps(gs[c]);
          for (int k = 0; k < S; ++k) a[c][k] = _mm512_fmadd_ps(bv[k], sum, a[c][k]);
        }
      }
#pragma GCC unroll 8
      for (int c = 0; c < kStripCols; ++c) {
        for (int k = 0; k < S; ++k) _mm512_store_ps(acc + (i + c) * kPanel + k * kStripRows, a[c][k]);
      }
    }
    // Whole groups of kStripCols rows (acc_rows is a multiple); the
    // padding rows' results land in acc past mb and are dropped.
    for (int i = 0; i < mb; i += kStripCols) {
      const size_t group = static_cast<size_t>(i0 + i) / kStripCols;
      const int8_t* xs = x.xq_strips + group * kStripCols * w.cols;
      const float* ds = x.d_strips + group * kStripCols * (w.cols / kTileBlock);
      if (w.group_size == 32) {
        strip_kernel<S, 8>(st, xs, ds, acc + i * kPanel);
      } else {
        strip_kernel<S, 16>(st, xs, ds, acc + i * kPanel);
      }
    }
    for (int i = 0; i < mb; ++i) {
      for (int k = 0; k < S; ++k) {
        if (keep[k] == 0) continue;
        _mm512_mask_storeu_ps(y + static_cast<uint64_t>(i0 + i) * ldy + n + k * kStripRows, keep[k],
                              _mm512_load_ps(acc + i * kPanel + k * kStripRows));
      }
    }
  }
}

template <int kBits>
void affine_gemm_strips(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                        int n1) {
  int n = n0;
  for (; n1 - n > kStripRows; n += 2 * kStripRows) {
    affine_gemm_panel<kBits, 2>(w, x, scratch, y, ldy, n, std::min(2 * kStripRows, n1 - n));
  }
  if (n < n1) affine_gemm_panel<kBits, 1>(w, x, scratch, y, ldy, n, n1 - n);
}

void affine4_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                  int n1) {
  affine_gemm_strips<4>(w, x, scratch, y, ldy, n0, n1);
}

void affine8_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                  int n1) {
  affine_gemm_strips<8>(w, x, scratch, y, ldy, n0, n1);
}

// Sixteen group parameters (scales or biases) of one row from group g0 as
// floats, read in place; lanes from `count` on are zero.
inline __m512 load_group_params(const uint8_t* row, ParamKind kind, int g0, int count) {
  const __mmask16 m = count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1);
  if (kind == ParamKind::kF32) return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + g0);
  const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + g0);
  if (kind == ParamKind::kF16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Starts groups g0..g0+count-1 of rows n..n+R-1: their scales into sv, and
// for each of the M activation rows the bias term sum_g b_g * group_sum_g
// added to acc[i].
template <int R, int M>
inline void begin_groups(const AffineRows& w, const AffineInput* in, int n, int g0, int count, __m512* sv,
                         __m512 (*acc)[R]) {
  const uint64_t param_bytes =
      static_cast<uint64_t>(w.cols / w.group_size) * (w.scale_kind == ParamKind::kF32 ? 4 : 2);
  const __mmask16 m = count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1);
  __m512 gsum[M];
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) gsum[i] = _mm512_maskz_loadu_ps(m, in[i].group_sum + g0);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const uint64_t off = static_cast<uint64_t>(n + r) * param_bytes;
    // The scales and biases are two more streams, 1/16 of the rows' bytes
    // each at 4 bits and group 64, that the rows' prefetch does not cover
    // and the hardware did not fetch ahead: asking for the line 512 bytes
    // on (8 rows of 2048 columns) took the one-thread 4-bit decode from
    // 0.62-0.66 to 0.74-0.78 of the read bandwidth (kernel_bench 2048 x
    // 2048, AMD Zen 5).
    __builtin_prefetch(w.scales + off + 512, 0, 2);
    __builtin_prefetch(w.biases + off + 512, 0, 2);
    sv[r] = load_group_params(w.scales + off, w.scale_kind, g0, count);
    const __m512 bias = load_group_params(w.biases + off, w.scale_kind, g0, count);
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) acc[i][r] = _mm512_fmadd_ps(bias, gsum[i], acc[i][r]);
  }
}

// y[n + r] = the sum of acc[r] plus the row's output bias.
template <int R>
inline void store_rows(const AffineRows& w, const __m512* acc, int n, float* y) {
  float sums[R];
  if constexpr (R == 4) {
    alignas(64) float t[16];
    _mm512_store_ps(t, reduce4(acc[0], acc[1], acc[2], acc[3]));
    for (int r = 0; r < 4; ++r) sums[r] = t[4 * r];
  } else {
    for (int r = 0; r < R; ++r) sums[r] = _mm512_reduce_add_ps(acc[r]);
  }
  for (int r = 0; r < R; ++r) y[n + r] = sums[r] + (w.out_bias != nullptr ? w.out_bias[n + r] : 0.0f);
}

// Each lane's group within a window of sixteen groups, per chunk of the
// window: lane j of a chunk's sums covers 4 (4-bit) or 8 (8-bit) values
// starting 32 per block into the chunk. For group sizes 32, 64 and 128 (up
// to 32 chunks a window). Read from this table, a chunk's scale permute
// needs no index arithmetic: that was three of the thirteen vector
// operations per 4-bit chunk, which with 512-bit vectors go to two ports.
template <int kBits>
struct LaneGroups {
  alignas(64) int32_t idx[3][32][16];
};

template <int kBits>
constexpr LaneGroups<kBits> make_lane_groups() {
  constexpr int kValues = kBits == 4 ? 128 : 64;
  LaneGroups<kBits> t{};
  for (int s = 0; s < 3; ++s) {
    for (int c = 0; c < 32; ++c) {
      for (int j = 0; j < 16; ++j) {
        const int block = kBits == 4 ? j / 4 : j / 8;
        t.idx[s][c][j] = (c * kValues + block * kBlock) >> (5 + s);
      }
    }
  }
  return t;
}

template <int kBits>
inline constexpr LaneGroups<kBits> kLaneGroups = make_lane_groups<kBits>();

// Rows n..n+R-1 of a 4- or 8-bit weight times M activation rows (y[i *
// ldy + n + r]). The row loop of affine_rows spent as long on each row's
// set-up (widening its scales and biases into scratch, a scalar bias sum,
// gathering four scales per chunk, a full reduction) as on its dot
// product; here a row's scales and biases for sixteen groups are one vector
// each, read in place, a chunk's lane scales are a permute of it, the bias
// term is one FMA per sixteen groups, and R rows share the activation loads
// and one reduction. M > 1 (a speculative step's few rows) reads and
// unpacks each weight chunk once for all M rows.
// A chunk is one 64-byte load per row: 128 values at 4 bits (low nibbles
// against the first 64 activations in nibble order), 64 at 8 bits
// (cols % 64 == 0).
template <int kBits, int R, int M>
void affine_row_block(const AffineRows& w, const AffineInput* in, int n, float* y, uint64_t ldy) {
  constexpr int kValues = kBits == 4 ? 128 : 64;
  const int groups = w.cols / w.group_size;
  const int group_shift = w.group_size == 32 ? 5 : w.group_size == 64 ? 6 : 7;
  const int32_t(*lane_groups)[16] = kLaneGroups<kBits>.idx[group_shift - 5];
  const __m512i mask = _mm512_set1_epi8(0x0f);
  const uint8_t* rows = w.data + static_cast<uint64_t>(n) * w.row_bytes;
  __m512 acc[M][R];
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  }
  int chunk = 0;
  for (int g0 = 0; g0 < groups; g0 += 16) {
    const int count = std::min(16, groups - g0);
    __m512 sv[R];
    begin_groups<R, M>(w, in, n, g0, count, sv, acc);
    const int first = chunk;
    const int chunks = (count << group_shift) / kValues;
    // A block of rows asks for each row's next sixteen groups' bytes,
    // kPrefetchBytesL2 ahead, at the window's start. One burst of the R
    // rows at the block's start left later windows waiting on memory
    // (kernel_bench, 4-bit, 2048 x 2048, one thread, 13.6-16.1 against
    // 16.6-21.1 GMAC/s). A row alone asks per chunk, below.
    if constexpr (R > 1) {
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) prefetch_ahead_l2(rows + r * w.row_bytes + first * 64, uint64_t(chunks) * 64);
    }
    for (const int end = chunk + chunks; chunk < end; ++chunk) {
      // Each lane's group within these sixteen, and its block's d.
      const __m512i idx = _mm512_load_si512(lane_groups[chunk - first]);
      __m512 dv[M];
#pragma GCC unroll 4
      for (int i = 0; i < M; ++i) {
        dv[i] = _mm512_load_ps(in[i].dlanes + 16 * chunk);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const uint8_t* at = rows + r * w.row_bytes + chunk * 64;
        // A row alone is one stream that each chunk extends by one line
        // kPrefetchBytesL2 on into L2, so requests leave at the rate lines
        // are used, and by one kPrefetchBytesL1Near on into L1. AMD Zen 4,
        // 2 MiB pages, one thread, per window -> per chunk: kernel_bench
        // --m 1 --mib 512 read fraction, 8-bit 2048 x 2048 0.79-0.82 ->
        // 0.85-0.86, 2048 x 8192 0.78 -> 0.82, 128256 x 2048 0.78-0.82 ->
        // 0.81-0.85, 4-bit (means of four rounds) 2048 x 2048 0.86 -> 0.91,
        // 8192 x 2048 0.74 -> 0.85, 2048 x 8192 0.86 -> 0.92;
        // generation_bench decode, alternating builds, 1B 8-bit one thread
        // means 18.46 -> 18.75 (ten rounds) and 18.70 -> 19.08 tokens/s (six),
        // 1B 4-bit 35.0 -> 34.5 (twelve, within the noise), 110M 8-bit 181
        // -> 183 and 202 -> 205, two threads even. Blocks of rows asking per
        // chunk too were not better (110M 4-bit, one thread, 328 -> 311).
        if constexpr (R == 1) {
          __builtin_prefetch(at + kPrefetchBytesL2, 0, 2);
          __builtin_prefetch(at + kPrefetchBytesL1Near, 0, 3);
        }
        const __m512i p = _mm512_loadu_si512(at);
        const __m512i lo = kBits == 4 ? _mm512_and_si512(p, mask) : p;
        const __m512i hi = kBits == 4 ? _mm512_and_si512(_mm512_srli_epi16(p, 4), mask) : p;
        const __m512 scale = _mm512_permutexvar_ps(idx, sv[r]);
#pragma GCC unroll 4
        for (int i = 0; i < M; ++i) {
          const __m512i x0 = _mm512_loadu_si512(in[i].xq + chunk * kValues);
          __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, x0);
          if constexpr (kBits == 4) sums = _mm512_dpbusd_epi32(sums, hi, _mm512_loadu_si512(in[i].xq + chunk * kValues + 64));
          acc[i][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(scale, dv[i]), acc[i][r]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) store_rows<R>(w, acc[i], n, y + i * ldy);
}

// Rows [n0, n1) times M activation rows: four weight rows at a time for one
// or two activation rows, two for three or four (the accumulators, the
// activations' lane scales and the weights' fit the 32 registers).
// A decode step (M = 1) takes rows of 512 bytes or more one at a time:
// four such rows are four streams from memory, one is one stream the
// prefetcher follows. Shorter rows keep four: one at a time costs more
// instructions per byte, which shows when the weights sit in the cache
// (110M shape, 4-bit, 384-byte rows, one thread, decode tokens/s 210-220
// one at a time against 222-246; again on AMD Zen 4: 324-333 against
// 336-353). The 110M shape's 768-byte 8-bit rows went from four to one at
// a time on Zen 4: kernel_bench --bits 8 --rows 2048 --cols 768 --m 1
// --mib 512, one thread 17.5-17.9 -> 27.1-28.7 GB/s (0.56 -> 0.84-0.90 of
// the read bandwidth), two 26.5-28.8 -> 32.6-33.1; generation_bench 110M
// 8-bit decode, one thread 146-153 -> 202-214 tokens/s, two 217-225 ->
// 255-261 (the same in a pack cached in 4 KiB pages: 147-150 -> 190-204).
// 1 KiB rows (the 1B shape's 4-bit projections and lm_head, 2048 columns)
// went one at a time on AMD Zen 5: kernel_bench --bits 4 --rows 2048
// --cols 2048 --m 1 --mib 512, one thread, 21.2-21.3 -> 23.3-24.3 GB/s
// (0.55-0.57 -> 0.60-0.63 of the read bandwidth), two threads 28.7-29.3
// -> 33-38; generation_bench 1B 4-bit decode, alternating builds, one
// thread 23.4-29.5 -> 25.6-31.7 tokens/s, two 38.1-40.8 -> 41.5-45.0; the
// 110M shape's 1536-byte 4-bit rows (its down projection) too, with no
// change outside the noise (two threads 314-401 -> 348-402). Measured on a Xeon (Emerald Rapids, 300 MiB L3),
// bench/generation_bench, 1B shape, alternated builds, decode tokens/s
// before (rows over 2 KiB alone, one prefetch burst of the block's rows at
// its start) and after (this, and the per-window prefetch in
// affine_row_block): 4-bit 11.9-12.9 -> 15.0-16.8 one thread, 23.0-25.0
// -> 30.5-33.2 two; 8-bit 7.2-7.4 -> 9.4-10.4, 13.0-13.4 -> 18.1-18.8.
// The earlier figures from an AMD host (4-bit 2048 columns: four rows
// 0.69 of the read bandwidth against 0.61 one at a time) were with the
// burst prefetch, not this one.
template <int kBits, int M>
void affine_rows_m(const AffineRows& w, const AffineInput* in, float* y, uint64_t ldy, int n0, int n1) {
  constexpr int R = M <= 2 ? 4 : 2;
  const bool one_at_a_time = M == 1 && w.row_bytes >= 512;
  int n = n0;
  if (!one_at_a_time) {
    for (; n + R <= n1; n += R) affine_row_block<kBits, R, M>(w, in, n, y, ldy);
  }
  for (; n < n1; ++n) affine_row_block<kBits, 1, M>(w, in, n, y, ldy);
}

void affine4_rows(const AffineRows& w, const AffineInput& in, float* /*scratch*/, float* y, int n0, int n1) {
  affine_rows_m<4, 1>(w, &in, y, 0, n0, n1);
}

void affine8_rows(const AffineRows& w, const AffineInput& in, float* scratch, float* y, int n0, int n1) {
  if (w.cols % 64 != 0) {  // a 32-value tail: the one-row loop handles it
    affine_rows<affine8_dot, f16_to_f32, bf16_to_f32>(w, in, scratch, y, n0, n1);
    return;
  }
  affine_rows_m<8, 1>(w, &in, y, 0, n0, n1);
}

template <int kBits>
void affine_rows_multi(const AffineRows& w, const AffineInput* in, int m, float* y, uint64_t ldy, int n0, int n1) {
  switch (m) {
    case 1: affine_rows_m<kBits, 1>(w, in, y, ldy, n0, n1); break;
    case 2: affine_rows_m<kBits, 2>(w, in, y, ldy, n0, n1); break;
    case 3: affine_rows_m<kBits, 3>(w, in, y, ldy, n0, n1); break;
    default: affine_rows_m<kBits, 4>(w, in, y, ldy, n0, n1); break;
  }
}

void affine4_rows_multi(const AffineRows& w, const AffineInput* in, int m, float* y, uint64_t ldy, int n0, int n1) {
  affine_rows_multi<4>(w, in, m, y, ldy, n0, n1);
}

void affine8_rows_multi(const AffineRows& w, const AffineInput* in, int m, float* y, uint64_t ldy, int n0, int n1) {
  affine_rows_multi<8>(w, in, m, y, ldy, n0, n1);
}

}  // namespace

const KernelTable* avx512_table() {
  static const KernelTable table = {
      .name = "avx512-vnni",
      .dot_f32 = dot_f32,
      .axpy_f32 = axpy_f32,
      .f16_to_f32 = f16_to_f32,
      .bf16_to_f32 = bf16_to_f32,
      .unpack4 = avx2_table()->unpack4,
      .quantize_blocks = quantize_blocks,
      .dot_u8s8_blocks = dot_u8s8_blocks,
      .affine4_rows = affine4_rows,
      .affine8_rows = affine8_rows,
      .affine4_rows_multi = affine4_rows_multi,
      .affine8_rows_multi = affine8_rows_multi,
      .affine4_gemm = affine4_gemm,
      .affine8_gemm = affine8_gemm,
      .tile_f32 = tile_f32,
      .weighted_sum_f32 = weighted_sum<float>,
      .exp_sum = exp_sum,
      .silu_mul = silu_mul,
      .argmax_f32 = argmax_f32,
      .f32_to_f16 = f32_to_f16,
      .weighted_sum_f16 = weighted_sum<uint16_t>,
      .weighted_sum_i8 = weighted_sum<int8_t>,
      .f32_to_bf16 = nullptr,
      .dot_bf16 = nullptr,
      .tile_bf16 = nullptr,
      .quantize_tile_row = nullptr,
      .quantize_strip_row = quantize_row64<kGemmStripCols>,
      .gemm_bf16 = nullptr,
  };
  return &table;
}

}  // namespace mlxpack::kernels
