"""``add_messages``: merge two message lists by id, as LangGraph's reducer does.

Works on plain dicts (``{"role": ..., "content": ...}``) and, when
``langchain_core`` is installed, on LangChain message objects (dicts are then
converted to messages, as LangGraph does). Pure; never imports langchain on
its own unless it is installed and a message object or dict needs converting.
"""

from __future__ import annotations

import uuid
from typing import Any


def _lc():
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


def _with_id(msg: Any) -> Any:
    if _id_of(msg) is not None:
        return msg
    new_id = str(uuid.uuid4())
    if isinstance(msg, dict):
        return {**msg, "id": new_id}
    return msg.model_copy(update={"id": new_id})


def add_messages(left: Any, right: Any) -> list:
    """Append ``right`` to ``left``; a message whose id is already in ``left`` replaces it.

    A ``RemoveMessage`` (LangChain) deletes the message with its id.
    """
    lc = _lc()
    left_l, right_l = _as_list(left), _as_list(right)
    if lc is not None:
        left_l = list(lc.convert_to_messages(left_l)) if left_l else []
        right_l = list(lc.convert_to_messages(right_l)) if right_l else []
    left_l = [_with_id(m) for m in left_l]
    right_l = [_with_id(m) for m in right_l]
    index = {_id_of(m): i for i, m in enumerate(left_l)}
    merged = list(left_l)
    removed: set = set()
    remove_cls = getattr(lc, "RemoveMessage", None) if lc is not None else None
    for m in right_l:
        mid = _id_of(m)
        if remove_cls is not None and isinstance(m, remove_cls):
            if mid not in index:
                raise ValueError(f"RemoveMessage with id {mid!r} matches no existing message")
            removed.add(mid)
            continue
        if mid in index:
            merged[index[mid]] = m
        else:
            index[mid] = len(merged)
            merged.append(m)
    return [m for m in merged if _id_of(m) not in removed]


__all__ = ["add_messages"]
