"""What the chat job keeps between turns on one worker: loaded engines and per-conversation KV caches.

`cache_of(ctx)` returns the ChatCache stored on the Context (created on first use). An Engine wraps a
decoder model folder: tokenizer, chat template, end-of-turn ids, context length, and the KV-cache
calls the job needs (`feed`, `reuse`, `fork`).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from models.runtime.errors import ModelError

from .tokenizer import load_tokenizer

MAX_CONVERSATIONS = 4  # KV caches kept in memory (least recently used dropped first)
DEFAULT_CONTEXT = 2048


@dataclass
class State:
    """One sequence's KV cache: `tokens` are the ids whose keys/values it holds."""

    tokens: list = field(default_factory=list)
    past: dict = field(default_factory=dict)  # input name -> (1, n_kv, P, hd) float32


class Engine:
    """A loaded chat model: tokenizer + ONNX decoder with a KV-cache loop (past -> present)."""

    def __init__(self, manifest, sessions):
        self.manifest = manifest
        params = manifest.params
        self.session = sessions.get(manifest.path("model"))
        self.sessions = sessions
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.past_names = [n for n in self.inputs if n.startswith("past_key_values.")]
        self.present_names = [n.replace("past_key_values.", "present.") for n in self.past_names]
        self.outputs = ["logits"] + self.present_names
        vocab = params.get("vocab")
        self.tokenizer = load_tokenizer(manifest.folder, model_vocab_size=vocab)
        self.chat_template = params.get("chat_template") or self.tokenizer.chat_template
        self.eos_ids = set(params.get("eos_token_ids") or self.tokenizer.eos_ids)
        if not self.eos_ids:
            raise ModelError(f"Model '{manifest.name}' names no end-of-sequence token.")
        self.context = int(params.get("context") or DEFAULT_CONTEXT)
        self.add_bos = bool(params.get("add_bos", self.tokenizer.add_bos))
        self._shape = self._kv_shape()

    def _kv_shape(self) -> tuple[int, int]:
        """(n_kv_heads, head_dim) of the cache, from the manifest or the declared input shape."""
        params = self.manifest.params
        if params.get("n_kv_heads") and params.get("head_dim"):
            return int(params["n_kv_heads"]), int(params["head_dim"])
        if not self.past_names:
            raise ModelError(f"Model '{self.manifest.name}' has no past_key_values inputs (not a KV-cache decoder).")
        shape = self.inputs[self.past_names[0]].shape  # (B, n_kv, P, hd)
        if not isinstance(shape[1], int) or not isinstance(shape[3], int):
            raise ModelError(f"Model '{self.manifest.name}': cannot tell its KV cache shape; add n_kv_heads/head_dim.")
        return shape[1], shape[3]

    # ---- text ----------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        ids = self.tokenizer.encode(text)
        bos = self.tokenizer.bos_id
        if self.add_bos and bos is not None and ids[:1] != [bos]:
            ids = [bos] + ids
        return ids

    def piece(self, token_id: int) -> str:
        """How one token reads on its own (for the inspector)."""
        return self.tokenizer.token_bytes(token_id).decode("utf-8", errors="replace")

    # ---- KV cache ------------------------------------------------------------------------------
    def new_state(self) -> State:
        kv, hd = self._shape
        empty = np.zeros((1, kv, 0, hd), np.float32)  # (B, n_kv, P=0, hd)
        return State([], {name: empty for name in self.past_names})

    def reuse(self, state: State, ids: list[int]) -> int:
        """Crop the cache to the longest prefix shared with `ids` (at least one id left to feed)."""
        shared = 0
        limit = min(len(state.tokens), len(ids) - 1)
        while shared < limit and state.tokens[shared] == ids[shared]:
            shared += 1
        if shared < len(state.tokens):
            state.tokens = state.tokens[:shared]
            state.past = {name: value[:, :, :shared, :] for name, value in state.past.items()}
        return shared

    def feed(self, state: State, ids: list[int]) -> np.ndarray:
        """Run the new ids through the model on top of the cache; returns the last position's logits (V,)."""
        done, new = len(state.tokens), len(ids)
        if done + new > self.context:
            raise ModelError(f"The sequence would pass the model's {self.context}-token context.")
        feeds = {"input_ids": np.asarray([ids], np.int64)}  # (1, S)
        if "attention_mask" in self.inputs:
            feeds["attention_mask"] = np.ones((1, done + new), np.int64)  # (1, T)
        if "position_ids" in self.inputs:
            feeds["position_ids"] = np.arange(done, done + new, dtype=np.int64)[None, :]  # (1, S)
        feeds.update(state.past)
        outputs = self.sessions.run(self.session, feeds, self.outputs)
        state.past = dict(zip(self.past_names, outputs[1:]))
        state.tokens = state.tokens + list(ids)
        return outputs[0][0, -1]  # (V,)

    def fork(self, state: State) -> State:
        """An independent copy (beam search: two beams continuing from the same parent)."""
        return State(list(state.tokens), dict(state.past))


class ChatCache:
    """Engines by model folder, KV states by conversation id (LRU)."""

    def __init__(self):
        self.engines: dict[str, Engine] = {}
        self.states: OrderedDict = OrderedDict()

    def engine(self, manifest, sessions) -> Engine:
        key = manifest.folder
        if key not in self.engines:
            self.engines.clear()  # one chat model in memory at a time
            self.states.clear()
            self.engines[key] = Engine(manifest, sessions)
        return self.engines[key]

    def state(self, conversation_id, model: str, engine: Engine) -> State:
        """The conversation's cached state, or a fresh one (never cached when conversation_id is None)."""
        if conversation_id is None:
            return engine.new_state()
        key = (conversation_id, model)
        if key not in self.states:
            self.states[key] = engine.new_state()
            while len(self.states) > MAX_CONVERSATIONS:
                self.states.popitem(last=False)
        self.states.move_to_end(key)
        return self.states[key]

    def forget(self, conversation_id) -> None:
        for key in [k for k in self.states if k[0] == conversation_id]:
            del self.states[key]


def cache_of(ctx) -> ChatCache:
    """The ChatCache living on this Context (the worker keeps its Context between jobs)."""
    return ctx.__dict__.setdefault("chat_cache", ChatCache())
