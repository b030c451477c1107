"""Text <-> token ids for decoder LLMs, from `tokenizer.json` (HF tokenizers) or `tokenizer.model` (sentencepiece).

Usage::

    tok = load_tokenizer(folder, model_vocab_size=49152)
    ids = tok.encode("<|im_start|>user\\nHi<|im_end|>\\n")   # special-token text becomes its id
    text = tok.decode(ids, skip_special=True)
    tok.token_bytes(ids[0])                                  # raw bytes of one token (for streaming)

Special tokens (bos/eos/pad, the Jinja chat template) are read from `tokenizer_config.json`,
`special_tokens_map.json`, `generation_config.json` and `chat_template.jinja` when present.
`tokenizer_files_from_gguf(meta)` turns GGUF `tokenizer.*` metadata into these files.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from models.runtime.errors import ModelError

# Model embeddings are often padded past the tokenizer's vocabulary (Qwen2: 151936 vs 151665);
# a larger gap than this means the tokenizer belongs to another model.
MAX_VOCAB_PADDING = 2048
_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def gpt2_byte_decoder() -> dict[str, int]:
    """The GPT-2 byte-level map, printable unicode char -> byte (inverse of the encoder table)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


@dataclass
class Tokenizer:
    """Common face of both backends. Build it with `load_tokenizer`."""

    backend: object                       # tokenizers.Tokenizer or sentencepiece.SentencePieceProcessor
    kind: str                             # "hf" or "sentencepiece"
    bos_id: int | None = None
    eos_ids: list[int] = field(default_factory=list)
    pad_id: int | None = None
    add_bos: bool = False                 # prepend bos when encode(add_special=True)
    chat_template: str | None = None
    special_ids: set[int] = field(default_factory=set)
    byte_mode: str = "text"               # how token_bytes works: "bytelevel", "spm" or "text"
    strip_leading_space: bool = False     # sentencepiece-style "▁Hello" -> "Hello" at the start of a text
    _byte_decoder: dict[str, int] = field(default_factory=dict, repr=False)
    _special_split: re.Pattern | None = field(default=None, repr=False)
    _special_by_piece: dict[str, int] = field(default_factory=dict, repr=False)

    # --- vocabulary -----------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        if self.kind == "hf":
            return self.backend.get_vocab_size(with_added_tokens=True)
        return self.backend.get_piece_size()

    @property
    def bos_token(self) -> str | None:
        return None if self.bos_id is None else self.id_to_piece(self.bos_id)

    @property
    def eos_token(self) -> str | None:
        return self.id_to_piece(self.eos_ids[0]) if self.eos_ids else None

    def id_to_piece(self, token_id: int) -> str:
        """The vocabulary string of one id (e.g. 'Ġhello' or '▁hello'); '' when out of range."""
        if self.kind == "hf":
            return self.backend.id_to_token(int(token_id)) or ""
        if 0 <= token_id < self.backend.get_piece_size():
            return self.backend.id_to_piece(int(token_id))
        return ""

    def token_to_id(self, piece: str) -> int | None:
        """The id of a vocabulary string, or None."""
        if self.kind == "hf":
            return self.backend.token_to_id(piece)
        token_id = self.backend.piece_to_id(piece)
        if token_id == self.backend.unk_id() and piece != self.backend.id_to_piece(token_id):
            return None
        return token_id

    # --- text -----------------------------------------------------------------------------------
    def encode(self, text: str, add_special: bool = False) -> list[int]:
        """Token ids of `text`. Special-token strings in the text (e.g. '<|im_end|>') map to their ids.
        With add_special, the tokenizer's own post-processor runs and bos is prepended when the config
        asks for it. Use add_special=False for a prompt rendered by a chat template (it holds bos already)."""
        if self.kind == "hf":
            ids = self.backend.encode(text, add_special_tokens=add_special).ids
        else:
            ids = self._spm_encode(text)
        if add_special and self.add_bos and self.bos_id is not None and ids[:1] != [self.bos_id]:
            ids = [self.bos_id] + ids
        return list(ids)

    def _spm_encode(self, text: str) -> list[int]:
        if self._special_split is None:
            return self.backend.encode(text)
        ids: list[int] = []
        for part in self._special_split.split(text):  # odd parts are the special pieces themselves
            if part in self._special_by_piece:
                ids.append(self._special_by_piece[part])
            elif part:  # like llama.cpp, each text fragment gets sentencepiece's dummy prefix
                ids.extend(self.backend.encode(part))
        return ids

    def decode(self, ids, skip_special: bool = False) -> str:
        """Text of `ids`; with skip_special, control tokens (bos, eos, <|im_start|>...) are dropped."""
        ids = [int(i) for i in ids]
        if skip_special:
            ids = [i for i in ids if i not in self.special_ids]
        if self.kind == "hf":
            return self.backend.decode(ids, skip_special_tokens=False)
        out, run = [], []
        for i in ids:  # sentencepiece drops control pieces; keep them as text like HF does
            if i in self.special_ids:
                out.append(self.backend.decode(run) if run else "")
                out.append(self.id_to_piece(i))
                run = []
            else:
                run.append(i)
        out.append(self.backend.decode(run) if run else "")
        return "".join(out)

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes one token stands for (may be part of a UTF-8 character).
        Sentencepiece '▁' becomes a space; no leading space is stripped here."""
        token_id = int(token_id)
        piece = self.id_to_piece(token_id)
        if token_id in self.special_ids:
            return piece.encode("utf-8")
        if self.byte_mode == "bytelevel":
            table = self._byte_decoder
            if all(ch in table for ch in piece):
                return bytes(table[ch] for ch in piece)
            return piece.encode("utf-8")  # an added, non-special token stored as plain text
        if self.byte_mode == "spm":
            match = _BYTE_PIECE.match(piece)
            if match:
                return bytes([int(match.group(1), 16)])
            return piece.replace("\u2581", " ").encode("utf-8")
        return self.backend.decode([token_id]).encode("utf-8")


def load_tokenizer(folder, model_vocab_size: int | None = None) -> Tokenizer:
    """Load the tokenizer of a model folder. `model_vocab_size` (the logits width) is checked
    against the tokenizer's vocabulary; a mismatch raises ModelError."""
    folder = Path(folder)
    if (folder / "tokenizer.json").is_file():
        tok = _load_hf(folder / "tokenizer.json")
    elif (folder / "tokenizer.model").is_file():
        tok = _load_spm(folder / "tokenizer.model")
    else:
        raise ModelError(f"No tokenizer.json or tokenizer.model in {folder}")
    _apply_configs(tok, folder)
    if model_vocab_size is not None:
        n = tok.vocab_size
        if n > model_vocab_size or model_vocab_size - n > MAX_VOCAB_PADDING:
            raise ModelError(f"The tokenizer in {folder} has {n} tokens but the model has {model_vocab_size}: "
                             "they do not belong together")
    return tok


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path.name} is not valid UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}") from None


