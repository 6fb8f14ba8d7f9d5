// The per-instruction-set kernels behind linear() and attention: one table
// per ISA (scalar everywhere, AVX2+FMA+F16C, AVX-512 with VNNI), chosen once
// at start-up from what the CPU reports. Every table computes the same
// integer dot products exactly; float sums differ only in association order.
#ifndef MLXPACK_RUNTIME_KERNELS_KERNEL_TABLE_H_
#define MLXPACK_RUNTIME_KERNELS_KERNEL_TABLE_H_

#include <cstddef>
#include <cstdint>

namespace mlxpack::kernels {

// Activations are quantized to int8 in blocks of this many values (like
// llama.cpp's Q8 activations) for the integer dot products of quantized weights.
inline constexpr int kBlock = 32;

// Decode reads every weight byte once per token, so its speed is memory
// bandwidth, and the hardware prefetchers alone left a third of it unused
// (110M 4-bit decode: 204 tok/s without, 254 with, AVX-512, 2 threads).
// Row loops ask for the bytes this far ahead of the row they multiply.
// The quantized row kernels only: float rows (F32, F16, BF16), read one at
// a time, are one stream the hardware prefetcher follows, and a burst of
// software prefetches per row slowed them on AMD Zen 4 (generation_bench,
// decode at the first positions, alternating runs, tokens/s with -> without:
// 110M F32 one thread 40.3-44.8 -> 54.2-55.5, two 58.0-76.4 -> 64.6-96.2;
// 1B BF16 one thread 6.9-8.1 -> 9.8-10.3, two 12.4-14.8 -> 13.0-15.4;
// llama.cpp, which has none, 46.2 and 60.8 on the 110M F32). On the same
// machine the quantized kernels without theirs ran at 0.55-0.75 of their
// speed with it.
inline constexpr uint64_t kPrefetchBytes = 4096;

// Prefetches `bytes` bytes starting kPrefetchBytes past p. A prefetch past
// the end of a mapping is a hint the CPU drops, never a fault.
inline void prefetch_ahead(const uint8_t* p, uint64_t bytes) {
  for (uint64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + kPrefetchBytes + off);
}

// The same into L2 only (prefetcht1); the AVX-512 kernel taking a row alone
// asks for one such line per 64-byte chunk it reads instead. The quantized
// row kernels keep more lines in flight this way: a burst of L1 prefetches
// waits on the L1's few miss buffers, where L2 has more. 1B shape, 4-bit,
// alternating builds, decode tokens/s: one thread 23.3-25.1 with L1
// prefetches, 25.9-27.1 with these; two threads 41.3-42.3 and 42.4-45.2; a
// second run: one thread 21.9-25.3 and 19.8-26.5 (noise), two threads
// 43.2-44.2 and 45.8-47.7. (The float rows measured faster with prefetcht0
// than with these, 110M F32, two threads: 118-140 against 109-113; faster
// still with neither on AMD Zen 4, above.)
// The distance is kPrefetchBytesL2, twice the L1 one: on AMD Zen 4
// (kernel_bench, one thread, 512 MiB of weights, GB/s at 4096 -> 8192
// bytes) 768-column rows 15.5-16.6 -> 17.3-21.5 (4 and 8 bits), 2048
// columns 16.2-20.5 -> 19.6-23.0, and 16 KiB no better; generation_bench
// decode, one thread, alternating runs, tokens/s: 1B 4-bit 20.3-27.2 ->
// 29.9-32.0, 8-bit 13.6-14.8 -> 16.1-18.0, 110M 4-bit 206.9-214.8 ->
// 219.9-226.6, 8-bit 122.6-125.7 -> 126.3-128.3; two threads within the
// noise (1B 8-bit 22.9-23.0 -> 23.0-30.7, 4-bit 39.0-43.3 -> 41.0-42.0).
inline constexpr uint64_t kPrefetchBytesL2 = 8192;
inline void prefetch_ahead_l2(const uint8_t* p, uint64_t bytes) {
  for (uint64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + kPrefetchBytesL2 + off, 0, 2);
}

// A quantized row decoded alone (one stream) also asks for the line this
// far on into L1 (prefetcht0), one per 64-byte chunk as it goes: the L2
// prefetch above brings it near, this one into the core before its load.
// AMD Zen 4, 2 MiB pages, one thread, alternating builds: generation_bench
// 1B 8-bit decode 15.8-18.6 -> 17.1-19.1 tokens/s (means 17.4 -> 18.2, five
// rounds), 1B 4-bit 36.1-37.3 -> 36.8-37.7, 110M 8-bit 180-208 -> 180-210;
// two threads 1B 4-bit 41.2-45.5 -> 42.3-45.9, 8-bit even. kernel_bench
// --m 1 --mib 512, 8-bit read fraction: 2048 x 8192 0.75-0.76 ->
// 0.78-0.79, 128256 x 2048 0.75-0.77 -> 0.78-0.79, 2048 x 2048 0.78-0.80
// -> 0.79-0.80; 4-bit even. 512 and 1024 bytes measured no better.
inline constexpr uint64_t kPrefetchBytesL1Near = 2048;

// How a model parameter is stored: a float type, or MLX's affine
// quantization (a weight's packed q values). Scales and biases are one of
// the float kinds.
enum class ParamKind : uint8_t { kF32, kF16, kBF16, kAffine };

// An affine-quantized [rows, cols] weight in place: row n's q values at
// data + n * row_bytes (bits per value LSB first), its cols / group_size
// scales and biases (of scale_kind) at n * that count; optional out_bias,
// one float per row. group_size is 32, 64 or 128 (16 never reaches the
// kernels: linear.cpp multiplies those rows as floats).
struct AffineRows {
  const uint8_t* data;
  uint64_t row_bytes;
  int cols;
  int group_size;
  ParamKind scale_kind;
  const uint8_t* scales;
  const uint8_t* biases;
  const float* out_bias;
};

// One activation row quantized in blocks of kBlock: xq, each block's scale
// d, the float sums of x per weight group (group_sum), each block's sum of
// xq (isum), and for the vector kernels each chunk's 16 lane scales, 64-byte
// aligned (dlanes + chunk * 16): 4-bit weights, 128-value chunks, lane j
// holds the d of block 4 * chunk + j / 4; 8-bit, 64-value chunks, block 2 *
// chunk + j / 8. A load instead of a permute per chunk in the decode.
struct AffineInput {
  const int8_t* xq;
  const float* d;
  const float* group_sum;
  const int32_t* isum;
  const float* dlanes;
};

// The prefill's batch of m activation rows for the 4-bit integer product:
// row i's int8 values in nibble order at xq + i * cols; per row and
// 128-value chunk the 16 lane scales of that chunk's VNNI sums (dlanes + (i
// * cols / 128 + chunk) * 16; lane j sums values of block 4 * chunk + j / 4,
// so it holds that block's d); the float sums of x per weight group,
// transposed: group_sum_t[g * m + i], followed by kGemmBlockRows floats
// of padding (the kernels read whole blocks of rows).
// For 8-bit weights the rows are in natural order (xq8) and a chunk is 64
// values: lane j of chunk ch sums values of block 2 * ch + j / 8 (dlanes8).
// For the AVX-512 VNNI kernel (tables with quantize_strip_row; nullptr
// otherwise) the rows quantized again, in blocks of kTileBlock values, and
// interleaved in groups of kGemmStripCols rows (the last one padded):
// group j's values at xq_strips + j * kGemmStripCols * cols, four values
// of each row at a time ([cols / 4][kGemmStripCols][4]), and its block
// scales at d_strips + j * kGemmStripCols * cols / 64 ([cols /
// 64][kGemmStripCols]).
// For the AMX kernel (tables with quantize_tile_row; nullptr otherwise)
// the rows quantized again, in blocks of kTileBlock values, as its B
// tiles, 16 rows at a time: tile t's block b (rows 16t..16t+15, values
// 64b..64b+63) at xq_tiles + (t * cols / 64 + b) * 1024, four values of
// each row at a time ([16][16 rows][4]), and its 16 block scales at
// d_tiles + (t * cols / 64 + b) * 16; rows past m are zero up to a
// multiple of kGemmPadRows.
inline constexpr int kGemmStripCols = 8;
inline constexpr int kTileBlock = 64;
inline constexpr int kGemmPadRows = 32;

// The most activation rows affine*_rows_multi takes in one call, and the
// batch size from which linear() uses the matrix-matrix kernels instead.
inline constexpr int kMultiRows = 4;
inline constexpr int kSmallBatchRows = 8;
struct AffineBatch {
  const int8_t* xq;
  const float* dlanes;
  const int8_t* xq8;
  const float* dlanes8;
  const float* group_sum_t;
  const int8_t* xq_strips;
  const float* d_strips;
  const int8_t* xq_tiles;
  const float* d_tiles;
  int m;
};

// The most weight rows a matrix-matrix kernel spreads lane scales for at
// once (a panel; kernels may use fewer for wide rows), and the activation
// rows it multiplies them with at a time (a block).
inline constexpr int kGemmPanelRows = 64;
inline constexpr int kGemmBlockRows = 16;

// Floats of scratch affine4_gemm and affine8_gemm need for rows of `cols`:
// a panel's lane scales (16 per chunk of 64 or 128 values) and biases, and
// one row's scales and biases.
inline int affine_gemm_scratch(int cols, int group_size) {
  return kGemmPanelRows * (cols / 4 + cols / group_size) + 2 * (cols / group_size);
}

struct KernelTable {
  const char* name;
  // sum_i a[i] * b[i]
  float (*dot_f32)(const float* a, const float* b, int n);
  // y[i] += a * x[i]
  void (*axpy_f32)(float a, const float* x, float* y, int n);
  void (*f16_to_f32)(const uint16_t* in, float* out, int n);
  void (*bf16_to_f32)(const uint16_t* in, float* out, int n);
  // 4-bit values packed LSB first (two per byte) to one byte each; n % 32 == 0.
  void (*unpack4)(const uint8_t* packed, uint8_t* out, int n);
  // x[0..n) in blocks of 32 -> xq (round(x/d)), d = max|x|/127, sum = sum of x,
  // isum = sum of xq. n % 32 == 0.
  void (*quantize_blocks)(const float* x, int8_t* xq, float* d, float* sum, int32_t* isum, int n);
  // sum over blocks b of w[b] * (sum_{i in b} q[i] * xq[i]), q <= 63 (so
  // the AVX2 table's 16-bit pair sums cannot saturate).
  float (*dot_u8s8_blocks)(const uint8_t* q, const int8_t* xq, const float* w, int nblocks);
  // Rows [n0, n1) of an affine-quantized weight times one activation row,
  // y[n] for each (see AffineRows). 4-bit: cols % 128 == 0 and in.xq in
  // "nibble order" (per 128 values the 64 even ones, then the 64 odd ones;
  // see Activations), so low and high nibbles multiply contiguous x, the
  // packed bytes read in place. 8-bit: cols % 32 == 0, xq in natural order.
  // scratch: 2 * cols / group_size floats.
  void (*affine4_rows)(const AffineRows& w, const AffineInput& in, float* scratch, float* y, int n0, int n1);
  void (*affine8_rows)(const AffineRows& w, const AffineInput& in, float* scratch, float* y, int n0, int n1);
  // The same for m (1..kMultiRows) activation rows at once, y[i * ldy + n]
  // for row i: each weight chunk is read and unpacked once for all of them
  // (a speculative step's or a short prompt's few rows). 8-bit: cols % 64
  // == 0. nullptr in tables without it (linear() then calls affine*_rows
  // once per activation row).
  void (*affine4_rows_multi)(const AffineRows& w, const AffineInput* in, int m, float* y, uint64_t ldy, int n0,
                             int n1);
  void (*affine8_rows_multi)(const AffineRows& w, const AffineInput* in, int m, float* y, uint64_t ldy, int n0,
                             int n1);
  // Rows [n0, n1) of a 4-bit affine weight (cols % 128 == 0) times every
  // row of the batch: y[i * ldy + n]. Weights multiply int8 activations in
  // 32-bit sums: the AVX2 table four rows by four in registers, the weights
  // read packed; the AVX-512 table unpacks 16 rows at a time, interleaved,
  // and multiplies them by 8 activation rows (see kernels_avx512.cpp). nullptr in tables without
  // it: the prefill then multiplies dequantized float rows (tile_f32).
  // scratch: affine_gemm_scratch(cols, group_size) floats. affine8_gemm:
  // the same for 8-bit weights.
  void (*affine4_gemm)(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                       int n1);
  void (*affine8_gemm)(const AffineRows& w, const AffineBatch& x, float* scratch, float* y, uint64_t ldy, int n0,
                       int n1);
  // out[r * 4 + c] = <w[r], x[c]> over n values, for r, c < 4: the register
  // tile of the prefill's matrix-matrix product.
  void (*tile_f32)(const float* const* w, const float* const* x, int n, float* out);
  // out[h * out_stride + 0..n) = sum_s p[h * p_stride + s] * v[s * stride +
  // 0..n) for h < heads, overwriting out: attention's both products over
  // one kv head for the heads query heads that share it (grouped-query
  // attention; each row of v is read and widened once for all of them):
  // the scores (p = the queries, v = the kv head's dimension-major key rows,
  // n positions) and the weighted sums of the values (p = the
  // probabilities, v = value rows, n = head_dim).
  void (*weighted_sum_f32)(const float* p, uint64_t p_stride, int heads, const float* v, uint64_t stride, int count,
                           int n, float* out, uint64_t out_stride);
  // out[i] = exp(x[i] - shift); returns the sum of out (softmax). out may be x.
  // The SIMD tables use a polynomial exp within 2 ulp of std::exp.
  float (*exp_sum)(const float* x, float shift, float* out, int n);
  // out[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i] (SwiGLU).
  void (*silu_mul)(const float* g, const float* u, float* out, int n);
  // The lowest index of the largest of x[0..n), n >= 1, x without NaN
  // (greedy sampling over a vocabulary: the scalar loop took 0.1 ms of a
  // 3.7 ms 110M decode step).
  int (*argmax_f32)(const float* x, int n);
  // The KV cache in F16 (half the bytes attention reads per position):
  // float to F16 rounding to nearest even (the F16C instruction's result),
  // and weighted_sum_f32 over F16 rows (stride in elements).
  void (*f32_to_f16)(const float* in, uint16_t* out, int n);
  void (*weighted_sum_f16)(const float* p, uint64_t p_stride, int heads, const uint16_t* v, uint64_t stride,
                           int count, int n, float* out, uint64_t out_stride);
  // The Q8_0 KV cache: weighted_sum_f32 over int8 rows (stride in
  // elements); the groups' scales are applied by the caller.
  void (*weighted_sum_i8)(const float* p, uint64_t p_stride, int heads, const int8_t* v, uint64_t stride, int count,
                          int n, float* out, uint64_t out_stride);
  // BF16 weights multiplied as BF16 (vdpbf16ps: products of BF16 pairs
  // summed in FP32), the activations rounded to BF16 once per call; nullptr
  // in tables without it (BF16 rows are then widened to float, as F16 rows
  // are). f32_to_bf16 rounds to nearest even; dot_bf16 is the matrix-vector
  // row, tile_bf16 the 4 x 4 register tile of tile_f32 over BF16 rows
  // (nullptr where it is slower than tile_f32 on widened rows: the matrix-
  // matrix product then widens).
  // Rounding x to BF16 costs up to 2^-9 of each product: a dot product
  // differs from the float path by at most 2^-9 |w| |x|.
  void (*f32_to_bf16)(const float* in, uint16_t* out, int n);
  float (*dot_bf16)(const uint16_t* w, const uint16_t* x, int n);
  void (*tile_bf16)(const uint16_t* const* w, const uint16_t* const* x, int n, float* out);
  // x[0..n) (n % kTileBlock == 0) quantized in blocks of kTileBlock values
  // as one row of the AMX kernel's activation tiles: d = max|x| / 127 and
  // round(x / d) per block, block b's value v at out[b * 1024 + (v / 4) *
  // 64 + v % 4] and its d at d[b * 16] (out and d point at the row's
  // place in AffineBatch::xq_tiles and d_tiles). nullptr in tables without
  // the AMX kernel. The AMX kernel's blocks are twice the other kernels'
  // (kBlock): one tile product then spans a whole 64-value weight group, a
  // 64-byte tile row, where 32-value blocks left half of every TDPBUSD
  // unused and needed a store and a scale step for every 32 values.
  void (*quantize_tile_row)(const float* x, int n, int8_t* out, float* d);
  // The same quantization (blocks of kTileBlock values) as one row of the
  // VNNI kernel's activation strips: block b's value v at out[(b * 64 + v /
  // 4 * 4) * kGemmStripCols + v % 4] and its d at d[b * kGemmStripCols]
  // (out and d point at the row's place in AffineBatch::xq_strips and
  // d_strips). nullptr in tables without that kernel. With 64-value blocks
  // the kernel's scale step (a conversion, a multiply and an FMA per 16
  // sums) runs once per 64 values instead of per 32: with no scale step at
  // all it ran 1.22x faster (kernel_bench, AMD Zen 5).
  void (*quantize_strip_row)(const float* x, int n, int8_t* out, float* d);
  // Rows [n0, n1) of a BF16 weight (row n at w + n * row_stride, cols %
  // 32 == 0) times m float activation rows (x + i * cols), each rounded to
  // BF16 (nearest even) as f32_to_bf16 does: y[i * ldy + n] = the float
  // sum of the BF16 products plus bias[n] (bias may be nullptr). scratch:
  // gemm_bf16_scratch(cols, m) floats. nullptr in tables without AMX-BF16
  // tiles.
  void (*gemm_bf16)(const uint16_t* w, uint64_t row_stride, int cols, const float* x, int m, const float* bias,
                    float* scratch, float* y, uint64_t ldy, int n0, int n1);
};

// Floats of scratch gemm_bf16 needs: the activations as BF16 tiles (m
// rounded up to 32 rows) and 32 weight rows, both BF16.
inline size_t gemm_bf16_scratch(int cols, int m) {
  return (static_cast<size_t>(m + 31) / 32 * 32 + 32) * static_cast<size_t>(cols) / 2;
}

const KernelTable* scalar_table();
const KernelTable* avx2_table();    // nullptr when not built for x86-64
const KernelTable* avx512_table();  // nullptr when not built for x86-64
// The AVX-512 table with the BF16 products; nullptr when not built for x86-64.
const KernelTable* avx512_bf16_table();
// The AVX-512 BF16 table with AMX tiles for the quantized prefill; nullptr
// when not built for x86-64.
const KernelTable* avx512_amx_table();

}  // namespace mlxpack::kernels

#endif  // MLXPACK_RUNTIME_KERNELS_KERNEL_TABLE_H_
