// The portable kernels: plain loops the compiler may vectorize for the
// build's baseline. The reference the SIMD tables are tested against.
#include <cmath>
#include <cstring>

#include "format/half.h"
#include "runtime/kernels/affine_rows.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

namespace {

float dot_f32(const float* a, const float* b, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_f32(float a, const float* x, float* y, int n) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

void f16_to_f32(const uint16_t* in, float* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = mlxpack::f16_to_f32(in[i]);
}

void f32_to_f16(const float* in, uint16_t* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = mlxpack::f32_to_f16(in[i]);
}

inline float kv_at(const float* p, uint64_t i) { return p[i]; }
inline float kv_at(const uint16_t* p, uint64_t i) { return mlxpack::f16_to_f32(p[i]); }
inline float kv_at(const int8_t* p, uint64_t i) { return p[i]; }

void bf16_to_f32(const uint16_t* in, float* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = mlxpack::bf16_to_f32(in[i]);
}

void unpack4(const uint8_t* packed, uint8_t* out, int n) {
  for (int i = 0; i < n / 2; ++i) {
    out[2 * i] = packed[i] & 0x0f;
    out[2 * i + 1] = packed[i] >> 4;
  }
}

void quantize_blocks(const float* x, int8_t* xq, float* d, float* sum, int32_t* isum, int n) {
  for (int b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    float amax = 0.0f, s = 0.0f;
    for (int i = 0; i < kBlock; ++i) {
      amax = std::fmax(amax, std::fabs(xb[i]));
      s += xb[i];
    }
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    int32_t is = 0;
    for (int i = 0; i < kBlock; ++i) {
      const int v = static_cast<int>(std::nearbyint(xb[i] * inv));
      xq[b * kBlock + i] = static_cast<int8_t>(v);
      is += v;
    }
    d[b] = scale;
    sum[b] = s;
    isum[b] = is;
  }
}

float dot_u8s8_blocks(const uint8_t* q, const int8_t* xq, const float* w, int nblocks) {
  float s = 0.0f;
  for (int b = 0; b < nblocks; ++b) {
    int32_t acc = 0;
    for (int i = 0; i < kBlock; ++i) acc += static_cast<int32_t>(q[b * kBlock + i]) * xq[b * kBlock + i];
    s += w[b] * static_cast<float>(acc);
  }
  return s;
}

float affine4_dot(const uint8_t* packed, const float* scale, int shift, const int8_t* x, const float* d, int n) {
  float s = 0.0f;
  for (int c = 0; c < n / 128; ++c) {
    const uint8_t* p = packed + c * 64;
    const int8_t* xlo = x + c * 128;
    const int8_t* xhi = xlo + 64;
    int32_t acc[4] = {0, 0, 0, 0};
    // Byte i holds values 2i and 2i + 1 of the chunk, both in block i / 16.
    for (int i = 0; i < 64; ++i) acc[i / 16] += (p[i] & 0x0f) * xlo[i] + (p[i] >> 4) * xhi[i];
    for (int b = 0; b < 4; ++b) s += scale[(c * 4 + b) >> shift] * d[c * 4 + b] * static_cast<float>(acc[b]);
  }
  return s;
}

float affine8_dot(const uint8_t* packed, const float* scale, int shift, const int8_t* x, const float* d, int n) {
  float s = 0.0f;
  for (int b = 0; b < n / kBlock; ++b) {
    int32_t acc = 0;
    for (int i = 0; i < kBlock; ++i) acc += packed[b * kBlock + i] * x[b * kBlock + i];
    s += scale[b >> shift] * d[b] * static_cast<float>(acc);
  }
  return s;
}

void tile_f32(const float* const* w, const float* const* x, int n, float* out) {
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = dot_f32(w[r], x[c], n);
  }
}

template <typename T>
void weighted_sum(const float* p, uint64_t p_stride, int heads, const T* v, uint64_t stride, int count, int n,
                  float* out, uint64_t out_stride) {
  for (int h = 0; h < heads; ++h) {
    float* o = out + h * out_stride;
    std::memset(o, 0, sizeof(float) * n);
    for (int s = 0; s < count; ++s) {
      for (int i = 0; i < n; ++i) o[i] += p[h * p_stride + s] * kv_at(v + s * stride, i);
    }
  }
}

float exp_sum(const float* x, float shift, float* out, int n) {
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    out[i] = std::exp(x[i] - shift);
    sum += out[i];
  }
  return sum;
}

void silu_mul(const float* g, const float* u, float* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

int argmax_f32(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

void affine4_rows(const AffineRows& w, const AffineInput& in, float* scratch, float* y, int n0, int n1) {
  affine_rows<affine4_dot, f16_to_f32, bf16_to_f32>(w, in, scratch, y, n0, n1);
}

void affine8_rows(const AffineRows& w, const AffineInput& in, float* scratch, float* y, int n0, int n1) {
  affine_rows<affine8_dot, f16_to_f32, bf16_to_f32>(w, in, scratch, y, n0, n1);
}

const KernelTable kScalar = {
    .name = "scalar",
    .dot_f32 = dot_f32,
    .axpy_f32 = axpy_f32,
    .f16_to_f32 = f16_to_f32,
    .bf16_to_f32 = bf16_to_f32,
    .unpack4 = unpack4,
    .quantize_blocks = quantize_blocks,
    .dot_u8s8_blocks = dot_u8s8_blocks,
    .affine4_rows = affine4_rows,
    .affine8_rows = affine8_rows,
    .affine4_rows_multi = nullptr,
    .affine8_rows_multi = nullptr,
    .affine4_gemm = nullptr,
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

}  // namespace

const KernelTable* scalar_table() { return &kScalar; }

}  // namespace mlxpack::kernels
