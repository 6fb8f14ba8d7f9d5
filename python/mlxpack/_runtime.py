"""Runtime: tokenize, render chat templates and generate through the C API."""
import collections
import ctypes
import json
import os
import queue
import threading

from . import _lib
from ._errors import check

Piece = collections.namedtuple("Piece", ["text", "id", "logprob"])
Piece.__doc__ = "One generated token: the text it adds (may be empty mid-character), its id and log-probability."


class Tokenizer:
    """The model's tokenizer (owned by its Runtime)."""

    def __init__(self, runtime):
        self._runtime = runtime

    def encode(self, text, add_special_tokens=True):
        data = text.encode("utf-8")
        ids, n = ctypes.POINTER(ctypes.c_int32)(), ctypes.c_size_t()
        check(_lib.lib.mlxpack_encode(self._runtime._handle(), data, len(data), int(add_special_tokens),
                                      ctypes.byref(ids), ctypes.byref(n)))
        try:
            return ids[:n.value]
        finally:
            _lib.lib.mlxpack_free(ids)

    def decode(self, ids, skip_special_tokens=False):
        ids = list(ids)
        array = (ctypes.c_int32 * len(ids))(*ids)
        text, size = ctypes.c_void_p(), ctypes.c_size_t()
        check(_lib.lib.mlxpack_decode(self._runtime._handle(), array, len(ids), int(skip_special_tokens),
                                      ctypes.byref(text), ctypes.byref(size)))
        return _lib.take_bytes(text, size).decode("utf-8", "replace")

    @property
    def vocab_size(self):
        return _lib.lib.mlxpack_runtime_vocab_size(self._runtime._handle())


class Runtime:
    """A model ready to generate: a .mlxpack file or a model directory.
    One conversation (KV cache) per Runtime; use it from one thread."""

    KV_CACHE_TYPES = ("f16", "f32", "q8_0")

    def __init__(self, path, threads=0, context_size=0, adapter_path=None, kv_cache_type="f16", draft_model=None,
                 prompt_lookup_ngram=0, num_draft_tokens=0):
        """adapter_path: a LoRA adapter directory (mlx-lm's adapter_config.json and
        adapters.safetensors) applied at run time, as mlx_lm.generate's --adapter-path.
        kv_cache_type: "f16" (default), "f32" or "q8_0" (int8 in groups of up to 32
        values with a scale each: about a quarter of F32's memory), llama.cpp's names.
        Speculative decoding, the same tokens in fewer passes of the model: draft_model,
        a smaller model with the same tokenizer (mlx_lm.generate's --draft-model), or
        prompt_lookup_ngram > 0, proposals from n-grams already in the context;
        num_draft_tokens per step (0: 3 with a draft model, 10 with lookup)."""
        if not os.path.exists(path):
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        if kv_cache_type not in self.KV_CACHE_TYPES:
            raise ValueError("kv_cache_type is %r, not one of %s" % (kv_cache_type, ", ".join(self.KV_CACHE_TYPES)))
        options = _lib.RuntimeOptions()
        _lib.lib.mlxpack_runtime_options_init(ctypes.byref(options))
        options.threads = int(threads)
        options.context_size = int(context_size)
        options.adapter_path = None if adapter_path is None else os.fsencode(adapter_path)
        options.kv_cache_type = self.KV_CACHE_TYPES.index(kv_cache_type)
        options.draft_model = None if draft_model is None else os.fsencode(draft_model)
        options.prompt_lookup_ngram = int(prompt_lookup_ngram)
        options.num_draft_tokens = int(num_draft_tokens)
        handle = ctypes.c_void_p()
        check(_lib.lib.mlxpack_runtime_open_with_options(os.fsencode(path), ctypes.byref(options),
                                                         ctypes.byref(handle)))
        self._h = handle
        self.tokenizer = Tokenizer(self)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.lib.mlxpack_runtime_close(self._h)
            self._h = None

    def _handle(self):
        return self._h

    @property
    def bos_token_id(self):
        return _lib.lib.mlxpack_runtime_bos_id(self._h)

    @property
    def kv_cache_type(self):
        """"f16", "f32" or "q8_0"."""
        return self.KV_CACHE_TYPES[_lib.lib.mlxpack_runtime_kv_cache_type(self._h)]

    @property
    def speculation_stats(self):
        """The last generation's proposals: {"drafted", "accepted", "model_passes"}."""
        values = [ctypes.c_int() for _ in range(3)]
        _lib.lib.mlxpack_runtime_speculation_stats(self._h, *[ctypes.byref(v) for v in values])
        return dict(zip(("drafted", "accepted", "model_passes"), (v.value for v in values)))

    @property
    def kv_cache_bytes(self):
        """The KV cache's bytes for the whole context."""
        return _lib.lib.mlxpack_runtime_kv_cache_bytes(self._h)

    def apply_chat_template(self, messages, add_generation_prompt=True, **variables):
        """The model's chat template rendered for `messages` (a list of
        {"role": ..., "content": ...}); more template variables as keywords."""
        context = dict(variables, messages=messages, add_generation_prompt=add_generation_prompt)
        text, size = ctypes.c_void_p(), ctypes.c_size_t()
        check(_lib.lib.mlxpack_apply_chat_template(self._h, json.dumps(context).encode(), ctypes.byref(text),
                                                   ctypes.byref(size)))
        return _lib.take_bytes(text, size).decode("utf-8", "replace")

    def reset(self):
        """Forgets the conversation."""
        _lib.lib.mlxpack_runtime_reset(self._h)

    def generate(self, prompt, max_tokens=500, temp=0.0, top_p=1.0, top_k=0, seed=0, min_p=0.0,
                 repetition_penalty=1.0, repetition_context_size=64):
        """Appends `prompt` (text, encoded with the model's special tokens, or
        a list of ids) to the conversation and yields a Piece per generated
        token. Breaking out of the loop stops generation. The sampling
        arguments are mlx_lm's: min_p keeps tokens at least that fraction as
        likely as the best (ignored when greedy); repetition_penalty (1 = off)
        applies to the last repetition_context_size tokens of the context."""
        ids = self.tokenizer.encode(prompt) if isinstance(prompt, str) else [int(i) for i in prompt]
        options = _lib.GenerationOptions()
        _lib.lib.mlxpack_generation_options_init(ctypes.byref(options))
        options.max_tokens, options.temperature, options.top_p = int(max_tokens), float(temp), float(top_p)
        options.top_k, options.seed = int(top_k), int(seed)
        filters = _lib.LogitFilters()
        _lib.lib.mlxpack_logit_filters_init(ctypes.byref(filters))
        filters.min_p, filters.repetition_penalty = float(min_p), float(repetition_penalty)
        filters.repetition_context = int(repetition_context_size)
        return _Generation(self, ids, options, filters)


