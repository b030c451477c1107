"""What the chat job keeps between turns on one worker: loaded engines and per-conversation KV caches.

`cache_of(ctx)` returns the ChatCache stored on the Context (created on first use). An Engine wraps a
decoder model folder: tokenizer, chat template, end-of-turn ids, context length, and the
`models.llm.decoder.Decoder` whose `Conversation`s hold the KV caches (`feed`, `reuse`, `fork`).
"""
from __future__ import annotations

from collections import OrderedDict
import numpy as np
import onnxruntime as ort

from models.runtime.errors import ModelError

from .decoder import Conversation, Decoder
from .tokenizer import load_tokenizer

MAX_CONVERSATIONS = 4  # KV caches kept in memory (least recently used dropped first)
DEFAULT_CONTEXT = 2048


class Engine:
    """A loaded chat model: tokenizer + the KV-cache Decoder over its ONNX graph."""

    def __init__(self, manifest, sessions):
        self.manifest = manifest
        params = manifest.params
        session = sessions.get(manifest.path("model"))
        self.tokenizer = load_tokenizer(manifest.folder, model_vocab_size=params.get("vocab"))
        self.chat_template = params.get("chat_template") or self.tokenizer.chat_template
        self.eos_ids = set(params.get("eos_token_ids") or self.tokenizer.eos_ids)
        if not self.eos_ids:
            raise ModelError(f"Model '{manifest.name}' names no end-of-sequence token.")
        self.context = int(params.get("context") or DEFAULT_CONTEXT)
        self.add_bos = bool(params.get("add_bos", self.tokenizer.add_bos))
        self.decoder = Decoder(session, params.get("n_kv_heads"), params.get("head_dim"), self.context,
                               shared=manifest.io.get("kv_shared_buffer"))

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
    def new_state(self) -> Conversation:
        return self.decoder.conversation()

    def reuse(self, state: Conversation, ids: list[int]) -> int:
        """Crop the cache to the longest prefix shared with `ids` (at least one id left to feed)."""
        shared = 0
        limit = min(len(state.tokens), len(ids) - 1)
        while shared < limit and state.tokens[shared] == ids[shared]:
            shared += 1
        if shared < len(state.tokens):
            state.cache.truncate(shared)
            del state.tokens[shared:]
        return shared

    def feed(self, state: Conversation, ids: list[int]) -> np.ndarray:
        """Run the new ids on top of the cache; the last position's logits (V,), valid until the next feed."""
        return self.decoder.feed(state, ids)

    def fork(self, state: Conversation) -> Conversation:
        """An independent copy (beam search: two beams continuing from the same parent)."""
        fork = self.decoder.conversation()
        cache, source = fork.cache, state.cache
        if source.layout.shared:  # the op writes these buffers in place: copy them
            cache.arrays = [a.copy() for a in source.arrays]
            cache.values = [ort.OrtValue.ortvalue_from_numpy(a) for a in cache.arrays]
        else:  # each run returns new OrtValues, so sharing the current ones is safe
            cache.values, cache.arrays = list(source.values), list(source.arrays)
        cache.length = source.length
        fork.tokens = list(state.tokens)
        return fork


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

    def state(self, conversation_id, model: str, engine: Engine) -> Conversation:
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
    return ctx.state.setdefault("chat", ChatCache())
