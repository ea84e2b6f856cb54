"""Run events, pure: one frozen dataclass per kind, and their stream-mode shapes.

The run loop emits these and nothing else; ``stream()`` turns them into
LangGraph's chunk shapes with :func:`to_chunks`, and the notebook layer
consumes the very same objects. Namespaces are tuples of ``"name:task_id"``
strings, empty for the top-level run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidStreamModeError

STREAM_MODES = ("values", "updates", "custom", "messages", "checkpoints", "tasks", "debug", "tools")
INTERRUPT_KEY = "__interrupt__"


@dataclass(frozen=True, slots=True)
class RunStart:
    ns: tuple[str, ...]
    name: str
    thread_id: str | None
    input: Any
    resuming: bool
    ts: float = field(default_factory=time.time)
    task_id: str = ""  # the entrypoint's own task (LangGraph shows the entrypoint as a task)
    step: int = 0      # the step its tasks run at (the input checkpoint's step + 1)
    # {interrupt_id: answer} this invocation resumes with (Command(resume=...), validated), exactly the
    # interrupts it answers; None when it answers none (a new input, a retry, a continue after a stop)
    answers: dict[str, Any] | None = None
    checkpoint_id: str = ""  # the invocation's own (input or fork) checkpoint: a resume keeps it


@dataclass(frozen=True, slots=True)
class TaskStart:
    ns: tuple[str, ...]
    task_id: str
    name: str
    path: str
    input: Any
    step: int
    ts: float
    call: tuple | None = None  # (args, kwargs) as the task was called


@dataclass(frozen=True, slots=True)
class TaskEnd:
    ns: tuple[str, ...]
    task_id: str
    name: str
    path: str
    result: Any
    error: BaseException | None
    interrupts: tuple
    cached: bool
    replayed: bool
    started: float
    ended: float
    step: int
    call: tuple | None = None  # (args, kwargs), given when a replayed task is announced again
    usage: tuple = ()  # the model calls its attempts made (nbflow.observe.usage.ModelUsage), every attempt
    attempts: int = 1  # how many attempts it took (retries)
    retries: tuple = ()  # (attempt, error type, message, epoch seconds) of each attempt that failed and was retried


@dataclass(frozen=True, slots=True)
class Custom:
    ns: tuple[str, ...]
    payload: Any


@dataclass(frozen=True, slots=True)
class Message:
    ns: tuple[str, ...]
    chunk: Any
    metadata: dict


@dataclass(frozen=True, slots=True)
class Tool:
    """A LangChain tool started, finished or failed inside a run (the ``tools`` stream mode)."""

    ns: tuple[str, ...]
    payload: dict


@dataclass(frozen=True, slots=True)
class CheckpointSaved:
    ns: tuple[str, ...]
    config: dict
    parent_config: dict | None
    values: Any
    metadata: dict
    next: tuple[str, ...]
    tasks: tuple
    step: int
    ts: float


@dataclass(frozen=True, slots=True)
class BodyEnd:
    """The entrypoint body returned ``value`` (its task result in the ``tasks``/``debug`` modes), just
    before the invocation's final checkpoint is written; :class:`RunEnd` follows once it is."""

    ns: tuple[str, ...]
    name: str
    task_id: str
    step: int
    value: Any
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class RunEnd:
    ns: tuple[str, ...]
    name: str
    value: Any
    ts: float = field(default_factory=time.time)
    usage: tuple = ()  # model calls the entrypoint body itself made (its tasks' are on their TaskEnd)


@dataclass(frozen=True, slots=True)
class RunInterrupted:
    ns: tuple[str, ...]
    name: str
    interrupts: tuple
    ts: float = field(default_factory=time.time)
    task_id: str = ""
    step: int = 0
    usage: tuple = ()  # model calls the entrypoint body itself made


@dataclass(frozen=True, slots=True)
class RunError:
    ns: tuple[str, ...]
    name: str
    error: BaseException
    ts: float = field(default_factory=time.time)
    task_id: str = ""
    step: int = 0
    usage: tuple = ()  # model calls the entrypoint body itself made


@dataclass(frozen=True, slots=True)
class RunHalted:
    """The invocation was stopped from outside (``Workflow.stop``); its finished tasks stay checkpointed."""

    ns: tuple[str, ...]
    name: str
    ts: float = field(default_factory=time.time)


Event = (RunStart | TaskStart | TaskEnd | Custom | Message | Tool | CheckpointSaved | BodyEnd | RunEnd
         | RunInterrupted | RunError | RunHalted)


