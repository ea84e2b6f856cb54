"""The notebook widgets (anywidget): run view, timeline and inbox, plus ``show``/``timeline``/``inbox``.

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
from datetime import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets as t

from ..errors import NbflowError, ResumeValidationError
from . import actions, protocol
from .forms import AnswerError, errors_by_field
from .live import Live, hub
from .mime import run_bundle as saved_view_bundle
from .session import session
from .thread import run_state
from .views import (
    compare_invocations,
    inbox_html,
    inbox_transcript,
    static_html,
    timeline_html,
    timeline_model,
    timeline_transcript,
    transcript,
)

STATIC = Path(__file__).parent / "static"
_ESM_FILE = STATIC / "widget.js"
_CSS_FILE = STATIC / "widget.css"
_MISSING: Any = object()
ATTACH: Any = object()  # show() without an input: attach to the thread's stored state

_FALLBACK_ESM = """
export default { render({ model, el }) {
  el.classList.add("nbflow-run");
  el.dataset.status = model.get("status") || "";
  el.textContent = "nbflow: the front end is not built (run `make js` or `npm run build` in labextension/).";
} };
"""


def _asset(path: Path, fallback: str) -> Any:
    return path if path.is_file() else fallback


class _Base(anywidget.AnyWidget):
    _esm = _asset(_ESM_FILE, _FALLBACK_ESM)
    _css = _asset(_CSS_FILE, "")

    def _send_kind(self, kind: str, **fields: Any) -> None:
        self.send(protocol.message(kind, **fields))

    def _bundle(self, text: str, html: str, kwargs: dict) -> Any:
        out = super()._repr_mimebundle_(**kwargs)
        data, meta = out if isinstance(out, tuple) else (out or {}, {})
        data = dict(data)
        data["text/plain"] = text
        data["text/html"] = html
        return data, meta


FULL_PUSH_INTERVAL = 1.0  # seconds between whole-state pushes to a view whose front end has not asked yet

# Hides a run view's static twin while the live widget is drawn in the output just before it.
_TWIN_STYLE = ("<style>.jp-OutputArea-child:has(.nbflow-run:not(.nbflow-static)) + "
               ".jp-OutputArea-child:has(.nbflow-twin) { display: none; }</style>")


def _error_message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------------------- run view
class RunView(_Base):
    """A live view of one thread: its current state (one row per task call), questions and result.

    The view is a projection of the thread's :class:`~.live.Live`: any change
    to the thread made anywhere in this kernel reaches it. It holds no state
    but UI state; every view of one thread shows the same thing.
    """

    _kind = t.Unicode("run").tag(sync=True)
    _uid = t.Unicode("").tag(sync=True)  # keys the front end's UI state (drafts) across re-renders
    status = t.Unicode("idle").tag(sync=True)

    def __init__(self, live: Live, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.live = live
        self.messages_sent = 0
        self._display_id = f"nbflow-{uuid.uuid4().hex}"
        self._uid = self._display_id
        self._displayed = False
        self._settled_shown: tuple | None = None
        self._synced = False   # the front end asked for (and got) a snapshot
        self._last_full = 0.0
        self.status = live.model.status
        self.on_msg(self._on_msg)
        live.subscribers.add(self)

    # ------------------------------------------------------------------ kernel → front end
    def thread_changed(self, live: Live, reset: bool, seq: int, state: dict | None, rows: list) -> None:
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

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        if kind == "snapshot_request":
            self._synced = True
            with hub()._flush_lock:
                seq, state, rows = self.live.snapshot()
                self._send_kind("snapshot", seq=seq, state=state, rows=rows)
        elif kind == "resume":
            _answer(self, self.live, [content], "a run view")
        elif kind == "resume_all":
            _answer(self, self.live, list(content.get("answers") or []), "a run view")

    # ------------------------------------------------------------------ Python API
    def resume(self, value: Any) -> None:
        """Answer the open question (or ``{interrupt_id: value, ...}``); the run continues in the background."""
        actions.resume_value(self.live, value, "code (view.resume)")

    def wait(self, timeout: float | None = None) -> str:
        """Block until the thread is not ``running`` (or ``timeout`` seconds); returns the status."""
        status = hub().wait(self.live, timeout)
        if status != "running":
            self.thread_settled(self.live, force=True)
        return status

    @property
    def state(self) -> dict:
        """The thread's current :class:`~.protocol.RunState` (what the front end shows)."""
        return self.live.state()

    @property
    def rows(self) -> list[dict]:
        return self.live.snapshot()[2]

    @property
    def value(self) -> Any:
        """The run's return value (None until it is done)."""
        return self.live.model.value

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
        _seq, state, rows = self.live.snapshot()
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
        widget.update(saved_view_bundle(self.live))  # nbflow.notebook.mime: the state a saved notebook shows
        twin = {"text/html": _TWIN_STYLE + f'<div class="nbflow-twin">{html}</div>'}
        return (widget, meta), twin

    def _ipython_display_(self) -> None:
        """Display with display ids, so the saved fallbacks can be refreshed when the thread settles."""
        from IPython.display import display

        text, html = self._fallbacks()
        self._displayed = True
        self._settled_shown = (text, html)
        widget, twin = self._display_bundles(text, html)
        display(widget[0], raw=True, metadata=widget[1], display_id=self._display_id)
        display(twin, raw=True, display_id=self._display_id + "-static")

    def __repr__(self) -> str:
        return self.transcript


