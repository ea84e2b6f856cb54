"""View-models, pure: run events → log entries and header state; invocations → a timeline.

Nothing here imports IPython or the widget libraries, does I/O or reads a
clock; the widgets (:mod:`nbflow.notebook.widgets`) only forward what these
classes produce, so everything a view shows is tested as plain data.

* :class:`RunModel` folds :mod:`nbflow.events` into a log of entries (dicts
  with an ``id`` and a ``kind``, see :data:`protocol.ENTRY_KINDS`) and records
  every change as a small op (``append`` / ``patch`` / ``text``) until
  :meth:`RunModel.take_ops` hands them to the sender; an entry not yet sent is
  edited in place, so a batch never carries more than one op per entry change.
* :func:`transcript` / :func:`static_html` render a model deterministically
  (no ids, timestamps or durations) for ``text/plain`` and ``text/html``.
* :func:`timeline_model` lays out a thread's invocations and their tasks on a
  time axis; :func:`timeline_transcript` is its text form.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from .. import events as ev
from ..serde import summarize
from .forms import form_specs, jsonable, pretty

PREVIEW = 80          # characters of a task result / custom event in the log
RESULT_PREVIEW = 2000  # characters of the final value
SNAPSHOT_LIMIT = 2000  # entries sent in a snapshot (older ones are counted, not sent)


def _preview(obj: Any, limit: int = PREVIEW) -> str:
    if type(obj) is str:  # fast path: most custom events are strings
        r = repr(obj[: limit + 2])
        return r if len(r) <= limit else r[: limit - 1] + "…"
    return summarize(obj, limit)


def _error_text(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    msg = str(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _message_text(chunk: Any) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return summarize(content, PREVIEW)


class RunModel:
    """The state of one run view, built from events (and from stored history on attach)."""

    def __init__(self, name: str, thread_id: str | None = None) -> None:
        self.name = name
        self.thread_id = thread_id
        self.status = "idle"
        self.entries: list[dict] = []
        self.ops: list[dict] = []
        self.seq = 0
        self.sent = 0  # entries[:sent] have reached the front end
        self.tasks_started = 0
        self.tasks_done = 0
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.pending: tuple = ()
        self.forms: list[dict] = []
        self.value: Any = None
        self.has_value = False
        self.error = ""
        self.custom_count = 0
        self._tasks: dict[tuple, int] = {}     # (ns, task_id) -> entry id
        self._messages: dict[Any, int] = {}    # message key -> entry id

    # ------------------------------------------------------------------ entries and ops
    def _append(self, entry: dict) -> dict:
        entry["id"] = len(self.entries)
        self.entries.append(entry)
        self.ops.append({"op": "append", "entry": entry})
        return entry

    def _patch(self, eid: int, **fields: Any) -> None:
        entry = self.entries[eid]
        entry.update(fields)
        if eid >= self.sent:
            return  # still inside a pending append op, which holds this very dict
        last = self.ops[-1] if self.ops else None
        if last is not None and last["op"] == "patch" and last["id"] == eid:
            last["set"].update(fields)
        else:
            self.ops.append({"op": "patch", "id": eid, "set": dict(fields)})

    def _extend_text(self, eid: int, text: str) -> None:
        entry = self.entries[eid]
        entry["text"] += text
        if eid >= self.sent:
            return
        last = self.ops[-1] if self.ops else None
        if last is not None and last["op"] == "text" and last["id"] == eid:
            last["text"] += text
        else:
            self.ops.append({"op": "text", "id": eid, "text": text})

    def take_ops(self) -> list[dict]:
        """The ops recorded since the last call (empty when nothing changed)."""
        ops = self.ops
        if not ops:
            return ops
        self.ops = []
        self.sent = len(self.entries)
        self.seq += 1
        for op in ops:  # the sender serializes these later, while the model may change
            if op["op"] == "append":
                op["entry"] = dict(op["entry"])
        return ops

    def snapshot(self, limit: int = SNAPSHOT_LIMIT) -> dict:
        """The whole log for a (re)rendered view; call after :meth:`take_ops`."""
        start = max(0, len(self.entries) - limit)
        return {"seq": self.seq, "entries": self.entries[start:], "omitted": start}

    def header(self) -> dict:
        """Small state kept in synced traits (everything but the log)."""
        return {"name": self.name, "thread_id": self.thread_id, "status": self.status,
                "tasks_done": self.tasks_done, "tasks_started": self.tasks_started,
                "started_at": self.started_at, "ended_at": self.ended_at, "error": self.error,
                "custom": self.custom_count}

    def result(self) -> dict:
        if not self.has_value:
            return {}
        return {"text": pretty(self.value, RESULT_PREVIEW), "preview": summarize(self.value, PREVIEW)}

    # ------------------------------------------------------------------ events
    def apply(self, event: Any) -> None:
        """Fold one :mod:`nbflow.events` object into the model."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _on_custom(self, e: ev.Custom) -> None:
        self.custom_count += 1
        self._append({"kind": "custom", "text": _preview(e.payload), "depth": len(e.ns)})

    def _on_message(self, e: ev.Message) -> None:
        chunk = e.chunk
        key = getattr(chunk, "id", None) or (e.metadata or {}).get("nbflow_task_id") or e.ns
        text = _message_text(chunk)
        eid = self._messages.get(key)
        if eid is None:
            node = (e.metadata or {}).get("langgraph_node") or ""
            self._messages[key] = self._append({"kind": "message", "node": str(node), "text": text,
                                                "depth": len(e.ns)})["id"]
        elif text:
            self._extend_text(eid, text)

    def _on_run_start(self, e: ev.RunStart) -> None:
        if e.ns:
            self._append({"kind": "run", "text": f"{e.name} started", "depth": len(e.ns)})
            return
        self.status = "running"
        self.name = e.name or self.name
        if e.thread_id is not None:
            self.thread_id = e.thread_id
        self.started_at, self.ended_at = e.ts, None
        self.error = ""
        text = "resumed" if e.resuming else f"started with {summarize(e.input, PREVIEW)}"
        self._append({"kind": "run", "text": text, "depth": 0})

    def _on_task_start(self, e: ev.TaskStart) -> None:
        self.tasks_started += 1
        entry = self._append({"kind": "task", "name": e.name, "path": e.path, "state": "running",
                              "depth": len(e.ns) + e.path.count("."), "started": e.ts})
        self._tasks[(e.ns, e.task_id)] = entry["id"]

    def _on_task_end(self, e: ev.TaskEnd) -> None:
        if e.error is not None:
            state, fields = "error", {"error": _error_text(e.error)}
        elif e.interrupts:
            state, fields = "interrupted", {}
        else:
            state, fields = "ok", {"preview": _preview(e.result)}
        fields.update(state=state, duration=max(0.0, e.ended - e.started), cached=e.cached, replayed=e.replayed)
        eid = self._tasks.pop((e.ns, e.task_id), None)
        if eid is None:
            if not e.replayed:
                self.tasks_started += 1
            self._append({"kind": "task", "name": e.name, "path": e.path, "depth": len(e.ns) + e.path.count("."),
                          "started": e.started, **fields})
        else:
            self._patch(eid, **fields)
        if state != "interrupted" and not e.replayed:
            self.tasks_done += 1

    def _on_run_end(self, e: ev.RunEnd) -> None:
        if e.ns:
            self._append({"kind": "run", "text": f"{e.name} returned {summarize(e.value, PREVIEW)}",
                          "depth": len(e.ns)})
            return
        self.status = "done"
        self.ended_at = e.ts
        self.value, self.has_value = e.value, True
        self.set_pending(())

    def _on_interrupted(self, e: ev.RunInterrupted) -> None:
        if e.ns:
            return  # the parent run reports the same interrupts
        self.status = "interrupted"
        self.ended_at = e.ts
        self.set_pending(e.interrupts)
        for intr in e.interrupts:
            self._append({"kind": "interrupt", "text": summarize(intr.value, PREVIEW), "iid": intr.id,
                          "task": getattr(intr, "task", "") or "", "depth": 0})

    def _on_error(self, e: ev.RunError) -> None:
        text = _error_text(e.error)
        if e.ns:
            self._append({"kind": "error", "text": f"{e.name}: {text}", "depth": len(e.ns)})
            return
        self.status = "error"
        self.ended_at = e.ts
        self.error = text
        self.set_pending(())
        self._append({"kind": "error", "text": text, "depth": 0})

    # ------------------------------------------------------------------ outside events
    def set_pending(self, interrupts: Iterable) -> None:
        self.pending = tuple(interrupts)
        self.forms = form_specs(self.pending)

    def answered(self, answers: dict) -> None:
        """Record answers just sent with ``Command(resume=...)``; the view is running again."""
        by_id = {i.id: i for i in self.pending}
        for iid, value in answers.items():
            intr = by_id.get(iid)
            self._append({"kind": "answer", "text": summarize(value, PREVIEW), "iid": iid,
                          "task": getattr(intr, "task", "") if intr else "", "depth": 0})
        self.set_pending(())
        self.status = "running"
        self.ended_at = None

    def note(self, text: str) -> None:
        self._append({"kind": "note", "text": text, "depth": 0})

    def failed(self, exc: BaseException) -> None:
        """A run that could not start or whose stream broke (not a RunError event)."""
        self.status = "error"
        self.error = _error_text(exc)
        self.set_pending(())
        self._append({"kind": "error", "text": self.error, "depth": 0})

    def load_invocation(self, inv: Any) -> None:
        """Show a stored invocation (attaching to an existing thread, e.g. after a restart)."""
        self.started_at, self.ended_at = inv.started_at, inv.ended_at
        self._append({"kind": "run", "text": f"loaded from the checkpointer: input {summarize(inv.input, PREVIEW)}",
                      "depth": 0})
        asked = {i.id: i for i in inv.asked}
        for t in _executions(inv):
            self.tasks_started += 1
            state = {"error": "error", "interrupted": "interrupted"}.get(t.outcome, "ok")
            if state != "interrupted":
                self.tasks_done += 1
            entry = {"kind": "task", "name": t.name, "path": t.path, "depth": t.path.count("."), "state": state,
                     "duration": t.duration or 0.0, "cached": t.outcome == "cached", "replayed": True,
                     "started": t.started_at}
            if state == "ok":
                entry["preview"] = t.result_summary
            if t.error:
                entry["error"] = t.error
            self._append(entry)
        for iid, answer in inv.answers.items():
            intr = asked.get(iid)
            if intr is not None:
                self._append({"kind": "interrupt", "text": summarize(intr.value, PREVIEW), "iid": iid,
                              "task": intr.task, "depth": 0})
            self._append({"kind": "answer", "text": summarize(answer, PREVIEW), "iid": iid, "depth": 0,
                          "task": intr.task if intr else ""})
        self.status = {"done": "done", "interrupted": "interrupted", "error": "error"}.get(inv.status, "idle")
        if inv.status == "done":
            self.value, self.has_value = inv.value, True
        if inv.status == "interrupted":
            self.set_pending(inv.pending)
            for intr in inv.pending:
                self._append({"kind": "interrupt", "text": summarize(intr.value, PREVIEW), "iid": intr.id,
                              "task": intr.task, "depth": 0})
        if inv.status == "error":
            self.error = inv.error or "error"
            self._append({"kind": "error", "text": self.error, "depth": 0})


