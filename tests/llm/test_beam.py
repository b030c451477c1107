"""Beam search on a hand-computed fake model, and against transformers generate(num_beams=...) (heavy)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from models.llm.beam import BeamSettings, beam_search
from models.runtime.errors import BadInput

EOS, A, B, C = 0, 1, 2, 3
# next-token probabilities given the last token (a Markov "model"); prompt ends with token 9
TABLE = {
    9: [1e-12, 0.5, 0.4, 0.1],
    A: [0.3, 0.35, 0.25, 0.1],
    B: [0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3],
    C: [0.25, 0.25, 0.25, 0.25],
}


def make_step(calls):
    def step(rows, parents, state):
        calls.append(([list(r) for r in rows], parents))
        return np.log(np.array([TABLE[r[-1]] for r in rows])), (state or 0) + 1
    return step


@pytest.mark.parametrize("early_stopping", [True, False])
def test_hand_computed_two_beams(early_stopping):
    calls = []
    result = beam_search(make_step(calls), [9], BeamSettings(num_beams=2, max_new_tokens=10, eos_ids=[EOS],
                                                              early_stopping=early_stopping))
    # step 1 keeps A (.5) and B (.4); step 2: B-eos (.36) finishes, A-A (.175) and A-B (.125) run on
    # (A-eos .15 ranks 3rd of 4 and is not finalised); step 3: A-B-eos (.1125) finishes -> done.
    assert result.best.tokens == [B, EOS] and result.best.finished_on_eos
    assert math.isclose(result.best.score, math.log(0.36) / 2)
    assert [b.tokens for b in result.beams] == [[B, EOS], [A, B, EOS]]
    assert math.isclose(result.beams[1].score, math.log(0.5 * 0.25 * 0.9) / 3)
    assert result.steps == 3
    assert calls[0] == ([[9]], None)
    assert calls[1] == ([[9, A], [9, B]], [0, 0])
    assert calls[2] == ([[9, A, A], [9, A, B]], [0, 0])


def test_length_penalty_and_max_tokens():
    result = beam_search(make_step([]), [9], BeamSettings(num_beams=2, max_new_tokens=1, eos_ids=[EOS]))
    assert [b.tokens for b in result.beams] == [[A], [B]]
    assert math.isclose(result.best.logprob, math.log(0.5)) and not result.best.finished_on_eos
    result = beam_search(make_step([]), [9], BeamSettings(num_beams=2, max_new_tokens=10, eos_ids=[EOS],
                                                          length_penalty=0.0, early_stopping=True))
    assert result.best.tokens == [B, EOS] and math.isclose(result.best.score, math.log(0.36))
    one = beam_search(make_step([]), [9], BeamSettings(num_beams=1, max_new_tokens=3, eos_ids=[EOS]))
    assert one.best.tokens == [A, A, A]  # one beam = greedy


def test_bad_settings():
    for settings in (BeamSettings(num_beams=0), BeamSettings(max_new_tokens=0), BeamSettings(early_stopping="x")):
        with pytest.raises(BadInput):
            beam_search(make_step([]), [9], settings)


@pytest.mark.heavy
@pytest.mark.parametrize("early_stopping,length_penalty", [(False, 1.0), (True, 1.0), ("never", 0.5), (False, 2.0)])
def test_against_transformers_generate(early_stopping, length_penalty):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    config = transformers.GPT2Config(vocab_size=40, n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                     bos_token_id=None, eos_token_id=None, pad_token_id=0)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        model.transformer.wte.weight.mul_(8.0)  # peakier distributions so beams differ and eos gets picked
    prompt = [5, 17, 3]

    def step(rows, parents, state):
        with torch.no_grad():
            return model(torch.tensor(rows)).logits[:, -1].double().numpy(), state

    free = beam_search(step, prompt, BeamSettings(num_beams=4, max_new_tokens=8))
    eos = free.best.tokens[3]  # a token the search likes, so some beams end on it
    settings = BeamSettings(num_beams=4, max_new_tokens=8, eos_ids=[eos], early_stopping=early_stopping,
                            length_penalty=length_penalty)
    ours = beam_search(step, prompt, settings)
    out = model.generate(torch.tensor([prompt]), num_beams=4, num_return_sequences=4, max_new_tokens=8,
                         do_sample=False, eos_token_id=eos, pad_token_id=0, early_stopping=early_stopping,
                         length_penalty=length_penalty, output_scores=True, return_dict_in_generate=True)
    theirs = []
    for seq in out.sequences.tolist():
        gen = seq[len(prompt):]
        if eos in gen:
            gen = gen[:gen.index(eos) + 1]
        theirs.append(gen)
    assert [b.tokens for b in ours.beams] == theirs
    assert np.allclose([b.score for b in ours.beams], out.sequences_scores.double().numpy(), atol=1e-4)
