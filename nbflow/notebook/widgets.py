"""The notebook widgets (anywidget): run view and timeline, plus ``show``/``timeline`` (and ``inbox``,
re-exported from :mod:`.inbox_view`); the plumbing they share is in :mod:`.widget_base`.

Each widget forwards a pure view-model (:mod:`.views`, :mod:`.forms`) to
the front end bundled from ``labextension/`` (``static/widget.js`` and
``static/widget.css``); one bundle serves all three, picking the view from
the ``_kind`` trait. Wire format: :mod:`.protocol`.

Threading: a run executes in the background and the cell that started it
returns at once, so the kernel stays responsive and a submitted form is
handled right away; ``view.wait()`` blocks until the run is no longer
``running``. Every button is also a method: ``view.resume(value)``,
``timeline.replay(i)`` / ``timeline.fork(i, k, value=...)``,
``inbox.resume(thread_id, value)``.

Without a widget front end (terminal IPython, nbconvert to HTML, GitHub)
the views show a deterministic ``text/plain`` transcript and a static
``text/html`` rendering instead.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import ipywidgets
import traitlets as t

from ..types import Command
from . import actions
from .inbox_view import Inbox, inbox
from .live import Live, hub
from .mime import run_bundle as saved_view_bundle
from .session import session
from .views import (
    compare_invocations,
    state_chat,
    state_views,
    static_html,
    timeline_html,
    timeline_model,
    timeline_transcript,
    transcript,
)
from .widget_base import _MISSING, ATTACH, STATIC, _answer, _Base, _check_workflow, _error_message, checked

OTHER_THREADS = 50  # other threads of the workflow a timeline offers to compare with
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


def _with_thread(workflow: Any, config: Mapping | None) -> dict:
    config = dict(config or {})
    conf = dict(config.get("configurable") or {})
    if workflow.checkpointer is not None and not conf.get("thread_id"):
        conf["thread_id"] = session().next_thread_id(workflow)
    if conf:
        config["configurable"] = conf
    return config


def show(workflow: Any, input: Any = ATTACH, config: Mapping | None = None) -> RunView:
    """Run ``workflow`` on ``input`` and return a live :class:`RunView` of that invocation (the cell returns at once).

    The view follows the invocation through its questions, resumes and result and then stays on it: a
    newer turn on the thread gets its own view, and a saved notebook keeps each turn's.

    Without ``config``, a workflow with a checkpointer gets a new readable
    thread id (``NAME-1``, ``NAME-2``, ...). Without ``input``, the view
    attaches to the thread in ``config`` and shows its current state, e.g. to
    answer a question asked before a kernel restart. Errors found before the
    run starts (a bad config, a resume that fits nothing) raise here.
    """
    _check_workflow(workflow)
    sess = session()
    sess.register(workflow)
    config = _with_thread(workflow, config)
    thread_id = (config.get("configurable") or {}).get("thread_id")
    if thread_id is not None:
        sess.last_thread[workflow.name] = str(thread_id)
    if input is ATTACH:
        if workflow.checkpointer is None or thread_id is None:
            raise ValueError("show(workflow) without an input attaches to an existing thread: pass "
                             "config={'configurable': {'thread_id': ...}} of a workflow with a checkpointer")
        return RunView(actions.attach(workflow, str(thread_id)))
    live = actions.live_for(workflow, config)
    with live.lock:  # a new input starts the thread's next invocation; a resume or None continues this one
        own = live.model.invocation + (0 if input is None or isinstance(input, Command) else 1)
    view = RunView(live, own=own if live.thread_id is not None else None)
    actions.start(workflow, input, config, live)
    hub().sync_status(live, view)  # "running" from the moment show() returns, not when the flusher next runs
    return view


# ---------------------------------------------------------------------------- timeline
class TimelineView(_Base):
    """The timeline itself (the front end draws it from ``data``)."""

    _kind = t.Unicode("timeline").tag(sync=True)
    data = t.Dict().tag(sync=True)


class Timeline(ipywidgets.VBox):
    """A thread's invocations on a time axis, with Replay and Fork; runs it starts appear below."""

    def __init__(self, workflow: Any, config: Mapping) -> None:
        _check_workflow(workflow)
        conf = dict((config or {}).get("configurable") or {})
        if not conf.get("thread_id"):
            raise ValueError("timeline() needs config={'configurable': {'thread_id': ...}}")
        self.workflow = workflow
        self.thread_id = str(conf["thread_id"])
        self.config = {"configurable": {"thread_id": self.thread_id,
                                        "checkpoint_ns": conf.get("checkpoint_ns", "")}}
        self.core = TimelineView()
        self.runs = ipywidgets.VBox()
        self.invocations: list = []
        super().__init__([self.core, self.runs])
        self.core.on_msg(self._on_msg)
        self.live = actions.attach(workflow, self.thread_id) if workflow.checkpointer is not None else None
        if self.live is not None:
            self.live.subscribers.add(self)
        self.refresh()

    def thread_changed(self, live: Live, reset: bool, seq: int, state: dict | None, rows: list) -> None:
        pass

    def thread_settled(self, live: Live) -> None:
        """The thread changed and stopped (a run here, in another cell, an edit): redraw the tree."""
        self.refresh()

    def refresh(self) -> None:
        """Reload the thread's invocations from the checkpointer."""
        self.invocations = self.workflow.get_invocations(self.config)
        data = timeline_model(self.workflow.name, self.thread_id, self.invocations)
        # other threads of the workflow, to compare with (a fork on a new thread vs its origin)
        data["threads"] = [t for t in self.workflow.list_threads() if t != self.thread_id][:OTHER_THREADS]
        self.core.data = data

    @property
    def data(self) -> dict:
        return self.core.data

    def _invocation(self, index: int) -> Any:
        if not isinstance(index, int) or not 0 <= index < len(self.invocations):
            raise IndexError(f"invocation index must be 0..{len(self.invocations) - 1}, got {index!r}")
        return self.invocations[index]

    def _open(self, config: dict) -> RunView:
        tid = str(config["configurable"]["thread_id"])
        live = actions.attach(self.workflow, tid)
        live.subscribers.add(self)  # a branch on another thread: its end updates the threads to compare with
        view = RunView(live)
        actions.start(self.workflow, None, config, live)
        # each replay or fork adds its view (newest first): a fork never replaces the view of the run before it
        self.runs.children = (view, *self.runs.children)
        return view

    def replay(self, index: int) -> RunView:
        """Re-run invocation ``index`` from its input on this thread (a new branch from its checkpoint;
        recorded task results are not reused)."""
        inv = self._invocation(index)
        if inv.status == "update":
            raise ValueError(f"invocation #{index} is a state edit (update_state), not a run; nothing to replay")
        return self._open({"configurable": {"thread_id": self.thread_id, "checkpoint_ns": inv.checkpoint_ns,
                                            "checkpoint_id": inv.checkpoint_id}})

    def fork(self, invocation_index: int, task_index: int, value: Any = _MISSING,
             thread_id: str | None = None, same_thread: bool = False) -> RunView:
        """Branch invocation ``invocation_index`` at its task ``task_index`` (as listed) and run the branch.

        With ``value`` that task's result is replaced by ``value`` and the
        tasks after it run again; without, the task itself runs again. The
        branch goes to a NEW thread (``thread_id``, or the next readable id)
        unless ``same_thread=True``.
        """
        inv = self._invocation(invocation_index)
        rows = self.core.data["invocations"][invocation_index]["tasks"]
        if not isinstance(task_index, int) or not 0 <= task_index < len(rows):
            raise IndexError(f"task index must be 0..{len(rows) - 1}, got {task_index!r}")
        k = rows[task_index]["fork"]
        if k is None:
            raise ValueError(f"task #{task_index} ({rows[task_index]['name']}) has no result to fork from")
        if thread_id is None and not same_thread:
            thread_id = session().next_thread_id(self.workflow)
        kwargs: dict = {"thread_id": thread_id}
        if value is not _MISSING:
            kwargs.update(task_index=k + 1, value=value)
        else:
            kwargs.update(task_index=k)
        new_config = self.workflow.fork(inv.config, **kwargs)
        return self._open(new_config)

    def compare(self, left: int, right: int, thread_id: str | None = None) -> list[dict]:
        """Invocations ``left`` and ``right`` side by side: input, each task's output, answers, return value.

        With ``thread_id``, ``right`` is an invocation of that other thread of the
        workflow (``-1``: its latest), e.g. a fork on a new thread against its origin.
        """
        self._invocation(left)
        invs = self.core.data["invocations"]
        if thread_id is None or str(thread_id) == self.thread_id:
            self._invocation(right)
            return compare_invocations(invs[left], invs[right])
        other = self._other(str(thread_id))
        n = len(other["invocations"])
        k = n - 1 if right == -1 else right
        if not isinstance(k, int) or not 0 <= k < n:
            raise IndexError(f"thread {thread_id!r} has invocations 0..{n - 1}, got {right!r}")
        return compare_invocations(invs[left], other["invocations"][k])

    def _other(self, thread_id: str) -> dict:
        """The timeline model of another thread of this workflow (for comparisons)."""
        if thread_id not in self.workflow.list_threads():
            raise ValueError(f"{self.workflow.name} has no thread {thread_id!r} to compare with")
        conf = {"configurable": {"thread_id": thread_id, "checkpoint_ns": self.config["configurable"]["checkpoint_ns"]}}
        return timeline_model(self.workflow.name, thread_id, self.workflow.get_invocations(conf))

    def state_at(self, index: int) -> tuple[str, str]:
        """``(pretty, json)``: the state saved at the end of invocation ``index`` (its checkpoint)."""
        return state_views(self._values_at(index))

    def _values_at(self, index: int) -> Any:
        inv = self._invocation(index)
        cid = getattr(inv, "result_checkpoint_id", None) or inv.checkpoint_id
        snap = self.workflow.get_state({"configurable": {"thread_id": self.thread_id,
                                                         "checkpoint_ns": inv.checkpoint_ns, "checkpoint_id": cid}})
        return snap.values

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        content = checked(self.core, content)
        if content is None:
            return
        kind = content.get("kind")
        try:
            if kind == "replay":
                self.replay(_int(content, "index"))
            elif kind == "fork":
                extra = {"value": content["value"]} if "value" in content else {}
                self.fork(_int(content, "invocation"), _int(content, "task"),
                          same_thread=bool(content.get("same_thread")), **extra)
            elif kind == "refresh":
                self.refresh()
            elif kind == "compare":
                left, right, other = _int(content, "left"), _int(content, "right"), content.get("right_thread")
                rows = self.compare(left, right, other)
                right_label = f"#{right}" if not other else \
                    f"thread {other} #{right if right != -1 else len(self._other(str(other))['invocations']) - 1}"
                self.core._send_kind("comparison", left=left, right=right, left_label=f"#{left}",
                                     right_label=right_label, rows=rows)
            elif kind == "state_request":
                index = _int(content, "index")
                values = self._values_at(index)
                pretty_text, json_text = state_views(values)
                self.core._send_kind("state", index=index, thread_id=self.thread_id, pretty=pretty_text,
                                     json=json_text, note="", chat=state_chat(values))
        except Exception as exc:  # noqa: BLE001 - reported in the view
            self.core._send_kind("action_error", message=_error_message(exc))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        out = super()._repr_mimebundle_(**kwargs)
        data, meta = out if isinstance(out, tuple) else (out or {}, {})
        data = dict(data)
        data["text/plain"] = timeline_transcript(self.core.data)
        data["text/html"] = timeline_html(self.core.data)
        return data, meta

    def _repr_html_(self) -> str:
        return timeline_html(self.core.data)

    def __repr__(self) -> str:
        return timeline_transcript(self.core.data)


def timeline(workflow: Any, config: Mapping) -> Timeline:
    """The timeline of thread ``config`` of ``workflow`` (see :class:`Timeline`)."""
    return Timeline(workflow, config)



def _int(content: Mapping, key: str) -> int:
    """An integer field of a front-end message, or a clear error (shown in the view) naming it."""
    value = content.get(key)
    if type(value) is not int:
        raise ValueError(f"the view sent {key}={value!r}; expected an integer (reload the view)")
    return value

__all__ = ["ATTACH", "STATIC", "Inbox", "RunView", "Timeline", "TimelineView", "inbox", "show", "timeline"]
