"""Task execution for a run: scheduling task calls, replay hits, cache, retries, interrupts.

:class:`TaskExecution` is the half of :class:`nbflow.loop.Run` that handles
what happens *inside* an invocation: a ``@task`` call (served from the
journal, from the cache, or scheduled on the worker pool / an event loop),
the recording of its outcome the moment it finishes, ``interrupt()``, and
entrypoints invoked inside another run. The sync and async task drivers
(:meth:`_run_task` / :meth:`_arun_task`) are the only place the two flavours
differ; every decision they take is a shared method.

It relies on the attributes :class:`~nbflow.loop.Run` sets up (saver,
journal, checkpoint id, sink, ...) and is not used on its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import events as ev
from .checkpoint.base import CACHED, ERROR, INTERRUPT, REPLAYED, RESULT
from .context import Scope, _current
from .errors import CheckpointerRequiredError, GraphInterrupt, SerializationError
from .policies import retry_delay, select_policy
from .replay import InterruptRecord, interrupt_id_for, task_id_for
from .serde import summarize
from .types import Interrupt
from .workers import TaskFuture, start_async, submit_sync

if TYPE_CHECKING:  # pragma: no cover
    from .func import TaskFunction, Workflow
    from .loop import Outcome, Run

# Patch points for tests: retries sleep through these.
sleep = time.sleep
asleep = asyncio.sleep


def error_payload(exc: BaseException) -> dict:
    return {"type": type(exc).__qualname__, "message": str(exc)}


class TaskExecution:
    """Mixin of :class:`~nbflow.loop.Run`: everything a task call does."""

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
            return TaskFuture.completed(self._serve_recorded(rec, tid, task.name, path, args, scope.waits))
        ckey = None
        if task.cache_policy is not None and self.cache is not None:
            ckey = self._cache_key(task, args, kwargs)
            hit = self._cache_lookup(ckey, task, tid, path, args, scope.waits)
            if hit is not None:
                return hit
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

    def _serve_recorded(self, rec: Any, tid: str, name: str, path: str, args: Any, wave: int) -> Any:
        """A task (or nested entrypoint) result served from the journal on replay: noted and announced."""
        value = rec.value(self.loads)
        now = time.time()
        if self.saver is not None:  # written in one batch when the attempt concludes
            self.replayed.append(self._write(tid, name, path, REPLAYED, b"null", now, now, summarize(args, 80), wave))
        if self.want_ends:
            self.sink(ev.TaskEnd(self.ns, tid, name, path, value, None, (), rec.kind == CACHED, True, now, now,
                                 self.step))
        return value

    def _cache_key(self, task: "TaskFunction", args: tuple, kwargs: dict) -> tuple[tuple[str, ...], str]:
        key = task.cache_policy.key_func(*args, **kwargs)
        if isinstance(key, bytes):
            key = key.hex()
        return (("__nbflow_task__", task.name), str(key))

    def _cache_lookup(self, key, task, tid, path, args, wave: int) -> TaskFuture | None:
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
                                          self.dumps(error_payload(exc)), started, ended, summarize(args, 80),
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
    def nested_run(self, scope: Scope, wf: "Workflow", input: Any, context: Any) -> "NestedCall":
        """Begin an entrypoint invoked inside this run.

        The child shares this run's thread and saver (unless it has its own)
        and writes its checkpoints under the namespace ``name:task_id``; its
        result is journaled here like a task's, so a replay does not run it again.
        """
        path = scope.next_path()
        tid = task_id_for(self.checkpoint_id, self.ns_str, path)
        rec = self.journal.lookup(tid, wf.name, path)
        if rec is not None:
            value = self._serve_recorded(rec, tid, wf.name, path, input, scope.waits)
            return NestedCall(self, wf, input, tid, path, scope.waits, None, value)
        from .loop import Run

        config = {"configurable": {"thread_id": self.thread_id}} if self.thread_id else None
        child = Run(wf, input, config, saver=wf.checkpointer or self.saver,
                    context=context if context is not None else self.context,
                    sink=self.sink, modes=tuple(self.modes), parent=self, ns=self.ns + (f"{wf.name}:{tid}",))
        return NestedCall(self, wf, input, tid, path, scope.waits, child.prepare())

    def nested_done(self, call: "NestedCall", outcome: "Outcome") -> Any:
        if outcome.status == "interrupted":
            raise GraphInterrupt(outcome.interrupts)
        value = outcome.value
        if self.saver is not None:
            payload = self.dumps(value)
            self._put_writes([self._write(call.task_id, call.wf.name, call.path, RESULT, payload, call.started,
                                          time.time(), summarize(call.input, 80), call.wave)])
            self.journal.record(call.task_id, call.wf.name, call.path, RESULT, payload, value)
        return value


@dataclass(frozen=True, slots=True)
class NestedCall:
    """An entrypoint called inside a run: already recorded (``value``) or to run (``child``)."""

    parent: "Run"
    wf: "Workflow"
    input: Any
    task_id: str
    path: str
    wave: int
    child: "Run | None"
    value: Any = None
    started: float = field(default_factory=time.time)

    def finish(self, outcome: "Outcome") -> Any:
        return self.parent.nested_done(self, outcome)
