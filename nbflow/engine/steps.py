"""One task call, written once: replay journal → cache → run with retry → record.

:func:`call_task` is what calling a ``@task`` inside a run does. A result
recorded at this call's position is served from the journal; a cached one
from the cache; otherwise the call becomes a *job* handed to the run's
executor (:mod:`nbflow.executors`), and the job is the pipeline
:class:`TaskCall` -- attempts (each within the task's timeout) under its
retry policy, the result recorded to the saver the moment it is known, the
future settled. The pipeline is one composition of
:mod:`nbflow.engine.outcome` values, so sync and async tasks share every line
of it. A future cancelled, or a run stopped, while the job runs makes the job
record nothing and settle nothing: its late outcome is dropped.

Where the job runs is :func:`executor_for`'s choice (the task's ``executor=``,
else its entrypoint's, else the run's plugs). With a remote executor (a Dask
cluster) the job still runs here, as :data:`REMOTE_PIPELINE`: each attempt
ships only the function call (:mod:`nbflow.engine.remote`) and lands its
value, stream chunks and unanswered ``interrupt()`` back here, so recording,
retries and events are the same lines as for a local task.

Also here: :func:`ask` (the engine side of ``nbflow.interrupt()``) and
:func:`serve_recorded` (a replayed task or nested entrypoint).

Every function takes the run it works for (a :class:`~nbflow.engine.parts.RunHost`) as its
first argument; nothing here keeps state of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import time
from collections.abc import Mapping
from typing import Any

from .. import events as ev
from ..checkpoint import values
from ..compat import lc
from ..errors import CheckpointerRequiredError, ExecutorLostError, GraphInterrupt, RunStopped, SerializationError
from ..executors.base import Clock, Executor, RemoteExecutor
from ..kinds import WriteKind
from ..observe import propagate
from ..policies import retry_delay, select_policy
from ..replay import InterruptRecord, Recorded, args_digest, canonical, interrupt_id_for, task_id_for, with_digest
from ..schema import json_schema_of, schema_ref, validate_value
from ..serde import summarize
from ..types import Interrupt
from . import remote
from .outcome import Deadline, Immediate, Outcome, Pending, Thunk
from .parts import RunHost
from .running import process_exiting
from .scope import Progress, Scope, TaskFuture, enter_scope

RESULT, CACHED, ERROR, INTERRUPT, REPLAYED, USAGE = (
    WriteKind.RESULT.value, WriteKind.CACHED.value, WriteKind.ERROR.value, WriteKind.INTERRUPT.value,
    WriteKind.REPLAYED.value, WriteKind.USAGE.value)


def error_payload(exc: BaseException) -> dict:
    """How an error is stored: its type name and message."""
    return {"type": type(exc).__qualname__, "message": str(exc)}


def retry_decision(policies: tuple, exc: BaseException, failures: int) -> float | None:
    """Seconds to wait before the next attempt after ``failures`` failures, or None to give up (pure)."""
    if not policies or not isinstance(exc, Exception):
        return None
    policy = select_policy(policies, exc)
    if policy is None or failures >= policy.max_attempts:
        return None
    return retry_delay(policy, failures)


# ---------------------------------------------------------------------- interrupts
def ask(run: RunHost, scope: Scope, value: Any, response_schema: Any) -> Any:
    """The answer to this ``interrupt()`` when the run is resuming, else record it and pause."""
    if run.ctx.saver is None:
        raise CheckpointerRequiredError(
            f"interrupt() in {scope.name!r} needs a checkpointer to remember the run while it waits. "
            f"Pass checkpointer=InMemorySaver() (or SqliteSaver(path)) to @entrypoint {run.ctx.wf.name!r}."
        )
    k = scope.interrupts
    scope.interrupts = k + 1
    iid = interrupt_id_for(run.plan.checkpoint_id, run.ctx.ns_str, scope.path, k)
    if iid in run.plan.resumes:
        answer = run.plan.resumes[iid]
        if response_schema is not None and not isinstance(response_schema, Mapping):
            return validate_value(response_schema, answer)
        return answer
    json_schema = ref = None
    if response_schema is not None:
        json_schema = json_schema_of(response_schema)
        ref = schema_ref(response_schema)
    try:
        run.ctx.dumps(value)
    except SerializationError as e:
        raise SerializationError(f"the value passed to interrupt() in {scope.name!r} cannot be stored: {e}") from e
    rec = InterruptRecord(iid, value, scope.path, scope.name, json_schema, ref, scope.calls)
    model = response_schema if response_schema is not None and not isinstance(response_schema, Mapping) else None
    intr = Interrupt(value, iid, json_schema, json_schema, scope.name, model, scope.path, scope.calls)
    root = run.root
    with root.lock:
        root.interrupts[iid] = (rec, intr)
    raise GraphInterrupt((intr,))


# ---------------------------------------------------------------------- a task call
def call_task(run: RunHost, scope: Scope, task: Any, args: tuple, kwargs: dict) -> TaskFuture:
    """Calling ``task(*args, **kwargs)`` from the code running in ``scope``: a future of its result."""
    if run.root.stopped:
        raise RunStopped(f"task {task.name!r} was not started: the invocation of {run.root.ctx.wf.name!r} on thread "
                         f"{run.ctx.thread_id!r} is being stopped")
    path = scope.next_path()
    timed = scope.progress is not None or scope.watchers
    if timed:
        scope.auto_progress()  # calling a task is progress for a timed caller
    tid = task_id_for(run.plan.checkpoint_id, run.ctx.ns_str, path)
    digest = call_digest(run, args, kwargs) if run.ctx.check_args and task.check_args else ""
    rec = run.plan.journal.lookup(tid, task.name, path, digest)
    if rec is not None:
        return TaskFuture.completed(serve_recorded(run, rec, tid, task.name, path, args, scope.waits, (args, kwargs)))
    ckey = None
    if task.cache_policy is not None and run.ctx.cache is not None:
        ckey = cache_key(task, args, kwargs)
        hit = cache_lookup(run, ckey, task, tid, path, args, scope.waits, digest)
        if hit is not None:
            return hit
    fut = TaskFuture()
    child = Scope(run, path, tid, task.name)
    child.wave = scope.waits
    child.digest = digest
    if timed:
        child.watchers = scope.timers()
    executor = executor_for(run, task)
    remote: Any = executor if getattr(executor, "ship", None) is not None else None  # a RemoteExecutor
    if task.inject and remote is None:
        kwargs = {**run.injections(child, tuple(n for n in task.inject if n not in kwargs
                                               and task.positions[n] >= len(args))), **kwargs}
    with run.lock:
        run.outstanding.append(fut)
    ctx = contextvars.copy_context()
    ctx.run(enter_scope, child)
    if run.out.lc and scope.trace is None and remote is None:
        run.install_messages(ctx, child)
    call = TaskCall(run, child, task, args, kwargs, fut, ckey, scope.trace)
    call.remote = remote
    executor.submit(fut, call, ctx)
    return fut


def executor_for(run: RunHost, task: Any) -> Executor:
    """Where a call of ``task`` runs: its own ``executor=``, else its entrypoint's, else the run's plugs.

    A remote executor takes tasks of both flavours; any other one only tasks of its own flavour
    (the decorators check this), so an entrypoint-wide executor of the other flavour is passed over.
    """
    own = getattr(task, "executor", None)
    if own is not None:
        return own
    default = run.ctx.task_executor
    if default is not None and (run.ctx.task_executor_remote or default.runs_coroutines is task.is_async):
        return default
    return run.ctx.plugs.loop_executor if task.is_async else run.ctx.plugs.executor


class TaskCall:
    """The job of one task call, and the environment its pipeline runs in.

    Calling it runs :data:`TASK_PIPELINES` for the task's flavour -- attempt,
    record, retry under the task's policy, settle the future -- so sync and
    async tasks share every step. A sync job returns None; an async one
    returns the coroutine to run.
    """

    __slots__ = ("run", "child", "task", "args", "kwargs", "fut", "ckey", "started", "remote", "trace_parent")

    def __init__(self, run: RunHost, child: Scope, task: Any, args: tuple, kwargs: dict, fut: TaskFuture,
                 ckey: Any, trace_parent: Any = None) -> None:
        self.run, self.child, self.task, self.args, self.kwargs = run, child, task, args, kwargs
        self.fut, self.ckey, self.trace_parent = fut, ckey, trace_parent
        self.remote: RemoteExecutor | None = None  # set when the attempts are shipped to a cluster

    def __call__(self) -> Any:
        self.started = task_started(self.run, self.child, self.task, self.args, self.kwargs)
        if self.remote is not None:
            return REMOTE_PIPELINE.run(self)
        return TASK_PIPELINES[self.task.is_async].run(self)


def _begin(call: TaskCall) -> None:
    """Where the job starts running (in its own context): with ``config["callbacks"]``, the call becomes a
    child chain run of its caller's, and LangChain calls made in it nest below."""
    if call.trace_parent is not None:
        task = call.task
        run, child = call.run, call.child
        meta = {"langgraph_step": run.plan.step + 1, "langgraph_node": task.name,
                "langgraph_triggers": ("__pregel_push",),
                "langgraph_path": ("__pregel_push", ("__pregel_pull", run.ctx.wf.name), child.path, True),
                "langgraph_checkpoint_ns": f"{task.name}:{child.task_id}"}
        trace = child.trace = lc.start_child(call.trace_parent.children, task.name,
                                             lc.task_inputs(task.func, call.args, call.kwargs), ("seq:step:1",), meta)
        lc.bind(None, trace)
        if call.run.out.lc:
            call.run.install_messages(None, call.child)


