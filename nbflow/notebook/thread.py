"""One thread's current state, pure: stored invocations and live run events folded into one model.

A :class:`ThreadModel` is what every view of a thread (run views, the inbox,
the timeline's head) projects. It is built from the saver's records
(:meth:`ThreadModel.load`, given the thread's :class:`~nbflow.Invocation`
list) and folded forward with :meth:`ThreadModel.apply`, one
:mod:`nbflow.events` object (or :class:`nbflow.tap.ThreadEdited`) at a time.
Nothing here does I/O, reads a clock or imports Jupyter; the live hub
(:mod:`.live`) owns the locking, the saver reads and the sending.

Live tokens: a chat model streaming inside a task (the tap asks runs for ``messages`` while views
listen) grows that task's row's ``stream`` text and ``tools`` (tool calls, as they stream); the
task's end clears the stream and shows the final message instead (:mod:`.llm`). Usage and cost
(:mod:`nbflow.observe`) are kept per row, per invocation and per thread.

The model is *current state*, not a log: one :class:`~.protocol.Row` per
task call position (``key`` = namespace + call path), updated in place across
resumes; a replayed result folds into its row with ``replayed`` set (it came
from the checkpoint). A new invocation of the thread resets the rows.
Changes are recorded as the set of row keys touched plus a state flag, until
:meth:`ThreadModel.take_changes` hands them to the sender.
"""

from __future__ import annotations

from typing import Any

from .. import events as ev
from ..errors import RunStopped
from ..kinds import Position
from ..observe.usage import EMPTY, totals
from ..serde import summarize
from . import llm
from .active import invocation_times
from .conversation import brief, conversation
from .forms import form_spec, pretty, question_text
from .tracebacks import error_text, user_frame

PREVIEW = 80
RESULT_PREVIEW = 2000

ORIGIN_CODE = "code (invoke / stream / Command)"
ORIGIN_STORED = "an earlier session (from the checkpoint)"
STOPPED_NOTE = "stopped by Workflow.stop(); finished tasks are checkpointed: continue with invoke(None, config)"
ABANDONED = "abandoned by the stop (runs again on continue)"


def _preview(obj: Any, limit: int = PREVIEW) -> str:
    if type(obj) is str:
        r = repr(obj[: limit + 2])
        return r if len(r) <= limit else r[: limit - 1] + "…"
    return brief(obj, limit)


def _set_result(row: dict, result: Any) -> None:
    """A finished task's preview, and its result as a conversation when it is chat messages."""
    row["preview"] = _preview(result)
    chat = conversation(result) if type(result) not in (str, int, float, bool, type(None)) else None
    if chat:
        row["chat"] = chat
    else:
        row.pop("chat", None)



def _row_key(ns: tuple, path: str) -> str:
    return "/".join(ns) + "|" + path


def _new_row(key: str, kind: str, name: str, path: str, depth: int) -> dict:
    return {"key": key, "kind": kind, "name": name, "path": path, "depth": depth, "state": "running",
            "preview": "", "error": "", "duration": 0.0, "cached": False, "replayed": False, "text": ""}


def row_order(row: dict) -> tuple:
    """Sort key of a row: namespace, then call position (numeric)."""
    ns, _, path = row["key"].partition("|")
    return (ns, Position.key_or(path, (1 << 30,)))


