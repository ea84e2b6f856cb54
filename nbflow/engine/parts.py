"""The parts one invocation is made of, defined below every engine module that uses them.

A :class:`~nbflow.engine.run.Run` composes four small parts, each owning one concern:

* :class:`RunContext` -- what the invocation works with, fixed for its life: the workflow, the
  saver and its serializer, the thread and namespace, store, cache, executors and clock.
* :class:`Emitter` -- where its events go and which ones are built: a flag per kind of event, so
  nothing is built for a stream mode nobody listens to.
* :class:`Plan` -- what :func:`nbflow.engine.prepare.prepare` decided the invocation is (a new
  input, a resume, a retry, time travel, or nothing to run): returned, never written into the run.
* :class:`Recorder` -- its journal rows on their way to the saver (through the ``durability``
  mode's :mod:`~nbflow.engine.journaling`).

:class:`RunHost` is the run as the modules below :mod:`~nbflow.engine.run` see it (the task
steps, nested entrypoints, ``prepare``, the scope): they are typed against it, so none of them
needs to import ``run`` -- not even for annotations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..checkpoint.base import BaseCheckpointSaver, CheckpointRecord, WriteRecord
from ..config import Target
from ..replay import InterruptRecord, Journal
from ..types import Interrupt, RunControl


@dataclass(frozen=True, slots=True)
class Ending:
    """How an invocation ended: ``status`` is ``"done"`` or ``"interrupted"``."""

    status: str
    value: Any = None
    interrupts: tuple[Interrupt, ...] = ()


@dataclass(slots=True, eq=False)
class RunContext:
    """What one invocation works with (a nested run's differs from its parent's only where it says so)."""

    wf: Any
    config: dict[str, Any]
    target: Target
    thread_id: str | None
    saver: BaseCheckpointSaver | None
    serde: Any
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]
    ns: tuple[str, ...]
    ns_str: str
    store: Any
    cache: Any
    context: Any
    plugs: Any  # nbflow.engine.plugs.Plugs: executors and clock
    task_executor: Any  # the entrypoint's executor= (tasks without their own), or None
    task_executor_remote: bool  # ... and it ships tasks to a cluster (takes both flavours)
    control: RunControl | None
    check_args: bool  # replayed calls must have their recorded arguments
    config_metadata: dict[str, Any]  # (root) what the config adds to every checkpoint's metadata


STARTS_MODES = frozenset({"tasks", "debug", "*"})
CHECKPOINT_MODES = frozenset({"checkpoints", "debug", "*"})


class Emitter:
    """Where a run's events go (``sink``, or nowhere) and which kinds anybody asked for."""

    __slots__ = ("sink", "emit", "modes", "starts", "checkpoints", "ends", "custom", "messages", "tools", "lc")

    def __init__(self, sink: Callable[[Any], None] | None, modes: tuple[str, ...] | frozenset[str]) -> None:
        self.sink = sink
        self.emit: Callable[[Any], None] = sink if sink is not None else noop_writer
        self.modes = frozenset(modes)
        on = sink is not None
        self.starts = on and bool(self.modes & STARTS_MODES)
        self.checkpoints = on and bool(self.modes & CHECKPOINT_MODES)
        self.ends = on
        self.custom = on and bool(self.modes & {"custom", "*"})
        self.messages = on and bool(self.modes & {"messages", "*"})
        self.tools = on and "tools" in self.modes
        self.lc = self.messages or self.tools  # the LangChain bridge is installed around task code


def noop_writer(_item: Any) -> None:
    """Where events (and ``custom`` chunks) go when nobody listens."""
    return None


@dataclass(frozen=True, slots=True)
class Plan:
    """What an invocation is, as :func:`~nbflow.engine.prepare.prepare` decided it.

    ``checkpoint`` is the ``input`` (or ``fork``) checkpoint the invocation runs under; replaying
    the body lands on the task ids derived from its id. ``finished`` is set when there is nothing to
    run ("continue" on a finished thread): the run returns it at once.
    """

    checkpoint: CheckpointRecord | None
    checkpoint_id: str
    step: int
    input: Any
    previous: Any
    journal: Journal
    root_task_id: str
    resumes: dict[str, Any]  # answers by interrupt id (shared with the parent run, for a nested one)
    resuming: bool = False
    answers: dict[str, Any] | None = None  # what Command(resume=...) answers, {interrupt_id: value}, validated
    finished: Ending | None = None
    entry_key: Any = None  # the entrypoint's cache key for this input, when it has a cache policy


