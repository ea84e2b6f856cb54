"""The current run scope, task futures, and the helpers user code calls from inside a run.

One ``ContextVar`` holds the :class:`Scope` of the code that is running: the
entrypoint body or one task. Task jobs run in a copy of the caller's context
with their own scope set, so a task always sees its own scope, on whatever
thread or loop it runs. The public helpers (:func:`interrupt`,
:func:`get_stream_writer`, :func:`get_config`, :func:`get_store`,
:func:`get_runtime`) read that scope and fail with
:class:`~nbflow.errors.TaskContextError` outside a run.

:class:`TaskFuture` is what calling a ``@task`` returns; waiting on one counts
a *wait* in the waiting code's scope, which groups later calls into fan-out waves.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..errors import TaskContextError
from ..executors.base import JobFuture
from ..kinds import child_path
from ..replayable import CURRENT
from ..types import RunControl, StreamWriter
from .parts import CodeHost, noop_writer

ContextT = TypeVar("ContextT")


class Progress:
    """When the code of a timed attempt last showed progress (for its ``idle_timeout``)."""

    __slots__ = ("clock", "auto", "last")

    def __init__(self, clock: Any, auto: bool) -> None:
        self.clock = clock
        self.auto = auto  # refresh_on="auto": stream chunks and task calls count, not only heartbeats
        self.last = clock.monotonic()

    def touch(self) -> None:
        self.last = self.clock.monotonic()


class Scope:
    """Where a piece of workflow code runs: its run, call position and counters."""

    __slots__ = ("run", "path", "task_id", "name", "calls", "interrupts", "waits", "wave", "progress", "watchers",
                 "trace", "digest", "ids", "usage", "attempt", "retries")

    def __init__(self, run: CodeHost, path: str, task_id: str, name: str) -> None:
        self.run = run
        self.path = path
        self.task_id = task_id
        self.name = name
        self.calls = 0
        self.interrupts = 0
        self.waits = 0  # how many task results this code has waited for so far
        self.wave = 0   # the caller's `waits` when this task was called
        self.progress: Progress | None = None  # set while an attempt with a timeout runs
        self.watchers: tuple[Progress, ...] = ()  # the timed attempts this code runs inside (its callers')
        self.trace: Any = None  # its chain run in LangChain's callbacks (compat.lc.Trace), when config has callbacks
        self.digest = ""  # (a task call) digest of its serialized arguments, stored with its result
        self.ids = 0  # replay-stable ids handed out so far (nbflow.replayable.stable_id)
        self.usage: list | None = None  # the model calls its attempts made (nbflow.observe.usage.ModelUsage)
        self.attempt = 1  # which attempt of the task is running
        self.retries: list | None = None  # (attempt, error type, message, when) of each attempt that was retried

    @property
    def timed(self) -> bool:
        return self.progress is not None or bool(self.watchers)

    def timers(self) -> tuple[Progress, ...]:
        """What a task called from here reports its progress to."""
        return self.watchers if self.progress is None else (*self.watchers, self.progress)

    def heartbeat(self) -> None:
        """``runtime.heartbeat()``: this code, and so every timed attempt it runs inside, is making progress."""
        if self.progress is not None:
            self.progress.touch()
        for w in self.watchers:
            w.touch()

    def auto_progress(self) -> None:
        """A progress signal that counts under ``refresh_on="auto"`` (a stream chunk, a task call or result)."""
        if self.progress is not None and self.progress.auto:
            self.progress.touch()
        for w in self.watchers:
            if w.auto:
                w.touch()

    def next_path(self) -> str:
        i = self.calls
        self.calls = i + 1
        return child_path(self.path, i)

    def restart(self) -> None:
        """A retried attempt makes its calls, interrupts and replay-stable ids from the start again."""
        self.calls = self.interrupts = self.ids = 0
        self.attempt += 1  # the model calls of earlier attempts stay in `usage`: each attempt counts


_current: ContextVar[Scope | None] = CURRENT  # defined low, so add_messages can ask for replay-stable ids


def current_scope() -> Scope | None:
    """The scope of the workflow code running here, or None outside a run."""
    return _current.get()


def enter_scope(scope: Scope) -> Token[Scope | None]:
    """Make ``scope`` current in this context; undo with :func:`leave_scope`."""
    return _current.set(scope)


def leave_scope(token: Token[Scope | None]) -> None:
    _current.reset(token)


def require_scope(what: str) -> Scope:
    scope = _current.get()
    if scope is None:
        raise TaskContextError(
            f"{what} was called outside a workflow run. Call it from code running inside an "
            "@entrypoint function or a @task it calls."
        )
    return scope


def _note_wait() -> None:
    """Count a wait in the calling workflow code, so later calls start a new fan-out wave."""
    scope = _current.get()
    if scope is not None:
        scope.waits += 1


class TaskFuture(JobFuture):
    """The future returned by calling a task inside a workflow (``.result()`` or ``await``)."""

    def result(self, timeout: float | None = None) -> Any:
        scope = _current.get()
        if scope is not None:
            scope.waits += 1
        return JobFuture.result(self, timeout)

    def __await__(self) -> Generator[Any, None, Any]:
        _note_wait()
        return (yield from super().__await__())


def noop_heartbeat() -> None:
    return None


@dataclass(frozen=True)
class ExecutionInfo:
    thread_id: str | None
    checkpoint_id: str | None
    checkpoint_ns: str
    task_id: str
    task_name: str


@dataclass(frozen=True)
class Runtime(Generic[ContextT]):
    """What the ``runtime`` parameter of an entrypoint or task receives."""

    context: ContextT | None = None
    store: Any = None
    stream_writer: StreamWriter = field(default=noop_writer, repr=False)
    previous: Any = None
    execution_info: ExecutionInfo | None = None
    heartbeat: Callable[[], None] = field(default=noop_heartbeat, repr=False)
    """Record progress for the current attempt's ``idle_timeout`` (a no-op outside a timed attempt)."""
    control: RunControl | None = None
    """The run's :class:`~nbflow.types.RunControl`, when one was passed to ``invoke``/``stream``."""

    @property
    def drain_requested(self) -> bool:
        return self.control.drain_requested if self.control is not None else False

    @property
    def drain_reason(self) -> str | None:
        return self.control.drain_reason if self.control is not None else None


