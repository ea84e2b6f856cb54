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

STREAM_MODES = ("values", "updates", "custom", "messages", "checkpoints", "tasks", "debug")
INTERRUPT_KEY = "__interrupt__"


@dataclass(frozen=True, slots=True)
class RunStart:
    ns: tuple[str, ...]
    name: str
    thread_id: str | None
    input: Any
    resuming: bool
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class TaskStart:
    ns: tuple[str, ...]
    task_id: str
    name: str
    path: str
    input: Any
    step: int
    ts: float


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
class RunEnd:
    ns: tuple[str, ...]
    name: str
    value: Any
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class RunInterrupted:
    ns: tuple[str, ...]
    name: str
    interrupts: tuple
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class RunError:
    ns: tuple[str, ...]
    name: str
    error: BaseException
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class RunStopped:
    """The invocation was stopped from outside (``Workflow.stop``); its finished tasks stay checkpointed."""

    ns: tuple[str, ...]
    name: str
    ts: float = field(default_factory=time.time)


Event = (RunStart | TaskStart | TaskEnd | Custom | Message | CheckpointSaved | RunEnd | RunInterrupted | RunError
         | RunStopped)


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
    """The ``(mode, chunk)`` pairs a stream with these modes yields for ``event``."""
    out: list[tuple[str, Any]] = []
    if isinstance(event, TaskEnd):
        ok = event.error is None and not event.interrupts
        if "updates" in modes and ok and not event.replayed:
            upd = {event.name: event.result}
            if event.cached:
                upd["__metadata__"] = {"cached": True}
            out.append(("updates", upd))
        if "tasks" in modes and not event.replayed:
            out.append(("tasks", _task_result(event)))
        if "debug" in modes and not event.replayed:
            out.append(("debug", {"type": "task_result", "timestamp": _iso(event.ended),
                                  "step": event.step, "payload": _task_result(event)}))
    elif isinstance(event, Custom):
        if "custom" in modes:
            out.append(("custom", event.payload))
    elif isinstance(event, Message):
        if "messages" in modes:
            out.append(("messages", (event.chunk, event.metadata)))
    elif isinstance(event, TaskStart):
        if "tasks" in modes:
            out.append(("tasks", _task_start(event)))
        if "debug" in modes:
            out.append(("debug", {"type": "task", "timestamp": _iso(event.ts),
                                  "step": event.step, "payload": _task_start(event)}))
    elif isinstance(event, RunEnd):
        if "updates" in modes:
            out.append(("updates", {event.name: event.value}))
        if "values" in modes:
            out.append(("values", event.value))
    elif isinstance(event, RunInterrupted):
        if "updates" in modes:
            out.append(("updates", {INTERRUPT_KEY: tuple(event.interrupts)}))
        if "values" in modes:
            out.append(("values", {INTERRUPT_KEY: tuple(event.interrupts)}))
    elif isinstance(event, CheckpointSaved):
        if "checkpoints" in modes:
            out.append(("checkpoints", _checkpoint(event)))
        if "debug" in modes:
            out.append(("debug", {"type": "checkpoint", "timestamp": _iso(event.ts),
                                  "step": event.step, "payload": _checkpoint(event)}))
    return out


def _task_start(e: TaskStart) -> dict:
    return {"id": e.task_id, "name": e.name, "input": e.input, "triggers": ("__pregel_push",)}


def _task_result(e: TaskEnd) -> dict:
    return {
        "id": e.task_id,
        "name": e.name,
        "error": e.error,
        "result": None if e.error is not None or e.interrupts else e.result,
        "interrupts": tuple(e.interrupts),
    }


def _checkpoint(e: CheckpointSaved) -> dict:
    return {
        "config": e.config,
        "parent_config": e.parent_config,
        "values": e.values,
        "metadata": e.metadata,
        "next": list(e.next),
        "tasks": list(e.tasks),
    }
