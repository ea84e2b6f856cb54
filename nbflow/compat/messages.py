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
from operator import is_
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
    known = _LAST
    if lc is not None and known is not None and type(left) is list and left is known[0] and \
            len(left) == len(known[1]) and all(map(is_, left, known[1])):
        # the history this function returned last time (a chat's `previous`), unchanged since:
        # already whole messages with ids, and its index by id is known
        left_l, index = left, dict(known[2])
    else:
        left_l, index = _coerce(lc, _as_list(left)), None
    right_l = _coerce(lc, _as_list(right))
    remove_cls = getattr(lc, "RemoveMessage", None) if lc is not None else None
    if remove_cls is not None:
        for i in range(len(right_l) - 1, -1, -1):
            m = right_l[i]
            if isinstance(m, remove_cls) and m.id == REMOVE_ALL_MESSAGES:
                return right_l[i + 1:]
    merged = list(left_l)
    if index is None:
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
    if removed:
        return [m for m in merged if _id_of(m) not in removed]
    if lc is not None:
        _remember(merged, index)
    return merged


# The last history add_messages returned, its items then and its index by id: the next turn's
# `previous` is that very list, so checking it costs one pass of identity comparisons.
_LAST: tuple[list, tuple, dict] | None = None


def _remember(merged: list, index: dict) -> None:
    global _LAST
    _LAST = (merged, tuple(merged), index)


__all__ = ["add_messages", "REMOVE_ALL_MESSAGES"]