def _attempt(call: TaskCall) -> Any:
    return call.task.func(*call.args, **call.kwargs)


async def _attempt_remote(call: TaskCall) -> Any:
    """One attempt shipped to the task's remote executor; its chunks and question land here, on the caller."""
    run, child, task = call.run, call.child, call.task
    answers, k = {}, 0
    while True:  # the answers recorded for this task's interrupt() calls, in call order
        iid = interrupt_id_for(run.plan.checkpoint_id, run.ctx.ns_str, child.path, k)
        if iid not in run.plan.resumes:
            break
        answers[k] = run.plan.resumes[iid]
        k += 1
    inject = tuple(n for n in task.inject if n not in call.kwargs and task.positions[n] >= len(call.args))
    shipment = remote.Shipment(task.name, task.func, call.args, call.kwargs, answers,
                               remote.plain_config(run.user_config(child)),
                               run.out.custom or run.root.timed, inject, child.task_id, child.attempt,
                               propagate.carrier_for(child.task_id), run.out.messages)
    assert call.remote is not None
    try:
        landed = await call.remote.ship(task.name, remote.run_shipped, (shipment,))
    except ExecutorLostError as exc:  # name the thread and checkpointer: the executor knows neither
        raise ExecutorLostError(f"thread {run.ctx.thread_id!r} (checkpointer {run.ctx.saver!r}): {exc}") from None
    except BaseException as exc:
        _landed_usage(child, remote.usage_of(exc))
        _landed_messages(run, child, remote.messages_of(exc))
        for chunk in remote.chunks_of(exc):
            run.stream_writer(chunk)
        raise
    _landed_usage(child, landed.usage)
    _landed_messages(run, child, landed.messages)
    for chunk in landed.chunks:
        run.stream_writer(chunk)
    if landed.interrupt is not None:  # recorded here exactly as a local interrupt() would be
        child.interrupts = landed.interrupt.index
        ask(run, child, landed.interrupt.value, landed.interrupt.response_schema)
    return landed.value


