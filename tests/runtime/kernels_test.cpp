// Linear-layer kernels: quantized rows against dequantize-then-multiply
// (convert's bit-exact MLX quantizer and its double-precision reference),
// float rows against a double product, and every SIMD table against the
// scalar one on the same inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "convert/affine_quant.h"
#include "convert/float_convert.h"
#include "runtime/kernels/linear.h"

namespace mlxpack::test {
namespace {

using kernels::Activations;
using kernels::KernelTable;
using kernels::Weight;
using kernels::ParamKind;

std::vector<const KernelTable*> tables() { return kernels::supported_tables(); }

std::vector<float> random_floats(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

ParamKind kind_of(DType d) {
  return d == DType::kF16 ? ParamKind::kF16 : d == DType::kBF16 ? ParamKind::kBF16 : ParamKind::kF32;
}

// Runs y = W x with `table` and returns y (m x rows).
std::vector<float> run(const KernelTable* table, const Weight& w, const std::vector<float>& x, int m) {
  kernels::set_active_table(table);
  Activations a;
  a.set(x.data(), m, w.cols);
  std::vector<float> y(size_t(m) * w.rows, NAN);
  // Three calls over parts of the rows, as the pool would split them, the
  // last part first: a kernel writing past the end of its part shows (the
  // part after it is already done). The parts' edges land inside the
  // kernels' row tiles: at 70 rows the AVX-512 matrix-matrix kernel gets a
  // partial pair of strips (24 rows), a partial strip (12) and a whole pair
  // with 2 rows left over.
  const int split1 = w.rows / 3 + 1, split2 = w.rows / 2 + 1;
  kernels::linear_rows(w, a, y.data(), w.rows, split2, w.rows);
  kernels::linear_rows(w, a, y.data(), w.rows, split1, split2);
  kernels::linear_rows(w, a, y.data(), w.rows, 0, split1);
  kernels::set_active_table(nullptr);
  return y;
}

// |x| |w_row|: the scale an error of a dot product is measured against.
double bound(const std::vector<float>& x, int i, int k, const std::vector<float>& wrow) {
  double xx = 0, ww = 0;
  for (int j = 0; j < k; ++j) xx += double(x[size_t(i) * k + j]) * x[size_t(i) * k + j];
  for (float v : wrow) ww += double(v) * v;
  return std::sqrt(xx * ww);
}

struct QuantCase {
  int bits;
  int group;
  DType dtype;
};

// What the AVX-512 VNNI and AMX prefill kernels compute, in double from
// their definition: x quantized in blocks of 64 (d = max|x| / 127 and
// round(x / d) in float, as quantize_strip_row and quantize_tile_row do),
// times the weight's integers in blocks (64 values, or a whole group of
// 32), each block sum times its d and the group scale, plus the group bias
// times the float sum of x over the group, plus the output bias.
std::vector<double> block64_model(const std::vector<float>& x, int m, const Weight& w) {
  const int blocks = w.cols / 64, groups = w.cols / w.group_size;
  std::vector<int> xq(x.size());
  std::vector<float> d(size_t(m) * blocks);
  for (int i = 0; i < m; ++i) {
    for (int b = 0; b < blocks; ++b) {
      const float* xb = x.data() + size_t(i) * w.cols + b * 64;
      float amax = 0;
      for (int v = 0; v < 64; ++v) amax = std::max(amax, std::fabs(xb[v]));
      const float scale = amax / 127.0f, inv = scale != 0.0f ? 1.0f / scale : 0.0f;
      d[size_t(i) * blocks + b] = scale;
      for (int v = 0; v < 64; ++v) xq[size_t(i) * w.cols + b * 64 + v] = int(std::nearbyint(xb[v] * inv));
    }
  }
  std::vector<double> y(size_t(m) * w.rows);
  std::vector<uint8_t> q(w.cols);
  for (int r = 0; r < w.rows; ++r) {
    kernels::unpack_bits(w.data + r * w.row_bytes, w.bits, q.data(), w.cols);
    for (int i = 0; i < m; ++i) {
      double sum = w.bias[r];
      for (int g = 0; g < groups; ++g) {
        const double s = kernels::load_scalar(w.scales, w.scale_kind, r * groups + g);
        const double bg = kernels::load_scalar(w.biases, w.scale_kind, r * groups + g);
        const int step = std::min(w.group_size, 64);
        for (int k0 = g * w.group_size; k0 < (g + 1) * w.group_size; k0 += step) {
          long long block = 0;
          double xsum = 0;
          for (int k = k0; k < k0 + step; ++k) {
            block += q[k] * xq[size_t(i) * w.cols + k];
            xsum += x[size_t(i) * w.cols + k];
          }
          sum += s * d[size_t(i) * blocks + k0 / 64] * double(block) + bg * xsum;
        }
      }
      y[size_t(i) * w.rows + r] = sum;
    }
  }
  return y;
}

void check_quantized_linear(const QuantCase& c, int rows, int cols) {
  std::vector<float> wf = random_floats(size_t(rows) * cols, c.bits * 100 + c.group, 0.05f);
  std::string raw(wf.size() * dtype_size_bytes(c.dtype), '\0');
  for (size_t i = 0; i < wf.size(); ++i) store_float(reinterpret_cast<uint8_t*>(raw.data()), c.dtype, i, wf[i]);
  auto q = affine_quantize(reinterpret_cast<const uint8_t*>(raw.data()), c.dtype, {uint64_t(rows), uint64_t(cols)},
                           {c.bits, c.group}, 1, "w");
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const std::vector<float> deq = affine_dequantize(*q, c.dtype, {c.bits, c.group});
  Weight w;
  w.kind = ParamKind::kAffine;
  w.rows = rows;
  w.cols = cols;
  w.data = reinterpret_cast<const uint8_t*>(q->weight.data());
  w.row_bytes = uint64_t(cols) * c.bits / 8;
  w.bits = c.bits;
  w.group_size = c.group;
  w.scale_kind = kind_of(c.dtype);
  w.scales = reinterpret_cast<const uint8_t*>(q->scales.data());
  w.biases = reinterpret_cast<const uint8_t*>(q->biases.data());
  std::vector<float> bias = random_floats(rows, 5);
  w.bias = bias.data();

  // Decode (m < 4, int8 activations) and prefill (m >= 4: tiled, float, or
  // int8 in tables with a matrix-matrix kernel), with edge tiles; 70 rows:
  // more than one block of activation rows in the AVX-512 kernel. 2, 3, 5
  // and 7 rows: the AVX-512 matrix-vector kernel's batches of 1 to 4
  // activation rows (5 = 4 + 1, 7 = 4 + 3).
  for (int m : {1, 2, 3, 5, 7, 18, 70}) {
    const std::vector<float> x = random_floats(size_t(m) * cols, 77 + m);
    const std::vector<float> ref = quantized_matmul_reference(x, m, *q, c.dtype, {c.bits, c.group});
    const std::vector<float> scalar = run(kernels::scalar_table(), w, x, m);
    // The tables with a matrix-matrix kernel for these bits compute the
    // same int32 block sums as the first of them (AVX2's, 32-value
    // activation blocks): they agree up to the order of their float sums.
    // The AVX-512 VNNI and AMX kernels' activation blocks are 64 values
    // (kTileBlock): they agree with their definition (block64_model) to
    // the same bound.
    std::vector<float> first_gemm;
    const char* first_gemm_name = nullptr;
    for (const KernelTable* t : tables()) {
      const std::vector<float> y = run(t, w, x, m);
      const bool gemm = m >= kernels::kSmallBatchRows && cols % 128 == 0 &&
                        ((c.bits == 4 && t->affine4_gemm != nullptr) || (c.bits == 8 && t->affine8_gemm != nullptr));
      if (gemm && (t->quantize_strip_row != nullptr || t->quantize_tile_row != nullptr)) {
        const std::vector<double> model = block64_model(x, m, w);
        for (int i = 0; i < m; ++i) {
          for (int r = 0; r < rows; ++r) {
            const std::vector<float> wrow(deq.begin() + size_t(r) * cols, deq.begin() + size_t(r + 1) * cols);
            EXPECT_NEAR(y[size_t(i) * rows + r], model[size_t(i) * rows + r], 1e-5 * bound(x, i, cols, wrow) + 1e-6)
                << t->name << " vs its 64-value blocks, bits " << c.bits << " group " << c.group << " m " << m
                << " row " << r;
          }
        }
      } else if (gemm && first_gemm_name == nullptr) {
        first_gemm = y;
        first_gemm_name = t->name;
      } else if (gemm) {
        for (int i = 0; i < m; ++i) {
          for (int r = 0; r < rows; ++r) {
            const std::vector<float> wrow(deq.begin() + size_t(r) * cols, deq.begin() + size_t(r + 1) * cols);
            EXPECT_NEAR(y[size_t(i) * rows + r], first_gemm[size_t(i) * rows + r], 1e-5 * bound(x, i, cols, wrow) + 1e-6)
                << t->name << " vs " << first_gemm_name << " bits " << c.bits << " group " << c.group << " m " << m
                << " row " << r;
          }
        }
      }
      for (int i = 0; i < m; ++i) {
        for (int r = 0; r < rows; ++r) {
          const std::vector<float> wrow(deq.begin() + size_t(r) * cols, deq.begin() + size_t(r + 1) * cols);
          const double scale = bound(x, i, cols, wrow);
          const double want = ref[size_t(i) * rows + r] + bias[r];
          const double got = y[size_t(i) * rows + r];
          // The reference rounds each dequantized weight to the scales' dtype
          // (as MLX does); the kernels keep float. int8 activations (m < 4)
          // add ~1/254 relative error per block.
          const double rounding = c.dtype == DType::kF32 ? 1e-5 : c.dtype == DType::kF16 ? 1e-3 : 8e-3;
          const bool int8 = m < 4 || (c.bits == 4 && t->affine4_gemm != nullptr) ||
                            (c.bits == 8 && t->affine8_gemm != nullptr);
          EXPECT_NEAR(got, want, (rounding + (int8 ? 1e-2 : 0.0)) * scale + 1e-6)
              << t->name << " bits " << c.bits << " group " << c.group << " m " << m << " row " << r;
          // Same arithmetic as the scalar table up to summation order, or
          // int8 activations against its float rows.
          const bool same_path = m < 4 || !int8;
          EXPECT_NEAR(got, scalar[size_t(i) * rows + r], (same_path ? 1e-5 : 1e-2) * scale + 1e-6)
              << t->name << " vs scalar";
        }
      }
    }
  }
}

class QuantizedLinear : public ::testing::TestWithParam<QuantCase> {};

TEST_P(QuantizedLinear, MatchesDequantizeThenMultiplyOnEveryTable) {
  const QuantCase c = GetParam();
  // 256 columns; 288 at group 32, off a multiple of 64 (the 8-bit kernels'
  // 32-value tail) and of 128 (4-bit without nibble order); and 2304 (18
  // chunks of 128): rows with more groups than one vector holds, plus a
  // partial vector. 70 rows at 2304 columns: more than one panel of the
  // matrix-matrix kernels (lane scales prepared for 40 to 64 rows at a
  // time), the last one ending in a 2-row group. The batch of 18 rows is two
  // blocks of those kernels, the second of 2 rows.
  for (const int cols : {256, 288, 2304}) {
    if (cols % c.group != 0) continue;
    SCOPED_TRACE("cols " + std::to_string(cols));
    check_quantized_linear(c, 24, cols);
    if (cols == 2304) check_quantized_linear(c, 70, cols);
  }
  // The AVX-512 decode kernel takes rows of 512 bytes or more one at a time
  // (2304 columns above, at 4 and at 8 bits), shorter rows four at a time
  // (256 and 288); 4352 columns at 4 bits: a row of more than 2 KiB.
  if (c.bits == 4) {
    SCOPED_TRACE("cols 4352");
    check_quantized_linear(c, 6, 4352);
  }
}


std::vector<QuantCase> quant_cases() {
  std::vector<QuantCase> c;
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) c.push_back({bits, group, DType::kF16});
  }
  c.push_back({4, 64, DType::kBF16});
  c.push_back({8, 32, DType::kBF16});
  c.push_back({4, 32, DType::kF32});
  c.push_back({8, 128, DType::kF32});
  return c;
}

INSTANTIATE_TEST_SUITE_P(BitsGroupsDtypes, QuantizedLinear, ::testing::ValuesIn(quant_cases()),
                         [](const auto& info) {
                           return std::to_string(info.param.bits) + "bit_g" + std::to_string(info.param.group) + "_" +
                                  dtype_name(info.param.dtype);
                         });

// x rounded to BF16 (nearest even), as the tables with BF16 products do.
float bf16_round(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

TEST(FloatLinear, F32F16BF16MatchADoubleProductOnEveryTable) {
  // Odd sizes: every tail path runs; 1110 columns: more than one slice of
  // the BF16 tiles (1024), and tails of more than 16 values (22). 2304
  // columns (a multiple of 32) and 70 rows, times 18 and 70 activation
  // rows: the AMX BF16 kernel's panels of 32 weight rows (the last of 6)
  // and 32 activation rows (the last of 18 and 6).
  for (const int cols : {77, 1110, 2304}) {
    const int rows = cols == 2304 ? 70 : 13;
    for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
      std::vector<float> wf = random_floats(size_t(rows) * cols, 3);
      std::string raw(wf.size() * dtype_size_bytes(dt), '\0');
      for (size_t i = 0; i < wf.size(); ++i) {
        store_float(reinterpret_cast<uint8_t*>(raw.data()), dt, i, wf[i]);
        wf[i] = load_float(reinterpret_cast<const uint8_t*>(raw.data()), dt, i);
      }
      Weight w;
      w.kind = kind_of(dt);
      w.rows = rows;
      w.cols = cols;
      w.data = reinterpret_cast<const uint8_t*>(raw.data());
      w.row_bytes = uint64_t(cols) * dtype_size_bytes(dt);
      for (int m : {1, 3, 4, 7, 18, 70}) {
        if (m > 7 && cols != 2304) continue;
        const std::vector<float> x = random_floats(size_t(m) * cols, 11 + m);
        for (const KernelTable* t : tables()) {
          const std::vector<float> y = run(t, w, x, m);
          for (int i = 0; i < m; ++i) {
            for (int r = 0; r < rows; ++r) {
              double want = 0, want_bf16 = 0;
              for (int j = 0; j < cols; ++j) {
                const double wv = wf[size_t(r) * cols + j], xv = x[size_t(i) * cols + j];
                want += wv * xv;
                want_bf16 += wv * bf16_round(float(xv));
              }
              const std::vector<float> wrow(wf.begin() + size_t(r) * cols, wf.begin() + size_t(r + 1) * cols);
              const double scale = bound(x, i, cols, wrow);
              const float got = y[size_t(i) * rows + r];
              // BF16 products (one row at a time, and tiles where the table
              // has them): exactly the product with x rounded to BF16,
              // within 2^-9 |w| |x| of the float one; else rows widened.
              const bool bf16_products =
                  (t->dot_bf16 != nullptr && (m < 4 || t->tile_bf16 != nullptr)) ||
                  (t->gemm_bf16 != nullptr && m >= kernels::kSmallBatchRows && cols % 32 == 0);
              if (dt == DType::kBF16 && bf16_products) {
                EXPECT_NEAR(got, want_bf16, 1e-5 * scale) << t->name << " m " << m << " row " << r;
                EXPECT_NEAR(got, want, std::ldexp(1.0, -9) * scale) << t->name << " m " << m << " row " << r;
              } else {
                EXPECT_NEAR(got, want, 1e-5 * scale) << t->name << " " << dtype_name(dt) << " m " << m << " row " << r;
              }
            }
          }
        }
      }
    }
  }
}

TEST(Kernels, HalfAndBfloatConversionsAgreeWithTheConverter) {
  std::vector<uint16_t> bits(65536);
  for (size_t i = 0; i < bits.size(); ++i) bits[i] = uint16_t(i);
  for (const KernelTable* t : tables()) {
    std::vector<float> h(bits.size()), b(bits.size());
    t->f16_to_f32(bits.data(), h.data(), int(bits.size()));
    t->bf16_to_f32(bits.data(), b.data(), int(bits.size()));
    for (size_t i = 0; i < bits.size(); ++i) {
      const float want_h = f16_to_f32(bits[i]), want_b = bf16_to_f32(bits[i]);
      if (std::isnan(want_h)) {
        EXPECT_TRUE(std::isnan(h[i])) << t->name << " f16 " << i;
      } else {
        ASSERT_EQ(h[i], want_h) << t->name << " f16 " << i;
      }
      if (!std::isnan(want_b)) {
        ASSERT_EQ(b[i], want_b) << t->name << " bf16 " << i;
      }
    }
  }
}

// Activation quantization: every table gives the scalar table's int8
// values, scales and integer sums exactly (the integer dot products depend
// on it), and the float sums up to summation order.
TEST(Kernels, QuantizeBlocksIsTheSameOnEveryTable) {
  const int n = 32 * 9;
  std::vector<float> x = random_floats(n, 21, 3.0f);
  for (int i = 32; i < 64; ++i) x[i] = 0.0f;       // an all-zero block: d = 0, xq = 0
  for (int i = 64; i < 96; ++i) x[i] *= 1e-30f;    // tiny values
  x[100] = 1e6f;                                   // one outlier
  for (int i = 128; i < 160; ++i) x[i] = (i % 2 ? 0.5f : -0.5f) * 127.0f / 64.0f;  // exact halves: ties
  struct Out {
    std::vector<int8_t> xq = std::vector<int8_t>(n);
    std::vector<float> d = std::vector<float>(n / 32), sum = std::vector<float>(n / 32);
    std::vector<int32_t> isum = std::vector<int32_t>(n / 32);
  };
  Out want;
  kernels::scalar_table()->quantize_blocks(x.data(), want.xq.data(), want.d.data(), want.sum.data(),
                                           want.isum.data(), n);
  EXPECT_EQ(want.d[1], 0.0f);
  for (const KernelTable* t : tables()) {
    Out got;
    t->quantize_blocks(x.data(), got.xq.data(), got.d.data(), got.sum.data(), got.isum.data(), n);
    EXPECT_EQ(got.xq, want.xq) << t->name;
    EXPECT_EQ(got.d, want.d) << t->name;
    EXPECT_EQ(got.isum, want.isum) << t->name;
    for (int b = 0; b < n / 32; ++b) {
      double mag = 0;
      for (int i = 0; i < 32; ++i) mag += std::fabs(x[b * 32 + i]);
      EXPECT_NEAR(got.sum[b], want.sum[b], 1e-6 * mag) << t->name << " block " << b;
    }
  }
}

// Attention's kernel on every table against double sums, in both of its
// shapes (the values: n = head sizes, odd ones so every tail runs; the
// scores: n = positions, from a few to several vectors' worth), rows
// `stride` apart as in the KV cache, for 1 to 6 query heads at once (every
// register blocking of the heads, a partial one after a whole one); F32
// rows, F16 rows (against sums of the F16 values) and int8 rows (the Q8_0
// cache's).
TEST(Kernels, AttentionWeightedSumsMatchDoubleSumsOnEveryTable) {
  for (int n : {1, 7, 16, 17, 33, 49, 64, 67, 128, 200, 1000}) {
    for (int count : {1, 5, 33, 64}) {
      const uint64_t stride = uint64_t(n) + 13;
      const std::vector<float> kv = random_floats(stride * count, 2 + count);
      std::vector<uint16_t> kv16(kv.size());
      kernels::scalar_table()->f32_to_f16(kv.data(), kv16.data(), int(kv.size()));
      std::vector<float> kvh(kv.size());
      kernels::scalar_table()->f16_to_f32(kv16.data(), kvh.data(), int(kv.size()));
      // int8 rows over the whole range, -128 included.
      std::vector<int8_t> kv8(kv.size());
      std::vector<float> kv8f(kv.size());
      for (size_t i = 0; i < kv.size(); ++i) {
        kv8[i] = static_cast<int8_t>(int((i * 2654435761u) >> 7) % 256 - 128);
        kv8f[i] = kv8[i];
      }
      for (int heads : {1, 2, 3, 5, 6}) {
        const uint64_t p_stride = uint64_t(count) + 3, out_stride = uint64_t(n) + 2;
        const std::vector<float> p = random_floats(p_stride * heads, 3 + heads);
        // sum (heads rows out_stride apart; past n the sentinel 42) against
        // rows `rows`.
        const auto check = [&](const std::vector<float>& rows, const std::vector<float>& sum, const std::string& what) {
          for (int h = 0; h < heads; ++h) {
            for (int i = 0; i < n; ++i) {
              double want = 0, mag = 0;
              for (int s = 0; s < count; ++s) {
                want += double(p[h * p_stride + s]) * rows[s * stride + i];
                mag += std::fabs(double(p[h * p_stride + s]) * rows[s * stride + i]);
              }
              ASSERT_NEAR(sum[h * out_stride + i], want, 1e-6 * mag + 1e-7)
                  << what << " n " << n << " count " << count << " heads " << heads << " head " << h << " column " << i;
            }
            for (uint64_t i = n; i < out_stride; ++i) EXPECT_EQ(sum[h * out_stride + i], 42.0f) << what << ": wrote past n";
          }
        };
        for (const KernelTable* t : tables()) {
          const std::string name = t->name;
          std::vector<float> sum(out_stride * heads, 42.0f);
          t->weighted_sum_f32(p.data(), p_stride, heads, kv.data(), stride, count, n, sum.data(), out_stride);
          check(kv, sum, name + " F32");
          std::vector<float> sum16(out_stride * heads, 42.0f);
          t->weighted_sum_f16(p.data(), p_stride, heads, kv16.data(), stride, count, n, sum16.data(), out_stride);
          check(kvh, sum16, name + " F16");
          std::vector<float> sum8(out_stride * heads, 42.0f);
          t->weighted_sum_i8(p.data(), p_stride, heads, kv8.data(), stride, count, n, sum8.data(), out_stride);
          check(kv8f, sum8, name + " int8");
        }
      }
    }
  }
}

TEST(Kernels, FloatToHalfRoundsToNearestEvenOnEveryTable) {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e10f,
                          INFINITY, -INFINITY, NAN, 6.103515625e-05f /* 2^-14 */, 6.0975552e-05f /* below */,
                          5.9604645e-08f /* 2^-24 */, 2.9802322e-08f /* 2^-25: tie to 0 */, 2.9802326e-08f,
                          8.940697e-08f /* 1.5 x 2^-24: tie to 2 units */, 1.00048828125f /* tie to 1 */,
                          1.00146484375f /* tie to 1 + 2^-9 */, 3.4028235e38f, 1e-45f};
  std::mt19937 rng(5);
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = rng();
    // Mostly within (and around) the half range, plus anything at all.
    if (i % 4 != 0) bits = (bits & 0x807fffffu) | (static_cast<uint32_t>(98 + rng() % 48) << 23);
    float f;
    std::memcpy(&f, &bits, 4);
    x.push_back(f);
  }
  const int n = int(x.size());
  std::vector<uint16_t> want(n);
  kernels::scalar_table()->f32_to_f16(x.data(), want.data(), n);
  std::vector<float> back(n);
  kernels::scalar_table()->f16_to_f32(want.data(), back.data(), n);
  for (int i = 0; i < n; ++i) {
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(back[i])) << i;
      continue;
    }
    const double v = x[i], got = back[i];
    if (std::fabs(v) >= 65520.0) {
      EXPECT_EQ(got, v > 0 ? INFINITY : -INFINITY) << "x " << v;
      continue;
    }
    EXPECT_EQ(std::signbit(got), std::signbit(v)) << "x " << v;
    // The neighbouring halves (same sign) bracket no closer value.
    const uint16_t h = want[i], mag = h & 0x7fffu;
    float up, down;
    const uint16_t hu = uint16_t((h & 0x8000u) | (mag + 1)), hd = uint16_t((h & 0x8000u) | (mag - 1));
    kernels::scalar_table()->f16_to_f32(&hu, &up, 1);
    kernels::scalar_table()->f16_to_f32(&hd, &down, 1);
    const double err = std::fabs(v - got);
    if (mag < 0x7bffu) {
      EXPECT_LE(err, std::fabs(v - double(up))) << "x " << v;
    }
    if (mag > 0) {
      EXPECT_LE(err, std::fabs(v - double(down))) << "x " << v;
    }
    const bool tie =
        (mag < 0x7bffu && err == std::fabs(v - double(up))) || (mag > 0 && err == std::fabs(v - double(down)));
    if (tie && err > 0) {
      EXPECT_EQ(h & 1u, 0u) << "tie not to even: x " << v;
    }
    // convert's own cast (the one `convert --dtype f16` writes) agrees.
    EXPECT_EQ(want[i], f32_to_f16(x[i])) << "x " << v;
  }
  for (const KernelTable* t : tables()) {
    for (const int len : {1, 7, 8, 15, 16, 17, n}) {
      std::vector<uint16_t> got(len + 1, 0xabcd);
      t->f32_to_f16(x.data(), got.data(), len);
      for (int i = 0; i < len; ++i) {
        ASSERT_EQ(got[i], want[i]) << t->name << " x " << x[i] << " (length " << len << ")";
      }
      EXPECT_EQ(got[len], 0xabcd) << t->name << ": wrote past n";
    }
  }
}

