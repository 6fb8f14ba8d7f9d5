// The AVX-512 table (with BF16) plus AMX for the prefill's quantized and
// BF16 matrix-matrix products (Sapphire Rapids and later Intel cores; BF16
// below, gemm_bf16). One TDPBUSD multiplies a 16 x 64 tile of unsigned
// weight bytes by a 64 x 16 tile of int8 activations into 16 x 16 int32
// sums: 16,384 multiply-adds, where a 512-bit vpdpbusd does 64.
//
// What bounds it on these cores (a microbenchmark of the tile ops, one
// thread): a TDPBUSD takes the same ~5.5 ns whether its tiles are 32 or
// 64 values deep, and storing a tile of sums ~5 ns more; tile loads
// overlap. Every block of values whose sums need their own scale step
// costs a store, so this kernel quantizes the activations in blocks of 64
// (kTileBlock, quantize_tile_row), one block to a weight group of 64 and
// two to a group of 128: with the other tables' 32-value blocks half of
// every product was unused and the stores were twice as many (kernel_bench
// --bits 4 --rows 2048 --cols 2048 --m 128, one thread: this kernel at
// 32-value blocks 210-235 GMAC/s, at 64 290-318; the kernel before it,
// which shared weight and activation tiles 2 x 2, 221-246; two threads
// 384-437 before, 603-609 now). The VNNI strip kernel has since taken
// the same 64-value blocks (quantize_strip_row, the same quantizer), so
// both differ from the decode's and the AVX2 kernels' 32-value blocks by
// that rounding; weights in groups of 32 go to the VNNI kernel. Measured against a double product (512 x 2048 weights,
// 4-bit and 8-bit group 64, 64 Gaussian rows): rms error 0.93% and 0.97%
// of the rms output at 32-value blocks, 1.05% and 1.10% at 64; with 8
// values a row 20 times larger (outliers) 1.95% and 2.05% against 2.67%
// and 2.81%. The tile work and the vector scale step did not overlap in
// any order tried (interleaved with a lag of 2 or 4 blocks, or in phases
// of 4 to 8 blocks): a block costs about the sum of both, so what is left
// to gain is in doing less of either per multiply-add.
//
// Each 16 weight rows are unpacked once into a buffer laid out as A tiles
// and multiplied by every 16 activation rows (B tiles, AffineBatch::
// xq_tiles), the float sums of the 16 x 16 results kept in 16 registers
// over the whole row. Compiled with -mamx-tile -mamx-int8 -mamx-bf16 for
// this file only; chosen only when the CPU reports AMX and Linux granted
// this process the tile state (cpu_features).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "format/cpu_features.h"
#include "runtime/kernels/avx512_strips.h"
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

