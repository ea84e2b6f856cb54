"""One live model per (saver, thread), fed by the process-wide tap, pushed to every view of it.

The :class:`Hub` (one per kernel, :func:`hub`) subscribes once to
:mod:`nbflow.tap`. For each thread somebody looks at it keeps a
:class:`Live`: a :class:`~.thread.ThreadModel` built from the saver's records
and folded forward by every event the tap delivers for that thread -- a run
started by a view, an answer from the inbox, plain ``wf.invoke(...)`` in
another cell, ``update_state`` or ``fork``. Views subscribe to a Live and
receive what changed; they keep no state of their own but UI state.

Costs: the tap listener runs inline on the run's thread. For a thread nobody
watches it is one dict lookup; for a watched one it folds the event under the
Live's lock, queues the Live as dirty and wakes the flusher. One flusher
thread per kernel sends at most one message per view every
:data:`FLUSH_INTERVAL` seconds (changed rows + state), so a 10,000-task run
costs a few microseconds per event and ≤ 20 messages a second per view.

Runs without a checkpointer (no thread) get a private Live that their own
event stream feeds (:meth:`Hub.private`).
"""

from __future__ import annotations

import collections
import itertools
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from .. import events as ev
from .. import tap
from ..checkpoint.leases import liveness_of, set_label
from ..config import ENTRYPOINT_KEY, serializer_of
from ..engine.running import running_on
from ..history.reads import latest_run
from .active import invocation_times
from .elsewhere import Poller
from .thread import ThreadModel, row_order, run_state

FLUSH_INTERVAL = 0.05
log = logging.getLogger("nbflow.notebook")

_SETTLING = (ev.RunEnd, ev.RunInterrupted, ev.RunError, ev.RunHalted)
_HEARD = frozenset({ev.RunStart, ev.TaskStart, ev.TaskEnd, ev.Custom, ev.Message, ev.RunEnd, ev.RunInterrupted,
                    ev.RunError, ev.RunHalted, tap.ThreadEdited})


class Live:
    """The live state of one thread: its model, lock, subscribers and an idle flag for ``wait()``."""

    def __init__(self, workflow: Any, thread_id: str | None, key: tuple) -> None:
        self.workflow = workflow
        self.key = key
        self.model = ThreadModel(getattr(workflow, "name", "workflow"), thread_id)
        self.lock = threading.Lock()
        self.subscribers: weakref.WeakSet[Any] = weakref.WeakSet()
        self.idle = threading.Event()
        self.idle.set()
        self.was_settled = True
        self.consumer: threading.Thread | None = None
        self.queued = False  # in the hub's dirty queue (set by fold, cleared by flush)

    @property
    def thread_id(self) -> str | None:
        return self.model.thread_id

    @property
    def config(self) -> dict:
        return {"configurable": {"thread_id": self.model.thread_id}} if self.model.thread_id is not None else {}

    def snapshot(self) -> tuple[int, dict, list[dict]]:
        """``(seq, state, rows)``: everything a (re)rendered view needs."""
        with self.lock:
            m = self.model
            rows = [dict(r) for r in sorted(m.rows.values(), key=row_order)]
            return m.seq, run_state(m), rows

    def state(self) -> dict:
        with self.lock:
            return run_state(self.model)

    def __repr__(self) -> str:
        return f"<nbflow live thread {self.model.workflow}/{self.model.thread_id} · {self.model.status}>"


