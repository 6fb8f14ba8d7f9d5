"""A safetensors file read with numpy alone (the independent side of the
tests): {name: array} with numpy's view of each dtype (BF16 as uint16)."""
import json
import struct

import numpy as np

DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "U32": "<u4", "I32": "<i4",
          "U64": "<u8", "I64": "<i8", "F16": "<f2", "BF16": "<u2", "F32": "<f4", "F64": "<f8", "F8_E4M3": "|u1",
          "F8_E5M2": "|u1"}


def read(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = data[8 + n + begin:8 + n + end]
        out[name] = (info["dtype"], np.frombuffer(raw, dtype=np.dtype(DTYPES[info["dtype"]])).reshape(info["shape"]))
    return out
