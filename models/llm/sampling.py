"""llama.cpp-style sampler chain: small filters over one logits row, then a picker.

Usage::

    settings = SamplerSettings(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, seed=1)
    chain = build_chain(settings)          # validates, raises BadInput on absurd values
    token = chain.sample(logits, history)  # logits: (V,) float, history: prompt + generated ids

Every filter is callable as `filter(logits, history) -> logits` and marks dropped tokens with -inf.
The chain order is llama.cpp's: repetition penalty -> top-k -> top-p -> min-p -> temperature -> pick,
so the filters see temperature-1 probabilities. `inspect()` reports what each stage did for the
token inspector.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from models.runtime.errors import BadInput, ModelError


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities of a (V,) logits row; -inf entries get 0."""
    x = np.asarray(logits, dtype=np.float64)
    top = np.max(x)
    if not np.isfinite(top):
        raise BadInput("Every token was filtered out: loosen the sampler settings")
    e = np.exp(x - top)  # (V,)
    return e / e.sum()


@dataclass
class SamplerSettings:
    """What the chat panel exposes. temperature 0 means greedy; top_k 0, top_p 1, min_p 0 and
    repeat_penalty 1 switch their stage off; repeat_last_n -1 means the whole history."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    seed: int | None = None

    def validate(self) -> "SamplerSettings":
        """Raise BadInput (one line) for a value no sampler can use; return self."""
        def number(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise BadInput(f"{name} must be a number, not {value!r}")
            return value

        def integer(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise BadInput(f"{name} must be a whole number, not {value!r}")
            return int(value)

        if not 0 <= number("temperature") <= 100:
            raise BadInput(f"Temperature must be between 0 and 100, not {self.temperature}")
        if integer("top_k") < 0:
            raise BadInput(f"top_k must be 0 (off) or more, not {self.top_k}")
        if not 0 < number("top_p") <= 1:
            raise BadInput(f"top_p must be above 0 and at most 1, not {self.top_p}")
        if not 0 <= number("min_p") <= 1:
            raise BadInput(f"min_p must be between 0 and 1, not {self.min_p}")
        if not 0 < number("repeat_penalty") <= 10:
            raise BadInput(f"Repeat penalty must be above 0 and at most 10, not {self.repeat_penalty}")
        if integer("repeat_last_n") < -1:
            raise BadInput(f"repeat_last_n must be -1 (all), 0 (off) or more, not {self.repeat_last_n}")
        if self.seed is not None and not 0 <= integer("seed") < 2**63:
            raise BadInput(f"The seed must be a whole number from 0 to 2^63-1, not {self.seed}")
        return self


@dataclass
class RepetitionPenalty:
    """CTRL / llama.cpp penalty: for tokens seen in the last `last_n` ids, positive logits are divided
    by `penalty` and the others multiplied by it (each token once, however often it appeared)."""

    penalty: float
    last_n: int = 64  # -1: whole history

    def __call__(self, logits, history=()):
        return self.apply_inplace(np.array(logits, dtype=np.float64), history)

    def apply_inplace(self, x: np.ndarray, history=()) -> np.ndarray:
        """Penalise `x` (V,) in place and return it."""
        if self.penalty == 1.0 or self.last_n == 0 or len(history) == 0:
            return x
        window = history if self.last_n < 0 else history[-self.last_n:]
        seen = np.unique(np.asarray(window, dtype=np.int64))
        seen = seen[(seen >= 0) & (seen < x.shape[-1])]
        picked = x[seen]
        x[seen] = np.where(picked > 0, picked / self.penalty, picked * self.penalty)
        return x


@dataclass
class TopK:
    """Keep the k highest logits (tokens tied with the k-th are kept too, as transformers does)."""

    k: int

    def keep_ids(self, logits, scratch: np.ndarray | None = None) -> np.ndarray | None:
        """Ids of the survivors, or None when nothing is dropped. `scratch` (same shape and dtype)
        avoids allocating a copy for the partial sort."""
        if self.k <= 0 or self.k >= logits.shape[-1]:
            return None
        if scratch is None:
            scratch = logits.copy()
        else:
            np.copyto(scratch, logits)
        scratch.partition(-self.k)
        return np.flatnonzero(logits >= scratch[-self.k])

    def __call__(self, logits, history=()):
        keep = self.keep_ids(logits)
        return logits if keep is None else _scatter(keep, logits[keep], logits.shape[-1])


def _finite(logits: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Ids (None = all of them) and float64 probabilities of the tokens still in play
    (earlier filters set the others to -inf)."""
    top = logits.max() if logits.size else -np.inf
    if not top > -np.inf:
        raise BadInput("Every token was filtered out: loosen the sampler settings")
    ids = None if logits.min() > -np.inf else np.flatnonzero(logits > -np.inf)  # (n,)
    probs = np.subtract(logits if ids is None else logits[ids], top, dtype=np.float64)
    np.exp(probs, out=probs)
    probs /= probs.sum()
    return ids, probs


