"""The widget wire format: message kinds exchanged with the front end (pure constants).

Every custom comm message is a JSON object ``{"kind": ..., "v": VERSION, ...}``.
``labextension/src/protocol.ts`` mirrors these lists; a test checks that
every kind exists on both sides.

Kernel → front end
    ``snapshot``      the whole log of a run view: ``{seq, entries, omitted}``
    ``batch``         what changed since the previous message: ``{seq, ops}``;
                      each op is ``{"op": "append", "entry"}``,
                      ``{"op": "patch", "id", "set"}`` or ``{"op": "text", "id", "text"}``
    ``resume_error``  an answer was refused: ``{id, message, errors: [{field, message}]}``
                      (plus ``thread_id`` from an inbox)
    ``action_error``  a timeline/inbox action failed: ``{message}``

Front end → kernel
    ``snapshot_request``  a view was (re)rendered and wants the whole log
    ``resume``            answer one interrupt: ``{id, value}`` or ``{id, option}``
                          (plus ``thread_id`` and ``workflow`` from an inbox)
    ``replay``            timeline: ``{index}``
    ``fork``              timeline: ``{invocation, task, value?}``
    ``refresh``           timeline/inbox: reload from the checkpointer

Small header state (status, progress, pending forms, result) travels as
ordinary synced traits, so a view rendered later sees it at once.
"""

from __future__ import annotations

VERSION = 1

TO_FRONTEND = ("snapshot", "batch", "resume_error", "action_error")
TO_KERNEL = ("snapshot_request", "resume", "replay", "fork", "refresh")
OPS = ("append", "patch", "text")
ENTRY_KINDS = ("run", "task", "custom", "message", "interrupt", "answer", "error", "note")
FORM_KINDS = ("schema", "inbox", "options", "text")
STATUSES = ("idle", "running", "interrupted", "done", "error")


def message(kind: str, **fields) -> dict:
    """A wire message of ``kind`` (checked against the known kinds)."""
    if kind not in TO_FRONTEND and kind not in TO_KERNEL:
        raise ValueError(f"unknown nbflow widget message kind {kind!r}")
    return {"kind": kind, "v": VERSION, **fields}


__all__ = ["ENTRY_KINDS", "FORM_KINDS", "OPS", "STATUSES", "TO_FRONTEND", "TO_KERNEL", "VERSION", "message"]
