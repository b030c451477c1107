"""The chat job on a real (tiny, random) converted Llama model, and the `genloom chat` CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models import jobs
from models.llm.job import ChatRequest, StopText
from models.runtime.context import Context
from models.runtime.errors import BadInput, Cancelled
from models.runtime.events import Notice, Partial, Progress
from tests.conftest import ROOT

from tests.llm.tiny_chat_model import NAME, build

REAL_HOME = Path(os.environ.get("GENLOOM_REAL_CHAT_HOME", "/work/artifacts/chat/home"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_chat")
    return build(root / NAME, root / "work")


@pytest.fixture
def ctx(tiny_model, genloom_home) -> Context:
    models = genloom_home / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / NAME).symlink_to(tiny_model, target_is_directory=True)
    return Context(provider="cpu", settings={})


def chat(ctx, *messages, **options):
    events = []
    options = {"temperature": 0.0, "max_tokens": 12, "save": False, **options}
    result = jobs.drive(ChatRequest(messages=tuple(messages), model=NAME, **options), ctx, events.append)
    return result, events


def test_greedy_is_deterministic_and_streams_every_token(ctx):
    first, events = chat(ctx, ("user", "Hello there"))
    second, _ = chat(ctx, ("user", "Hello there"))
    assert first["token_ids"] == second["token_ids"] and first["text"] == second["text"]
    assert first["tokens"] == 12 and first["stop_reason"] == "length"
    tokens = [e.payload for e in events if isinstance(e, Partial) and e.what == "token"]
    assert [t["id"] for t in tokens if t["id"] is not None] == first["token_ids"]
    assert "".join(t["text"] for t in tokens) == first["text"]
    assert [e.step for e in events if isinstance(e, Progress) and e.step][-1] == 12
    assert first["ttft_s"] > 0 and first["tokens_per_s"] > 0 and first["model"] == NAME


def test_seeded_sampling_repeats_and_seeds_differ(ctx):
    options = {"temperature": 1.5, "top_k": 0, "top_p": 1.0, "min_p": 0.0}
    a, _ = chat(ctx, ("user", "Tell me a story"), seed=11, **options)
    b, _ = chat(ctx, ("user", "Tell me a story"), seed=11, **options)
    c, _ = chat(ctx, ("user", "Tell me a story"), seed=12, **options)
    assert a["token_ids"] == b["token_ids"] and a["seed"] == 11
    assert a["token_ids"] != c["token_ids"]


def test_follow_up_reuses_the_cache_and_matches_a_fresh_run(ctx):
    turn1, _ = chat(ctx, ("user", "Hi"), conversation_id=5)
    history = (("user", "Hi"), ("assistant", turn1["text"]), ("user", "And then?"))
    turn2, _ = chat(ctx, *history, conversation_id=5)
    fresh, _ = chat(ctx, *history)
    assert turn1["cached_tokens"] == 0
    assert turn2["cached_tokens"] >= turn1["prompt_tokens"]
    assert fresh["cached_tokens"] == 0
    assert turn2["token_ids"] == fresh["token_ids"]


def test_inspector_reports_candidates_only_when_asked(ctx):
    _, plain = chat(ctx, ("user", "Hi"), max_tokens=3)
    assert all(e.payload["inspect"] is None for e in plain if isinstance(e, Partial))
    result, events = chat(ctx, ("user", "Hi"), max_tokens=3, inspect=True, temperature=0.8, top_k=5, seed=3)
    first = next(e.payload for e in events if isinstance(e, Partial))
    rows = first["inspect"]["candidates"]
    assert len(rows) == 10 and first["inspect"]["picked"] == first["id"]
    assert rows[0]["prob"] >= rows[-1]["prob"]
    assert all(r["stages"]["top_k"] == 0.0 for r in rows[5:])  # top-k 5 drops the rest
    assert abs(sum(r["stages"]["top_k"] for r in rows[:5]) - 1.0) < 1e-6
    assert first["id"] in [r["id"] for r in rows[:5]]


def test_beam_search_returns_the_alternatives(ctx):
    result, events = chat(ctx, ("user", "Hi"), beams=3, max_tokens=6, inspect=True)
    again, _ = chat(ctx, ("user", "Hi"), beams=3, max_tokens=6)
    assert len(result["beams"]) == 3 and result["token_ids"] == again["token_ids"]
    assert result["beams"][0]["score"] >= result["beams"][-1]["score"]
    first = next(e.payload for e in events if isinstance(e, Partial))
    assert first["inspect"]["beams"] == result["beams"] and first["inspect"]["candidates"]


def test_bad_input_is_one_line(ctx):
    with pytest.raises(BadInput, match="empty"):
        chat(ctx, ("user", "   "))
    with pytest.raises(BadInput, match="context"):
        chat(ctx, ("user", "word " * 400))
    with pytest.raises(BadInput, match="top_p"):
        chat(ctx, ("user", "Hi"), top_p=0.0)


def test_context_policies(ctx):
    long = ("user", "apple " * 150)
    history = (long, ("assistant", "banana " * 20), ("user", "cherry " * 40))
    with pytest.raises(BadInput, match="context"):
        chat(ctx, *history, context_policy="stop", max_tokens=40)
    result, events = chat(ctx, *history, context_policy="drop_oldest", max_tokens=40)
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices and "left out" in notices[0]
    assert result["prompt_tokens"] + 40 <= 256
    rolled, events = chat(ctx, *history, context_policy="rolling", max_tokens=40)
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices and "tokens were left out" in notices[0]
    assert rolled["prompt_tokens"] + 40 <= 256 and rolled["prompt_tokens"] > result["prompt_tokens"]


def test_stop_strings_are_held_back_and_cut():
    stop = StopText(["END"])
    assert stop.add("abc E") == "abc "
    assert stop.add("N") == ""
    assert stop.add("Dmore") == ""
    assert stop.hit and stop.text == "abc "
    other = StopText(["END"])
    assert other.add("E") == "" and other.add("x") == "Ex"


def test_cancel_stops_and_the_next_turn_still_works(ctx):
    seen = []

    def on_event(event):
        if isinstance(event, Partial):
            seen.append(event)

    request = ChatRequest(messages=(("user", "Hi"),), model=NAME, temperature=0.0, max_tokens=50, save=False,
                          conversation_id=9)
    with pytest.raises(Cancelled):
        jobs.drive(request, ctx, on_event, is_cancelled=lambda: len(seen) >= 3)
    assert len(seen) == 3
    result, _ = chat(ctx, ("user", "Hi"), conversation_id=9, max_tokens=5)
    fresh, _ = chat(ctx, ("user", "Hi"), max_tokens=5)
    assert result["token_ids"] == fresh["token_ids"]


def test_cancel_during_beam_search_stops_within_a_step(ctx):
    import threading

    steps = []
    request = ChatRequest(messages=(("user", "Hi"),), model=NAME, temperature=0.0, max_tokens=40, beams=3,
                          save=False)
    with pytest.raises(Cancelled):
        jobs.drive(request, ctx, lambda e: isinstance(e, Progress) and e.step and steps.append(e.step),
                   is_cancelled=lambda: len(steps) >= 2)
    assert steps == [1, 2]
    assert not [t for t in threading.enumerate() if t.name == "genloom-beams"]


def test_answers_are_saved_to_the_gallery(ctx):
    result, _ = chat(ctx, ("user", "Hi"), save=True, system="Be brief.")
    item = ctx.gallery.get(result["gallery_ids"][0])
    assert item.kind == "chat" and item.prompt == "Hi" and item.params["system"] == "Be brief."
    meta = ctx.gallery.text_of(item)
    assert meta["text"] == result["text"]
    assert [m["role"] for m in meta["messages"]] == ["system", "user", "assistant"]
    assert result["files"] == [str(item.path)]


# ---- CLI ----------------------------------------------------------------------------------------
CLI = "from models.cli import main as m; m.COMMANDS += ('chat',) if 'chat' not in m.COMMANDS else (); " \
      "raise SystemExit(m.main())"


def cli(home, *args):
    env = {**os.environ, "GENLOOM_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", CLI, "chat", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_greedy_twice_gives_the_same_json(ctx, genloom_home):
    args = ("--model", NAME, "--prompt", "Name three primary colors.", "--temperature", "0", "--max-tokens", "8",
            "--json")
    first, second = cli(genloom_home, *args), cli(genloom_home, *args)
    assert first.returncode == 0, first.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["text"] == b["text"] and a["tokens"] == 8
    for key in ("ttft_s", "tokens_per_s", "stop_reason", "model", "seed", "gallery_ids"):
        assert key in a
    assert len(a["gallery_ids"]) == 1


def test_cli_streams_text_and_reports_bad_input(ctx, genloom_home):
    done = cli(genloom_home, "--model", NAME, "--prompt", "Hi", "--temperature", "0", "--max-tokens", "4",
               "--no-save")
    assert done.returncode == 0 and done.stdout.strip()
    assert "4 tokens" in done.stderr
    bad = cli(genloom_home, "--model", NAME, "--prompt", "")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "empty" in bad.stderr
    bad = cli(genloom_home, "--model", NAME, "--prompt", "Hi", "--beams", "0")
    assert bad.returncode == 2 and "beams" in bad.stderr


@pytest.mark.skipif(not (REAL_HOME / "models" / "smollm2-135m-instruct").is_dir(), reason="SmolLM2 not built here")
def test_real_smollm2_names_primary_colors(monkeypatch):
    monkeypatch.setenv("GENLOOM_HOME", str(REAL_HOME))
    ctx = Context(provider="cpu", settings={})
    request = ChatRequest(messages=(("user", "Name three primary colors."),), temperature=0.0, max_tokens=40,
                          save=False)
    result = jobs.drive(request, ctx)
    assert result["stop_reason"] == "eos"
    assert "red" in result["text"].lower() and "blue" in result["text"].lower()