class Hub:
    """Every live thread of this kernel (see the module docstring)."""

    def __init__(self, interval: float = FLUSH_INTERVAL) -> None:
        self.interval = interval
        self.lives: dict[tuple, Live] = {}
        self.watchers: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.RLock()
        self._flush_lock = threading.RLock()
        self._dirty: collections.deque[Live] = collections.deque()
        self._notices: collections.deque[tuple] = collections.deque()
        self._wake = threading.Event()
        self._last = 0.0
        self._private = itertools.count(1)
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self.flushes = 0
        self._stopped = False
        self.elsewhere = Poller(self._elsewhere_signature, self._elsewhere_changed)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Subscribe to the tap and start the flusher (idempotent)."""
        with self._lock:
            if self._unsubscribe is None:
                self._unsubscribe = tap.subscribe(self._hear, messages=True)  # views show live tokens
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="nbflow-views-flusher", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self._stopped = True
            self._wake.set()
            self.elsewhere.stop()

    # ------------------------------------------------------------------ lives
    @staticmethod
    def key_of(saver: Any, thread_id: Any) -> tuple:
        return (id(saver), str(thread_id))

    def live(self, workflow: Any, thread_id: Any) -> Live:
        """The Live of ``thread_id`` in ``workflow``'s checkpointer, built from the saver on first use."""
        self.start()
        key = self.key_of(workflow.checkpointer, thread_id)
        with self._lock:
            found = self.lives.get(key)
            if found is not None:
                if found.workflow is not workflow and getattr(found.workflow, "name", None) == workflow.name:
                    found.workflow = workflow  # the cell was re-run: use the newest definition
                return found
            live = Live(workflow, str(thread_id), key)
            invs = workflow.get_invocations({"configurable": {"thread_id": str(thread_id)}})
            live.model.load(invs, liveness=liveness(workflow, str(thread_id), invs))
            live.was_settled = live.model.settled
            self.lives[key] = live
        self._follow_elsewhere(live)
        return live

    def private(self, workflow: Any) -> Live:
        """A Live for one run without a thread (no checkpointer): fed by its own stream via :meth:`fold`."""
        self.start()
        return Live(workflow, None, ("private", next(self._private)))

    def reload(self, live: Live) -> None:
        """Rebuild ``live`` from the saver (after update_state / fork, or on request)."""
        if live.model.thread_id is None:
            return
        invs = live.workflow.get_invocations(live.config)
        lv = liveness(live.workflow, str(live.model.thread_id), invs)
        with live.lock:
            live.model.load(invs, live_running=live.model.status == "running" and not live.idle.is_set(), liveness=lv)
        self._mark(live)
        self._follow_elsewhere(live)

    # ------------------------------------------------------------------ runs in other processes
    def _follow_elsewhere(self, live: Live) -> None:
        """A thread whose newest run goes on in another process is polled until that run ends (:mod:`.elsewhere`)."""
        lv = live.model.liveness
        if lv is not None and lv.get("state") == "elsewhere" and not self._stopped:
            self.elsewhere.watch(live)

    def _elsewhere_signature(self, live: Live) -> tuple | None:
        """What the newest run looks like now, or None once it is no longer running in another process."""
        inv = latest_run(live.workflow, live.config)
        if inv is None:
            return None
        lv = liveness(live.workflow, str(live.model.thread_id), [inv])
        if lv is None or lv.get("state") != "elsewhere":
            return None
        return inv.checkpoint_id, len(inv.tasks), inv.ended_at

    def _elsewhere_changed(self, live: Live) -> bool:
        """The run elsewhere moved on: rebuild the thread (its views follow); still running elsewhere?"""
        self.reload(live)
        lv = live.model.liveness
        return lv is not None and lv.get("state") == "elsewhere"

    def owner(self, workflow: Any, thread_id: str) -> bool:
        """True when ``thread_id`` in the workflow's checkpointer was last run by this very workflow.

        Checkpoints name the entrypoint that wrote them in their metadata; a thread saved before
        they did is told by its run-level journal rows, and is claimed when it has none.
        """
        saver = workflow.checkpointer
        rec = saver.get_checkpoint(thread_id, "")
        if rec is None:
            return False
        meta = serializer_of(saver).loads(rec.metadata)
        writer = meta.get(ENTRYPOINT_KEY) if isinstance(meta, dict) else None
        if writer is None:
            writer = next((w.name for w in saver.get_writes(thread_id, "", rec.checkpoint_id) if w.path == ""),
                          None)
        return writer is None or writer == workflow.name

    # ------------------------------------------------------------------ events in
    def _hear(self, item: tap.TapEvent) -> None:
        event = item.event
        kind = type(event)
        if kind not in _HEARD:
            return  # checkpoints and the like: the model does not need them
        tid = item.thread_id
        live = self.lives.get((id(item.saver), tid if type(tid) is str else str(tid)))
        if live is None:
            if self.watchers and ((kind in _SETTLING and not event.ns) or kind is tap.ThreadEdited):
                self._notices.append((item.saver, str(item.thread_id), item.workflow))
                self._wake.set()
            return
        if kind is tap.ThreadEdited:
            with live.lock:
                live.model.edited(event.kind)
            self._mark(live)
            return
        self.fold(live, event)

    def fold(self, live: Live, event: Any) -> None:
        """Fold one event into ``live`` and schedule a flush (the per-event hot path)."""
        with live.lock:
            m = live.model
            m.apply(event)
            settled = m.status != "running"
        if settled:
            if not live.idle.is_set():
                live.idle.set()
        elif live.idle.is_set():
            live.idle.clear()
        if not live.queued:
            live.queued = True
            self._dirty.append(live)
            if not self._wake.is_set():
                self._wake.set()

    def failed(self, live: Live, exc: BaseException) -> None:
        with live.lock:
            live.model.failed(exc)
        live.idle.set()
        self._mark(live)

    def starting(self, live: Live) -> str:
        """A run is about to start on ``live``: show it running now; returns the previous status."""
        with live.lock:
            prev = live.model.status
            live.model.starting(time.time())
        live.idle.clear()
        self._mark(live)
        return prev

    def sync_status(self, live: Live, view: Any) -> None:
        """Set ``view.status`` to the thread's status now, in order with the flusher's own updates of it."""
        with self._flush_lock:
            view.status = live.model.status

    def restore(self, live: Live, status: str) -> None:
        """A start refused before it began: put the status back."""
        with live.lock:
            live.model.status = status
            live.model.origin_hint = None
            live.model.state_dirty = True
        if status != "running":
            live.idle.set()
        self._mark(live)

    def _mark(self, live: Live) -> None:
        live.queued = True
        self._dirty.append(live)
        self._wake.set()

    # ------------------------------------------------------------------ changes out
    def _loop(self) -> None:
        wake = self._wake
        while True:
            wake.wait()
            if self._stopped:
                return
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("nbflow: flushing views failed")

    def flush(self) -> None:
        """Send every pending change to the views now (the flusher calls this; so does ``wait()``)."""
        with self._flush_lock:
            self._last = time.monotonic()
            seen: set[int] = set()
            lives = []
            while self._dirty:
                live = self._dirty.popleft()
                live.queued = False
                if id(live) not in seen:
                    seen.add(id(live))
                    lives.append(live)
            for live in lives:
                self._flush_one(live)
            notices = []
            while self._notices:
                notices.append(self._notices.popleft())
            for saver, thread_id, workflow in dict.fromkeys(notices):
                for w in list(self.watchers):
                    _call(w.thread_noticed, saver, thread_id, workflow)

    def _flush_one(self, live: Live) -> None:
        if live.model.stale:
            try:
                self.reload(live)
            except Exception:
                log.exception("nbflow: reloading thread %s failed", live.model.thread_id)
                live.model.stale = False
        elif live.model.settled and not live.was_settled:
            self._stored_times(live)
        with live.lock:
            m = live.model
            reset, rows, changed = m.take_changes()
            if not (reset or rows or changed):
                return
            state = run_state(m) if changed else None
            seq, settled = m.seq, m.settled
        settled_now = settled and not live.was_settled
        live.was_settled = settled
        self.flushes += 1
        for sub in list(live.subscribers):
            _call(sub.thread_changed, live, reset, seq, state, rows)
        if settled_now or (settled and state is not None):
            for sub in list(live.subscribers):
                _call(sub.thread_settled, live)
            for w in list(self.watchers):
                _call(w.thread_settled, live)
        elif state is not None and live.thread_id is not None:
            # A thread running in this kernel: watchers that list running threads (the sidebar) may follow it.
            for w in list(self.watchers):
                hook = getattr(w, "thread_running", None)
                if hook is not None:
                    _call(hook, live)

    def _stored_times(self, live: Live) -> None:
        """A run that just settled shows the active and waiting time read from its stored records, the numbers
        a saved view, a Reattach and the timeline show for it (live events only count until then)."""
        m = live.model
        if m.thread_id is None or live.workflow.checkpointer is None or not m.checkpoint_id:
            return
        try:
            inv = latest_run(live.workflow, live.config, m.checkpoint_id)
        except Exception:
            log.debug("nbflow: reading the times of thread %s failed", m.thread_id, exc_info=True)
            return
        if inv is None:
            return
        times = invocation_times(inv)
        with live.lock:
            if m.settled and m.checkpoint_id == inv.checkpoint_id:
                m.active_s, m.waiting_s = times.active, times.waiting
                m.state_dirty = True

    def wait(self, live: Live, timeout: float | None = None) -> str:
        """Block until ``live`` is no longer running (or ``timeout`` s), then flush; returns the status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        live.idle.wait(timeout)
        consumer = live.consumer
        if consumer is not None and consumer is not threading.current_thread():
            consumer.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self.flush()
        return live.model.status


def liveness(workflow: Any, thread_id: str, invocations: list) -> dict | None:
    """``{state, owner, since}`` of the thread's newest run when it never finished (else None): going on
    in this process, in another one (its lease is renewed), or gone (:mod:`nbflow.checkpoint.leases`)."""
    runs = [i for i in invocations if i.status != "update"]
    if not runs or runs[-1].status != "running":
        return None
    saver = workflow.checkpointer
    return liveness_of(saver, thread_id, runs[-1], bool(running_on(thread_id, saver)))


def _kernel_label() -> str:
    """``kernel 1a2b3c4d`` when this is a Jupyter kernel (its connection file names it), else ``""``."""
    if "ipykernel.kernelapp" not in sys.modules:
        return ""
    try:
        app_class = sys.modules["ipykernel.kernelapp"].IPKernelApp
        if not app_class.initialized():  # never create the app (a test shell has none)
            return ""
        name = str(app_class.instance().connection_file).rsplit("/", 1)[-1]
    except Exception:  # noqa: BLE001 - a label is a nicety
        return ""
    return f"kernel {name.removeprefix('kernel-').removesuffix('.json')[:8]}" if name.startswith("kernel-") else ""


def _call(fn: Callable, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("nbflow: a view failed to take an update")


_HUB: Hub | None = None
_HUB_LOCK = threading.Lock()


def hub() -> Hub:
    """This kernel's hub (created and subscribed to the tap on first use)."""
    global _HUB
    with _HUB_LOCK:
        if _HUB is None:
            _HUB = Hub()
            set_label(_kernel_label())  # leases this process writes name its kernel
        _HUB.start()
        return _HUB


def reset_hub() -> None:
    """Forget every live thread and unsubscribe (tests)."""
    global _HUB
    with _HUB_LOCK:
        if _HUB is not None:
            _HUB.stop()
        _HUB = None


__all__ = ["FLUSH_INTERVAL", "Hub", "Live", "hub", "reset_hub"]