def _read_json(path: Path):
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path.name} is not valid JSON (line {exc.lineno})") from None


def _load_hf(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer as HFTokenizer

    text = _read_text(path)
    try:
        backend = HFTokenizer.from_str(text)
    except Exception as exc:  # tokenizers raises a bare Exception on a bad file
        raise ModelError(f"{path.name} is not a usable tokenizer: {str(exc).splitlines()[0][:200]}") from None
    spec = json.loads(text)
    tok = Tokenizer(backend=backend, kind="hf")
    tok.special_ids = {t["id"] for t in spec.get("added_tokens") or [] if t.get("special")}
    decoder = json.dumps(spec.get("decoder") or {})
    if '"ByteLevel"' in decoder:
        tok.byte_mode = "bytelevel"
        tok._byte_decoder = gpt2_byte_decoder()
    elif '"ByteFallback"' in decoder or '"Metaspace"' in decoder:
        tok.byte_mode = "spm"
        tok.strip_leading_space = '"Strip"' in decoder or '"prepend_scheme": "first"' in decoder \
            or '"prepend_scheme": "always"' in decoder
    return tok


def _load_spm(path: Path) -> Tokenizer:
    import sentencepiece as spm

    backend = spm.SentencePieceProcessor()
    try:
        backend.LoadFromSerializedProto(path.read_bytes())
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}") from None
    except Exception:
        raise ModelError(f"{path.name} is not a sentencepiece model") from None
    tok = Tokenizer(backend=backend, kind="sentencepiece", byte_mode="spm", strip_leading_space=True)
    tok.special_ids = {i for i in range(backend.get_piece_size()) if backend.is_control(i)}
    tok.bos_id = backend.bos_id() if backend.bos_id() >= 0 else None
    tok.eos_ids = [backend.eos_id()] if backend.eos_id() >= 0 else []
    tok.pad_id = backend.pad_id() if backend.pad_id() >= 0 else None
    tok.add_bos = tok.bos_id is not None
    _refresh_special_split(tok)
    return tok


def _refresh_special_split(tok: Tokenizer) -> None:
    """Sentencepiece does not parse control tokens in text; split them off ourselves, longest first."""
    if tok.kind != "sentencepiece":
        return
    tok._special_by_piece = {tok.id_to_piece(i): i for i in tok.special_ids if tok.id_to_piece(i)}
    pieces = sorted(tok._special_by_piece, key=len, reverse=True)
    tok._special_split = re.compile("(" + "|".join(map(re.escape, pieces)) + ")") if pieces else None


