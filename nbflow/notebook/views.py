"""Projections, pure: a thread's state → static fallbacks; invocations → a timeline; inbox text.

Nothing here imports IPython or the widget libraries, does I/O or reads a
clock; the widgets only forward what these functions produce, so what a view
shows is tested as plain data.

* :func:`transcript` / :func:`static_html` render a run view's
  :class:`~.protocol.RunState` and rows (from :mod:`.thread`) deterministically
  (no ids, timestamps or durations) for ``text/plain`` and ``text/html``: the
  fallbacks a saved notebook, nbconvert and GitHub show.
* :func:`timeline_model` lays out a thread's invocations as its checkpoint
  tree (branches, head, superseded questions) with tasks on a time axis that
  leaves out human waiting time; :func:`timeline_transcript` is its text form.
* :func:`inbox_transcript` / :func:`inbox_html` for the inbox.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..kinds import Position
from ..observe.usage import EMPTY
from ..serde import summarize
from . import llm
from .active import active_clock, invocation_times, waiting_gaps
from .conversation import brief, chat_html, chat_text, conversation
from .forms import jsonable, pretty, question_text

PREVIEW = 80          # characters of a task result / custom event in the log
RESULT_PREVIEW = 2000  # characters of the final value


def _preview(obj: Any, limit: int = PREVIEW) -> str:
    if type(obj) is str:
        r = repr(obj[: limit + 2])
        return r if len(r) <= limit else r[: limit - 1] + "…"
    return summarize(obj, limit)


# ---------------------------------------------------------------------------- run view fallbacks
_MARK = {"ok": "✓", "cached": "✓", "error": "✗", "waiting": "?", "running": "…", "stopped": "■"}
_STATUS_WORDS = {"idle": "idle", "running": "running", "interrupted": "waiting for input", "done": "done",
                 "error": "failed", "stopped": "stopped"}


def _position(path: str) -> tuple[int, ...]:
    return Position.key_or(path, ())


def _head(state: dict) -> str:
    head = state["name"] + (f" · thread {state['thread_id']}" if state.get("thread_id") else "")
    head += f" · {_STATUS_WORDS.get(state['status'], state['status'])}"
    if state.get("total"):
        head += f" · {state['done']}/{state['total']} tasks"
    return head


def _turn_note(state: dict) -> str:
    return (f"turn {state['invocation']} of the thread; a newer turn has started since"
            if state.get("moved_on") else "")


def transcript(state: dict, rows: list[dict]) -> str:
    """``text/plain`` of a run view (deterministic: no times, no ids); a result of chat messages
    reads as a conversation."""
    lines = [_head(state)]
    if _turn_note(state):
        lines.append(f"  ({_turn_note(state)})")
    for r in rows:
        pad = "  " + "  " * r.get("depth", 0)
        if r["kind"] == "message":
            lines.append(f"{pad}» {r['name'] or 'message'}: {summarize(r['text'], PREVIEW)}")
            continue
        badges = "".join(f" ({b})" for b, on in (("cached", r["cached"]), ("from checkpoint", r["replayed"])) if on)
        line = f"{pad}{_MARK.get(r['state'], '?')} {r['name']}{badges}"
        if r["state"] in ("ok", "cached") and r["preview"]:
            line += f" → {r['preview']}"
        elif r["state"] in ("error", "stopped"):
            line += f": {r['error']}"
        elif r["state"] == "waiting":
            line += " (waiting for an answer)"
        lines.append(line)
    for q in state["questions"]:
        line = f"  ? {q['summary']}"
        if q["state"] == "answered":
            line += f" ↳ {q['answer']} (answered from {q['origin']})"
        elif q["state"] == "superseded":
            line += " (superseded)"
        lines.append(line)
    lv = state.get("liveness") or {}
    if lv.get("state") == "elsewhere":
        lines.append(f"  ▶ running elsewhere: {lv['owner']}")
    if state["status"] == "stopped" and lv.get("state") == "gone":
        lines.append(f"  ■ stopped without finishing: {lv['owner'] or 'its process'} is gone; continue with "
                     "invoke(None, config) or the view's Continue button")
    elif state["status"] == "stopped":
        lines.append("  ■ stopped: continue with invoke(None, config) or the view's Continue button")
    if state["status"] == "error" and state["error"]:
        lines.append(f"  ✗ {state['error']}")
        if state.get("error_where"):
            lines.append(f"    at {state['error_where']}")
    if state.get("usage"):
        lines.append(f"  $ {state['usage']['text']}")
    if state["has_result"] and state.get("result_chat"):
        lines.append("  = conversation:")
        lines.extend(chat_text(state["result_chat"], indent="    "))
    elif state["has_result"]:
        lines.append(f"  = {state['result_preview']}")
    return "\n".join(lines)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def static_html(state: dict, rows: list[dict]) -> str:
    """``text/html`` of a run view for places without widgets (nbconvert, GitHub): deterministic."""
    st = state["status"]
    parts = [f'<div class="nbflow-run nbflow-static" data-status="{_esc(st)}">',
             f'<div class="nbflow-header"><b>{_esc(state["name"])}</b>'
             + (f" · thread <code>{_esc(state['thread_id'])}</code>" if state.get("thread_id") else "")
             + f' · <span class="nbflow-status" data-status="{_esc(st)}">{_esc(_STATUS_WORDS.get(st, st))}</span>'
             + (f" · {state['done']}/{state['total']} tasks" if state.get("total") else "")
             + (f' · <span class="nbflow-usage">{_esc(state["usage"]["text"])}</span>' if state.get("usage") else "")
             + "</div>",
             f'<div class="nbflow-turn-note">{_esc(_turn_note(state))}</div>' if _turn_note(state) else "",
             '<ul class="nbflow-log">']
    for r in rows:
        if r["kind"] == "message":
            parts.append(f'<li class="nbflow-message">{_esc(r["name"])}: {_esc(summarize(r["text"], PREVIEW))}</li>')
            continue
        badges = "".join(f' <span class="nbflow-badge">{b}</span>'
                         for b, on in (("cached", r["cached"]), ("from checkpoint", r["replayed"])) if on)
        tail = (f" → <code>{_esc(r['preview'])}</code>" if r["state"] in ("ok", "cached") and r["preview"] else
                f' <span class="nbflow-error">{_esc(r["error"])}</span>' if r["state"] in ("error", "stopped") else
                " <i>waiting for an answer</i>" if r["state"] == "waiting" else "")
        parts.append(f'<li class="nbflow-task" data-state="{_esc(r["state"])}">{_MARK.get(r["state"], "?")} '
                     f"<b>{_esc(r['name'])}</b>{badges}{tail}</li>")
    for q in state["questions"]:
        tail = (f" ↳ <code>{_esc(q['answer'])}</code> <i>(answered from {_esc(q['origin'])})</i>"
                if q["state"] == "answered" else " <i>(superseded)</i>" if q["state"] == "superseded" else "")
        parts.append(f'<li class="nbflow-question" data-state="{q["state"]}">? <code>{_esc(q["summary"])}</code>'
                     f"{tail}</li>")
    parts.append("</ul>")
    if st == "stopped":
        parts.append('<div class="nbflow-stopped-note">Stopped: continue with <code>invoke(None, config)</code></div>')
    if st == "error" and state["error"]:
        parts.append(f'<div class="nbflow-error">{_esc(state["error"])}</div>')
        if state.get("error_where"):
            parts.append(f'<div class="nbflow-error-where">at {_esc(state["error_where"])}</div>')
    if state["has_result"] and state.get("result_chat"):
        parts.append(f'<div data-testid="nbflow-result">{chat_html(state["result_chat"])}</div>')
    elif state["has_result"]:
        parts.append(f'<pre data-testid="nbflow-result">{_esc(state["result"])}</pre>')
    parts.append("</div>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------- timeline
def _executions(inv: Any) -> list:
    """An invocation's task records in call order, without the ``replayed`` markers of tasks
    that also have a real record (a replay is shown on the record it served)."""
    tasks = sorted(inv.tasks, key=lambda t: (t.position, t.outcome == "replayed", t.outcome != "interrupted"))
    real = {t.path for t in tasks if t.outcome != "replayed"}
    return [t for t in tasks if t.outcome != "replayed" or t.path not in real]


def _task_rows(inv: Any, clock: Any) -> list[dict]:
    """Tasks of one invocation in call order, with offsets on the active-time axis and the ``fork`` index.

    A result copied into a forked invocation keeps its original (earlier) times:
    it is drawn at 0 with no length and flagged ``reused``.
    """
    tasks = _executions(inv)
    forkable = [t for t in tasks if t.outcome in ("ok", "cached")]
    fork_index = {id(t): i for i, t in enumerate(forkable)}
    rows = []
    for i, t in enumerate(tasks):
        start = clock(t.started_at) if t.started_at is not None else 0.0
        reused = t.outcome == "replayed" or start < -1e-3
        end = clock(t.ended_at) if t.ended_at is not None else start
        dur = 0.0 if reused else max(0.0, end - start)
        rows.append({"i": i, "name": t.name, "path": t.path, "depth": Position.callers(t.path), "outcome": t.outcome,
                     "offset": 0.0 if reused else max(0.0, start), "duration": dur, "reused": reused,
                     "result": t.result_summary, "error": t.error or "", "input": t.input_summary, "wave": t.wave,
                     "fork": fork_index.get(id(t)),
                     "usage": llm.usage_summary(t.usage_totals) if t.usage else None,
                     "interrupts": [summarize(x.value, PREVIEW) for x in t.interrupts]})
    return rows


def _branch_of(n: int, inv: Any, invocations: list) -> int | None:
    """The earlier invocation this one branched from (a fork, or a re-run from an older checkpoint)."""
    target = None
    if isinstance(inv.forked_from, dict):
        origin = inv.forked_from
        target = origin.get("checkpoint_id") or (origin.get("configurable") or {}).get("checkpoint_id")
    if target is None and n > 0 and inv.parent_id is not None:
        prev = invocations[n - 1]
        if inv.parent_id != (prev.result_checkpoint_id or prev.checkpoint_id):  # not where the thread was
            target = inv.parent_id
    if target is None:
        return None
    for k in range(n - 1, -1, -1):
        other = invocations[k]
        if target in (other.checkpoint_id, other.result_checkpoint_id):
            return k
    return None


def timeline_model(name: str, thread_id: str, invocations: list) -> dict:
    """A thread's invocations as its checkpoint tree (JSON-able).

    Each invocation carries the tasks on a time axis that leaves out human
    waiting time (``waiting`` holds it apart), the invocation it branched from
    (``branch_of``), whether it is the thread's ``head``, and its questions;
    a question left open on an invocation that is no longer the head was
    abandoned: it is marked ``superseded``.
    """
    out = []
    last = len(invocations) - 1
    for n, inv in enumerate(invocations):
        gaps = waiting_gaps(inv)
        clock = active_clock(inv, gaps)
        rows = _task_rows(inv, clock)
        times = invocation_times(inv, gaps)  # the run view's header and the saved view read the same numbers
        span = max([times.active, *(r["offset"] + r["duration"] for r in rows)])
        abandoned = n != last and inv.status == "interrupted"
        out.append({
            "index": n, "checkpoint_id": inv.checkpoint_id, "status": "superseded" if abandoned else inv.status,
            "source": inv.source, "head": n == last, "branch_of": _branch_of(n, inv, invocations),
            "input": brief(inv.input, PREVIEW), "started_at": inv.started_at, "ended_at": inv.ended_at,
            "span": span, "waiting": times.waiting,
            "value": pretty(inv.value, RESULT_PREVIEW) if inv.status in ("done", "update") else "",
            "preview": brief(inv.value, PREVIEW) if inv.status in ("done", "update") else "",
            "error": inv.error or "",
            "asked": [{"id": a.id, "value": summarize(a.value, PREVIEW), "text": question_text(a.value),
                       "answered": a.id in inv.answers,
                       "superseded": abandoned and a.id not in inv.answers,
                       "answer": brief(inv.answers[a.id], PREVIEW) if a.id in inv.answers else ""}
                      for a in inv.asked],
            "pending": [] if abandoned else [a.id for a in inv.pending],
            "forked_from": jsonable(inv.forked_from) if inv.forked_from else None,
            "tasks": rows,
            "usage": llm.usage_summary(inv.usage) if inv.status != "update" and inv.usage.calls else None,
        })
    used = sum((inv.usage for inv in invocations if inv.status != "update"), EMPTY)
    return {"name": name, "thread_id": thread_id, "invocations": out,
            "usage": llm.usage_summary(used) if used.calls else None}


def compare_invocations(a: dict, b: dict) -> list[dict]:
    """Two timeline invocations side by side: input, each task's output (by call position), answers, value.

    Returns rows ``{what, left, right, same}`` (pure; the front end highlights rows where ``same`` is false).
    """
    rows = [{"what": "input", "left": a["input"], "right": b["input"]}]
    left = {t["path"]: t for t in a["tasks"]}
    right = {t["path"]: t for t in b["tasks"]}

    for path in sorted(set(left) | set(right), key=lambda p: Position.key_or(p, ())):
        lt, rt = left.get(path), right.get(path)
        name = (lt or rt or {}).get("name", "?")
        rows.append({"what": f"{name} (call {path})", "left": _task_out(lt), "right": _task_out(rt)})
    qa = [(q["value"], q["answer"] if q["answered"] else "—") for q in a["asked"]]
    qb = [(q["value"], q["answer"] if q["answered"] else "—") for q in b["asked"]]
    for i in range(max(len(qa), len(qb))):
        ql, qr = (qa[i] if i < len(qa) else ("", "")), (qb[i] if i < len(qb) else ("", ""))
        rows.append({"what": f"answer to {ql[0] or qr[0]}", "left": ql[1], "right": qr[1]})
    rows.append({"what": "return value", "left": a["preview"] or a["error"] or a["status"],
                 "right": b["preview"] or b["error"] or b["status"]})
    for r in rows:
        r["same"] = r["left"] == r["right"]
    return rows


def _task_out(t: dict | None) -> str:
    if t is None:
        return "(not called)"
    if t["error"]:
        return f"error: {t['error']}"
    if t["outcome"] == "interrupted":
        return "(waiting for an answer)"
    return t["result"]


def timeline_transcript(data: dict) -> str:
    """``text/plain`` of a timeline: deterministic, one line per invocation, task, question and answer."""
    invs = data["invocations"]
    lines = [f"{data['name']} · thread {data['thread_id']} · {len(invs)} invocation{'s' if len(invs) != 1 else ''}"
             + (f" · {data['usage']['text']}" if data.get("usage") else "")]
    for inv in invs:
        head = f"  #{inv['index']} {inv['status']}"
        if inv["status"] != "update":
            head += f" · input {inv['input']}"
        if inv["forked_from"]:
            head += " · forked"
        if inv.get("branch_of") is not None:
            head += f" · branch from #{inv['branch_of']}"
        if inv.get("head"):
            head += " · head"
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
            lines.append(f"      ? {a['value']}" + (f" ↳ {a['answer']}" if a["answered"] else
                                                    " (superseded)" if a.get("superseded") else ""))
        if inv.get("usage"):
            lines.append(f"      $ {inv['usage']['text']}")
        if inv["preview"]:
            lines.append(f"      = {inv['preview']}")
        if inv["error"]:
            lines.append(f"      ✗ error: {inv['error']}")
    return "\n".join(lines)


def timeline_html(data: dict) -> str:
    """Static ``text/html`` of a timeline (deterministic)."""
    return ('<pre class="nbflow-timeline nbflow-static">' + _esc(timeline_transcript(data)) + "</pre>")


# ---------------------------------------------------------------------------- state at a checkpoint
STATE_LIMIT = 20_000  # characters of a state shown in the timeline


def outline(obj: Any, indent: int = 0) -> str:
    """A value as readable ``key: value`` lines (the timeline's "Pretty" view of a saved state)."""
    data = jsonable(obj)
    pad = "  " * indent
    if isinstance(data, dict):
        if not data:
            return pad + "(empty)"
        lines = []
        for k, v in data.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.append(outline(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
        return "\n".join(lines)
    if isinstance(data, list):
        if not data:
            return pad + "(empty list)"
        lines = []
        for v in data:
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}-")
                lines.append(outline(v, indent + 1))
            else:
                lines.append(f"{pad}- {_scalar(v)}")
        return "\n".join(lines)
    return pad + _scalar(data)


def _scalar(v: Any) -> str:
    if v is None:
        return "none"
    if v is True or v is False:
        return "yes" if v else "no"
    if v == {}:
        return "(empty)"
    if v == []:
        return "(empty list)"
    return str(v)


def state_views(values: Any) -> tuple[str, str]:
    """``(pretty, json)`` text of a saved state, each cut at :data:`STATE_LIMIT` characters."""
    def cut(text: str) -> str:
        return text if len(text) <= STATE_LIMIT else text[: STATE_LIMIT - 1] + "…"

    return cut(outline(values)), cut(json.dumps(jsonable(values), indent=2, ensure_ascii=False))


def state_chat(values: Any) -> list[dict]:
    """A saved state's chat messages as a conversation (the timeline's Conversation view), or []."""
    return conversation(values) or []


# ---------------------------------------------------------------------------- inbox
def inbox_transcript(items: list[dict], problem: str = "") -> str:
    """``text/plain`` of the inbox: threads waiting first, then answered ones with their answers and results
    (after ``problem``: why some workflow's threads could not be read, when that is so)."""
    waiting = [i for i in items if i["state"] == "waiting"]
    if not waiting:
        lines = ["nbflow inbox · nothing is waiting for input"]
    else:
        lines = [f"nbflow inbox · {len(waiting)} thread{'s' if len(waiting) != 1 else ''} waiting for input"]
    if problem:
        lines.append(f"  ✗ {problem}")
    for item in items:
        lines.append(f"  {item['workflow']} · thread {item['thread_id']} · {item['state']}")
        for q in item["questions"]:
            tail = f" ↳ {q['answer']} (from {q['origin']})" if q["state"] == "answered" else \
                " (superseded)" if q["state"] == "superseded" else ""
            lines.append(f"    ? {q['summary']}{tail}")
        if item.get("result"):
            lines.append(f"    = {item['result']}")
        if item.get("message"):
            lines.append(f"    ✗ {item['message']}")
    return "\n".join(lines)


def inbox_html(items: list[dict], problem: str = "") -> str:
    return '<pre class="nbflow-inbox nbflow-static">' + _esc(inbox_transcript(items, problem)) + "</pre>"


__all__ = [
    "outline",
    "state_chat",
    "state_views",
    "inbox_html",
    "inbox_transcript",
    "static_html",
    "compare_invocations",
    "timeline_html",
    "timeline_model",
    "timeline_transcript",
    "transcript",
]
