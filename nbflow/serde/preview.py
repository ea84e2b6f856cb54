"""One-line previews of any value (pure): :func:`summarize`.

Used for task-argument summaries, history rows, error messages and the notebook
views. It never raises, and it shows dataclasses, pydantic models, named
tuples and enums from their fields (never through their own ``__repr__``);
other objects fall back to ``repr``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import enum
import re
from collections.abc import Callable
from typing import Any

from .inert import is_model_class

__all__ = ["summarize", "type_name"]


def type_name(t: type) -> str:
    """``module.qualname`` of a class, for messages."""
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', getattr(t, '__name__', '?'))}"


_ADDR = re.compile(r"\s+at\s+0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")


_PLAIN_SCALARS = (int, float, bool, type(None))


def summarize(obj: Any, limit: int = 80) -> str:
    """A short, deterministic, one-line preview of any value (never raises)."""
    limit = max(int(limit), 2)
    if type(obj) is tuple and len(obj) <= 4 and all(type(x) in _PLAIN_SCALARS for x in obj):
        s = repr(obj)  # fast path: task arguments are very often a few numbers
        if len(s) <= limit:
            return s
    try:
        s = _pv(obj, limit + 1, 0)
    except Exception:  # noqa: BLE001 - a preview never fails: fall back to the type name
        try:
            s = f"<{type_name(type(obj))}>"
        except Exception:  # noqa: BLE001
            s = "<?>"
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _items(parts: Any, budget: int, depth: int, fmt: Callable[[Any, int], str], sort: bool = False) -> str:
    out, used = [], 0
    if sort:
        parts = sorted(fmt(p, budget) for p in parts)
        fmt = lambda p, b: p  # noqa: E731
    for p in parts:
        if used > budget:
            out.append("…")
            break
        s = fmt(p, budget - used)
        out.append(s)
        used += len(s) + 2
    return ", ".join(out)


_CHAT_TYPES: dict[type, bool] = {}
_ROLE = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system", "function": "tool"}


def _is_chat_message(t: type) -> bool:
    """A LangChain message class (langchain-core's ``BaseMessage`` among its bases; nothing imported)."""
    found = _CHAT_TYPES.get(t)
    if found is None:
        found = _CHAT_TYPES[t] = any(b.__name__ == "BaseMessage" and str(b.__module__).startswith("langchain_core")
                                     for b in t.__mro__)
    return found


def _message(o: Any, budget: int, sub: Callable[[Any, int], str]) -> str:
    """A chat message as ``role: 'text'`` and its tool calls as ``→ name(arg=value)`` (read from its fields)."""
    d = getattr(o, "__dict__", {})
    role = _ROLE.get(str(d.get("type")), str(d.get("type") or "message"))
    content = d.get("content")
    if isinstance(content, list):
        content = " ".join(b if isinstance(b, str) else str(b.get("text", "")) if isinstance(b, dict) else ""
                           for b in content).strip()
    if d.get("status") == "error":
        role += " ✗"
    calls = d.get("tool_calls") or []
    text = sub(content, budget) if content or not calls else ""
    out = f"{role}: {text}" if text else role
    for c in calls:
        if isinstance(c, dict):
            raw = c.get("args")
            args: dict = raw if isinstance(raw, dict) else {}
            inner = _items(args.items(), budget, 6, lambda kv, b: f"{kv[0]}={sub(kv[1], b)}")
            out += f" → {c.get('name', 'tool')}({inner})"
    return out


def _pv(o: Any, budget: int, depth: int) -> str:
    t = type(o)
    if depth > 6:
        return "…"
    sub = lambda x, b: _pv(x, b, depth + 1)  # noqa: E731
    if o is None or t in (bool, float, complex):
        return repr(o)
    if t is int:
        return repr(o) if o.bit_length() < 4000 else f"<int of {o.bit_length()} bits>"
    if t in (str, bytes, bytearray):
        return repr(o[: budget + 2]) + ("…" if len(o) > budget + 2 else "")
    if isinstance(o, enum.Enum):
        return f"{t.__name__}.{o.name}" if o.name else repr(o)
    if t is list or t is collections.deque:
        return "[" + _items(o, budget, depth, sub) + "]"
    if t is tuple:
        return "(" + _items(o, budget, depth, sub) + ("," if len(o) == 1 else "") + ")"
    if (t is set or t is frozenset) and len(o) > 200:
        return f"{t.__name__} of {len(o)} items"
    if t is set or t is frozenset:
        body = "{" + _items(o, budget, depth, sub, sort=True) + "}"
        return body if t is set and o else f"{t.__name__}({body if o else ''})"
    if isinstance(o, dict):
        body = "{" + _items(o.items(), budget, depth, lambda kv, b: f"{sub(kv[0], b)}: {sub(kv[1], b)}") + "}"
        return body if t is dict else f"{t.__name__}({body})"
    if isinstance(o, tuple) and hasattr(t, "_fields"):
        fields = zip(t._fields, o, strict=False)
        return f"{t.__name__}(" + _items(fields, budget, depth, lambda kv, b: f"{kv[0]}={sub(kv[1], b)}") + ")"
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        fs = [(f.name, getattr(o, f.name, "?")) for f in dataclasses.fields(o) if f.repr]
        return f"{t.__name__}(" + _items(fs, budget, depth, lambda kv, b: f"{kv[0]}={sub(kv[1], b)}") + ")"
    mod = getattr(t, "__module__", "") or ""
    if _is_chat_message(t):
        return _message(o, budget, sub)
    if hasattr(t, "__pydantic_fields__") and is_model_class(t):
        fs = [(k, getattr(o, k, "?")) for k in t.__pydantic_fields__]
        return f"{t.__name__}(" + _items(fs, budget, depth, lambda kv, b: f"{kv[0]}={sub(kv[1], b)}") + ")"
    if isinstance(o, (_dt.datetime, _dt.date, _dt.time)):
        return f"{t.__name__}({o.isoformat()})"
    if mod.startswith("numpy") and hasattr(o, "shape") and hasattr(o, "dtype") and o.shape:
        return f"{t.__name__}(shape={tuple(o.shape)}, dtype={o.dtype})"
    if mod.startswith("pandas") and t.__name__ == "DataFrame":
        cols = _items(o.columns, budget, depth, lambda c, b: str(c)[:b])
        return f"DataFrame({o.shape[0]} rows × {o.shape[1]} columns: {cols})"  # noqa: RUF001 - a real times sign
    if mod.startswith("pandas") and t.__name__ == "Series":
        return f"Series(name={o.name!r}, {len(o)} rows, dtype={o.dtype})"
    s = repr(o)
    return " ".join(_ADDR.sub("", s).split())
