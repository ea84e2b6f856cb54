"""Reading a thread's past: state snapshots, state history, task history, invocations, the Mermaid picture.

Everything here is built over the checkpointer's two row kinds (see
:mod:`nbflow.checkpoint.base`); nothing runs user code, and nothing here
imports the engine or the decorators: a workflow is only read for its
``name`` and ``checkpointer``. Snapshots are built by :mod:`nbflow.history.snapshots`;
edits (``update_state``, ``fork``) are :mod:`nbflow.history.edits`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from ..checkpoint import values
from ..checkpoint.base import BaseCheckpointSaver, CheckpointRecord, WriteRecord
from ..config import (
    END,
    START,
    Target,
    parse_config,
    serializer_of,
)
from ..errors import CheckpointerRequiredError, CheckpointNotFoundError
from ..kinds import TASK_WRITE_KINDS, UNFINISHED_SOURCES, RunStatus, Source, TaskOutcome, WriteKind
from ..observe.usage import UsageTotals, decode_records, totals
from ..replay import InterruptRecord, Journal, error_of, interrupts_of, split_summary, task_id_for
from ..serde import summarize
from ..types import Interrupt, Invocation, StateSnapshot, TaskRecord
from .graph import mermaid_for
from .snapshots import checkpoint_view, empty_snapshot, interrupt_of

# Stored (plain string) values, looked up once: an enum's .value costs a descriptor call per use.
RESULT, CACHED, ERROR, INTERRUPT, REPLAYED = (WriteKind.RESULT.value, WriteKind.CACHED.value, WriteKind.ERROR.value,
                                              WriteKind.INTERRUPT.value, WriteKind.REPLAYED.value)
USAGE, RESUME = WriteKind.USAGE.value, WriteKind.RESUME.value
OUTCOME_OF_WRITE = {kind: TaskOutcome.of_write(kind).value for kind in TASK_WRITE_KINDS}
DONE, INTERRUPTED, FAILED, STOPPED, RUNNING, UPDATED = (
    RunStatus.DONE.value, RunStatus.INTERRUPTED.value, RunStatus.ERROR.value, RunStatus.STOPPED.value,
    RunStatus.RUNNING.value, RunStatus.UPDATE.value)
LOOP, UPDATE, FORK = Source.LOOP.value, Source.UPDATE.value, Source.FORK.value
UNFINISHED = UNFINISHED_SOURCES
TASK_KINDS = TASK_WRITE_KINDS


class WorkflowLike(Protocol):
    """What history reads of a workflow."""

    name: str
    checkpointer: BaseCheckpointSaver | None


def saver_of(wf: WorkflowLike, what: str) -> BaseCheckpointSaver:
    """The workflow's checkpointer, or an error saying ``what`` needs one."""
    if wf.checkpointer is None:
        raise CheckpointerRequiredError(
            f"{what} needs a checkpointer, and entrypoint {wf.name!r} has none. "
            "Pass checkpointer=InMemorySaver() (or SqliteSaver(path)) to @entrypoint."
        )
    return wf.checkpointer


def _snapshot(wf: WorkflowLike, saver: BaseCheckpointSaver, rec: CheckpointRecord, with_writes: bool,
              result: Any = None, decoded: dict | None = None, live: bool | None = None) -> StateSnapshot:
    loads = serializer_of(saver).loads
    # a snapshot shows the returned value; the saved `previous` is decoded only to become the live value
    channels = values.load(saver, rec, decoded=decoded, live=live, only=None if live else (END,))
    meta = loads(rec.metadata)
    pending: tuple[InterruptRecord, ...] = ()
    error = None
    if with_writes and rec.source in UNFINISHED:
        writes = saver.get_writes(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id)
        j = Journal.from_writes(writes, loads, task_id_for(rec.checkpoint_id, rec.checkpoint_ns, ""))
        pending, error = j.pending, j.root_error
    return checkpoint_view(wf.name, rec, channels, meta, pending, error, result)


