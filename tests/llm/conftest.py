"""Shared fixtures for the LLM tests: the SmolLM2 tokenizer built from its GGUF metadata."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def smollm_dir(tmp_path_factory) -> Path:
    """A model folder holding only the SmolLM2 tokenizer files."""
    folder = tmp_path_factory.mktemp("smollm2_tok")
    (folder / "tokenizer.json").write_bytes(gzip.decompress((FIXTURES / "smollm2_tokenizer.json.gz").read_bytes()))
    shutil.copy(FIXTURES / "smollm2_tokenizer_config.json", folder / "tokenizer_config.json")
    return folder


@pytest.fixture(scope="session")
def smollm_tok(smollm_dir):
    from models.llm.tokenizer import load_tokenizer

    return load_tokenizer(smollm_dir, model_vocab_size=49152)


@pytest.fixture(scope="session")
def smollm_golden() -> dict:
    return json.loads((FIXTURES / "smollm2_golden.json").read_text(encoding="utf-8"))