class ThreadModel:
    """The current state of one thread (see the module docstring). Callers hold :attr:`lock`-like
    exclusion themselves (the hub folds under its own per-model lock)."""

    def __init__(self, workflow: str, thread_id: str | None) -> None:
        self.workflow = workflow
        self.thread_id = thread_id
        self.status = "idle"
        self.rows: dict[str, dict] = {}
        self.dirty: set[str] = set()
        self.state_dirty = True
        self.reset = True            # the next flush must send everything (a snapshot)
        self.seq = 0
        self.invocation = 0
        self.checkpoint_id = ""                # the current invocation's own (input or fork) checkpoint
        self.active_s = 0.0
        self.waiting_s = 0.0
        self.run_since: float | None = None
        self.wait_since: float | None = None
        self.questions: dict[str, dict] = {}
        self.pending: dict[str, Any] = {}      # id -> Interrupt, the questions still open
        self.origin_hint: str | None = None    # set by the actions layer just before it resumes
        self.value: Any = None
        self.value_chat: list | None = None
        self.has_result = False
        self.liveness: dict | None = None        # an unfinished run not going on here: {state, owner, since}
        self.activity: float | None = None       # epoch seconds of the thread's last recorded activity
        self.before_start: str | None = None   # the status before the actions layer began starting a run
        self.keep: dict[int, int] = {}         # invocation -> views kept on it (archived when a newer one starts)
        self.archive: dict[int, tuple] = {}    # invocation -> (state, rows, value) as it was last
        self.error = ""
        self.error_where = ""
        self.traceback = ""
        self.events = 0
        self.last_event = ""
        self.stale = False                     # edited outside a run: reload from the saver
        self._tasks: dict[tuple, str] = {}
        self._by_task_id: dict[str, str] = {}  # task id -> row key, for streamed tokens (metadata names the id)
        self.usage = EMPTY                     # the current invocation's model calls (UsageTotals)
        self.thread_usage = EMPTY              # every invocation's
        self.streaming = ""                    # the tail of the latest streamed text (the sidebar shows it)

    # ------------------------------------------------------------------ counts
    @property
    def total(self) -> int:
        return sum(1 for r in self.rows.values() if r["kind"] == "task")

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows.values() if r["kind"] == "task" and r["state"] in ("ok", "cached"))

    @property
    def settled(self) -> bool:
        return self.status != "running"

    # ------------------------------------------------------------------ changes
    def _touch(self, row: dict) -> None:
        self.dirty.add(row["key"])

    def take_changes(self) -> tuple[bool, list[dict], bool]:
        """``(reset, rows, state_changed)`` since the last call; rows are copies, safe to send later."""
        reset, keys, state = self.reset, self.dirty, self.state_dirty
        self.reset, self.dirty, self.state_dirty = False, set(), False
        if reset:
            rows = [dict(r) for r in sorted(self.rows.values(), key=row_order)]
        else:
            rows = [dict(self.rows[k]) for k in keys if k in self.rows]
        if reset or rows or state:
            self.seq += 1
        return reset, rows, state or reset

    def _clear(self) -> None:
        self.rows, self._tasks, self._by_task_id = {}, {}, {}
        self.usage, self.streaming = EMPTY, ""
        self.dirty = set()
        self.reset = True
        self.active_s = self.waiting_s = 0.0
        self.run_since = self.wait_since = None
        self.value, self.value_chat, self.has_result = None, None, False
        self.error = self.error_where = self.traceback = ""
        self.events, self.last_event = 0, ""
        self.questions = {k: q for k, q in self.questions.items() if q["state"] == "pending"}
        for q in self.questions.values():
            q["state"] = "superseded"
        self.pending = {}

    # ------------------------------------------------------------------ stored records
    def load(self, invocations: list, live_running: bool = False, liveness: dict | None = None) -> None:
        """Rebuild from the thread's stored invocations (the newest run is the current state).

        An unfinished newest run that is not going on in this process is told by ``liveness``
        (:func:`nbflow.checkpoint.leases.verdict`, ``{state, owner, since}``): ``"elsewhere"`` stays
        running (in another process); ``"gone"`` (or no liveness) is a run that stopped without
        finishing: status ``stopped``, so the view offers Continue (``invoke(None, config)``)."""
        runs = [i for i in invocations if i.status != "update"]
        self._clear()
        self.questions = {}
        self.state_dirty = True
        if not runs:
            self.status = "idle"
            return
        inv = runs[-1]
        self.checkpoint_id = inv.checkpoint_id
        self.usage = inv.usage
        self.thread_usage = sum((i.usage for i in runs), EMPTY)
        self.invocation = max(self.invocation, len(runs))
        self.activity = max([inv.ended_at or inv.started_at, *(t.ended_at for t in inv.tasks if t.ended_at)])
        by_path: dict[str, Any] = {}
        for t in sorted(inv.tasks, key=lambda t: (t.position, t.outcome == "replayed", t.outcome != "interrupted")):
            if t.outcome == "replayed" and t.path in by_path:
                continue
            by_path[t.path] = t
        for t in by_path.values():
            key = _row_key((), t.path)
            row = _new_row(key, "task", t.name, t.path, Position.callers(t.path))
            row["state"] = {"error": "error", "interrupted": "waiting", "cached": "cached"}.get(t.outcome, "ok")
            row["replayed"] = t.outcome == "replayed"
            row["cached"] = t.outcome == "cached"
            row["duration"] = max(0.0, t.duration or 0.0)
            row["preview"] = t.result_summary if row["state"] in ("ok", "cached") else ""
            row["error"] = t.error or ""
            if t.usage:
                row["usage"] = llm.usage_summary(totals(t.usage))
            self.rows[key] = row
        times = invocation_times(inv)  # the same numbers the timeline and a settled live view read
        self.active_s, self.waiting_s = times.active, times.waiting
        for intr in inv.asked:
            answered = intr.id in inv.answers
            self.questions[intr.id] = _question(intr, "answered" if answered else "pending",
                                                brief(inv.answers[intr.id], PREVIEW) if answered else "",
                                                ORIGIN_STORED if answered else "")
        self.pending = {i.id: i for i in inv.pending}
        for iid in self.pending:
            if iid not in self.questions:
                self.questions[iid] = _question(self.pending[iid], "pending", "", "")
        status = inv.status
        self.liveness = None
        if status == "running" and not live_running:
            lv = dict(liveness or {"state": "gone", "owner": "", "since": None})
            self.liveness = lv
            if lv["state"] == "elsewhere":
                self.last_event = f"running elsewhere: {lv['owner']}"
            elif lv["state"] != "here":
                status = "stopped"
                self.last_event = gone_note(lv)
        self.status = status if status in ("done", "interrupted", "error", "running", "stopped") else "idle"
        if status == "done":
            self._result(inv.value)
        elif status == "error":
            self.error = inv.error or "error"
        elif status == "stopped" and self.liveness is None:
            self.last_event = STOPPED_NOTE
        elif status == "interrupted":
            self.wait_since = inv.ended_at
        self.stale = False

    def _result(self, value: Any) -> None:
        self.value, self.has_result = value, True
        self.value_chat = conversation(value)

    def kept(self) -> tuple[dict, list[dict], Any]:
        """``(state, rows, value)`` of the current invocation, for a view kept on it once a newer one starts:
        its open questions can no longer be answered there (they are marked superseded)."""
        state = run_state(self)
        state["moved_on"] = True
        if self.before_start is not None:  # the newer run was being started: ours had ended as it was
            state["status"], state["since"] = self.before_start, None
        for q in state["questions"]:
            if q["state"] == "pending":
                q["state"] = "superseded"
        return state, [dict(r) for r in sorted(self.rows.values(), key=row_order)], self.value

    # ------------------------------------------------------------------ live events
    def starting(self, ts: float) -> None:
        """The actions layer is about to start or resume a run here: show it running at once."""
        if self.status != "running":
            self.before_start = self.status
        self.status = "running"
        self.state_dirty = True

    def apply(self, event: Any) -> None:
        handler: Any = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _on_run_start(self, e: ev.RunStart) -> None:
        if e.ns:
            return
        if not e.resuming:
            if self.invocation in self.keep:
                self.archive[self.invocation] = self.kept()
            self.invocation += 1
            self._clear()
        elif e.answers:  # a resume (not a retry, nor a continue after a stop)
            self._answered(e.answers)
        if self.wait_since is not None:
            self.waiting_s += max(0.0, e.ts - self.wait_since)
            self.wait_since = None
        self.status = "running"
        self.liveness = None
        self.before_start = None
        self.run_since = self.activity = e.ts
        if self.last_event.startswith(("stopped without finishing", "running elsewhere")) or \
                self.last_event in (STOPPED_NOTE, "stopping…"):  # a continue after a stop: the note is over
            self.last_event = ""
        if e.thread_id is not None:
            self.thread_id = str(e.thread_id)
        self.checkpoint_id = e.checkpoint_id or self.checkpoint_id
        self.error = self.error_where = self.traceback = ""
        self.state_dirty = True

    def _answered(self, answers: dict) -> None:
        """A resume began with ``answers`` (``{interrupt_id: value}``, from its :class:`~nbflow.events.RunStart`):
        exactly those questions are answered; every other one stays open. The origin is what the actions
        layer said (:attr:`origin_hint`), else plain code."""
        origin = self.origin_hint or ORIGIN_CODE
        self.origin_hint = None
        for iid, value in answers.items():
            q = self.questions.get(iid)
            if q is not None:
                q.update(state="answered", answer=brief(value, PREVIEW), origin=origin)
            self.pending.pop(iid, None)

    def _on_task_start(self, e: ev.TaskStart) -> None:
        key = _row_key(e.ns, e.path)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = _new_row(key, "task", e.name, e.path, len(e.ns) + Position.callers(e.path))
        else:
            row.update(state="running", error="", replayed=False)
        self._tasks[(e.ns, e.task_id)] = key
        self._by_task_id[e.task_id] = key
        self._touch(row)

    def _on_task_end(self, e: ev.TaskEnd) -> None:
        key = self._tasks.pop((e.ns, e.task_id), None) or _row_key(e.ns, e.path)
        self._by_task_id.pop(e.task_id, None)
        row = self.rows.get(key)
        if e.replayed:
            if row is not None and row["state"] in ("ok", "cached"):
                if not row["replayed"]:
                    row["replayed"] = True
                    self._touch(row)
                return
            if row is None:
                row = self.rows[key] = _new_row(key, "task", e.name, e.path, len(e.ns) + Position.callers(e.path))
            row.update(state="ok", replayed=True, duration=0.0)
            _set_result(row, e.result)
            self._touch(row)
            return
        if row is None:
            row = self.rows[key] = _new_row(key, "task", e.name, e.path, len(e.ns) + Position.callers(e.path))
        if isinstance(e.error, RunStopped):
            if row["state"] in ("ok", "cached"):
                return  # the late end of an attempt a stop abandoned: a continued run already finished this call
            row.update(state="stopped", error=ABANDONED, preview="")
        elif e.error is not None:
            row.update(state="error", error=error_text(e.error), preview="")
        elif e.interrupts:
            row.update(state="waiting", preview="")
        else:
            row.update(state="cached" if e.cached else "ok", error="")
            _set_result(row, e.result)
            tools = llm.final_tools(e.result)
            if tools is not None:  # the final message replaces what streamed
                row["tools"] = tools
        row.update(duration=max(0.0, e.ended - e.started), cached=e.cached, replayed=False)
        self.activity = e.ended
        if row.get("stream"):
            row["stream"] = ""
            # the sidebar's tail follows another task still streaming, if any
            others = [r for r in self.rows.values() if r.get("stream") and r["state"] == "running"]
            self.streaming = llm.tail(others[-1]["stream"]) if others else ""
        if e.usage:
            used = totals(e.usage)
            row["usage"] = llm.usage_summary(used)
            self.usage = self.usage + used
            self.thread_usage = self.thread_usage + used
        self._touch(row)
        self.state_dirty = True

    def _on_custom(self, e: ev.Custom) -> None:
        self.events += 1
        self.last_event = _preview(e.payload)
        self.state_dirty = True

    def _on_message(self, e: ev.Message) -> None:
        key = self._by_task_id.get(str((e.metadata or {}).get("nbflow_task_id") or ""))
        row = self.rows.get(key) if key is not None else None
        if row is not None:  # a chat model streaming inside a task: its row grows
            if llm.fold_chunk(row, e.chunk):
                self.streaming = llm.tail(row.get("stream", ""))
                self._touch(row)
                self.state_dirty = True  # the sidebar shows the tail (sent at the flush interval)
            return
        chunk = e.chunk
        mid = getattr(chunk, "id", None) or (e.metadata or {}).get("nbflow_task_id") or "/".join(e.ns)
        key = f"msg:{mid}"
        text = _message_text(chunk)
        row = self.rows.get(key)
        if row is None:
            node = str((e.metadata or {}).get("langgraph_node") or "")
            row = self.rows[key] = _new_row(key, "message", node, "", len(e.ns))
            row["state"] = "ok"
        row["text"] += text
        self._touch(row)

    def _settle(self, ts: float, usage: tuple = ()) -> None:
        self.activity = ts
        if usage:  # the entrypoint body's own model calls
            used = totals(usage)
            self.usage = self.usage + used
            self.thread_usage = self.thread_usage + used
        if self.run_since is not None:
            self.active_s += max(0.0, ts - self.run_since)
            self.run_since = None
        self.state_dirty = True

    def _on_run_end(self, e: ev.RunEnd) -> None:
        if e.ns:
            return
        self._settle(e.ts, e.usage)
        self.status = "done"
        self._result(e.value)
        for key, row in self.rows.items():  # a run that returned has no task left running
            if row["state"] == "running":
                row["state"] = "ok"
                self.dirty.add(key)

    def _on_interrupted(self, e: ev.RunInterrupted) -> None:
        if e.ns:
            return
        self._settle(e.ts, e.usage)
        self.status = "interrupted"
        self.wait_since = e.ts
        for intr in e.interrupts:
            self.pending[intr.id] = intr
            if intr.id not in self.questions or self.questions[intr.id]["state"] != "answered":
                self.questions[intr.id] = _question(intr, "pending", "", "")

    def _on_error(self, e: ev.RunError) -> None:
        if e.ns:
            return
        self._settle(e.ts, e.usage)
        self.failed(e.error)

    def _on_stopped(self, e: ev.RunHalted) -> None:
        """``Workflow.stop`` ended the invocation: tasks still running were abandoned."""
        if e.ns:
            return
        self._settle(e.ts)
        self.status = "stopped"
        self.last_event = STOPPED_NOTE
        for key, row in self.rows.items():
            if row["state"] == "running":
                row.update(state="stopped", error=ABANDONED)
                self.dirty.add(key)

    def failed(self, exc: BaseException) -> None:
        """The run stopped with ``exc`` (a RunError, or a stream that broke)."""
        if self.run_since is not None:
            self.run_since = None
        self.status = "error"
        self.error = error_text(exc)
        self.traceback, self.error_where = user_frame(exc)
        self.pending = {}
        for q in self.questions.values():
            if q["state"] == "pending":
                q["state"] = "superseded"
        self.state_dirty = True

    def edited(self, kind: str) -> None:
        """``update_state`` / ``fork`` wrote to this thread: the hub reloads it from the saver.

        A ``stop`` writes nothing yet: the run's own :class:`~nbflow.events.RunHalted` settles the
        model (a reload would lose the abandoned tasks, which have no stored record)."""
        if kind == "stop":
            if self.status == "running":  # the run's RunStopped may have come first
                self.last_event = "stopping…"
                self.state_dirty = True
            return
        self.stale = True
        self.last_event = f"thread edited ({kind})"
        self.state_dirty = True