def _answer(widget: Any, live: Live, msgs: list, origin: str, extra: dict | None = None) -> None:
    """Decode front-end answers and resume ``live`` with them; refusals go back to the form."""
    iid = ""
    try:
        answers = {}
        for m in msgs:
            iid = str(m.get("id", "")) if isinstance(m, Mapping) else ""
            if not isinstance(m, Mapping):
                raise AnswerError("an answer must be an object {id, value}")
            k, v = actions.answer(live, m)
            answers[k] = v
        actions.resume(live, answers, origin)
    except ResumeValidationError as exc:
        widget._send_kind("resume_error", id=iid, message=_error_message(exc), errors=errors_by_field(exc.errors),
                          **(extra or {}))
    except (NbflowError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else _error_message(exc)
        widget._send_kind("resume_error", id=iid, message=str(msg), errors=[], **(extra or {}))


def _check_workflow(workflow: Any) -> None:
    if not callable(getattr(workflow, "stream_events", None)):
        raise TypeError(f"expected an nbflow workflow (made with @entrypoint), got {type(workflow).__name__}")


def _with_thread(workflow: Any, config: Mapping | None) -> dict:
    config = dict(config or {})
    conf = dict(config.get("configurable") or {})
    if workflow.checkpointer is not None and not conf.get("thread_id"):
        conf["thread_id"] = session().next_thread_id(workflow)
    if conf:
        config["configurable"] = conf
    return config


def show(workflow: Any, input: Any = ATTACH, config: Mapping | None = None) -> RunView:
    """Run ``workflow`` on ``input`` and return a live :class:`RunView` of its thread (the cell returns at once).

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
    view = RunView(live)
    actions.start(workflow, input, config, live)
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
        self.core.data = timeline_model(self.workflow.name, self.thread_id, self.invocations)

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
        view = RunView(live)
        actions.start(self.workflow, None, config, live)
        self.runs.children = (view,)
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

    def compare(self, left: int, right: int) -> list[dict]:
        """Invocations ``left`` and ``right`` side by side: input, each task's output, answers, return value."""
        self._invocation(left)
        self._invocation(right)
        invs = self.core.data["invocations"]
        return compare_invocations(invs[left], invs[right])

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        try:
            if kind == "replay":
                self.replay(content.get("index"))
            elif kind == "fork":
                extra = {"value": content["value"]} if "value" in content else {}
                self.fork(content.get("invocation"), content.get("task"), same_thread=bool(content.get("same_thread")),
                          **extra)
            elif kind == "refresh":
                self.refresh()
            elif kind == "compare":
                left, right = content.get("left"), content.get("right")
                self.core._send_kind("comparison", left=left, right=right, rows=self.compare(left, right))
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


# ---------------------------------------------------------------------------- inbox
class Inbox(_Base):
    """Every thread waiting for input (newest first) with its forms; answered threads stay, collapsed.

    Items are projections of the threads' live models, so an answer given
    anywhere (a run view, code in another cell) shows here at once, and an
    answer given here reaches every run view of the thread.
    """

    _kind = t.Unicode("inbox").tag(sync=True)
    data = t.List().tag(sync=True)

    def __init__(self, workflows: list) -> None:
        super().__init__()
        for wf in workflows:
            _check_workflow(wf)
        self.workflows = list(workflows)
        self._lock = threading.RLock()
        self.lives: dict[tuple[str, str], Live] = {}
        self._since: dict[tuple[str, str], float] = {}
        self.on_msg(self._on_msg)
        hub().watchers.add(self)
        self.refresh()

    # ------------------------------------------------------------------ reading
    def _track(self, wf: Any, thread_id: str) -> bool:
        """Follow thread ``thread_id`` of ``wf`` when it waits for input (or is already followed)."""
        key = (wf.name, str(thread_id))
        if key in self.lives:
            return True
        h = hub()
        if not h.owner(wf, str(thread_id)):
            return False
        state = wf.get_state({"configurable": {"thread_id": str(thread_id)}})
        if not state.interrupts:
            return False
        live = h.live(wf, str(thread_id))
        try:
            since = datetime.fromisoformat(state.created_at).timestamp() if state.created_at else time.time()
        except (TypeError, ValueError):
            since = time.time()
        with self._lock:
            self.lives[key] = live
            self._since[key] = since
        live.subscribers.add(self)
        return True

    def refresh(self) -> None:
        """Look again at every thread of every workflow."""
        for wf in self.workflows:
            if wf.checkpointer is None:
                continue
            for tid in wf.list_threads():
                self._track(wf, tid)
        self._sync()

    def thread_changed(self, live: Live, reset: bool, seq: int, state: dict | None, rows: list) -> None:
        if state is not None or reset:
            self._sync()

    def thread_settled(self, live: Live) -> None:
        """A thread stopped somewhere in this kernel: follow it when it is one of ours and now waits."""
        tid = live.thread_id
        if tid is not None and all(v is not live for v in list(self.lives.values())) and live.model.pending:
            for wf in self.workflows:
                if wf.name == live.model.workflow and wf.checkpointer is live.workflow.checkpointer:
                    with self._lock:
                        self.lives[(wf.name, tid)] = live
                        self._since[(wf.name, tid)] = time.time()
                    live.subscribers.add(self)
                    break
        self._sync()

    def thread_noticed(self, saver: Any, thread_id: str, workflow: str) -> None:
        """A thread nobody followed stopped somewhere in this kernel: follow it if it now waits."""
        for wf in self.workflows:
            if wf.name == workflow and wf.checkpointer is saver:
                if self._track(wf, thread_id):
                    self._sync()

    def _items(self) -> list[dict]:
        items = []
        with self._lock:
            lives = list(self.lives.items())
        for key, live in lives:
            st = live.state()
            qs = st["questions"]
            waiting = any(q["state"] == "pending" for q in qs)
            state = ("waiting" if waiting else "running" if st["status"] == "running" else
                     "error" if st["status"] == "error" else "done" if st["status"] == "done" else "answered")
            items.append({"key": f"{key[0]}/{key[1]}", "workflow": key[0], "thread_id": key[1], "state": state,
                          "message": st["error"], "questions": qs,
                          "result": st["result_preview"] if st["has_result"] else "",
                          "updated": self._since.get(key, 0.0)})
        items.sort(key=lambda i: (i["state"] != "waiting", -i["updated"]))
        return items

    def _sync(self) -> None:
        data = self._items()
        if data != self.data:
            self.data = data

    @property
    def items(self) -> list[dict]:
        """Threads waiting for input: dicts with ``workflow``, ``thread_id``, ``interrupts``, ``state``."""
        out = []
        with self._lock:
            lives = list(self.lives.items())
        for (name, tid), live in lives:
            open_ = actions.pending(live)
            if open_:
                out.append({"workflow": name, "thread_id": tid, "interrupts": tuple(open_.values()),
                            "state": "waiting" if live.model.status != "running" else "running"})
        return out

    def _find(self, thread_id: str, workflow: Any = None) -> Live:
        name = getattr(workflow, "name", workflow)
        hits = [v for k, v in self.lives.items() if k[1] == str(thread_id) and (name is None or k[0] == name)]
        if not hits:
            raise KeyError(f"no thread {thread_id!r} is in this inbox")
        if len(hits) > 1:
            raise KeyError(f"thread {thread_id!r} is in several workflows; pass workflow=")
        return hits[0]

    # ------------------------------------------------------------------ answering
    def resume(self, thread_id: str, value: Any, workflow: Any = None) -> None:
        """Answer thread ``thread_id`` (``{interrupt_id: value}`` when several questions are open).

        The run continues in the background; every view of the thread follows.
        """
        actions.resume_value(self._find(thread_id, workflow), value, "the inbox")

    def wait(self, timeout: float | None = None) -> None:
        """Block until no thread of this inbox is running (or ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for live in list(self.lives.values()):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            hub().wait(live, left)
        self._sync()

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        if kind == "refresh":
            self.refresh()
            return
        if kind not in ("resume", "resume_all"):
            return
        tid = content.get("thread_id")
        try:
            live = self._find(tid, content.get("workflow"))
        except KeyError as exc:
            self._send_kind("resume_error", id=str(content.get("id", "")), thread_id=str(tid),
                            message=str(exc.args[0]), errors=[])
            return
        msgs = [content] if kind == "resume" else list(content.get("answers") or [])
        _answer(self, live, msgs, "the inbox", {"thread_id": str(tid)})

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self._bundle(inbox_transcript(self.data), inbox_html(self.data), kwargs)

    def _repr_html_(self) -> str:
        return inbox_html(self.data)

    def __repr__(self) -> str:
        return inbox_transcript(self.data)


def inbox(workflow: Any = None) -> Inbox:
    """Threads waiting for input: of ``workflow`` (or a list), else of every workflow defined here."""
    if workflow is None:
        workflows = list(session().workflows.values())
    elif isinstance(workflow, (list, tuple)):
        workflows = list(workflow)
    else:
        workflows = [workflow]
    for wf in workflows:
        session().register(wf)
    return Inbox(workflows)


__all__ = ["ATTACH", "Inbox", "RunView", "Timeline", "TimelineView", "inbox", "show", "timeline"]
