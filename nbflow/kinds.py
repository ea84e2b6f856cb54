"""The shared vocabulary of the runtime: named kinds and call positions, pure.

Every module that stores, reads or shows a run uses these names instead of
string literals, so the four status vocabularies of the project are written
down once:

* :class:`Source` -- why a checkpoint was written (``CheckpointRecord.source``).
* :class:`WriteKind` -- what a journal row records (``WriteRecord.kind``); the
  values are the ones :mod:`nbflow.checkpoint.base` stores.
* :class:`RunStatus` -- how an invocation stands (``Invocation.status``).
* :class:`TaskOutcome` -- how one task execution ended (``TaskRecord.outcome``).
* :class:`Durability` -- when a run's journal rows are committed (``invoke(durability=...)``).
* :class:`Position` -- a task call's place in the call tree ("0", "1.2", ...),
  the only parser of that dotted form.

The members are ``StrEnum``: they compare equal to the plain strings stored in
records. What is *stored* (records, metadata, public dataclasses) is always the
plain ``.value``, so stored data never depends on this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Source(StrEnum):
    """Why a checkpoint exists."""

    INPUT = "input"    # an invocation began (its input); unfinished until a LOOP child exists
    LOOP = "loop"      # an invocation finished; channels hold its return value
    UPDATE = "update"  # update_state() wrote the thread's state
    FORK = "fork"      # time travel or Workflow.fork(): a branch to be replayed

    @property
    def unfinished(self) -> bool:
        """An invocation's own checkpoint (input or fork), as opposed to a state."""
        return self in (Source.INPUT, Source.FORK)


UNFINISHED_SOURCES: tuple[str, ...] = (Source.INPUT.value, Source.FORK.value)


class WriteKind(StrEnum):
    """What a journal row (``WriteRecord``) records."""

    RESULT = "result"        # a task (or nested entrypoint) finished; payload = its return value
    ERROR = "error"          # a task failed; payload = {"type": ..., "message": ...}
    INTERRUPT = "interrupt"  # interrupt() paused; payload = interrupt records
    RESUME = "resume"        # the user answered; payload = {interrupt_id: value}
    CACHED = "cached"        # a result served from the cache; payload = the value
    REPLAYED = "replayed"    # a recorded result served again on replay; payload = null
    USAGE = "usage"          # the model calls a task's attempts made (nbflow.observe.usage); written with
    #                          the task's own row, in the same commit; payload = a list of plain dicts


# The rows that describe one task execution (everything but resume answers).
TASK_WRITE_KINDS: tuple[str, ...] = (WriteKind.RESULT.value, WriteKind.CACHED.value, WriteKind.ERROR.value,
                                     WriteKind.INTERRUPT.value, WriteKind.REPLAYED.value)


class RunStatus(StrEnum):
    """How an invocation stands (``Invocation.status`` and the run outcome)."""

    DONE = "done"
    INTERRUPTED = "interrupted"
    ERROR = "error"
    RUNNING = "running"  # unfinished: still going, or its process died
    STOPPED = "stopped"  # stopped from outside (Workflow.stop); continue with invoke(None, config)
    UPDATE = "update"    # not a run: a state edit


class TaskOutcome(StrEnum):
    """How one task execution ended (``TaskRecord.outcome``)."""

    OK = "ok"
    ERROR = "error"
    INTERRUPTED = "interrupted"
    CACHED = "cached"
    REPLAYED = "replayed"

    @classmethod
    def of_write(cls, kind: str) -> TaskOutcome:
        """The outcome a journal row of ``kind`` stands for."""
        return _OUTCOME_OF_WRITE[kind]


_OUTCOME_OF_WRITE: dict[str, TaskOutcome] = {
    WriteKind.RESULT: TaskOutcome.OK,
    WriteKind.CACHED: TaskOutcome.CACHED,
    WriteKind.ERROR: TaskOutcome.ERROR,
    WriteKind.INTERRUPT: TaskOutcome.INTERRUPTED,
    WriteKind.REPLAYED: TaskOutcome.REPLAYED,
}


class Durability(StrEnum):
    """When an invocation's journal rows reach the saver (see :mod:`nbflow.engine.journaling`)."""

    SYNC = "sync"    # each row committed before the run goes on (nbflow's default)
    ASYNC = "async"  # committed behind the run; waited for before checkpoints and at the end (LangGraph's default)
    EXIT = "exit"    # kept in memory, written in one batch when the run ends


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A task call's place in the call tree: ``(1, 0)`` is the first call made by call 1.

    The stored form is the dotted string (``"1.0"``; ``""`` for the entrypoint
    itself). Positions order like the calls were made, depth first.
    """

    parts: tuple[int, ...] = ()

    @classmethod
    def parse(cls, path: str) -> Position:
        if not path:
            return ROOT_POSITION
        try:
            return cls(tuple(int(p) for p in path.split(".")))
        except ValueError:
            raise ValueError(f"{path!r} is not a task position (expected dotted integers such as '0' or '1.2')") \
                from None

    @staticmethod
    def key(path: str) -> tuple[int, ...]:
        """Sort key of a stored path (the parts as a tuple)."""
        return tuple(int(p) for p in path.split(".")) if path else ()

    @staticmethod
    def key_or(path: str, default: tuple[int, ...]) -> tuple[int, ...]:
        """:meth:`key` of ``path``, or ``default`` when it is not a task position (e.g. a view's row of
        another kind, or the entrypoint's own ``""``)."""
        if not path or not path.replace(".", "").isdigit():
            return default
        return Position.key(path)

    @staticmethod
    def callers(path: str) -> int:
        """How many task calls enclose the call at ``path`` (0 for a call the entrypoint made)."""
        return path.count(".")

    def child(self, index: int) -> Position:
        return Position((*self.parts, index))

    @property
    def depth(self) -> int:
        return len(self.parts)

    def __str__(self) -> str:
        return ".".join(map(str, self.parts))


ROOT_POSITION = Position()


def child_path(path: str, index: int) -> str:
    """The stored path of call ``index`` made by the code at ``path`` (hot path: string only)."""
    return f"{path}.{index}" if path else str(index)


__all__ = ["Source", "WriteKind", "RunStatus", "TaskOutcome", "Durability", "Position", "ROOT_POSITION", "child_path",
           "UNFINISHED_SOURCES", "TASK_WRITE_KINDS"]