_HANDLERS = {
    ev.Custom: RunModel._on_custom,
    ev.Message: RunModel._on_message,
    ev.RunStart: RunModel._on_run_start,
    ev.TaskStart: RunModel._on_task_start,
    ev.TaskEnd: RunModel._on_task_end,
    ev.RunEnd: RunModel._on_run_end,
    ev.RunInterrupted: RunModel._on_interrupted,
    ev.RunError: RunModel._on_error,
}

# ---------------------------------------------------------------------------- deterministic renderings
_MARK = {"ok": "✓", "error": "✗", "interrupted": "⏸", "running": "…"}


def _task_lines(model: RunModel) -> list[tuple[str, dict]]:
    """The log items worth a transcript line, in order: each task position once (its latest real
    outcome), each question once (with its answer after it), nested runs and errors."""
    rows: list[tuple[str, dict]] = []
    where: dict[tuple, int] = {}
    asked: set[str] = set()
    for e in model.entries:
        kind = e["kind"]
        if kind == "task":
            key = (e.get("depth", 0), e["path"], e["name"])
            if key in where:
                if e.get("replayed"):
                    continue
                rows[where[key]] = ("task", e)
            else:
                where[key] = len(rows)
                rows.append(("task", e))
        elif kind == "interrupt":
            if e.get("iid") not in asked:
                asked.add(e.get("iid"))
                rows.append((kind, e))
        elif kind in ("answer", "error") or (kind == "run" and e.get("depth")):
            if kind == "error" and not e.get("depth"):
                continue  # the run's own error is the last line
            rows.append((kind, e))
    return _sort_task_blocks(rows)