def normalize_modes(stream_mode: Any) -> tuple[tuple[str, ...], bool]:
    """Return (modes, single): ``single`` when one mode was given as a string."""
    if stream_mode is None:
        stream_mode = "updates"
    single = isinstance(stream_mode, str)
    modes = (stream_mode,) if single else tuple(stream_mode)
    if not modes:
        raise InvalidStreamModeError(f"stream_mode is empty; choose from {list(STREAM_MODES)}")
    for m in modes:
        if m not in STREAM_MODES:
            raise InvalidStreamModeError(
                f"unknown stream_mode {m!r}; valid modes are {list(STREAM_MODES)}"
            )
    return modes, single


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def to_chunks(event: Event, modes: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The ``(mode, chunk)`` pairs a stream with these modes yields for ``event`` (LangGraph's shapes)."""
    out: list[tuple[str, Any]] = []
    kind = type(event)
    if kind is TaskEnd:
        e: Any = event
        ok = e.error is None and not e.interrupts
        if e.replayed:  # a recorded task served again: LangGraph announces it, with no new result
            if e.call is not None:
                _task_chunks(out, modes, e.ended, e.step,
                             _task_start_payload(e.task_id, e.name, e.call, ("__pregel_push",)))
            return out
        if "updates" in modes and ok:
            upd = {e.name: e.result}
            if e.cached:
                upd["__metadata__"] = {"cached": True}
            out.append(("updates", upd))
        _task_chunks(out, modes, e.ended, e.step,
                     _result_payload(e.task_id, e.name, e.error, {"__return__": e.result} if ok else {},
                                     e.interrupts), "task_result")
    elif kind is Custom:
        if "custom" in modes:
            out.append(("custom", event.payload))  # type: ignore[union-attr]
    elif kind is Message:
        if "messages" in modes:
            out.append(("messages", (event.chunk, event.metadata)))  # type: ignore[union-attr]
    elif kind is Tool:
        if "tools" in modes:
            out.append(("tools", event.payload))  # type: ignore[union-attr]
    elif kind is TaskStart:
        e = event
        call = e.call if e.call is not None else ((e.input,), {})
        _task_chunks(out, modes, e.ts, e.step, _task_start_payload(e.task_id, e.name, call, ("__pregel_push",)))
    elif kind is RunStart:
        e = event
        if e.task_id:
            _task_chunks(out, modes, e.ts, e.step,
                         {"id": e.task_id, "name": e.name, "input": e.input, "triggers": ("__start__",)})
    elif kind is RunEnd:
        e = event
        if "updates" in modes:
            out.append(("updates", {e.name: e.value}))
        if "values" in modes:
            out.append(("values", e.value))
    elif kind is BodyEnd:
        e = event
        _task_chunks(out, modes, e.ts, e.step, _result_payload(e.task_id, e.name, None, {"__end__": e.value}, ()),
                     "task_result")
    elif kind is RunInterrupted:
        e = event
        if "updates" in modes:
            out.append(("updates", {INTERRUPT_KEY: tuple(e.interrupts)}))
        if "values" in modes:
            out.append(("values", {INTERRUPT_KEY: tuple(e.interrupts)}))
        if e.task_id:
            _task_chunks(out, modes, e.ts, e.step, _result_payload(e.task_id, e.name, None, {}, e.interrupts),
                         "task_result")
    elif kind is RunError:
        e = event
        if e.task_id:
            _task_chunks(out, modes, e.ts, e.step, _result_payload(e.task_id, e.name, e.error, {}, ()), "task_result")
    elif kind is CheckpointSaved:
        e = event
        if "checkpoints" in modes:
            out.append(("checkpoints", _checkpoint(e)))
        if "debug" in modes:
            out.append(("debug", {"type": "checkpoint", "timestamp": _iso(e.ts),
                                  "step": e.step, "payload": _checkpoint(e)}))
    return out


def _task_chunks(out: list[tuple[str, Any]], modes: tuple[str, ...], ts: float, step: int, payload: dict,
                 debug_type: str = "task") -> None:
    if "tasks" in modes:
        out.append(("tasks", payload))
    if "debug" in modes:
        out.append(("debug", {"type": debug_type, "timestamp": _iso(ts), "step": step, "payload": payload}))


def _task_start_payload(task_id: str, name: str, call: tuple, triggers: tuple[str, ...]) -> dict:
    args, kwargs = call
    return {"id": task_id, "name": name, "input": (tuple(args), dict(kwargs)), "triggers": triggers}


def interrupt_dict(intr: Any) -> dict:
    """An :class:`~nbflow.types.Interrupt` as LangGraph's payloads show it (``dataclasses.asdict``)."""
    return {"value": intr.value, "id": intr.id, "response_schema": getattr(intr, "response_schema", None)}


def _result_payload(task_id: str, name: str, error: BaseException | None, result: dict, interrupts: Any) -> dict:
    return {"id": task_id, "name": name, "error": error, "result": result,
            "interrupts": [interrupt_dict(i) for i in interrupts]}


def _checkpoint_task(t: Any) -> dict:
    if t.error is not None:
        return {"id": t.id, "name": t.name, "error": t.error, "state": t.state}
    return {"id": t.id, "name": t.name, "interrupts": tuple(interrupt_dict(i) for i in t.interrupts),
            "state": t.state}


def _checkpoint(e: CheckpointSaved) -> dict:
    return {
        "config": e.config,
        "parent_config": e.parent_config,
        "values": e.values,
        "metadata": e.metadata,
        "next": list(e.next),
        "tasks": [_checkpoint_task(t) for t in e.tasks],
    }
