"""The inbox widget: every thread of some workflows that waits for input, with its forms.

Items are projections of the threads' live models (:mod:`.live`): an answer
given anywhere shows here at once, and one given here reaches every view of
the thread. Answered threads stay, collapsed, with their answer and result.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import traitlets as t

from ..errors import NbflowError, SaverConnectionError
from . import actions
from .live import Live, hub
from .session import known_workflows, session
from .views import inbox_html, inbox_transcript
from .widget_base import _answer, _Base, _check_workflow, checked

log = logging.getLogger("nbflow.notebook")


class Inbox(_Base):
    """Every thread waiting for input (newest first) with its forms; answered threads stay, collapsed.

    Items are projections of the threads' live models, so an answer given
    anywhere (a run view, code in another cell) shows here at once, and an
    answer given here reaches every run view of the thread.
    """

    _kind = t.Unicode("inbox").tag(sync=True)
    data: Any = t.List().tag(sync=True)
    problem = t.Unicode("").tag(sync=True)  # why the last refresh could not read some workflow's threads, or ""

    def __init__(self, workflows: list) -> None:
        super().__init__()
        for wf in workflows:
            _check_workflow(wf)
        self.workflows = list(workflows)
        self._lock = threading.RLock()
        self.lives: dict[tuple[str, str], Live] = {}
        self._since: dict[tuple[str, str], float] = {}
        self.skipped: dict[tuple[str, str], str] = {}  # (workflow, thread_id) -> why it could not be read
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
        """Look again at every thread of every workflow.

        A checkpointer that cannot be read (its server down) does not raise here: :attr:`problem` says
        so, the threads already shown stay, and the next refresh once it is back lists them again.
        """
        problems: list[str] = []
        for wf in self.workflows:
            if wf.checkpointer is None:
                continue
            try:
                tids = wf.list_threads()
            except NbflowError as exc:
                problems.append(_unreadable(wf, exc))
                continue
            for tid in tids:
                try:
                    self._track(wf, tid)
                except SaverConnectionError as exc:  # the server went away meanwhile: the others would fail too
                    problems.append(_unreadable(wf, exc))
                    break
                except NbflowError as exc:  # one unreadable thread must not hide the others
                    key = (wf.name, str(tid))
                    if key not in self.skipped:  # logged, not warned: a warning would read source files
                        log.warning("inbox: thread %r of %r was skipped, its checkpoint cannot be read: %s",
                                    tid, wf.name, exc)
                    self.skipped[key] = str(exc)
        if problems:
            log.warning("inbox: %s", " ".join(problems))
        self.problem = " ".join(problems)
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
            if wf.name == workflow and wf.checkpointer is saver and self._track(wf, thread_id):
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
                          "updated": self._since.get(key, 0.0),
                          **({"usage": st["thread_usage"]} if "thread_usage" in st else {})})
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
        content = checked(self, content)
        if content is None:
            return
        kind = content.get("kind")
        if kind == "refresh":
            self.refresh()
            return
        if kind not in ("resume", "resume_all"):
            return
        tid = content.get("thread_id")
        try:
            live = self._find(str(tid), content.get("workflow"))
        except KeyError as exc:
            self._send_kind("resume_error", id=str(content.get("id", "")), thread_id=str(tid),
                            message=str(exc.args[0]), errors=[])
            return
        msgs = [content] if kind == "resume" else list(content.get("answers") or [])
        _answer(self, live, msgs, "the inbox", {"thread_id": str(tid)})

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self._bundle(inbox_transcript(self.data, self.problem), inbox_html(self.data, self.problem), kwargs)

    def _repr_html_(self) -> str:
        return inbox_html(self.data, self.problem)

    def __repr__(self) -> str:
        return inbox_transcript(self.data, self.problem)


def _unreadable(wf: Any, exc: BaseException) -> str:
    return (f"The threads of workflow {wf.name!r} cannot be read: {exc} "
            "The inbox lists them again when it refreshes once the checkpointer is back.")


def inbox(workflow: Any = None) -> Inbox:
    """Threads waiting for input: of ``workflow`` (or a list), else of every workflow defined here (shown, made
    with ``%%entrypoint`` or bound to a name in the notebook: the ones the Workflows sidebar lists)."""
    if workflow is None:
        workflows = list(known_workflows().values())
    elif isinstance(workflow, (list, tuple)):
        workflows = list(workflow)
    else:
        workflows = [workflow]
    for wf in workflows:
        session().register(wf)
    return Inbox(workflows)


__all__ = ["Inbox", "inbox"]