@dataclass
class TopP:
    """Nucleus: keep the smallest set of most likely tokens whose probabilities add up to at least p
    (never fewer than one)."""

    p: float

    def __call__(self, logits, history=()):
        if self.p >= 1.0:
            return logits
        ids, probs = _finite(logits)
        n, k = probs.size, min(probs.size, 64)
        while True:  # sort only the head of the distribution, widening it until it holds mass p
            head = np.argpartition(probs, n - k)[n - k:] if k < n else np.arange(n)
            head = head[np.argsort(-probs[head], kind="stable")]  # most likely first
            cumulative = np.cumsum(probs[head])
            if cumulative[-1] >= self.p or k >= n:
                break
            k = min(n, k * 8)
        n_keep = min(int(np.searchsorted(cumulative, self.p, side="left")) + 1, head.size)
        keep = head[:n_keep] if ids is None else ids[head[:n_keep]]
        out = np.full(logits.shape, -np.inf)
        out[keep] = logits[keep]
        return out


@dataclass
class MinP:
    """Keep tokens whose probability is at least min_p times the best token's, i.e. whose logit is
    at least max_logit + log(min_p) (no softmax needed)."""

    min_p: float

    def __call__(self, logits, history=()):
        if self.min_p <= 0.0:
            return logits
        top = logits.max()
        if not top > -np.inf:
            raise BadInput("Every token was filtered out: loosen the sampler settings")
        return np.where(logits >= top + math.log(self.min_p), logits, -np.inf)


@dataclass
class Temperature:
    """Divide logits by t (t > 0)."""

    t: float

    def __call__(self, logits, history=()):
        return logits if self.t == 1.0 else np.asarray(logits, dtype=np.float64) / self.t


class Greedy:
    """Pick the most likely token."""

    def __call__(self, logits) -> int:
        return int(np.argmax(logits))


class Dist:
    """Draw from softmax(logits) with a numpy Generator; the same seed gives the same tokens."""

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)

    def __call__(self, logits) -> int:
        ids, probs = _finite(np.asarray(logits))
        cumulative = np.cumsum(probs)
        index = min(int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1], side="right")), probs.size - 1)
        return index if ids is None else int(ids[index])