def _token_text(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def _apply_configs(tok: Tokenizer, folder: Path) -> None:
    """Read bos/eos/pad, add_bos and the chat template from the usual HF side files."""
    names = {}
    config = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):  # the later file wins
        if (folder / name).is_file():
            data = _read_json(folder / name)
            if name == "tokenizer_config.json":
                config = data
                for key, entry in (data.get("added_tokens_decoder") or {}).items():
                    if isinstance(entry, dict) and entry.get("special") and str(key).isdigit():
                        tok.special_ids.add(int(key))
            for key in ("bos_token", "eos_token", "pad_token"):
                text = _token_text(data.get(key))
                if text is not None:
                    names[key] = text
    ids = {key: tok.token_to_id(text) for key, text in names.items()}
    if ids.get("bos_token") is not None:
        tok.bos_id = ids["bos_token"]
    if ids.get("pad_token") is not None:
        tok.pad_id = ids["pad_token"]
    eos = list(tok.eos_ids) if ids.get("eos_token") is None else [ids["eos_token"]]
    if "add_bos_token" in config:
        tok.add_bos = bool(config["add_bos_token"])
    if (folder / "generation_config.json").is_file():
        gen = _read_json(folder / "generation_config.json")
        extra = gen.get("eos_token_id")
        for token_id in extra if isinstance(extra, list) else [extra]:
            if isinstance(token_id, int) and token_id not in eos:
                eos.append(token_id)
        if tok.bos_id is None and isinstance(gen.get("bos_token_id"), int):
            tok.bos_id = gen["bos_token_id"]
    tok.eos_ids = eos
    tok.special_ids.update(i for i in [tok.bos_id, tok.pad_id, *eos] if i is not None)
    tok.chat_template = _chat_template(config, folder)
    _refresh_special_split(tok)


def _chat_template(config: dict, folder: Path) -> str | None:
    if (folder / "chat_template.jinja").is_file():
        return _read_text(folder / "chat_template.jinja")
    template = config.get("chat_template")
    if isinstance(template, list):  # [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    return template if isinstance(template, str) and template.strip() else None


# --- GGUF metadata -> tokenizer files ---------------------------------------------------------------
# GGUF token types (llama.cpp) use sentencepiece's numbering: 1 normal, 2 unknown, 3 control,
# 4 user-defined, 5 unused, 6 byte.
GGUF_CONTROL, GGUF_USER_DEFINED, GGUF_BYTE = 3, 4, 6
_LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# llama.cpp pre-tokenizer names -> how to split before byte-level BPE.
_DIGITS_THEN_GPT2 = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"}
_GPT2 = {"default", "gpt2", "mpt", "olmo", "jais", "trillion"}
_LLAMA3 = {"llama3", "llama-bpe", "llama-v3", "dbrx", "smaug-bpe"}
_QWEN2 = {"qwen2", "stablelm2"}


def _byte_level_pre_tokenizer(pre: str):
    from tokenizers import Regex, pre_tokenizers as pt

    pre = (pre or "default").lower()
    if pre in _GPT2:
        return pt.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in _DIGITS_THEN_GPT2:  # each digit is its own word, then the GPT-2 regex
        return pt.Sequence([pt.Digits(individual_digits=True), pt.ByteLevel(add_prefix_space=False, use_regex=True)])
    for names, regex in ((_LLAMA3, _LLAMA3_REGEX), (_QWEN2, _QWEN2_REGEX)):
        if pre in names:
            return pt.Sequence([pt.Split(Regex(regex), behavior="isolated", invert=False),
                                pt.ByteLevel(add_prefix_space=False, use_regex=False)])
    raise ModelError(f"The GGUF pre-tokenizer '{pre}' is not supported")


def tokenizer_json_from_gguf_metadata(tokens, merges, token_types, pre: str = "default") -> str:
    """A GPT-2-style byte-level BPE `tokenizer.json` (as a string) from GGUF `tokenizer.ggml.tokens`,
    `.merges` ("a b" strings), `.token_type` and `.pre` (llama.cpp pre-tokenizer name, e.g. "smollm")."""
    from tokenizers import AddedToken, Tokenizer as HFTokenizer, decoders, models

    tokens = [str(t) for t in tokens]
    types = [int(t) for t in token_types] if token_types is not None else [1] * len(tokens)
    if len(types) != len(tokens):
        raise ModelError("GGUF tokenizer metadata is inconsistent: tokens and token types differ in length")
    pairs = []
    for merge in merges:
        left, _, right = str(merge).partition(" ")
        pairs.append((left, right))
    vocab = {}
    for i, token in enumerate(tokens):
        vocab.setdefault(token, i)
    backend = HFTokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False))
    backend.pre_tokenizer = _byte_level_pre_tokenizer(pre)
    backend.decoder = decoders.ByteLevel()
    special = [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == GGUF_CONTROL]
    user = [AddedToken(t, special=False, normalized=False) for t, k in zip(tokens, types) if k == GGUF_USER_DEFINED]
    backend.add_special_tokens(special)
    backend.add_tokens(user)
    return backend.to_str()