def _landed_usage(child: Scope, usage: tuple) -> None:
    """The model calls a remote attempt made join the task's, as a local attempt's would."""
    if usage:
        child.usage = [*(child.usage or ()), *usage]


def _landed_messages(run: RunHost, child: Scope, messages: tuple) -> None:
    """The tokens a remote attempt's chat models streamed, emitted now (when the attempt ends), in order."""
    if messages and run.out.messages:
        meta = run.message_meta(child)
        ns = run.ctx.ns
        for msg in messages:
            run.out.emit(ev.Message(ns, msg, meta))


def usage_rows(run: RunHost, child: Scope, task: Any, started: float, ended: float) -> list:
    """The usage row a task's model calls make (none without any), written with the task's own row."""
    if not child.usage or run.ctx.saver is None:
        return []
    return [run.rec.write(child.task_id, task.name, child.path, USAGE,
                          run.ctx.dumps([u.to_dict() for u in child.usage]), started, ended, "", child.wave)]


def _deadline(call: TaskCall) -> Deadline | None:
    policy = call.task.timeout
    if policy is None:
        return None
    call.child.progress = progress = Progress(call.run.ctx.plugs.clock, policy.refresh_on == "auto")
    call.run.root.timed = True
    return Deadline(call.task.name, policy.run_timeout, policy.idle_timeout, progress)


