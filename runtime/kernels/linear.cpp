#include "runtime/kernels/linear.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mlxpack::kernels {

namespace {

const KernelTable* detect() {
  const char* forced = std::getenv("MLXPACK_KERNELS");
  const std::string want = forced != nullptr ? forced : "";
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  const bool has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  if (want == "scalar") return scalar_table();
  if (want == "avx2" && has_avx2) return avx2_table();
  if (has_avx512 && (want.empty() || want == "avx512")) return avx512_table();
  if (has_avx2) return avx2_table();
#endif
  return scalar_table();
}

std::atomic<const KernelTable*> g_override{nullptr};

// Per-thread row buffers: grown once to the widest row, then reused.
struct Scratch {
  std::vector<float> row;
  std::vector<uint8_t> q;
  std::vector<float> scales;
  std::vector<float> biases;
  std::vector<float> block_weights;
};
thread_local Scratch t_scratch;

template <typename T>
T* grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Row n's values as float: a pointer into the mapping for F32, else converted.
const float* float_row(const Weight& w, int n, const KernelTable* t, float* buffer) {
  const uint8_t* p = w.data + static_cast<uint64_t>(n) * w.row_bytes;
  switch (w.kind) {
    case WeightKind::kF32:
      return reinterpret_cast<const float*>(p);
    case WeightKind::kF16:
      t->f16_to_f32(reinterpret_cast<const uint16_t*>(p), buffer, w.cols);
      return buffer;
    case WeightKind::kBF16:
      t->bf16_to_f32(reinterpret_cast<const uint16_t*>(p), buffer, w.cols);
      return buffer;
    case WeightKind::kAffine:
      break;
  }
  return nullptr;
}

// Row n's q values as bytes: in place for 8 bits, else unpacked into buffer.
const uint8_t* q_row(const Weight& w, int n, const KernelTable* t, uint8_t* buffer) {
  const uint8_t* p = w.data + static_cast<uint64_t>(n) * w.row_bytes;
  if (w.bits == 8) return p;
  if (w.bits == 4) {
    t->unpack4(p, buffer, w.cols);
  } else {
    unpack_bits(p, w.bits, buffer, w.cols);
  }
  return buffer;
}

void group_params(const Weight& w, int n, float* scales, float* biases) {
  const int groups = w.cols / w.group_size;
  const uint64_t scale_bytes = w.scale_kind == WeightKind::kF32 ? 4 : 2;
  const uint8_t* s = w.scales + static_cast<uint64_t>(n) * groups * scale_bytes;
  const uint8_t* b = w.biases + static_cast<uint64_t>(n) * groups * scale_bytes;
  for (int g = 0; g < groups; ++g) {
    scales[g] = load_scalar(s, w.scale_kind, g);
    biases[g] = load_scalar(b, w.scale_kind, g);
  }
}

}  // namespace

const KernelTable* active_table() {
  static const KernelTable* detected = detect();
  const KernelTable* o = g_override.load(std::memory_order_relaxed);
  return o != nullptr ? o : detected;
}

void set_active_table(const KernelTable* table) { g_override.store(table); }