def _position(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split(".")) if path else ()


def _sort_task_blocks(rows: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Tasks that ran in parallel start in any order: sort each run of task lines by call position."""
    out: list[tuple[str, dict]] = []
    block: list[tuple[str, dict]] = []
    for row in rows:
        if row[0] == "task":
            block.append(row)
            continue
        out.extend(sorted(block, key=lambda r: _position(r[1]["path"])))
        block = []
        out.append(row)
    out.extend(sorted(block, key=lambda r: _position(r[1]["path"])))
    return out


def transcript(model: RunModel) -> str:
    """``text/plain`` of a run view: the same text for the same run, every time."""
    head = model.name + (f" · thread {model.thread_id}" if model.thread_id else "") + f" · {model.status}"
    lines = [head]
    for kind, e in _task_lines(model):
        pad = "  " + "  " * e.get("depth", 0)
        if kind == "task":
            state = e.get("state", "running")
            badges = "".join(f" ({b})" for b in ("cached", "replayed") if e.get(b))
            line = f"{pad}{_MARK.get(state, '?')} {e['name']}{badges}"
            if state == "ok":
                line += f" → {e.get('preview', '')}"
            elif state == "error":
                line += f": {e.get('error', '')}"
            lines.append(line)
        elif kind == "interrupt":
            lines.append(f"{pad}? interrupt: {e['text']}")
        elif kind == "answer":
            lines.append(f"{pad}↳ answer: {e['text']}")
        elif kind == "error":
            lines.append(f"{pad}✗ {e['text']}")
        elif kind == "run":
            lines.append(f"{pad}· {e['text']}")
    if model.status == "error" and model.error:
        lines.append(f"  ✗ error: {model.error}")
    if model.has_value:
        lines.append(f"  = {summarize(model.value, PREVIEW)}")
    return "\n".join(lines)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def static_html(model: RunModel) -> str:
    """``text/html`` of a run view for places without widgets (nbconvert, GitHub): deterministic."""
    parts = [f'<div class="nbflow-run nbflow-static" data-status="{_esc(model.status)}">',
             f'<div class="nbflow-header"><b>{_esc(model.name)}</b>'
             + (f" · thread <code>{_esc(model.thread_id)}</code>" if model.thread_id else "")
             + f' · <span class="nbflow-status">{_esc(model.status)}</span></div>', '<ul class="nbflow-log">']
    for kind, e in _task_lines(model):
        if kind == "task":
            state = e.get("state", "running")
            badges = "".join(f' <span class="nbflow-badge">{b}</span>' for b in ("cached", "replayed") if e.get(b))
            tail = f" → <code>{_esc(e.get('preview', ''))}</code>" if state == "ok" else \
                f' <span class="nbflow-error">{_esc(e.get("error", ""))}</span>' if state == "error" else ""
            parts.append(f'<li class="nbflow-task" data-state="{state}">{_MARK.get(state, "?")} '
                         f"<b>{_esc(e['name'])}</b>{badges}{tail}</li>")
        elif kind == "answer":
            parts.append(f'<li class="nbflow-answer">↳ answer: <code>{_esc(e["text"])}</code></li>')
        elif kind == "interrupt":
            parts.append(f'<li class="nbflow-interrupt">? interrupt: <code>{_esc(e["text"])}</code></li>')
        else:
            parts.append(f'<li class="nbflow-{kind}">{_esc(e["text"])}</li>')
    parts.append("</ul>")
    if model.status == "error" and model.error:
        parts.append(f'<div class="nbflow-error">{_esc(model.error)}</div>')
    if model.has_value:
        parts.append(f'<pre data-testid="nbflow-result">{_esc(pretty(model.value, RESULT_PREVIEW))}</pre>')
    parts.append("</div>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------- timeline
def _executions(inv: Any) -> list:
    """An invocation's task records in call order, without the ``replayed`` markers of tasks
    that also have a real record (a replay is shown on the record it served)."""
    tasks = sorted(inv.tasks, key=lambda t: (t.position, t.outcome == "replayed", t.outcome != "interrupted"))
    real = {t.path for t in tasks if t.outcome != "replayed"}
    return [t for t in tasks if t.outcome != "replayed" or t.path not in real]


def _task_rows(inv: Any) -> list[dict]:
    """Tasks of one invocation in call order, with offsets from its start and the ``fork`` index.

    A result copied into a forked invocation keeps its original (earlier) times:
    it is drawn at 0 with no length and flagged ``reused``.
    """
    t0 = inv.started_at
    tasks = _executions(inv)
    forkable = [t for t in tasks if t.outcome in ("ok", "cached")]
    fork_index = {id(t): i for i, t in enumerate(forkable)}
    rows = []
    for i, t in enumerate(tasks):
        start = (t.started_at - t0) if t.started_at is not None else 0.0
        reused = t.outcome == "replayed" or start < -1e-3
        dur = 0.0 if reused else (t.duration or 0.0)
        rows.append({"i": i, "name": t.name, "path": t.path, "depth": t.path.count("."), "outcome": t.outcome,
                     "offset": 0.0 if reused else max(0.0, start), "duration": max(0.0, dur), "reused": reused,
                     "result": t.result_summary, "error": t.error or "", "input": t.input_summary, "wave": t.wave,
                     "fork": fork_index.get(id(t)),
                     "interrupts": [summarize(x.value, PREVIEW) for x in t.interrupts]})
    return rows


def timeline_model(name: str, thread_id: str, invocations: list) -> dict:
    """A thread's invocations for the timeline view (JSON-able); tasks carry offsets on a time axis."""
    out = []
    for n, inv in enumerate(invocations):
        rows = _task_rows(inv)
        span = max([(inv.ended_at or inv.started_at) - inv.started_at,
                    *(r["offset"] + r["duration"] for r in rows), 0.0])
        out.append({
            "index": n, "checkpoint_id": inv.checkpoint_id, "status": inv.status, "source": inv.source,
            "input": summarize(inv.input, PREVIEW), "started_at": inv.started_at, "ended_at": inv.ended_at,
            "span": span, "value": pretty(inv.value, RESULT_PREVIEW) if inv.status in ("done", "update") else "",
            "preview": summarize(inv.value, PREVIEW) if inv.status in ("done", "update") else "",
            "error": inv.error or "",
            "asked": [{"id": a.id, "value": summarize(a.value, PREVIEW), "answered": a.id in inv.answers,
                       "answer": summarize(inv.answers[a.id], PREVIEW) if a.id in inv.answers else ""}
                      for a in inv.asked],
            "pending": [a.id for a in inv.pending],
            "forked_from": jsonable(inv.forked_from) if inv.forked_from else None,
            "tasks": rows,
        })
    return {"name": name, "thread_id": thread_id, "invocations": out}


def timeline_transcript(data: dict) -> str:
    """``text/plain`` of a timeline: deterministic, one line per invocation, task, question and answer."""
    invs = data["invocations"]
    lines = [f"{data['name']} · thread {data['thread_id']} · {len(invs)} invocation{'s' if len(invs) != 1 else ''}"]
    for inv in invs:
        head = f"  #{inv['index']} {inv['status']}"
        if inv["status"] != "update":
            head += f" · input {inv['input']}"
        if inv["forked_from"]:
            head += " · forked"
        lines.append(head)
        for t in inv["tasks"]:
            mark = {"ok": "✓", "cached": "✓", "replayed": "✓", "error": "✗", "interrupted": "⏸"}.get(t["outcome"], "?")
            line = "      " + "  " * t["depth"] + f"{mark} {t['name']}"
            if t["outcome"] == "cached":
                line += " (cached)"
            if t["reused"]:
                line += " (reused)"
            if t["outcome"] in ("ok", "cached", "replayed"):
                line += f" → {t['result']}"
            elif t["error"]:
                line += f": {t['error']}"
            lines.append(line)
        for a in inv["asked"]:
            lines.append(f"      ? {a['value']}" + (f" ↳ {a['answer']}" if a["answered"] else ""))
        if inv["preview"]:
            lines.append(f"      = {inv['preview']}")
        if inv["error"]:
            lines.append(f"      ✗ error: {inv['error']}")
    return "\n".join(lines)


def timeline_html(data: dict) -> str:
    """Static ``text/html`` of a timeline (deterministic)."""
    return ('<pre class="nbflow-timeline nbflow-static">' + _esc(timeline_transcript(data)) + "</pre>")


# ---------------------------------------------------------------------------- inbox
def inbox_transcript(items: list[dict]) -> str:
    if not items:
        return "nbflow inbox · nothing is waiting for input"
    lines = [f"nbflow inbox · {len(items)} thread{'s' if len(items) != 1 else ''} waiting for input"]
    for item in items:
        lines.append(f"  {item['workflow']} · thread {item['thread_id']}")
        for q in item["questions"]:
            lines.append(f"    ? {q}")
    return "\n".join(lines)


def inbox_html(items: list[dict]) -> str:
    return '<pre class="nbflow-inbox nbflow-static">' + _esc(inbox_transcript(items)) + "</pre>"


__all__ = [
    "SNAPSHOT_LIMIT",
    "RunModel",
    "inbox_html",
    "inbox_transcript",
    "static_html",
    "timeline_html",
    "timeline_model",
    "timeline_transcript",
    "transcript",
]
