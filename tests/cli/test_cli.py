"""The CLI contract: JSON output, reproducible pixels, exit code 2 with one line on bad input."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_cli
from tests.helpers_onnx import generator_model, identity_model


def one_line_error(done):
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_faces_json_reproducible_and_in_gallery(tmp_path):
    first = run_cli("faces", "--seed", 7, "--count", 4, "--out", tmp_path / "a", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert {"files", "seed", "model", "elapsed_s", "gallery_ids"} <= set(data)
    assert len(data["files"]) == 4 and all(os.path.isabs(f) for f in data["files"])
    again = json.loads(run_cli("faces", "--seed", 7, "--count", 4, "--out", tmp_path / "b", "--json").stdout)
    other = json.loads(run_cli("faces", "--seed", 8, "--count", 1, "--out", tmp_path / "c", "--json").stdout)
    pixels = [np.asarray(Image.open(f)) for f in data["files"]]
    assert all(np.array_equal(p, np.asarray(Image.open(f))) for p, f in zip(pixels, again["files"]))
    assert not np.array_equal(pixels[0], np.asarray(Image.open(other["files"][0])))
    # face 1 of seed 7 is the face of seed 8
    assert np.array_equal(pixels[1], np.asarray(Image.open(other["files"][0])))
    meta = Image.open(data["files"][0]).text["genloom"]
    assert json.loads(meta)["params"]["seed"] == 7
    listing = json.loads(run_cli("gallery", "list", "--json").stdout)
    assert len(listing["items"]) == 9
    item = listing["items"][0]
    assert {"id", "kind", "model", "created", "params", "files"} <= set(item)


def test_doctor_reports_provider_and_reason():
    done = run_cli("doctor", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["providers"]["active"]
    assert "reason" in data["providers"]
    assert data["data_dir"].endswith("genloom-home")
    assert "\x1b[" not in done.stderr


def test_forced_cpu_provider():
    data = json.loads(run_cli("--provider", "cpu", "doctor", "--json").stdout)
    assert data["providers"]["active"] == "CPUExecutionProvider"
    assert data["providers"]["requested"] == "cpu"


@pytest.mark.parametrize("content", [b"\x00garbage\xff" * 10, b""])
def test_import_corrupt_onnx(tmp_path, content):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(content)
    line = one_line_error(run_cli("models", "import", bad, "--kind", "gan"))
    assert "broken.onnx" in line


def test_import_wrong_io_for_kind(tmp_path):
    model = identity_model(tmp_path / "ids.onnx")
    line = one_line_error(run_cli("models", "import", model, "--kind", "gan"))
    assert "genloom:" in line


def test_import_and_use_a_gan(tmp_path):
    model = generator_model(tmp_path / "tiny.onnx", z_dim=8, size=8, rank4=False)
    done = run_cli("models", "import", model, "--kind", "gan", "--name", "tiny", "--json")
    assert done.returncode == 0, done.stderr
    faces = json.loads(run_cli("faces", "--model", "tiny", "--count", 2, "--json").stdout)
    assert Image.open(faces["files"][0]).size == (8, 8)
    listed = json.loads(run_cli("models", "list", "--json").stdout)
    assert "tiny" in {m["name"] for m in listed["models"]}


def test_missing_file():
    line = one_line_error(run_cli("models", "import", "/nonexistent/model.onnx"))
    assert "does not exist" in line


@pytest.mark.parametrize("args,needle", [
    (["faces", "--count", "0"], "between 1 and 64"),
    (["faces", "--count", "65"], "between 1 and 64"),
    (["faces", "--truncation", "9"], "psi"),
    (["faces", "--model", "nope"], "No gan model named 'nope'"),
    (["faces", "--seed", "abc"], "invalid int value"),
    (["gallery", "export", "999", "--to", "/tmp"], "No gallery item"),
    (["nonsense"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    line = one_line_error(run_cli(*args))
    assert needle in line


def test_unwritable_export_folder(tmp_path):
    made = json.loads(run_cli("faces", "--count", 1, "--json").stdout)
    # /proc refuses new folders even for root, so this holds wherever the tests run.
    line = one_line_error(run_cli("gallery", "export", made["gallery_ids"][0], "--to", "/proc/genloom-export"))
    assert "/proc/genloom-export" in line


def test_export_to_a_file_path_is_refused(tmp_path):
    made = json.loads(run_cli("faces", "--count", 1, "--json").stdout)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    line = one_line_error(run_cli("gallery", "export", made["gallery_ids"][0], "--to", blocker))
    assert "afile" in line
