"""The run loop: one invocation of an entrypoint, from loading its checkpoint to the answer.

Design notes
------------
* A :class:`Run` is built by :meth:`Run.prepare`, which decides, from the
  thread's checkpoints and the input, what kind of invocation this is: a new
  input (a new ``input`` checkpoint), a resume (``Command(resume=...)``: the
  answers are journaled and the same checkpoint is replayed), a retry after
  an error (``None`` input on an unfinished checkpoint), or time travel
  (``checkpoint_id`` in the config: a ``fork`` copy of that checkpoint is
  replayed with an empty journal, so later tasks run again).
* The entrypoint body always runs from the top. Every task call gets a
  position and a deterministic id (:mod:`nbflow.replay`); a recorded result is
  served from the journal, anything else is scheduled on the worker pool
  (sync) or an event loop (async) and its result is written to the saver the
  moment it finishes.
* An attempt ends when the body has returned or raised *and* every task it
  started has finished. All interrupts raised during the attempt, by any task
  running in parallel, are surfaced together.
* Sync and async differ only in the two small drivers at the bottom
  (:meth:`Run.execute` / :meth:`Run.aexecute`, :meth:`Run._run_task` /
  :meth:`Run._arun_task`); the decisions they share live in plain methods.
* Events (:mod:`nbflow.events`) go to ``sink``, the only way out of a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from . import events as ev
from . import tap
from .checkpoint.base import (
    ERROR,
    INTERRUPT,
    RESUME,
    BaseCheckpointSaver,
    CheckpointRecord,
    WriteRecord,
    new_checkpoint_id,
)
from .context import ExecutionInfo, Runtime, Scope, _current, _noop_writer
from .errors import (
    CheckpointerRequiredError,
    CheckpointNotFoundError,
    ConfigError,
    GraphInterrupt,
    SerializationError,
)
from .execution import TaskExecution, error_payload
from . import execution as _execution
from .replay import InterruptRecord, Journal, interrupt_id_for, resolve_resume, task_id_for
from .serde import default_serializer
from .types import Command, Interrupt
from .workers import TaskFuture

if TYPE_CHECKING:  # pragma: no cover
    from .func import Workflow


START, END, PREVIOUS = "__start__", "__end__", "__previous__"
INJECTABLE = ("config", "previous", "runtime", "store", "writer")
# What a run builds for the tap when somebody listens (token-level messages only when streamed).
TAP_MODES = ("tasks", "checkpoints", "custom")


@dataclass(frozen=True, slots=True)
class Target:
    """What a config points at."""

    thread_id: str | None
    checkpoint_ns: str
    checkpoint_id: str | None


def parse_config(config: Mapping[str, Any] | None, *, needs_thread: bool, who: str) -> Target:
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"{who}: config must be a dict like {{'configurable': {{'thread_id': '1'}}}}, got {type(config).__name__}")
    conf = config.get("configurable") or {}
    if not isinstance(conf, Mapping):
        raise ConfigError(f"{who}: config['configurable'] must be a dict, got {type(conf).__name__}")
    thread_id = conf.get("thread_id")
    if needs_thread and thread_id in (None, ""):
        raise ConfigError(
            f"{who} has a checkpointer, so each call needs a thread id. Pass a config such as "
            "{'configurable': {'thread_id': 'my-thread'}} "
            f"(got {dict(config)!r})."
        )
    if thread_id is not None and not isinstance(thread_id, (str, int, uuid.UUID)):  # UUID: as LangGraph
        raise ConfigError(f"{who}: thread_id must be a str, int or uuid.UUID, got {type(thread_id).__name__}")
    return Target(
        None if thread_id is None else str(thread_id),
        str(conf.get("checkpoint_ns") or ""),
        conf.get("checkpoint_id") or None,
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an invocation ended: ``status`` is ``"done"`` or ``"interrupted"``."""

    status: str
    value: Any = None
    interrupts: tuple[Interrupt, ...] = ()


def _path_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split(".")) if path else ()


