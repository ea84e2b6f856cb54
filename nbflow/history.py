"""Reading and editing a thread's past: state snapshots, history, update_state, task history.

Everything here is built over the checkpointer's two row kinds (see
:mod:`nbflow.checkpoint.base`); nothing runs user code. Snapshots keep
LangGraph's :class:`~nbflow.types.StateSnapshot` shape for the Functional API:
an ``input`` checkpoint has ``next == (entrypoint_name,)`` and one task (the
entrypoint) carrying its pending interrupts; a ``loop`` checkpoint is a
finished invocation whose ``values`` is the return value.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from .checkpoint.base import CACHED, ERROR, INTERRUPT, RESULT, CheckpointRecord, new_checkpoint_id
from .errors import CheckpointerRequiredError, CheckpointNotFoundError
from .loop import END, PREVIOUS, START, parse_config
from .replay import InterruptRecord, Journal, task_id_for
from .serde import default_serializer, summarize
from .types import Interrupt, PregelTask, StateSnapshot, TaskRecord

if TYPE_CHECKING:  # pragma: no cover
    from .func import Workflow

_loads = default_serializer.loads
_dumps = default_serializer.dumps
UNFINISHED = ("input", "fork")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def _config(rec_thread: str, ns: str, checkpoint_id: str | None) -> dict | None:
    if checkpoint_id is None:
        return None
    return {"configurable": {"thread_id": rec_thread, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}


def _interrupt_of(rec: InterruptRecord) -> Interrupt:
    from .schema import resolve_schema_ref

    schema = resolve_schema_ref(rec.schema_ref) if rec.schema_ref else None
    return Interrupt(rec.value, rec.id, schema if schema is not None else rec.json_schema, rec.json_schema, rec.task)


def checkpoint_view(wf: "Workflow", rec: CheckpointRecord, channels: dict, meta: dict,
                    pending: tuple[InterruptRecord, ...], error: dict | None = None) -> StateSnapshot:
    unfinished = rec.source in UNFINISHED
    interrupts = tuple(_interrupt_of(p) for p in pending)
    tasks: tuple[PregelTask, ...] = ()
    if unfinished:
        err = None
        if error is not None:
            err = RuntimeError(f"{error.get('type')}: {error.get('message')}")
        tasks = (PregelTask(task_id_for(rec.checkpoint_id, rec.checkpoint_ns, ""), wf.name,
                            ("__pregel_pull", wf.name), err, interrupts),)
    return StateSnapshot(
        values=channels[END] if END in channels else {},
        next=(wf.name,) if unfinished else (),
        config=_config(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id),
        metadata=meta,
        created_at=_iso(rec.created_at),
        parent_config=_config(rec.thread_id, rec.checkpoint_ns, rec.parent_id),
        tasks=tasks,
        interrupts=interrupts,
    )


def _saver(wf: "Workflow", what: str):
    if wf.checkpointer is None:
        raise CheckpointerRequiredError(
            f"{what} needs a checkpointer, and entrypoint {wf.name!r} has none. "
            "Pass checkpointer=InMemorySaver() (or SqliteSaver(path)) to @entrypoint."
        )
    return wf.checkpointer


def _snapshot(wf: "Workflow", rec: CheckpointRecord, with_writes: bool) -> StateSnapshot:
    channels = _loads(rec.channels)
    meta = _loads(rec.metadata)
    pending: tuple[InterruptRecord, ...] = ()
    error = None
    if with_writes and rec.source in UNFINISHED:
        writes = wf.checkpointer.get_writes(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id)
        j = Journal.from_writes(writes, _loads, task_id_for(rec.checkpoint_id, rec.checkpoint_ns, ""))
        pending, error = j.pending, j.root_error
    return checkpoint_view(wf, rec, channels, meta, pending, error)


def empty_snapshot(thread_id: str | None) -> StateSnapshot:
    return StateSnapshot({}, (), {"configurable": {"thread_id": thread_id}} if thread_id else {}, None,
                         None, None, (), ())


def get_state(wf: "Workflow", config: Mapping[str, Any]) -> StateSnapshot:
    saver = _saver(wf, "get_state()")
    t = parse_config(config, needs_thread=True, who=f"get_state() of {wf.name!r}")
    rec = saver.get_checkpoint(t.thread_id, t.checkpoint_ns, t.checkpoint_id)
    if rec is None:
        if t.checkpoint_id is not None:
            raise CheckpointNotFoundError(
                f"thread {t.thread_id!r} has no checkpoint {t.checkpoint_id!r}; "
                "list them with get_state_history(config)."
            )
        return empty_snapshot(t.thread_id)
    return _snapshot(wf, rec, with_writes=True)


def get_state_history(wf: "Workflow", config: Mapping[str, Any], *, filter: Mapping[str, Any] | None = None,
                      before: Mapping[str, Any] | None = None, limit: int | None = None) -> Iterator[StateSnapshot]:
    saver = _saver(wf, "get_state_history()")
    t = parse_config(config, needs_thread=True, who=f"get_state_history() of {wf.name!r}")
    before_id = None
    if before is not None:
        before_id = parse_config(before, needs_thread=False, who="get_state_history(before=...)").checkpoint_id
    records = saver.list_checkpoints(t.thread_id, t.checkpoint_ns, before=before_id,
                                     limit=None if filter else limit)
    finished = {r.parent_id for r in records if r.source == "loop"}
    count = 0
    for rec in records:
        snap = _snapshot(wf, rec, with_writes=rec.checkpoint_id not in finished)
        if filter and any(snap.metadata.get(k) != v for k, v in filter.items()):
            continue
        yield snap
        count += 1
        if limit is not None and count >= limit:
            return


def update_state(wf: "Workflow", config: Mapping[str, Any], values: Any, as_node: str | None = None) -> dict:
    """Save ``values`` as the thread's state: the next run's ``previous`` (metadata source "update")."""
    saver = _saver(wf, "update_state()")
    t = parse_config(config, needs_thread=True, who=f"update_state() of {wf.name!r}")
    base = saver.get_checkpoint(t.thread_id, t.checkpoint_ns, t.checkpoint_id)
    if t.checkpoint_id is not None and base is None:
        raise CheckpointNotFoundError(f"thread {t.thread_id!r} has no checkpoint {t.checkpoint_id!r}")
    step = base.step + 1 if base is not None else -1
    meta = {"source": "update", "step": step, "parents": {}}
    try:
        blob = _dumps({END: values, PREVIOUS: values})
    except TypeError as e:
        raise type(e)(f"update_state() value for thread {t.thread_id!r} cannot be checkpointed: {e}") from e
    rec = CheckpointRecord(t.thread_id, t.checkpoint_ns, new_checkpoint_id(),
                           base.checkpoint_id if base else None, time.time(), step, "update", blob, _dumps(meta))
    saver.put_checkpoint(rec)
    return _config(t.thread_id, t.checkpoint_ns, rec.checkpoint_id)


def get_task_history(wf: "Workflow", config: Mapping[str, Any]) -> list[TaskRecord]:
    """Every task execution recorded in the thread, oldest first."""
    saver = _saver(wf, "get_task_history()")
    t = parse_config(config, needs_thread=True, who=f"get_task_history() of {wf.name!r}")
    out: list[TaskRecord] = []
    for w in saver.list_writes(t.thread_id, t.checkpoint_ns):
        if not w.path or w.kind not in (RESULT, CACHED, ERROR, INTERRUPT):
            continue
        err = None
        interrupts: tuple = ()
        result_summary = ""
        if w.kind == ERROR:
            p = _loads(w.payload)
            err = f"{p.get('type')}: {p.get('message')}"
            outcome = "error"
        elif w.kind == INTERRUPT:
            interrupts = tuple(_interrupt_of(InterruptRecord.from_dict(d)) for d in _loads(w.payload))
            outcome = "interrupted"
        else:
            outcome = "ok" if w.kind == RESULT else "cached"
            try:
                result_summary = summarize(_loads(w.payload), 80)
            except Exception:  # noqa: BLE001 - a refused type still has a row
                result_summary = "<unreadable>"
        out.append(TaskRecord(w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.name, w.path,
                              w.summary, w.started_at, w.ended_at, outcome, err, result_summary, interrupts))
    return out


__all__ = ["get_state", "get_state_history", "update_state", "get_task_history", "checkpoint_view", "START"]