float load_scalar(const uint8_t* p, WeightKind kind, int i) {
  float f = 0.0f;
  if (kind == WeightKind::kF32) {
    std::memcpy(&f, p + 4 * static_cast<size_t>(i), 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p + 2 * static_cast<size_t>(i), 2);
  if (kind == WeightKind::kBF16) {
    scalar_table()->bf16_to_f32(&h, &f, 1);
  } else {
    scalar_table()->f16_to_f32(&h, &f, 1);
  }
  return f;
}

void unpack_bits(const uint8_t* packed, int bits, uint8_t* out, int n) {
  const unsigned mask = (1u << bits) - 1;
  const uint64_t total_bytes = (static_cast<uint64_t>(n) * bits + 7) / 8;
  for (int i = 0; i < n; ++i) {
    const uint64_t bit = static_cast<uint64_t>(i) * bits;
    const uint64_t byte = bit / 8;
    const unsigned shift = bit % 8;
    unsigned v = packed[byte];
    if (shift + bits > 8 && byte + 1 < total_bytes) v |= static_cast<unsigned>(packed[byte + 1]) << 8;
    out[i] = static_cast<uint8_t>((v >> shift) & mask);
  }
}

void Activations::set(const float* x, int m, int k) {
  x_ = x;
  m_ = m;
  k_ = k;
  quantized_ = k % kBlock == 0;
  if (!quantized_) return;
  const size_t blocks = static_cast<size_t>(m) * (k / kBlock);
  int8_t* xq = grow(xq_, static_cast<size_t>(m) * k);
  float* d = grow(d_, blocks);
  float* s = grow(sum_, blocks);
  int32_t* is = grow(isum_, blocks);
  const KernelTable* t = active_table();
  for (int i = 0; i < m; ++i) {
    const size_t b0 = static_cast<size_t>(i) * (k / kBlock);
    t->quantize_blocks(row(i), xq + static_cast<size_t>(i) * k, d + b0, s + b0, is + b0, k);
  }
}

void linear_rows(const Weight& w, const Activations& x, float* y, int ldy, int n0, int n1) {
  const KernelTable* t = active_table();
  Scratch& scratch = t_scratch;
  const int k = w.cols;
  if (w.kind != WeightKind::kAffine) {
    float* buffer = grow(scratch.row, k);
    for (int n = n0; n < n1; ++n) {
      const float* row = float_row(w, n, t, buffer);
      const float b = w.bias != nullptr ? w.bias[n] : 0.0f;
      for (int i = 0; i < x.m(); ++i) y[static_cast<size_t>(i) * ldy + n] = t->dot_f32(row, x.row(i), k) + b;
    }
    return;
  }
  const int groups = k / w.group_size;
  const int blocks = k / kBlock;
  const int blocks_per_group = w.group_size / kBlock;
  uint8_t* qbuf = grow(scratch.q, k);
  float* scales = grow(scratch.scales, groups);
  float* biases = grow(scratch.biases, groups);
  float* weights = grow(scratch.block_weights, blocks);
  for (int n = n0; n < n1; ++n) {
    const uint8_t* q = q_row(w, n, t, qbuf);
    group_params(w, n, scales, biases);
    const float out_bias = w.bias != nullptr ? w.bias[n] : 0.0f;
    for (int i = 0; i < x.m(); ++i) {
      const float* d = x.d(i);
      const float* sums = x.sum(i);
      // sum_k x_k (s_g q_k + b_g) = sum_b s_g d_b <q, xq>_b + sum_g b_g sum_{k in g} x_k
      float bias_term = 0.0f;
      for (int g = 0; g < groups; ++g) {
        float group_sum = 0.0f;
        for (int j = 0; j < blocks_per_group; ++j) {
          const int b = g * blocks_per_group + j;
          weights[b] = scales[g] * d[b];
          group_sum += sums[b];
        }
        bias_term += biases[g] * group_sum;
      }
      y[static_cast<size_t>(i) * ldy + n] =
          t->dot_u8s8_blocks(q, x.q(i), weights, x.isum(i), blocks, w.bits == 8) + bias_term + out_bias;
    }
  }
}

void weight_row(const Weight& w, int row, float* out) {
  const KernelTable* t = active_table();
  if (w.kind != WeightKind::kAffine) {
    const float* r = float_row(w, row, t, out);
    if (r != out) std::memcpy(out, r, sizeof(float) * w.cols);
    return;
  }
  Scratch& scratch = t_scratch;
  const int groups = w.cols / w.group_size;
  uint8_t* qbuf = grow(scratch.q, w.cols);
  float* scales = grow(scratch.scales, groups);
  float* biases = grow(scratch.biases, groups);
  const uint8_t* q = q_row(w, row, t, qbuf);
  group_params(w, row, scales, biases);
  for (int k = 0; k < w.cols; ++k) {
    const int g = k / w.group_size;
    out[k] = scales[g] * static_cast<float>(q[k]) + biases[g];
  }
}

}  // namespace mlxpack::kernels
