"""Driving a run for a view: a consumer thread, batched publishing, resume (no widget imports).

A :class:`RunController` owns one :class:`~nbflow.notebook.views.RunModel`
and keeps it up to date from ``workflow.stream_events(...)``:

* the run itself executes on the runtime's own thread; a **consumer** thread
  reads its events and folds each into the model under a lock (a few
  microseconds per event) and wakes the **flusher**;
* the flusher publishes at most once per ``interval`` (50 ms: ≤ 20 flushes a
  second): the ops recorded since the last flush plus the header state, via
  the ``publish(ops, state)`` callback the widget supplies; both threads end
  with the run, after one final flush;
* :meth:`resume` sends ``Command(resume=...)`` for the pending interrupts
  (a map by interrupt id when several are pending) and the same model goes
  on. Errors found before the run starts (``ResumeValidationError``,
  ``ResumeError``) raise from :meth:`resume` itself and change nothing.

The cell that started a run returns at once; :meth:`wait` blocks until the
status is no longer ``running``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from ..types import Command
from .views import RunModel

FLUSH_INTERVAL = 0.05

# Every settled run is announced here too, so views showing the same thread
# elsewhere (an inbox drawn earlier) can update. Held weakly: a listener that
# is garbage-collected simply stops hearing.
_settle_listeners: "weakref.WeakSet[Any]" = weakref.WeakSet()


def listen_to_all_runs(listener: Any) -> None:
    """``listener.run_settled(controller)`` is called whenever any run of this kernel settles."""
    _settle_listeners.add(listener)

Publish = Callable[[list, dict], None]


class RunController:
    """Runs one thread of a workflow into a :class:`RunModel` (see the module docstring)."""

    def __init__(self, workflow: Any, config: dict | None, *, publish: Publish | None = None,
                 interval: float = FLUSH_INTERVAL) -> None:
        self.workflow = workflow
        self.config = dict(config or {})
        thread_id = (self.config.get("configurable") or {}).get("thread_id")
        self.model = RunModel(workflow.name, None if thread_id is None else str(thread_id))
        self.publish = publish
        self.interval = interval
        self.lock = threading.Lock()        # guards the model
        self.send_lock = threading.RLock()  # orders everything published
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._streaming = False
        self._consumer: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self._last_flush = 0.0
        self.on_settled: list[Callable[[RunController], None]] = []

    # ------------------------------------------------------------------ state
    @property
    def status(self) -> str:
        return self.model.status

    @property
    def thread_config(self) -> dict:
        """The config of the thread, without a checkpoint id (for get_state, history, resume)."""
        conf = {k: v for k, v in (self.config.get("configurable") or {}).items() if k != "checkpoint_id"}
        return {**self.config, "configurable": conf}

    def state(self) -> dict:
        with self.lock:
            return self._state()

    def _state(self) -> dict:
        m = self.model
        header = m.header()
        if m.started_at is not None:
            end = m.ended_at if m.ended_at is not None else time.time()
            header["elapsed"] = round(max(0.0, end - m.started_at), 3)
        return {"status": m.status, "header": header, "forms": m.forms, "result": m.result()}

    def adopt_pending(self, interrupts: Any) -> None:
        """Treat ``interrupts`` (read from the checkpointer) as this view's pending questions."""
        with self.lock:
            self.model.set_pending(interrupts)
            self.model.status = "interrupted" if self.model.pending else self.model.status

    # ------------------------------------------------------------------ starting
    def start(self, input: Any, config: dict | None = None) -> None:
        """Start a run; pre-run errors raise here and leave the model as it was."""
        if self._streaming:
            raise RuntimeError(f"{self.workflow.name}: this view is still running; wait() for it first")
        cfg = self.config if config is None else config
        events = self.workflow.stream_events(input, cfg)
        self._begin(events)

    def resume(self, value: Any) -> None:
        """Answer the pending interrupt(s) and continue the same view.

        ``value`` answers the single pending interrupt, or is a map
        ``{interrupt_id: value}``; with several pending, a map is required
        (answering a subset is fine: the others stay pending).
        """
        self._join(5.0)
        with self.lock:
            pending = self.model.pending
            status = self.model.status
        if status != "interrupted" or not pending:
            raise RuntimeError(f"{self.workflow.name}: nothing to answer, the view is {status}")
        ids = {i.id for i in pending}
        if isinstance(value, dict) and value and all(isinstance(k, str) and k in ids for k in value):
            answers = dict(value)
        elif len(pending) == 1:
            answers = {pending[0].id: value}
        else:
            raise ValueError(f"{len(pending)} interrupts are pending; answer with {{interrupt_id: value}} "
                             f"(ids: {', '.join(sorted(ids))})")
        resume = answers if len(pending) > 1 else answers[pending[0].id]
        events = self.workflow.stream_events(Command(resume=resume), self.thread_config)
        with self.lock:
            self.model.answered(answers)
        self._begin(events)

    def attach(self) -> None:
        """Show the thread's latest stored invocation without running anything."""
        invs = self.workflow.get_invocations(self.thread_config)
        runs = [i for i in invs if i.status != "update"]
        with self.lock:
            if runs:
                self.model.load_invocation(runs[-1])
            else:
                self.model.note("this thread has no invocation yet")
        self.flush()

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            self.model.failed(exc)
        self.flush()

    def _begin(self, events: Any) -> None:
        self._idle.clear()
        self._streaming = True
        with self.lock:
            if self.model.status not in ("running",):
                self.model.status = "running"
        self._wake.clear()
        self._consumer = threading.Thread(target=self._consume, args=(events,), daemon=True,
                                          name=f"nbflow-view-{self.workflow.name}")
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                         name=f"nbflow-flush-{self.workflow.name}")
        self._flusher.start()
        self._consumer.start()

    # ------------------------------------------------------------------ threads
    def _consume(self, events: Any) -> None:
        lock, model, wake = self.lock, self.model, self._wake
        try:
            for event in events:
                with lock:
                    model.apply(event)
                if not wake.is_set():
                    wake.set()
        except BaseException as exc:  # noqa: BLE001 - shown in the view
            with lock:
                model.failed(exc)
        finally:
            with lock:
                if model.status == "running":  # the stream ended without a final event
                    model.failed(RuntimeError("the run ended without a result"))
            self._streaming = False
            wake.set()
            flusher = self._flusher
            if flusher is not None:
                flusher.join()
            self.flush()
            callbacks = [*self.on_settled, *(ls.run_settled for ls in list(_settle_listeners))]
            for callback in callbacks:  # before wait() returns: listeners are up to date
                try:
                    callback(self)
                except Exception:  # noqa: BLE001 - a listener must not break the run view
                    pass
            self._idle.set()

    def _flush_loop(self) -> None:
        wake = self._wake
        while True:
            wake.wait()
            if not self._streaming:
                return
            delay = self._last_flush + self.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            wake.clear()
            if not self._streaming:
                return  # the consumer does the final flush
            self.flush()

    def flush(self) -> None:
        """Publish what changed since the last flush (one call of ``publish``)."""
        with self.send_lock:
            with self.lock:
                ops = self.model.take_ops()
                state = self._state()
            self._last_flush = time.monotonic()
            if self.publish is not None:
                self.publish(ops, state)

    def snapshot(self) -> dict:
        """Flush pending ops, then return the whole log (call with ``send_lock`` held to keep order)."""
        with self.send_lock:
            self.flush()
            with self.lock:
                snap = self.model.snapshot()
                snap["entries"] = [dict(e) for e in snap["entries"]]
                return snap

    # ------------------------------------------------------------------ waiting
    def _join(self, timeout: float | None) -> None:
        consumer = self._consumer
        if consumer is not None and consumer is not threading.current_thread():
            consumer.join(timeout)

    def __repr__(self) -> str:
        m = self.model
        return f"<nbflow run {m.name}" + (f" · thread {m.thread_id}" if m.thread_id else "") + ">"

    def wait(self, timeout: float | None = None) -> str:
        """Block until the run is no longer running (or ``timeout`` s); returns the status."""
        self._idle.wait(timeout)
        return self.model.status


__all__ = ["FLUSH_INTERVAL", "RunController"]
