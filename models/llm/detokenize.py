"""Streaming detokenizer: turns generated ids into text pieces that never split a UTF-8 character.

Usage::

    detok = Detokenizer(tokenizer)
    for token_id in generated:
        piece = detok.push(token_id)   # '' while an emoji's bytes are still incomplete
        show(piece)
    show(detok.flush())                # whatever is left (broken bytes become U+FFFD)

It works on raw token bytes (`Tokenizer.token_bytes`), so byte-level BPE and sentencepiece byte
fallback tokens that carry half a character are held back until the character is complete.
"""
from __future__ import annotations

import codecs


class Detokenizer:
    """Incremental ids -> text. `skip_special` drops control tokens (eos, <|im_end|>, ...);
    `strip_leading_space` removes one leading space from the very first text (sentencepiece '▁')."""

    def __init__(self, tokenizer, skip_special: bool = True, strip_leading_space: bool = False):
        self.tokenizer = tokenizer
        self.skip_special = skip_special
        self.strip_leading_space = strip_leading_space
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._started = False
        self.text = ""   # everything emitted so far

    def push(self, token_id: int) -> str:
        """Add one token; return the newly complete text (may be '')."""
        token_id = int(token_id)
        if self.skip_special and token_id in self.tokenizer.special_ids:
            return ""
        return self._emit(self._decoder.decode(self.tokenizer.token_bytes(token_id)))

    def push_many(self, ids) -> str:
        return "".join(self.push(i) for i in ids)

    def flush(self) -> str:
        """End of stream: decode any held bytes (incomplete ones become U+FFFD) and reset."""
        piece = self._emit(self._decoder.decode(b"", final=True))
        self._decoder.reset()
        return piece

    @property
    def pending(self) -> bool:
        """True while bytes of an unfinished character are held back."""
        return bool(self._decoder.getstate()[0])

    def _emit(self, piece: str) -> str:
        if piece and not self._started:
            self._started = True
            if self.strip_leading_space and piece.startswith(" "):
                piece = piece[1:]
        self.text += piece
        return piece
