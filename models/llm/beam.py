"""Beam search over a step callback, with Hugging Face `generate(num_beams=...)` semantics.

The callback runs the model on the running beams::

    def step(rows, parents, state):
        # rows: one token list per running beam (prompt + generated so far)
        # parents: None on the first call (rows == [prompt]); afterwards parents[i] is the row index in
        #          the previous call that rows[i] extends (reorder a KV cache with it, then feed rows[i][-1])
        # returns (logits (len(rows), V), new_state)

    result = beam_search(step, prompt_ids, BeamSettings(num_beams=4, max_new_tokens=32, eos_ids=[2]))
    result.best.tokens   # generated ids (ending with the eos id when it stopped on one)
    result.beams         # all finished hypotheses, best first (for the inspector)

Scores follow transformers: a hypothesis' score is its summed log-probability divided by
(generated length including eos) ** length_penalty; candidates are the top 2*num_beams
continuations of all beams; early_stopping is True, False (heuristic) or "never".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.runtime.errors import BadInput

NEG = -1.0e9  # transformers' "impossible" score


@dataclass
class BeamSettings:
    num_beams: int = 4
    max_new_tokens: int = 32
    length_penalty: float = 1.0
    early_stopping: bool | str = False
    eos_ids: list[int] = field(default_factory=list)

    def validate(self) -> "BeamSettings":
        if not isinstance(self.num_beams, int) or not 1 <= self.num_beams <= 64:
            raise BadInput(f"The number of beams must be from 1 to 64, not {self.num_beams}")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise BadInput(f"max_new_tokens must be 1 or more, not {self.max_new_tokens}")
        if self.early_stopping not in (True, False, "never"):
            raise BadInput(f"early_stopping must be true, false or 'never', not {self.early_stopping!r}")
        if not -10 <= float(self.length_penalty) <= 10:
            raise BadInput(f"The length penalty must be between -10 and 10, not {self.length_penalty}")
        return self


@dataclass
class Beam:
    tokens: list[int]      # generated ids only
    logprob: float         # summed log-probability of the generated ids
    score: float           # logprob / len(tokens) ** length_penalty
    finished_on_eos: bool = False


@dataclass
class BeamResult:
    best: Beam
    beams: list[Beam]      # finished hypotheses, best first
    steps: int             # model calls made


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)  # (n, V)
    top = x.max(axis=-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=-1, keepdims=True))


def beam_search(step, prompt_ids, settings: BeamSettings, state=None) -> BeamResult:
    """Run beam search from `prompt_ids`; see the module docstring for the callback."""
    settings.validate()
    num_beams, lp = settings.num_beams, float(settings.length_penalty)
    eos = {int(i) for i in settings.eos_ids}
    prompt = [int(i) for i in prompt_ids]
    keep = max(2, 1 + len(eos)) * num_beams           # candidates looked at per step
    running: list[tuple[list[int], float]] = [([], 0.0)]  # (generated ids, summed logprob)
    rows, parents = [prompt], None
    finished: list[Beam] = []                          # at most num_beams, best first
    improvable = True
    steps = 0
    for t in range(settings.max_new_tokens):
        logits, state = step(rows, parents, state)
        steps += 1
        logits = np.asarray(logits, dtype=np.float64).reshape(len(rows), -1)  # (n, V)
        vocab = logits.shape[1]
        totals = log_softmax(logits) + np.array([s for _, s in running])[:, None]  # (n, V)
        flat = totals.reshape(-1)
        k = min(keep, flat.size)
        top = np.argpartition(-flat, k - 1)[:k]
        top = top[np.argsort(-flat[top], kind="stable")]  # best first
        gen_len = t + 1
        last_step = gen_len == settings.max_new_tokens
        full = len(finished) == num_beams and settings.early_stopping is True
        next_running, next_parents = [], []
        for rank, index in enumerate(top):
            beam, token, total = int(index // vocab), int(index % vocab), float(flat[index])
            tokens = running[beam][0] + [token]
            if token in eos or last_step:
                if rank < num_beams and improvable and not full:
                    finished.append(Beam(tokens, total, total / gen_len ** lp, token in eos))
            elif len(next_running) < num_beams:
                next_running.append((tokens, total))
                next_parents.append(beam)
        finished = sorted(finished, key=lambda b: b.score, reverse=True)[:num_beams]
        if last_step or not next_running:
            break
        running, parents = next_running, next_parents
        rows = [prompt + tokens for tokens, _ in running]
        best_len = settings.max_new_tokens if settings.early_stopping == "never" and lp > 0 else gen_len
        if len(finished) == num_beams:
            improvable = improvable and running[0][1] / best_len ** lp > finished[-1].score
        if not improvable or (settings.early_stopping is True and len(finished) == num_beams):
            break
    if not finished:  # every candidate was eos-free and we ran out of steps in an odd callback
        finished = [Beam(tokens, s, s / max(1, len(tokens)) ** lp) for tokens, s in running]
    return BeamResult(best=finished[0], beams=finished, steps=steps)