def _record(call: TaskCall, value: Any) -> Any:
    fut = call.fut
    if (fut.coroutine_job and not fut.commit()) or call.run.root.stopped:
        return value  # cancelled or stopped meanwhile: nothing is recorded, _settle drops the value
    return task_succeeded(call.run, call.child, call.task, call.args, value, call.started, call.ckey)


def _decide(call: TaskCall, exc: BaseException, failures: int) -> float | None:
    delay = retry_decision(call.task.retry_policies, exc, failures) if not call.run.root.stopped else None
    if delay is not None:
        child = call.child
        failed = (child.attempt, type(exc).__qualname__, str(exc)[:200], time.time())
        child.retries = [*(child.retries or ()), failed]  # told on the task's end (events, OTel span events)
        child.restart()  # the next attempt makes its calls and interrupts from the start
    return delay


def _clock(call: TaskCall) -> Clock:
    return call.run.ctx.plugs.clock


def _settle(call: TaskCall, get: Thunk[Any]) -> None:
    # The job ends here whatever happened: the future carries the value or the error.
    if call.child.watchers:
        call.child.progress = None
        call.child.auto_progress()  # a finished task is progress for the timed attempts that called it
    fut = call.fut
    try:
        value = get()
    except BaseException as exc:  # noqa: BLE001 - recorded, then raised to whoever waits on the future
        if fut.done() or call.run.root.stopped or (fut.coroutine_job and not fut.commit()):
            _dropped(call)
            return
        try:
            task_failed(call.run, call.child, call.task, call.args, exc, call.started)
        except BaseException as failed:  # noqa: BLE001 - recording it failed too (the saver is down, full...):
            fut.settle_exception(failed)  # that error reaches the caller, or its future would never settle
            return
        fut.settle_exception(exc)
        return
    if not fut.settle_result(value):
        _dropped(call)


def _dropped(call: TaskCall) -> None:
    """A task cancelled or stopped while it ran: no row is written; its stream row is closed with the reason."""
    run = call.run
    if call.child.trace is not None:
        call.child.trace.error(asyncio.CancelledError())
    if run.out.ends:
        fut = call.fut
        reason = asyncio.CancelledError() if fut.cancelled() else (fut.exception(0) if fut.done() else None)
        now = time.time()
        run.out.emit(ev.TaskEnd(run.ctx.ns, call.child.task_id, call.task.name, call.child.path, None,
                            reason or RunStopped("stopped"), (), False, False, call.started, now, run.plan.step + 1))


def _task_pipeline(F: Any) -> Outcome[None]:
    """One task call: attempt (within its timeout) → record the result → (retry on failure) → settle the future."""
    return F.call(_attempt).timeout(_deadline).map(_record).retry(_decide, _clock).then(_settle).first(_begin)


# Built once per flavour; every call runs one of them with its TaskCall as the environment.
TASK_PIPELINES: dict[bool, Outcome[None]] = {False: _task_pipeline(Immediate), True: _task_pipeline(Pending)}
# A task whose attempts run on a remote executor: the same steps, each attempt awaiting the cluster.
# Its result is recorded on a thread, not on the event loop: many remote tasks finishing together
# then share one saver commit (group commit) instead of blocking the loop one commit at a time.
_REMOTE_ATTEMPT: Outcome[Any] = Pending.call(_attempt_remote).timeout(_deadline)


