"""safe_open: a .mlxpack file's tensors as zero-copy, read-only numpy arrays."""
import ctypes
import json
import mmap
import os

import numpy as np

from . import _lib
from ._errors import check
from ._quant import dequantize_affine

# spec/FORMAT.md §6.2 codes -> numpy type strings of the stored bytes
# (little-endian). BF16 has no numpy type: its raw uint16 bits; F8: bytes.
_TYPESTR = {1: "|b1", 2: "|u1", 3: "|i1", 4: "<u2", 5: "<i2", 6: "<u4", 7: "<i4", 8: "<u8", 9: "<i8",
            10: "<f2", 11: "<u2", 12: "<f4", 13: "<f8", 14: "|u1", 15: "|u1"}
_VERIFY = {"none": 0, "lazy": 1, "open": 2}


class _Reader:
    """Owns one C reader; closed when the last user (a handle or an array
    viewing its mapping) lets go of it."""

    def __init__(self, path, verify):
        handle = ctypes.c_void_p()
        check(_lib.lib.mlxpack_open(os.fsencode(path), _VERIFY[verify], ctypes.byref(handle)))
        self.handle = handle

    def __del__(self):
        if getattr(self, "handle", None):
            _lib.lib.mlxpack_close(self.handle)
            self.handle = None


class _MappedView:
    """The numpy array interface of a tensor in the mapping: read-only
    (numpy refuses to make the array writeable), keeping the reader alive."""

    def __init__(self, reader, pointer, shape, typestr):
        self._reader = reader
        self.__array_interface__ = {"version": 3, "shape": shape, "typestr": typestr, "data": (pointer, True)}


def _bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