class Recorder:
    """One invocation's journal rows on their way to the saver (the ``durability`` mode decides when)."""

    __slots__ = ("thread_id", "ns_str", "checkpoint_id", "journaling", "replayed")

    def __init__(self, thread_id: str | None, ns_str: str, journaling: Any) -> None:
        self.thread_id = thread_id
        self.ns_str = ns_str
        self.checkpoint_id = ""  # the plan's, once adopted
        self.journaling = journaling  # nbflow.engine.journaling.Journaling, or None without a saver
        self.replayed: list[WriteRecord] = []  # rows for tasks served from the journal, written in one batch

    def write(self, task_id: str, name: str, path: str, kind: str, payload: bytes,
              started: float | None = None, ended: float | None = None, summary: str = "",
              wave: int = 0) -> WriteRecord:
        """A journal row of this invocation."""
        return WriteRecord(self.thread_id, self.ns_str, self.checkpoint_id, task_id, name, path,  # type: ignore[arg-type]
                           kind, payload, started, ended, summary, wave)

    def put(self, rows: list[WriteRecord]) -> None:
        self.journaling.put(rows)

    def flush(self) -> None:
        """Wait until every row of this invocation is committed (``durability`` async or exit)."""
        if self.journaling is not None:
            self.journaling.flush()

    def put_replayed(self) -> None:
        if self.replayed:
            self.put(self.replayed)
            self.replayed = []


class CodeHost(Protocol):
    """The run as workflow code's helpers reach it through their scope (``interrupt()``, ``get_config()``...):
    a :class:`~nbflow.engine.run.Run`, or a :class:`~nbflow.engine.remote.RemoteRun` on a cluster's worker."""

    stream_writer: Callable[[Any], None]

    @property
    def store(self) -> Any: ...

    def ask(self, scope: Any, value: Any, response_schema: Any) -> Any:
        """The engine side of ``nbflow.interrupt()`` called by the code of ``scope``: its answer, or a pause."""
        ...

    def user_config(self, scope: Any = None) -> dict: ...

    def runtime_for(self, scope: Any) -> Any: ...

    def call_task(self, scope: Any, task: Any, args: tuple, kwargs: dict) -> Any: ...

    def nested_run(self, scope: Any, wf: Any, input: Any, context: Any) -> Any: ...


class RunHost(CodeHost, Protocol):
    """The run as the engine's lower modules use it (:class:`~nbflow.engine.run.Run` is the one)."""

    ctx: RunContext
    out: Emitter
    plan: Plan
    rec: Recorder
    raw_input: Any
    lock: threading.Lock
    outstanding: list[Any]
    interrupts: dict[str, tuple[InterruptRecord, Interrupt]]
    stopped: bool
    timed: bool
    runs: list[Any]

    @property
    def parent(self) -> RunHost | None: ...

    @property
    def root(self) -> RunHost: ...

    def injections(self, scope: Any, names: tuple[str, ...]) -> dict[str, Any]: ...

    def spawn(self, wf: Any, input: Any, *, saver: BaseCheckpointSaver | None, context: Any,
              ns: tuple[str, ...], callbacks: Any) -> RunHost:
        """A prepared run of entrypoint ``wf`` called inside this one (registered for ``stop()``)."""
        ...

    def install_messages(self, ctx: Any, scope: Any) -> Any: ...

    def message_meta(self, scope: Any) -> dict: ...

    def put_checkpoint(self, source: str, step: int, parent_id: str | None, channels: dict,
                       extra: dict | None = None) -> CheckpointRecord: ...

    def stop(self) -> bool: ...


__all__ = ["noop_writer", "Ending", "RunContext", "Emitter", "Plan", "Recorder", "CodeHost", "RunHost"]
