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

from . import tap
from .checkpoint.base import CACHED, ERROR, INTERRUPT, REPLAYED, RESULT, CheckpointRecord, WriteRecord, new_checkpoint_id
from .errors import CheckpointerRequiredError, CheckpointNotFoundError
from .loop import END, START, parse_config, result_channels
from .replay import InterruptRecord, Journal, error_of, interrupts_of, task_id_for
from .serde import default_serializer, summarize
from .types import Interrupt, Invocation, PregelTask, StateSnapshot, TaskRecord

if TYPE_CHECKING:  # pragma: no cover
    from .func import Workflow

_loads = default_serializer.loads
_dumps = default_serializer.dumps
UNFINISHED = ("input", "fork")
TASK_KINDS = (RESULT, CACHED, ERROR, INTERRUPT, REPLAYED)


def _iso(ts: float, _fromts=datetime.fromtimestamp, _utc=timezone.utc) -> str:
    return _fromts(ts, _utc).isoformat()


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
    interrupts = tuple(map(_interrupt_of, pending)) if pending else ()
    tasks: tuple[PregelTask, ...] = ()
    nxt: tuple[str, ...] = ()
    if rec.source in UNFINISHED:
        err = RuntimeError(f"{error.get('type')}: {error.get('message')}") if error is not None else None
        tasks = (PregelTask(task_id_for(rec.checkpoint_id, rec.checkpoint_ns, ""), wf.name,
                            ("__pregel_pull", wf.name), err, interrupts),)
        nxt = (wf.name,)
    # positional: this runs once per checkpoint when listing a long history
    return StateSnapshot(
        channels[END] if END in channels else {},
        nxt,
        _config(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id),
        meta,
        _iso(rec.created_at),
        _config(rec.thread_id, rec.checkpoint_ns, rec.parent_id),
        tasks,
        interrupts,
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
        blob = _dumps(result_channels(values, values))
    except TypeError as e:
        raise type(e)(f"update_state() value for thread {t.thread_id!r} cannot be checkpointed: {e}") from e
    rec = CheckpointRecord(t.thread_id, t.checkpoint_ns, new_checkpoint_id(),
                           base.checkpoint_id if base else None, time.time(), step, "update", blob, _dumps(meta))
    saver.put_checkpoint(rec)
    tap.edited(saver, t.thread_id, wf.name, tap.ThreadEdited(_ns_tuple(t.checkpoint_ns), "update_state",
                                                             rec.checkpoint_id))
    return _config(t.thread_id, t.checkpoint_ns, rec.checkpoint_id)


def get_task_history(wf: "Workflow", config: Mapping[str, Any]) -> list[TaskRecord]:
    """Every task execution recorded in the thread, oldest first."""
    saver = _saver(wf, "get_task_history()")
    t = parse_config(config, needs_thread=True, who=f"get_task_history() of {wf.name!r}")
    return [_task_record(w) for w in saver.list_writes(t.thread_id, t.checkpoint_ns)
            if w.path and w.kind in TASK_KINDS]


def _task_record(w, loads=_loads) -> TaskRecord:
    err = None
    interrupts: tuple = ()
    result_summary = ""
    if w.kind == ERROR:
        p = error_of(w, loads)
        err = f"{p.get('type')}: {p.get('message')}"
        outcome = "error"
    elif w.kind == INTERRUPT:
        interrupts = tuple(map(_interrupt_of, interrupts_of(w, loads)))
        outcome = "interrupted"
    elif w.kind == REPLAYED:
        outcome = "replayed"
    else:
        outcome = "ok" if w.kind == RESULT else "cached"
        try:
            result_summary = summarize(loads(w.payload), 80)
        except Exception:  # noqa: BLE001 - a refused type still has a row
            result_summary = "<unreadable>"
    return TaskRecord(w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.name, w.path,
                      w.summary, w.started_at, w.ended_at, outcome, err, result_summary, interrupts, w.wave)


def get_invocations(wf: "Workflow", config: Mapping[str, Any]) -> list[Invocation]:
    """The thread's invocations and state edits, oldest first, with their tasks and interrupts."""
    saver = _saver(wf, "get_invocations()")
    t = parse_config(config, needs_thread=True, who=f"get_invocations() of {wf.name!r}")
    records = list(reversed(saver.list_checkpoints(t.thread_id, t.checkpoint_ns)))
    writes: dict[str, list] = {}
    for w in saver.list_writes(t.thread_id, t.checkpoint_ns):
        writes.setdefault(w.checkpoint_id, []).append(w)
    done_by = {r.parent_id: r for r in records if r.source == "loop"}
    out: list[Invocation] = []
    for rec in records:
        if rec.source == "loop":
            continue
        channels = _loads(rec.channels)
        meta = _loads(rec.metadata)
        if rec.source == "update":
            out.append(Invocation(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.parent_id, rec.step,
                                  "update", None, "update", rec.created_at, rec.created_at, channels.get(END)))
            continue
        ws = writes.get(rec.checkpoint_id, [])
        root = task_id_for(rec.checkpoint_id, rec.checkpoint_ns, "")
        journal = Journal.from_writes(ws, _loads, root)
        asked: dict[str, Interrupt] = {}
        for w in ws:
            if w.kind == INTERRUPT and w.task_id == root:
                for d in interrupts_of(w, _loads):
                    asked.setdefault(d.id, _interrupt_of(d))
        tasks = tuple(_task_record(w) for w in ws if w.path and w.kind in TASK_KINDS)
        finished = done_by.get(rec.checkpoint_id)
        if finished is not None:
            status, ended, value = "done", finished.created_at, _loads(finished.channels).get(END)
        else:
            value = None
            ended = max((w.ended_at or 0.0 for w in ws), default=None) or None
            if journal.pending:
                status = "interrupted"
            elif journal.root_error is not None:
                status = "error"
            else:
                status = "running"
        err = journal.root_error
        out.append(Invocation(
            rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.parent_id, rec.step, rec.source,
            channels.get(START), status, rec.created_at, ended, value,
            finished.checkpoint_id if finished is not None else None,
            tuple(_interrupt_of(p) for p in journal.pending), tuple(asked.values()), dict(journal.resumes),
            f"{err.get('type')}: {err.get('message')}" if err and status == "error" else None,
            tasks, meta.get("forked_from")))
    return out


def _invocation_checkpoint(saver, t) -> CheckpointRecord:
    """The input/fork checkpoint of the invocation a config points at (the latest by default)."""
    rec = saver.get_checkpoint(t.thread_id, t.checkpoint_ns, t.checkpoint_id)
    if rec is None:
        what = f"checkpoint {t.checkpoint_id!r}" if t.checkpoint_id else "any checkpoint"
        raise CheckpointNotFoundError(f"thread {t.thread_id!r} has no {what}; nothing to fork.")
    seen = 0
    while rec is not None and rec.source not in UNFINISHED:
        seen += 1
        if rec.parent_id is None or seen > 10_000:
            raise CheckpointNotFoundError(
                f"checkpoint {rec.checkpoint_id!r} of thread {t.thread_id!r} does not belong to an invocation "
                "(it is a state edit); pick an invocation's checkpoint from get_invocations(config)."
            )
        rec = saver.get_checkpoint(t.thread_id, t.checkpoint_ns, rec.parent_id)
    return rec


def fork(wf: "Workflow", config: Mapping[str, Any], *, task_index: int, value: Any, thread_id: str | None) -> dict:
    """Branch an invocation after its first ``task_index`` tasks (in call order). See Workflow.fork."""
    from .func import _MISSING

    saver = _saver(wf, "fork()")
    t = parse_config(config, needs_thread=True, who=f"fork() of {wf.name!r}")
    base = _invocation_checkpoint(saver, t)
    ns = base.checkpoint_ns
    root = task_id_for(base.checkpoint_id, ns, "")
    results = [w for w in saver.get_writes(t.thread_id, ns, base.checkpoint_id)
               if w.kind in (RESULT, CACHED) and w.task_id != root]
    results.sort(key=lambda w: tuple(int(p) for p in w.path.split(".")))
    if not isinstance(task_index, int) or task_index < 0 or task_index > len(results):
        raise ValueError(
            f"task_index must be an int from 0 to {len(results)} (the invocation {base.checkpoint_id!r} of "
            f"thread {t.thread_id!r} recorded {len(results)} task results), got {task_index!r}"
        )
    if value is not _MISSING and task_index == 0:
        raise ValueError("fork(value=...) replaces the result of task task_index-1, so task_index must be >= 1")
    kept = results[:task_index]
    new_thread = str(thread_id) if thread_id is not None else t.thread_id
    same_thread = new_thread == t.thread_id
    new_id = new_checkpoint_id()
    origin = {"thread_id": t.thread_id, "checkpoint_id": base.checkpoint_id, "task_index": task_index,
              "replaced": value is not _MISSING}
    meta = {"source": "fork", "step": base.step, "parents": {}, "forked_from": origin}
    rec = CheckpointRecord(new_thread, ns, new_id, base.checkpoint_id if same_thread else None, time.time(),
                           base.step, "fork", base.channels, _dumps(meta))
    new_writes = []
    for i, w in enumerate(kept):
        payload = w.payload
        if value is not _MISSING and i == len(kept) - 1:
            try:
                payload = _dumps(value)
            except TypeError as e:
                raise type(e)(f"fork(value=...) for task {w.name!r} cannot be checkpointed: {e}") from e
        new_writes.append(WriteRecord(new_thread, ns, new_id, task_id_for(new_id, ns, w.path), w.name, w.path,
                                      w.kind, payload, w.started_at, w.ended_at, w.summary, w.wave))
    saver.put_checkpoint(rec)
    if new_writes:
        saver.put_writes(new_writes)
    tap.edited(saver, new_thread, wf.name, tap.ThreadEdited(_ns_tuple(ns), "fork", new_id, t.thread_id))
    return _config(new_thread, ns, new_id)


def _ns_tuple(ns: str) -> tuple[str, ...]:
    return tuple(ns.split("|")) if ns else ()


def mermaid(wf: "Workflow", config: Mapping[str, Any]) -> str:
    """Mermaid text for the invocation ``config`` points at (the latest one by default)."""
    from .graph import mermaid_for

    t = parse_config(config, needs_thread=True, who="get_graph_mermaid()")
    invocations = [i for i in get_invocations(wf, config) if i.source != "update"]
    if not invocations:
        raise CheckpointNotFoundError(f"thread {t.thread_id!r} has no invocation to draw yet; run it first.")
    chosen = invocations[-1]
    if t.checkpoint_id is not None:
        target = _invocation_checkpoint(wf.checkpointer, t).checkpoint_id
        chosen = next(i for i in invocations if i.checkpoint_id == target)
    return mermaid_for(chosen, wf.name)


__all__ = ["get_state", "get_state_history", "update_state", "get_task_history", "get_invocations", "fork",
           "mermaid", "checkpoint_view", "START"]
