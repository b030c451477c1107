"""Beam-search answers for the chat job: beam.beam_search driven on a helper thread so the job keeps
yielding Progress (and a cancel stops it within one step), then the best beam streamed as tokens."""
from __future__ import annotations

import queue
import threading

import numpy as np

from models.runtime.events import Partial, Progress

from .beam import BeamSettings, beam_search
from .detokenize import Detokenizer

INSPECT_TOP = 10


class _Stopped(Exception):
    """The job was closed (cancelled) while the beams were running."""


def top_candidates(logits: np.ndarray, engine, k: int = INSPECT_TOP) -> list[dict]:
    """The k most likely next tokens of one row with their probabilities (beam search has no sampler stages)."""
    x = np.asarray(logits, dtype=np.float64)  # (V,)
    probs = np.exp(x - x.max())
    probs /= probs.sum()
    top = np.argsort(-x, kind="stable")[:k]
    return [{"id": int(i), "piece": engine.piece(int(i)), "logit": float(x[i]), "prob": float(probs[i]),
             "stages": {}, "survives": True} for i in top]


def beam_answer(request, engine, state, prompt_ids, logits, seed):
    """Yields Progress per beam step, then the best beam's tokens; returns (text, tokens, None, reason, extra):
    the first token appears only when the search is over, so time to first token is the whole run."""
    settings = BeamSettings(num_beams=request.beams, max_new_tokens=request.max_tokens,
                            length_penalty=float(request.length_penalty), eos_ids=sorted(engine.eos_ids))
    settings.validate()
    prompt = list(prompt_ids)
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    record: dict[tuple, list] = {}  # generated prefix -> candidates for the next token (inspector)
    outcome: list = []

    def step(rows, parents, states):
        if stop.is_set():
            raise _Stopped()
        if parents is None:  # rows == [prompt]: the prompt was already fed
            if request.inspect:
                record[()] = top_candidates(logits, engine)
            return np.array(logits)[None, :], [state]
        forks, out = [], []
        for row, parent in zip(rows, parents):
            fork = engine.fork(states[parent])
            if len(fork.tokens) + 1 > engine.context:
                raise _Stopped()
            out.append(np.array(engine.feed(fork, [row[-1]])))  # (V,), copied: the decoder reuses its buffer
            forks.append(fork)
            if request.inspect:
                record[tuple(row[len(prompt):])] = top_candidates(out[-1], engine)
        events.put(len(rows[0]) - len(prompt))
        return np.stack(out), forks  # (n, V)

    def work():
        try:
            outcome.append(beam_search(step, prompt, settings))
        except BaseException as exc:  # handed back to the job's thread
            outcome.append(exc)
        finally:
            events.put(None)

    thread = threading.Thread(target=work, daemon=True, name="genloom-beams")
    thread.start()
    try:
        while (done := events.get()) is not None:
            yield Progress(done, request.max_tokens, "beam search")
    finally:
        stop.set()
        thread.join()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    best = result.best
    tokens = [t for t in best.tokens if t not in engine.eos_ids]
    reason = "eos" if best.finished_on_eos else "length"
    beams = [{"text": engine.tokenizer.decode([t for t in b.tokens if t not in engine.eos_ids], skip_special=True),
              "score": round(float(b.score), 4), "tokens": len(b.tokens)} for b in result.beams]
    detok = Detokenizer(engine.tokenizer, strip_leading_space=engine.tokenizer.strip_leading_space)
    text = ""
    for index, token in enumerate(tokens):
        piece = detok.push(token) + (detok.flush() if index == len(tokens) - 1 else "")
        cut = _cut(text + piece, request.stop)
        if cut is not None:
            piece, reason = cut[len(text):], "stop"
        text += piece
        inspected = None
        if request.inspect:
            inspected = {"candidates": record.get(tuple(best.tokens[:index]), []), "picked": token, "beams": beams}
        yield Partial("token", {"text": piece, "id": token, "index": index, "piece": engine.piece(token),
                                "inspect": inspected})
        if reason == "stop":
            tokens = tokens[:index + 1]
            break
    return text, tokens, None, reason, {"beams": beams}  # no token shows before the search ends


def _cut(text: str, stops) -> str | None:
    """text up to the first stop string, or None when none occurs."""
    hits = [text.find(s) for s in stops if s and s in text]
    return text[:min(hits)] if hits else None
