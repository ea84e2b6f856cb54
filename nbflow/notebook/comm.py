"""The kernel side of JupyterLab's Workflows sidebar: the ``nbflow.lab`` comm target.

``%load_ext nbflow`` registers the target; the sidebar opens one comm per
notebook kernel. Everything goes through the thread models (:mod:`.live`) and
:mod:`.actions`: the sidebar never reads a saver behind the kernel's back.

The messages are typed in :mod:`.protocol` (``SidebarToKernel`` /
``SidebarToFrontend``, generated into ``labextension/src/protocol.gen.ts`` for
``labextension/src/lab/kernel.ts``): every request is checked against its type
first, and a malformed one gets an ``error`` reply naming the field.

Front end → kernel: ``list`` (every thread of the workflows this session knows
-- ``%%entrypoint``, shown, or bound to a name in the notebook -- with status,
last activity, checkpointer and open questions); ``answer`` (one question,
decoded as a run view's form answer, then the thread continues); ``stop``
(``Workflow.stop``); ``continue`` (``invoke(None, config)`` on a stopped
thread); ``timeline`` (the Python that shows the thread's timeline).

Kernel → front end: ``threads`` (the whole list), ``thread`` (one item, pushed
whenever a listed thread changes, and for a thread that starts waiting
elsewhere in this kernel), ``timeline_code``, ``error`` ``{request, message}``
and ``ok`` ``{request}``. Every request gets one reply: a malformed one
(not a dict, an unknown kind, arguments of the wrong type) gets an ``error``
and nothing is raised into the kernel (tests/faults/test_comm_faults.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, cast

from ..errors import NbflowError, RequestError
from ..observe.prices import set_default_prices
from . import actions, llm
from .forms import AnswerError
from .live import Live, hub
from .protocol import (
    SIDEBAR_TARGET,
    SIDEBAR_TO_KERNEL,
    SIDEBAR_VERSION,
    SidebarQuestion,
    SidebarThread,
    Status,
    UsageSummary,
    problems,
    sidebar_message,
)
from .session import known_workflows, session

TARGET = SIDEBAR_TARGET
VERSION = SIDEBAR_VERSION
_log = logging.getLogger("nbflow.notebook")


def check_request(data: Any) -> Mapping:
    """``data`` if it is a well-formed ``SidebarToKernel`` message of this version, else :class:`RequestError`."""
    found = problems(data, "SidebarToKernel")
    if found:
        kind = data.get("kind") if isinstance(data, Mapping) else None
        if found[0]["field"] == "kind":
            expected = ", ".join(SIDEBAR_TO_KERNEL[:-1]) + " or " + SIDEBAR_TO_KERNEL[-1]
            raise RequestError(f"unknown sidebar request {kind!r} (expected {expected})", found)
        where = "; ".join(f"{e['field']} {e['message']}" if e["field"] else e["message"] for e in found)
        raise RequestError(f"malformed sidebar request {kind!r}: {where}" if kind else f"malformed sidebar request: "
                           f"{where}", found)
    if data["v"] != SIDEBAR_VERSION:
        raise RequestError(f"the sidebar speaks version {data['v']} of the nbflow.lab protocol and this kernel's "
                           f"nbflow version {SIDEBAR_VERSION}: reload the page (or restart the kernel) so both match",
                           [{"field": "v", "message": f"must be {SIDEBAR_VERSION}"}])
    return data


def thread_item(live: Live, checkpointer: str, last_activity: float | None, size: int = -1) -> SidebarThread:
    """The sidebar's row for ``live``, read from its model (no result rendering: the list stays cheap)."""
    with live.lock:
        m = live.model
        qs = [SidebarQuestion(id=q["id"], task=q["task"], summary=q.get("text") or q["summary"], form=q["form"])
              for q in m.questions.values() if q["state"] == "pending"]
        lv = m.liveness or {}
        item = SidebarThread(key=f"{m.workflow}/{live.thread_id}", workflow=m.workflow, thread_id=str(live.thread_id),
                             status=cast(Status, m.status),  # ThreadModel.status only ever holds a Status
                             last_activity=m.activity or last_activity, checkpointer=checkpointer, questions=qs,
                             liveness=lv.get("state", ""), note=m.last_event if lv else "", size=size)
        if m.thread_usage.calls:
            item["usage"] = cast(UsageSummary, llm.usage_summary(m.thread_usage))
        if m.status == "running" and m.streaming:
            item["streaming"] = m.streaming
        return item


