"""What an invocation is, decided before it runs: :func:`prepare` returns its :class:`~.parts.Plan`.

From the thread's checkpoints and the input it tells a new input (a new ``input`` checkpoint)
from a resume (``Command(resume=...)``: the answers are journaled and the same checkpoint is
replayed), a retry after an error or a crash (``None`` on an unfinished checkpoint), time travel
(``checkpoint_id`` in the config: a ``fork`` copy of that checkpoint replayed with an empty
journal), and "continue" on a finished thread (nothing to run; replaying a chosen finished
checkpoint makes a copy of it the head, as LangGraph does). It reads the thread and writes what
the decision itself needs (the new checkpoint, the user's answers) and nothing else: the run
adopts the plan it returns.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ..checkpoint import values
from ..checkpoint.base import CheckpointRecord, WriteRecord, new_checkpoint_id
from ..config import END, PREVIOUS, START, previous_of
from ..errors import CheckpointerRequiredError, CheckpointNotFoundError, ConfigError, EmptyInputError
from ..kinds import UNFINISHED_SOURCES, RunStatus, Source, WriteKind
from ..replay import Journal, resolve_resume, task_id_for
from ..schema import resolve_schema_ref, to_plain, validate_value
from ..types import Command
from .parts import Ending, Plan, RunHost

DONE = RunStatus.DONE.value
INPUT, FORK, UPDATE = Source.INPUT.value, Source.FORK.value, Source.UPDATE.value
RESUME = WriteKind.RESUME.value


def prepare(run: RunHost) -> Plan:
    """Load the thread and decide what this invocation does (I/O: reads, first writes)."""
    ctx = run.ctx
    raw = run.raw_input
    saver = ctx.saver
    wf = ctx.wf
    nested = run.parent is not None
    if saver is None:
        if isinstance(raw, Command):
            raise CheckpointerRequiredError(
                f"entrypoint {wf.name!r} has no checkpointer, so there is nothing to resume. "
                "Pass checkpointer=InMemorySaver() (or SqliteSaver) to @entrypoint."
            )
        return _plan(run, None, new_checkpoint_id(), -1, {START: raw}, Journal(), entry_key=entry_cache_key(run, raw))
    t = ctx.target
    latest = saver.get_checkpoint(t.thread_id, ctx.ns_str)  # type: ignore[arg-type]
    base = latest
    if t.checkpoint_id is not None and not nested:
        base = saver.get_checkpoint(t.thread_id, ctx.ns_str, t.checkpoint_id)  # type: ignore[arg-type]
        if base is None:
            raise CheckpointNotFoundError(
                f"thread {t.thread_id!r} has no checkpoint {t.checkpoint_id!r}. "
                "List the thread's checkpoints with get_state_history(config)."
            )
    channels = values.load(saver, base) if base is not None else {}
    unfinished = base is not None and base.source in UNFINISHED_SOURCES
    is_latest = base is not None and latest is not None and base.checkpoint_id == latest.checkpoint_id

    if isinstance(raw, Command):
        if raw.update is not None or raw.goto or raw.graph is not None:
            raise ConfigError(
                f"Command(update=..., goto=..., graph=...) belongs to LangGraph's Graph API; entrypoint "
                f"{wf.name!r} is resumed with Command(resume=<answer>) only."
            )
        if not unfinished:
            resolve_resume(raw.resume, (), str(t.thread_id))  # raises: nothing pending
        assert base is not None
        plan = _adopt(run, base, channels, resuming=True)
        answers = resolve_resume(raw.resume, plan.journal.pending, str(t.thread_id))
        answers = validate_answers(plan.journal, answers)
        # the user's answer is committed at once, whatever the run's durability
        saver.put_writes([WriteRecord(ctx.thread_id, ctx.ns_str, plan.checkpoint_id,  # type: ignore[arg-type]
                                      plan.root_task_id, wf.name, "", RESUME, ctx.dumps(answers),
                                      started_at=time.time())])  # when the wait ended: read back as waiting time
        plan.journal.resumes.update(answers)
        return replace(plan, answers=answers)
    if unfinished and is_latest and (raw is None or nested):
        # A nested run's namespace belongs to one call of its parent, so an
        # unfinished checkpoint there is this very call, paused or crashed.
        assert base is not None
        return _adopt(run, base, channels, resuming=True)  # retry after an error / crash: replay
    if raw is None and unfinished:
        # time travel to an old input checkpoint: replay it on a fresh branch
        assert base is not None
        # one step after the checkpoint it copies, as LangGraph numbers it
        fork = run.put_checkpoint(FORK, base.step + 1, base.checkpoint_id, channels,
                                  {"replayed_from": base.checkpoint_id})
        return _adopt(run, fork, channels, journal=Journal())
    if raw is None and base is not None and (t.checkpoint_id is not None or not nested):
        # "continue this thread" on a finished invocation (or a state edit): nothing to run
        if t.checkpoint_id is not None and not nested:
            # Replaying a chosen checkpoint makes it the head, as in LangGraph: a copy of that state
            # (LangGraph's metadata calls it a "fork"), so the thread's next invocation continues from
            # there (its `previous`). Stored as a state, like update_state's: there is nothing to replay.
            run.put_checkpoint(UPDATE, base.step + 1, base.checkpoint_id, channels,
                               {"source": FORK, "replayed_from": base.checkpoint_id})
        return _plan(run, base, base.checkpoint_id, base.step, channels, Journal(),
                     finished=Ending(DONE, channels.get(END)))
    if raw is None and base is None and not nested:
        raise EmptyInputError(
            f"thread {t.thread_id!r} has no checkpoint, so invoke(None, config) of entrypoint {wf.name!r} "
            "has nothing to continue. Pass an input to start it: invoke(<input>, config)."
        )
    new_channels = {START: raw}
    if END in channels:
        new_channels[END] = channels[END]
    if PREVIOUS in channels:
        new_channels[PREVIOUS] = channels[PREVIOUS]
    step = base.step + 1 if base is not None else -1
    ckpt = run.put_checkpoint(INPUT, step, base.checkpoint_id if base else None, new_channels)
    return _adopt(run, ckpt, new_channels, journal=Journal(), entry_key=entry_cache_key(run, raw))


def entry_cache_key(run: RunHost, value: Any) -> Any:
    """``@entrypoint(cache=..., cache_policy=...)``: the key a new input's result is cached under, or None."""
    ctx = run.ctx
    policy = ctx.wf.cache_policy
    if policy is None or ctx.cache is None:
        return None
    key = policy.key_func(value)
    return (("__nbflow_entrypoint__", ctx.wf.name), key.hex() if isinstance(key, bytes) else str(key))