namespace {

// The tile registers: 0 and 3 hold one block (64 values) of 16 weight rows
// (A, unsigned bytes), 1 and 4 the same block of 16 activation rows (B: 16
// rows of 16 x 4 signed bytes), 2 and 5 their 16 x 16 int32 sums (C, row j
// = weight row j against the 16 activation rows). Even blocks use 0-2, odd
// ones 3-5, so that one block's tiles load while the other's are stored;
// a block's sums are scaled two blocks later, when their store is done.
constexpr int kTileRows = 16;
constexpr int kTileBytes = kTileRows * kTileBlock;  // 1 KiB: a block of 16 rows
constexpr int kLag = 2;  // blocks between a block's product and its scale step

struct alignas(64) TileConfig {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Loads a palette-1 configuration of tiles 0-7 (rows, bytes per row; 0 =
// unused).
void load_tile_config(const uint8_t (&rows)[8], const uint16_t (&colsb)[8]) {
  TileConfig c;
  std::memset(&c, 0, sizeof(c));
  c.palette = 1;
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = rows[t];
    c.colsb[t] = colsb[t];
  }
  // GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes, and the
  // stores above were dropped (only the palette byte survived: the first
  // tile load raised SIGILL); the empty asm makes them visible.
  asm volatile("" : : "r"(&c) : "memory");
  _tile_loadconfig(&c);
}

// A tiles 0 and 3 (16 rows x 64 values), B tiles 1 and 4 (16 rows of 16 x
// 4 values), sums 2 and 5 (16 x 16 int32).
void configure_tiles() {
  load_tile_config({kTileRows, kTileBlock / 4, kTileRows, kTileRows, kTileBlock / 4, kTileRows, 0, 0},
                   {kTileBlock, 64, 64, kTileBlock, 64, 64, 0, 0});
}

// GCC's _tile_stored clobbers all memory, which kept tile_rows'
// accumulators in memory across every store (a load and a store a row a
// block); this one names what it writes. The tile loads name nothing they
// read: amx_gemm puts a compiler barrier between writing a tile's rows and
// loading them, and the activation tiles are written before the kernel
// is called.
#define TILE_STORED(src, sums)                                                                        \
  asm volatile("tilestored %%tmm" #src ", (%1,%2,1)"                                                  \
               : "=m"(*reinterpret_cast<char(*)[kTileRows * 64]>(sums))                                 \
               : "r"(sums), "r"(64L))

// 16 weight rows as AMX's A operand, one byte a value, blocked: block b
// (values 64b..64b+63 of the 16 rows) at values + b * 1024, row r's part
// at + r * 64; and the rows' group scales and biases as [group][16]
// floats. (Rows strided by their length, 1 to 8 KiB in the mapping or a
// row-major buffer, fell into the same few L1 sets.)
struct WeightTile {
  const uint8_t* values;
  const float* scales;
  const float* biases;
};

// Rows n..n+nr-1 (nr <= 16; missing rows repeat row n, their results are
// dropped) into `values` (16 * cols bytes). 4-bit values are unpacked
// three instructions per 64: each byte widened to a 16-bit word 0x00HL,
// then (x | x << 4) & 0x0f0f = 0x0H0L, the low nibble (the even value) in
// the low byte.
template <int kBits>
WeightTile prepare_tile(const AffineRows& w, int n, int nr, uint8_t* values, float* scales, float* biases,
                        float* params) {
  const int groups = w.cols / w.group_size;
  for (int r = 0; r < kTileRows; ++r) {
    const int row = n + (r < nr ? r : 0);
    const float* s;
    const float* b;
    row_params<f16_to_f32, bf16_to_f32>(w, row, params, &s, &b);
    for (int g = 0; g < groups; ++g) {
      scales[g * kTileRows + r] = s[g];
      biases[g * kTileRows + r] = b[g];
    }
    const uint8_t* src = w.data + static_cast<uint64_t>(row) * w.row_bytes;
    uint8_t* out = values + r * kTileBlock;
    for (int c = 0; c < w.cols; c += kTileBlock) {
      __m512i v;
      if constexpr (kBits == 4) {
        const __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + c / 2)));
        v = _mm512_ternarylogic_epi32(x, _mm512_slli_epi16(x, 4), _mm512_set1_epi16(0x0f0f), 0xa8);
      } else {
        v = _mm512_loadu_si512(src + c);
      }
      _mm512_store_si512(out + static_cast<size_t>(c / kTileBlock) * kTileBytes, v);
    }
  }
  return WeightTile{values, scales, biases};
}

// Asks for the next 16 rows' bytes, scales and biases while this tile is
// multiplied: the rows of a 16-row tile span 4 to 16 pages, past which the
// hardware prefetcher does not follow, and unpacking them waited on memory
// (a quarter of the kernel's time in kernel_bench).
struct NextTile {
  const uint8_t* parts[3];
  uint64_t bytes[3];
  uint64_t share[3];  // bytes asked for per block: every part is spread over the row's blocks
};

NextTile next_tile(const AffineRows& w, int n, int n1) {
  NextTile t{};
  const int next = n + kTileRows;
  if (next >= n1) return t;
  const int rows = std::min(kTileRows, n1 - next);
  const uint64_t param_bytes =
      static_cast<uint64_t>(w.cols / w.group_size) * (w.scale_kind == ParamKind::kF32 ? 4 : 2);
  t.parts[0] = w.data + static_cast<uint64_t>(next) * w.row_bytes;
  t.bytes[0] = static_cast<uint64_t>(rows) * w.row_bytes;
  t.parts[1] = w.scales + static_cast<uint64_t>(next) * param_bytes;
  t.parts[2] = w.biases + static_cast<uint64_t>(next) * param_bytes;
  t.bytes[1] = t.bytes[2] = static_cast<uint64_t>(rows) * param_bytes;
  const uint64_t blocks = static_cast<uint64_t>(w.cols / kTileBlock);
  for (int p = 0; p < 3; ++p) t.share[p] = (t.bytes[p] + blocks - 1) / blocks;
  return t;
}

