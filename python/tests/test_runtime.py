"""Runtime: stories260K's greedy ids and text through generate, early stop,
the tokenizer against the Hugging Face reference, chat templates, errors."""
import json
import os
import shutil

import pytest

import mlxpack

from conftest import data_path


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
