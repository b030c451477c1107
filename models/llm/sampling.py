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

from models.runtime.errors import BadInput


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
        if self.penalty == 1.0 or self.last_n == 0 or len(history) == 0:
            return logits
        window = history if self.last_n < 0 else history[-self.last_n:]
        seen = np.unique(np.asarray(window, dtype=np.int64))
        seen = seen[(seen >= 0) & (seen < logits.shape[-1])]
        out = np.array(logits, dtype=np.float64)
        picked = out[seen]
        out[seen] = np.where(picked > 0, picked / self.penalty, picked * self.penalty)
        return out


@dataclass
class TopK:
    """Keep the k highest logits (tokens tied with the k-th are kept too, as transformers does)."""

    k: int

    def __call__(self, logits, history=()):
        if self.k <= 0 or self.k >= logits.shape[-1]:
            return logits
        kth = np.partition(logits, -self.k)[-self.k]
        return np.where(logits >= kth, logits, -np.inf)


@dataclass
class TopP:
    """Nucleus: keep the smallest set of most likely tokens whose probabilities add up to at least p
    (never fewer than one)."""

    p: float

    def __call__(self, logits, history=()):
        if self.p >= 1.0:
            return logits
        probs = softmax(logits)
        order = np.argsort(-probs, kind="stable")  # most likely first
        cumulative = np.cumsum(probs[order])
        n_keep = int(np.searchsorted(cumulative, self.p, side="left")) + 1
        out = np.full_like(logits, -np.inf, dtype=np.float64)
        keep = order[:min(n_keep, len(order))]
        out[keep] = logits[keep]
        return out


@dataclass
class MinP:
    """Keep tokens whose probability is at least min_p times the best token's."""

    min_p: float

    def __call__(self, logits, history=()):
        if self.min_p <= 0.0:
            return logits
        probs = softmax(logits)
        return np.where(probs >= self.min_p * probs.max(), logits, -np.inf)


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
        probs = softmax(logits)
        cumulative = np.cumsum(probs)
        index = int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1], side="right"))
        index = min(index, len(probs) - 1)
        while probs[index] == 0.0:  # float round-off at the top end: step back to a real token
            index -= 1
        return index


@dataclass
class SamplerChain:
    """Filters applied in order, then a picker."""

    filters: list = field(default_factory=list)
    picker: object = field(default_factory=Greedy)

    def filter(self, logits, history=()) -> np.ndarray:
        x = np.asarray(logits, dtype=np.float64).reshape(-1)  # (V,)
        for stage in self.filters:
            x = stage(x, history)
        return x

    def sample(self, logits, history=()) -> int:
        return self.picker(self.filter(logits, history))


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
