"""KV-cache decode loop over an ONNX decoder session (Genloom GGUF builds, optimum, onnx-community).

    dec = Decoder(session, n_kv_heads=3, head_dim=64, context=8192)
    conv = dec.conversation()
    for token in dec.generate(conv, prompt_ids, sampler, max_new_tokens=128, eos_ids=[2]):
        ...
    # next turn: pass the whole new prompt; only the ids after the common prefix are run.
    for token in dec.generate(conv, longer_prompt_ids, sampler): ...

Inputs are cast to the dtypes the session declares; `position_ids` is fed only when the graph has it.
IOBinding keeps the cache as OrtValues: no per-token numpy copy of the cache.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np
import onnxruntime as ort

from models.runtime.errors import BadInput, ModelError

from .kv_cache import CacheLayout, KVCache

PAST = (re.compile(r"^past_key_values\.(\d+)\.(key|value)$"), re.compile(r"^past\.(\d+)\.(key|value)$"),
        re.compile(r"^past_(key|value)_(\d+)$"))
PRESENT = (re.compile(r"^present\.(\d+)\.(key|value)$"), re.compile(r"^present_key_values\.(\d+)\.(key|value)$"),
           re.compile(r"^present_(key|value)_(\d+)$"))
DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
          "tensor(int32)": np.int32, "tensor(bool)": np.bool_}
SHARED_KEY = "genloom.kv_shared_buffer"


def session_options(threads: int = 2, spin: bool = False) -> ort.SessionOptions:
    """Options for a decoder session. Thread spinning off: with several hundred small ops per token,
    spinning workers fight the app (and anything else running) for the cores; measured on the
    2-core test machine under load, SmolLM2 decode went from ~19 to ~38 tok/s with it off."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return options


def _match(patterns, name):
    """(layer, part) for a cache input/output name, or None."""
    for pattern in patterns:
        m = pattern.match(name)
        if m:
            a, b = m.groups()
            return (int(a), b) if a.isdigit() else (int(b), a)
    return None


def cache_layout(session, n_kv_heads: int | None = None, head_dim: int | None = None,
                 shared: bool | None = None) -> CacheLayout:
    """Find the past/present names of a decoder session and check their shape against the config."""
    past = {_match(PAST, i.name): i for i in session.get_inputs() if _match(PAST, i.name)}
    present = {_match(PRESENT, o.name): o.name for o in session.get_outputs() if _match(PRESENT, o.name)}
    if not past:
        raise ModelError("The decoder graph has no past_key_values inputs (export it with the KV cache)")
    if set(past) != set(present):
        raise ModelError("The decoder graph's past_key_values inputs do not match its present outputs")
    keys = sorted(past, key=lambda lp: (lp[0], lp[1] != "key"))
    first = past[keys[0]]
    dims = list(first.shape) if first.shape else []
    if len(dims) != 4:
        raise ModelError(f"past_key_values has rank {len(dims)}; expected (batch, kv_heads, seq, head_dim)")
    for label, declared, wanted in (("kv heads", dims[1], n_kv_heads), ("head_dim", dims[3], head_dim)):
        if isinstance(declared, int) and wanted is not None and declared != wanted:
            raise ModelError(f"past_key_values has {declared} {label} but the model config says {wanted}")
    kv = dims[1] if isinstance(dims[1], int) else n_kv_heads
    hd = dims[3] if isinstance(dims[3], int) else head_dim
    if kv is None or hd is None:
        raise ModelError("Cannot tell the KV cache shape: the graph leaves it open and no config gives it")
    if shared is None:
        meta = session.get_modelmeta().custom_metadata_map
        shared = meta.get(SHARED_KEY) == "1"
    return CacheLayout(past=[past[k].name for k in keys], present=[present[k] for k in keys], kv_heads=int(kv),
                       head_dim=int(hd), dtype=DTYPES.get(first.type, np.float32), shared=bool(shared))


@dataclass
class Conversation:
    """One chat's state: the ids whose keys/values are cached, and the cache itself."""

    cache: KVCache
    tokens: list[int] = field(default_factory=list)

    def reset(self) -> None:
        self.cache.start()
        self.tokens = []


class Greedy:
    """The default picker: the most likely token."""

    def sample(self, logits, history=()) -> int:
        return int(np.argmax(logits))


