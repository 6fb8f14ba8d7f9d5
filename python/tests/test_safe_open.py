"""safe_open: zero-copy, read-only, lifetime, dtypes, files, verify, errors."""
import ctypes
import gc
import json
import os

import numpy as np
import pytest

import mlxpack
import mlxpack.numpy
from mlxpack import _lib

from conftest import data_path, pack_safetensors
import safetensors_file


def test_get_tensor_is_a_view_of_the_mapping_not_a_copy(stories_pack):
    with mlxpack.safe_open(stories_pack, framework="numpy") as f:
        norm, embed = f.get_tensor("model.norm.weight"), f.get_tensor("model.embed_tokens.weight")
        t = _lib.Tensor()
        assert _lib.lib.mlxpack_tensor_get(f._handle(), b"model.embed_tokens.weight", ctypes.byref(t)) == 0
        assert embed.ctypes.data == t.data  # the C API's pointer itself
        assert norm.ctypes.data != embed.ctypes.data
        assert embed.base is not None and not embed.flags.owndata


def test_arrays_are_read_only_and_writing_raises(stories_pack):
    with mlxpack.safe_open(stories_pack, framework="numpy") as f:
        w = f.get_tensor("model.norm.weight")
    assert not w.flags.writeable
    with pytest.raises(ValueError):
        w[0] = 1.0
    with pytest.raises(ValueError):
        w.flags.writeable = True
    with pytest.raises(ValueError):
        np.add(w, 1, out=w)


def test_arrays_keep_the_mapping_alive_after_the_handle_goes(stories_pack, stories_dir):
    f = mlxpack.safe_open(stories_pack)
    w = f.get_tensor("model.embed_tokens.weight")
    expected = safetensors_file.read(os.path.join(stories_dir, "model.safetensors"))["model.embed_tokens.weight"][1]
    del f
    gc.collect()
    np.testing.assert_array_equal(w, expected)
    with mlxpack.safe_open(stories_pack) as f:
        v = f.get_tensor("model.norm.weight")
    gc.collect()
    assert float(v.sum()) == float(v.sum())
    with pytest.raises(ValueError, match="closed"):
        f.get_tensor("model.norm.weight")


@pytest.mark.parametrize("sample", ["overall", "B", "H", "I", "b", "d", "e", "f", "h", "i"])
def test_every_dtype_of_the_safetensors_samples(sample, tmp_path):
    source = data_path("safetensors-samples/%s.safetensors" % sample)
    expected = safetensors_file.read(source)
    loaded = mlxpack.numpy.load_file(pack_safetensors(source, tmp_path))
    assert sorted(loaded) == sorted(expected)
    for name, (dtype, array) in expected.items():
        assert loaded[name].dtype == array.dtype, (name, dtype)
        assert loaded[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)


def test_bf16_is_raw_bits_and_float32_on_request(tmp_path):
    reference = data_path("reference/mlx-quantize/quantize_reference.safetensors")
    expected = safetensors_file.read(reference)
    name = next(n for n, (d, _) in expected.items() if d == "BF16")
    with mlxpack.safe_open(pack_safetensors(reference, tmp_path)) as f:
        raw = f.get_tensor(name)
        assert raw.dtype == np.uint16 and f.dtype(name) == "BF16"
        np.testing.assert_array_equal(raw, expected[name][1])
        wide = f.get_tensor(name, dtype="float32")
        assert wide.dtype == np.float32 and wide.flags.writeable  # a copy
        np.testing.assert_array_equal(wide.view(np.uint32) >> 16, raw.astype(np.uint32))
        with pytest.raises(ValueError):
            f.get_tensor(name, dtype="float16")


def test_dequantize_matches_mlx_on_every_reference_case(tmp_path):
    cases = json.load(open(data_path("reference/mlx-quantize/quantize_reference.json")))["cases"]
    from mlxpack._quant import dequantize_affine
    checked = 0
    with mlxpack.safe_open(pack_safetensors(data_path("reference/mlx-quantize/quantize_reference.safetensors"),
                                            tmp_path)) as f:
        for case in cases:
            if not case["ok"]:
                continue
            got = dequantize_affine(f.get_tensor(case["weight"]), f.get_tensor(case["scales"]),
                                    f.get_tensor(case["biases"]), f.dtype(case["scales"]), case["bits"],
                                    case["group_size"])
            mlx = f.get_tensor(case["dequant"])
            if f.dtype(case["dequant"]) == "BF16":
                mlx = (mlx.astype(np.uint32) << 16).view(np.float32)
            np.testing.assert_array_equal(got.view(np.uint32), mlx.astype(np.float32).view(np.uint32),
                                          err_msg=case["weight"])
            checked += 1
    assert checked > 100