class Sidebar:
    """One open sidebar comm: answers its requests and pushes changes of the threads it listed."""

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.lives: dict[str, tuple[Any, Live]] = {}   # key -> (workflow, live)
        self.activity: dict[str, float | None] = {}
        self.savers: dict[int, str] = {}
        self.sizes: dict[str, int] = {}  # key -> the thread's size, read when it is listed and when it settles
        self._lock = threading.RLock()
        self.closed = False
        comm.on_msg(self._on_msg)
        comm.on_close(self._on_close)
        hub().watchers.add(self)

    # ------------------------------------------------------------------ out
    def send(self, kind: str, **payload: Any) -> None:
        if not self.closed:
            self.comm.send(sidebar_message(kind, **payload))

    def _describe(self, saver: Any) -> str:
        name = self.savers.get(id(saver))
        if name is None:
            name = self.savers[id(saver)] = session().describe_saver(saver)
        return name

    def _item(self, key: str, measure: bool = False) -> SidebarThread:
        wf, live = self.lives[key]
        if measure or key not in self.sizes:
            self.sizes[key] = _size_of(wf.checkpointer, str(live.thread_id))
        return thread_item(live, self._describe(wf.checkpointer), self.activity.get(key), self.sizes[key])

    # ------------------------------------------------------------------ listing
    def _follow(self, wf: Any, live: Live, last: float | None) -> str:
        key = f"{wf.name}/{live.thread_id}"
        with self._lock:
            if key not in self.lives:
                self.lives[key] = (wf, live)
                self.activity[key] = last
                live.subscribers.add(self)
        return key

    def listing(self) -> list[SidebarThread]:
        """Every thread of every workflow of this session with a checkpointer (most recent first)."""
        h = hub()
        for wf in list(known_workflows().values()):
            if wf.checkpointer is None:
                continue
            for tid in wf.list_threads():
                if f"{wf.name}/{tid}" in self.lives:
                    continue
                known = h.lives.get(h.key_of(wf.checkpointer, tid))
                if known is not None and known.model.workflow != wf.name:
                    continue  # followed already, as another workflow's thread
                if known is None and not h.owner(wf, str(tid)):
                    continue  # another workflow's thread in a shared checkpointer
                live = known or h.live(wf, str(tid))
                self._follow(wf, live, _last_activity(live))
        with self._lock:
            keys = list(self.lives)
        items = [self._item(k, measure=True) for k in keys]
        items.sort(key=lambda i: (not i["questions"], i["status"] != "running", -(i["last_activity"] or 0)))
        return items

    # ------------------------------------------------------------------ live updates (hub callbacks)
    def thread_changed(self, live: Live, reset: bool, seq: int, state: dict | None, rows: list) -> None:
        if state is None and not reset:
            return
        key = next((k for k, (_, v) in list(self.lives.items()) if v is live), None)
        if key is not None:
            self.activity[key] = live.model.activity or self.activity.get(key)
            self.send("thread", thread=self._item(key, measure=live.model.status != "running"))

    def thread_settled(self, live: Live) -> None:
        if live.thread_id is None or any(v is live for _, v in list(self.lives.values())):
            return
        wf = known_workflows().get(live.model.workflow)
        if wf is not None and wf.checkpointer is live.workflow.checkpointer:
            key = self._follow(wf, live, live.model.activity or time.time())
            self.send("thread", thread=self._item(key))

    def thread_running(self, live: Live) -> None:
        """A thread started running in this kernel (a cell, another view): list it now, not once it settles."""
        self.thread_settled(live)

    def thread_noticed(self, saver: Any, thread_id: str, workflow: str) -> None:
        wf = known_workflows().get(workflow)
        if wf is not None and wf.checkpointer is saver and f"{workflow}/{thread_id}" not in self.lives:
            live = hub().live(wf, thread_id)
            key = self._follow(wf, live, live.model.activity or time.time())
            self.send("thread", thread=self._item(key))

    # ------------------------------------------------------------------ requests
    def _on_msg(self, msg: Any) -> None:
        """One request: whatever a front end sends (malformed, unknown, a flood), it gets one reply and
        nothing escapes into the kernel's comm machinery."""
        data = _data_of(msg)
        kind = data.get("kind") if isinstance(data, Mapping) else None
        kind = kind if isinstance(kind, str) else None
        question = data.get("id") if kind == "answer" and isinstance(data.get("id"), str) else None
        about = {"id": question} if question is not None else {}
        try:
            self.handle(check_request(data))
        except RequestError as exc:
            self._reply_error(kind, str(exc), data, errors=exc.errors, **about)
        except (NbflowError, AnswerError, ValueError, RuntimeError, TypeError, KeyError) as exc:
            text = exc.args[0] if isinstance(exc, KeyError) and exc.args else (str(exc) or type(exc).__name__)
            self._reply_error(kind, str(text), data, **about)
        except Exception as exc:  # noqa: BLE001 - a bad request never takes the sidebar down: say what happened
            _log.exception("nbflow sidebar: request %r failed", kind if isinstance(kind, str) else type(kind))
            self._reply_error(kind, f"{type(exc).__name__}: {exc} (while handling the request)", data, **about)

    def _reply_error(self, kind: Any, message: str, data: Any, **extra: Any) -> None:
        try:
            self.send("error", request=kind if isinstance(kind, str) else None, message=message[:2000],
                      key=_key_of(data), **extra)
        except Exception:  # noqa: BLE001 - the comm itself is gone: nobody to tell
            _log.debug("nbflow sidebar: could not send an error reply", exc_info=True)

    def handle(self, data: Mapping) -> None:
        """Carry out one checked request (``check_request``): a ``SidebarToKernel`` message."""
        kind = data["kind"]
        if kind == "list":
            self.send("threads", threads=self.listing(), workflows=sorted(known_workflows()))
            return
        if kind == "prices":  # the Lab setting: defaults under what code set (a bad table: an error reply)
            set_default_prices(data["prices"])
            self.send("ok", request=kind, key="")
            return
        wf, live = self._target(data)
        if kind == "answer":
            iid, value = actions.answer(live, data)
            actions.resume(live, {iid: value}, "the Workflows sidebar")
        elif kind == "stop":
            if not wf.stop({"configurable": {"thread_id": live.thread_id}}):
                raise RuntimeError(f"{wf.name}: thread {live.thread_id} is not running here (nothing to stop)")
        elif kind == "continue":
            actions.continue_(live)
        else:  # "timeline" (check_request admits no other kind)
            config = {"configurable": {"thread_id": live.thread_id}}
            target = wf.name if wf.name.isidentifier() else \
                f"nbflow.notebook.session.session().workflows[{wf.name!r}]"
            self.send("timeline_code", key=_key_of(data),
                      code=f"import nbflow\nnbflow.timeline({target}, {config!r})")
            return
        self.send("ok", request=kind, key=_key_of(data))

    def _target(self, data: Mapping) -> tuple[Any, Live]:
        name, tid = data["workflow"], data["thread_id"]
        wf = known_workflows().get(name)
        if wf is None:
            raise KeyError(f"no workflow {name!r} in this kernel: run the cell that defines it")
        if wf.checkpointer is None:
            raise ValueError(f"{name}: has no checkpointer, so it has no threads to show")
        key = f"{name}/{tid}"
        found = self.lives.get(key)
        return wf, found[1] if found else actions.attach(wf, tid)

    def _on_close(self, _msg: Any) -> None:
        self.closed = True
        for _, live in list(self.lives.values()):
            live.subscribers.discard(self)
        hub().watchers.discard(self)