_DONE = object()


class _Generation:
    """Runs mlxpack_generate on a worker thread in lock step with the
    consumer: the C callback hands each token over and waits for the next
    request, so breaking out of the loop stops the C side at once."""

    def __init__(self, runtime, ids, options, filters):
        self._runtime, self._ids, self._options, self._filters = runtime, ids, options, filters
        self._tokens, self._requests = queue.Queue(), queue.Queue()
        self._error = None

    def _run(self):
        def on_token(_user, token, logprob, _is_stop):
            self._tokens.put((token, logprob))
            return 1 if self._requests.get() else 0

        callback = _lib.TOKEN_CALLBACK(on_token)
        array = (ctypes.c_int32 * len(self._ids))(*self._ids)
        try:
            check(_lib.lib.mlxpack_generate_filtered(self._runtime._handle(), array, len(self._ids),
                                                     ctypes.byref(self._options), ctypes.byref(self._filters),
                                                     callback, None, None))
        except Exception as e:  # handed to the consumer's thread
            self._error = e
        finally:
            self._tokens.put(_DONE)

    def __iter__(self):
        worker = threading.Thread(target=self._run, daemon=True)
        worker.start()
        generated, shown = [], ""
        try:
            while True:
                item = self._tokens.get()
                if item is _DONE:
                    break
                token, logprob = item
                generated.append(token)
                text = self._runtime.tokenizer.decode(generated)
                # Hold back text that ends inside a UTF-8 character.
                piece = "" if text.endswith("\ufffd") else text[len(shown):]
                shown += piece
                yield Piece(piece, token, logprob)
                self._requests.put(True)
            if self._error is not None:
                raise self._error
        finally:
            self._requests.put(False)
            worker.join()
