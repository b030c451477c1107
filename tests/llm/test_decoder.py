"""The KV-cache decode loop: cached decoding equals re-running the whole sequence, follow-up turns
feed only their new tokens, stop conditions, and graph variants (no position_ids, feedback cache)."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from models.llm.decoder import Decoder
from models.llm.gguf_import import convert_gguf
from models.runtime.errors import BadInput, ModelError
from tests.llm.gguf_tiny import HD, KV, write_tiny_gguf

PROMPT = [1, 40, 41, 42, 2, 1, 50, 51]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    work = tmp_path_factory.mktemp("dec")
    tiny = write_tiny_gguf(work / "tiny.gguf", "llama", types={"attn_output": "Q8_0"})
    convert_gguf(tiny.path, work / "m", precision="fp32")
    return work / "m" / "model.onnx"


def session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


class Recorder:
    """Greedy picker that keeps a copy of every logits row it sees."""

    def __init__(self, forced=None):
        self.rows, self.forced = [], list(forced or [])

    def sample(self, logits, history=()):
        self.rows.append(np.array(logits))
        return self.forced.pop(0) if self.forced else int(np.argmax(logits))


def full_logits(sess, ids) -> np.ndarray:
    """(S, V) logits of one pass over `ids` without a cache."""
    feeds = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), np.int64),
             "position_ids": np.arange(len(ids))[None]}
    feeds.update({name: np.zeros((1, KV, 0, HD), np.float32) for name in Decoder(sess, KV, HD).layout.past})
    return sess.run(["logits"], feeds)[0][0]


@pytest.mark.parametrize("shared", [True, False])
def test_cached_decoding_equals_full_rerun(model_path, shared):
    sess = session(model_path)
    dec = Decoder(sess, KV, HD, context=128, shared=shared)
    conv = dec.conversation()
    rec = Recorder()
    out = list(dec.generate(conv, PROMPT, rec, max_new_tokens=10))
    assert len(out) == 10 and conv.tokens == PROMPT + out[:-1]  # the last token is fed next turn
    full = full_logits(sess, PROMPT + out)
    for j, row in enumerate(rec.rows):
        np.testing.assert_allclose(row, full[len(PROMPT) - 1 + j], atol=2e-4)


@pytest.mark.parametrize("shared", [True, False])
def test_follow_up_turn_feeds_only_new_tokens(model_path, shared):
    sess = session(model_path)
    dec = Decoder(sess, KV, HD, context=128, shared=shared)
    conv = dec.conversation()
    out = list(dec.generate(conv, PROMPT, max_new_tokens=5))
    fed = []
    real_feed = dec.feed
    dec.feed = lambda c, ids: fed.append(list(ids)) or real_feed(c, ids)
    turn2 = PROMPT + out + [2, 1, 60, 61, 62]
    logits = dec.prefill(conv, turn2)
    assert fed == [[out[-1], 2, 1, 60, 61, 62]]
    np.testing.assert_allclose(logits, full_logits(sess, turn2)[-1], atol=2e-4)
    # an edited history truncates at the first difference and reruns only the rest
    fed.clear()
    edited = PROMPT[:5] + [70, 71]
    logits = dec.prefill(conv, edited)
    assert fed == [[70, 71]] and conv.tokens == edited
    np.testing.assert_allclose(logits, full_logits(sess, edited)[-1], atol=2e-4)


def test_cache_grows_past_its_first_capacity(model_path):
    sess = session(model_path)
    dec = Decoder(sess, KV, HD, context=128)
    conv = dec.conversation()
    conv.cache.start(capacity=4)
    rec = Recorder()
    out = list(dec.generate(conv, PROMPT, rec, max_new_tokens=6))
    assert conv.cache.capacity >= len(PROMPT) + 5
    full = full_logits(sess, PROMPT + out)
    np.testing.assert_allclose(rec.rows[-1], full[-2], atol=2e-4)


def test_stop_conditions(model_path):
    dec = Decoder(session(model_path), KV, HD, context=128)
    conv = dec.conversation()
    out = list(dec.generate(conv, PROMPT, Recorder(forced=[7, 8, 2, 9]), eos_ids=[2]))
    assert out == [7, 8]
    text = {7: "Hel", 8: "lo wor", 9: "ld"}
    out = list(dec.generate(dec.conversation(), PROMPT, Recorder(forced=[7, 8, 9, 9, 9]), stop=["o w"],
                            text_of=lambda t: text[t]))
    assert out == [7, 8]
    assert len(list(dec.generate(dec.conversation(), PROMPT, max_new_tokens=3))) == 3


def test_context_limit_is_a_bad_input(model_path):
    dec = Decoder(session(model_path), KV, HD, context=10)
    conv = dec.conversation()
    assert len(list(dec.generate(conv, PROMPT, max_new_tokens=50))) == 10 - len(PROMPT) + 1
    with pytest.raises(BadInput):
        dec.prefill(dec.conversation(), list(range(11)))


def test_cache_shape_mismatch_is_a_model_error(model_path):
    with pytest.raises(ModelError, match="kv heads") as err:
        Decoder(session(model_path), n_kv_heads=KV + 1, head_dim=HD)
    assert "\n" not in str(err.value)
    with pytest.raises(ModelError, match="head_dim"):
        Decoder(session(model_path), n_kv_heads=KV, head_dim=HD * 2)


def test_graph_without_position_ids(model_path, tmp_path):
    """optimum exports of some models have no position_ids; GQA then counts positions itself."""
    model = onnx.load(str(model_path))
    for node in model.graph.node:
        node.input[:] = ["" if name == "position_ids" else name for name in node.input]
    kept = [i for i in model.graph.input if i.name != "position_ids"]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    onnx.save(model, str(tmp_path / "nopos.onnx"))
    sess = session(tmp_path / "nopos.onnx")
    dec = Decoder(sess, KV, HD, context=128)
    assert "position_ids" not in dec.types
    rec = Recorder()
    out = list(dec.generate(dec.conversation(), PROMPT, rec, max_new_tokens=4))
    ref, plain = Recorder(), Decoder(session(model_path), KV, HD)
    ref_out = list(plain.generate(plain.conversation(), PROMPT, ref, max_new_tokens=4))
    assert out == ref_out
    np.testing.assert_allclose(rec.rows[-1], ref.rows[-1], atol=2e-4)