// Block b's share of the prefetches.
inline __attribute__((always_inline)) void prefetch_share(const NextTile& t, int b) {
  for (int p = 0; p < 3; ++p) {
    if (t.parts[p] == nullptr) continue;
    const uint64_t begin = t.share[p] * b, end = std::min(t.bytes[p], begin + t.share[p]);
    for (uint64_t o = begin; o < end; o += 64) _mm_prefetch(reinterpret_cast<const char*>(t.parts[p] + o), _MM_HINT_T0);
  }
}

// The scale step of one block: acc[j] (weight row j, lanes = the 16
// activation rows) += float(sums row j) * d * s_j, d being the activation
// rows' block scales and s_j the weight row's group scale; and at the
// first block of a group (kFirst) its bias part, acc[j] += b_j * (the
// activation rows' float sums over the group).
template <bool kFirst>
inline __attribute__((always_inline)) void scale_block(const int32_t* sums, const float* d, const float* s,
                                                       const float* bias, const float* gsum, __m512* acc) {
  const __m512 dv = _mm512_load_ps(d);
  if constexpr (kFirst) {
    const __m512 gv = _mm512_loadu_ps(gsum);
#pragma GCC unroll 16
    for (int j = 0; j < kTileRows; ++j) acc[j] = _mm512_fmadd_ps(gv, _mm512_set1_ps(bias[j]), acc[j]);
  }
#pragma GCC unroll 16
  for (int j = 0; j < kTileRows; ++j) {
    const __m512 v = _mm512_cvtepi32_ps(_mm512_load_si512(sums + 16 * j));
    acc[j] = _mm512_fmadd_ps(v, _mm512_mul_ps(dv, _mm512_set1_ps(s[j])), acc[j]);
  }
}

// The 16 weight rows of `wt` times activation rows i0..i0+15 (rows past m
// are the batch's zero padding), into out; groups of 2^kShift blocks.
// Block b's product goes to tiles 0-2 (b even) or 3-5 (odd) and its sums
// to sums[b % 2]; its scale step runs after block b + 2's product is
// issued, before that block's sums overwrite the buffer. The loop body is
// unrolled over whole groups so that tile numbers, buffers and group
// boundaries are constants: with them computed, GCC kept the accumulators
// in memory.
template <int kShift>
void tile_rows(const WeightTile& wt, const AffineBatch& x, int cols, int i0, const NextTile& next, __m512* out) {
  constexpr int kPerGroup = 1 << kShift;
  constexpr int kUnroll = kPerGroup < 2 ? 2 : kPerGroup;
  const int blocks = cols / kTileBlock;
  const int8_t* xt = x.xq_tiles + static_cast<size_t>(i0) * cols;
  const float* dt = x.d_tiles + static_cast<size_t>(i0) * blocks;
  const float* gs = x.group_sum_t + i0;
  alignas(64) int32_t sums[2][kTileRows * 16];
  __m512 acc[kTileRows];
#pragma GCC unroll 16
  for (int j = 0; j < kTileRows; ++j) acc[j] = _mm512_setzero_ps();
  auto step = [&](int e, auto first) __attribute__((always_inline)) {
    const int g = e >> kShift;
    scale_block<decltype(first)::value>(sums[e & 1], dt + e * 16, wt.scales + g * kTileRows,
                                        wt.biases + g * kTileRows, gs + static_cast<size_t>(g) * x.m, acc);
  };
  auto block = [&](int b, auto uc) __attribute__((always_inline)) {
    constexpr int u = decltype(uc)::value;
    constexpr bool first = ((u - kLag) % kPerGroup + kPerGroup) % kPerGroup == 0;
    if constexpr (u % 2 == 0) {
      _tile_loadd(0, wt.values + static_cast<size_t>(b) * kTileBytes, kTileBlock);
      _tile_loadd(1, xt + static_cast<size_t>(b) * kTileBytes, 64);
      _tile_zero(2);
      _tile_dpbusd(2, 0, 1);
    } else {
      _tile_loadd(3, wt.values + static_cast<size_t>(b) * kTileBytes, kTileBlock);
      _tile_loadd(4, xt + static_cast<size_t>(b) * kTileBytes, 64);
      _tile_zero(5);
      _tile_dpbusd(5, 3, 4);
    }
    prefetch_share(next, b);
    if (b >= kLag) step(b - kLag, std::integral_constant<bool, first>{});
    if constexpr (u % 2 == 0) {
      TILE_STORED(2, sums[0]);
    } else {
      TILE_STORED(5, sums[1]);
    }
  };
  // blocks is even (cols % 128 == 0) and a multiple of kPerGroup.
  for (int b = 0; b < blocks; b += kUnroll) {
    block(b, std::integral_constant<int, 0>{});
    block(b + 1, std::integral_constant<int, 1>{});
    if constexpr (kUnroll == 4) {
      block(b + 2, std::integral_constant<int, 2>{});
      block(b + 3, std::integral_constant<int, 3>{});
    }
  }
  static_assert(kLag == 2 && kPerGroup <= 2, "the last two blocks' steps below");
  step(blocks - 2, std::true_type{});
  step(blocks - 1, std::integral_constant<bool, kPerGroup == 1>{});
#pragma GCC unroll 16
  for (int j = 0; j < kTileRows; ++j) out[j] = acc[j];
}

