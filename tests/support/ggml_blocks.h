// ggml's quantized blocks for tests, written from the block layouts in
// ggml's ggml-common.h and the dequantize_row_* functions of
// ggml-quants.c (read for facts): each block's values as ggml computes
// them, and random blocks of weight-like magnitude. Independent of the
// importer (convert/gguf/gguf_blocks.cpp), which tests hold to these.
#ifndef MLXPACK_TESTS_SUPPORT_GGML_BLOCKS_H_
#define MLXPACK_TESTS_SUPPORT_GGML_BLOCKS_H_

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "format/half.h"

namespace mlxpack::test {

enum GgmlBlockType : uint32_t {
  kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14,
};

inline int ggml_block_values(uint32_t type) { return type >= kQ2_K ? 256 : 32; }

inline size_t ggml_block_bytes(uint32_t type) {
  switch (type) {
    case kQ4_0: return 18;
    case kQ4_1: return 20;
    case kQ5_0: return 22;
    case kQ5_1: return 24;
    case kQ8_0: return 34;
    case kQ2_K: return 84;
    case kQ3_K: return 110;
    case kQ4_K: return 144;
    case kQ5_K: return 176;
    default: return 210;  // Q6_K
  }
}

inline float ggml_half(const uint8_t* p) { return f16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

inline void ggml_get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// One block of `type` at b into y (ggml_block_values(type) floats).
inline void ggml_dequantize_block(uint32_t type, const uint8_t* b, float* y) {
  switch (type) {
    case kQ4_0: {
      const float d = ggml_half(b);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>((b[2 + j] & 0x0F) - 8) * d;
        y[j + 16] = static_cast<float>((b[2 + j] >> 4) - 8) * d;
      }
      return;
    }
    case kQ4_1: {
      const float d = ggml_half(b), m = ggml_half(b + 2);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>(b[4 + j] & 0x0F) * d + m;
        y[j + 16] = static_cast<float>(b[4 + j] >> 4) * d + m;
      }
      return;
    }
    case kQ5_0:
    case kQ5_1: {
      const bool one = type == kQ5_1;
      const float d = ggml_half(b), m = one ? ggml_half(b + 2) : 0.0f;
      uint32_t qh;
      std::memcpy(&qh, b + (one ? 4 : 2), 4);
      const uint8_t* qs = b + (one ? 8 : 6);
      for (int j = 0; j < 16; ++j) {
        const uint8_t xh0 = ((qh >> j) << 4) & 0x10, xh1 = (qh >> (j + 12)) & 0x10;
        if (one) {
          y[j] = static_cast<float>((qs[j] & 0x0F) | xh0) * d + m;
          y[j + 16] = static_cast<float>((qs[j] >> 4) | xh1) * d + m;
        } else {
          y[j] = static_cast<float>(((qs[j] & 0x0F) | xh0) - 16) * d;
          y[j + 16] = static_cast<float>(((qs[j] >> 4) | xh1) - 16) * d;
        }
      }
      return;
    }
    case kQ8_0: {
      const float d = ggml_half(b);
      for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
      return;
    }
    case kQ2_K: {  // scales[16], qs[64], d, dmin
      const float d = ggml_half(b + 80), min = ggml_half(b + 82);
      const uint8_t* q = b + 16;
      int is = 0;
      for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
          uint8_t sc = b[is++];
          float dl = d * (sc & 0xF), ml = min * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<int8_t>((q[l] >> shift) & 3) - ml;
          sc = b[is++];
          dl = d * (sc & 0xF), ml = min * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<int8_t>((q[l + 16] >> shift) & 3) - ml;
          shift += 2;
        }
        q += 32;
      }
      return;
    }
    case kQ3_K: {  // hmask[32], qs[64], scales[12], d
      const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
      uint32_t aux[4];
      std::memcpy(aux, b + 96, 12);
      const uint32_t tmp = aux[2];
      aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
      aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
      aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
      aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
      const auto* scales = reinterpret_cast<const int8_t*>(aux);
      const float d_all = ggml_half(b + 108);
      const uint8_t* q = b + 32;
      const uint8_t* hm = b;
      uint8_t m = 1;
      int is = 0;
      for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
          float dl = d_all * (scales[is++] - 32);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<int8_t>(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
          dl = d_all * (scales[is++] - 32);
          for (int l = 0; l < 16; ++l) {
            *y++ = dl * static_cast<int8_t>(((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
          }
          shift += 2;
          m <<= 1;
        }
        q += 32;
      }
      return;
    }
    case kQ4_K:
    case kQ5_K: {  // d, dmin, scales[12], (qh[32],) qs[128]
      const bool five = type == kQ5_K;
      const float d = ggml_half(b), min = ggml_half(b + 2);
      const uint8_t* ql = b + (five ? 48 : 16);
      const uint8_t* qh = b + 16;
      int is = 0;
      uint8_t sc, m, u1 = 1, u2 = 2;
      for (int j = 0; j < 256; j += 64) {
        ggml_get_scale_min_k4(is + 0, b + 4, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        ggml_get_scale_min_k4(is + 1, b + 4, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (five && (qh[l] & u1) ? 16 : 0)) - m1;
        for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (five && (qh[l] & u2) ? 16 : 0)) - m2;
        ql += 32;
        is += 2;
        u1 <<= 2;
        u2 <<= 2;
      }
      return;
    }
    default: {  // Q6_K: ql[128], qh[64], scales[16], d
      const float d = ggml_half(b + 208);
      const uint8_t* ql = b;
      const uint8_t* qh = b + 128;
      const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
      for (int n = 0; n < 256; n += 128) {
        for (int l = 0; l < 32; ++l) {
          const int is = l / 16;
          const int8_t q1 = static_cast<int8_t>((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
          const int8_t q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
          const int8_t q3 = static_cast<int8_t>((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          const int8_t q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          y[l + 0] = d * sc[is + 0] * q1;
          y[l + 32] = d * sc[is + 2] * q2;
          y[l + 64] = d * sc[is + 4] * q3;
          y[l + 96] = d * sc[is + 6] * q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
      }
      return;
    }
  }
}

// Random blocks whose values are of a weight's size (|w| up to about
// 0.1): random bytes, then d (and m/dmin) scaled for the type.
inline std::string random_ggml_blocks(uint32_t type, uint64_t n_blocks, std::mt19937* rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n_blocks * ggml_block_bytes(type), '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  auto half = [&](uint8_t* at, float range) {
    const uint16_t h = f32_to_f16(std::uniform_real_distribution<float>(-range, range)(*rng));
    at[0] = static_cast<uint8_t>(h), at[1] = static_cast<uint8_t>(h >> 8);
  };
  for (uint64_t b = 0; b < n_blocks; ++b, p += ggml_block_bytes(type)) {
    for (size_t k = 0; k < ggml_block_bytes(type); ++k) p[k] = static_cast<uint8_t>(byte(*rng));
    switch (type) {
      case kQ4_1: case kQ5_1: half(p, 0.005f), half(p + 2, 0.05f); break;
      case kQ2_K: half(p + 80, 0.002f), half(p + 82, 0.002f); break;
      case kQ3_K: half(p + 108, 0.0008f); break;
      case kQ4_K: half(p, 1e-4f), half(p + 2, 1e-4f); break;
      case kQ5_K: half(p, 5e-5f), half(p + 2, 5e-5f); break;
      case kQ6_K: half(p + 208, 2.5e-5f); break;
      default: half(p, 0.005f); break;  // Q4_0, Q5_0, Q8_0
    }
  }
  return out;
}

}  // namespace mlxpack::test

#endif  // MLXPACK_TESTS_SUPPORT_GGML_BLOCKS_H_
