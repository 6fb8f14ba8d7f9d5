"""Runtime: stories260K's greedy ids and text through generate, early stop,
the tokenizer against the Hugging Face reference, chat templates, errors,
a LoRA adapter applied at run time."""
import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

import mlxpack
import safetensors_file

from conftest import CLI, data_path


def expected_ids(stories_dir):
    text = open(os.path.join(stories_dir, "expected", "greedy_ids_from_bos.txt")).read()
    return [int(t) for t in text.replace(",", " ").split()]


def test_generate_streams_the_200_greedy_ids_and_their_text(stories_pack, stories_dir):
    rt = mlxpack.Runtime(stories_pack, threads=1)
    pieces = list(rt.generate([rt.bos_token_id], max_tokens=200))
    assert [p.id for p in pieces] == expected_ids(stories_dir)
    assert all(p.logprob <= 0 for p in pieces)
    expected_text = open(os.path.join(stories_dir, "expected", "greedy_text_from_bos.txt")).read()
    assert "".join(p.text for p in pieces) == expected_text


def test_breaking_the_loop_stops_and_the_runtime_goes_on(stories_pack):
    rt = mlxpack.Runtime(stories_pack, threads=1)
    got = []
    for piece in rt.generate("Once upon a time", max_tokens=100):
        got.append(piece.id)
        if len(got) == 5:
            break
    assert len(got) == 5
    rt.reset()
    again = [p.id for p in rt.generate("Once upon a time", max_tokens=5)]
    assert again == got  # greedy: the same start after a reset
    rt.reset()
    sampled = [p.id for p in rt.generate("Once upon a time", max_tokens=20, temp=1.0, top_p=0.9, seed=7)]
    rt.reset()
    assert [p.id for p in rt.generate("Once upon a time", max_tokens=20, temp=1.0, top_p=0.9, seed=7)] == sampled


def test_min_p_and_repetition_penalty(stories_pack, stories_dir):
    rt = mlxpack.Runtime(stories_pack, threads=1)
    greedy = expected_ids(stories_dir)[:60]
    # min_p = 1 keeps only the most likely token: sampling gives the greedy story.
    assert [p.id for p in rt.generate([rt.bos_token_id], max_tokens=60, temp=1.0, seed=3, min_p=1.0)] == greedy
    rt.reset()
    penalized = [p.id for p in rt.generate([rt.bos_token_id], max_tokens=60, repetition_penalty=1.5,
                                           repetition_context_size=32)]
    assert penalized != greedy
    rt.reset()
    # A window of 0 tokens penalizes nothing.
    assert [p.id for p in rt.generate([rt.bos_token_id], max_tokens=60, repetition_penalty=1.5,
                                      repetition_context_size=0)] == greedy
    rt.reset()
    with pytest.raises(ValueError, match="min_p"):
        list(rt.generate([rt.bos_token_id], max_tokens=3, min_p=1.5))


def test_tokenizer_matches_the_hugging_face_reference(stories_pack):
    cases = json.load(open(data_path("reference/tokenizers/stories260K.json")))["cases"]
    tok = mlxpack.Runtime(stories_pack).tokenizer
    for case in cases:
        assert tok.encode(case["text"], add_special_tokens=False) == case["ids"], case["text"]
        assert tok.encode(case["text"]) == case["ids_with_special_tokens"], case["text"]
        assert tok.decode(case["ids"]) == case["decoded"], case["text"]
    assert tok.vocab_size == 512


def test_apply_chat_template(stories_dir, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copyfile(os.path.join(stories_dir, f), model / f)
    config = json.load(open(os.path.join(stories_dir, "tokenizer_config.json")))
    config["chat_template"] = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}" \
                              "{% if add_generation_prompt %}[assistant]{% endif %}"
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    rt = mlxpack.Runtime(str(model))
    messages = [{"role": "user", "content": "Hi"}]
    assert rt.apply_chat_template(messages) == "<s>[user] Hi[assistant]"
    assert rt.apply_chat_template(messages, add_generation_prompt=False) == "<s>[user] Hi"


def test_errors_raise(stories_pack, tmp_path):
    with pytest.raises(FileNotFoundError):
        mlxpack.Runtime(str(tmp_path / "missing"))
    rt = mlxpack.Runtime(stories_pack)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        list(rt.generate([100000], max_tokens=3))
    with pytest.raises(KeyError, match="no chat template"):
        rt.apply_chat_template([{"role": "user", "content": "x"}])
    with pytest.raises(ValueError):
        mlxpack.Runtime(stories_pack, context_size=-5)


