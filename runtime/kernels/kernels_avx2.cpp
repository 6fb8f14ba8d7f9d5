// AVX2 + FMA + F16C kernels (Haswell and later). Compiled with those flags
// for this file only; used only when the CPU reports them.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/affine_rows.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

namespace {

// Rows per block of the matrix-vector kernels.
constexpr int kRowBlock = 2;

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

float dot_f32(const float* a, const float* b, int n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_f32(float a, const float* x, float* y, int n) {
  const __m256 va = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

void f16_to_f32(const uint16_t* in, float* out, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = _cvtsh_ss(in[i]);
}

void bf16_to_f32(const uint16_t* in, float* out, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(out + i, &bits, 4);
  }
}

void unpack4(const uint8_t* packed, uint8_t* out, int n) {
  const __m128i mask = _mm_set1_epi8(0x0f);
  for (int i = 0; i < n; i += 32) {
    const __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed + i / 2));
    const __m128i lo = _mm_and_si128(p, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(p, 4), mask);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_unpacklo_epi8(lo, hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i + 16), _mm_unpackhi_epi8(lo, hi));
  }
}

float dot_u8s8_blocks(const uint8_t* q, const int8_t* xq, const float* w, int nblocks) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nblocks; ++b) {
    const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * kBlock));
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * kBlock));
    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(qv, xv), ones);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(w[b]), _mm256_cvtepi32_ps(p), acc);
  }
  return hsum(acc);
}

void tile_f32(const float* const* w, const float* const* x, int n, float* out) {
  // Two 4x2 passes: 8 accumulators and 6 loads fit the 16 ymm registers.
  for (int c = 0; c < 4; c += 2) {
    __m256 a[4][2];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) a[r][0] = a[r][1] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(x[c] + i), x1 = _mm256_loadu_ps(x[c + 1] + i);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const __m256 wv = _mm256_loadu_ps(w[r] + i);
        a[r][0] = _mm256_fmadd_ps(wv, x0, a[r][0]);
        a[r][1] = _mm256_fmadd_ps(wv, x1, a[r][1]);
      }
    }
    for (int r = 0; r < 4; ++r) {
      float s0 = hsum(a[r][0]), s1 = hsum(a[r][1]);
      for (int j = i; j < n; ++j) {
        s0 += w[r][j] * x[c][j];
        s1 += w[r][j] * x[c + 1][j];
      }
      out[r * 4 + c] = s0;
      out[r * 4 + c + 1] = s1;
    }
  }
}