def test_dequantize_a_converted_layer(stories_dir, tmp_path):
    import subprocess
    from conftest import CLI
    out = str(tmp_path / "q4.mlxpack")
    subprocess.run([CLI, "convert", "-q", "--q-group-size", "32", stories_dir, out], check=True,
                   stdout=subprocess.DEVNULL)
    original = safetensors_file.read(os.path.join(stories_dir, "model.safetensors"))
    name = "model.layers.0.self_attn.q_proj"
    with mlxpack.safe_open(out) as f:
        w = f.dequantize(name)
        assert f.dtype(name + ".weight") == "U32"
        np.testing.assert_array_equal(f.dequantize(name + ".weight"), w)
    ref = original[name + ".weight"][1].astype(np.float32)
    assert w.shape == ref.shape
    assert np.abs(w - ref).max() <= np.abs(ref).max() / 7  # 4 bits: within a grid step of the range


def test_files_metadata_and_verify(stories_pack, stories_dir):
    with mlxpack.safe_open(stories_pack, verify="open") as f:
        assert f.get_file("config.json") == open(os.path.join(stories_dir, "config.json"), "rb").read()
        assert f.metadata()["model_type"] == "llama"
        assert "tokenizer.json" in f.files()
        assert f.verify() == []
        with pytest.raises(KeyError):
            f.get_file("nothing.json")
        with pytest.raises(KeyError):
            f.get_tensor("nothing")


def test_errors_are_exceptions_not_crashes(tmp_path, stories_pack):
    with pytest.raises(FileNotFoundError):
        mlxpack.safe_open(str(tmp_path / "missing.mlxpack"))
    junk = tmp_path / "junk.mlxpack"
    junk.write_bytes(b"not a pack" * 100)
    with pytest.raises(mlxpack.FormatError) as e:
        mlxpack.safe_open(str(junk))
    assert e.value.rule == "bad_magic" and "junk.mlxpack" in str(e.value)
    # One flipped byte in a tensor: lazy verification refuses that tensor.
    data = bytearray(open(stories_pack, "rb").read())
    with mlxpack.safe_open(stories_pack) as f:
        stored = f.get_tensor("model.norm.weight").tobytes()
    position = bytes(data).find(stored)
    assert position > 0
    data[position] ^= 0xFF
    bad = tmp_path / "bad.mlxpack"
    bad.write_bytes(bytes(data))
    with mlxpack.safe_open(str(bad)) as f:  # no checksums by default: the bytes as stored
        assert f.get_tensor("model.norm.weight").tobytes() != stored
    with mlxpack.safe_open(str(bad), verify="lazy") as f:
        with pytest.raises(mlxpack.FormatError) as e:
            f.get_tensor("model.norm.weight")
        assert e.value.rule == "checksum_mismatch"
        assert [name for name, _ in f.verify()] == ["model.norm.weight"]
    with pytest.raises(ValueError):
        mlxpack.safe_open(stories_pack, framework="tensorflow")
    with pytest.raises(ValueError):
        mlxpack.safe_open(stories_pack, verify="sometimes")


def test_pt_without_torch_says_what_to_install_and_with_torch_maps_the_file(stories_pack, stories_dir, tmp_path):
    try:
        import torch
    except ImportError:
        with pytest.raises(ImportError, match="python3-torch"):
            mlxpack.safe_open(stories_pack, framework="pt")
        return
    before = open(stories_pack, "rb").read()
    expected = safetensors_file.read(os.path.join(stories_dir, "model.safetensors"))
    with mlxpack.safe_open(stories_pack, framework="pt") as f:
        t = f.get_tensor("model.norm.weight")
        base = ctypes.addressof(ctypes.c_char.from_buffer(f._private_map))
        offset = ctypes.c_uint64()
        assert _lib.lib.mlxpack_tensor_file_offset(f._handle(), b"model.norm.weight", ctypes.byref(offset)) == 0
        assert t.data_ptr() == base + offset.value  # zero-copy: the file's own pages
        np.testing.assert_array_equal(t.numpy(), expected["model.norm.weight"][1])
        t[0] = 12345.0  # private pages: no crash, and the file does not change
        assert float(f.get_tensor("model.norm.weight")[0]) == 12345.0
    assert open(stories_pack, "rb").read() == before
    reference = data_path("reference/mlx-quantize/quantize_reference.safetensors")
    raw = safetensors_file.read(reference)
    name = next(n for n, (d, _) in raw.items() if d == "BF16")
    with mlxpack.safe_open(pack_safetensors(reference, tmp_path), framework="pt") as f:
        b = f.get_tensor(name)
        assert b.dtype == torch.bfloat16
        np.testing.assert_array_equal(b.view(torch.int16).numpy().view(np.uint16), raw[name][1])


def test_version():
    assert mlxpack.__version__.count(".") == 2
    assert mlxpack.format_version() == (1, 0)