def sentencepiece_model_from_gguf_metadata(tokens, scores, token_types, add_space_prefix: bool = True,
                                           bos_id: int = -1, eos_id: int = -1, unk_id: int = 0,
                                           pad_id: int = -1) -> bytes:
    """A serialized sentencepiece ModelProto (`tokenizer.model` bytes) for a GGUF "llama" vocabulary.
    llama.cpp's SPM tokenizer merges the best-scoring adjacent pieces, i.e. sentencepiece's BPE model;
    GGUF token types are sentencepiece piece types."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    types = [int(t) for t in token_types] if token_types is not None else [1] * len(tokens)
    scores = [float(s) for s in scores] if scores is not None else [0.0] * len(tokens)
    if not (len(tokens) == len(types) == len(scores)):
        raise ModelError("GGUF tokenizer metadata is inconsistent: tokens, scores and types differ in length")
    proto = pb.ModelProto()
    for token, score, kind in zip(tokens, scores, types):
        piece = proto.pieces.add()
        piece.piece, piece.score = str(token), score
        piece.type = kind if 1 <= kind <= 6 else 1
    spec = proto.trainer_spec
    spec.model_type = pb.TrainerSpec.BPE
    spec.vocab_size = len(tokens)
    spec.byte_fallback = GGUF_BYTE in types
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = unk_id, bos_id, eos_id, pad_id
    norm = proto.normalizer_spec
    norm.name = "identity"
    norm.add_dummy_prefix = bool(add_space_prefix)
    norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = True
    return proto.SerializeToString()


def read_gguf_tokenizer_metadata(path) -> dict:
    """The `tokenizer.*` key/values of a GGUF file as plain Python values."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read GGUF {Path(path).name}: {exc}") from None
    return {key: f.contents() for key, f in reader.fields.items() if key.startswith("tokenizer.")}


def tokenizer_files_from_gguf(meta: dict) -> dict[str, bytes]:
    """File name -> bytes for a model folder from GGUF metadata: `tokenizer.json` (gpt2 vocab) or
    `tokenizer.model` (llama vocab), `tokenizer_config.json` (bos/eos/pad/unk, add_bos_token, chat
    template) and, when the GGUF names extra end-of-turn tokens, `generation_config.json`."""
    model = meta.get("tokenizer.ggml.model")
    tokens = meta.get("tokenizer.ggml.tokens")
    if not tokens:
        raise ModelError("The GGUF file has no tokenizer (tokenizer.ggml.tokens is missing)")
    types = meta.get("tokenizer.ggml.token_type")

    def token_id(key):
        value = meta.get(f"tokenizer.ggml.{key}_token_id")
        return int(value) if value is not None and 0 <= int(value) < len(tokens) else None

    bos, eos, unk, pad = (token_id(k) for k in ("bos", "eos", "unknown", "padding"))
    files = {}
    if model == "gpt2":
        text = tokenizer_json_from_gguf_metadata(tokens, meta.get("tokenizer.ggml.merges") or [], types,
                                                 meta.get("tokenizer.ggml.pre") or "default")
        files["tokenizer.json"] = text.encode("utf-8")
        add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", False))
    elif model == "llama":
        files["tokenizer.model"] = sentencepiece_model_from_gguf_metadata(
            tokens, meta.get("tokenizer.ggml.scores"), types,
            add_space_prefix=bool(meta.get("tokenizer.ggml.add_space_prefix", True)),
            bos_id=-1 if bos is None else bos, eos_id=-1 if eos is None else eos,
            unk_id=0 if unk is None else unk, pad_id=-1 if pad is None or pad in (bos, eos, unk) else pad)
        add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", True))
    else:
        raise ModelError(f"The GGUF tokenizer model '{model}' is not supported (only gpt2 and llama)")
    config = {"add_bos_token": add_bos}
    for key, value in (("bos_token", bos), ("eos_token", eos), ("pad_token", pad), ("unk_token", unk)):
        if value is not None:
            config[key] = str(tokens[value])
    if meta.get("tokenizer.chat_template"):
        config["chat_template"] = str(meta["tokenizer.chat_template"])
    files["tokenizer_config.json"] = json.dumps(config, indent=2, ensure_ascii=False).encode("utf-8")
    ends = [i for i in (eos, token_id("eot"), token_id("eom")) if i is not None]
    if len(set(ends)) > 1:  # end-of-turn tokens (Llama 3 <|eot_id|>) also stop generation
        generation = {"bos_token_id": bos, "eos_token_id": list(dict.fromkeys(ends))}
        files["generation_config.json"] = json.dumps(generation, indent=2).encode("utf-8")
    return files
