"""Python open benchmark: safe_open + get_tensor of every tensor of a pack,
beside numpy.memmap of the same tensors' byte ranges in the safetensors
files, side by side in one run: wall time and resident memory growth, before
and after touching every byte.

    python3 bench/python_open_bench.py PACK MODEL_DIR   (PYTHONPATH=python, MLXPACK_LIBRARY=...)
"""
import glob
import json
import os
import struct
import sys
import time

import numpy as np

import mlxpack

DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "U32": "<u4", "I32": "<i4", "U8": "|u1", "I8": "|i1"}


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_pack(path, verify="none"):
    f = mlxpack.safe_open(path, verify=verify)
    return {name: f.get_tensor(name) for name in f.keys()}


def open_safetensors(model_dir):
    out = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "*.safetensors"))):
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        header.pop("__metadata__", None)
        for name, info in header.items():
            begin, end = info["data_offsets"]
            count = int(np.prod(info["shape"])) if info["shape"] else 1
            out[name] = np.memmap(path, dtype=DTYPES[info["dtype"]], mode="r", offset=8 + n + begin,
                                  shape=tuple(info["shape"]) if count else (0,))
    return out


def measure(label, opener, arg):
    before = rss_bytes()
    start = time.perf_counter()
    tensors = opener(arg)
    opened = time.perf_counter() - start
    grown = rss_bytes() - before
    start = time.perf_counter()
    total = sum(int(a.view(np.uint8).sum(dtype=np.uint64)) for a in tensors.values())
    touched = time.perf_counter() - start
    print("%-26s %5d tensors  open+get %8.2f ms  RSS growth %7.1f MiB  after touching all %7.1f MiB (%.2f s)"
          % (label, len(tensors), opened * 1e3, grown / 2**20, (rss_bytes() - before) / 2**20, touched))
    return total


def main():
    pack, model_dir = sys.argv[1], sys.argv[2]
    for path in glob.glob(os.path.join(model_dir, "*.safetensors")) + [pack]:
        with open(path, "rb") as fh:  # warm the page cache for both sides
            while fh.read(1 << 24):
                pass
    a = measure("mlxpack safe_open", open_pack, pack)
    measure("  ... verify=\"lazy\"", lambda p: open_pack(p, "lazy"), pack)
    b = measure("numpy.memmap safetensors", open_safetensors, model_dir)
    print("same bytes:", a == b)


if __name__ == "__main__":
    main()