def get_state(wf: WorkflowLike, config: Mapping[str, Any]) -> StateSnapshot:
    saver = saver_of(wf, "get_state()")
    t = parse_config(config, needs_thread=True, who=f"get_state() of {wf.name!r}")
    rec = saver.get_checkpoint(t.thread, t.checkpoint_ns, t.checkpoint_id)
    if rec is None:
        if t.checkpoint_id is not None:
            raise CheckpointNotFoundError(
                f"thread {t.thread_id!r} has no checkpoint {t.checkpoint_id!r}; "
                "list them with get_state_history(config)."
            )
        return empty_snapshot(t.thread)
    return _snapshot(wf, saver, rec, with_writes=True)


def get_state_history(wf: WorkflowLike, config: Mapping[str, Any], *, filter: Mapping[str, Any] | None = None,
                      before: Mapping[str, Any] | None = None, limit: int | None = None) -> Iterator[StateSnapshot]:
    saver = saver_of(wf, "get_state_history()")
    t = parse_config(config, needs_thread=True, who=f"get_state_history() of {wf.name!r}")
    before_id = None
    if before is not None:
        before_id = parse_config(before, needs_thread=False, who="get_state_history(before=...)").checkpoint_id
    records = saver.list_checkpoints(t.thread, t.checkpoint_ns, before=before_id,
                                     limit=None if filter else limit)
    finished = {r.parent_id: r for r in records if r.source == LOOP}
    decoded: dict = {}  # each piece decoded once for the whole listing
    count = 0
    newest = records[0].checkpoint_id if records and before_id is None else None
    for rec in records:
        done = finished.get(rec.checkpoint_id)
        # an invocation's checkpoint shows, in its task, the value that invocation returned (as LangGraph does)
        result = (_end_of(saver, done, decoded) if done is not None and rec.source in UNFINISHED else None)
        snap = _snapshot(wf, saver, rec, with_writes=done is None, result=result, decoded=decoded,
                         live=rec.checkpoint_id == newest)  # the thread's live value from now on
        if filter and any((snap.metadata or {}).get(k) != v for k, v in filter.items()):
            continue
        yield snap
        count += 1
        if limit is not None and count >= limit:
            return


def _end_of(saver: BaseCheckpointSaver, rec: CheckpointRecord, decoded: dict) -> Any:
    """The value checkpoint ``rec`` holds as returned, read once per listing (``decoded`` keeps it)."""
    ends = decoded.setdefault(("ends",), {})
    if rec.checkpoint_id not in ends:
        ends[rec.checkpoint_id] = values.load(saver, rec, decoded=decoded, only=(END,)).get(END)
    return ends[rec.checkpoint_id]


def get_task_history(wf: WorkflowLike, config: Mapping[str, Any]) -> list[TaskRecord]:
    """Every task execution recorded in the thread, oldest first."""
    saver = saver_of(wf, "get_task_history()")
    t = parse_config(config, needs_thread=True, who=f"get_task_history() of {wf.name!r}")
    loads = serializer_of(saver).loads
    return _task_records(saver.list_writes(t.thread, t.checkpoint_ns), loads)


def get_usage(wf: WorkflowLike, config: Mapping[str, Any]) -> UsageTotals:
    """The model usage and cost recorded in the thread: every task attempt's, and the entrypoint bodies' own."""
    saver = saver_of(wf, "get_usage()")
    t = parse_config(config, needs_thread=True, who=f"get_usage() of {wf.name!r}")
    loads = serializer_of(saver).loads
    return totals(u for w in saver.list_writes(t.thread, t.checkpoint_ns) if w.kind == USAGE
                  for u in _usage_of(w, loads))


