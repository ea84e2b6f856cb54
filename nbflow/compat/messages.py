"""``add_messages``: merge two message lists by id, as LangGraph's reducer does.

Works on plain dicts (``{"role": ..., "content": ...}``) and, when
``langchain_core`` is installed, on LangChain message objects (dicts and
chunks are then converted to messages, as LangGraph does). Never imports
langchain on its own unless it is installed.

One deliberate difference: a message without an id gets a *replay-stable* id
(:func:`nbflow.replayable.stable_id`) instead of a random one. Inside a
workflow the same code on the same input assigns the same ids, so an
entrypoint that rebuilds its chat history with ``add_messages`` on every
replay hands its model task the very arguments it recorded, and the
non-determinism check stays quiet; outside a run the id is a random UUID as in
LangGraph. Like LangGraph's, it sets the id on a message object in place.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..replayable import stable_id

REMOVE_ALL_MESSAGES = "__remove_all__"
"""``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` in ``right`` drops every message before it."""


def _lc() -> Any:
    try:
        from langchain_core import messages as m
    except ImportError:
        return None
    return m


def _as_list(x: Any) -> list:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _id_of(msg: Any) -> Any:
    return msg.get("id") if isinstance(msg, dict) else getattr(msg, "id", None)


_WHOLE: set[type] = set()  # LangChain message classes seen that need no conversion (not chunks)


def _whole(lc: Any, items: list) -> bool:
    """Whether every item is already a LangChain message (not a chunk) with an id: nothing to convert.
    The common case of a history that grows each turn: checked in one cheap pass."""
    whole = _WHOLE
    for m in items:
        t = type(m)
        if t not in whole:
            if not isinstance(m, lc.BaseMessage) or isinstance(m, lc.BaseMessageChunk):
                return False
            whole.add(t)
        if m.id is None:
            return False
    return True


def _coerce(lc: Any, items: list) -> list:
    """LangChain messages (chunks made whole) with an id each; plain dicts when langchain is absent."""
    if lc is not None:
        if items and _whole(lc, items):
            return items
        items = [lc.message_chunk_to_message(m) for m in lc.convert_to_messages(items)] if items else []
        for m in items:
            if m.id is None:
                m.id = stable_id()
        return items
    return [m if _id_of(m) is not None else {**m, "id": stable_id()} for m in items]


def add_messages(left: Any = None, right: Any = None, *, format: str | None = None) -> Any:
    """Append ``right`` to ``left``; a message whose id is already in ``left`` replaces it.

    A ``RemoveMessage`` (LangChain) deletes the message with its id, and
    ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` everything before it. Called with
    only ``format=...`` it returns the reducer with that format bound, as LangGraph's does.
    """
    if format is not None:
        raise ValueError(
            f"add_messages(format={format!r}) is not supported by nbflow; convert the messages with "
            "langchain_core.messages.convert_to_openai_messages(...) where you need that format.")
    if left is None and right is None:
        return partial(add_messages, format=format)
    lc = _lc()
    left_l = _coerce(lc, _as_list(left))
    right_l = _coerce(lc, _as_list(right))
    remove_cls = getattr(lc, "RemoveMessage", None) if lc is not None else None
    if remove_cls is not None:
        for i in range(len(right_l) - 1, -1, -1):
            m = right_l[i]
            if isinstance(m, remove_cls) and m.id == REMOVE_ALL_MESSAGES:
                return right_l[i + 1:]
    merged = list(left_l)
    index = ({m.id: i for i, m in enumerate(merged)} if lc is not None else
             {_id_of(m): i for i, m in enumerate(merged)})
    removed: set = set()
    for m in right_l:
        mid = _id_of(m)
        at = index.get(mid)
        if remove_cls is not None and isinstance(m, remove_cls):
            if at is None:
                raise ValueError(f"RemoveMessage with id {mid!r} matches no message in the list: nothing to delete")
            removed.add(mid)
        elif at is not None:
            removed.discard(mid)
            merged[at] = m
        else:
            index[mid] = len(merged)
            merged.append(m)
    return [m for m in merged if _id_of(m) not in removed] if removed else merged


__all__ = ["add_messages", "REMOVE_ALL_MESSAGES"]
