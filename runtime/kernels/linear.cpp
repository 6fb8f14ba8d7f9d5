#include "runtime/kernels/linear.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "format/cpu_features.h"

namespace mlxpack::kernels {

namespace {

// The fastest table the CPU runs, or a slower one MLXPACK_KERNELS asks for.
const KernelTable* detect() {
  const std::string want = requested_kernels();
  const CpuFeatures& cpu = cpu_features();
  if (want == "scalar") return scalar_table();
  if (want == "avx2" && cpu.avx2) return avx2_table();
  if (want == "avx512" && cpu.avx512) return avx512_table();
  if (want == "avx512-bf16" && cpu.avx512_bf16) return avx512_bf16_table();
  if (cpu.amx_int8 && (want.empty() || want == "avx512-amx")) return avx512_amx_table();
  if (cpu.avx512_bf16) return avx512_bf16_table();
  if (cpu.avx512) return avx512_table();
  if (cpu.avx2) return avx2_table();
  return scalar_table();
}

std::atomic<const KernelTable*> g_override{nullptr};


// Per-thread row buffers: grown once to the widest row, then reused.
struct Scratch {
  AlignedVector<float> row;
  AlignedVector<uint16_t> x_bf16;
  AlignedVector<uint8_t> q;
  AlignedVector<float> scales;
  AlignedVector<float> biases;
  AlignedVector<float> block_weights;
  AlignedVector<float> acc;
};
thread_local Scratch t_scratch;

template <typename T>
T* grow(AlignedVector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Row n's values as float: a pointer into the mapping for F32, else converted.
const float* float_row(const Weight& w, int n, const KernelTable* t, float* buffer) {
  const uint8_t* p = w.data + static_cast<uint64_t>(n) * w.row_bytes;
  switch (w.kind) {
    case ParamKind::kF32:
      return reinterpret_cast<const float*>(p);
    case ParamKind::kF16:
      t->f16_to_f32(reinterpret_cast<const uint16_t*>(p), buffer, w.cols);
      return buffer;
    case ParamKind::kBF16:
      t->bf16_to_f32(reinterpret_cast<const uint16_t*>(p), buffer, w.cols);
      return buffer;
    case ParamKind::kAffine:
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

// Row n's scales and biases as floats (cols / group_size of each).
void group_params(const Weight& w, int n, const KernelTable* t, float* scales, float* biases) {
  const int groups = w.cols / w.group_size;
  const uint64_t scale_bytes = w.scale_kind == ParamKind::kF32 ? 4 : 2;
  const uint8_t* s = w.scales + static_cast<uint64_t>(n) * groups * scale_bytes;
  const uint8_t* b = w.biases + static_cast<uint64_t>(n) * groups * scale_bytes;
  switch (w.scale_kind) {
    case ParamKind::kF16:
      t->f16_to_f32(reinterpret_cast<const uint16_t*>(s), scales, groups);
      t->f16_to_f32(reinterpret_cast<const uint16_t*>(b), biases, groups);
      break;
    case ParamKind::kBF16:
      t->bf16_to_f32(reinterpret_cast<const uint16_t*>(s), scales, groups);
      t->bf16_to_f32(reinterpret_cast<const uint16_t*>(b), biases, groups);
      break;
    default:
      std::memcpy(scales, s, sizeof(float) * groups);
      std::memcpy(biases, b, sizeof(float) * groups);
      break;
  }
}

// Row n of an affine weight as floats: s_g * q + b_g.
void dequantize_row(const Weight& w, int n, const KernelTable* t, Scratch& scratch, float* out) {
  const int groups = w.cols / w.group_size;
  float* scales = grow(scratch.scales, groups);
  float* biases = grow(scratch.biases, groups);
  const uint8_t* q = q_row(w, n, t, grow(scratch.q, w.cols));
  group_params(w, n, t, scales, biases);
  for (int g = 0; g < groups; ++g) {
    const float sc = scales[g], bi = biases[g];
    const uint8_t* qg = q + g * w.group_size;
    float* o = out + g * w.group_size;
    for (int j = 0; j < w.group_size; ++j) o[j] = sc * static_cast<float>(qg[j]) + bi;
  }
}

ParamKind scale_kind(const Weight& w) {
  return w.scale_kind == ParamKind::kF16 ? ParamKind::kF16
         : w.scale_kind == ParamKind::kBF16 ? ParamKind::kBF16
                                             : ParamKind::kF32;
}

// Matrix-matrix (prefill): weight rows as floats (in place for F32, else
// converted once and reused for every activation row), in blocks of 8 rows
// and slices of kSlice values so that a block's slice and one 4-row
// activation tile stay in L1 together: each activation tile is then read
// from L2 once per 8 weight rows instead of once per 4 (the 4x4 register
// tile was waiting on those loads).
void linear_rows_tiled(const Weight& w, const Activations& x, float* y, int ldy, int n0, int n1,
                       const KernelTable* t, Scratch& scratch) {
  constexpr int kBlockRows = 8;
  constexpr int kSlice = 768;
  const int k = w.cols, m = x.m();
  float* buffer = grow(scratch.row, static_cast<size_t>(kBlockRows) * k);
  float* acc = grow(scratch.acc, static_cast<size_t>(kBlockRows) * m);
  const float* rows[kBlockRows];
  const float* ws[4];
  const float* xs[4];
  float out[16];
  for (int n = n0; n < n1; n += kBlockRows) {
    const int nr = std::min(kBlockRows, n1 - n);
    const int groups = (nr + 3) / 4;
    for (int r = 0; r < nr; ++r) {
      float* dst = buffer + static_cast<size_t>(r) * k;
      if (w.kind == ParamKind::kAffine) {
        dequantize_row(w, n + r, t, scratch, dst);
        rows[r] = dst;
      } else {
        rows[r] = float_row(w, n + r, t, dst);
      }
    }
    std::fill(acc, acc + static_cast<size_t>(kBlockRows) * m, 0.0f);
    for (int k0 = 0; k0 < k; k0 += kSlice) {
      const int len = std::min(kSlice, k - k0);
      for (int i = 0; i < m; i += 4) {
        const int mr = std::min(4, m - i);
        for (int c = 0; c < 4; ++c) xs[c] = x.row(i + std::min(c, mr - 1)) + k0;
        for (int g = 0; g < groups; ++g) {
          const int gr = std::min(4, nr - 4 * g);
          // Edge rows repeat the group's last row; their results are dropped.
          for (int r = 0; r < 4; ++r) ws[r] = rows[4 * g + std::min(r, gr - 1)] + k0;
          t->tile_f32(ws, xs, len, out);
          for (int r = 0; r < gr; ++r) {
            float* a = acc + static_cast<size_t>(4 * g + r) * m + i;
            for (int c = 0; c < mr; ++c) a[c] += out[r * 4 + c];
          }
        }
      }
    }
    // Out along y's rows: the block's nr values of activation row i are
    // adjacent in y, so each cache line is written once, not once per row
    // of the block.
    float b[kBlockRows];
    for (int r = 0; r < nr; ++r) b[r] = w.bias != nullptr ? w.bias[n + r] : 0.0f;
    for (int i = 0; i < m; ++i) {
      float* yi = y + static_cast<size_t>(i) * ldy + n;
      for (int r = 0; r < nr; ++r) yi[r] = acc[static_cast<size_t>(r) * m + i] + b[r];
    }
  }
}

// BF16 weights on a table with BF16 products: every activation row rounded
// to BF16 once, then the rows multiplied in place, no widening to float.
// Matrix-vector: one row at a time; matrix-matrix: 4 x 4 register tiles
// over blocks of 8 rows and slices of kSlice values, as linear_rows_tiled.
void linear_rows_bf16(const Weight& w, const Activations& x, float* y, int ldy, int n0, int n1,
                      const KernelTable* t, Scratch& scratch) {
  constexpr int kBlockRows = 8;
  constexpr int kSlice = 1024;  // even: BF16 pairs never straddle slices
  const int k = w.cols, m = x.m();
  uint16_t* xb = grow(scratch.x_bf16, static_cast<size_t>(m) * k);
  for (int i = 0; i < m; ++i) t->f32_to_bf16(x.row(i), xb + static_cast<size_t>(i) * k, k);
  auto row = [&](int n) { return reinterpret_cast<const uint16_t*>(w.data + static_cast<uint64_t>(n) * w.row_bytes); };
  if (m < 4) {
    for (int n = n0; n < n1; ++n) {  // no software prefetch: see kernel_table.h
      const float b = w.bias != nullptr ? w.bias[n] : 0.0f;
      for (int i = 0; i < m; ++i) {
        y[static_cast<size_t>(i) * ldy + n] = t->dot_bf16(row(n), xb + static_cast<size_t>(i) * k, k) + b;
      }
    }
    return;
  }
  float* acc = grow(scratch.acc, static_cast<size_t>(kBlockRows) * m);
  const uint16_t* ws[4];
  const uint16_t* xs[4];
  float out[16];
  for (int n = n0; n < n1; n += kBlockRows) {
    const int nr = std::min(kBlockRows, n1 - n);
    std::fill(acc, acc + static_cast<size_t>(kBlockRows) * m, 0.0f);
    for (int k0 = 0; k0 < k; k0 += kSlice) {
      const int len = std::min(kSlice, k - k0);
      for (int i = 0; i < m; i += 4) {
        const int mr = std::min(4, m - i);
        for (int c = 0; c < 4; ++c) xs[c] = xb + static_cast<size_t>(i + std::min(c, mr - 1)) * k + k0;
        for (int g = 0; g < nr; g += 4) {
          const int gr = std::min(4, nr - g);
          for (int r = 0; r < 4; ++r) ws[r] = row(n + g + std::min(r, gr - 1)) + k0;  // edge rows repeat
          t->tile_bf16(ws, xs, len, out);
          for (int r = 0; r < gr; ++r) {
            float* a = acc + static_cast<size_t>(g + r) * m + i;
            for (int c = 0; c < mr; ++c) a[c] += out[r * 4 + c];
          }
        }
      }
    }
    float b[kBlockRows];
    for (int r = 0; r < nr; ++r) b[r] = w.bias != nullptr ? w.bias[n + r] : 0.0f;
    for (int i = 0; i < m; ++i) {
      float* yi = y + static_cast<size_t>(i) * ldy + n;
      for (int r = 0; r < nr; ++r) yi[r] = acc[static_cast<size_t>(r) * m + i] + b[r];
    }
  }
}

}  // namespace

const KernelTable* active_table() {
  static const KernelTable* detected = detect();
  const KernelTable* o = g_override.load(std::memory_order_relaxed);
  return o != nullptr ? o : detected;
}

void set_active_table(const KernelTable* table) { g_override.store(table); }

std::vector<const KernelTable*> supported_tables() {
  std::vector<const KernelTable*> tables = {scalar_table()};
  if (cpu_features().avx2) tables.push_back(avx2_table());
  if (cpu_features().avx512) tables.push_back(avx512_table());
  if (cpu_features().avx512_bf16) tables.push_back(avx512_bf16_table());
  if (cpu_features().amx_int8) tables.push_back(avx512_amx_table());
  return tables;
}

float load_scalar(const uint8_t* p, ParamKind kind, int i) {
  float f = 0.0f;
  if (kind == ParamKind::kF32) {
    std::memcpy(&f, p + 4 * static_cast<size_t>(i), 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p + 2 * static_cast<size_t>(i), 2);
  if (kind == ParamKind::kBF16) {
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

void Activations::prepare(const float* x, int m, int k) {
  x_ = x;
  m_ = m;
  k_ = k;
  quantized_ = k % kBlock == 0;
  tiles_ = false;
  strips_ = false;
  if (!quantized_) return;
  const size_t blocks_per_row = k / kBlock;
  const size_t blocks = static_cast<size_t>(m) * blocks_per_row;
  grow(xq_, static_cast<size_t>(m) * k);
  grow(d_, blocks);
  grow(sum_, blocks);
  grow(isum_, blocks);
  grow(gsum64_, static_cast<size_t>(m) * (blocks_per_row / 2 + 1));
  grow(gsum128_, static_cast<size_t>(m) * (blocks_per_row / 4 + 1));
  if (k % 64 == 0) grow(dlanes8_, blocks_per_row * m * 8);
  if (k % 128 == 0) {
    grow(xq4_, static_cast<size_t>(m) * k);
    grow(dlanes_, blocks_per_row * m * 4);
    if (m >= 4) {
      tiles_ = active_table()->quantize_tile_row != nullptr;
      if (tiles_) {
        // The AMX tiles; rows past m stay zero (the tiles holding them are
        // cleared here, their real rows written by quantize_rows).
        const size_t rows = (static_cast<size_t>(m) + kGemmPadRows - 1) / kGemmPadRows * kGemmPadRows;
        const size_t tile_blocks = static_cast<size_t>(k) / kTileBlock;
        grow(xq_tiles_, rows * k);
        grow(d_tiles_, rows * tile_blocks);
        const size_t first = static_cast<size_t>(m) / 16 * 16;
        std::fill(xq_tiles_.data() + first * k, xq_tiles_.data() + rows * k, int8_t{0});
        std::fill(d_tiles_.data() + first * tile_blocks, d_tiles_.data() + rows * tile_blocks, 0.0f);
      }
      strips_ = active_table()->quantize_strip_row != nullptr;
      if (strips_) {
        const size_t padded = (static_cast<size_t>(m) + kGemmStripCols - 1) / kGemmStripCols * kGemmStripCols;
        grow(xq_strips_, padded * k);
        grow(d_strips_, padded * (k / kTileBlock));
      }
      grow(gsum_t_,
           static_cast<size_t>(m) * (blocks_per_row + blocks_per_row / 2 + blocks_per_row / 4) + kGemmBlockRows);
    }
  }
}

void Activations::quantize_rows(int begin, int end) {
  if (!quantized_) return;
  const KernelTable* t = active_table();
  const int k = k_, m = m_;
  const size_t blocks_per_row = k / kBlock;
  for (int i = begin; i < end; ++i) {
    const size_t b0 = static_cast<size_t>(i) * blocks_per_row;
    int8_t* xq = xq_.data() + static_cast<size_t>(i) * k;
    float* d = d_.data() + b0;
    float* bs = sum_.data() + b0;
    t->quantize_blocks(row(i), xq, d, bs, isum_.data() + b0, k);
    float* g64 = gsum64_.data() + i * (blocks_per_row / 2);
    float* g128 = gsum128_.data() + i * (blocks_per_row / 4);
    for (size_t g = 0; g < blocks_per_row / 2; ++g) g64[g] = bs[2 * g] + bs[2 * g + 1];
    for (size_t g = 0; g < blocks_per_row / 4; ++g) g128[g] = bs[4 * g] + bs[4 * g + 1] + bs[4 * g + 2] + bs[4 * g + 3];
    // Lane scales per chunk, for the 8-bit (64-value chunks) and 4-bit
    // (128) kernels.
    if (k % 64 != 0) continue;
    float* dl8 = dlanes8_.data() + static_cast<size_t>(i) * (k / 64) * 16;
    for (int c = 0; c < k / 64; ++c) {
      for (int j = 0; j < 16; ++j) dl8[c * 16 + j] = d[c * 2 + j / 8];
    }
    if (k % 128 != 0) continue;
    float* dl = dlanes_.data() + static_cast<size_t>(i) * (k / 128) * 16;
    for (int c = 0; c < k / 128; ++c) {
      for (int j = 0; j < 16; ++j) dl[c * 16 + j] = d[c * 4 + j / 4];
    }
    int8_t* x4 = xq4_.data() + static_cast<size_t>(i) * k;
    for (int j = 0; j < k; j += 128) {
      for (int v = 0; v < 64; ++v) {
        x4[j + v] = xq[j + 2 * v];
        x4[j + 64 + v] = xq[j + 2 * v + 1];
      }
    }
    if (m < 4) continue;
    // The batch form for the matrix-matrix kernels: rows quantized again
    // and interleaved (strips, tiles), group sums transposed (16
    // activation rows per vector).
    if (strips_) {
      const size_t strip = i / kGemmStripCols, lane = i % kGemmStripCols;
      t->quantize_strip_row(row(i), k, xq_strips_.data() + strip * kGemmStripCols * k + lane * 4,
                            d_strips_.data() + strip * kGemmStripCols * (k / kTileBlock) + lane);
    }
    if (tiles_) {
      const size_t tile = i / 16, tile_row = i % 16;
      t->quantize_tile_row(row(i), k, xq_tiles_.data() + static_cast<size_t>(tile) * 16 * k + tile_row * 4,
                           d_tiles_.data() + tile * 16 * (k / kTileBlock) + tile_row);
    }
    size_t base = 0;
    for (int group : {32, 64, 128}) {
      const size_t groups = k / group;
      const float* gs = group_sum(i, group);
      for (size_t g = 0; g < groups; ++g) gsum_t_[base + g * m + i] = gs[g];
      base += groups * m;
    }
  }
}

AffineBatch Activations::batch(int group) const {
  const size_t blocks_per_row = k_ / kBlock;
  const size_t offset = group == 32   ? 0
                        : group == 64 ? blocks_per_row * m_
                                      : (blocks_per_row + blocks_per_row / 2) * m_;
  return AffineBatch{xq4_.data(),
                     dlanes_.data(),
                     xq_.data(),
                     dlanes8_.data(),
                     gsum_t_.data() + offset,
                     strips_ ? xq_strips_.data() : nullptr,
                     strips_ ? d_strips_.data() : nullptr,
                     tiles_ ? xq_tiles_.data() : nullptr,
                     tiles_ ? d_tiles_.data() : nullptr,
                     m_};
}

const float* Activations::group_sum(int i, int group) const {
  const size_t blocks_per_row = k_ / kBlock;
  if (group == 64) return gsum64_.data() + i * (blocks_per_row / 2);
  if (group == 128) return gsum128_.data() + i * (blocks_per_row / 4);
  return sum(i);
}

void linear_rows(const Weight& w, const Activations& x, float* y, int ldy, int n0, int n1) {
  const KernelTable* t = active_table();
  Scratch& scratch = t_scratch;
  const int k = w.cols;
  // BF16 weights on AMX tiles: from kSmallBatchRows rows, as the
  // quantized matrix-matrix kernels.
  if (w.kind == ParamKind::kBF16 && t->gemm_bf16 != nullptr && x.m() >= kSmallBatchRows && k % 32 == 0) {
    float* buffer = grow(scratch.row, gemm_bf16_scratch(k, x.m()));
    t->gemm_bf16(reinterpret_cast<const uint16_t*>(w.data), w.row_bytes / 2, k, x.row(0), x.m(), w.bias, buffer, y,
                 static_cast<uint64_t>(ldy), n0, n1);
    return;
  }
  if (w.kind == ParamKind::kBF16 && t->dot_bf16 != nullptr && (x.m() < 4 || t->tile_bf16 != nullptr)) {
    linear_rows_bf16(w, x, y, ldy, n0, n1, t, scratch);
    return;
  }
  // Below 4 rows the vector kernels win for float weights; from 4 rows on,
  // converting a row once and reusing it from registers does. Quantized
  // weights: see `multi` below.
  // Groups of 16 (K-quants imported from GGUF) are finer than the int8
  // activation blocks of 32 the quantized kernels use: those rows are
  // dequantized to floats and multiplied as float rows.
  const bool fine_groups = w.kind == ParamKind::kAffine && w.group_size < kBlock;
  // A few quantized rows (a speculative step, a short turn) go to the
  // matrix-vector kernels that take several activation rows per pass over
  // the weights, where the table has them: below kSmallBatchRows rows the
  // matrix-matrix kernel's strip set-up is not repaid.
  const bool multi = w.kind == ParamKind::kAffine && !fine_groups && x.m() < kSmallBatchRows &&
                     ((w.bits == 4 && x.has_nibble_order() && t->affine4_rows_multi != nullptr) ||
                      (w.bits == 8 && w.cols % 64 == 0 && t->affine8_rows_multi != nullptr));
  if (x.m() >= 4 && !multi) {
    const auto gemm = w.kind != ParamKind::kAffine || !x.has_nibble_order() || fine_groups ? nullptr
                      : w.bits == 4                                          ? t->affine4_gemm
                      : w.bits == 8                                          ? t->affine8_gemm
                                                                             : nullptr;
    if (gemm != nullptr) {
      const AffineRows rows{w.data, w.row_bytes, w.cols, w.group_size, scale_kind(w), w.scales, w.biases, w.bias};
      float* buffer = grow(scratch.row, static_cast<size_t>(affine_gemm_scratch(w.cols, w.group_size)));
      gemm(rows, x.batch(w.group_size), buffer, y, static_cast<uint64_t>(ldy), n0, n1);
      return;
    }
    linear_rows_tiled(w, x, y, ldy, n0, n1, t, scratch);
    return;
  }
  if (w.kind != ParamKind::kAffine || fine_groups) {
    float* buffer = grow(scratch.row, k);
    for (int n = n0; n < n1; ++n) {
      // Float rows, one at a time, are one stream the hardware prefetcher
      // follows; software prefetches on top of it cost (see kernel_table.h).
      if (fine_groups) prefetch_ahead(w.data + static_cast<uint64_t>(n) * w.row_bytes, w.row_bytes);
      const float* row = buffer;
      if (fine_groups) {
        dequantize_row(w, n, t, scratch, buffer);
      } else {
        row = float_row(w, n, t, buffer);
      }
      const float b = w.bias != nullptr ? w.bias[n] : 0.0f;
      for (int i = 0; i < x.m(); ++i) y[static_cast<size_t>(i) * ldy + n] = t->dot_f32(row, x.row(i), k) + b;
    }
    return;
  }
  // Matrix-vector on quantized rows: integer dot products against the int8
  // activations, the weights read in place.
  const int groups = k / w.group_size;
  const int blocks = k / kBlock;
  const int blocks_per_group = w.group_size / kBlock;
  float* scales = grow(scratch.scales, 2 * static_cast<size_t>(groups));  // affine*_rows' scratch
  float* biases = grow(scratch.biases, groups);
  float* weights = grow(scratch.block_weights, blocks);
  const int shift = blocks_per_group == 1 ? 0 : blocks_per_group == 2 ? 1 : 2;  // group sizes 32, 64, 128
  const bool fused4 = w.bits == 4 && x.has_nibble_order();
  const bool fused8 = w.bits == 8;
  if (fused4 || fused8) {
    // The whole row range in one kernel call, weights read in place.
    const AffineRows rows{w.data, w.row_bytes, w.cols, w.group_size, scale_kind(w), w.scales, w.biases, w.bias};
    if (multi && x.m() > 1) {
      AffineInput in[kMultiRows];
      for (int i0 = 0; i0 < x.m(); i0 += kMultiRows) {
        const int m = std::min(kMultiRows, x.m() - i0);
        for (int i = 0; i < m; ++i) {
          in[i] = AffineInput{fused4 ? x.q_nibble(i0 + i) : x.q(i0 + i), x.d(i0 + i),
                              x.group_sum(i0 + i, w.group_size), x.isum(i0 + i),
                              fused4 ? x.dlanes(i0 + i) : x.dlanes8(i0 + i)};
        }
        (fused4 ? t->affine4_rows_multi : t->affine8_rows_multi)(rows, in, m, y + static_cast<size_t>(i0) * ldy,
                                                                 static_cast<uint64_t>(ldy), n0, n1);
      }
      return;
    }
    for (int i = 0; i < x.m(); ++i) {
      const AffineInput in{fused4 ? x.q_nibble(i) : x.q(i), x.d(i), x.group_sum(i, w.group_size), x.isum(i),
                           fused4 ? x.dlanes(i) : x.dlanes8(i)};
      (fused4 ? t->affine4_rows : t->affine8_rows)(rows, in, scales, y + static_cast<size_t>(i) * ldy, n0, n1);
    }
    return;
  }
  for (int n = n0; n < n1; ++n) {
    group_params(w, n, t, scales, biases);
    const float out_bias = w.bias != nullptr ? w.bias[n] : 0.0f;
    const uint8_t* q = q_row(w, n, t, grow(scratch.q, k));
    for (int i = 0; i < x.m(); ++i) {
      // sum_k x_k (s_g q_k + b_g) = sum_b s_g d_b <q, xq>_b + sum_g b_g sum_{k in g} x_k
      const float* gsum = x.group_sum(i, w.group_size);
      float bias_term = 0.0f;
      for (int g = 0; g < groups; ++g) bias_term += biases[g] * gsum[g];
      const float* d = x.d(i);
      for (int b = 0; b < blocks; ++b) weights[b] = scales[b >> shift] * d[b];
      const float dot = t->dot_u8s8_blocks(q, x.q(i), weights, blocks);
      y[static_cast<size_t>(i) * ldy + n] = dot + bias_term + out_bias;
    }
  }
}

void weight_row(const Weight& w, int row, float* out) {
  const KernelTable* t = active_table();
  if (w.kind != ParamKind::kAffine) {
    const float* r = float_row(w, row, t, out);
    if (r != out) std::memcpy(out, r, sizeof(float) * w.cols);
    return;
  }
  dequantize_row(w, row, t, t_scratch, out);
}

}  // namespace mlxpack::kernels