def interrupt(value: Any, response_schema: Any = None) -> Any:
    """Pause the run and ask a human; returns the answer once resumed.

    ``response_schema`` (a pydantic model class or a JSON-schema dict)
    describes the expected answer: it is shown on the :class:`Interrupt`,
    the resume value is validated against it, and a pydantic model is
    returned as an instance of that model.
    """
    scope = require_scope("interrupt()")
    return scope.run.ask(scope, value, response_schema)


def get_stream_writer() -> StreamWriter:
    """The writer for ``custom`` stream chunks of the current run."""
    scope = require_scope("get_stream_writer()")
    return scope.run.stream_writer


def get_config() -> dict:
    """The config of the current run (``configurable`` holds thread and checkpoint ids)."""
    scope = require_scope("get_config()")
    return scope.run.user_config(scope)


def get_store() -> Any:
    """The long-term store given to the entrypoint (``store=``), or None."""
    scope = require_scope("get_store()")
    return scope.run.store


def get_runtime() -> Runtime:
    scope = require_scope("get_runtime()")
    return scope.run.runtime_for(scope)



__all__ = ["Scope", "Progress", "TaskFuture", "current_scope", "enter_scope", "leave_scope", "require_scope",
           "noop_writer", "noop_heartbeat", "ExecutionInfo", "Runtime", "interrupt", "get_stream_writer",
           "get_config", "get_store", "get_runtime", "ContextT"]