// Cached rows as floats, F32, F16 or int8.
inline __m256 load_kv(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load_kv(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load_kv(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline float kv_at(const float* p, int i) { return p[i]; }
inline float kv_at(const uint16_t* p, int i) { return _cvtsh_ss(p[i]); }
inline float kv_at(const int8_t* p, int i) { return p[i]; }

void f32_to_f16(const float* in, uint16_t* out, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = _cvtss_sh(in[i], _MM_FROUND_TO_NEAREST_INT);
}

// Columns c..c+32 of H heads' sums, four registers each across every
// position.
template <int H, typename T>
inline void weighted_sum_columns(const float* p, uint64_t p_stride, const T* v, uint64_t stride, int count, int c,
                                 float* out, uint64_t out_stride) {
  __m256 a[H][4];
  for (int h = 0; h < H; ++h) {
    for (int j = 0; j < 4; ++j) a[h][j] = _mm256_setzero_ps();
  }
  for (int s = 0; s < count; ++s) {
    const T* row = v + s * stride + c;
    const __m256 x0 = load_kv(row), x1 = load_kv(row + 8), x2 = load_kv(row + 16), x3 = load_kv(row + 24);
    for (int h = 0; h < H; ++h) {
      const __m256 ps = _mm256_set1_ps(p[h * p_stride + s]);
      a[h][0] = _mm256_fmadd_ps(ps, x0, a[h][0]);
      a[h][1] = _mm256_fmadd_ps(ps, x1, a[h][1]);
      a[h][2] = _mm256_fmadd_ps(ps, x2, a[h][2]);
      a[h][3] = _mm256_fmadd_ps(ps, x3, a[h][3]);
    }
  }
  for (int h = 0; h < H; ++h) {
    for (int j = 0; j < 4; ++j) _mm256_storeu_ps(out + h * out_stride + c + 8 * j, a[h][j]);
  }
}

template <int H, typename T>
void weighted_sum_heads(const float* p, uint64_t p_stride, const T* v, uint64_t stride, int count, int n, float* out,
                        uint64_t out_stride) {
  int c = 0;
  for (; c + 32 <= n; c += 32) weighted_sum_columns<H>(p, p_stride, v, stride, count, c, out, out_stride);
  if (c < n) {
    for (int h = 0; h < H; ++h) {
      float* o = out + h * out_stride;
      std::memset(o + c, 0, sizeof(float) * (n - c));
      for (int s = 0; s < count; ++s) {
        const T* row = v + s * stride + c;
        for (int i = 0; i < n - c; ++i) o[c + i] += p[h * p_stride + s] * kv_at(row, i);
      }
    }
  }
}

// Two heads at a time (2 x 4 accumulators; the sixteen registers hold no more).
template <typename T>
void weighted_sum(const float* p, uint64_t p_stride, int heads, const T* v, uint64_t stride, int count, int n,
                  float* out, uint64_t out_stride) {
  int h = 0;
  for (; h + 2 <= heads; h += 2) {
    weighted_sum_heads<2>(p + h * p_stride, p_stride, v, stride, count, n, out + h * out_stride, out_stride);
  }
  if (h < heads) weighted_sum_heads<1>(p + h * p_stride, p_stride, v, stride, count, n, out + h * out_stride, out_stride);
}

// exp(x) = 2^m * e^r, m = round(x / ln 2), |r| <= ln(2) / 2, e^r by Cephes'
// expf polynomial; inputs are clamped to the finite float range first.
__m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.0f));
  const __m256 m = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(m, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(m, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // m in [-126, 127] after the clamp: 2^m built in the exponent field.
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(m), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

float exp_sum(const float* x, float shift, float* out, int n) {
  const __m256 sh = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
    _mm256_storeu_ps(out + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum(acc);
  if (i < n) {
    float in[8] = {}, tail[8];
    std::memcpy(in, x + i, sizeof(float) * (n - i));
    _mm256_storeu_ps(tail, exp_ps(_mm256_sub_ps(_mm256_loadu_ps(in), sh)));
    for (int j = 0; j < n - i; ++j) {
      out[i + j] = tail[j];
      sum += tail[j];
    }
  }
  return sum;
}

__m256 silu_mul_ps(__m256 g, __m256 u) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g)))), u);
}

