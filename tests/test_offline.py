"""The offline guarantee: one generation of each kind, and the window, with Python networking blocked.

A socket guard replaces `socket.socket.connect/connect_ex`, `socket.create_connection` and
`socket.getaddrinfo` with functions that record the attempt and raise. Each test then asserts that nothing
was recorded. Kinds whose engine or model is not installed yet are skipped with the reason.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from models import jobs
from models.runtime.context import Context
from models.runtime.errors import ModelError
from models.runtime.registry import Registry


# Read before the autouse fixture points GENLOOM_HOME at a temporary folder: a chat model built in the
# developer's real home (or named by GENLOOM_TEST_CHAT_MODEL) is linked into the test home for the chat test.
CHAT_NAME = "smollm2-135m-instruct"
_REAL_HOME = os.environ.get("GENLOOM_HOME")


def real_chat_model() -> Path | None:
    explicit = os.environ.get("GENLOOM_TEST_CHAT_MODEL")
    if explicit:
        return Path(explicit)
    import platformdirs

    home = Path(_REAL_HOME) if _REAL_HOME else Path(platformdirs.user_data_dir("genloom", appauthor=False))
    folder = home / "models" / CHAT_NAME
    return folder if (folder / "genloom.json").is_file() else None


class NetworkAttempt(OSError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Blocks and records every Python-level connection or DNS lookup; yields the list of attempts."""
    attempts: list[str] = []

    def blocked(what):
        def refuse(*args, **kwargs):
            target = args[1] if what.startswith("socket.") and len(args) > 1 else (args[0] if args else kwargs)
            attempts.append(f"{what}({target!r})")
            raise NetworkAttempt(f"network blocked by the offline test: {what}")
        return refuse

    monkeypatch.setattr(socket.socket, "connect", blocked("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", blocked("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", blocked("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", blocked("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", blocked("gethostbyname"))
    yield attempts


def test_guard_really_blocks(no_network):
    """The guard itself works: a connection attempt is refused and recorded."""
    with pytest.raises(NetworkAttempt):
        socket.create_connection(("pypi.org", 443), timeout=1)
    with pytest.raises(NetworkAttempt):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("127.0.0.1", 9))
    assert len(no_network) == 2


def model_of(kind: str):
    """The first installed model of `kind` (bundled or in GENLOOM_HOME), or skip."""
    try:
        return Registry().get(kind, None)
    except ModelError as exc:
        pytest.skip(f"no {kind} model installed here yet ({exc})")


def drive(request) -> dict:
    ctx = Context(provider="cpu")
    events: list = []
    result = jobs.drive(request, ctx, on_event=events.append)
    assert events, "the engine yielded no events"
    return result


def assert_saved_pngs(result: dict) -> None:
    assert result["files"], "no file was written"
    for file in result["files"]:
        assert Path(file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_faces_offline(no_network):
    job = pytest.importorskip("models.gan.job")
    manifest = model_of("gan")
    result = drive(job.FacesRequest(model=manifest.name, seed=1, count=2))
    assert len(result["images"]) == 2
    assert_saved_pngs(result)
    assert no_network == []


def test_vae_offline(no_network):
    job = pytest.importorskip("models.vae.job")
    manifest = model_of("vae")
    z_dim = manifest.params.get("z_dim")
    if not z_dim:
        z_dim = Context(provider="cpu").sessions.get(manifest.path("decoder")).get_inputs()[0].shape[1]
    result = drive(job.DecodeRequest(model=manifest.name, latent=tuple([0.1] * int(z_dim)), save=True))
    assert_saved_pngs(result)
    assert no_network == []


def test_image_offline(no_network):
    job = pytest.importorskip("models.diffusion.job")
    manifest = model_of("diffusion")
    result = drive(job.ImageRequest(model=manifest.name, prompt="a red circle", steps=2, seed=1))
    assert_saved_pngs(result)
    assert no_network == []


def test_chat_offline(no_network, genloom_home):
    job = pytest.importorskip("models.llm.job", reason="the chat engine (models.llm.job) is not written yet")
    source = real_chat_model()
    if source is not None:
        (genloom_home / "models").mkdir(parents=True, exist_ok=True)
        (genloom_home / "models" / source.name).symlink_to(source.resolve(), target_is_directory=True)
    manifest = model_of("chat")
    request = job.ChatRequest(model=manifest.name, messages=(("user", "Say hello."),), max_tokens=4, seed=1,
                              save=True)
    result = drive(request)
    assert result["model"] == manifest.name
    assert no_network == []


def test_window_offline(no_network, qtbot):
    """The whole window (every panel, the worker thread, the gallery) starts without touching the network."""
    from desktop.main_window import MainWindow

    window = MainWindow(provider="cpu")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(300)
    assert window.windowTitle().startswith("Genloom")
    assert window.panels, "no panel was loaded"
    window.close()
    assert no_network == []
