"""Chat messages as a conversation, pure: the view-model every nbflow view draws a chat from.

A value *is a conversation* when it is a chat message, a list of them, or a
mapping with a ``"messages"`` list of them (an agent's state). A chat message
is a LangChain message (any class whose bases include langchain-core's
``BaseMessage``: recognised by class name and module, nothing is imported or
called on it but attribute reads of its declared fields) or a plain
``{"role": ..., "content": ...}`` dict (OpenAI style, with ``tool_calls`` /
``tool_call_id``).

* :func:`conversation` turns such a value into a list of
  :class:`~.protocol.ChatMessage` dicts (role, markdown content, tool calls as
  structured rows with their arguments and, when a later tool message answers
  them, their results; a failed tool is marked ``error``), or None.
* :func:`brief` is a one-line summary of any value that reads a conversation
  as "assistant: text" / "assistant → tool(args)" instead of an object dump
  (run view rows, timeline inputs and compare rows, inbox and sidebar).
* :func:`chat_text` / :func:`chat_html` are the static twins' renderings
  (``text/plain`` and ``text/html``; deterministic, escaped).

The front end draws the same list with ``labextension/src/core/conversation.ts``;
streamed tokens can later append to the last message of the list.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from ..serde import summarize

CONTENT_LIMIT = 20_000   # characters of one message's content kept for a view
ARGS_LIMIT = 4_000       # characters of a tool call's arguments (pretty JSON)
RESULT_LIMIT = 4_000     # characters of a tool result
MAX_MESSAGES = 2_000     # messages kept of a longer conversation (the latest)
LONG = 1_200             # a content longer than this is drawn folded

_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant", "system": "system",
          "developer": "system", "tool": "tool", "function": "tool", "chat": "assistant", "remove": ""}
_ROLE_KEYS = ("role",)


def _is_lc_message(obj: Any) -> bool:
    for base in type(obj).__mro__:
        if base.__name__ == "BaseMessage" and str(getattr(base, "__module__", "")).startswith("langchain_core"):
            return True
    return False


def is_message(obj: Any) -> bool:
    """True for a LangChain message or a ``{"role": str, "content": ...}`` dict of a known role."""
    if isinstance(obj, Mapping):
        role = obj.get("role")
        return isinstance(role, str) and role in _ROLES and "content" in obj
    return _is_lc_message(obj)


def messages_of(value: Any) -> list | None:
    """The chat messages ``value`` holds (see the module docstring), or None when it is not a conversation."""
    if is_message(value):
        return [value]
    if isinstance(value, Mapping) and not is_message(value):
        inner = value.get("messages")
        if isinstance(inner, (list, tuple)) and inner and all(is_message(m) for m in inner):
            return list(inner)
        return None
    if isinstance(value, (list, tuple)) and value and all(is_message(m) for m in value):
        return list(value)
    return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping):
                kind = block.get("type")
                if kind == "text" or ("text" in block and isinstance(block.get("text"), str)):
                    parts.append(str(block.get("text", "")))
                elif kind in ("tool_use", "tool_call"):
                    continue
                else:
                    parts.append(f"[{kind or 'content'}]")
        return "\n".join(p for p in parts if p)
    if content is None:
        return ""
    return summarize(content, 200)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)  # OpenAI dicts carry arguments as a JSON string
        except ValueError:
            return value
    try:
        return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=False, default=lambda o: summarize(o, 200))
    except (TypeError, ValueError):
        return summarize(value, ARGS_LIMIT)


def _call_view(call: Any) -> dict:
    if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):  # OpenAI shape
        fn = call["function"]
        name, args = fn.get("name", ""), fn.get("arguments", {})
    elif isinstance(call, Mapping):
        name, args = call.get("name", ""), call.get("args", call.get("arguments", {}))
    else:
        name, args = getattr(call, "name", ""), getattr(call, "args", {})
    cid = call.get("id") if isinstance(call, Mapping) else getattr(call, "id", None)
    return {"id": str(cid or ""), "name": str(name or "tool"), "args": _cut(_json(args), ARGS_LIMIT),
            "result": "", "error": False, "answered": False}


def _field(msg: Any, name: str, default: Any = None) -> Any:
    if isinstance(msg, Mapping):
        return msg.get(name, default)
    return msg.__dict__.get(name, default) if hasattr(msg, "__dict__") else getattr(msg, name, default)


def _one(msg: Any) -> dict:
    if isinstance(msg, Mapping):
        role = _ROLES.get(str(msg.get("role")), "assistant")
    else:
        role = _ROLES.get(str(_field(msg, "type", "ai")), "assistant")
    text = _text(_field(msg, "content"))
    calls = [_call_view(c) for c in (_field(msg, "tool_calls") or []) if c is not None]
    status = _field(msg, "status")
    error = status == "error" or bool(_field(msg, "is_error", False))
    name = _field(msg, "name") or ""
    return {"role": role, "name": str(name), "content": _cut(text, CONTENT_LIMIT), "long": len(text) > LONG,
            "tool_calls": calls, "tool_call_id": str(_field(msg, "tool_call_id") or ""), "error": error}


def conversation(value: Any) -> list[dict] | None:
    """``value`` as a list of :class:`~.protocol.ChatMessage` (see the module docstring), else None.

    A tool message that answers an earlier tool call becomes that call's ``result`` (``error`` when the
    tool failed) instead of a message of its own; an unmatched one stays a ``tool`` message.
    """
    msgs = messages_of(value)
    if msgs is None:
        return None
    out: list[dict] = []
    calls: dict[str, dict] = {}
    for raw in msgs[-MAX_MESSAGES:]:
        m = _one(raw)
        if not m["role"]:
            continue  # RemoveMessage
        if m["role"] == "tool" and m["tool_call_id"] in calls:
            call = calls[m["tool_call_id"]]
            call.update(result=_cut(m["content"], RESULT_LIMIT), error=m["error"], answered=True)
            continue
        for c in m["tool_calls"]:
            if c["id"]:
                calls[c["id"]] = c
        out.append(m)
    return out


def _call_line(c: dict, limit: int) -> str:
    try:
        args = json.loads(c["args"])
    except ValueError:
        args = c["args"]
    if isinstance(args, Mapping):
        inner = ", ".join(f"{k}={summarize(v, 40)}" for k, v in args.items())
    else:
        inner = summarize(args, 40)
    return _cut(f"{c['name']}({inner})", limit)


def message_line(m: dict, limit: int = 80) -> str:
    """One line for one :class:`~.protocol.ChatMessage`: ``assistant: text`` or ``assistant → tool(args)``."""
    head = m["role"] + (f" {m['name']}" if m["name"] and m["role"] == "tool" else "")
    if m["tool_calls"]:
        calls = ", ".join(_call_line(c, limit) for c in m["tool_calls"])
        text = " ".join(m["content"].split())
        line = f"{head}: {text} → {calls}" if text else f"{head} → {calls}"
    else:
        line = f"{head}{' ✗' if m['error'] else ''}: {' '.join(m['content'].split()) or '(empty)'}"
    return _cut(line, limit)


def brief(value: Any, limit: int = 80) -> str:
    """A one-line summary of ``value``: a list of messages (or an agent state) by its last message and its
    length, anything else by :func:`nbflow.serde.summarize` (which shows one message as ``role: 'text'``)."""
    msgs = messages_of(value) if isinstance(value, (list, tuple, Mapping)) else None
    if not msgs:
        return summarize(value, limit)
    last = msgs[-1]
    line = summarize(last, limit) if not isinstance(last, Mapping) else message_line(_one(last), limit)
    return line if len(msgs) == 1 else _cut(f"[{len(msgs)} messages] {line}", limit)


# ---------------------------------------------------------------------------- static twins
def chat_text(chat: list[dict], indent: str = "  ", limit: int = 400) -> list[str]:
    """``text/plain`` lines of a conversation (deterministic): role, content, tool calls with results."""
    lines = []
    for m in chat:
        content = m["content"] if len(m["content"]) <= limit else m["content"][: limit - 1] + "…"
        head = m["role"] + (f" ({m['name']})" if m["name"] else "") + (" ✗ error" if m["error"] else "")
        body = content.splitlines() or [""]
        lines.append(f"{indent}{head}: {body[0]}" if body[0] else f"{indent}{head}")
        lines.extend(f"{indent}  {b}" for b in body[1:])
        for c in m["tool_calls"]:
            args = " ".join(c["args"].split())
            lines.append(f"{indent}  ↳ tool call {c['name']} {_cut(args, 200)}")
            if c["answered"]:
                mark = "✗ error" if c["error"] else "="
                lines.append(f"{indent}    {mark} {_cut(' '.join(c['result'].split()), 200)}")
    return lines


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def chat_html(chat: list[dict]) -> str:
    """``text/html`` of a conversation for the static twins (escaped; content kept as written, in a
    ``pre-wrap`` block; long contents folded in a ``<details>``)."""
    parts = ['<div class="nbflow-chat" data-testid="nbflow-chat">']
    for m in chat:
        err = ' data-error="true"' if m["error"] else ""
        parts.append(f'<div class="nbflow-msg" data-role="{_esc(m["role"])}"{err}>'
                     f'<div class="nbflow-msg-role"><b>{_esc(m["role"])}</b>'
                     + (f" {_esc(m['name'])}" if m["name"] else "") + "</div>")
        body = f'<div class="nbflow-msg-content" style="white-space:pre-wrap">{_esc(m["content"])}</div>'
        if m["long"]:
            body = f"<details><summary>{_esc(m['content'][:120])}…</summary>{body}</details>"
        if m["content"]:
            parts.append(body)
        for c in m["tool_calls"]:
            cerr = ' data-error="true"' if c["error"] else ""
            parts.append(f'<div class="nbflow-tool-call"{cerr}>🔧 <b>{_esc(c["name"])}</b>'
                         f'<pre class="nbflow-tool-args">{_esc(c["args"])}</pre>'
                         + (f'<div class="nbflow-tool-result">{"✗ error: " if c["error"] else "→ "}'
                            f'<code>{_esc(c["result"])}</code></div>' if c["answered"] else "") + "</div>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


__all__ = ["brief", "chat_html", "chat_text", "conversation", "is_message", "message_line", "messages_of"]
