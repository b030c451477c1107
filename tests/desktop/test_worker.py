"""The inference worker: signals in order, cancel at the next step, failures as one line, latest wins."""
from __future__ import annotations

import threading
import time

import pytest

from desktop.worker import InferenceWorker
from models.jobs import Task
from models.runtime.errors import BadInput
from models.runtime.events import Notice, Partial, Progress, Result

pytestmark = pytest.mark.usefixtures("qapp")


def counting(ctx, steps, delay=0.0, gate=None):
    for step in range(1, steps + 1):
        if gate is not None:
            gate.wait(5)
        time.sleep(delay)
        yield Partial("value", step)
        yield Progress(step, steps)
    yield Notice("done counting")
    yield Result({"count": steps, "thread": threading.current_thread().name})


def failing(ctx):
    yield Progress(1, 2)
    raise BadInput("Width must be a multiple of 8\n(got 65).")


def crashing(ctx):
    yield Progress(1, 2)
    raise ZeroDivisionError("division by zero")


@pytest.fixture
def worker():
    worker = InferenceWorker(context_factory=lambda: object())
    yield worker
    worker.shutdown()


def record(worker):
    events = []
    worker.started.connect(lambda i: events.append(("started", i)))
    worker.progress.connect(lambda i, s, t, eta: events.append(("progress", i, s, t)))
    worker.partial.connect(lambda i, what, p: events.append(("partial", i, p)))
    worker.notice.connect(lambda i, text: events.append(("notice", i, text)))
    worker.finished.connect(lambda i, r: events.append(("finished", i, r)))
    worker.failed.connect(lambda i, r: events.append(("failed", i, r)))
    worker.cancelled.connect(lambda i: events.append(("cancelled", i)))
    return events


def test_signals_arrive_in_order_on_the_gui_thread(qtbot, worker):
    events = record(worker)
    gui_thread = threading.current_thread().name
    with qtbot.waitSignal(worker.finished, timeout=5000):
        request_id = worker.submit(Task("count", counting, (3,)))
    kinds = [e[0] for e in events]
    assert kinds == ["started", "partial", "progress", "partial", "progress", "partial", "progress", "notice", "finished"]
    assert all(e[1] == request_id for e in events)
    result = events[-1][2]
    assert result["count"] == 3
    assert result["thread"] != gui_thread, "the job must run off the GUI thread"


def test_cancel_stops_at_the_next_step(qtbot, worker):
    events = record(worker)
    gate = threading.Event()
    request_id = worker.submit(Task("count", counting, (100, 0.0, gate)))
    qtbot.waitUntil(lambda: worker.running == request_id, timeout=3000)
    worker.cancel(request_id)
    gate.set()
    qtbot.waitUntil(lambda: ("cancelled", request_id) in events, timeout=5000)
    steps = [e for e in events if e[0] == "partial"]
    assert len(steps) <= 2, f"cancel took {len(steps)} steps"
    assert not any(e[0] == "finished" for e in events)


def test_cancel_pending_request(qtbot, worker):
    events = record(worker)
    gate = threading.Event()
    first = worker.submit(Task("count", counting, (2, 0.0, gate)))
    second = worker.submit(Task("count", counting, (2,)))
    worker.cancel(second)
    gate.set()
    qtbot.waitUntil(lambda: ("finished", first) in [e[:2] for e in events], timeout=5000)
    assert ("cancelled", second) in events
    assert not any(e[0] == "started" and e[1] == second for e in events)


def test_failure_is_one_line_and_worker_survives(qtbot, worker):
    events = record(worker)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.submit(Task("fail", failing))
    assert blocker.args[1] == "Width must be a multiple of 8 (got 65)."
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.submit(Task("crash", crashing))
    assert blocker.args[1] == "ZeroDivisionError: division by zero"
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.submit(Task("count", counting, (1,)))


def test_latest_wins_drops_pending_requests_of_the_same_type(qtbot, worker):
    events = record(worker)
    gate = threading.Event()
    running = worker.submit(Task("count", counting, (1, 0.0, gate)))
    qtbot.waitUntil(lambda: worker.running == running, timeout=3000)
    stale = [worker.submit(Task("count", counting, (1,)), latest_wins=True) for _ in range(5)]
    newest = stale.pop()
    gate.set()
    qtbot.waitUntil(lambda: ("finished", newest) in [e[:2] for e in events], timeout=5000)
    started = [e[1] for e in events if e[0] == "started"]
    assert started == [running, newest]
    assert all(("cancelled", i) in events for i in stale)