// exp and SiLU within a few ulp of the C library, over the range softmax
// and SwiGLU see (and past it: large inputs saturate, never become NaN).
TEST(Kernels, ArgmaxIsTheFirstLargestOnEveryTable) {
  // Lengths around the vector widths (tails) and a vocabulary; the maximum
  // placed in the head, a middle lane, the tail, and repeated (ties go to
  // the lowest index, as greedy decoding's reference loop does).
  for (const int n : {1, 7, 8, 15, 16, 17, 33, 100, 32000}) {
    std::vector<float> x = random_floats(n, 1000 + n);
    std::vector<std::vector<int>> placements = {{0}, {n / 2}, {n - 1}, {n / 3, n / 2, n - 1}, {n - 1, n / 2}};
    for (const auto& at : placements) {
      std::vector<float> v = x;
      for (int i : at) v[i] = 7.5f;
      const int want = *std::min_element(at.begin(), at.end());
      for (const KernelTable* t : tables()) {
        EXPECT_EQ(t->argmax_f32(v.data(), n), want) << t->name << " n " << n << " first max at " << want;
      }
    }
    // All equal: index 0.
    std::vector<float> same(n, -2.0f);
    for (const KernelTable* t : tables()) EXPECT_EQ(t->argmax_f32(same.data(), n), 0) << t->name << " n " << n;
  }
}