void silu_mul(const float* g, const float* u, float* out, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, silu_mul_ps(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
  if (i < n) {
    float gt[8] = {}, ut[8] = {}, r[8];
    std::memcpy(gt, g + i, sizeof(float) * (n - i));
    std::memcpy(ut, u + i, sizeof(float) * (n - i));
    _mm256_storeu_ps(r, silu_mul_ps(_mm256_loadu_ps(gt), _mm256_loadu_ps(ut)));
    std::memcpy(out + i, r, sizeof(float) * (n - i));
  }
}

// Per lane the largest value and the first index holding it, then the
// lanes' winner (ties to the lower index, as the scalar loop).
int argmax_f32(const float* x, int n) {
  int i = 0;
  int best = 0;
  if (n >= 8) {
    __m256 vmax = _mm256_loadu_ps(x);
    __m256i vidx = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    __m256i cur = vidx;
    const __m256i step = _mm256_set1_epi32(8);
    for (i = 8; i + 8 <= n; i += 8) {
      cur = _mm256_add_epi32(cur, step);
      const __m256 v = _mm256_loadu_ps(x + i);
      const __m256 gt = _mm256_cmp_ps(v, vmax, _CMP_GT_OQ);
      vmax = _mm256_blendv_ps(vmax, v, gt);
      vidx = _mm256_blendv_epi8(vidx, cur, _mm256_castps_si256(gt));
    }
    alignas(32) float m[8];
    alignas(32) int32_t idx[8];
    _mm256_store_ps(m, vmax);
    _mm256_store_si256(reinterpret_cast<__m256i*>(idx), vidx);
    best = idx[0];
    for (int l = 1; l < 8; ++l) {
      if (m[l] > x[best] || (m[l] == x[best] && idx[l] < best)) best = idx[l];
    }
  }
  for (; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

// Prefill's 4-bit register tile (for affine_gemm_blocked): two weight
// rows by two activation rows per register block, 32 packed bytes (64
// values, blocks 2h and 2h + 1 of a chunk) per step. maddubs multiplies the
// unsigned nibbles by the int8 activations; 15 * 127 * 4 fits 16 bits, so
// the low- and high-nibble products add before widening.
void affine4_block2x2(const uint8_t* const* rows, const float* const* lanes, const int8_t* const* xs,
                      const float* const* ds, int chunks, float* out) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
  for (int ch = 0; ch < chunks; ++ch) {
    for (int h = 0; h < 2; ++h) {
      const __m256i p0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[0] + ch * 64 + h * 32));
      const __m256i p1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[1] + ch * 64 + h * 32));
      const __m256i lo0 = _mm256_and_si256(p0, mask), hi0 = _mm256_and_si256(_mm256_srli_epi16(p0, 4), mask);
      const __m256i lo1 = _mm256_and_si256(p1, mask), hi1 = _mm256_and_si256(_mm256_srli_epi16(p1, 4), mask);
      const __m256 s0 = _mm256_loadu_ps(lanes[0] + ch * 16 + h * 8), s1 = _mm256_loadu_ps(lanes[1] + ch * 16 + h * 8);
      for (int c = 0; c < 2; ++c) {
        const __m256i xl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[c] + ch * 128 + h * 32));
        const __m256i xh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[c] + ch * 128 + 64 + h * 32));
        const __m256 d = _mm256_loadu_ps(ds[c] + ch * 16 + h * 8);
        const __m256i q0 = _mm256_madd_epi16(
            _mm256_add_epi16(_mm256_maddubs_epi16(lo0, xl), _mm256_maddubs_epi16(hi0, xh)), ones);
        const __m256i q1 = _mm256_madd_epi16(
            _mm256_add_epi16(_mm256_maddubs_epi16(lo1, xl), _mm256_maddubs_epi16(hi1, xh)), ones);
        __m256& r0 = c == 0 ? a00 : a01;
        __m256& r1 = c == 0 ? a10 : a11;
        r0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q0), _mm256_mul_ps(s0, d), r0);
        r1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q1), _mm256_mul_ps(s1, d), r1);
      }
    }
  }
  out[0] = hsum(a00);
  out[1] = hsum(a01);
  out[2] = hsum(a10);
  out[3] = hsum(a11);
}

void affine4_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                  int n1) {
  affine_gemm_blocked<4, 2, 2, affine4_block2x2, f16_to_f32, bf16_to_f32>(w, x, scratch, y, ldy, n0, n1);
}

