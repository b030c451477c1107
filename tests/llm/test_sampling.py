"""Sampler chain: each filter against an independent reference definition, plus transformers (heavy)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from models.llm.sampling import (Dist, Greedy, MinP, RepetitionPenalty, SamplerSettings, TopK, TopP, build_chain,
                                 inspect, softmax)
from models.runtime.errors import BadInput, ModelError


def _logits(seed, n=64):
    return np.random.default_rng(seed).normal(size=n) * 3.0


def _kept(x):
    return {i for i, v in enumerate(x) if v != -math.inf}


def _probs(logits):
    m = max(logits)
    e = [math.exp(v - m) for v in logits]
    s = sum(e)
    return [v / s for v in e]


def ref_top_k(logits, k):
    kth = sorted(logits, reverse=True)[k - 1]
    return {i for i, v in enumerate(logits) if v >= kth}


def ref_top_p(logits, p):
    probs = _probs(logits)
    kept, total = set(), 0.0
    for i in sorted(range(len(probs)), key=lambda j: -probs[j]):
        kept.add(i)
        total += probs[i]
        if total >= p:
            break
    return kept


def ref_min_p(logits, min_p):
    probs = _probs(logits)
    return {i for i, q in enumerate(probs) if q >= min_p * max(probs)}


def ref_penalty(logits, history, r, last_n):
    out = list(logits)
    for t in set(history[-last_n:]):
        out[t] = out[t] / r if out[t] > 0 else out[t] * r
    return out


@pytest.mark.parametrize("seed", range(5))
def test_filters_keep_exactly_the_reference_sets(seed):
    x = _logits(seed)
    for k in (1, 2, 7, 40, 63):
        assert _kept(TopK(k)(x)) == ref_top_k(list(x), k)
    for p in (0.05, 0.3, 0.5, 0.9, 0.95, 0.999):
        assert _kept(TopP(p)(x)) == ref_top_p(list(x), p)
    for m in (0.01, 0.05, 0.1, 0.5, 1.0):
        assert _kept(MinP(m)(x)) == ref_min_p(list(x), m)
    history = list(np.random.default_rng(seed + 100).integers(0, 64, size=30))
    for r, n in ((1.3, 10), (0.8, 64), (2.0, 1)):
        assert np.allclose(RepetitionPenalty(r, n)(x, history), ref_penalty(list(x), history, r, n))


def test_edge_cases():
    x = np.array([2.0, 2.0, 1.0, -1.0, -3.0])
    assert _kept(TopK(1)(x)) == {0, 1}                 # ties with the k-th survive
    assert _kept(TopK(0)(x)) == set(range(5))          # 0 = off
    assert _kept(TopP(1e-9)(x)) == {0}                 # always at least one
    assert _kept(MinP(0.0)(x)) == set(range(5))
    pen = RepetitionPenalty(2.0, -1)(x, [0, 0, 3, 99])  # unknown ids ignored, repeats counted once
    assert pen.tolist() == [1.0, 2.0, 1.0, -2.0, -3.0]
    assert np.array_equal(RepetitionPenalty(2.0, 0)(x, [0]), x)


def test_chain_order_and_greedy():
    x = _logits(7)
    history = [int(np.argmax(x))] * 3
    greedy = build_chain(SamplerSettings(temperature=0, repeat_penalty=1.5, repeat_last_n=8))
    assert isinstance(greedy.picker, Greedy)
    expected = int(np.argmax(ref_penalty(list(x), history, 1.5, 8)))
    assert greedy.sample(x, history) == expected != int(np.argmax(x))
    chain = build_chain(SamplerSettings(temperature=0.5, top_k=10, top_p=0.9, min_p=0.05, repeat_penalty=1.1))
    assert [type(f).__name__ for f in chain.filters] == ["RepetitionPenalty", "TopK", "TopP", "MinP", "Temperature"]
    # filters see temperature-1 probabilities: same survivors as the filters alone, then / 0.5
    out = chain.filter(x, [])
    alone = MinP(0.05)(TopP(0.9)(TopK(10)(x)))
    assert _kept(out) == _kept(alone)
    assert np.allclose(out[list(_kept(out))], alone[list(_kept(out))] / 0.5)


def test_dist_is_reproducible_and_follows_the_distribution():
    x = np.log(np.array([0.5, 0.25, 0.15, 0.1, 0.0]) + 1e-300)
    draws = [Dist(seed=3)(x) for _ in range(3)]
    assert len(set(draws)) == 1
    a, b = Dist(seed=11), Dist(seed=11)
    seq_a, seq_b = [a(x) for _ in range(50)], [b(x) for _ in range(50)]
    assert seq_a == seq_b
    c = Dist(seed=12)
    assert seq_a != [c(x) for _ in range(50)]
    picker = Dist(seed=0)
    counts = np.bincount([picker(x) for _ in range(20000)], minlength=5) / 20000
    assert np.allclose(counts, [0.5, 0.25, 0.15, 0.1, 0.0], atol=0.015)
    chain1 = build_chain(SamplerSettings(seed=5))
    chain2 = build_chain(SamplerSettings(seed=5))
    logits = _logits(1)
    assert [chain1.sample(logits) for _ in range(20)] == [chain2.sample(logits) for _ in range(20)]


@pytest.mark.parametrize("changes,message", [
    ({"temperature": -0.1}, "Temperature must be between 0 and 100"),
    ({"temperature": float("nan")}, "temperature must be a number"),
    ({"top_p": 0.0}, "top_p must be above 0 and at most 1"),
    ({"top_p": 1.5}, "top_p must be above 0"),
    ({"top_k": -1}, "top_k must be 0"),
    ({"top_k": 2.5}, "top_k must be a whole number"),
    ({"min_p": 1.1}, "min_p must be between 0 and 1"),
    ({"repeat_penalty": 0}, "Repeat penalty must be above 0"),
    ({"repeat_last_n": -2}, "repeat_last_n must be -1"),
    ({"seed": -5}, "The seed must be a whole number"),
])
def test_absurd_settings_are_bad_input(changes, message):
    with pytest.raises(BadInput, match=message) as info:
        build_chain(SamplerSettings(**changes))
    assert "\n" not in str(info.value)


def test_everything_filtered_is_bad_input_and_nan_is_model_error():
    with pytest.raises(BadInput, match="Every token was filtered out"):
        softmax(np.full(4, -np.inf))
    with pytest.raises(ModelError, match="NaN logits"):
        build_chain(SamplerSettings()).sample(np.array([1.0, np.nan, 0.0]))


def test_inspect_reports_each_stage():
    x = np.array([3.0, 2.5, 2.0, 0.0, -1.0, -2.0])
    rows = inspect(x, SamplerSettings(temperature=2.0, top_k=4, top_p=0.8, min_p=0.2), k=5)
    assert [r.token_id for r in rows] == [0, 1, 2, 3, 4]
    raw = _probs(list(x))
    assert all(math.isclose(r.prob, raw[r.token_id]) for r in rows)
    assert list(rows[0].stage_probs) == ["top_k", "top_p", "min_p", "temperature"]
    top_k = _probs(list(x[:4]))
    assert math.isclose(rows[3].stage_probs["top_k"], top_k[3]) and rows[4].stage_probs["top_k"] == 0.0
    kept = ref_min_p(list(x[sorted(ref_top_p(list(x[:4]), 0.8))]), 0.2)  # indices inside the nucleus
    survivors = {r.token_id for r in rows if r.survives}
    assert survivors == kept
    final = _probs([x[i] / 2.0 for i in sorted(survivors)])
    assert np.allclose([rows[i].stage_probs["temperature"] for i in sorted(survivors)], final)
    greedy = inspect(x, SamplerSettings(temperature=0), k=3)
    assert [r.survives for r in greedy] == [True, False, False] and greedy[0].stage_probs == {"greedy": 1.0}


@pytest.mark.heavy
@pytest.mark.parametrize("seed", range(4))
def test_against_transformers_logits_processors(seed):
    torch = pytest.importorskip("torch")
    gen = pytest.importorskip("transformers.generation.logits_process")
    x = _logits(seed, n=200)
    scores = torch.tensor(x, dtype=torch.float64)[None]

    def theirs(processor, ids=None):
        out = processor(torch.tensor([ids or [0]]), scores.clone())[0].numpy()
        return {i for i, v in enumerate(out) if v != -math.inf}

    for k in (1, 5, 50):
        assert _kept(TopK(k)(x)) == theirs(gen.TopKLogitsWarper(top_k=k))
    for p in (0.1, 0.5, 0.9):
        assert _kept(TopP(p)(x)) == theirs(gen.TopPLogitsWarper(top_p=p))
    for m in (0.01, 0.1, 0.5):
        assert _kept(MinP(m)(x)) == theirs(gen.MinPLogitsWarper(min_p=m))
    history = list(np.random.default_rng(seed).integers(0, 200, size=40))
    ours = RepetitionPenalty(1.3, -1)(x, history)
    ref = gen.RepetitionPenaltyLogitsProcessor(penalty=1.3)(torch.tensor([history]), scores.clone())[0].numpy()
    assert np.allclose(ours, ref)
