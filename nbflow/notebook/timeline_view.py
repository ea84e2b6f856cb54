"""The timeline widget (anywidget): a thread's invocations as its checkpoint tree, with Replay, Fork,
Compare and the state at each checkpoint; runs it starts appear below it as run views (:mod:`.run_view`).
Every button is also a method: ``timeline.replay(i)``, ``timeline.fork(i, k, value=...)``,
``timeline.compare(a, b)``, ``timeline.state_at(i)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets
import traitlets as t

from . import actions
from .live import Live
from .run_view import RunView
from .session import session
from .views import (
    compare_invocations,
    state_chat,
    state_views,
    timeline_html,
    timeline_model,
    timeline_transcript,
)
from .widget_base import _MISSING, _Base, _check_workflow, _error_message, checked

OTHER_THREADS = 50  # other threads of the workflow a timeline offers to compare with


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

__all__ = ["OTHER_THREADS", "Timeline", "TimelineView", "timeline"]
