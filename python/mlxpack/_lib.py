"""ctypes bindings of libmlxpack's C API (mlxpack/mlxpack.h, mlxpack_runtime.h).

The library is found, in order: $MLXPACK_LIBRARY (a path), a copy beside this
file (a wheel that bundles it), then the system loader (libmlxpack.so.1 from
the Debian package or an install prefix on LD_LIBRARY_PATH).
"""
import ctypes
import os

_ABI = 1


def _load():
    tried = []
    env = os.environ.get("MLXPACK_LIBRARY")
    names = [env] if env else []
    names.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "libmlxpack.so.%d" % _ABI))
    names.append("libmlxpack.so.%d" % _ABI)
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append("%s (%s)" % (name, e))
    raise ImportError("mlxpack: cannot load libmlxpack.so.%d; tried: %s. Set MLXPACK_LIBRARY to its path."
                      % (_ABI, "; ".join(tried)))


lib = _load()

c_char_p, c_int, c_uint, c_size_t = ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_size_t
c_uint16, c_uint32, c_uint64, c_int32, c_void_p = (ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64,
                                                  ctypes.c_int32, ctypes.c_void_p)
P = ctypes.POINTER


class Tensor(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_int), ("rank", c_uint32), ("shape", c_uint64 * 8),
                ("data", c_void_p), ("size_bytes", c_uint64)]


CORRUPT_CALLBACK = ctypes.CFUNCTYPE(None, c_void_p, c_char_p, c_char_p)
TOKEN_CALLBACK = ctypes.CFUNCTYPE(c_int, c_void_p, c_int32, ctypes.c_float, c_int)


class GenerationOptions(ctypes.Structure):
    _fields_ = [("max_tokens", c_int), ("temperature", ctypes.c_float), ("top_p", ctypes.c_float),
                ("top_k", c_int), ("seed", c_uint64)]


class LogitFilters(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("min_p", ctypes.c_float), ("repetition_penalty", ctypes.c_float),
                ("repetition_context", c_int)]


class RuntimeOptions(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("threads", c_int), ("context_size", c_int), ("adapter_path", c_char_p),
                ("kv_cache_type", c_int), ("draft_model", c_char_p), ("prompt_lookup_ngram", c_int),
                ("num_draft_tokens", c_int)]


def _sig(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_sig("mlxpack_version", c_char_p)
_sig("mlxpack_format_version", None, P(c_uint16), P(c_uint16))
_sig("mlxpack_dtype_name", c_char_p, c_int)
_sig("mlxpack_dtype_size", c_uint32, c_int)
_sig("mlxpack_error_rule_name", c_char_p, c_int)
_sig("mlxpack_last_error", c_char_p)
_sig("mlxpack_last_format_error", c_int)
_sig("mlxpack_open", c_int, c_char_p, c_int, P(c_void_p))
_sig("mlxpack_close", None, c_void_p)
_sig("mlxpack_entry_count", c_uint64, c_void_p)
_sig("mlxpack_entry", c_int, c_void_p, c_uint64, P(c_int), P(c_char_p))
_sig("mlxpack_tensor_get", c_int, c_void_p, c_char_p, P(Tensor))
_sig("mlxpack_tensor_file_offset", c_int, c_void_p, c_char_p, P(c_uint64))
_sig("mlxpack_file_get", c_int, c_void_p, c_char_p, P(c_void_p), P(c_size_t))
_sig("mlxpack_free", None, c_void_p)
_sig("mlxpack_verify", c_int, c_void_p, c_char_p)
_sig("mlxpack_verify_all", c_int, c_void_p, c_uint, CORRUPT_CALLBACK, c_void_p, P(c_uint64))
_sig("mlxpack_runtime_open", c_int, c_char_p, c_int, c_int, P(c_void_p))
_sig("mlxpack_runtime_open_with_adapter", c_int, c_char_p, c_int, c_int, c_char_p, P(c_void_p))
_sig("mlxpack_runtime_options_init", None, P(RuntimeOptions))
_sig("mlxpack_runtime_open_with_options", c_int, c_char_p, P(RuntimeOptions), P(c_void_p))
_sig("mlxpack_runtime_kv_cache_type", c_int, c_void_p)
_sig("mlxpack_runtime_kv_cache_bytes", c_uint64, c_void_p)
_sig("mlxpack_runtime_speculation_stats", None, c_void_p, P(c_int), P(c_int), P(c_int))
_sig("mlxpack_runtime_close", None, c_void_p)
_sig("mlxpack_runtime_vocab_size", c_int32, c_void_p)
_sig("mlxpack_runtime_bos_id", c_int32, c_void_p)
_sig("mlxpack_encode", c_int, c_void_p, c_char_p, c_size_t, c_int, P(P(c_int32)), P(c_size_t))
_sig("mlxpack_decode", c_int, c_void_p, P(c_int32), c_size_t, c_int, P(c_void_p), P(c_size_t))
_sig("mlxpack_apply_chat_template", c_int, c_void_p, c_char_p, P(c_void_p), P(c_size_t))
_sig("mlxpack_generation_options_init", None, P(GenerationOptions))
_sig("mlxpack_generate", c_int, c_void_p, P(c_int32), c_size_t, P(GenerationOptions), TOKEN_CALLBACK, c_void_p,
     P(c_size_t))
_sig("mlxpack_logit_filters_init", None, P(LogitFilters))
_sig("mlxpack_generate_filtered", c_int, c_void_p, P(c_int32), c_size_t, P(GenerationOptions), P(LogitFilters),
     TOKEN_CALLBACK, c_void_p, P(c_size_t))
_sig("mlxpack_runtime_reset", None, c_void_p)

OK, NOT_FOUND, CORRUPTION, UNSUPPORTED, INVALID_ARGUMENT, IO_ERROR = range(6)
ENTRY_TENSOR, ENTRY_FILE, ENTRY_SOURCE = 1, 2, 3


def take_bytes(ptr, size):
    """Copies a buffer the C API allocated and frees it."""
    try:
        return ctypes.string_at(ptr, size.value) if ptr.value else b""
    finally:
        lib.mlxpack_free(ptr)