def gone_note(lv: dict) -> str:
    """The note of a run that stopped without finishing (its process is gone)."""
    who = lv.get("owner") or "its process"
    return f"stopped without finishing: {who} is gone; continue with invoke(None, config)"


def _question(intr: Any, state: str, answer: str, origin: str) -> dict:
    return {"id": intr.id, "task": getattr(intr, "task", "") or "", "state": state,
            "summary": summarize(intr.value, PREVIEW), "text": question_text(intr.value), "answer": answer,
            "origin": origin,
            "form": form_spec(intr)}


def _message_text(chunk: Any) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else b.get("text", "") if isinstance(b, dict) else ""
                       for b in content)
    return summarize(content, PREVIEW)


_HANDLERS = {
    ev.RunStart: ThreadModel._on_run_start,
    ev.TaskStart: ThreadModel._on_task_start,
    ev.TaskEnd: ThreadModel._on_task_end,
    ev.Custom: ThreadModel._on_custom,
    ev.Message: ThreadModel._on_message,
    ev.RunEnd: ThreadModel._on_run_end,
    ev.RunInterrupted: ThreadModel._on_interrupted,
    ev.RunError: ThreadModel._on_error,
    ev.RunHalted: ThreadModel._on_stopped,
}


def run_state(m: ThreadModel, now: float | None = None) -> dict:
    """The :class:`~.protocol.RunState` of a thread (pure; ``now`` only adds the open stretch)."""
    active, waiting = m.active_s, m.waiting_s
    since = m.run_since if m.status == "running" else m.wait_since if m.status == "interrupted" else None
    return {"name": m.workflow, "workflow": m.workflow, "thread_id": m.thread_id, "status": m.status,
            "done": m.done, "total": m.total, "active_s": round(active, 4), "waiting_s": round(waiting, 4),
            "since": since, "error": m.error, "error_where": m.error_where, "traceback": m.traceback,
            "result": pretty(m.value, RESULT_PREVIEW) if m.has_result else "",
            "result_preview": brief(m.value, PREVIEW) if m.has_result else "", "has_result": m.has_result,
            "events": m.events, "last_event": m.last_event,
            "questions": [dict(q) for q in m.questions.values()], "invocation": m.invocation,
            "result_chat": m.value_chat or [], "liveness": dict(m.liveness) if m.liveness else None,
            **({"usage": llm.usage_summary(m.usage)} if m.usage.calls else {}),
            **({"thread_usage": llm.usage_summary(m.thread_usage)} if m.thread_usage.calls else {})}


__all__ = ["ABANDONED", "ORIGIN_CODE", "ORIGIN_STORED", "STOPPED_NOTE", "ThreadModel", "error_text", "row_order",
           "run_state"]
