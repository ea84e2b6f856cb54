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
import concurrent.futures
import contextvars
import inspect
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import events as ev
from .checkpoint.base import (
    CACHED,
    ERROR,
    INTERRUPT,
    RESULT,
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
from .policies import retry_delay, select_policy
from .replay import InterruptRecord, Journal, interrupt_id_for, resolve_resume, task_id_for
from .serde import default_serializer, summarize
from .types import Command, Interrupt
from .workers import TaskFuture, start_async, submit_sync

if TYPE_CHECKING:  # pragma: no cover
    from .func import TaskFunction, Workflow

# Patch points for tests: retries sleep through these.
sleep: Callable[[float], None] = time.sleep
asleep = asyncio.sleep

START, END, PREVIOUS = "__start__", "__end__", "__previous__"
INJECTABLE = ("config", "previous", "runtime", "store", "writer")


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
    if thread_id is not None and not isinstance(thread_id, (str, int)):
        raise ConfigError(f"{who}: thread_id must be a str or int, got {type(thread_id).__name__}")
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


class Run:
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
        self.sink = sink
        self.modes = frozenset(modes)
        self.parent = parent
        self.root: Run = parent.root if parent is not None else self
        self.ns = ns
        self.ns_str = "|".join(ns)
        self.target = parse_config(config, needs_thread=saver is not None, who=f"entrypoint {wf.name!r}")
        self.thread_id = self.target.thread_id
        self.lock = threading.Lock()
        self.outstanding: list[TaskFuture] = []
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
        self.previous = channels.get(PREVIOUS)
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

    # ------------------------------------------------------------------ interrupts
    def interrupt(self, scope: Scope, value: Any, response_schema: Any) -> Any:
        if self.saver is None:
            raise CheckpointerRequiredError(
                f"interrupt() in {scope.name!r} needs a checkpointer to remember the run while it waits. "
                f"Pass checkpointer=InMemorySaver() (or SqliteSaver(path)) to @entrypoint {self.wf.name!r}."
            )
        k = scope.interrupts
        scope.interrupts = k + 1
        iid = interrupt_id_for(self.checkpoint_id, self.ns_str, scope.path, k)
        if iid in self.resumes:
            answer = self.resumes[iid]
            if response_schema is not None and not isinstance(response_schema, Mapping):
                from .schema import validate_value

                return validate_value(response_schema, answer)
            return answer
        json_schema = ref = None
        if response_schema is not None:
            from .schema import json_schema_of, schema_ref

            json_schema = json_schema_of(response_schema)
            ref = schema_ref(response_schema)
        try:
            self.dumps(value)
        except SerializationError as e:
            raise SerializationError(f"the value passed to interrupt() in {scope.name!r} cannot be stored: {e}") from e
        rec = InterruptRecord(iid, value, scope.path, scope.name, json_schema, ref)
        intr = Interrupt(value, iid, response_schema, json_schema, scope.name)
        root = self.root
        with root.lock:
            root.interrupts[iid] = (rec, intr)
        raise GraphInterrupt((intr,))

    # ------------------------------------------------------------------ tasks
    def call_task(self, scope: Scope, task: "TaskFunction", args: tuple, kwargs: dict) -> TaskFuture:
        path = scope.next_path()
        tid = task_id_for(self.checkpoint_id, self.ns_str, path)
        rec = self.journal.lookup(tid, task.name, path)
        if rec is not None:
            value = rec.value(self.loads)
            if self.want_ends:
                now = time.time()
                self.sink(ev.TaskEnd(self.ns, tid, task.name, path, value, None, (), rec.kind == CACHED,
                                     True, now, now, self.step))
            return TaskFuture.completed(value)
        if task.cache_policy is not None and self.cache is not None:
            hit = self._cache_lookup(task, tid, path, args, kwargs, scope.waits)
            if hit is not None:
                return hit
        ckey = self._cache_key(task, args, kwargs) if task.cache_policy is not None and self.cache is not None else None
        fut = TaskFuture()
        child = Scope(self, path, tid, task.name)
        child.wave = scope.waits
        if task.inject:
            kwargs = {**self.injections(child, tuple(n for n in task.inject if n not in kwargs
                                                     and task.positions[n] >= len(args))), **kwargs}
        with self.lock:
            self.outstanding.append(fut)
        ctx = contextvars.copy_context()
        ctx.run(_current.set, child)
        if self.want_messages:
            self._install_messages(ctx, child)
        if task.is_async:
            start_async(fut, self._arun_task(child, task, args, kwargs, fut, ckey), ctx)
        else:
            submit_sync(fut, lambda: ctx.run(self._run_task, child, task, args, kwargs, fut, ckey))
        return fut

    def _cache_key(self, task: "TaskFunction", args: tuple, kwargs: dict) -> tuple[tuple[str, ...], str]:
        key = task.cache_policy.key_func(*args, **kwargs)
        if isinstance(key, bytes):
            key = key.hex()
        return (("__nbflow_task__", task.name), str(key))

    def _cache_lookup(self, task, tid, path, args, kwargs, wave: int) -> TaskFuture | None:
        key = self._cache_key(task, args, kwargs)
        found = self.cache.get([key])
        if key not in found:
            return None
        payload = found[key]
        value = self.loads(payload)
        now = time.time()
        if self.saver is not None:
            self._put_writes([self._write(tid, task.name, path, CACHED, payload, now, now,
                                          summarize(args, 80), wave)])
        self.journal.record(tid, task.name, path, CACHED, payload, value)
        if self.want_ends:
            self.sink(ev.TaskEnd(self.ns, tid, task.name, path, value, None, (), True, False, now, now, self.step))
        return TaskFuture.completed(value)

    def _task_started(self, child: Scope, task, args, kwargs) -> float:
        now = time.time()
        if self.want_starts:
            self.sink(ev.TaskStart(self.ns, child.task_id, task.name, child.path,
                                   args[0] if len(args) == 1 and not kwargs else {"args": args, "kwargs": kwargs},
                                   self.step, now))
        return now

    def _retry_delay(self, task, exc: BaseException, failures: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up (pure decision)."""
        if not task.retry_policies or not isinstance(exc, Exception):
            return None
        policy = select_policy(task.retry_policies, exc)
        if policy is None or failures >= policy.max_attempts:
            return None
        return retry_delay(policy, failures)

    def _task_succeeded(self, child: Scope, task, args, value: Any, started: float, ckey=None) -> None:
        ended = time.time()
        payload = None
        if self.saver is not None or ckey is not None:
            try:
                payload = self.dumps(value)
            except SerializationError as e:
                hint = " (it is a task future: call .result() on it first)" if isinstance(value, concurrent.futures.Future) else ""
                raise SerializationError(
                    f"task {task.name!r} returned a {type(value).__module__}.{type(value).__qualname__} "
                    f"that cannot be checkpointed{hint}: {e}"
                ) from e
        if self.saver is not None:
            self._put_writes([self._write(child.task_id, task.name, child.path, RESULT, payload,
                                          started, ended, summarize(args, 80), child.wave)])
            self.journal.record(child.task_id, task.name, child.path, RESULT, payload, value)
        if ckey is not None:
            self.cache.set({ckey: (payload, task.cache_policy.ttl)})
        if self.want_ends:
            self.sink(ev.TaskEnd(self.ns, child.task_id, task.name, child.path, value, None, (), False, False,
                                 started, ended, self.step))

    def _task_failed(self, child: Scope, task, args, exc: BaseException, started: float) -> None:
        ended = time.time()
        interrupts: tuple = ()
        if isinstance(exc, GraphInterrupt):
            interrupts = exc.interrupts
            mine = []
            for intr in interrupts:
                rec = self.root.interrupts.get(intr.id, (None, None))[0]
                if rec is not None and rec.path == child.path:  # raised here, not by a sub-task
                    mine.append(rec.to_dict())
            if self.saver is not None and mine:
                self._put_writes([self._write(child.task_id, task.name, child.path, INTERRUPT, self.dumps(mine),
                                              started, ended, summarize(args, 80), child.wave)])
        elif self.saver is not None:
            self._put_writes([self._write(child.task_id, task.name, child.path, ERROR,
                                          self.dumps(_error_payload(exc)), started, ended, summarize(args, 80),
                                          child.wave)])
        if self.want_ends:
            self.sink(ev.TaskEnd(self.ns, child.task_id, task.name, child.path, None,
                                 None if interrupts else exc, interrupts, False, False, started, ended, self.step))

    def _run_task(self, child: Scope, task, args, kwargs, fut: TaskFuture, ckey=None) -> None:
        """Sync driver for one task (runs in its own copied context)."""
        started = self._task_started(child, task, args, kwargs)
        failures = 0
        while True:
            try:
                value = task.func(*args, **kwargs)
                self._task_succeeded(child, task, args, value, started, ckey)
            except BaseException as exc:  # noqa: BLE001 - recorded and re-raised through the future
                failures += 1
                delay = self._retry_delay(task, exc, failures)
                if delay is not None:
                    child.calls = child.interrupts = 0
                    sleep(delay)
                    continue
                self._task_failed(child, task, args, exc, started)
                fut.set_exception(exc)
                return
            fut.set_result(value)
            return

    async def _arun_task(self, child: Scope, task, args, kwargs, fut: TaskFuture, ckey=None) -> Any:
        """Async driver for one task."""
        started = self._task_started(child, task, args, kwargs)
        failures = 0
        while True:
            try:
                value = await task.func(*args, **kwargs)
                self._task_succeeded(child, task, args, value, started, ckey)
            except BaseException as exc:  # noqa: BLE001
                failures += 1
                delay = self._retry_delay(task, exc, failures)
                if delay is not None:
                    child.calls = child.interrupts = 0
                    await asleep(delay)
                    continue
                self._task_failed(child, task, args, exc, started)
                fut.set_exception(exc)
                raise
            fut.set_result(value)
            return value

    # ------------------------------------------------------------------ nested entrypoints
    def nested_run(self, scope: Scope, wf: "Workflow", input: Any, context: Any) -> tuple[str, str, Any]:
        """Begin an entrypoint invoked inside this run: ``(task_id, path, recorded value | child Run)``.

        The child shares this run's thread and saver (unless it has its own)
        and writes its checkpoints under the namespace ``name:task_id``; its
        result is journaled here like a task's, so a replay does not run it again.
        """
        path = scope.next_path()
        tid = task_id_for(self.checkpoint_id, self.ns_str, path)
        rec = self.journal.lookup(tid, wf.name, path)
        if rec is not None:
            return tid, path, rec.value(self.loads)
        config = {"configurable": {"thread_id": self.thread_id}} if self.thread_id else None
        child = Run(wf, input, config, saver=wf.checkpointer or self.saver,
                    context=context if context is not None else self.context,
                    sink=self.sink, modes=tuple(self.modes), parent=self, ns=self.ns + (f"{wf.name}:{tid}",))
        return tid, path, child.prepare()

    def nested_done(self, tid: str, path: str, wf: "Workflow", input: Any, outcome: Outcome, started: float) -> Any:
        if outcome.status == "interrupted":
            raise GraphInterrupt(outcome.interrupts)
        value = outcome.value
        if self.saver is not None:
            payload = self.dumps(value)
            self._put_writes([self._write(tid, wf.name, path, RESULT, payload, started, time.time(),
                                          summarize(input, 80))])
            self.journal.record(tid, wf.name, path, RESULT, payload, value)
        return value

    # ------------------------------------------------------------------ the entrypoint body
    def _root_scope(self) -> Scope:
        return Scope(self, "", self.root_task_id, self.wf.name)

    def _body_kwargs(self, scope: Scope) -> dict:
        return self.injections(scope, self.wf.inject) if self.wf.inject else {}

    def _entry_retry_delay(self, exc: BaseException, failures: int) -> float | None:
        return self._retry_delay(self.wf, exc, failures)

    def _emit_start(self) -> None:
        if self.sink is not None:
            self.sink(ev.RunStart(self.ns, self.wf.name, self.thread_id, self.input, self.resuming))

    def execute(self) -> Outcome:
        """Sync driver: run attempts (with the entrypoint's retry policy), then conclude."""
        if self.finished_value is not None:
            return self.finished_value
        self._emit_start()
        failures = 0
        while True:
            scope = self._root_scope()
            token = _current.set(scope)
            lc_token = self._install_messages(None, scope) if self.want_messages else None
            try:
                result, exc = self.wf.func(self.input, **self._body_kwargs(scope)), None
                if isinstance(result, TaskFuture):
                    result = result.result()
            except BaseException as e:  # noqa: BLE001
                result, exc = None, e
            finally:
                if lc_token is not None:
                    from . import lc

                    lc.reset(lc_token)
                _current.reset(token)
            self._drain()
            if exc is None or self.root.interrupts:
                break
            failures += 1
            delay = self._entry_retry_delay(exc, failures)
            if delay is None:
                break
            sleep(delay)
        return self._conclude(result, exc)

    async def aexecute(self) -> Outcome:
        """Async driver: the same as :meth:`execute`, awaiting the body and the tasks."""
        if self.finished_value is not None:
            return self.finished_value
        self._emit_start()
        failures = 0
        while True:
            scope = self._root_scope()
            token = _current.set(scope)
            lc_token = self._install_messages(None, scope) if self.want_messages else None
            try:
                result, exc = await self.wf.func(self.input, **self._body_kwargs(scope)), None
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as e:  # noqa: BLE001
                result, exc = None, e
            finally:
                if lc_token is not None:
                    from . import lc

                    lc.reset(lc_token)
                _current.reset(token)
            await self._adrain()
            if exc is None or self.root.interrupts:
                break
            failures += 1
            delay = self._entry_retry_delay(exc, failures)
            if delay is None:
                break
            await asleep(delay)
        return self._conclude(result, exc)

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
        if isinstance(exc, GraphInterrupt) and not self.root.interrupts:
            # raised by user code directly (e.g. NodeInterrupt): register what it carries
            for i, intr in enumerate(exc.interrupts or (Interrupt(None, ""),)):
                iid = getattr(intr, "id", "") or interrupt_id_for(self.checkpoint_id, self.ns_str, "~", i)
                value = getattr(intr, "value", intr)
                self.root.interrupts[iid] = (InterruptRecord(iid, value, "", wf.name), Interrupt(value, iid))
        if self.parent is not None:
            if self.root.interrupts or isinstance(exc, GraphInterrupt):
                return Outcome("interrupted", None, tuple(i for _, i in self.root.interrupts.values()))
            if exc is not None:
                raise exc
            value, save = _unpack_final(result)
            if self.saver is not None:
                self._put_checkpoint("loop", self.step + 1, self.checkpoint_id, {END: value, PREVIOUS: save})
            if self.sink is not None:
                self.sink(ev.RunEnd(self.ns, wf.name, value))
            return Outcome("done", value)
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
            self._put_checkpoint("loop", self.step + 1, self.checkpoint_id, {END: value, PREVIOUS: save})
        if self.sink is not None:
            self.sink(ev.RunEnd(self.ns, wf.name, value))
        return Outcome("done", value)

    def _record_error(self, exc: BaseException) -> None:
        if self.saver is not None:
            self._put_writes([
                self._write(self.root_task_id, self.wf.name, "", INTERRUPT, self.dumps([])),
                self._write(self.root_task_id, self.wf.name, "", ERROR, self.dumps(_error_payload(exc))),
            ])
        if self.sink is not None:
            self.sink(ev.RunError(self.ns, self.wf.name, exc))


async def _settle(f: TaskFuture) -> None:
    try:
        await f
    except BaseException:  # noqa: BLE001 - outcome already recorded by the task
        pass


def _error_payload(exc: BaseException) -> dict:
    return {"type": type(exc).__qualname__, "message": str(exc)}


def _unpack_final(result: Any) -> tuple[Any, Any]:
    from .func import entrypoint

    if isinstance(result, entrypoint.final):
        return result.value, result.save
    return result, result
