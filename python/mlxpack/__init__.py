"""mlxpack: read .mlxpack model files in place and generate with them.

    import mlxpack
    with mlxpack.safe_open("model.mlxpack", framework="numpy") as f:
        w = f.get_tensor("model.embed_tokens.weight")   # zero-copy, read-only
    rt = mlxpack.Runtime("model.mlxpack", threads=2)
    for piece in rt.generate("Once upon a time", max_tokens=50):
        print(piece.text, end="")

A ctypes binding of libmlxpack's C API (see _lib.py for how the library is
found).
"""
from . import _lib
from ._errors import FormatError, MlxpackError
from ._reader import SafeOpen, safe_open
from ._runtime import Piece, Runtime, Tokenizer

__version__ = _lib.lib.mlxpack_version().decode()
__all__ = ["FormatError", "MlxpackError", "Piece", "Runtime", "SafeOpen", "Tokenizer", "safe_open", "format_version",
           "__version__"]


def format_version():
    """The .mlxpack format version this library writes, as (major, minor)."""
    import ctypes
    major, minor = ctypes.c_uint16(), ctypes.c_uint16()
    _lib.lib.mlxpack_format_version(ctypes.byref(major), ctypes.byref(minor))
    return major.value, minor.value