@dataclass
class SamplerChain:
    """Filters applied in order, then a picker. Once a filter has dropped most of the vocabulary the
    chain carries on with the survivors only (top-k/top-p/min-p/temperature do not care about token
    ids), so a 50k-token row costs about one pass."""

    filters: list = field(default_factory=list)
    picker: object = field(default_factory=Greedy)
    _buffers: dict = field(default_factory=dict, repr=False)

    def _buffer(self, name: str, like: np.ndarray) -> np.ndarray:
        """A reusable (V,) work array: big fresh allocations page-fault on every token."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._buffers[name] = np.empty_like(like)
        return buf

    def _run(self, logits, history) -> tuple[np.ndarray | None, np.ndarray]:
        x = np.asarray(logits).reshape(-1)  # (V,) float32 rows stay float32 until compacted
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if np.isnan(x.max()):
            raise ModelError("The model produced NaN logits: it is broken or ran out of numeric range")
        vocab, ids = x.size, None  # ids: the token id of each entry of x once compacted
        for stage in self.filters:
            if isinstance(stage, RepetitionPenalty):
                if ids is not None:
                    x, ids = _scatter(ids, x, vocab), None
                work = self._buffer("work", x)
                if work is not x:
                    np.copyto(work, x)
                x = stage.apply_inplace(work, history)
                continue
            if isinstance(stage, TopK) and ids is None:  # one pass straight to the survivors
                keep = stage.keep_ids(x, self._buffer("scratch", x))
                if keep is not None:
                    ids, x = keep, x[keep].astype(np.float64)
                continue
            x = stage(x, history)
            if x.size > 64:
                alive = np.flatnonzero(x > -np.inf)
                if alive.size * 4 < x.size:
                    ids, x = (alive if ids is None else ids[alive]), x[alive].astype(np.float64)
        return ids, x

    def filter(self, logits, history=()) -> np.ndarray:
        """The (V,) float64 logits after every filter, dropped tokens at -inf."""
        vocab = np.asarray(logits).size
        ids, x = self._run(logits, history)
        return x.astype(np.float64) if ids is None else _scatter(ids, x, vocab)

    def sample(self, logits, history=()) -> int:
        ids, x = self._run(logits, history)
        index = self.picker(x)
        return int(index if ids is None else ids[index])


def _scatter(ids: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, -np.inf)
    out[ids] = values
    return out


def build_chain(settings: SamplerSettings) -> SamplerChain:
    """The llama.cpp chain for `settings`; temperature 0 gives penalty + greedy."""
    settings.validate()
    filters: list = []
    if settings.repeat_penalty != 1.0 and settings.repeat_last_n != 0:
        filters.append(RepetitionPenalty(settings.repeat_penalty, settings.repeat_last_n))
    if settings.temperature == 0:
        return SamplerChain(filters, Greedy())
    if settings.top_k > 0:
        filters.append(TopK(settings.top_k))
    if settings.top_p < 1.0:
        filters.append(TopP(settings.top_p))
    if settings.min_p > 0.0:
        filters.append(MinP(settings.min_p))
    filters.append(Temperature(settings.temperature))
    return SamplerChain(filters, Dist(settings.seed))


@dataclass
class Candidate:
    """One row of the token inspector."""

    token_id: int
    logit: float
    prob: float                                               # softmax of the raw logits
    stage_probs: dict[str, float] = field(default_factory=dict)  # stage name -> prob after it (0 if dropped)
    survives: bool = False                                    # still selectable after the whole chain


def inspect(logits, settings: SamplerSettings, k: int = 10, history=()) -> list[Candidate]:
    """The k most likely raw candidates and their probability after each stage of the chain,
    in chain order: "penalty", "top_k", "top_p", "min_p", "temperature" (or "greedy")."""
    chain = build_chain(settings)
    raw = np.asarray(logits, dtype=np.float64).reshape(-1)  # (V,)
    top = np.argsort(-raw, kind="stable")[:max(1, int(k))]
    rows = [Candidate(int(i), float(raw[i]), 0.0) for i in top]
    raw_probs = softmax(raw)
    for row in rows:
        row.prob = float(raw_probs[row.token_id])
    names = {RepetitionPenalty: "penalty", TopK: "top_k", TopP: "top_p", MinP: "min_p", Temperature: "temperature"}
    x = raw
    for stage in chain.filters:
        x = stage(x, history)
        probs = softmax(x)
        for row in rows:
            row.stage_probs[names[type(stage)]] = float(probs[row.token_id])
    if isinstance(chain.picker, Greedy):
        best = int(np.argmax(x))
        for row in rows:
            row.stage_probs["greedy"] = 1.0 if row.token_id == best else 0.0
            row.survives = row.token_id == best
    else:
        for row in rows:
            row.survives = bool(np.isfinite(x[row.token_id]))
    return rows