class Decoder:
    """Runs a decoder graph one chunk of tokens at a time against a Conversation's cache."""

    def __init__(self, session: ort.InferenceSession, n_kv_heads: int | None = None, head_dim: int | None = None,
                 context: int | None = None, shared: bool | None = None):
        self.session = session
        inputs = {i.name: i for i in [*session.get_inputs(), *session.get_overridable_initializers()]}
        if "input_ids" not in inputs:
            raise ModelError("The decoder graph has no input_ids input")
        outputs = [o.name for o in session.get_outputs()]
        if "logits" not in outputs:
            raise ModelError("The decoder graph has no logits output")
        self.layout = cache_layout(session, n_kv_heads, head_dim, shared)
        self.types = {name: DTYPES.get(i.type, np.int64) for name, i in inputs.items()}
        self.context = context
        logits = session.get_outputs()[outputs.index("logits")]
        vocab = logits.shape[-1] if logits.shape else None
        self.vocab = vocab if isinstance(vocab, int) else None  # None: let onnxruntime allocate logits
        self.logits_dtype = DTYPES.get(logits.type, np.float32)
        self.io = session.io_binding()
        self._step_logits = None  # (1, 1, V) buffer reused by single-token steps
        self._step_logits_value = None
        self._bound_values = None  # the cache OrtValues currently bound (rebinding only when they change)
        self._bound_one_row = None
        self._alive: dict[str, np.ndarray] = {}

    def conversation(self) -> Conversation:
        cache = KVCache(self.layout)
        cache.start()
        return Conversation(cache)

    # ---- one forward pass ------------------------------------------------------------------------
    def feed(self, conv: Conversation, ids: list[int]) -> np.ndarray:
        """Run `ids` after the cached ones; returns the logits of the last id, (V,) float32."""
        if not ids:
            raise BadInput("Nothing to feed: the prompt is empty")
        cache = conv.cache
        start, n = cache.length, len(ids)
        total = start + n
        if self.context and total > self.context:
            raise BadInput(f"The conversation needs {total} tokens but the model's context is {self.context}")
        io = self.io
        self._bind(io, "input_ids", np.asarray([ids]))  # (1, S)
        if "attention_mask" in self.types:
            self._bind(io, "attention_mask", np.ones((1, total)))  # (1, T)
        if "position_ids" in self.types:
            self._bind(io, "position_ids", np.arange(start, total)[None])  # (1, S)
        if "logits_to_keep" in self.types:  # Genloom graphs: skip the head for all but the last id
            self._bind(io, "logits_to_keep", np.array([1]))
        if "use_cache_branch" in self.types:
            self._bind(io, "use_cache_branch", np.array([start > 0]))
        lay = self.layout
        cache.ensure(total)
        one_row = (n == 1 or "logits_to_keep" in self.types) and self.vocab is not None
        if self._bound_values is not cache.values or self._bound_one_row != one_row:
            # (re)bind logits first so it stays output 0, then the cache; shared buffers stay bound
            if one_row:
                io.bind_ortvalue_output("logits", self._logits_buffer())
            else:
                io.bind_output("logits", "cpu")
            for past, present, value in zip(lay.past, lay.present, cache.values):
                io.bind_ortvalue_input(past, value)
                if lay.shared:
                    io.bind_ortvalue_output(present, value)  # written in place
                else:
                    io.bind_output(present, "cpu")
            self._bound_values, self._bound_one_row = cache.values, one_row
        elif not one_row:
            io.bind_output("logits", "cpu")  # a fresh (1, S, V) output; the last one would be reused
        self.session.run_with_iobinding(io)
        if not lay.shared:
            outs = io.get_outputs()
            cache.values = list(outs[1:])
        cache.length = total
        conv.tokens.extend(int(t) for t in ids)
        if one_row:
            return self._step_logits[0, -1].astype(np.float32)  # (V,) copy
        return io.get_outputs()[0].numpy()[0, -1].astype(np.float32, copy=False)  # (V,)

    def _bind(self, io, name: str, array: np.ndarray) -> None:
        """Bind a small input as an OrtValue (this also reaches overridable initializers such as
        logits_to_keep); the array is kept alive until the next feed."""
        array = np.ascontiguousarray(array, dtype=self.types[name])
        self._alive[name] = array
        io.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array))

    def _logits_buffer(self):
        if self._step_logits is None:
            self._step_logits = np.zeros((1, 1, self.vocab), self.logits_dtype)  # (1, 1, V)
            self._step_logits_value = ort.OrtValue.ortvalue_from_numpy(self._step_logits)
        return self._step_logits_value

    # ---- prompt handling ---------------------------------------------------------------------------
    def prefill(self, conv: Conversation, prompt_ids: list[int]) -> np.ndarray:
        """Bring the cache to `prompt_ids`, running only what is not cached yet; returns the last logits.
        A prompt that diverges from the cached ids truncates the cache at the first difference."""
        prompt_ids = [int(t) for t in prompt_ids]
        if not prompt_ids:
            raise BadInput("The prompt is empty")
        common = 0
        for a, b in zip(conv.tokens, prompt_ids):
            if a != b:
                break
            common += 1
        if common == len(prompt_ids):  # fully cached: re-run the last id to get its logits
            common -= 1
        if common < len(conv.tokens):
            conv.cache.truncate(common)
            del conv.tokens[common:]
        return self.feed(conv, prompt_ids[common:])

    def generate(self, conv: Conversation, prompt_ids: list[int], sampler=None, max_new_tokens: int = 256,
                 eos_ids: Iterable[int] = (), stop: Iterable[str] = (),
                 text_of: Callable[[int], str] | None = None) -> Iterator[int]:
        """Yield new token ids one at a time. Stops at an eos id (not yielded), after a token whose
        text (via `text_of`, e.g. a streaming detokenizer's push) completes a stop string, at
        `max_new_tokens`, or at the end of the context. The last yielded token is not fed until the
        next turn, so a follow-up prompt that starts with this turn's ids reuses the whole cache."""
        sampler = sampler or Greedy()
        pick = sampler.sample if hasattr(sampler, "sample") else sampler
        eos = set(int(e) for e in eos_ids)
        stops = [s for s in stop if s]
        tail, keep = "", max((len(s) for s in stops), default=0)
        logits = self.prefill(conv, prompt_ids)
        history = list(prompt_ids)
        for step in range(max_new_tokens):
            if step:
                logits = self.feed(conv, [token])
            token = int(pick(logits, history))
            if token in eos:
                return
            yield token
            history.append(token)
            if stops and text_of is not None:
                tail = (tail + text_of(token))[-(keep + 64):]
                if any(s in tail for s in stops):
                    return
            if self.context and conv.cache.length + 1 > self.context:
                return