def _adopt(run: RunHost, ckpt: CheckpointRecord, channels: dict, journal: Journal | None = None,
           resuming: bool = False, entry_key: Any = None) -> Plan:
    """The plan of an invocation under ``ckpt``: its journal read from the saver unless given."""
    ctx = run.ctx
    if journal is None:
        assert ctx.saver is not None
        journal = Journal.from_writes(
            ctx.saver.get_writes(ctx.thread_id, ctx.ns_str, ckpt.checkpoint_id),  # type: ignore[arg-type]
            ctx.loads, task_id_for(ckpt.checkpoint_id, ctx.ns_str, "")
        )
    return _plan(run, ckpt, ckpt.checkpoint_id, ckpt.step, channels, journal, resuming=resuming, entry_key=entry_key)


def _plan(run: RunHost, ckpt: CheckpointRecord | None, checkpoint_id: str, step: int, channels: dict,
          journal: Journal, *, resuming: bool = False, finished: Ending | None = None, entry_key: Any = None) -> Plan:
    root = task_id_for(checkpoint_id, run.ctx.ns_str, "")
    journal.root_task_id = root
    # a nested run answers its interrupts from its parent's resume values
    resumes = run.parent.plan.resumes if run.parent is not None else journal.resumes
    return Plan(ckpt, checkpoint_id, step, channels.get(START), previous_of(channels), journal, root, resumes,
                resuming, None, finished, entry_key)


def validate_answers(journal: Journal, answers: dict[str, Any]) -> dict[str, Any]:
    pending = {p.id: p for p in journal.pending}
    out = {}
    for iid, value in answers.items():
        rec = pending[iid]
        schema: Any = resolve_schema_ref(rec.schema_ref) if rec.schema_ref else None
        if schema is None:
            schema = rec.json_schema
        if schema is not None:
            validate_value(schema, value)
        out[iid] = to_plain(value)
    return out


__all__ = ["prepare", "entry_cache_key", "validate_answers"]
