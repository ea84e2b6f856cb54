"""The run view widget (anywidget): one thread's state, or one invocation's (see :class:`RunView`).

Threading: a run executes in the background and the cell that started it
returns at once, so the kernel stays responsive and a submitted form is
handled right away; ``view.wait()`` blocks until the run is no longer
``running``. Every button is also a method (``view.resume(value)``,
``view.stop()``, ``view.continue_()``). Without a widget front end the view
shows a deterministic ``text/plain`` transcript and a static ``text/html``
rendering (:mod:`.views`), refreshed under its display id.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import traitlets as t

from . import actions
from .live import Live, hub
from .mime import run_bundle as saved_view_bundle
from .views import static_html, transcript
from .widget_base import _answer, _Base, _error_message, checked

FULL_PUSH_INTERVAL = 1.0  # seconds between whole-state pushes to a view whose front end has not asked yet
SAVED_REFRESH = 5.0  # seconds between refreshes of a running view's saved state (what a notebook saved mid-run keeps)

# Hides a run view's static twin while the live widget is drawn in the output just before it.
_TWIN_STYLE = ("<style>.jp-OutputArea-child:has(.nbflow-run:not(.nbflow-static)) + "
               ".jp-OutputArea-child:has(.nbflow-twin) { display: none; }</style>")


# ---------------------------------------------------------------------------- run view
class RunView(_Base):
    """A live view of one thread: its current state (one row per task call), questions and result.

    The view is a projection of the thread's :class:`~.live.Live`: any change
    to the thread made anywhere in this kernel reaches it. It holds no state
    but UI state, with one exception: a view that belongs to an invocation
    (``own``: made by ``show(workflow, input, config)``) follows that invocation
    through its pauses, resumes and result; once the thread starts a newer
    invocation the view keeps its own one (the state the thread model archived
    for it: ``moved_on`` set, open questions superseded) and stops following.
    """

    _kind = t.Unicode("run").tag(sync=True)
    _uid = t.Unicode("").tag(sync=True)  # keys the front end's UI state (drafts) across re-renders
    status = t.Unicode("idle").tag(sync=True)

    def __init__(self, live: Live, own: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.live = live
        self.own = own        # the invocation this view belongs to (None: it follows the thread)
        self._kept: tuple | None = None  # (state, rows, value) of ``own`` once the thread moved past it
        if own is not None:
            with live.lock:
                live.model.keep[own] = live.model.keep.get(own, 0) + 1
        self.messages_sent = 0
        self._display_id = f"nbflow-{uuid.uuid4().hex}"
        self._uid = self._display_id
        self._displayed = False
        self._settled_shown: tuple | None = None
        self._saved_at = 0.0  # when the saved state under our display id was last refreshed
        self._saved_timer: threading.Timer | None = None
        self._synced = False   # the front end asked for (and got) a snapshot
        self._last_full = 0.0
        self.status = live.model.status
        self.on_msg(self._on_msg)
        live.subscribers.add(self)

    # ------------------------------------------------------------------ kernel → front end
    def thread_changed(self, live: Live, reset: bool, seq: int, state: dict | None, rows: list) -> None:
        if self._kept is not None:
            return
        if self.own is not None and (state["invocation"] if state is not None else live.model.invocation) > self.own:
            self._keep_own(live)
            return
        if not reset and not self._synced and time.monotonic() - self._last_full >= FULL_PUSH_INTERVAL:
            # The front end has not had a snapshot yet: its request waits behind a busy cell (comm
            # messages are handled between cells), so push the whole state now and then meanwhile.
            self._last_full = time.monotonic()
            seq, state, rows = live.snapshot()
            self._send_kind("snapshot", seq=seq, state=state, rows=rows)
            self.messages_sent += 1
            if state["status"] != self.status:
                self.status = state["status"]
            return
        if state is not None and state["status"] == "running" and self._displayed:
            self._refresh_saved_soon(live)
        if reset:
            self._send_kind("snapshot", seq=seq, state=state or live.state(), rows=rows)
        elif state is not None:
            self._send_kind("batch", seq=seq, state=state, rows=rows)
        else:
            self._send_kind("batch", seq=seq, rows=rows)
        self.messages_sent += 1
        if state is not None and state["status"] != self.status:
            self.status = state["status"]

    def thread_settled(self, live: Live, force: bool = False) -> None:
        """The thread stopped (done, failed or waiting): refresh the saved fallbacks under our display id.

        ``force`` re-sends even an unchanged rendering: ``wait()`` does, from the cell that waits, so a
        notebook runner that only reads messages of the executing cell (nbclient) sees the update too.
        """
        if not self._displayed:
            return
        text, html = self._fallbacks()
        if (text, html) == self._settled_shown and not force:
            return
        self._settled_shown = (text, html)
        from IPython.display import update_display

        widget, twin = self._display_bundles(text, html)
        update_display(widget[0], raw=True, metadata=widget[1], display_id=self._display_id)
        update_display(twin, raw=True, display_id=self._display_id + "-static")

    def _refresh_saved_soon(self, live: Live) -> None:
        """A running view's saved state is refreshed at most every :data:`SAVED_REFRESH` seconds (and once
        more after the last change), so a notebook saved mid-run keeps the run as it was then, not as the
        cell began it; reopened, the view's liveness says whether it is still going."""
        if self._saved_timer is not None:
            return
        delay = max(0.0, self._saved_at + SAVED_REFRESH - time.monotonic())

        def refresh() -> None:
            self._saved_timer = None
            self._saved_at = time.monotonic()
            if self._kept is None and self.live.model.status == "running":
                self.thread_settled(live)

        self._saved_timer = threading.Timer(delay, refresh)
        self._saved_timer.daemon = True
        self._saved_timer.start()

    def _keep_own(self, live: Live) -> None:
        """The thread started an invocation newer than this view's: keep showing ours, stop following."""
        with live.lock:
            kept = live.model.archive.get(self.own)  # type: ignore[arg-type]
        if kept is None:  # not archived (cannot happen for a view made before the newer run started)
            kept = live.model.kept()
        self._kept = kept
        live.subscribers.discard(self)
        self._send_kind("snapshot", seq=live.model.seq, state=kept[0], rows=kept[1])
        self.messages_sent += 1
        self.status = kept[0]["status"]
        self.thread_settled(live)

    def _moved_on(self) -> bool:
        if self._kept is None:
            return False
        self._send_kind("action_error", message=f"This view keeps turn {self.own} of thread {self.thread_id}; "
                        "the thread has a newer turn since. Use the newest turn's view, the timeline or "
                        "nbflow.show(workflow, config=...) for the thread as it is now.")
        return True

    def _snapshot(self) -> tuple[int, dict, list[dict]]:
        if self._kept is not None:
            return self.live.model.seq, self._kept[0], self._kept[1]
        return self.live.snapshot()

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        content = checked(self, content)
        if content is None:
            return
        kind = content.get("kind")
        if kind != "snapshot_request" and kind != "graph_request" and self._moved_on():
            return
        if kind == "snapshot_request" and self._kept is not None:
            self._synced = True
            seq, state, rows = self._snapshot()
            self._send_kind("snapshot", seq=seq, state=state, rows=rows)
        elif kind == "snapshot_request":
            self._synced = True
            with hub()._flush_lock:
                seq, state, rows = self.live.snapshot()
                self._send_kind("snapshot", seq=seq, state=state, rows=rows)
        elif kind == "resume":
            _answer(self, self.live, [content], "a run view")
        elif kind == "resume_all":
            _answer(self, self.live, list(content.get("answers") or []), "a run view")
        elif kind == "graph_request":
            try:
                text, note = actions.graph(self.live)
            except Exception as exc:  # noqa: BLE001 - shown in the Graph tab
                text, note = "", f"The graph could not be read: {_error_message(exc)}"
            self._send_kind("graph", mermaid=text, note=note)
        elif kind in ("stop", "continue"):
            try:
                self.stop() if kind == "stop" else self.continue_()
            except Exception as exc:  # noqa: BLE001 - reported in the view
                self._send_kind("action_error", message=_error_message(exc))

    # ------------------------------------------------------------------ Python API
    def resume(self, value: Any) -> None:
        """Answer the open question (or ``{interrupt_id: value, ...}``); the run continues in the background."""
        actions.resume_value(self.live, value, "code (view.resume)")

    def stop(self) -> bool:
        """Stop the thread's running invocation (the Stop button); False when nothing was running."""
        return actions.stop(self.live)

    def continue_(self) -> None:
        """Continue a stopped invocation from its last finished task (the Continue button)."""
        actions.continue_(self.live)

    def wait(self, timeout: float | None = None) -> str:
        """Block until the thread is not ``running`` (or ``timeout`` seconds); returns the status."""
        if self._kept is not None:
            return str(self._kept[0]["status"])
        status = hub().wait(self.live, timeout)
        if status != "running":
            self.thread_settled(self.live, force=True)
        return status

    @property
    def state(self) -> dict:
        """The :class:`~.protocol.RunState` the front end shows (the thread's, or this view's own invocation's)."""
        return self._snapshot()[1]

    @property
    def rows(self) -> list[dict]:
        return self._snapshot()[2]

    @property
    def value(self) -> Any:
        """The run's return value (None until it is done)."""
        return self._kept[2] if self._kept is not None else self.live.model.value

    @property
    def interrupts(self) -> tuple:
        """The open :class:`nbflow.Interrupt` questions."""
        return tuple(actions.pending(self.live).values())

    @property
    def config(self) -> dict:
        return self.live.config

    @property
    def thread_id(self) -> str | None:
        return self.live.thread_id

    def _fallbacks(self) -> tuple[str, str]:
        _seq, state, rows = self._snapshot()
        return transcript(state, rows), static_html(state, rows)

    @property
    def transcript(self) -> str:
        return self._fallbacks()[0]

    def _repr_html_(self) -> str:
        return self._fallbacks()[1]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        text, html = self._fallbacks()
        return self._bundle(text, html, kwargs)

    def _display_bundles(self, text: str, html: str) -> tuple[tuple[dict, dict], dict]:
        """The widget output (widget view + text/plain) and its static twin (text/html).

        nbconvert and other renderers without the widget state pick the widget
        view over text/html and draw nothing, so the HTML goes into a second
        output. Its inline style hides it while a live view is drawn just above
        it (JupyterLab, Notebook 7); everywhere else -- nbconvert HTML, a
        notebook reopened without its kernel -- it shows the thread's last state.
        """
        data, meta = self._bundle(text, html, {})
        widget = {k: v for k, v in data.items() if k != "text/html"}
        # nbflow.notebook.mime: the state a saved notebook shows (this view's own invocation once it moved on)
        widget.update(saved_view_bundle(self.live, *self._snapshot()[1:]))
        twin = {"text/html": _TWIN_STYLE + f'<div class="nbflow-twin">{html}</div>'}
        return (widget, meta), twin

    def _ipython_display_(self) -> None:
        """Display with display ids, so the saved fallbacks can be refreshed when the thread settles."""
        from IPython.display import display

        text, html = self._fallbacks()
        self._displayed = True
        self._settled_shown = (text, html)
        self._saved_at = time.monotonic()
        widget, twin = self._display_bundles(text, html)
        display(widget[0], raw=True, metadata=widget[1], display_id=self._display_id)
        display(twin, raw=True, display_id=self._display_id + "-static")

    def __repr__(self) -> str:
        return self.transcript



__all__ = ["FULL_PUSH_INTERVAL", "SAVED_REFRESH", "RunView"]
