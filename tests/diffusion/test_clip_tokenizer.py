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


REAL_BPE = Path("/work/artifacts/diffusion/dl/open_clip/bpe_simple_vocab_16e6.txt.gz")
MORE_PROMPTS = [
    "masterpiece, best quality, 1girl, solo, looking at viewer, (detailed eyes:1.2), [blurry]",
    "RAW photo, 8k uhd, dslr, soft lighting, high quality, film grain, Fujifilm XT3",
    "an oil painting of a fox in the style of Van Gogh's 'Starry Night' -- trending on ArtStation",
    "Ünïcödé façade, Straße, naïve, piñata, smörgåsbord, Ελληνικά, русский, 日本語のテキスト",
    "x" * 300,
]


@pytest.mark.heavy
def test_real_clip_vocab_matches_transformers(tmp_path):
    """SD 1.x's real tokenizer (49408 tokens), rebuilt from open-clip-torch's merges file."""
    transformers = pytest.importorskip("transformers")
    if not REAL_BPE.is_file():
        pytest.skip(f"{REAL_BPE} not present (pip download --no-deps open-clip-torch, then unzip)")
    from models.zoo.tiny_sd_reference import PROMPTS, clip_vocab_from_openclip

    folder = clip_vocab_from_openclip(REAL_BPE, tmp_path / "tokenizer")
    ref = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    ours = ClipTokenizer(folder)
    assert ours._tok.get_vocab_size() == 49408 and ours.eos == 49407 and ours.bos == 49406
    for prompt in PROMPTS + MORE_PROMPTS:
        want = ref(prompt, padding="max_length", max_length=77, truncation=True).input_ids
        assert ours.encode(prompt).ids.tolist() == want, prompt
