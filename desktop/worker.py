"""The one bridge between panels and engines: InferenceWorker, running every job on one QThread.

Panels build frozen requests from plain values on the GUI thread and `submit()` them. The worker thread
owns the Context (and so every ONNX Runtime session), drives the engine generator, checks the cancel flag
between events, and reports through Qt signals, which Qt delivers queued on the GUI thread.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import traceback

from PySide6.QtCore import QObject, QThread, Signal

from models import jobs
from models.runtime.context import Context
from models.runtime.errors import Cancelled, GenloomError, one_line
from models.runtime.events import Notice, Partial, Progress, Result

log = logging.getLogger("genloom.worker")
_STOP = object()


class _Thread(QThread):
    def __init__(self, worker: "InferenceWorker"):
        super().__init__()
        self.worker = worker
        self.setObjectName("genloom-inference")

    def run(self) -> None:
        self.worker._loop()


class InferenceWorker(QObject):
    started = Signal(int)  # request id
    progress = Signal(int, int, int, float)  # id, step, total, eta seconds
    partial = Signal(int, str, object)  # id, what, payload
    notice = Signal(int, str)  # id, text
    finished = Signal(int, object)  # id, result dict
    failed = Signal(int, str)  # id, one-line reason
    cancelled = Signal(int)  # id
    busy_changed = Signal(bool)

    def __init__(self, provider: str | None = None, context_factory=None, parent=None):
        super().__init__(parent)
        self._factory = context_factory or (lambda: Context(provider=provider))
        self._queue: list[tuple[int, object, bool]] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._running: int | None = None
        self._cancel: set[int] = set()
        self.ctx: Context | None = None
        self._thread = _Thread(self)
        self._thread.start()

    # ---- GUI-thread API --------------------------------------------------------------------------
    def submit(self, request, latest_wins: bool = False) -> int:
        """Queue a request; returns its id. latest_wins drops pending requests of the same type."""
        request_id = next(self._ids)
        dropped = []
        with self._cond:
            if latest_wins:
                keep = []
                for item in self._queue:
                    (dropped if type(item[1]) is type(request) else keep).append(item)
                self._queue = keep
            self._queue.append((request_id, request, latest_wins))
            self._cond.notify()
        for item in dropped:
            self.cancelled.emit(item[0])
        return request_id

    def cancel(self, request_id: int | None = None) -> None:
        """Cancel a pending or running request (the running one stops at its next step)."""
        with self._cond:
            target = self._running if request_id is None else request_id
            before = len(self._queue)
            self._queue = [item for item in self._queue if item[0] != target]
            removed = len(self._queue) != before
            if target is not None and not removed:
                self._cancel.add(target)
        if removed:
            self.cancelled.emit(target)

    def pending(self) -> list[int]:
        with self._cond:
            return [item[0] for item in self._queue]

    @property
    def running(self) -> int | None:
        return self._running

    def shutdown(self, timeout_ms: int = 60000) -> None:
        """Cancel the running job, drop the queue and wait for the thread (jobs stop at their next step)."""
        with self._cond:
            if self._running is not None:
                self._cancel.add(self._running)
            self._queue = [(0, _STOP, False)]
            self._cond.notify()
        self._thread.wait(timeout_ms)

    # ---- worker thread ---------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                request_id, request, _ = self._queue.pop(0)
                if request is _STOP:
                    return
                self._running = request_id
            self.busy_changed.emit(True)
            try:
                self._run_one(request_id, request)
            finally:
                with self._cond:
                    self._running = None
                    self._cancel.discard(request_id)
                    idle = not self._queue
                if idle:
                    self.busy_changed.emit(False)

    def _run_one(self, request_id: int, request) -> None:
        self.started.emit(request_id)
        start = time.perf_counter()

        def is_cancelled() -> bool:
            return request_id in self._cancel

        def on_event(event) -> None:
            if isinstance(event, Progress):
                elapsed = time.perf_counter() - start
                done = event.step / max(1, event.total)
                eta = elapsed / done - elapsed if done > 0 else -1.0
                self.progress.emit(request_id, event.step, event.total, eta)
            elif isinstance(event, Partial):
                self.partial.emit(request_id, event.what, event.payload)
            elif isinstance(event, Notice):
                self.notice.emit(request_id, event.text)
            elif isinstance(event, Result):
                pass

        try:
            if self.ctx is None:
                self.ctx = self._factory()
            if is_cancelled():
                raise Cancelled()
            result = jobs.drive(request, self.ctx, on_event, is_cancelled)
        except Cancelled:
            self.cancelled.emit(request_id)
        except GenloomError as exc:
            self.failed.emit(request_id, one_line(exc))
        except Exception as exc:  # never let a bug kill the thread; log it for bug reports
            log.error("job %s failed:\n%s", type(request).__name__, traceback.format_exc())
            self.failed.emit(request_id, one_line(exc))
        else:
            self.finished.emit(request_id, result)
