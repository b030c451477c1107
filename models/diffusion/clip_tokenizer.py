"""CLIP's byte-level BPE tokenizer (Stable Diffusion's text encoder input), built on the `tokenizers` library.

Reads `vocab.json` + `merges.txt` (+ optional `tokenizer_config.json` / `special_tokens_map.json` for the
special tokens) and produces exactly 77 ids: <start> + up to 75 tokens + <end> + padding.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.runtime.errors import ModelError

# CLIP's pre-tokenizer: common English contractions, letter runs, single digits, runs of other symbols.
SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
MAX_LENGTH = 77


@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray  # (77,) int64
    truncated: bool
    dropped: str  # the text that did not fit, decoded ("" when nothing was dropped)


def _token_text(value) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value


class ClipTokenizer:
    """Text -> 77 CLIP ids. `encode(text)` also reports what was truncated."""

    def __init__(self, folder: Path, max_length: int = MAX_LENGTH):
        from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

        folder = Path(folder)
        vocab, merges = folder / "vocab.json", folder / "merges.txt"
        if not vocab.is_file() or not merges.is_file():
            raise ModelError(f"Tokenizer folder {folder} needs vocab.json and merges.txt.")
        special = self._special_tokens(folder)
        try:
            bpe = models.BPE.from_file(str(vocab), str(merges), unk_token=special["unk"], end_of_word_suffix="</w>")
        except Exception as exc:  # tokenizers raises its own Exception type for unreadable files
            raise ModelError(f"Tokenizer files in {folder} could not be read: {exc}") from None
        tok = Tokenizer(bpe)
        tok.normalizer = normalizers.Sequence(
            [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        tok.decoder = decoders.Sequence([decoders.Replace("</w>", " "), decoders.ByteLevel()])
        self._tok = tok
        self.max_length = max_length
        self.bos = self._id(special["bos"])
        self.eos = self._id(special["eos"])
        self.pad = self._id(special["pad"])

    def _id(self, token: str) -> int:
        found = self._tok.token_to_id(token)
        if found is None:
            raise ModelError(f"Tokenizer vocab has no special token {token!r}.")
        return found

    @staticmethod
    def _special_tokens(folder: Path) -> dict:
        data: dict = {}
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            file = folder / name
            if file.is_file():
                try:
                    data = {**json.loads(file.read_text(encoding="utf-8")), **data}
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise ModelError(f"{file} is not valid JSON.") from None
        eos = _token_text(data.get("eos_token")) or "<|endoftext|>"
        return {
            "bos": _token_text(data.get("bos_token")) or "<|startoftext|>",
            "eos": eos,
            "unk": _token_text(data.get("unk_token")) or eos,
            "pad": _token_text(data.get("pad_token")) or eos,
        }

    def tokens(self, text: str) -> list[int]:
        """BPE ids of `text` without special tokens."""
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode(self, text: str) -> Encoded:
        body = self.tokens(text)
        room = self.max_length - 2
        kept, dropped = body[:room], body[room:]
        ids = [self.bos, *kept, self.eos]
        ids += [self.pad] * (self.max_length - len(ids))
        dropped_text = self._tok.decode(dropped).strip() if dropped else ""
        return Encoded(np.asarray(ids, dtype=np.int64), bool(dropped), dropped_text)

    def __call__(self, texts: list[str]) -> np.ndarray:
        """(B, 77) int64 ids for a list of prompts."""
        return np.stack([self.encode(t).ids for t in texts])
