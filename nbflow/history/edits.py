"""Editing a thread's past: ``update_state`` (a new state) and ``fork`` (an invocation branched after a task).

Both write checkpoints (and, for a fork, copies of journal rows) through the saver and tell the
process-wide tap, so every view of the thread follows. Nothing here runs user code or imports the engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .. import tap
from ..checkpoint import values as stored
from ..checkpoint.base import CheckpointRecord, WriteRecord, new_checkpoint_id
from ..checkpoint.retention import Pruned
from ..config import (
    MISSING,
    config_for,
    metadata_from_config,
    ns_tuple,
    parse_config,
    result_channels,
    serializer_of,
    stored_metadata,
)
from ..errors import CheckpointerRequiredError, CheckpointNotFoundError
from ..kinds import Position, Source, WriteKind
from ..replay import task_id_for
from .reads import WorkflowLike, invocation_checkpoint, saver_of

RESULT, CACHED = WriteKind.RESULT.value, WriteKind.CACHED.value
UPDATE, FORK = Source.UPDATE.value, Source.FORK.value


def update_state(wf: WorkflowLike, config: Mapping[str, Any], values: Any, as_node: str | None = None) -> dict:
    """Save ``values`` as the thread's state: the next run's ``previous`` (metadata source "update")."""
    saver = saver_of(wf, "update_state()")
    t = parse_config(config, needs_thread=True, who=f"update_state() of {wf.name!r}")
    base = saver.get_checkpoint(t.thread, t.checkpoint_ns, t.checkpoint_id)
    if t.checkpoint_id is not None and base is None:
        raise CheckpointNotFoundError(f"thread {t.thread_id!r} has no checkpoint {t.checkpoint_id!r}")
    step = base.step + 1 if base is not None else -1
    dumps = serializer_of(saver).dumps
    meta = stored_metadata({"source": UPDATE, "step": step, "parents": {}}, metadata_from_config(config), wf.name)
    try:
        dumped = stored.dump(saver, t.thread, t.checkpoint_ns, result_channels(values, values))
    except TypeError as e:
        raise type(e)(f"update_state() value for thread {t.thread_id!r} cannot be checkpointed: {e}") from e
    rec = CheckpointRecord(t.thread, t.checkpoint_ns, new_checkpoint_id(),
                           base.checkpoint_id if base else None, time.time(), step, UPDATE, dumped.blob,
                           dumps(meta), dumped.pieces)
    saver.put_checkpoint(rec)
    stored.adopt(saver, rec, dumped)
    tap.edited(saver, t.thread, wf.name, tap.ThreadEdited(ns_tuple(t.checkpoint_ns), "update_state",
                                                             rec.checkpoint_id))
    return config_for(t.thread, t.checkpoint_ns, rec.checkpoint_id)


def fork(wf: WorkflowLike, config: Mapping[str, Any], *, task_index: int, value: Any, thread_id: str | None) -> dict:
    """Branch an invocation after its first ``task_index`` tasks (in call order). See Workflow.fork."""
    saver = saver_of(wf, "fork()")
    t = parse_config(config, needs_thread=True, who=f"fork() of {wf.name!r}")
    base = invocation_checkpoint(saver, t)
    ns = base.checkpoint_ns
    root = task_id_for(base.checkpoint_id, ns, "")
    results = [w for w in saver.get_writes(t.thread, ns, base.checkpoint_id)
               if w.kind in (RESULT, CACHED) and w.task_id != root]
    results.sort(key=lambda w: Position.key(w.path))
    if not isinstance(task_index, int) or task_index < 0 or task_index > len(results):
        raise ValueError(
            f"task_index must be an int from 0 to {len(results)} (the invocation {base.checkpoint_id!r} of "
            f"thread {t.thread_id!r} recorded {len(results)} task results), got {task_index!r}"
        )
    if value is not MISSING and task_index == 0:
        raise ValueError("fork(value=...) replaces the result of task task_index-1, so task_index must be >= 1")
    kept = results[:task_index]
    new_thread = str(thread_id) if thread_id is not None else t.thread
    same_thread = new_thread == t.thread
    new_id = new_checkpoint_id()
    origin = {"thread_id": t.thread, "checkpoint_id": base.checkpoint_id, "task_index": task_index,
              "replaced": value is not MISSING}
    dumps = serializer_of(saver).dumps
    meta = stored_metadata({"source": FORK, "step": base.step, "parents": {}, "forked_from": origin}, {}, wf.name)
    channels, pieces = base.channels, ()  # type: tuple[bytes, tuple[tuple[bytes, bytes], ...]]
    if not same_thread:  # the pieces the state needs are copied into the new thread
        dumped = stored.dump(saver, new_thread, ns, stored.load(saver, base, live=False))
        channels, pieces = dumped.blob, dumped.pieces
    rec = CheckpointRecord(new_thread, ns, new_id, base.checkpoint_id if same_thread else None, time.time(),
                           base.step, FORK, channels, dumps(meta), pieces)
    new_writes = []
    for i, w in enumerate(kept):
        payload = w.payload
        if value is not MISSING and i == len(kept) - 1:
            try:
                payload = dumps(value)
            except TypeError as e:
                raise type(e)(f"fork(value=...) for task {w.name!r} cannot be checkpointed: {e}") from e
        new_writes.append(WriteRecord(new_thread, ns, new_id, task_id_for(new_id, ns, w.path), w.name, w.path,
                                      w.kind, payload, w.started_at, w.ended_at, w.summary, w.wave))
    saver.put_checkpoint(rec)
    if new_writes:
        saver.put_writes(new_writes)
    tap.edited(saver, new_thread, wf.name, tap.ThreadEdited(ns_tuple(ns), "fork", new_id, t.thread))
    return config_for(new_thread, ns, new_id)



def prune(wf: WorkflowLike, config: Mapping[str, Any], *, keep_last: int | None = None,
          keep_invocations: int | None = None, vacuum: bool = False) -> Pruned:
    """Drop a thread's old checkpoints (:func:`nbflow.checkpoint.retention.prune`; by default all but the
    newest) and tell every view of the thread. ``vacuum``: then give the space back (SQLite)."""
    saver = saver_of(wf, "prune()")
    t = parse_config(config, needs_thread=True, who=f"prune() of {wf.name!r}")
    prune_saver = getattr(saver, "prune", None)
    if prune_saver is None:
        raise CheckpointerRequiredError(f"prune() of {wf.name!r}: {type(saver).__name__} cannot prune; nbflow's "
                                        "InMemorySaver, SqliteSaver and PostgresSaver can")
    extra = {"vacuum": True} if vacuum and hasattr(saver, "vacuum") else {}
    out = prune_saver([t.thread], keep_last=keep_last, keep_invocations=keep_invocations, **extra)
    latest = saver.get_checkpoint(t.thread, t.checkpoint_ns)
    if latest is not None:
        tap.edited(saver, t.thread, wf.name, tap.ThreadEdited(ns_tuple(t.checkpoint_ns), "prune",
                                                                 latest.checkpoint_id))
    return out


__all__ = ["update_state", "fork", "prune"]
