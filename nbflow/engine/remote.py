"""A task attempt shipped to another process: what travels, what runs there, what comes back.

A task whose executor is a :class:`~nbflow.executors.base.RemoteExecutor`
(a Dask cluster) keeps its whole job on the caller -- journal, retries,
recording, events -- and sends only the function call. This module owns that
call's round trip, and nothing else:

* :class:`Shipment` -- the plain, picklable description of one attempt: the
  user's function and arguments, plus what the remote code may ask of nbflow
  (the answers to its ``interrupt()`` calls recorded so far, the run's plain
  config, whether ``custom`` stream chunks are wanted).
* :func:`run_shipped` -- runs a shipment in the worker process: installs a
  :class:`RemoteScope` so ``interrupt()``, ``get_stream_writer()`` and
  ``get_config()`` work there, calls the function (an async one is run to
  completion on a fresh loop) and returns a :class:`Landed`.
* :class:`Landed` -- what comes back: the value, the stream chunks written,
  and a pending interrupt (index, value, schema) when the code asked a question
  nobody has answered yet. The caller (:mod:`nbflow.engine.steps`) emits the
  chunks and records the interrupt exactly as for a local task, so replay and
  ``Command(resume=...)`` work unchanged.

What a remote task may **not** do -- call another task, invoke an
entrypoint, use ``get_store()`` / ``get_runtime()`` -- raises
:class:`~nbflow.errors.TaskContextError` naming the task and saying what to do.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..compat import lc
from ..errors import TaskContextError
from ..observe import propagate
from ..schema import validate_value
from .scope import enter_scope, leave_scope

_PLAIN = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class Shipment:
    """One attempt of task ``name``: ``func(*args, **kwargs)`` plus the run facts the remote code may read."""

    name: str
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    answers: dict[int, Any]           # this task's recorded interrupt answers, by call index
    config: dict[str, Any]            # {"configurable": {...plain values...}} for get_config()
    want_custom: bool                 # someone streams "custom" chunks
    inject: tuple[str, ...] = ()      # parameters to fill in remotely ("config", "writer")
    task_id: str = ""                 # the call's deterministic task id (seeds replay-stable ids there)
    attempt: int = 1                  # which attempt of the task this is (model usage records say so)
    trace: dict[str, str] | None = None  # the task span's W3C trace context, when OpenTelemetry export is on
    want_messages: bool = False       # someone streams "messages": the chat models' chunks come back too


@dataclass(frozen=True, slots=True)
class PendingInterrupt:
    """An ``interrupt()`` call (its index in the attempt) that has no recorded answer yet."""

    index: int
    value: Any
    response_schema: Any


@dataclass(frozen=True, slots=True)
class Landed:
    """What a shipped attempt returns: its value, or the question it stopped at; and its stream chunks."""

    value: Any
    chunks: tuple[Any, ...] = ()
    interrupt: PendingInterrupt | None = None
    usage: tuple[Any, ...] = ()  # the model calls the attempt made (nbflow.observe.usage.ModelUsage)
    messages: tuple[Any, ...] = ()  # the chunks its chat models streamed (when asked), in order


class _Ask(BaseException):
    """Unwinds the remote code at an unanswered ``interrupt()`` (a BaseException, like GraphInterrupt)."""

    def __init__(self, pending: PendingInterrupt) -> None:
        super().__init__(pending.index)
        self.pending = pending


def _unsupported(task: str, what: str, instead: str) -> TaskContextError:
    return TaskContextError(
        f"task {task!r} runs on a remote executor (a Dask cluster), where {what} is not available. {instead}"
    )


class RemoteRun:
    """The run as remote code sees it: the subset of :class:`~nbflow.engine.run.Run` that can travel."""

    def __init__(self, shipment: Shipment) -> None:
        self.shipment = shipment
        self.chunks: list[Any] = []
        self.messages: list[Any] = []
        self.stream_writer: Callable[[Any], None] = self.chunks.append if shipment.want_custom else _drop

    # --- what works remotely
    def ask(self, scope: RemoteScope, value: Any, response_schema: Any) -> Any:
        k = scope.interrupts
        scope.interrupts = k + 1
        answers = self.shipment.answers
        if k in answers:
            answer = answers[k]
            if response_schema is not None and not isinstance(response_schema, Mapping):
                return validate_value(response_schema, answer)
            return answer
        raise _Ask(PendingInterrupt(k, value, response_schema))

    def user_config(self, scope: Any = None) -> dict:
        return self.shipment.config

    # --- what does not
    @property
    def store(self) -> Any:
        raise _unsupported(self.shipment.name, "get_store()", "Read the store in the entrypoint (or a local task) "
                           "and pass the values to this task as arguments.")

    def runtime_for(self, scope: Any) -> Any:
        raise _unsupported(self.shipment.name, "get_runtime() / a `runtime` parameter",
                           "Pass what the task needs from the runtime as arguments.")

    def call_task(self, scope: Any, task: Any, args: tuple, kwargs: dict) -> Any:
        raise _unsupported(self.shipment.name, f"calling another task ({getattr(task, 'name', task)!r})",
                           "Call that task from the entrypoint instead (its result can be passed to this one), "
                           "or run this task locally.")

    def nested_run(self, scope: Any, wf: Any, input: Any, context: Any) -> Any:
        raise _unsupported(self.shipment.name, f"invoking the entrypoint {getattr(wf, 'name', wf)!r}",
                           "Invoke it from the entrypoint instead, or run this task locally.")


class RemoteScope:
    """The scope installed around shipped code, so ``nbflow.interrupt()`` & co. find their run."""

    __slots__ = ("run", "name", "path", "task_id", "interrupts", "waits", "calls", "ids", "progress", "watchers",
                 "usage", "attempt")

    def __init__(self, run: RemoteRun) -> None:
        self.run = run
        self.name = run.shipment.name
        self.path = ""
        self.task_id = run.shipment.task_id
        self.interrupts = self.waits = self.calls = self.ids = 0
        self.progress = None
        self.watchers: tuple = ()
        self.usage: list | None = None  # model calls made here (nbflow.observe.usage), sent back with the outcome
        self.attempt = run.shipment.attempt

    def heartbeat(self) -> None:
        return None

    def auto_progress(self) -> None:
        return None


def _drop(_chunk: Any) -> None:
    return None


def run_shipped(shipment: Shipment) -> Landed:
    """Run one shipped attempt here (in a worker process) and say how it went."""
    run = RemoteRun(shipment)
    scope = RemoteScope(run)
    kwargs = shipment.kwargs
    if shipment.inject:
        if "store" in shipment.inject:
            run.store  # noqa: B018 - raises the clear error: the store does not travel
        if "runtime" in shipment.inject:
            run.runtime_for(scope)  # raises likewise
        filled = {"config": shipment.config, "writer": run.stream_writer}
        kwargs = {**{n: filled[n] for n in shipment.inject}, **kwargs}
    lc_token = None
    if lc.available():
        lc.ensure_usage_hook()  # model calls made here are recorded with the attempt
        if shipment.want_messages:  # tokens are kept and travel back with the outcome
            lc_token = lc.install(None, lambda msg, _meta: run.messages.append(msg), {})
    token = enter_scope(scope)  # type: ignore[arg-type]  # duck-typed: the helpers read .run and counters only
    otel = propagate.attach(shipment.trace)
    try:
        value = shipment.func(*shipment.args, **kwargs)
        if inspect.iscoroutine(value):
            value = asyncio.run(value)
    except _Ask as ask:
        return Landed(None, tuple(run.chunks), ask.pending, tuple(scope.usage or ()), tuple(run.messages))
    except BaseException as exc:
        for attr, got in (("__nbflow_chunks__", run.chunks), ("__nbflow_usage__", scope.usage),
                          ("__nbflow_messages__", run.messages)):
            if got:
                try:
                    setattr(exc, attr, tuple(got))
                except AttributeError:  # pragma: no cover - exceptions without a __dict__
                    pass
        raise
    finally:
        propagate.detach(otel)
        leave_scope(token)
        if lc_token is not None:
            lc.reset(lc_token)
    return Landed(value, tuple(run.chunks), None, tuple(scope.usage or ()), tuple(run.messages))


def chunks_of(exc: BaseException) -> tuple[Any, ...]:
    """The stream chunks a failed remote attempt wrote before it raised ``exc``."""
    return getattr(exc, "__nbflow_chunks__", ())


def messages_of(exc: BaseException) -> tuple[Any, ...]:
    """The chat-model chunks a failed remote attempt streamed before it raised ``exc``."""
    return getattr(exc, "__nbflow_messages__", ())


def usage_of(exc: BaseException) -> tuple[Any, ...]:
    """The model calls a failed remote attempt made before it raised ``exc``."""
    return getattr(exc, "__nbflow_usage__", ())


def plain_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a run's config that travels: ``configurable`` values that are plain scalars."""
    conf = config.get("configurable") or {}
    return {"configurable": {k: v for k, v in conf.items() if isinstance(v, _PLAIN)}}


__all__ = ["Shipment", "Landed", "PendingInterrupt", "RemoteRun", "RemoteScope", "run_shipped", "chunks_of",
           "usage_of", "messages_of", "plain_config"]
