"""Public value types that cross module boundaries.

``Command``, ``Interrupt``, ``StateSnapshot`` and ``PregelTask`` keep
LangGraph's names, fields and reprs so code and printed output written for
``langgraph.types`` carry over. ``TaskRecord`` is nbflow's own: one row of a
thread's task history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from .kinds import Position
from .observe.usage import ModelUsage, UsageTotals, totals

StreamWriter = Callable[[Any], None]
"""A callable that emits one ``custom`` stream chunk."""


@dataclass(frozen=True, slots=True)
class Command:
    """Sent as the input of ``invoke``/``stream`` to resume a paused run.

    ``resume`` is the answer to the pending interrupt, or a mapping
    ``{interrupt_id: answer}`` when several are pending.
    ``update``/``goto``/``graph`` exist for signature compatibility with
    LangGraph's Graph API; the Functional API does not use them.
    """

    graph: str | None = None
    update: Any = None
    resume: Any = None
    goto: Any = ()

    PARENT = "__parent__"


@dataclass(frozen=True, slots=True)
class Interrupt:
    """A pending question raised by :func:`nbflow.interrupt`.

    ``response_schema`` is the JSON Schema of the expected answer (a pydantic
    model passed to ``interrupt()`` is turned into its JSON schema), or None,
    as in LangGraph 1.2.22. ``json_schema`` is the same dict (kept for older
    code); ``response_model`` is the model class itself when one was given and
    can be imported (resuming validates against it and hands back an instance).
    """

    value: Any
    id: str
    response_schema: dict | None = None
    json_schema: dict | None = field(default=None, repr=False, compare=False)
    task: str = field(default="", repr=False, compare=False)
    response_model: Any = field(default=None, repr=False, compare=False)
    path: str = field(default="", repr=False, compare=False)  # call position of the code that asked ("" = body)
    after: int | None = field(default=None, repr=False, compare=False)  # tasks that code had called when it asked


class PregelTask(NamedTuple):
    id: str
    name: str
    path: tuple[Any, ...]
    error: Exception | None = None
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    result: Any = None


class StateSnapshot(NamedTuple):
    values: Any
    next: tuple[str, ...]
    config: dict
    metadata: dict | None
    created_at: str | None
    parent_config: dict | None
    tasks: tuple[PregelTask, ...]
    interrupts: tuple[Interrupt, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task execution in a thread, as recorded by the checkpointer.

    ``outcome`` is ``"ok"``, ``"error"``, ``"interrupted"``, ``"cached"`` or
    ``"replayed"`` (a recorded result served again when the invocation resumed).
    ``invocation`` is the checkpoint id of the invocation the task ran under.
    """

    thread_id: str
    checkpoint_ns: str
    invocation: str
    task_id: str
    name: str
    path: str
    input_summary: str
    started_at: float | None
    ended_at: float | None
    outcome: str
    error: str | None = None
    result_summary: str = ""
    interrupts: tuple[Interrupt, ...] = ()
    wave: int = 0  # tasks of one caller with the same wave were started together (a fan-out)
    usage: tuple[ModelUsage, ...] = ()  # the model calls its attempts made (each attempt counts)

    @property
    def usage_totals(self) -> UsageTotals:
        """Its model calls summed (tokens, latency, cost)."""
        return totals(self.usage)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def position(self) -> tuple[int, ...]:
        """The call position as a tuple of ints (``"1.0"`` → ``(1, 0)``), for sorting."""
        return Position.key(self.path)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One invocation of an entrypoint on a thread (or a ``update_state`` edit).

    ``status``: ``"done"``, ``"interrupted"`` (waiting for ``pending``),
    ``"error"``, ``"running"`` (unfinished: still going, or its process died)
    or ``"update"``. ``asked`` holds every interrupt raised during it and
    ``answers`` the resume values given, by interrupt id.
    """

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str
    input: Any
    status: str
    started_at: float
    ended_at: float | None
    value: Any = None
    result_checkpoint_id: str | None = None
    pending: tuple[Interrupt, ...] = ()
    asked: tuple[Interrupt, ...] = ()
    answers: dict = field(default_factory=dict)
    error: str | None = None
    tasks: tuple[TaskRecord, ...] = ()
    forked_from: dict | None = None
    body_usage: tuple[ModelUsage, ...] = ()  # model calls the entrypoint body made itself (every attempt)
    # stretches spent waiting for an answer, (asked at, answered at or None while it waits), from the run's
    # stamped interrupt and resume rows (empty for records written before they were stamped)
    waits: tuple[tuple[float, float | None], ...] = ()

    @property
    def usage(self) -> UsageTotals:
        """The model usage and cost of this invocation: its task attempts' calls (replayed tasks count nothing:
        their calls were counted when they ran) and the entrypoint body's own."""
        return totals([*(u for t in self.tasks for u in t.usage), *self.body_usage])

    @property
    def config(self) -> dict:
        return {"configurable": {"thread_id": self.thread_id, "checkpoint_ns": self.checkpoint_ns,
                                 "checkpoint_id": self.checkpoint_id}}


class RunControl:
    """A run-scoped switch for cooperative draining (LangGraph's ``RunControl``), safe from any thread.

    Pass one per run as ``invoke(..., control=control)``. After ``request_drain()`` (e.g. on
    SIGTERM) a run that has not started its body yet stops with
    :class:`~nbflow.errors.GraphDrained`, its input checkpointed so ``invoke(None, config)``
    runs it later; a running body sees ``runtime.drain_requested`` and may wind down itself.
    """

    __slots__ = ("_drain_reason",)

    def __init__(self) -> None:
        self._drain_reason: str | None = None

    def request_drain(self, reason: str = "shutdown") -> None:
        self._drain_reason = reason  # one attribute write: atomic, no lock needed

    @property
    def drain_requested(self) -> bool:
        return self._drain_reason is not None

    @property
    def drain_reason(self) -> str | None:
        return self._drain_reason


_O = TypeVar("_O")


@dataclass(frozen=True, slots=True)
class GraphOutput(Generic[_O]):
    """What ``invoke(..., version="v2")`` returns: the output ``value`` and the ``interrupts`` it paused on."""

    value: _O
    interrupts: tuple[Interrupt, ...] = ()

    def __getitem__(self, key: str) -> Any:
        _warn_item_access()
        if key == "__interrupt__":
            return self.interrupts
        if isinstance(self.value, dict):
            return self.value[key]
        try:
            return getattr(self.value, key)
        except AttributeError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        _warn_item_access()
        if key == "__interrupt__":
            return bool(self.interrupts)
        if isinstance(self.value, dict):
            return key in self.value
        return isinstance(key, str) and hasattr(self.value, key)


def _warn_item_access() -> None:
    import warnings

    from .compat.deprecations import LangGraphDeprecatedSinceV11

    warnings.warn("Accessing GraphOutput via `result[key]` is deprecated. Use `result.value` to access the output "
                  "value directly, or `result.interrupts` for interrupts.", LangGraphDeprecatedSinceV11, stacklevel=3)


_V = TypeVar("_V")
_S = TypeVar("_S")


@dataclass
class final(Generic[_V, _S]):
    """Return ``value`` to the caller while saving ``save`` as the next run's ``previous``.

    Reached by users as ``entrypoint.final``; defined here so the engine can
    recognise it without importing the decorators.
    """

    value: _V
    save: _S


final.__qualname__ = "entrypoint.final"