class Run(TaskExecution):
    """One invocation. Built by :meth:`prepare`, driven by :meth:`execute` / :meth:`aexecute`."""

    def __init__(
        self,
        wf: "Workflow",
        input: Any,
        config: Mapping[str, Any] | None,
        *,
        saver: BaseCheckpointSaver | None,
        context: Any = None,
        sink: Callable[[Any], None] | None = None,
        modes: tuple[str, ...] = (),
        parent: "Run | None" = None,
        ns: tuple[str, ...] = (),
    ) -> None:
        self.wf = wf
        self.raw_input = input
        self.config = dict(config or {})
        self.saver = saver
        self.serde = default_serializer
        self.dumps = self.serde.dumps
        self.loads = self.serde.loads
        self.context = context
        self.store = wf.store if wf.store is not None or parent is None else parent.store
        self.cache = wf.cache if wf.cache is not None or parent is None else parent.cache
        self.parent = parent
        self.root: Run = parent.root if parent is not None else self
        self.ns = ns
        self.ns_str = "|".join(ns)
        self.target = parse_config(config, needs_thread=saver is not None, who=f"entrypoint {wf.name!r}")
        self.thread_id = self.target.thread_id
        if parent is None and tap.listening():  # the process-wide tap hears every top-level run
            sink = tap.run_sink(saver, self.thread_id, wf.name, sink)
            modes = (*modes, *TAP_MODES)
        self.sink = sink
        self.modes = frozenset(modes)
        self.lock = threading.Lock()
        self.outstanding: list[TaskFuture] = []
        self.replayed: list[WriteRecord] = []  # rows for tasks served from the journal, written in one batch
        self.interrupts: dict[str, tuple[InterruptRecord, Interrupt]] = {}
        self.want_starts = sink is not None and bool(self.modes & {"tasks", "debug", "*"})
        self.want_checkpoints = sink is not None and bool(self.modes & {"checkpoints", "debug", "*"})
        self.want_ends = sink is not None
        self.stream_writer = self._write_custom if sink is not None and self.modes & {"custom", "*"} else _noop_writer
        self.want_messages = sink is not None and bool(self.modes & {"messages", "*"})
        self._user_config: dict | None = None
        # set by prepare()
        self.checkpoint: CheckpointRecord | None = None
        self.checkpoint_id = ""
        self.step = -1
        self.input: Any = None
        self.previous: Any = None
        self.journal = Journal()
        self.resumes: dict[str, Any] = {}
        self.root_task_id = ""
        self.resuming = False
        self.finished_value: Outcome | None = None

    # ------------------------------------------------------------------ prepare
    def prepare(self) -> "Run":
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
            self._set_journal(Journal())
            self.input = raw
            return self
        t = self.target
        latest = saver.get_checkpoint(t.thread_id, self.ns_str)
        base = latest
        if t.checkpoint_id is not None and self.parent is None:
            base = saver.get_checkpoint(t.thread_id, self.ns_str, t.checkpoint_id)
            if base is None:
                raise CheckpointNotFoundError(
                    f"thread {t.thread_id!r} has no checkpoint {t.checkpoint_id!r}. "
                    "List the thread's checkpoints with get_state_history(config)."
                )
        channels = self.loads(base.channels) if base is not None else {}
        unfinished = base is not None and base.source in ("input", "fork")
        is_latest = base is not None and latest is not None and base.checkpoint_id == latest.checkpoint_id

        if isinstance(raw, Command):
            if raw.update is not None or raw.goto or raw.graph is not None:
                raise ConfigError(
                    f"Command(update=..., goto=..., graph=...) belongs to LangGraph's Graph API; entrypoint "
                    f"{wf.name!r} is resumed with Command(resume=<answer>) only."
                )
            if not unfinished:
                resolve_resume(raw.resume, (), str(t.thread_id))  # raises: nothing pending
            self._adopt(base, channels)
            answers = resolve_resume(raw.resume, self.journal.pending, str(t.thread_id))
            answers = self._validate_answers(answers)
            self._put_writes([self._write(self.root_task_id, wf.name, "", RESUME, self.dumps(answers))])
            self.journal.resumes.update(answers)
            self.resuming = True
        elif unfinished and is_latest and (raw is None or self.parent is not None):
            # A nested run's namespace belongs to one call of its parent, so an
            # unfinished checkpoint there is this very call, paused or crashed.
            self._adopt(base, channels)  # retry after an error / crash: replay the journal
            self.resuming = True
        elif raw is None and unfinished:
            # time travel to an old input checkpoint: replay it on a fresh branch
            fork = self._put_checkpoint("fork", base.step, base.checkpoint_id, channels,
                                        {"replayed_from": base.checkpoint_id})
            self._adopt(fork, channels, journal=Journal())
        elif raw is None and base is not None and t.checkpoint_id is not None:
            self.finished_value = Outcome("done", channels.get(END))
        else:
            new_channels = {START: raw}
            if END in channels:
                new_channels[END] = channels[END]
            if PREVIOUS in channels:
                new_channels[PREVIOUS] = channels[PREVIOUS]
            step = base.step + 1 if base is not None else -1
            ckpt = self._put_checkpoint("input", step, base.checkpoint_id if base else None, new_channels)
            self._adopt(ckpt, new_channels, journal=Journal())
        return self

    def _adopt(self, ckpt: CheckpointRecord, channels: dict, journal: Journal | None = None) -> None:
        self.checkpoint = ckpt
        self.checkpoint_id = ckpt.checkpoint_id
        self.step = ckpt.step
        self.input = channels.get(START)
        self.previous = previous_of(channels)
        root = task_id_for(ckpt.checkpoint_id, self.ns_str, "")
        if journal is None:
            journal = Journal.from_writes(
                self.saver.get_writes(self.thread_id, self.ns_str, ckpt.checkpoint_id), self.loads, root
            )
        self.root_task_id = root
        self._set_journal(journal)

    def _set_journal(self, journal: Journal) -> None:
        if not self.root_task_id:
            self.root_task_id = task_id_for(self.checkpoint_id, self.ns_str, "")
            journal.root_task_id = self.root_task_id
        self.journal = journal
        self.resumes = self.parent.resumes if self.parent is not None else journal.resumes

    def _validate_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        from .schema import resolve_schema_ref, to_plain, validate_value

        pending = {p.id: p for p in self.journal.pending}
        out = {}
        for iid, value in answers.items():
            rec = pending[iid]
            schema = resolve_schema_ref(rec.schema_ref) if rec.schema_ref else None
            if schema is None:
                schema = rec.json_schema
            if schema is not None:
                validate_value(schema, value)
            out[iid] = to_plain(value)
        return out

    # ------------------------------------------------------------------ storage
    def _write(self, task_id: str, name: str, path: str, kind: str, payload: bytes,
               started: float | None = None, ended: float | None = None, summary: str = "",
               wave: int = 0) -> WriteRecord:
        return WriteRecord(self.thread_id, self.ns_str, self.checkpoint_id, task_id, name, path,
                           kind, payload, started, ended, summary, wave)

    def _put_writes(self, writes: list[WriteRecord]) -> None:
        self.saver.put_writes(writes)

    def _put_checkpoint(self, source: str, step: int, parent_id: str | None, channels: dict,
                        extra: dict | None = None) -> CheckpointRecord:
        meta = {"source": source, "step": step, "parents": self._parents()}
        if extra:
            meta.update(extra)
        try:
            blob = self.dumps(channels)
        except SerializationError as e:
            what = "input" if source == "input" else "return value"
            raise SerializationError(
                f"the {what} of entrypoint {self.wf.name!r} cannot be checkpointed: {e}"
            ) from e
        rec = CheckpointRecord(self.thread_id, self.ns_str, new_checkpoint_id(), parent_id, time.time(),
                               step, source, blob, self.dumps(meta))
        self.saver.put_checkpoint(rec)
        if self.want_checkpoints:
            self._emit_checkpoint(rec, channels, meta)
        return rec

    def _parents(self) -> dict:
        if self.parent is None:
            return {}
        return {**self.parent._parents(), self.parent.ns_str: self.parent.checkpoint_id}

    def _emit_checkpoint(self, rec: CheckpointRecord, channels: dict, meta: dict) -> None:
        from .history import checkpoint_view

        view = checkpoint_view(self.wf, rec, channels, meta, self.journal.pending if rec.source in ("input", "fork") else ())
        self.sink(ev.CheckpointSaved(self.ns, view.config, view.parent_config, view.values, view.metadata,
                                     view.next, view.tasks, rec.step, rec.created_at))

    # ------------------------------------------------------------------ run-scoped helpers
    def user_config(self, scope: Scope | None = None) -> dict:
        if self._user_config is None:
            conf = dict(self.config.get("configurable") or {})
            conf.update(checkpoint_ns=self.ns_str, checkpoint_id=self.checkpoint_id)
            if self.thread_id is not None:
                conf["thread_id"] = self.thread_id
            self._user_config = {**self.config, "configurable": conf}
        return self._user_config

    def runtime_for(self, scope: Scope) -> Runtime:
        info = ExecutionInfo(self.thread_id, self.checkpoint_id, self.ns_str, scope.task_id, scope.name)
        return Runtime(self.context, self.store, self.stream_writer, self.previous, info)

    def _install_messages(self, ctx: contextvars.Context | None, scope: Scope) -> Any:
        from . import lc

        if not lc.available():
            return None
        meta = {"langgraph_step": self.step, "langgraph_node": scope.name, "langgraph_triggers": ("__pregel_push",),
                "langgraph_path": ("__pregel_push", scope.path) if scope.path else ("__pregel_pull", scope.name),
                "langgraph_checkpoint_ns": self.ns_str, "checkpoint_ns": self.ns_str, "thread_id": self.thread_id,
                "nbflow_task_id": scope.task_id}
        ns = self.ns
        return lc.install(ctx, lambda msg, m: self.sink(ev.Message(ns, msg, m)), meta)

    def _write_custom(self, chunk: Any) -> None:
        self.sink(ev.Custom(self.ns, chunk))

    def injections(self, scope: Scope, names: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in names:
            if n == "config":
                out[n] = self.user_config(scope)
            elif n == "previous":
                out[n] = self.previous
            elif n == "runtime":
                out[n] = self.runtime_for(scope)
            elif n == "store":
                out[n] = self.store
            elif n == "writer":
                out[n] = self.stream_writer
        return out

    # ------------------------------------------------------------------ the entrypoint body
    def _root_scope(self) -> Scope:
        return Scope(self, "", self.root_task_id, self.wf.name)

    def _body_kwargs(self, scope: Scope) -> dict:
        return self.injections(scope, self.wf.inject) if self.wf.inject else {}

    def _emit_start(self) -> None:
        if self.sink is not None:
            self.sink(ev.RunStart(self.ns, self.wf.name, self.thread_id, self.input, self.resuming))

    @contextlib.contextmanager
    def _body_scope(self) -> Iterator[Scope]:
        """The entrypoint body's scope for one attempt (and the messages bridge, when streamed)."""
        scope = self._root_scope()
        token = _current.set(scope)
        lc_token = self._install_messages(None, scope) if self.want_messages else None
        try:
            yield scope
        finally:
            if lc_token is not None:
                from . import lc

                lc.reset(lc_token)
            _current.reset(token)

    def _after_attempt(self, exc: BaseException | None, failures: int) -> tuple[float | None, int]:
        """(seconds to wait before another attempt or None to stop, failures so far)."""
        if exc is None or self.root.interrupts:
            return None, failures
        failures += 1
        return self._retry_delay(self.wf, exc, failures), failures

    def execute(self) -> Outcome:
        """Sync driver: run attempts (with the entrypoint's retry policy), then conclude."""
        if self.finished_value is not None:
            return self.finished_value
        self._emit_start()
        failures = 0
        while True:
            with self._body_scope() as scope:
                try:
                    result, exc = self.wf.func(self.input, **self._body_kwargs(scope)), None
                    if isinstance(result, TaskFuture):
                        result = result.result()
                except BaseException as e:  # noqa: BLE001
                    result, exc = None, e
            self._drain()
            delay, failures = self._after_attempt(exc, failures)
            if delay is None:
                return self._conclude(result, exc)
            _execution.sleep(delay)

    async def aexecute(self) -> Outcome:
        """Async driver: the same as :meth:`execute`, awaiting the body and the tasks."""
        if self.finished_value is not None:
            return self.finished_value
        self._emit_start()
        failures = 0
        while True:
            with self._body_scope() as scope:
                try:
                    result, exc = await self.wf.func(self.input, **self._body_kwargs(scope)), None
                    if inspect.isawaitable(result):
                        result = await result
                except BaseException as e:  # noqa: BLE001
                    result, exc = None, e
            await self._adrain()
            delay, failures = self._after_attempt(exc, failures)
            if delay is None:
                return self._conclude(result, exc)
            await _execution.asleep(delay)

    def execute_blocking(self) -> Outcome:
        """Run to completion from sync code, whatever the entrypoint's flavour."""
        if self.wf.is_async:
            from .workers import run_coroutine_blocking

            return run_coroutine_blocking(self.aexecute())
        return self.execute()

    def _drain(self) -> None:
        """Wait until every task started in this run has finished (sync)."""
        while True:
            with self.lock:
                pending = [f for f in self.outstanding if not f.done()]
                if not pending:
                    self.outstanding.clear()
                    return
            for f in pending:
                f.exception()  # waits; runs unclaimed sync tasks inline

    async def _adrain(self) -> None:
        while True:
            with self.lock:
                pending = [f for f in self.outstanding if not f.done()]
                if not pending:
                    self.outstanding.clear()
                    return
            await asyncio.gather(*(_settle(f) for f in pending))

    # ------------------------------------------------------------------ conclusion
    def _conclude(self, result: Any, exc: BaseException | None) -> Outcome:
        wf = self.wf
        if self.replayed:
            self._put_writes(self.replayed)
            self.replayed = []
        if isinstance(exc, GraphInterrupt) and not self.root.interrupts:
            # raised by user code directly (e.g. NodeInterrupt): register what it carries
            for i, intr in enumerate(exc.interrupts or (Interrupt(None, ""),)):
                iid = getattr(intr, "id", "") or interrupt_id_for(self.checkpoint_id, self.ns_str, "~", i)
                value = getattr(intr, "value", intr)
                self.root.interrupts[iid] = (InterruptRecord(iid, value, "", wf.name), Interrupt(value, iid))
        if self.parent is not None:
            # A nested run hands interrupts and errors to its parent, which records them.
            if self.root.interrupts or isinstance(exc, GraphInterrupt):
                return Outcome("interrupted", None, tuple(i for _, i in self.root.interrupts.values()))
            if exc is not None:
                raise exc
        else:
            if self.interrupts:
                items = sorted(self.interrupts.values(), key=lambda ri: (_path_key(ri[0].path), ri[0].id))
                if self.saver is not None:
                    self._put_writes([self._write(self.root_task_id, wf.name, "", INTERRUPT,
                                                  self.dumps([r.to_dict() for r, _ in items]))])
                intrs = tuple(i for _, i in items)
                if exc is not None and not isinstance(exc, GraphInterrupt):
                    self._record_error(exc)
                    raise exc
                if self.sink is not None:
                    self.sink(ev.RunInterrupted(self.ns, wf.name, intrs))
                return Outcome("interrupted", None, intrs)
            if exc is not None:
                self._record_error(exc)
                raise exc
        value, save = _unpack_final(result)
        if self.saver is not None:
            self._put_checkpoint("loop", self.step + 1, self.checkpoint_id, result_channels(value, save))
        if self.sink is not None:
            self.sink(ev.RunEnd(self.ns, wf.name, value))
        return Outcome("done", value)

    def _record_error(self, exc: BaseException) -> None:
        if self.saver is not None:
            self._put_writes([
                self._write(self.root_task_id, self.wf.name, "", INTERRUPT, self.dumps([])),
                self._write(self.root_task_id, self.wf.name, "", ERROR, self.dumps(error_payload(exc))),
            ])
        if self.sink is not None:
            self.sink(ev.RunError(self.ns, self.wf.name, exc))


async def _settle(f: TaskFuture) -> None:
    try:
        await f
    except BaseException:  # noqa: BLE001 - outcome already recorded by the task
        pass


def result_channels(value: Any, save: Any) -> dict:
    """Channels of a finished state. ``previous`` is not stored twice when it is the value."""
    return {END: value} if save is value else {END: value, PREVIOUS: save}


def previous_of(channels: dict) -> Any:
    """What the next run's ``previous`` is: the saved value, which defaults to the returned one."""
    return channels[PREVIOUS] if PREVIOUS in channels else channels.get(END)


def _unpack_final(result: Any) -> tuple[Any, Any]:
    from .func import entrypoint

    if isinstance(result, entrypoint.final):
        return result.value, result.save
    return result, result