// acc (16 weight rows, lanes = activation rows i0..i0+15) transposed into
// y's rows i0..i0+mb-1, columns n..n+nr-1, plus the output bias.
void store_rows(const __m512* acc, const float* out_bias, int n, int nr, int i0, int mb, float* y, uint64_t ldy) {
  alignas(64) uint8_t t[kTileRows * 64];
  __m512i r[kTileRows];
  for (int j = 0; j < kTileRows; ++j) r[j] = _mm512_castps_si512(acc[j]);
  transpose16x16(r, t);
  const __mmask16 keep = static_cast<__mmask16>((1u << nr) - 1);
  const __m512 ob = out_bias != nullptr ? _mm512_maskz_loadu_ps(keep, out_bias + n) : _mm512_setzero_ps();
  for (int i = 0; i < mb; ++i) {
    const __m512 v = _mm512_add_ps(_mm512_load_ps(reinterpret_cast<const float*>(t + 64 * i)), ob);
    _mm512_mask_storeu_ps(y + static_cast<uint64_t>(i0 + i) * ldy + n, keep, v);
  }
}

template <int kBits>
void amx_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0, int n1) {
  const int groups = w.cols / w.group_size;
  uint8_t* values = reinterpret_cast<uint8_t*>(scratch);
  float* scales = reinterpret_cast<float*>(values + static_cast<size_t>(kTileRows) * w.cols);
  float* biases = scales + static_cast<size_t>(kTileRows) * groups;
  float* params = biases + static_cast<size_t>(kTileRows) * groups;
  configure_tiles();
  for (int n = n0; n < n1; n += kTileRows) {
    const int nr = std::min(kTileRows, n1 - n);
    const WeightTile wt = prepare_tile<kBits>(w, n, nr, values, scales, biases, params);
    asm volatile("" : : : "memory");  // the tile loads read values
    const NextTile next = next_tile(w, n, n1);
    for (int i0 = 0; i0 < x.m; i0 += kTileRows) {
      __m512 acc[kTileRows];
      const NextTile none{};
      if (w.group_size == 64) {
        tile_rows<0>(wt, x, w.cols, i0, i0 == 0 ? next : none, acc);
      } else {
        tile_rows<1>(wt, x, w.cols, i0, i0 == 0 ? next : none, acc);
      }
      store_rows(acc, w.out_bias, n, nr, i0, std::min(kTileRows, x.m - i0), y, ldy);
    }
  }
  // Hands the tile registers back: a thread holding tile state makes every
  // context switch save 8 KiB more.
  _tile_release();
}

// BF16 weights (gemm_bf16): TDPBF16PS multiplies 16 x 32 BF16 values by
// 32 x 16 into 16 x 16 float sums and adds them to the tile, so the sums
// stay in the tiles over the whole row and are stored once: 32 weight rows
// (A tiles 0-1) times 32 activation rows (B tiles 2-3) into tiles 4-7.
// The weights need no conversion, only copying into A-tile blocks (rows
// 2 to 16 KiB apart fall into the same L1 sets); the activations are
// rounded to BF16 and laid out as B tiles once per call.
constexpr int kBf16Block = 32;                      // values a tile product spans
constexpr int kBf16TileBytes = kTileRows * 64;      // a block of 16 rows