// Eight group parameters (scales or biases) of one row from group g0 as
// floats, read in place; lanes from `count` on are zero.
inline __m256 load_group_params(const uint8_t* row, ParamKind kind, int g0, int count) {
  const int size = kind == ParamKind::kF32 ? 4 : 2;
  alignas(32) uint8_t tail[32] = {};
  const uint8_t* p = row + static_cast<uint64_t>(g0) * size;
  if (count < 8) {  // AVX2 has no masked 16-bit load
    std::memcpy(tail, p, static_cast<size_t>(count) * size);
    p = tail;
  }
  if (kind == ParamKind::kF32) return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (kind == ParamKind::kF16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// Starts groups g0..g0+count-1 of rows n..n+R-1: their scales into sv, and
// the bias term sum_g b_g * group_sum_g added to acc.
template <int R>
inline void begin_groups(const AffineRows& w, const AffineInput& in, int n, int g0, int count, __m256* sv,
                         __m256* acc) {
  const uint64_t param_bytes =
      static_cast<uint64_t>(w.cols / w.group_size) * (w.scale_kind == ParamKind::kF32 ? 4 : 2);
  const __m256 gsum = load_group_params(reinterpret_cast<const uint8_t*>(in.group_sum), ParamKind::kF32, g0, count);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const uint64_t off = static_cast<uint64_t>(n + r) * param_bytes;
    sv[r] = load_group_params(w.scales + off, w.scale_kind, g0, count);
    acc[r] = _mm256_fmadd_ps(load_group_params(w.biases + off, w.scale_kind, g0, count), gsum, acc[r]);
  }
}

// Rows n..n+R-1 of a 4-bit weight times one activation row: as the AVX-512
// table's row block (a row's scales and biases for eight groups in one
// vector read in place, lane scales by permute, one bias FMA per eight
// groups, R rows sharing the activation loads), in 32-byte halves of a
// 128-value chunk: half h holds blocks 4c + 2h (lanes 0-3) and 4c + 2h + 1
// (lanes 4-7) after the pairwise adds.
template <int R>
void affine4_row_block(const AffineRows& w, const AffineInput& in, int n, float* y) {
  const int groups = w.cols / w.group_size;
  const int groups_per_chunk = 128 / w.group_size;  // 4, 2 or 1
  const __m128i block_shift = _mm_cvtsi32_si128(groups_per_chunk == 4 ? 0 : groups_per_chunk == 2 ? 1 : 2);
  const __m256i mask = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i lane_block = _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0);
  const uint8_t* rows = w.data + static_cast<uint64_t>(n) * w.row_bytes;
  prefetch_ahead(rows, R * w.row_bytes);
  __m256 acc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  int chunk = 0;
  for (int g0 = 0; g0 < groups; g0 += 8) {
    const int count = std::min(8, groups - g0);
    __m256 sv[R];
    begin_groups<R>(w, in, n, g0, count, sv, acc);
    const int first_block = 4 * chunk;
    for (const int end = chunk + count / groups_per_chunk; chunk < end; ++chunk) {
      for (int h = 0; h < 2; ++h) {
        const int b = 4 * chunk + 2 * h;
        // Each lane's group within these eight, and its block's d.
        const __m256i idx = _mm256_srl_epi32(_mm256_add_epi32(_mm256_set1_epi32(b - first_block), lane_block), block_shift);
        const __m256 dv = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_broadcast_ss(in.d + b)),
                                               _mm_broadcast_ss(in.d + b + 1), 1);
        const __m256i xl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in.xq + chunk * 128 + h * 32));
        const __m256i xh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in.xq + chunk * 128 + 64 + h * 32));
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m256i p =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * w.row_bytes + chunk * 64 + h * 32));
          // 15 * 127 * 4 fits 16 bits, so the two products add before widening.
          const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(p, mask), xl),
                                               _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(p, 4), mask), xh));
          const __m256 wv = _mm256_mul_ps(_mm256_permutevar8x32_ps(sv[r], idx), dv);
          acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones)), wv, acc[r]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) y[n + r] = hsum(acc[r]) + (w.out_bias != nullptr ? w.out_bias[n + r] : 0.0f);
}

void affine4_rows(const AffineRows& w, const AffineInput& in, float* /*scratch*/, float* y, int n0, int n1) {
  int n = n0;
  for (; n + kRowBlock <= n1; n += kRowBlock) affine4_row_block<kRowBlock>(w, in, n, y);
  for (; n < n1; ++n) affine4_row_block<1>(w, in, n, y);
}

