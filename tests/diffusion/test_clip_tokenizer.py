"""CLIP tokenizer parity with transformers' CLIPTokenizer (golden ids committed by tiny_sd_reference.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.diffusion.clip_tokenizer import ClipTokenizer
from models.runtime.errors import ModelError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_sd"
GOLDEN = json.loads((FIXTURES / "tokenizer_golden.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tok():
    return ClipTokenizer(FIXTURES / "model" / "tokenizer")


@pytest.mark.parametrize("row", GOLDEN, ids=[r["prompt"][:20] for r in GOLDEN])
def test_ids_match_transformers(tok, row):
    enc = tok.encode(row["prompt"])
    assert enc.ids.tolist() == row["ids"]
    assert enc.truncated == row["truncated"]


def test_truncation_reports_dropped_text(tok):
    enc = tok.encode("red " * 100)
    assert enc.truncated and enc.dropped.split() == ["red"] * 25
    assert enc.ids[0] == tok.bos and enc.ids[-1] == tok.eos and len(enc.ids) == 77


def test_batch_shape(tok):
    ids = tok(["a", "b c"])
    assert ids.shape == (2, 77) and ids.dtype.name == "int64"


def test_missing_files_are_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="vocab.json"):
        ClipTokenizer(tmp_path)