// Every tile 16 rows of 64 bytes (A: 16 x 32 BF16, B: 16 pairs x 16 x 2,
// sums: 16 x 16 floats).
void configure_bf16_tiles() {
  load_tile_config({16, 16, 16, 16, 16, 16, 16, 16}, {64, 64, 64, 64, 64, 64, 64, 64});
}

// Activation rows 0..m-1 rounded to BF16 as B tiles: tile t's block b (rows
// 16t..16t+15, values 32b..32b+31) at out + (t * blocks + b) * 1024 bytes,
// [16 value pairs][16 rows][2]; rows up to the next multiple of 32 zero.
// 16 rows' blocks are converted in registers and transposed as 16 x 16
// pairs, writing whole lines (a 32-bit scatter per row block was a third
// of this kernel's time: its lines missed the cache one pair at a time).
void bf16_b_tiles(const float* x, int m, int cols, uint16_t* out) {
  const int blocks = cols / kBf16Block;
  const int rows = (m + 31) / 32 * 32;
  uint8_t* base = reinterpret_cast<uint8_t*>(out);
  for (int i0 = 0; i0 < rows; i0 += kTileRows) {
    uint8_t* tile = base + static_cast<size_t>(i0 / 16) * blocks * kBf16TileBytes;
    for (int b = 0; b < blocks; ++b) {
      __m512i v[kTileRows];
      for (int r = 0; r < kTileRows; ++r) {
        v[r] = _mm512_setzero_si512();
        if (i0 + r < m) {
          const float* xb = x + static_cast<size_t>(i0 + r) * cols + b * kBf16Block;
          v[r] = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(xb + 16), _mm512_loadu_ps(xb)));
        }
      }
      transpose16x16(v, tile + static_cast<size_t>(b) * kBf16TileBytes);
    }
  }
}

// Rows n..n+nr-1 (nr <= 32; missing rows repeat row n) as A-tile blocks:
// block b of rows 0-15 at out + b * 2048 bytes, of rows 16-31 at + 1024,
// row r's 32 values (64 bytes) at + (r % 16) * 64.
void bf16_a_panel(const uint16_t* w, uint64_t row_stride, int cols, int n, int nr, uint16_t* out) {
  uint8_t* base = reinterpret_cast<uint8_t*>(out);
  for (int r = 0; r < 2 * kTileRows; ++r) {
    const uint16_t* src = w + static_cast<uint64_t>(n + (r < nr ? r : 0)) * row_stride;
    uint8_t* dst = base + (r / 16) * kBf16TileBytes + (r % 16) * 64;
    for (int b = 0; b < cols / kBf16Block; ++b) {
      _mm512_store_si512(dst + static_cast<size_t>(b) * 2 * kBf16TileBytes, _mm512_loadu_si512(src + b * kBf16Block));
    }
  }
}

// One stored 16 x 16 tile of sums (row j = weight row j, column i =
// activation row i) into y's rows i0..i0+mb-1, columns n..n+nr-1, plus
// the bias.
void store_sums(const float* c, const float* bias, int n, int nr, int i0, int mb, float* y, uint64_t ldy) {
  if (nr <= 0 || mb <= 0) return;
  __m512 acc[kTileRows];
  for (int j = 0; j < kTileRows; ++j) acc[j] = _mm512_load_ps(c + 16 * j);
  store_rows(acc, bias, n, std::min(nr, kTileRows), i0, std::min(mb, kTileRows), y, ldy);
}