def _task_records(writes: list[WriteRecord], loads: Any) -> list[TaskRecord]:
    """The task rows of ``writes`` as records, each with the usage row written just before it (same commit)."""
    out = []
    usage: dict[tuple[str, str], tuple] = {}
    for w in writes:
        kind = w.kind
        if kind == USAGE:
            if w.path:
                usage[(w.checkpoint_id, w.task_id)] = _usage_of(w, loads)
        elif w.path and kind in TASK_KINDS:
            out.append(_task_record(w, loads, usage.pop((w.checkpoint_id, w.task_id), ()) if usage else ()))
    return out


def _usage_of(w: WriteRecord, loads: Any) -> tuple:
    try:
        return decode_records(loads(w.payload))
    except Exception:  # noqa: BLE001 - an unreadable usage row leaves its calls out
        return ()


def _task_record(w: WriteRecord, loads: Any, usage: tuple = ()) -> TaskRecord:
    err = None
    interrupts: tuple = ()
    result_summary = ""
    kind = w.kind
    outcome = OUTCOME_OF_WRITE[kind]
    if kind == ERROR:
        p = error_of(w, loads)
        err = f"{p.get('type')}: {p.get('message')}"
    elif kind == INTERRUPT:
        interrupts = tuple(map(interrupt_of, interrupts_of(w, loads)))
    elif kind != REPLAYED:
        try:
            result_summary = summarize(loads(w.payload), 80)
        except Exception:  # noqa: BLE001 - a refused type still has a row
            result_summary = "<unreadable>"
    return TaskRecord(w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.name, w.path,
                      split_summary(w.summary)[0] if w.summary else "", w.started_at, w.ended_at, outcome, err,
                      result_summary, interrupts, w.wave, usage)


def get_invocations(wf: WorkflowLike, config: Mapping[str, Any]) -> list[Invocation]:
    """The thread's invocations and state edits, oldest first, with their tasks and interrupts."""
    return _invocations(wf, config, only_latest=False)


def latest_run(wf: WorkflowLike, config: Mapping[str, Any], checkpoint_id: str | None = None) -> Invocation | None:
    """The thread's newest invocation that is a run (not a state edit), or the run whose input checkpoint is
    ``checkpoint_id``; None when there is none. Reads only that invocation's own rows."""
    found = _invocations(wf, config, only_latest=True, checkpoint_id=checkpoint_id)
    return found[-1] if found else None


def _invocations(wf: WorkflowLike, config: Mapping[str, Any], only_latest: bool,
                 checkpoint_id: str | None = None) -> list[Invocation]:
    saver = saver_of(wf, "get_invocations()")
    t = parse_config(config, needs_thread=True, who=f"get_invocations() of {wf.name!r}")
    loads = serializer_of(saver).loads
    records = list(reversed(saver.list_checkpoints(t.thread, t.checkpoint_ns)))
    done_by = {r.parent_id: r for r in records if r.source == LOOP}
    writes: dict[str, list] = {}
    if only_latest:
        records = [r for r in records if r.source not in (LOOP, UPDATE)
                   and checkpoint_id in (None, r.checkpoint_id)][-1:]
        for rec in records:
            writes[rec.checkpoint_id] = list(saver.get_writes(t.thread, t.checkpoint_ns, rec.checkpoint_id))
    else:
        for w in saver.list_writes(t.thread, t.checkpoint_ns):
            writes.setdefault(w.checkpoint_id, []).append(w)
    out: list[Invocation] = []
    decoded: dict = {}  # each piece decoded once for the whole listing
    for rec in records:
        if rec.source == LOOP:
            continue
        channels = values.load(saver, rec, decoded=decoded, only=(START, END))
        meta = loads(rec.metadata)
        if rec.source == UPDATE:
            out.append(Invocation(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.parent_id, rec.step,
                                  UPDATE, None, UPDATED, rec.created_at, rec.created_at,
                                  channels.get(END)))
            continue
        ws = writes.get(rec.checkpoint_id, [])
        root = task_id_for(rec.checkpoint_id, rec.checkpoint_ns, "")
        journal = Journal.from_writes(ws, loads, root)
        asked: dict[str, Interrupt] = {}
        for w in ws:
            if w.kind == INTERRUPT and w.task_id == root:
                for d in interrupts_of(w, loads):
                    asked.setdefault(d.id, interrupt_of(d))
        tasks = tuple(_task_records(ws, loads))
        body_usage = tuple(u for w in ws if w.kind == USAGE and not w.path and w.task_id == root
                           for u in _usage_of(w, loads))
        finished = done_by.get(rec.checkpoint_id)
        if finished is not None:
            value = values.load(saver, finished, decoded=decoded, only=(END,)).get(END)
            status, ended = DONE, finished.created_at
        else:
            value = None
            ended = max((w.ended_at or 0.0 for w in ws), default=None) or None  # type: ignore[assignment]
            if journal.pending:
                status = INTERRUPTED
            elif journal.root_error is not None:
                stopped = journal.root_error.get("type") == "RunStopped"
                status = STOPPED if stopped else FAILED
            else:
                status = RUNNING
        err = journal.root_error
        out.append(Invocation(
            rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.parent_id, rec.step, rec.source,
            channels.get(START), status, rec.created_at, ended, value,
            finished.checkpoint_id if finished is not None else None,
            tuple(interrupt_of(p) for p in journal.pending), tuple(asked.values()), dict(journal.resumes),
            f"{err.get('type')}: {err.get('message')}" if err and status == FAILED else None,
            tasks, meta.get("forked_from"), body_usage, _waits(ws, root)))
    return out


