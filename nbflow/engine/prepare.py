"""What an invocation is, decided before it runs: :func:`prepare` (see the design notes of :mod:`.run`).

From the thread's checkpoints and the input it tells a new input (a new ``input`` checkpoint)
from a resume (``Command(resume=...)``: the answers are journaled and the same checkpoint is
replayed), a retry after an error or a crash (``None`` on an unfinished checkpoint), time travel
(``checkpoint_id`` in the config: a ``fork`` copy of that checkpoint replayed with an empty
journal), and "continue" on a finished thread (nothing to run). The functions take the
:class:`~nbflow.engine.run.Run` being prepared and fill in its checkpoint, journal and input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..checkpoint.base import CheckpointRecord, new_checkpoint_id
from ..config import END, PREVIOUS, START, previous_of
from ..errors import CheckpointerRequiredError, CheckpointNotFoundError, ConfigError, EmptyInputError
from ..kinds import UNFINISHED_SOURCES, RunStatus, Source, WriteKind
from ..replay import Journal, resolve_resume, task_id_for
from ..schema import resolve_schema_ref, to_plain, validate_value
from ..types import Command
from .scope import Ending

if TYPE_CHECKING:
    from .run import Run

DONE = RunStatus.DONE.value
INPUT, FORK = Source.INPUT.value, Source.FORK.value
RESUME = WriteKind.RESUME.value


def prepare(self: Run) -> Run:
    """Load the thread and decide what this invocation does (I/O: reads, first writes)."""
    raw = self.raw_input
    saver = self.saver
    wf = self.wf
    if saver is None:
        if isinstance(raw, Command):
            raise CheckpointerRequiredError(
                f"entrypoint {wf.name!r} has no checkpointer, so there is nothing to resume. "
                "Pass checkpointer=InMemorySaver() (or SqliteSaver) to @entrypoint."
            )
        self.checkpoint_id = new_checkpoint_id()
        set_journal(self, Journal())
        self.input = raw
        entry_cache_key(self)
        return self
    t = self.target
    latest = saver.get_checkpoint(t.thread_id, self.ns_str)  # type: ignore[arg-type]
    base = latest
    if t.checkpoint_id is not None and self.parent is None:
        base = saver.get_checkpoint(t.thread_id, self.ns_str, t.checkpoint_id)  # type: ignore[arg-type]
        if base is None:
            raise CheckpointNotFoundError(
                f"thread {t.thread_id!r} has no checkpoint {t.checkpoint_id!r}. "
                "List the thread's checkpoints with get_state_history(config)."
            )
    channels = self.loads(base.channels) if base is not None else {}
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
        adopt(self, base, channels)  # type: ignore[arg-type]
        answers = resolve_resume(raw.resume, self.journal.pending, str(t.thread_id))
        answers = validate_answers(self, answers)
        # the user's answer is committed at once, whatever the run's durability
        saver.put_writes([self.write(self.root_task_id, wf.name, "", RESUME, self.dumps(answers))])
        self.journal.resumes.update(answers)
        self.answers = answers
        self.resuming = True
    elif unfinished and is_latest and (raw is None or self.parent is not None):
        # A nested run's namespace belongs to one call of its parent, so an
        # unfinished checkpoint there is this very call, paused or crashed.
        adopt(self, base, channels)  # type: ignore[arg-type]  # retry after an error / crash: replay
        self.resuming = True
    elif raw is None and unfinished:
        # time travel to an old input checkpoint: replay it on a fresh branch
        assert base is not None
        # one step after the checkpoint it copies, as LangGraph numbers it
        fork = self._put_checkpoint(FORK, base.step + 1, base.checkpoint_id, channels,
                                    {"replayed_from": base.checkpoint_id})
        adopt(self, fork, channels, journal=Journal())
    elif raw is None and base is not None and (t.checkpoint_id is not None or self.parent is None):
        # "continue this thread" on a finished invocation (or a state edit): nothing to run
        self.finished_value = Ending(DONE, channels.get(END))
    elif raw is None and base is None and self.parent is None:
        raise EmptyInputError(
            f"thread {t.thread_id!r} has no checkpoint, so invoke(None, config) of entrypoint {wf.name!r} "
            "has nothing to continue. Pass an input to start it: invoke(<input>, config)."
        )
    else:
        new_channels = {START: raw}
        if END in channels:
            new_channels[END] = channels[END]
        if PREVIOUS in channels:
            new_channels[PREVIOUS] = channels[PREVIOUS]
        step = base.step + 1 if base is not None else -1
        ckpt = self._put_checkpoint(INPUT, step, base.checkpoint_id if base else None, new_channels)
        adopt(self, ckpt, new_channels, journal=Journal())
        entry_cache_key(self)
    return self

def entry_cache_key(self: Run) -> None:
    """``@entrypoint(cache=..., cache_policy=...)``: a new input's result may come from (and go to) the cache."""
    policy = self.wf.cache_policy
    if policy is None or self.cache is None:
        return
    key = policy.key_func(self.input)
    self.entry_key = (("__nbflow_entrypoint__", self.wf.name), key.hex() if isinstance(key, bytes) else str(key))

def adopt(self: Run, ckpt: CheckpointRecord, channels: dict, journal: Journal | None = None) -> None:
    self.checkpoint = ckpt
    self.checkpoint_id = ckpt.checkpoint_id
    self.step = ckpt.step
    self.input = channels.get(START)
    self.previous = previous_of(channels)
    root = task_id_for(ckpt.checkpoint_id, self.ns_str, "")
    if journal is None:
        assert self.saver is not None
        journal = Journal.from_writes(
            self.saver.get_writes(self.thread_id, self.ns_str, ckpt.checkpoint_id),  # type: ignore[arg-type]
            self.loads, root
        )
    self.root_task_id = root
    set_journal(self, journal)

def set_journal(self: Run, journal: Journal) -> None:
    if not self.root_task_id:
        self.root_task_id = task_id_for(self.checkpoint_id, self.ns_str, "")
        journal.root_task_id = self.root_task_id
    self.journal = journal
    self.resumes = self.parent.resumes if self.parent is not None else journal.resumes

def validate_answers(self: Run, answers: dict[str, Any]) -> dict[str, Any]:
    pending = {p.id: p for p in self.journal.pending}
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


__all__ = ["prepare", "adopt", "set_journal"]
