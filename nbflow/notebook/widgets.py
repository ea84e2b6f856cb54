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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets as t

from ..errors import ResumeValidationError
from ..serde import summarize
from . import protocol
from .forms import AnswerError, decode_answer, errors_by_field, form_specs
from .runner import RunController, listen_to_all_runs
from .session import session
from .views import (
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


def _error_message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------------------- run view
class RunView(_Base):
    """A live view of one thread: status, progress, log, interrupt forms and the result."""

    _kind = t.Unicode("run").tag(sync=True)
    status = t.Unicode("idle").tag(sync=True)
    header = t.Dict().tag(sync=True)
    forms = t.List().tag(sync=True)
    result = t.Dict().tag(sync=True)

    def __init__(self, controller: RunController, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.controller = controller
        self.messages_sent = 0
        controller.publish = self._publish
        self.on_msg(self._on_msg)
        self._publish([], controller.state())

    # ------------------------------------------------------------------ kernel → front end
    def _publish(self, ops: list, state: dict) -> None:
        if ops:
            self._send_kind("batch", seq=self.controller.model.seq, ops=ops)
            self.messages_sent += 1
        changed = {k: v for k, v in state.items() if getattr(self, k) != v}
        if changed:
            with self.hold_sync():
                for k, v in changed.items():
                    setattr(self, k, v)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        if kind == "snapshot_request":
            with self.controller.send_lock:
                snap = self.controller.snapshot()
                self._send_kind("snapshot", **snap)
        elif kind == "resume":
            self._resume_from_form(content)

    def _resume_from_form(self, msg: Mapping) -> None:
        iid = msg.get("id")
        try:
            pending = {i.id: i for i in self.controller.model.pending}
            if iid not in pending:
                raise AnswerError("this question was already answered")
            value = decode_answer(pending[iid], msg)
            self.controller.resume({iid: value} if len(pending) > 1 else value)
        except ResumeValidationError as exc:
            self._send_kind("resume_error", id=iid, message=_error_message(exc), errors=errors_by_field(exc.errors))
        except (ValueError, RuntimeError, TypeError) as exc:
            self._send_kind("resume_error", id=iid, message=_error_message(exc), errors=[])

    # ------------------------------------------------------------------ Python API
    def resume(self, value: Any) -> None:
        """Answer the pending interrupt (or ``{interrupt_id: value, ...}``); the run continues here.

        Returns at once (nothing, so a cell ending with it shows no half-finished
        copy of the view); ``wait()`` blocks until the run stops again.
        """
        self.controller.resume(value)

    def wait(self, timeout: float | None = None) -> str:
        """Block until the status is not ``running`` (or ``timeout`` seconds); returns the status."""
        return self.controller.wait(timeout)

    @property
    def value(self) -> Any:
        """The run's return value (None until it is done)."""
        return self.controller.model.value

    @property
    def interrupts(self) -> tuple:
        """The pending :class:`nbflow.Interrupt` objects."""
        return self.controller.model.pending

    @property
    def config(self) -> dict:
        return self.controller.thread_config

    @property
    def thread_id(self) -> str | None:
        return self.controller.model.thread_id

    @property
    def transcript(self) -> str:
        with self.controller.lock:
            return transcript(self.controller.model)

    def _repr_html_(self) -> str:
        with self.controller.lock:
            return static_html(self.controller.model)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        with self.controller.lock:
            text, html = transcript(self.controller.model), static_html(self.controller.model)
        return self._bundle(text, html, kwargs)

    def __repr__(self) -> str:
        return self.transcript


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
    """Run ``workflow`` on ``input`` and return its live :class:`RunView` (the cell returns at once).

    Without ``config``, a workflow with a checkpointer gets a new readable
    thread id (``NAME-1``, ``NAME-2``, ...). Without ``input``, the view
    attaches to the thread in ``config`` and shows its latest invocation,
    e.g. to answer a question asked before a kernel restart. Errors found
    before the run starts (a bad config, a resume that fits nothing) raise here.
    """
    _check_workflow(workflow)
    sess = session()
    sess.register(workflow)
    config = _with_thread(workflow, config)
    controller = RunController(workflow, config)
    thread_id = (config.get("configurable") or {}).get("thread_id")
    if thread_id is not None:
        sess.last_thread[workflow.name] = str(thread_id)
    if input is ATTACH and (workflow.checkpointer is None or thread_id is None):
        raise ValueError("show(workflow) without an input attaches to an existing thread: pass "
                         "config={'configurable': {'thread_id': ...}} of a workflow with a checkpointer")
    view = RunView(controller)
    if input is ATTACH:
        controller.attach()
    else:
        controller.start(input)
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
        controller = RunController(self.workflow, config)
        controller.on_settled.append(lambda _c: self.refresh())
        view = RunView(controller)
        controller.start(None)
        self.runs.children = (view,)
        return view

    def replay(self, index: int) -> RunView:
        """Run invocation ``index`` again from its input (recorded task results are not reused)."""
        inv = self._invocation(index)
        if inv.status == "update":
            raise ValueError(f"invocation #{index} is a state edit (update_state), not a run; nothing to replay")
        return self._open({"configurable": {"thread_id": self.thread_id, "checkpoint_ns": inv.checkpoint_ns,
                                            "checkpoint_id": inv.checkpoint_id}})

    def fork(self, invocation_index: int, task_index: int, value: Any = _MISSING,
             thread_id: str | None = None) -> RunView:
        """Branch invocation ``invocation_index`` at its task ``task_index`` (as listed) and run the branch.

        With ``value`` that task's result is replaced by ``value`` and the
        tasks after it run again; without, the task itself runs again.
        """
        inv = self._invocation(invocation_index)
        rows = self.core.data["invocations"][invocation_index]["tasks"]
        if not isinstance(task_index, int) or not 0 <= task_index < len(rows):
            raise IndexError(f"task index must be 0..{len(rows) - 1}, got {task_index!r}")
        k = rows[task_index]["fork"]
        if k is None:
            raise ValueError(f"task #{task_index} ({rows[task_index]['name']}) has no result to fork from")
        kwargs: dict = {"thread_id": thread_id}
        if value is not _MISSING:
            kwargs.update(task_index=k + 1, value=value)
        else:
            kwargs.update(task_index=k)
        new_config = self.workflow.fork(inv.config, **kwargs)
        return self._open(new_config)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        try:
            if kind == "replay":
                self.replay(content.get("index"))
            elif kind == "fork":
                extra = {"value": content["value"]} if "value" in content else {}
                self.fork(content.get("invocation"), content.get("task"), **extra)
            elif kind == "refresh":
                self.refresh()
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
    """Every thread waiting for input, newest first, each with its interrupt forms."""

    _kind = t.Unicode("inbox").tag(sync=True)
    data = t.List().tag(sync=True)

    def __init__(self, workflows: list) -> None:
        super().__init__()
        for wf in workflows:
            _check_workflow(wf)
        self.workflows = list(workflows)
        self._lock = threading.RLock()  # answered runs settle on their own threads
        self._waiting: dict[tuple[str, str], dict] = {}
        self.runs: dict[tuple[str, str], RunController] = {}
        self.on_msg(self._on_msg)
        self.refresh()
        listen_to_all_runs(self)

    def run_settled(self, controller: RunController) -> None:
        """A run somewhere in this kernel stopped: update that thread's item (answered elsewhere)."""
        wf = next((w for w in self.workflows if w is controller.workflow), None)
        thread_id = controller.model.thread_id
        if wf is None or thread_id is None or controller in self.runs.values():
            return
        key = (wf.name, str(thread_id))
        with self._lock:
            fresh = self._scan(wf, key[1])
            if fresh is not None:
                self._waiting[key] = fresh
            elif key in self._waiting:
                del self._waiting[key]
            else:
                return
            self._sync()

    # ------------------------------------------------------------------ reading
    def _scan(self, wf: Any, thread_id: str) -> dict | None:
        cfg = {"configurable": {"thread_id": thread_id}}
        saver = wf.checkpointer
        rec = saver.get_checkpoint(thread_id, "")
        if rec is None or rec.source not in ("input", "fork"):
            return None
        owner = next((w.name for w in saver.get_writes(thread_id, "", rec.checkpoint_id) if w.path == ""), None)
        if owner != wf.name:
            return None
        state = wf.get_state(cfg)
        if not state.interrupts:
            return None
        return {"workflow": wf.name, "thread_id": thread_id, "wf": wf, "interrupts": tuple(state.interrupts),
                "created_at": state.created_at or "", "state": "waiting", "message": ""}

    def refresh(self) -> None:
        """Look again at every thread of every workflow."""
        found: dict[tuple[str, str], dict] = {}
        seen: set[tuple[int, str]] = set()
        for wf in self.workflows:
            if wf.checkpointer is None:
                continue
            for tid in wf.list_threads():
                if (id(wf.checkpointer), tid, wf.name) in seen:
                    continue
                seen.add((id(wf.checkpointer), tid, wf.name))
                item = self._scan(wf, tid)
                if item is not None:
                    found[(wf.name, tid)] = item
        with self._lock:
            for key, run in self.runs.items():  # keep items being answered right now
                if run.status == "running" and key in self._waiting:
                    found[key] = {**self._waiting[key], "state": "running"}
            self._waiting = found
            self._sync()

    def _sync(self) -> None:
        with self._lock:
            items = sorted(self._waiting.values(), key=lambda i: i["created_at"], reverse=True)
        self.data = [{"key": f"{i['workflow']}/{i['thread_id']}", "workflow": i["workflow"],
                      "thread_id": i["thread_id"], "state": i["state"], "message": i["message"],
                      "questions": [summarize(x.value, 80) for x in i["interrupts"]],
                      "forms": form_specs(i["interrupts"])} for i in items]

    @property
    def items(self) -> list[dict]:
        """The threads waiting for input, newest first: dicts with ``workflow``, ``thread_id``, ``interrupts``."""
        items = sorted(self._waiting.values(), key=lambda i: i["created_at"], reverse=True)
        return [{"workflow": i["workflow"], "thread_id": i["thread_id"], "interrupts": i["interrupts"],
                 "state": i["state"]} for i in items]

    def _find(self, thread_id: str, workflow: Any = None) -> tuple[tuple[str, str], dict]:
        name = getattr(workflow, "name", workflow)
        hits = [(k, v) for k, v in self._waiting.items() if k[1] == str(thread_id) and (name is None or k[0] == name)]
        if not hits:
            raise KeyError(f"no thread {thread_id!r} is waiting for input in this inbox")
        if len(hits) > 1:
            raise KeyError(f"thread {thread_id!r} is waiting in several workflows; pass workflow=")
        return hits[0]

    # ------------------------------------------------------------------ answering
    def resume(self, thread_id: str, value: Any, workflow: Any = None) -> None:
        """Answer thread ``thread_id`` (``{interrupt_id: value}`` when several are pending).

        The run continues in the background; the item is updated in place
        (new question) or removed (done) when it stops. ``wait()`` blocks until
        every answered run has stopped.
        """
        with self._lock:
            key, item = self._find(thread_id, workflow)
            if item["state"] == "running":
                raise RuntimeError(f"thread {thread_id!r} is already running")
            controller = RunController(item["wf"], {"configurable": {"thread_id": item["thread_id"]}})
            controller.adopt_pending(item["interrupts"])
            controller.on_settled.append(lambda c, key=key: self._settled(key, c))
            self.runs[key] = controller
            item["state"], item["message"] = "running", ""
            try:
                controller.resume(value)
            except BaseException:
                item["state"] = "waiting"
                raise
            finally:
                self._sync()

    def wait(self, timeout: float | None = None) -> None:
        """Block until every run started from this inbox has stopped (or ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for run in list(self.runs.values()):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            run.wait(left)

    def _settled(self, key: tuple[str, str], controller: RunController) -> None:
        with self._lock:
            item = self._waiting.get(key)
            if item is None:
                return
            fresh = self._scan(item["wf"], key[1])
            if fresh is not None:
                self._waiting[key] = fresh
            elif controller.status == "error":
                item["state"], item["message"] = "error", controller.model.error
            else:
                del self._waiting[key]
            self._sync()

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        if kind == "refresh":
            self.refresh()
            return
        if kind != "resume":
            return
        tid, iid = content.get("thread_id"), content.get("id")
        try:
            _key, item = self._find(tid, content.get("workflow"))
            pending = {i.id: i for i in item["interrupts"]}
            if iid not in pending:
                raise AnswerError("this question was already answered")
            value = decode_answer(pending[iid], content)
            self.resume(tid, {iid: value} if len(pending) > 1 else value, workflow=content.get("workflow"))
        except ResumeValidationError as exc:
            self._send_kind("resume_error", id=iid, thread_id=tid, message=_error_message(exc),
                       errors=errors_by_field(exc.errors))
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else _error_message(exc)
            self._send_kind("resume_error", id=iid, thread_id=tid, message=str(msg), errors=[])

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