// Rows n..n+R-1 of an 8-bit weight times one activation row, a 32-value
// block at a time. maddubs saturates u8 x s8 pairs past 16 bits, so q is
// re-centred: <q, x> = <q - 128, x> + 128 * isum, and the second part,
// summed per group (correction[g] = 128 * sum_b d_b isum_b), costs one FMA
// per eight groups like the bias term.
template <int R>
void affine8_row_block(const AffineRows& w, const AffineInput& in, const float* correction, int n, float* y) {
  const int groups = w.cols / w.group_size;
  const int block_shift = w.group_size == 32 ? 0 : w.group_size == 64 ? 1 : 2;
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i centre = _mm256_set1_epi8(static_cast<char>(0x80));
  const uint8_t* rows = w.data + static_cast<uint64_t>(n) * w.row_bytes;
  prefetch_ahead(rows, R * w.row_bytes);
  __m256 acc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (int g0 = 0; g0 < groups; g0 += 8) {
    const int count = std::min(8, groups - g0);
    const __m256 corr = load_group_params(reinterpret_cast<const uint8_t*>(correction), ParamKind::kF32, g0, count);
    __m256 sv[R];
    begin_groups<R>(w, in, n, g0, count, sv, acc);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(sv[r], corr, acc[r]);
    const int first = g0 << block_shift;
    for (int b = first, end = (g0 + count) << block_shift; b < end; ++b) {
      const __m256i idx = _mm256_set1_epi32((b - first) >> block_shift);
      const __m256 dv = _mm256_broadcast_ss(in.d + b);
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in.xq + b * kBlock));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256i qs = _mm256_xor_si256(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * w.row_bytes + b * kBlock)), centre);
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(qs), _mm256_sign_epi8(xv, qs)), ones);
        const __m256 wv = _mm256_mul_ps(_mm256_permutevar8x32_ps(sv[r], idx), dv);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), wv, acc[r]);
      }
    }
  }
  for (int r = 0; r < R; ++r) y[n + r] = hsum(acc[r]) + (w.out_bias != nullptr ? w.out_bias[n + r] : 0.0f);
}

void affine8_rows(const AffineRows& w, const AffineInput& in, float* scratch, float* y, int n0, int n1) {
  const int groups = w.cols / w.group_size;
  const int blocks_per_group = w.group_size / kBlock;
  float* correction = scratch;  // groups floats of the 2 * groups
  for (int g = 0; g < groups; ++g) {
    float c = 0.0f;
    for (int j = 0; j < blocks_per_group; ++j) {
      const int b = g * blocks_per_group + j;
      c += in.d[b] * static_cast<float>(in.isum[b]);
    }
    correction[g] = 128.0f * c;
  }
  int n = n0;
  for (; n + kRowBlock <= n1; n += kRowBlock) affine8_row_block<kRowBlock>(w, in, correction, n, y);
  for (; n < n1; ++n) affine8_row_block<1>(w, in, correction, n, y);
}

}  // namespace

const KernelTable* avx2_table() {
  static const KernelTable table = {
      .name = "avx2",
      .dot_f32 = dot_f32,
      .axpy_f32 = axpy_f32,
      .f16_to_f32 = f16_to_f32,
      .bf16_to_f32 = bf16_to_f32,
      .unpack4 = unpack4,
      .quantize_blocks = scalar_table()->quantize_blocks,
      .dot_u8s8_blocks = dot_u8s8_blocks,
      .affine4_rows = affine4_rows,
      .affine8_rows = affine8_rows,
      .affine4_rows_multi = nullptr,
      .affine8_rows_multi = nullptr,
      .affine4_gemm = affine4_gemm,
      .affine8_gemm = nullptr,
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
      .quantize_strip_row = nullptr,
      .gemm_bf16 = nullptr,
  };
  return &table;
}

}  // namespace mlxpack::kernels
