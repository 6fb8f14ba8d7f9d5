"""MLX affine dequantization in numpy, rounding as MLX does: w = T(T(q * scale)
+ bias) with T the scales' dtype (no fused multiply-add), as the C++
reference (convert/affine_quant.cpp) computes it."""
import numpy as np


def _round_to(values, dtype_name):
    """float32 values rounded to `dtype_name` (F32, F16, BF16), as float32."""
    if dtype_name == "F32":
        return values
    if dtype_name == "F16":
        return values.astype(np.float16).astype(np.float32)
    if dtype_name == "BF16":  # round to nearest even on the upper 16 bits
        bits = values.view(np.uint32)
        rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
        nan = np.isnan(values)
        rounded[nan] = (bits[nan] | np.uint32(0x00400000)) & np.uint32(0xFFFF0000)
        return rounded.view(np.float32)
    raise ValueError("scales of dtype %s are not F32, F16 or BF16" % dtype_name)


def _as_float32(params, dtype_name):
    if dtype_name == "BF16":
        return (params.astype(np.uint32) << 16).view(np.float32)
    return params.astype(np.float32)


def unpack(words, bits, count):
    """The first `count` `bits`-bit values of each row of uint32 `words`,
    packed LSB first as one little-endian bit stream per row."""
    rows = words.reshape(-1, words.shape[-1])
    stream = np.ascontiguousarray(rows).astype("<u4").view(np.uint8)
    stream = np.concatenate([stream, np.zeros((stream.shape[0], 4), np.uint8)], axis=1).astype(np.uint32)
    offsets = np.arange(count, dtype=np.int64) * bits
    index, shift = offsets >> 3, (offsets & 7).astype(np.uint32)
    window = stream[:, index] | (stream[:, index + 1] << 8) | (stream[:, index + 2] << 16)
    return (window >> shift) & np.uint32((1 << bits) - 1)


def dequantize_affine(words, scales, biases, dtype_name, bits, group_size):
    """float32 weights of shape [..., K] from MLX's quantized triple."""
    if bits not in (2, 3, 4, 5, 6, 8) or group_size not in (16, 32, 64, 128):
        raise ValueError("bits %d, group_size %d: MLX quantizes with bits in {2,3,4,5,6,8} and group_size in "
                         "{32,64,128} (16: K-quants imported from GGUF)" % (bits, group_size))
    groups = scales.shape[-1]
    k = groups * group_size
    if words.shape[-1] * 32 != k * bits:
        raise ValueError("weight words %s do not hold %d groups of %d %d-bit values"
                         % (words.shape, groups, group_size, bits))
    q = unpack(words, bits, k).astype(np.float32).reshape(-1, groups, group_size)
    s = _as_float32(scales, dtype_name).reshape(-1, groups, 1)
    b = _as_float32(biases, dtype_name).reshape(-1, groups, 1)
    product = _round_to(np.ascontiguousarray(q * s), dtype_name)
    out = _round_to(np.ascontiguousarray(product + b), dtype_name)
    return out.reshape(tuple(scales.shape[:-1]) + (k,))