async def _attempt_remote_and_record(call: TaskCall) -> Any:
    value = await _REMOTE_ATTEMPT.run(call)
    return await asyncio.to_thread(_record, call, value)


REMOTE_PIPELINE: Outcome[None] = Pending.call(_attempt_remote_and_record).retry(_decide, _clock).then(_settle)


def serve_recorded(run: RunHost, rec: Recorded, tid: str, name: str, path: str, args: Any, wave: int,
                   call: tuple | None = None) -> Any:
    """A task (or nested entrypoint) result served from the journal on replay: noted and announced."""
    value = rec.value(run.ctx.loads)
    now = time.time()
    if run.ctx.saver is not None:  # written in one batch when the attempt concludes
        run.rec.replayed.append(run.rec.write(tid, name, path, REPLAYED, b"null", now, now, summarize(args, 80), wave))
    if run.out.ends:
        run.out.emit(ev.TaskEnd(run.ctx.ns, tid, name, path, value, None, (), rec.kind == CACHED, True, now, now,
                                run.plan.step + 1,
                            call))
    return value


def cache_key(task: Any, args: tuple, kwargs: dict) -> tuple[tuple[str, ...], str]:
    key = task.cache_policy.key_func(*args, **kwargs)
    if isinstance(key, bytes):
        key = key.hex()
    return (("__nbflow_task__", task.name), str(key))


def call_digest(run: RunHost, args: Any, kwargs: dict) -> str:
    """The digest of a call's serialized arguments ("" without a saver, or when they cannot be serialized).

    It is taken over the plain (deterministic) serializer: an encrypting one wraps it (``.serde``) and
    gives the key that makes the stored digest reveal nothing (``digest_key``; no key, no comparison).
    """
    if run.ctx.saver is None:
        return ""
    serde, key = run.ctx.serde, b""
    if hasattr(serde, "cipher"):  # encrypted at rest
        key = getattr(serde, "digest_key", None) or b""
        if not key:
            return ""
        serde = serde.serde
    try:
        if not kwargs and type(args) is tuple and all(type(a) in _PLAIN for a in args):
            # The common case, plain scalars: their repr is exact and the same in every process,
            # so the serializer (and its limit checks) is skipped. The prefix keeps it apart.
            return args_digest(b"plain:" + repr(args).encode("utf-8", "surrogatepass"), key)
        ctx = run.ctx
        doc = values.digestible(ctx.saver, ctx.thread_id, ctx.ns_str, (args, kwargs), canonical)  # type: ignore[arg-type]
        if doc is not None:  # long lists digested by their items' piece hashes: a grown list costs its new items
            return "p" + args_digest(serde.dumps(canonical(doc)), key)[1:]
        return args_digest(serde.dumps(canonical((args, kwargs))), key)
    except Exception:  # noqa: BLE001 - arguments that cannot be stored are simply not compared
        return ""


_PLAIN = frozenset({str, int, float, bool, type(None)})


def cache_lookup(run: RunHost, key: Any, task: Any, tid: str, path: str, args: tuple, wave: int,
                 digest: str = "") -> TaskFuture | None:
    found = run.ctx.cache.get([key])
    if key not in found:
        return None
    payload = found[key]
    value = run.ctx.loads(payload)
    now = time.time()
    if run.ctx.saver is not None:
        run.rec.put([run.rec.write(tid, task.name, path, CACHED, payload, now, now,
                                  with_digest(summarize(args, 80), digest), wave)])
    run.plan.journal.record(tid, task.name, path, CACHED, payload, value, digest)
    if run.out.ends:
        run.out.emit(ev.TaskEnd(run.ctx.ns, tid, task.name, path, value, None, (), True, False, now, now,
                                run.plan.step + 1))
    return TaskFuture.completed(value)


def task_started(run: RunHost, child: Scope, task: Any, args: tuple, kwargs: dict) -> float:
    now = time.time()
    if run.out.starts:
        run.out.emit(ev.TaskStart(run.ctx.ns, child.task_id, task.name, child.path,
                              args[0] if len(args) == 1 and not kwargs else {"args": args, "kwargs": kwargs},
                              run.plan.step + 1, now, (args, kwargs)))
    return now


