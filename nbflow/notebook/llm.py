"""What a chat model in a task looks like in a view, pure: streamed text, tool calls, the final message, usage.

:class:`~.thread.ThreadModel` calls these when it folds a :class:`~nbflow.events.Message` (a token
or a tool-call chunk of a chat model running inside a task) into that task's row, and when the task
ends (the row's ``preview`` is :func:`nbflow.serde.summarize`'s, which shows a chat message by its text
and tool calls). A row then has

* ``stream`` -- the text streamed so far (cleared when the task ends: the result replaces it);
* ``tools`` -- the tool calls the model asked for: ``{id, name, args}`` with ``args`` as JSON text,
  growing while it streams, then taken from the final message;
* ``usage`` -- its model calls summed (:func:`usage_summary`).

Message objects are read by duck typing (``content``, ``tool_calls``, ``tool_call_chunks``), so
nothing here imports LangChain.
"""

from __future__ import annotations

import json
from typing import Any

from ..observe.usage import UsageTotals

STREAM_LIMIT = 20_000  # characters of streamed text a row keeps (the end of it)
TAIL = 120             # characters of it the sidebar shows


def usage_summary(t: UsageTotals) -> dict:
    """A :class:`~.protocol.UsageSummary` of ``t``."""
    return {"calls": t.calls, "input_tokens": t.input_tokens, "output_tokens": t.output_tokens,
            "total_tokens": t.total_tokens, "cost": round(t.cost, 8), "unpriced": t.unpriced,
            "models": list(t.models), "text": t.describe()}


def text_of(content: Any) -> str:
    """A message's text (a string, or the text blocks of a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) if isinstance(b, dict) else ""
                       for b in content)
    return ""


def _is_message(obj: Any) -> bool:
    return hasattr(obj, "content") and hasattr(obj, "type") and hasattr(obj, "additional_kwargs")


def _args_text(args: Any) -> str:
    if isinstance(args, str):
        return args
    try:
        return json.dumps(args, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(args)


def fold_chunk(row: dict, chunk: Any) -> bool:
    """Add a streamed chunk (text and tool-call pieces) to ``row``; True when the row changed."""
    changed = False
    text = text_of(getattr(chunk, "content", ""))
    if text:
        stream = row.get("stream", "") + text
        row["stream"] = stream if len(stream) <= STREAM_LIMIT else "…" + stream[-STREAM_LIMIT:]
        changed = True
    pieces = getattr(chunk, "tool_call_chunks", None) or ()
    if pieces:
        tools = [dict(t) for t in row.get("tools", ())]
        for p in pieces:
            get = p.get if isinstance(p, dict) else (lambda k, _p=p: getattr(_p, k, None))
            index = get("index")
            at = index if isinstance(index, int) and 0 <= index < len(tools) else None
            if at is None:
                tools.append({"id": "", "name": "", "args": ""})
                at = len(tools) - 1
            t = tools[at]
            t["id"] = t["id"] or str(get("id") or "")
            t["name"] = t["name"] or str(get("name") or "")
            t["args"] += str(get("args") or "")
        row["tools"] = tools
        changed = True
    return changed


def final_tools(result: Any) -> list[dict] | None:
    """The tool calls of a task's result when it is a chat message (None when it is not one)."""
    if not _is_message(result):
        return None
    calls = getattr(result, "tool_calls", None) or []
    return [{"id": str(c.get("id") or ""), "name": str(c.get("name") or ""), "args": _args_text(c.get("args", {}))}
            for c in calls if isinstance(c, dict)]


def tail(text: str, n: int = TAIL) -> str:
    """The last ``n`` characters of streamed text, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= n else "…" + flat[-(n - 1):]


__all__ = ["usage_summary", "fold_chunk", "final_tools", "tail", "text_of", "STREAM_LIMIT"]
