"""Streaming detokenizer: never emits half a UTF-8 character."""
from __future__ import annotations

from models.llm.detokenize import Detokenizer

TEXTS = ["Hello \U0001F600 world", "\U0001F468\u200d\U0001F469\u200d\U0001F467 family \U0001F1EB\U0001F1F7",
         "\u65e5\u672c\u8a9e caf\u00e9", "plain ascii"]


def _stream(tok, ids, **kw):
    detok = Detokenizer(tok, **kw)
    pieces = [detok.push(i) for i in ids]
    return pieces, detok


def test_emoji_split_across_tokens_is_held_back(smollm_tok):
    ids = smollm_tok.encode("a\U0001F600b")
    partial = [i for i in ids if len(smollm_tok.token_bytes(i)) < 4 and smollm_tok.token_bytes(i)[0] >= 0x80]
    assert partial, "the emoji should take more than one byte-level token"
    pieces, detok = _stream(smollm_tok, ids)
    for piece in pieces:
        piece.encode("utf-8")  # every piece is valid text
        assert "\ufffd" not in piece
    assert "" in pieces  # at least one token produced nothing yet
    assert "".join(pieces) == "a\U0001F600b" and detok.text == "a\U0001F600b" and not detok.pending


def test_stream_equals_decode(smollm_tok):
    for text in TEXTS:
        ids = smollm_tok.encode(text)
        pieces, detok = _stream(smollm_tok, ids)
        assert "".join(pieces) + detok.flush() == smollm_tok.decode(ids) == text


def test_byte_by_byte_and_flush(smollm_tok):
    # feed the emoji's bytes as single-byte tokens; nothing comes out until the 4th
    byte_ids = [smollm_tok.token_to_id(ch) for ch in "\u00f0\u0141\u013a\u0122"]  # byte-level chars of F0 9F 98 80
    assert b"".join(smollm_tok.token_bytes(i) for i in byte_ids) == "\U0001F600".encode()
    pieces, detok = _stream(smollm_tok, byte_ids)
    assert pieces == ["", "", "", "\U0001F600"]
    pieces, detok = _stream(smollm_tok, byte_ids[:2])
    assert pieces == ["", ""] and detok.pending
    assert detok.flush() == "\ufffd" and not detok.pending  # an unfinished character at the very end


def test_special_tokens(smollm_tok):
    ids = smollm_tok.encode("hi<|im_end|>")
    assert "".join(_stream(smollm_tok, ids)[0]) == "hi"
    assert "".join(_stream(smollm_tok, ids, skip_special=False)[0]) == "hi<|im_end|>"


def test_leading_space_strip(smollm_tok):
    ids = smollm_tok.encode(" Hello there")
    assert "".join(_stream(smollm_tok, ids, strip_leading_space=True)[0]) == "Hello there"
    assert "".join(_stream(smollm_tok, ids)[0]) == " Hello there"


def test_sentencepiece_style_hf_tokenizer(tmp_path):
    """A Llama-2-style tokenizer.json (Metaspace + byte fallback): '▁' is a space, <0xNN> a raw byte."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    from models.llm.tokenizer import load_tokenizer

    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + ["\u2581", "\u2581hello", "\u2581world"]
    pieces += list("abcdefghijklmnopqrstuvwxyz!")
    backend = Tokenizer(models.Unigram([(p, -1.0 if len(p) > 1 else -5.0) for p in pieces], unk_id=0,
                                       byte_fallback=True))
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    backend.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
    backend.add_special_tokens(["<s>", "</s>"])
    backend.save(str(tmp_path / "tokenizer.json"))
    tok = load_tokenizer(tmp_path)
    assert tok.byte_mode == "spm" and tok.strip_leading_space
    ids = tok.encode("hello world \U0001F600!")
    assert b"".join(tok.token_bytes(i) for i in ids) == " hello world \U0001F600!".encode()
    pieces_out, detok = _stream(tok, ids, strip_leading_space=tok.strip_leading_space)
    assert "".join(pieces_out) == tok.decode(ids) == "hello world \U0001F600!"
    assert pieces_out.count("") >= 3  # the emoji's first three byte tokens
