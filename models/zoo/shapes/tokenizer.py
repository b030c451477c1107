"""A tiny CLIP-style byte-level BPE tokenizer for the shapes vocabulary (torch-free).

`write_tokenizer(folder)` writes vocab.json, merges.txt, tokenizer_config.json and
special_tokens_map.json in the layout of openai/clip-vit-large-patch14: the 256
byte symbols, the same with "</w>", one merge chain per vocabulary word, then
<|startoftext|> and <|endoftext|>. Unknown words fall back to byte symbols, so any
text encodes. `encode(texts)` pads/truncates to 77 ids with <|endoftext|>, like SD 1.x.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .render import WORDS

MAX_LENGTH = 77
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
CLIP_SPLIT = (r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|"""
              r"""[^\s\p{L}\p{N}]+""")


def byte_symbols() -> list[str]:
    """GPT-2/CLIP byte-to-unicode table, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    extra = 0
    table = {}
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def build_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Return (vocab, merges) for the shapes words."""
    syms = byte_symbols()
    tokens = syms + [s + "</w>" for s in syms]
    merges: list[tuple[str, str]] = []
    for word in sorted(WORDS, key=lambda w: (-len(w), w)):
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        cur = parts[0]
        for nxt in parts[1:]:
            pair = (cur, nxt)
            if pair not in merges:
                merges.append(pair)
                tokens.append(cur + nxt)
            cur = cur + nxt
    seen: dict[str, int] = {}
    for t in tokens + [BOS, EOS]:
        seen.setdefault(t, len(seen))
    return seen, merges


def write_tokenizer(folder: str | Path) -> Path:
    """Write the four CLIP tokenizer files into folder and return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = build_vocab()
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    special = {
        "bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS,
    }
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
    config = dict(special, tokenizer_class="CLIPTokenizer", model_max_length=MAX_LENGTH,
                  do_lower_case=True, add_prefix_space=False, errors="replace")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    return folder


def load(folder: str | Path) -> Tokenizer:
    """Load vocab.json + merges.txt as a CLIP BPE `tokenizers.Tokenizer` (77 ids, EOS-padded)."""
    folder = Path(folder)
    bpe = models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt"),
                               unk_token=EOS, end_of_word_suffix="</w>")
    tok = Tokenizer(bpe)
    tok.normalizer = normalizers.Sequence([
        normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    bos, eos = tok.token_to_id(BOS), tok.token_to_id(EOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, bos), (EOS, eos)])
    tok.enable_truncation(MAX_LENGTH)
    tok.enable_padding(length=MAX_LENGTH, pad_id=eos, pad_token=EOS)
    return tok


def encode(tok: Tokenizer, texts: list[str]) -> np.ndarray:
    """Token ids (N, 77) int64; truncated sequences keep <|endoftext|> last."""
    ids = np.array([e.ids for e in tok.encode_batch(texts)], dtype=np.int64)  # (N, 77)
    return ids