def _size_of(saver: Any, thread_id: str) -> int:
    """Bytes the thread's rows hold, or -1 (a saver that cannot tell, or cannot be read now)."""
    try:
        return int(saver.thread_size(thread_id))
    except Exception:  # noqa: BLE001 - a size is a nicety: never a reason for the sidebar to fail
        return -1


def _data_of(msg: Any) -> Any:
    """``msg["content"]["data"]`` when the message has that shape, else ``{}`` (never raises)."""
    content = msg.get("content") if isinstance(msg, Mapping) else None
    data = content.get("data") if isinstance(content, Mapping) else None
    return {} if data is None else data


def _key_of(data: Any) -> str:
    if isinstance(data, Mapping):
        workflow, thread = data.get("workflow"), data.get("thread_id")
        scalars = (str, int, float, bool, type(None))
        if isinstance(workflow, scalars) and isinstance(thread, scalars):
            return f"{workflow}/{thread}"[:500]
    return ""


def _last_activity(live: Live) -> float | None:
    """When the thread last did something, as recorded (its newest run's last task or end), not when the
    sidebar happened to look at it."""
    m = live.model
    return m.activity or m.wait_since or m.run_since


def _opened(comm: Any, _msg: Any) -> None:
    Sidebar(comm)  # kept alive by its comm's callbacks (the hub holds views weakly)


def register(ip: Any = None) -> bool:
    """Register the ``nbflow.lab`` comm target (``%load_ext nbflow`` calls this); False without a kernel."""
    try:
        from comm import get_comm_manager
    except ImportError:
        return False
    manager = get_comm_manager()
    if manager is None:
        return False
    manager.register_target(TARGET, _opened)
    return True


__all__ = ["TARGET", "VERSION", "RequestError", "Sidebar", "check_request", "register", "thread_item"]