def write_adapter(directory, weights, paths, rank, scale, seed):
    """An mlx-lm LoRA adapter on `paths`, random A and B (numpy alone)."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for path in paths:
        out_dim, in_dim = weights[path + ".weight"][1].shape
        tensors[path + ".lora_a"] = rng.uniform(-1, 1, (in_dim, rank)).astype("<f4") / np.sqrt(in_dim)
        tensors[path + ".lora_b"] = rng.uniform(-1, 1, (rank, out_dim)).astype("<f4")
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        raw = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "adapters.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    config = {"fine_tune_type": "lora", "lora_parameters": {"rank": rank, "scale": scale, "dropout": 0.0}}
    with open(os.path.join(directory, "adapter_config.json"), "w") as f:
        json.dump(config, f)


def test_an_adapter_at_run_time_gives_the_fused_models_tokens(stories_pack, stories_dir, tmp_path):
    weights = safetensors_file.read(os.path.join(stories_dir, "model.safetensors"))
    adapter = str(tmp_path / "adapter")
    write_adapter(adapter, weights, ["model.layers.0.self_attn.q_proj", "model.layers.2.mlp.down_proj"], 4, 8.0, 1)
    fused = str(tmp_path / "fused.mlxpack")
    subprocess.run([CLI, "convert", "--adapter-path", adapter, stories_dir, fused], check=True,
                   stdout=subprocess.DEVNULL)
    base_ids = [p.id for p in mlxpack.Runtime(stories_pack, threads=1).generate([1], max_tokens=40)]
    applied = mlxpack.Runtime(stories_pack, threads=1, adapter_path=adapter)
    applied_ids = [p.id for p in applied.generate([1], max_tokens=40)]
    fused_ids = [p.id for p in mlxpack.Runtime(fused, threads=1).generate([1], max_tokens=40)]
    assert applied_ids == fused_ids
    assert applied_ids != base_ids
    with pytest.raises(ValueError, match="lora_parameters.rank"):
        with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
            f.write('{"lora_parameters": {"rank": 0}}')
        mlxpack.Runtime(stories_pack, adapter_path=adapter)


def test_a_q8_0_kv_cache_gives_the_clis_tokens_in_less_memory(stories_pack):
    f32 = mlxpack.Runtime(stories_pack, threads=1, context_size=256, kv_cache_type="f32")
    q8 = mlxpack.Runtime(stories_pack, threads=1, context_size=256, kv_cache_type="q8_0")
    assert (f32.kv_cache_type, q8.kv_cache_type) == ("f32", "q8_0")
    assert mlxpack.Runtime(stories_pack, threads=1).kv_cache_type == "f16"
    # stories260K's heads are 8 wide: one F16 scale per 8 int8s, 1.25 bytes against 4.
    assert q8.kv_cache_bytes * 4 == f32.kv_cache_bytes * 1.25
    ids = [p.id for p in q8.generate([1], max_tokens=60)]
    cli = subprocess.run([CLI, "run", "-m", stories_pack, "--prompt-ids", "1", "-n", "60", "--output-ids",
                          "--context-size", "256", "--kv-cache-type", "q8_0", "--threads", "1"],
                         check=True, stdout=subprocess.PIPE).stdout.decode()
    assert ids == [int(t) for t in cli.replace(",", " ").split()]
    with pytest.raises(ValueError, match="kv_cache_type is 'q4_0'"):
        mlxpack.Runtime(stories_pack, kv_cache_type="q4_0")


def test_speculative_decoding_generates_the_same_tokens(stories_pack, stories_dir):
    plain = [p.id for p in mlxpack.Runtime(stories_pack, threads=1).generate([1], max_tokens=150)]
    drafted = mlxpack.Runtime(stories_pack, threads=1, draft_model=stories_dir, num_draft_tokens=4)
    assert [p.id for p in drafted.generate([1], max_tokens=150)] == plain
    stats = drafted.speculation_stats
    assert stats["drafted"] > 0 and stats["accepted"] == stats["drafted"]  # its own tokens, all kept
    assert stats["model_passes"] + stats["accepted"] == 149
    lookup = mlxpack.Runtime(stories_pack, threads=1, prompt_lookup_ngram=3)
    assert [p.id for p in lookup.generate([1], max_tokens=150)] == plain
    assert lookup.speculation_stats["drafted"] > 0
    with pytest.raises(ValueError, match="choose one"):
        mlxpack.Runtime(stories_pack, draft_model=stories_dir, prompt_lookup_ngram=2)