def task_succeeded(run: RunHost, child: Scope, task: Any, args: tuple, value: Any, started: float,
                   ckey: Any = None) -> Any:
    ended = time.time()
    payload = None
    if run.ctx.saver is not None or ckey is not None:
        try:
            payload = run.ctx.dumps(value)
        except SerializationError as e:
            where = future_in(value)
            if where is not None:
                raise SerializationError(
                    f"task {task.name!r} returned a task future (call .result() on it first)"
                    + ("" if where == "$" else f" inside its value, at {where}")
                    + ": a future is not a value and cannot be checkpointed"
                ) from e
            raise SerializationError(
                f"task {task.name!r} returned a {type(value).__module__}.{type(value).__qualname__} "
                f"that cannot be checkpointed: {e}"
            ) from e
    if run.ctx.saver is not None:
        row = run.rec.write(child.task_id, task.name, child.path, RESULT, payload,  # type: ignore[arg-type]
                            started, ended, with_digest(summarize(args, 80), child.digest), child.wave)
        run.rec.put([*usage_rows(run, child, task, started, ended), row] if child.usage else [row])
        run.plan.journal.record(child.task_id, task.name, child.path, RESULT, payload, value,  # type: ignore[arg-type]
                           child.digest)
    if ckey is not None:
        run.ctx.cache.set({ckey: (payload, task.cache_policy.ttl)})
    if child.trace is not None:
        child.trace.end(value)
    if run.out.ends:
        run.out.emit(ev.TaskEnd(run.ctx.ns, child.task_id, task.name, child.path, value, None, (), False, False,
                                started, ended, run.plan.step + 1, None, tuple(child.usage or ()), child.attempt,
                                tuple(child.retries or ())))
    return value


def future_in(value: Any, where: str = "$", depth: int = 0) -> str | None:
    """Where a task future sits in ``value`` (``"$"``, ``"$[0]"``, ``"$['k']"``), or None (a shallow scan)."""
    if isinstance(value, concurrent.futures.Future):
        return where
    if depth >= 4:
        return None
    items: Any = ()
    if isinstance(value, Mapping):
        items = ((f"{where}[{k!r}]", v) for k, v in value.items())
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    for at, v in items:
        found = future_in(v, at, depth + 1)
        if found is not None:
            return found
    return None


def task_failed(run: RunHost, child: Scope, task: Any, args: tuple, exc: BaseException, started: float) -> None:
    ended = time.time()
    interrupts: tuple = ()
    if isinstance(exc, GraphInterrupt):
        interrupts = exc.interrupts
        mine = []
        for intr in interrupts:
            rec = run.root.interrupts.get(intr.id, (None, None))[0]
            if rec is not None and rec.path == child.path:  # raised here, not by a sub-task
                mine.append(rec.to_dict())
        if run.ctx.saver is not None and (mine or child.usage):
            run.rec.put([*usage_rows(run, child, task, started, ended),
                         *([run.rec.write(child.task_id, task.name, child.path, INTERRUPT, run.ctx.dumps(mine),
                                          started, ended, summarize(args, 80), child.wave)] if mine else [])])
    elif run.ctx.saver is not None and not process_exiting():  # a failure of the exit itself is not recorded
        run.rec.put([*usage_rows(run, child, task, started, ended),
                     run.rec.write(child.task_id, task.name, child.path, ERROR, run.ctx.dumps(error_payload(exc)),
                                   started, ended, summarize(args, 80), child.wave)])
    if child.trace is not None:
        child.trace.error(exc)
    if run.out.ends:
        run.out.emit(ev.TaskEnd(run.ctx.ns, child.task_id, task.name, child.path, None,
                                None if interrupts else exc, interrupts, False, False, started, ended,
                                run.plan.step + 1, None, tuple(child.usage or ()), child.attempt,
                                tuple(child.retries or ())))


__all__ = ["call_task", "call_digest", "executor_for", "TaskCall", "TASK_PIPELINES", "REMOTE_PIPELINE", "ask",
           "serve_recorded", "error_payload", "retry_decision"]