def _waits(ws: list[WriteRecord], root: str) -> tuple[tuple[float, float | None], ...]:
    """When the run waited for answers: from each stamped run-level interrupt row to the resume row after it."""
    out: list[tuple[float, float | None]] = []
    asked: float | None = None
    for w in sorted(ws, key=lambda w: w.seq):
        if w.task_id != root or w.path:
            continue
        if w.kind == INTERRUPT and w.ended_at is not None:
            asked = w.ended_at if asked is None else asked
        elif w.kind == RESUME and w.started_at is not None and asked is not None:
            out.append((asked, max(asked, w.started_at)))
            asked = None
    if asked is not None:
        out.append((asked, None))
    return tuple(out)


def invocation_checkpoint(saver: BaseCheckpointSaver, t: Target) -> CheckpointRecord:
    """The input/fork checkpoint of the invocation a config points at (the latest by default)."""
    rec = saver.get_checkpoint(t.thread, t.checkpoint_ns, t.checkpoint_id)
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
        parent = saver.get_checkpoint(t.thread, t.checkpoint_ns, rec.parent_id)
        if parent is None:
            raise CheckpointNotFoundError(
                f"checkpoint {rec.checkpoint_id!r} of thread {t.thread_id!r} names a parent "
                f"{rec.parent_id!r} the checkpointer does not have; pick another from get_invocations(config)."
            )
        rec = parent
    return rec


def mermaid(wf: WorkflowLike, config: Mapping[str, Any]) -> str:
    """Mermaid text for the invocation ``config`` points at (the latest one by default)."""
    t = parse_config(config, needs_thread=True, who="get_graph_mermaid()")
    invocations = [i for i in get_invocations(wf, config) if i.source != UPDATE]
    if not invocations:
        raise CheckpointNotFoundError(f"thread {t.thread_id!r} has no invocation to draw yet; run it first.")
    chosen = invocations[-1]
    if t.checkpoint_id is not None:
        target = invocation_checkpoint(saver_of(wf, "get_graph_mermaid()"), t).checkpoint_id
        chosen = next(i for i in invocations if i.checkpoint_id == target)
    return mermaid_for(chosen, wf.name)


__all__ = ["get_state", "get_state_history", "get_task_history", "get_usage", "get_invocations",
           "invocation_checkpoint", "mermaid", "checkpoint_view", "empty_snapshot", "saver_of", "START", "WorkflowLike"]