class SafeOpen:
    """A .mlxpack file opened for reading, modeled on safetensors.safe_open.

    Tensors are zero-copy views of the file's read-only mapping; they stay
    valid after the handle is closed. Thread-safe for reading."""

    def __init__(self, path, framework="numpy", verify="none"):
        if framework not in ("numpy", "np", "pt"):
            raise ValueError("framework must be 'numpy' or 'pt', not %r" % (framework,))
        if verify not in _VERIFY:
            raise ValueError("verify must be one of %s, not %r" % (sorted(_VERIFY), verify))
        if not os.path.exists(path):
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        if framework == "pt":
            try:
                import torch  # noqa: F401
            except ImportError:
                raise ImportError("framework='pt' needs PyTorch (Debian: apt install python3-torch)") from None
        self.path = os.fspath(path)
        self.framework = framework
        self._reader = _Reader(path, verify)
        self._private_map = None  # framework="pt": a copy-on-write mapping of the file
        self._tensors, self._files = self._list_entries()

    def _handle(self):
        if self._reader is None:
            raise ValueError("%s: the file is closed" % self.path)
        return self._reader.handle

    def _list_entries(self):
        tensors, files = [], []
        kind, name = ctypes.c_int(), ctypes.c_char_p()
        for i in range(_lib.lib.mlxpack_entry_count(self._reader.handle)):
            check(_lib.lib.mlxpack_entry(self._reader.handle, i, ctypes.byref(kind), ctypes.byref(name)))
            if kind.value == _lib.ENTRY_TENSOR:
                tensors.append(name.value.decode())
            elif kind.value == _lib.ENTRY_FILE:
                files.append(name.value.decode())
        return tensors, files

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Lets go of the file; arrays already returned stay valid."""
        self._reader = None

    def keys(self):
        """Tensor names, sorted."""
        return list(self._tensors)

    def files(self):
        """Names of the bundled files (config.json, tokenizer.json, ...)."""
        return list(self._files)

    def _view(self, name):
        t = _lib.Tensor()
        check(_lib.lib.mlxpack_tensor_get(self._handle(), name.encode(), ctypes.byref(t)))
        shape = tuple(t.shape[i] for i in range(t.rank))
        if t.size_bytes == 0:
            empty = np.empty(shape, dtype=np.dtype(_TYPESTR[t.dtype]))
            empty.flags.writeable = False
            return empty, t.dtype
        return np.asarray(_MappedView(self._reader, t.data, shape, _TYPESTR[t.dtype])), t.dtype

    def get_tensor(self, name, dtype=None):
        """The tensor `name` as stored: a zero-copy, read-only view (BF16 as its
        raw uint16 bits). dtype="float32": a float32 copy (F16, BF16, F32)."""
        if self.framework == "pt" and dtype is None:
            return self._torch_view(name)
        array, code = self._view(name)
        if dtype is not None:
            if np.dtype(dtype) != np.float32 or code not in (10, 11, 12):
                raise ValueError("%s: %s tensors convert only to float32, not %s"
                                 % (name, _lib.lib.mlxpack_dtype_name(code).decode(), dtype))
            array = _bf16_to_f32(array) if code == 11 else array.astype(np.float32)
        if self.framework == "pt":
            return _to_torch(array)
        return array

    def _torch_view(self, name):
        """A zero-copy torch tensor over a private copy-on-write mapping of
        the file: torch has no read-only tensors, so writes land in private
        pages and never reach the file or crash."""
        import torch
        t = _lib.Tensor()
        check(_lib.lib.mlxpack_tensor_get(self._handle(), name.encode(), ctypes.byref(t)))  # verifies if asked
        offset = ctypes.c_uint64()
        check(_lib.lib.mlxpack_tensor_file_offset(self._handle(), name.encode(), ctypes.byref(offset)))
        torch_dtype = _TORCH_DTYPES[t.dtype](torch)
        shape = tuple(t.shape[i] for i in range(t.rank))
        if t.size_bytes == 0:
            return torch.empty(shape, dtype=torch_dtype)
        if self._private_map is None:
            with open(self.path, "rb") as fh:
                self._private_map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
        count = t.size_bytes // torch.tensor([], dtype=torch_dtype).element_size()
        return torch.frombuffer(self._private_map, dtype=torch_dtype, count=count, offset=offset.value).reshape(shape)

    def dtype(self, name):
        """The stored dtype's name as the spec writes it ("BF16", "U32", ...)."""
        return _lib.lib.mlxpack_dtype_name(self._view(name)[1]).decode()

    def get_file(self, name):
        """A bundled file's bytes."""
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        check(_lib.lib.mlxpack_file_get(self._handle(), name.encode(), ctypes.byref(data), ctypes.byref(size)))
        return _lib.take_bytes(data, size)

    def metadata(self):
        """The model's config.json as a dict ({} when the pack has none)."""
        if "config.json" not in self._files:
            return {}
        return json.loads(self.get_file("config.json"))

    def verify(self, threads=0):
        """Checks every checksum: a list of (name, reason), empty when sound."""
        bad = []
        callback = _lib.CORRUPT_CALLBACK(lambda _user, name, reason: bad.append((name.decode(), reason.decode())))
        count = ctypes.c_uint64()
        check(_lib.lib.mlxpack_verify_all(self._handle(), threads, callback, None, ctypes.byref(count)))
        return bad

    def dequantize(self, name):
        """An MLX-quantized layer (`name` or `name.weight`, with `.scales`
        and `.biases`) as float32, as MLX's dequantize computes it."""
        base = name[:-len(".weight")] if name.endswith(".weight") else name
        config = self.metadata()
        quant = config.get("quantization") or config.get("quantization_config")
        if not isinstance(quant, dict):
            raise ValueError("%s: config.json has no quantization settings" % self.path)
        layer = quant.get(base)  # mlx-lm's per-layer override, when there is one
        spec = layer if isinstance(layer, dict) else quant
        words, _ = self._view(base + ".weight")
        scales, scale_code = self._view(base + ".scales")
        biases, _ = self._view(base + ".biases")
        return dequantize_affine(words, scales, biases, _lib.lib.mlxpack_dtype_name(scale_code).decode(),
                                 int(spec["bits"]), int(spec["group_size"]))


# spec §6.2 codes -> torch dtypes. Torch 1.x has no uint16/32/64: those come
# back as the signed type of the same width (the bits unchanged); F8 as uint8.
_TORCH_DTYPES = {1: lambda t: t.bool, 2: lambda t: t.uint8, 3: lambda t: t.int8, 4: lambda t: t.int16,
                 5: lambda t: t.int16, 6: lambda t: t.int32, 7: lambda t: t.int32, 8: lambda t: t.int64,
                 9: lambda t: t.int64, 10: lambda t: t.float16, 11: lambda t: t.bfloat16, 12: lambda t: t.float32,
                 13: lambda t: t.float64, 14: lambda t: t.uint8, 15: lambda t: t.uint8}


def _to_torch(array):
    # A converted copy (get_tensor(name, dtype=...)).
    import torch
    return torch.from_numpy(np.array(array))


def safe_open(path, framework="numpy", verify="none"):
    """Opens a .mlxpack file: `with mlxpack.safe_open(p, framework="numpy") as f:`.

    The file's structure is always validated at open (every bound, size and
    the index checksum). verify: "none" (the default, as the C++ Reader:
    tensors are not read until you touch them; f.verify() checks every
    checksum), "lazy" (each tensor's checksum on its first get_tensor, which
    reads it) or "open" (every checksum before safe_open returns)."""
    return SafeOpen(path, framework, verify)
