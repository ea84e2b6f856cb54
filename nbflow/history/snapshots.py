"""Checkpoint records → LangGraph's :class:`~nbflow.types.StateSnapshot`, pure.

Snapshots keep LangGraph's shape for the Functional API: an ``input`` (or
``fork``) checkpoint has ``next == (entrypoint_name,)`` and one task (the
entrypoint) carrying its pending interrupts; a ``loop`` checkpoint is a
finished invocation whose ``values`` is the return value. Both the engine
(the ``checkpoints`` stream mode) and :mod:`nbflow.history` build them here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..checkpoint.base import CheckpointRecord
from ..config import END, config_for, shown_metadata
from ..kinds import UNFINISHED_SOURCES
from ..replay import InterruptRecord, task_id_for
from ..schema import resolve_schema_ref
from ..types import Interrupt, PregelTask, StateSnapshot


def iso(ts: float, _fromts: Any = datetime.fromtimestamp, _utc: Any = UTC) -> str:
    """A checkpoint time as LangGraph shows it (ISO 8601, UTC)."""
    return str(_fromts(ts, _utc).isoformat())


def interrupt_of(rec: InterruptRecord) -> Interrupt:
    """The public :class:`Interrupt` of a stored one (the schema class revived as ``response_model`` when it can be)."""
    model = resolve_schema_ref(rec.schema_ref) if rec.schema_ref else None
    return Interrupt(rec.value, rec.id, rec.json_schema, rec.json_schema, rec.task, model, rec.path, rec.after)


def checkpoint_view(name: str, rec: CheckpointRecord, channels: dict, meta: dict,
                    pending: tuple[InterruptRecord, ...], error: dict | None = None,
                    result: Any = None) -> StateSnapshot:
    """The snapshot of checkpoint ``rec`` of entrypoint ``name`` (channels and metadata already decoded).

    ``result``: for an invocation's own checkpoint, the value that invocation returned (its task shows it).
    """
    interrupts = tuple(map(interrupt_of, pending)) if pending else ()
    tasks: tuple[PregelTask, ...] = ()
    nxt: tuple[str, ...] = ()
    if rec.source in UNFINISHED_SOURCES:
        err = RuntimeError(f"{error.get('type')}: {error.get('message')}") if error is not None else None
        tasks = (PregelTask(task_id_for(rec.checkpoint_id, rec.checkpoint_ns, ""), name,
                            ("__pregel_pull", name), err, interrupts, None, result),)
        nxt = (name,)
    # positional: this runs once per checkpoint when listing a long history
    return StateSnapshot(
        channels.get(END),  # None until the entrypoint has returned on this thread, as in LangGraph
        nxt,
        config_for(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id),
        shown_metadata(meta),
        iso(rec.created_at),
        config_for(rec.thread_id, rec.checkpoint_ns, rec.parent_id),
        tasks,
        interrupts,
    )


def empty_snapshot(thread_id: str | None) -> StateSnapshot:
    """The snapshot of a thread with no checkpoint yet."""
    return StateSnapshot({}, (), {"configurable": {"thread_id": thread_id}} if thread_id else {}, None,
                         None, None, (), ())


__all__ = ["checkpoint_view", "empty_snapshot", "interrupt_of", "iso"]
