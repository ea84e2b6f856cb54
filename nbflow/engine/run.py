"""The run: one invocation of an entrypoint, from loading its checkpoint to the answer.

Design notes
------------
* A :class:`Run` is built by :meth:`Run.prepare`, which decides, from the
  thread's checkpoints and the input, what kind of invocation this is: a new
  input (a new ``input`` checkpoint), a resume (``Command(resume=...)``: the
  answers are journaled and the same checkpoint is replayed), a retry after
  an error (``None`` input on an unfinished checkpoint), or time travel
  (``checkpoint_id`` in the config: a ``fork`` copy of that checkpoint is
  replayed with an empty journal, so later tasks run again); the decision is
  :mod:`nbflow.engine.prepare`.
* The entrypoint body always runs from the top. Every task call goes through
  :mod:`nbflow.engine.steps` (journal → cache → executor with retries → record).
* An attempt ends when the body has returned or raised *and* every task it
  started has finished. All interrupts raised during the attempt, by any task
  running in parallel, are surfaced together.
* :data:`RUN_PIPELINES` is the whole invocation as one outcome
  (:mod:`nbflow.engine.outcome`); :meth:`execute_blocking` and
  :meth:`execute_async` only run it, from sync or async code.
* Events (:mod:`nbflow.events`) go to ``sink``, the only way out of a run; a
  top-level run also feeds the process-wide :mod:`nbflow.tap` when someone listens.
* Journal rows go to the saver through :mod:`nbflow.engine.journaling` (the
  ``durability`` modes): the run flushes them before each checkpoint and at its end.
* An entrypoint called inside the run is :mod:`nbflow.engine.nested`.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .. import events as ev
from .. import tap
from ..checkpoint import values
from ..checkpoint.base import BaseCheckpointSaver, CheckpointRecord, new_checkpoint_id
from ..checkpoint.leases import Lease, new_lease
from ..compat import lc
from ..config import (
    END,
    START,
    metadata_from_config,
    parse_config,
    result_channels,
    root_metadata_bytes,
    serializer_of,
    stored_metadata,
)
from ..errors import (
    GraphDrained,
    GraphInterrupt,
    RunStopped,
    SaverError,
    SerializationError,
)
from ..executors.base import Clock
from ..history.snapshots import checkpoint_view
from ..kinds import UNFINISHED_SOURCES, Durability, Position, RunStatus, Source, WriteKind
from ..replay import InterruptRecord, Journal, interrupt_id_for
from ..types import Interrupt, RunControl, final
from . import nested, prepare, steps
from .journaling import Direct, Journaling, journaling
from .nested import NestedCall
from .outcome import Deadline, Immediate, Outcome, Pending, Thunk, flavour, run_async, run_blocking
from .parts import Emitter, Ending, Plan, Recorder, RunContext
from .plugs import Plugs, current_plugs
from .running import RUNNING, process_exiting
from .scope import (
    ExecutionInfo,
    Progress,
    Runtime,
    Scope,
    TaskFuture,
    current_scope,
    enter_scope,
    leave_scope,
)

# The plan of a run not prepared yet: prepare() replaces it (a run is always prepared before it runs).
_UNPREPARED = Plan(None, "", -1, None, None, Journal(), "", {})

# What a run builds for the tap when somebody listens (token-level messages only when streamed).
TAP_MODES = ("tasks", "checkpoints", "custom")


# The stored (plain string) values, looked up once: an enum's .value costs a descriptor call.
DONE, INTERRUPTED = RunStatus.DONE.value, RunStatus.INTERRUPTED.value
INPUT, LOOP = Source.INPUT.value, Source.LOOP.value
ERROR, INTERRUPT, USAGE = WriteKind.ERROR.value, WriteKind.INTERRUPT.value, WriteKind.USAGE.value


class Run:
    """One invocation. Built by :meth:`prepare`, driven by :meth:`execute_blocking` / :meth:`execute_async`.

    It composes its parts (:mod:`nbflow.engine.parts`): ``ctx`` (what it works with), ``out`` (where
    its events go), ``rec`` (its journal rows) and, once prepared, ``plan`` (what it is). Its own
    state is what changes while it runs: the task futures it waits for, the interrupts raised, the
    stop flag. It is also the *code host* the scope's helpers call (``interrupt()``, task calls,
    ``get_config()``...), as :class:`~nbflow.engine.remote.RemoteRun` is on a cluster's worker.
    """

    def __init__(
        self,
        wf: Any,
        input: Any,
        config: Mapping[str, Any] | None,
        *,
        saver: BaseCheckpointSaver | None,
        context: Any = None,
        sink: Callable[[Any], None] | None = None,
        modes: tuple[str, ...] = (),
        parent: Run | None = None,
        ns: tuple[str, ...] = (),
        plugs: Plugs | None = None,
        control: RunControl | None = None,
        callbacks: Any = None,
        durability: Durability = Durability.SYNC,
    ) -> None:
        config = dict(config or {})
        target = parse_config(config, needs_thread=saver is not None, who=f"entrypoint {wf.name!r}")
        serde = serializer_of(saver)
        up: RunContext | None = parent.ctx if parent is not None else None
        # the entrypoint's executor= (tasks without their own); a nested entrypoint without one inherits it
        task_executor: Any = getattr(wf, "executor", None) or (up.task_executor if up is not None else None)
        self.ctx: RunContext = RunContext(
            wf, config, target, target.thread_id, saver, serde, serde.dumps, serde.loads, ns, "|".join(ns),
            wf.store if wf.store is not None or up is None else up.store,
            wf.cache if wf.cache is not None or up is None else up.cache,
            context,
            plugs or (up.plugs if up is not None else current_plugs()),
            task_executor,
            # takes tasks of both flavours; duck-typed as in steps.call_task, since isinstance() on a
            # runtime-checkable Protocol re-reads the protocol's attributes on every call (~10 µs an invoke)
            getattr(task_executor, "ship", None) is not None,
            control if control is not None or up is None else up.control,
            # replayed calls must have the arguments they were recorded with, unless an entrypoint opted out
            getattr(wf, "check_args", True) and (up is None or up.check_args),
            # (root) what the config adds to every checkpoint's metadata (LangGraph's rule)
            metadata_from_config(config) if parent is None else {},
        )
        ctx = self.ctx
        self.raw_input = input
        self.parent = parent
        self.root: Run = parent.root if parent is not None else self
        # how this invocation's journal rows reach the saver; nested runs write through the root's
        self.rec = Recorder(ctx.thread_id, ctx.ns_str,
                            None if saver is None else parent.root.journaling_for(saver) if parent is not None
                            else journaling(saver, durability))
        if parent is None and lc.available():
            lc.ensure_usage_hook()  # model calls made in the run are recorded with their task attempts
        if parent is None and tap.listening():  # the process-wide tap hears every top-level run
            sink = tap.run_sink(saver, ctx.thread_id, wf.name, sink)
            modes = (*modes, *TAP_MODES, *(("messages",) if tap.wants_messages() else ()))
        self.out = Emitter(sink, modes)
        self.lock = threading.Lock()
        self.outstanding: list[TaskFuture] = []
        self.interrupts: dict[str, tuple[InterruptRecord, Interrupt]] = {}
        self.callbacks = callbacks  # LangChain callback manager the body's chain run starts under (config["callbacks"])
        self.body_trace: Any = None
        self._user_config: dict | None = None
        self.progress: Progress | None = None  # the current body attempt's, when the entrypoint has a timeout
        self.timed = False  # (root) some attempt of this run has a timeout: stream chunks count as progress
        self.stopped = False  # (root) Workflow.stop() asked this invocation to stop
        self.runs: list[Run] = [self]  # (root) this run and the nested runs it started, for stop()
        self.entry_cached = False  # the body's result came from the cache
        self.body_usage: list = []  # model calls the body's attempts made in their own code (not in tasks)
        self.stream_writer: Callable[[Any], None] = self._write_custom
        self.plan: Plan = _UNPREPARED
        self.lease_written: Lease | None = None  # (root) written with the input checkpoint (leases.KEEPER.hold)

    @property
    def store(self) -> Any:
        """The long-term store (``get_store()``)."""
        return self.ctx.store

    # ------------------------------------------------------------------ prepare
    def prepare(self) -> Run:
        """Load the thread and decide what this invocation does (:func:`nbflow.engine.prepare.prepare`)."""
        try:
            self.plan = plan = prepare.prepare(self)
        except SaverError as e:
            if self.parent is not None:
                raise
            raise self._saver_fault(e, started=False) from e
        self.rec.checkpoint_id = plan.checkpoint_id
        return self

    def _saver_fault(self, e: SaverError, started: bool = True) -> SaverError:
        """``e`` (the saver failed under this run), saying where the run stopped and how it continues."""
        if getattr(e, "nbflow_run_noted", False):
            return e
        ctx = self.ctx
        where = f"the run of {ctx.wf.name!r} on thread {ctx.thread_id!r}"
        if not started:
            note = f"{where} did not start: nothing of it ran"
        else:
            done = sorted(r.path for r in self.plan.journal.results.values() if r.path)
            n = len(done)
            last = f" (the last at call position {max(done, key=Position.key)})" if done else ""
            kept = ("committed" if isinstance(self.rec.journaling, Direct)
                    else "handed to the saver (the last few may not be committed yet)")
            note = (f"{where} stopped after {n} finished task{'s' if n != 1 else ''}{last}, each {kept}; "
                    f"`invoke(None, config)` continues from there once the checkpointer works again")
        out = type(e)(f"{e}\n{note}")
        out.nbflow_run_noted = True  # type: ignore[attr-defined]
        return out

    # ------------------------------------------------------------------ storage
    def journaling_for(self, saver: BaseCheckpointSaver) -> Journaling:
        """(root) The journaling a nested run writing to ``saver`` uses: this run's when it is the same saver."""
        if saver is self.ctx.saver and self.rec.journaling is not None:
            return self.rec.journaling
        return journaling(saver, Durability.SYNC)

    def put_checkpoint(self, source: str, step: int, parent_id: str | None, channels: dict,
                       extra: dict | None = None) -> CheckpointRecord:
        """Write a checkpoint of this run's thread and namespace, after every journal row before it."""
        ctx = self.ctx
        saver = ctx.saver
        assert saver is not None
        meta_blob = None
        if not extra and self.parent is None:
            meta_blob = root_metadata_bytes(ctx.serde, source, step, ctx.config_metadata, ctx.wf.name)
        meta: dict = {}
        if meta_blob is None or self.out.checkpoints:
            meta = {"source": source, "step": step, "parents": self._parents()}
            if extra:
                meta.update(extra)
            stored_metadata(meta, self.root.ctx.config_metadata, ctx.wf.name)
        try:
            dumped = values.dump(saver, ctx.thread_id, ctx.ns_str, channels)  # type: ignore[arg-type]
        except SerializationError as e:
            what = "input" if source == INPUT else "return value"
            where = steps.future_in(channels.get(START if source == INPUT else END))
            if where is not None:
                raise SerializationError(
                    f"the {what} of entrypoint {ctx.wf.name!r} is or holds a task future (call .result() on it "
                    "first)" + ("" if where == "$" else f", at {where}") + "; a future is not a value and cannot "
                    "be checkpointed"
                ) from e
            raise SerializationError(
                f"the {what} of entrypoint {ctx.wf.name!r} cannot be checkpointed: {e}"
            ) from e
        rec = CheckpointRecord(ctx.thread_id, ctx.ns_str, new_checkpoint_id(), parent_id,  # type: ignore[arg-type]
                               time.time(), step, source, dumped.blob, meta_blob or ctx.dumps(meta), dumped.pieces)
        self.rec.flush()  # a checkpoint is written after every row before it
        if source == INPUT and self.parent is None and saver.leases_shared and ctx.thread_id is not None:
            # a new invocation's input and its lease (who runs it) in one write: never one without the other
            lease = new_lease(ctx.thread_id, ctx.ns_str)
            saver.put_checkpoint_and_lease(rec, lease)
            self.lease_written = lease
        else:
            saver.put_checkpoint(rec)
        values.adopt(saver, rec, dumped)
        if self.out.checkpoints:
            self._emit_checkpoint(rec, channels, meta)
        return rec

    def _parents(self) -> dict:
        if self.parent is None:
            return {}
        return {**self.parent._parents(), self.parent.ctx.ns_str: self.parent.plan.checkpoint_id}

    def _emit_checkpoint(self, rec: CheckpointRecord, channels: dict, meta: dict) -> None:
        pending = self.plan.journal.pending if rec.source in UNFINISHED_SOURCES else ()
        view = checkpoint_view(self.ctx.wf.name, rec, channels, meta, pending)
        self.out.emit(ev.CheckpointSaved(self.ctx.ns, view.config, view.parent_config, view.values,
                                         view.metadata or {}, view.next, view.tasks, rec.step, rec.created_at))

    # ------------------------------------------------------------------ run-scoped helpers
    def user_config(self, scope: Scope | None = None) -> dict:
        if self._user_config is None:
            conf = dict(self.ctx.config.get("configurable") or {})
            conf.update(checkpoint_ns=self.ctx.ns_str, checkpoint_id=self.plan.checkpoint_id)
            if self.ctx.thread_id is not None:
                conf["thread_id"] = self.ctx.thread_id
            self._user_config = {**self.ctx.config, "configurable": conf}
        return self._user_config

    def runtime_for(self, scope: Scope) -> Runtime:
        info = ExecutionInfo(self.ctx.thread_id, self.plan.checkpoint_id, self.ctx.ns_str, scope.task_id, scope.name)
        return Runtime(self.ctx.context, self.ctx.store, self.stream_writer, self.plan.previous, info, scope.heartbeat,
                       self.ctx.control)

    def ask(self, scope: Scope, value: Any, response_schema: Any) -> Any:
        """``nbflow.interrupt()`` called by the code running in ``scope``: its answer, or a pause."""
        return steps.ask(self, scope, value, response_schema)

    def call_task(self, scope: Scope, task: Any, args: tuple, kwargs: dict) -> TaskFuture:
        """A ``@task`` called by the code running in ``scope``."""
        return steps.call_task(self, scope, task, args, kwargs)

    def install_messages(self, ctx: contextvars.Context | None, scope: Scope) -> Any:
        """The ``messages`` / ``tools`` handlers for the code of ``scope`` running in ``ctx`` (or here)."""
        if not lc.available():
            return None
        meta = self.message_meta(scope)
        ns = self.ctx.ns
        emit = self.out.emit
        return lc.install(ctx, (lambda msg, m: emit(ev.Message(ns, msg, m))) if self.out.messages else None, meta,
                          (lambda payload: emit(ev.Tool(ns, payload))) if self.out.tools else None)

    def message_meta(self, scope: Scope) -> dict:
        """The metadata of the ``messages`` chunks the code of ``scope`` streams (LangGraph's keys)."""
        c = self.ctx
        return {"langgraph_step": self.plan.step, "langgraph_node": scope.name,
                "langgraph_triggers": ("__pregel_push",),
                "langgraph_path": ("__pregel_push", scope.path) if scope.path else ("__pregel_pull", scope.name),
                "langgraph_checkpoint_ns": c.ns_str, "checkpoint_ns": c.ns_str, "thread_id": c.thread_id,
                "nbflow_task_id": scope.task_id}

    def _write_custom(self, chunk: Any) -> None:
        if self.root.timed:
            scope = current_scope()
            if scope is not None:
                scope.auto_progress()
        if self.out.custom:
            self.out.emit(ev.Custom(self.ctx.ns, chunk))

    def injections(self, scope: Scope, names: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in names:
            if n == "config":
                out[n] = self.user_config(scope)
            elif n == "previous":
                out[n] = self.plan.previous
            elif n == "runtime":
                out[n] = self.runtime_for(scope)
            elif n == "store":
                out[n] = self.ctx.store
            elif n == "writer":
                out[n] = self.stream_writer
        return out

    # ------------------------------------------------------------------ the entrypoint body
    @contextlib.contextmanager
    def _body_scope(self) -> Iterator[Scope]:
        """The entrypoint body's scope for one attempt (and the messages bridge, when streamed)."""
        scope = Scope(self, "", self.plan.root_task_id, self.ctx.wf.name)
        scope.progress = self.progress
        token = enter_scope(scope)
        cb_token = None
        if self.callbacks is not None:
            if self.body_trace is None:
                step, name = self.plan.step + 1, self.ctx.wf.name
                self.body_trace = lc.start_child(self.callbacks, name, self.plan.input, (f"graph:step:{step}",), {
                    "langgraph_step": step, "langgraph_node": name, "langgraph_triggers": ("__start__",),
                    "langgraph_path": ("__pregel_pull", name),
                    "langgraph_checkpoint_ns": f"{name}:{self.plan.root_task_id}"})
            scope.trace = self.body_trace
            cb_token = lc.bind(None, self.body_trace)
        lc_token = self.install_messages(None, scope) if self.out.lc else None
        try:
            yield scope
        finally:
            if scope.usage:  # every attempt of the body counts (a resume runs it again, and pays again)
                self.body_usage.extend(scope.usage)
            if lc_token is not None:
                lc.reset(lc_token)
            if cb_token is not None:
                lc.reset(cb_token)
            leave_scope(token)

    def _call_body(self, scope: Scope) -> Any:
        if self.plan.entry_key is not None:
            found = self.ctx.cache.get([self.plan.entry_key])
            if self.plan.entry_key in found:
                self.entry_cached = True
                value = self.ctx.loads(found[self.plan.entry_key])
                return _ready(value) if self.ctx.wf.is_async else value
        wf = self.ctx.wf
        result = wf.func(self.plan.input, **(self.injections(scope, wf.inject) if wf.inject else {}))
        if scope.trace is None:
            return result
        return _traced_body(scope.trace, result) if self.ctx.wf.is_async else _end_trace(scope.trace, result)

    def _unsettled(self) -> list[TaskFuture]:
        with self.lock:
            pending = [f for f in self.outstanding if not f.done()]
            if not pending:
                self.outstanding.clear()
            return pending

    def _announce(self) -> None:
        control = self.ctx.control
        if control is not None and control.drain_requested and self.parent is None:
            raise GraphDrained(control.drain_reason or "shutdown")  # before the body: the input stays pending
        if self.parent is None and self.ctx.thread_id is not None:
            RUNNING.add(self)
        if self.out.sink is not None:
            if self.plan.resuming and self.out.checkpoints and self.plan.checkpoint is not None:
                rec = self.plan.checkpoint  # LangGraph shows the checkpoint a resumed invocation continues from
                self._emit_checkpoint(rec, values.load(self.ctx.saver, rec),  # type: ignore[arg-type]
                                     self.ctx.loads(rec.metadata))
            ctx, plan = self.ctx, self.plan
            self.out.sink(ev.RunStart(ctx.ns, ctx.wf.name, ctx.thread_id, plan.input, plan.resuming,
                                      task_id=plan.root_task_id, step=plan.step + 1, answers=plan.answers,
                                      checkpoint_id=plan.checkpoint_id))

    def stop(self) -> bool:
        """Stop this invocation (from any thread); False if it had already ended or been stopped.

        Every task it is waiting for is finished at once with :class:`RunStopped`: an async task is
        cancelled, a sync task that has not started never does, a running sync task is abandoned
        (its late result is dropped). The body stops at its next task call or wait; what finished
        stays checkpointed, so ``invoke(None, config)`` continues from there. A sync task that the
        waiting thread runs itself (``t(x).result()`` straight after the call claims it inline)
        cannot be abandoned by that thread: the stop takes effect when it returns.
        """
        root = self.root
        with root.lock:
            if root.stopped:
                return False
            root.stopped = True
            runs = list(root.runs)
        for run in runs:
            with run.lock:
                futures = list(run.outstanding)
            for fut in futures:
                fut.halt(RunStopped(f"the invocation of {root.ctx.wf.name!r} on thread {root.ctx.thread_id!r} was "
                                    "stopped while this task ran; continue it with invoke(None, config)"))
        return True

    def _decide(self, exc: BaseException, failures: int) -> float | None:
        if self.root.interrupts or self.root.stopped:
            return None
        return steps.retry_decision(self.ctx.wf.retry_policies, exc, failures)

    def _clock(self) -> Clock:
        return self.ctx.plugs.clock

    def _deadline(self) -> Deadline | None:
        policy = self.ctx.wf.timeout
        if policy is None:
            return None
        self.progress = progress = Progress(self.ctx.plugs.clock, policy.refresh_on == "auto")
        self.root.timed = True
        return Deadline(self.ctx.wf.name, policy.run_timeout, policy.idle_timeout, progress)

    def work(self) -> Outcome[Ending]:
        """The whole invocation as one outcome, to run with this run as its environment."""
        if self.plan.finished is not None:
            return flavour(self.ctx.wf.is_async).value(self.plan.finished)
        return RUN_PIPELINES[self.ctx.wf.is_async]

    def execute_blocking(self) -> Ending:
        """Run to completion from sync code, whatever the entrypoint's flavour."""
        return run_blocking(self.work(), self)

    async def execute_async(self) -> Ending:
        """Run to completion from async code, whatever the entrypoint's flavour."""
        return await run_async(self.work(), self)

    # ------------------------------------------------------------------ conclusion
    def _conclude(self, get: Thunk[Any]) -> Ending:
        if self.parent is not None or self.rec.journaling is None:
            return self._conclude_with(get)
        try:
            try:
                ending = self._conclude_with(get)
            except BaseException:
                self.rec.flush()  # a failure of the flush itself is raised instead, chained to this one
                raise
            self.rec.flush()
        except SaverError as e:
            raise self._saver_fault(e) from e
        return ending

    def _conclude_with(self, get: Thunk[Any]) -> Ending:
        try:
            result, exc = get(), None
        except BaseException as e:  # noqa: BLE001 - recorded below, then raised again
            result, exc = None, e
        if self.parent is None:
            RUNNING.discard(self)
        if exc is not None and process_exiting():
            # The process is exiting under the run (a kernel shut down mid-run): the code did not fail. Nothing
            # is recorded, so the run reads "stopped without finishing" once the process is gone (Continue).
            raise exc
        if self.body_trace is not None and exc is not None and not self.body_trace.ended:
            self.body_trace.error(exc)
        wf = self.ctx.wf
        self.rec.put_replayed()
        usage = tuple(self.body_usage)
        if usage and self.ctx.saver is not None:  # the body's own model calls, as a usage row of its task id
            self.rec.put([self.rec.write(self.plan.root_task_id, wf.name, "", USAGE,
                                         self.ctx.dumps([u.to_dict() for u in usage]))])
        if exc is not None and self.root.stopped:
            return self._stopped(exc)
        if isinstance(exc, GraphInterrupt) and not self.root.interrupts:
            # raised by user code directly (e.g. NodeInterrupt): register what it carries
            for i, intr in enumerate(exc.interrupts or (Interrupt(None, ""),)):
                iid = getattr(intr, "id", "") or interrupt_id_for(self.plan.checkpoint_id, self.ctx.ns_str, "~", i)
                value = getattr(intr, "value", intr)
                self.root.interrupts[iid] = (InterruptRecord(iid, value, "", wf.name), Interrupt(value, iid))
        if self.parent is not None:
            # A nested run hands interrupts and errors to its parent, which records them.
            if self.root.interrupts or isinstance(exc, GraphInterrupt):
                return Ending(INTERRUPTED, None, tuple(i for _, i in self.root.interrupts.values()))
            if exc is not None:
                raise exc
        else:
            if self.interrupts:
                items = sorted(self.interrupts.values(), key=lambda ri: (Position.key(ri[0].path), ri[0].id))
                if self.ctx.saver is not None:
                    # stamped with when the run began to wait: a view's waiting time is read from the record
                    self.rec.put([self.rec.write(self.plan.root_task_id, wf.name, "", INTERRUPT,
                                                self.ctx.dumps([r.to_dict() for r, _ in items]),
                                                ended=time.time())])
                intrs = tuple(i for _, i in items)
                if exc is not None and not isinstance(exc, GraphInterrupt):
                    self._record_error(exc)
                    raise exc
                if self.out.sink is not None:
                    self.out.sink(ev.RunInterrupted(self.ctx.ns, wf.name, intrs, task_id=self.plan.root_task_id,
                                                    step=self.plan.step + 1, usage=usage))
                return Ending(INTERRUPTED, None, intrs)
            if exc is not None:
                self._record_error(exc)
                raise exc
        value, save = (result.value, result.save) if isinstance(result, final) else (result, result)
        if self.plan.entry_key is not None and not self.entry_cached:
            try:
                self.ctx.cache.set({self.plan.entry_key: (self.ctx.dumps(value), self.ctx.wf.cache_policy.ttl)})
            except SerializationError:
                pass  # not cacheable: the checkpoint below says why, if it cannot be stored either
        if self.out.starts:
            self.out.sink(ev.BodyEnd(self.ctx.ns, wf.name, self.plan.root_task_id, self.plan.step + 1, value))  # type: ignore[misc]
        if self.ctx.saver is not None:
            self.put_checkpoint(LOOP, self.plan.step + 1, self.plan.checkpoint_id, result_channels(value, save))
        if self.out.sink is not None:
            self.out.sink(ev.RunEnd(self.ctx.ns, wf.name, value, usage=usage))
        return Ending(DONE, value)

    def _stopped(self, exc: BaseException) -> Ending:
        """Conclude a stopped invocation: note it (not as a failure of the code) and raise :class:`RunStopped`."""
        if self.parent is not None:  # the parent run concludes the stop
            raise exc
        if self.ctx.saver is not None:
            self.rec.put([
                self.rec.write(self.plan.root_task_id, self.ctx.wf.name, "", INTERRUPT, self.ctx.dumps([])),
                self.rec.write(self.plan.root_task_id, self.ctx.wf.name, "", ERROR,
                           self.ctx.dumps({"type": "RunStopped", "message": "stopped by Workflow.stop()"})),
            ])
        if self.out.sink is not None:
            self.out.sink(ev.RunHalted(self.ctx.ns, self.ctx.wf.name))
        if isinstance(exc, RunStopped):
            raise exc
        raise RunStopped(f"the invocation of {self.ctx.wf.name!r} on thread {self.ctx.thread_id!r} was stopped; "
                         "continue it with invoke(None, config)") from exc

    def _record_error(self, exc: BaseException) -> None:
        if self.ctx.saver is not None:
            self.rec.put([
                self.rec.write(self.plan.root_task_id, self.ctx.wf.name, "", INTERRUPT, self.ctx.dumps([])),
                self.rec.write(self.plan.root_task_id, self.ctx.wf.name, "", ERROR,
                           self.ctx.dumps(steps.error_payload(exc))),
            ])
        if self.out.sink is not None:
            self.out.sink(ev.RunError(self.ctx.ns, self.ctx.wf.name, exc, task_id=self.plan.root_task_id,
                                      step=self.plan.step + 1, usage=tuple(self.body_usage)))

    # ------------------------------------------------------------------ nested entrypoints
    def spawn(self, wf: Any, input: Any, *, saver: BaseCheckpointSaver | None, context: Any,
              ns: tuple[str, ...], callbacks: Any) -> Run:
        """A prepared run of entrypoint ``wf`` called inside this one, on this run's thread."""
        ctx = self.ctx
        config = {"configurable": {"thread_id": ctx.thread_id}} if ctx.thread_id else None
        child = Run(wf, input, config, saver=saver, context=context, sink=self.out.sink, modes=tuple(self.out.modes),
                    parent=self, ns=ns, callbacks=callbacks)
        with self.root.lock:
            self.root.runs.append(child)
        return child.prepare()

    def nested_run(self, scope: Scope, wf: Any, input: Any, context: Any) -> NestedCall:
        """Begin an entrypoint invoked inside this run (see :mod:`nbflow.engine.nested`)."""
        return nested.begin(self, scope, wf, input, context)


async def _ready(value: Any) -> Any:
    return value


def _end_trace(trace: lc.Trace, result: Any) -> Any:
    """The entrypoint body returned: its chain run streams and ends with the value (sync bodies)."""
    if isinstance(result, TaskFuture):
        result = result.result()
    trace.end(result.value if isinstance(result, final) else result)
    return result


async def _traced_body(trace: lc.Trace, body: Any) -> Any:
    """An async body whose chain run streams its value, then ends through the async callback manager."""
    result = await body
    if isinstance(result, TaskFuture):
        result = await result
    value = result.value if isinstance(result, final) else result
    trace.stream(value)
    await trace.aend_child(value)
    return result


def _run_pipeline(F: Any) -> Outcome[Ending]:
    """One invocation: announce it; attempts of the body, each ending once all its tasks have
    finished, under the entrypoint's retry policy; the conclusion."""
    attempt = (F.call(Run._call_body, unwrap=True, within=Run._body_scope).timeout(Run._deadline)
               .ensure(F.settle_all(Run._unsettled)))
    return attempt.retry(Run._decide, Run._clock).then(Run._conclude).first(Run._announce)


# Built once per flavour; every invocation runs one of them with its Run as the environment.
RUN_PIPELINES: dict[bool, Outcome[Ending]] = {False: _run_pipeline(Immediate), True: _run_pipeline(Pending)}


__all__ = ["Run", "Ending", "NestedCall", "TAP_MODES", "RUN_PIPELINES"]