void gemm_bf16(const uint16_t* w, uint64_t row_stride, int cols, const float* x, int m, const float* bias,
               float* scratch, float* y, uint64_t ldy, int n0, int n1) {
  const int blocks = cols / kBf16Block;
  uint16_t* xt = reinterpret_cast<uint16_t*>(scratch);
  uint16_t* panel = xt + static_cast<size_t>(m + 31) / 32 * 32 * cols;
  bf16_b_tiles(x, m, cols, xt);
  const uint8_t* xb = reinterpret_cast<const uint8_t*>(xt);
  const uint8_t* pb = reinterpret_cast<const uint8_t*>(panel);
  alignas(64) float c[4][kTileRows * 16];
  configure_bf16_tiles();
  for (int n = n0; n < n1; n += 2 * kTileRows) {
    const int nr = std::min(2 * kTileRows, n1 - n);
    bf16_a_panel(w, row_stride, cols, n, nr, panel);
    asm volatile("" : : : "memory");  // the tile loads read panel and xt
    for (int i0 = 0; i0 < m; i0 += 2 * kTileRows) {
      const uint8_t* b0 = xb + static_cast<size_t>(i0 / 16) * blocks * kBf16TileBytes;
      const uint8_t* b1 = b0 + static_cast<size_t>(blocks) * kBf16TileBytes;
      _tile_zero(4);
      _tile_zero(5);
      _tile_zero(6);
      _tile_zero(7);
      for (int b = 0; b < blocks; ++b) {
        _tile_loadd(0, pb + static_cast<size_t>(b) * 2 * kBf16TileBytes, 64);
        _tile_loadd(1, pb + static_cast<size_t>(b) * 2 * kBf16TileBytes + kBf16TileBytes, 64);
        _tile_loadd(2, b0 + static_cast<size_t>(b) * kBf16TileBytes, 64);
        _tile_loadd(3, b1 + static_cast<size_t>(b) * kBf16TileBytes, 64);
        _tile_dpbf16ps(4, 0, 2);
        _tile_dpbf16ps(5, 0, 3);
        _tile_dpbf16ps(6, 1, 2);
        _tile_dpbf16ps(7, 1, 3);
      }
      TILE_STORED(4, c[0]);
      TILE_STORED(5, c[1]);
      TILE_STORED(6, c[2]);
      TILE_STORED(7, c[3]);
      store_sums(c[0], bias, n, nr, i0, m - i0, y, ldy);
      store_sums(c[1], bias, n, nr, i0 + kTileRows, m - i0 - kTileRows, y, ldy);
      store_sums(c[2], bias, n + kTileRows, nr - kTileRows, i0, m - i0, y, ldy);
      store_sums(c[3], bias, n + kTileRows, nr - kTileRows, i0 + kTileRows, m - i0 - kTileRows, y, ldy);
    }
  }
  _tile_release();
}

// Groups of 32 (finer than the tiles' blocks) and batches built without
// the tiles go to the VNNI table's kernels.
void affine4_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                  int n1) {
  if (w.group_size < kTileBlock || x.xq_tiles == nullptr) {
    avx512_bf16_table()->affine4_gemm(w, x, scratch, y, ldy, n0, n1);
    return;
  }
  amx_gemm<4>(w, x, scratch, y, ldy, n0, n1);
}

void affine8_gemm(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                  int n1) {
  if (w.group_size < kTileBlock || x.xq_tiles == nullptr) {
    avx512_bf16_table()->affine8_gemm(w, x, scratch, y, ldy, n0, n1);
    return;
  }
  amx_gemm<8>(w, x, scratch, y, ldy, n0, n1);
}

KernelTable make_table() {
  KernelTable t = *avx512_bf16_table();
  t.name = "avx512-amx";
  t.affine4_gemm = affine4_gemm;
  t.affine8_gemm = affine8_gemm;
  t.quantize_tile_row = quantize_row64<kTileRows>;
  if (cpu_features().amx_bf16) t.gemm_bf16 = gemm_bf16;
  // BF16 prefill on the float tiles: on the cores that have AMX (Sapphire
  // and Emerald Rapids) vdpbf16ps issues at half an FMA's rate, so the 4 x
  // 4 BF16 tile ran slower than widening rows to float (kernel_bench --bits
  // 16 --rows 2048 --cols 768 --m 128, one thread: 17-30 against 36-49
  // GMAC/s; generation_bench 110M BF16 prefill, 2 threads: 471-504 against
  // 738-924 tokens/s). On Zen 4/5, without AMX, the BF16 tile doubles it.
  // The matrix-vector dot_bf16 stays: decode is memory-bound and reads
  // half the bytes of a widened row. Where the CPU has AMX-BF16 (all
  // that have AMX-INT8 so far) gemm_bf16 takes batches of kSmallBatchRows
  // rows and more.
  t.tile_bf16 = nullptr;
  return t;
}

}  // namespace

const KernelTable* avx512_amx_table() {
  static const KernelTable table = make_table();
  return &table;
}

}  // namespace mlxpack::kernels