TEST(Kernels, ExpSumAndSiluMatchTheLibraryOnEveryTable) {
  std::vector<float> x;
  for (float v = -100.0f; v <= 100.0f; v += 0.37f) x.push_back(v);
  x.push_back(0.0f);
  x.push_back(-1e-30f);
  const int n = int(x.size());
  std::vector<float> u = random_floats(n, 9);
  for (const KernelTable* t : tables()) {
    const float shift = 100.0f;  // softmax arguments: x - max <= 0
    std::vector<float> e(n, NAN), silu(n, NAN);
    const float total = t->exp_sum(x.data(), shift, e.data(), n);
    double want_total = 0;
    for (int i = 0; i < n; ++i) {
      // The kernels subtract in float, as softmax does; exp of that argument.
      const double want = std::exp(double(x[i] - shift));
      want_total += want;
      if (x[i] - shift > -87.0f) {
        EXPECT_NEAR(e[i], want, 3e-7 * want) << t->name << " exp(" << x[i] - shift << ")";
      } else {
        EXPECT_LE(e[i], 1e-37f) << t->name << " exp(" << x[i] - shift << ")";
      }
    }
    EXPECT_NEAR(total, want_total, 1e-6 * want_total) << t->name;
    t->silu_mul(x.data(), u.data(), silu.data(), n);
    for (int i = 0; i < n; ++i) {
      const double want = double(x[i]) / (1.0 + std::exp(-double(x[i]))) * u[i];
      EXPECT_NEAR(silu[i], want, 1e-6 * std::fabs(want) + 1e-30) << t->name << " silu(" << x[i] << ")";
    }
    // In place, as attention calls it.
    std::vector<float> inplace = x;
    t->exp_sum(inplace.data(), shift, inplace.data(), n);
    EXPECT_EQ(inplace, e) << t->name;
  }
}

}  // namespace
}  // namespace mlxpack::test
