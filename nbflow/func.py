"""``@task`` and ``@entrypoint``: the user-facing decorators and the workflow object.

``@entrypoint(...)`` turns a function into a :class:`Workflow` with
LangGraph's surface (``invoke``/``ainvoke``/``stream``/``astream``,
``get_state``/``get_state_history``/``update_state``). Each call builds a
:class:`~nbflow.engine.run.Run`; this module only translates between the public
signatures and the engine (inputs in, outcomes and stream chunks out), and
hands history questions to :mod:`nbflow.history`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, Generic, TypeVar

from . import events as ev
from . import tap
from .checkpoint.base import BaseCheckpointSaver
from .checkpoint.leases import liveness_of
from .compat import jsonschemas, lc, shapes
from .compat.deprecations import warn_renamed_argument
from .config import INJECTABLE, MISSING, parse_config
from .engine import drive
from .engine.run import Ending, Run
from .engine.running import running_on
from .engine.scope import ContextT, current_scope
from .errors import CheckpointerRequiredError, TaskContextError
from .executors.base import Executor, RemoteExecutor
from .history import edits, reads
from .kinds import Durability
from .policies import (
    CachePolicy,
    RetryPolicy,
    TimeoutPolicy,
    coerce_timeout,
    normalize_retry,
    sync_timeout_unsupported,
)
from .types import RunControl, final

R = TypeVar("R")
S = TypeVar("S")
INTERRUPT_KEY = ev.INTERRUPT_KEY


def _callable_name(func: Any) -> str:
    while isinstance(func, functools.partial):
        func = func.func
    name = getattr(func, "__name__", None)
    if isinstance(name, str):
        return name
    return type(func).__name__


def _injectable_params(func: Any, skip_first: bool) -> tuple[tuple[str, ...], dict[str, float]]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return (), {}
    if skip_first and params:
        params = params[1:]
    names, positions = [], {}
    for i, p in enumerate(params):
        if p.name in INJECTABLE and p.kind is not inspect.Parameter.VAR_KEYWORD:
            names.append(p.name)
            keyword_only = p.kind is inspect.Parameter.KEYWORD_ONLY
            positions[p.name] = float("inf") if keyword_only else i
    return tuple(names), positions


def _pop_deprecated(kwargs: dict, old: str, new: str, current: Any, since: str) -> Any:
    if old in kwargs:
        warn_renamed_argument(old, new, since)  # LangGraph's warning class and message
        value = kwargs.pop(old)
        return current if current is not None else value
    return current


def _no_extra(kwargs: dict, who: str) -> None:
    if kwargs:
        raise TypeError(f"{who} got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")


def check_executor(executor: Any, who: str, is_async: bool | None) -> Executor | None:
    """``executor=`` of a task (of the given flavour) or an entrypoint (``is_async`` None), checked."""
    if executor is None:
        return None
    if not isinstance(executor, Executor):
        raise TypeError(f"executor= of {who} must be an nbflow executor such as DaskExecutor(client), "
                        f"got {type(executor).__module__}.{type(executor).__qualname__}")
    if is_async is not None and not isinstance(executor, RemoteExecutor) and executor.runs_coroutines is not is_async:
        kind, want = ("an async", "EventLoopExecutor()") if is_async else ("a sync", "LocalExecutor()")
        raise TypeError(f"{who} is {kind} function, but {executor!r} runs "
                        f"{'coroutines' if executor.runs_coroutines else 'sync jobs'}: use {want} "
                        "or a remote executor such as DaskExecutor(client)")
    return executor


class TaskFunction(Generic[R]):
    """A function decorated with ``@task``. Calling it inside a run returns a future."""

    def __init__(self, func: Callable[..., Any], *, name: str | None = None,
                 retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
                 cache_policy: CachePolicy | None = None,
                 timeout: float | timedelta | TimeoutPolicy | None = None,
                 executor: Executor | None = None, check_args: bool = True) -> None:
        self.func = func
        self.name = name or _callable_name(func)
        self.check_args = bool(check_args)
        self.retry_policies = normalize_retry(retry_policy)
        self.cache_policy = cache_policy
        is_callable_object = (not inspect.isroutine(func) and not isinstance(func, functools.partial)
                              and callable(func) and not inspect.isclass(func))
        target = func.__call__ if is_callable_object else func  # type: ignore[operator]
        self.is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(target)
        self.executor = check_executor(executor, f"task {self.name!r}", self.is_async)
        self.timeout = coerce_timeout(timeout, f"task {self.name!r}")
        if self.timeout is not None and not self.is_async and not isinstance(executor, RemoteExecutor):
            raise sync_timeout_unsupported(self.name, "Task")
        inject, positions = _injectable_params(func, skip_first=False)
        self.inject = tuple(n for n in inject if n != "previous")
        self.positions = positions
        try:
            functools.update_wrapper(self, func)
        except AttributeError:  # pragma: no cover - exotic callables
            pass

    def __call__(self, *args: Any, **kwargs: Any):
        scope = current_scope()
        if scope is None:
            raise TaskContextError(
                f"task {self.name!r} was called outside a workflow. Tasks only run inside an "
                "@entrypoint function (or another @task): call it from there, or call the plain "
                f"function via {self.name}.func(...) if you want to run it directly."
            )
        return scope.run.call_task(scope, self, args, kwargs)

    def clear_cache(self, cache: Any) -> None:
        """Forget every cached result of this task in ``cache``."""
        cache.clear([("__nbflow_task__", self.name)])

    async def aclear_cache(self, cache: Any) -> None:
        self.clear_cache(cache)

    def __repr__(self) -> str:
        return f"<nbflow task {self.name!r}>"


def task(__func_or_none__: Callable[..., Any] | None = None, *, name: str | None = None,
         retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
         cache_policy: CachePolicy | None = None, timeout: float | timedelta | TimeoutPolicy | None = None,
         executor: Executor | None = None, check_args: bool = True, **kwargs: Any):
    """Decorate a function as a task (``@task`` or ``@task(name=..., retry_policy=..., cache_policy=...)``).

    ``timeout`` (async tasks only) limits each attempt: seconds or a ``timedelta`` (a run timeout), or a
    :class:`TimeoutPolicy`; a timed-out attempt raises :class:`NodeTimeoutError` and the retry policy decides.
    ``executor`` chooses where the task's calls run (e.g. ``DaskExecutor(client)``), overriding the
    entrypoint's ``executor=``; a remote executor also lets a sync task have a ``timeout``.

    ``check_args`` (nbflow's own): when a resumed or retried invocation replays this call, its arguments
    must be the recorded ones (compared by a digest of their serialized form), else
    :class:`NonDeterminismError`. Pass ``check_args=False`` for arguments that may legitimately change
    between attempts (the recorded result is then reused whatever they are, as LangGraph does).
    """
    retry_policy = _pop_deprecated(kwargs, "retry", "retry_policy", retry_policy, "0.5")
    _no_extra(kwargs, "task()")
    coerce_timeout(timeout, "task()")  # validated now, before the function is even seen

    def decorate(func: Callable[..., Any]) -> TaskFunction:
        return TaskFunction(func, name=name, retry_policy=retry_policy, cache_policy=cache_policy, timeout=timeout,
                            executor=executor, check_args=check_args)

    if __func_or_none__ is not None:
        return decorate(__func_or_none__)
    return decorate


class entrypoint(Generic[ContextT]):
    """Decorator that turns a function into a durable workflow (:class:`Workflow`).

    ``check_args=False`` turns off, for every task (and nested entrypoint) this workflow calls, the
    replay check that a call's arguments are the recorded ones (see :func:`task`).
    """

    final = final  # entrypoint.final(value, save): return value, save another as the next `previous`

    def __init__(self, checkpointer: BaseCheckpointSaver | None = None, store: Any = None,
                 cache: Any = None, context_schema: type | None = None,
                 cache_policy: CachePolicy | None = None,
                 retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
                 timeout: float | timedelta | TimeoutPolicy | None = None, executor: Executor | None = None,
                 check_args: bool = True,
                 **kwargs: Any) -> None:
        context_schema = _pop_deprecated(kwargs, "config_schema", "context_schema", context_schema, "0.6")
        retry_policy = _pop_deprecated(kwargs, "retry", "retry_policy", retry_policy, "0.5")
        _no_extra(kwargs, "entrypoint()")
        self.timeout = coerce_timeout(timeout, "entrypoint()")
        if checkpointer is not None and not isinstance(checkpointer, BaseCheckpointSaver):
            raise TypeError(
                f"checkpointer must be an nbflow saver such as InMemorySaver() or SqliteSaver(path), "
                f"got {type(checkpointer).__module__}.{type(checkpointer).__qualname__}"
            )
        self.checkpointer = checkpointer
        self.executor = check_executor(executor, "entrypoint()", None)
        self.store = store
        self.cache = cache
        self.context_schema = context_schema
        self.cache_policy = cache_policy
        self.retry_policy = retry_policy
        self.check_args = bool(check_args)

    def __call__(self, func: Callable[..., Any]) -> Workflow:
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise NotImplementedError(
                f"@entrypoint cannot decorate the generator function {_callable_name(func)!r}. "
                "Return a value instead, and emit intermediate data with get_stream_writer() "
                "and stream_mode='custom'."
            )
        if self.timeout is not None and not inspect.iscoroutinefunction(func):
            raise sync_timeout_unsupported(_callable_name(func), "Node")
        return Workflow(func, self)


class Workflow:
    """What ``@entrypoint`` returns: invoke it, stream it, inspect and edit its threads."""

    def __init__(self, func: Callable[..., Any], spec: entrypoint) -> None:
        self.func = func
        self.name = _callable_name(func)
        self.checkpointer = spec.checkpointer
        self.executor = spec.executor  # the default executor of the tasks it calls (see engine.steps.executor_for)
        self.store = spec.store
        self.cache = spec.cache
        self.context_schema = spec.context_schema
        self.cache_policy = spec.cache_policy
        self.retry_policies = normalize_retry(spec.retry_policy)
        self.timeout = spec.timeout
        self.check_args = spec.check_args
        self.is_async = inspect.iscoroutinefunction(func)
        try:
            params = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):
            params = [None]  # type: ignore[list-item]
        if not params:
            raise TypeError(
                f"@entrypoint function {self.name!r} must take one positional parameter, the run's "
                "input (use a dict to pass several values)."
            )
        self.inject, _ = _injectable_params(func, skip_first=True)
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<nbflow workflow {self.name!r}>"

    # ------------------------------------------------------------------ running
    def _run(self, input: Any, config: Mapping[str, Any] | None, context: Any,
             sink: Callable[[Any], None] | None = None, modes: tuple[str, ...] = (),
             checkpointer: BaseCheckpointSaver | None = None, control: RunControl | None = None,
             trace: lc.Trace | None = None, durability: Durability = Durability.SYNC) -> Run:
        if context is not None and self.context_schema is not None and isinstance(context, Mapping) \
                and inspect.isclass(self.context_schema) and not issubclass(self.context_schema, Mapping):
            context = self.context_schema(**context)
        return Run(self, input, config, saver=checkpointer or self.checkpointer, context=context,
                   sink=sink, modes=modes, control=control, durability=durability,
                   callbacks=trace.children if trace is not None else None).prepare()

    @staticmethod
    def _output(outcome: Ending) -> Any:
        if outcome.status == "interrupted":
            return {INTERRUPT_KEY: list(outcome.interrupts)}
        return outcome.value

    def invoke(self, input: Any, config: Mapping[str, Any] | None = None, *, context: Any = None,
               stream_mode: str | Sequence[str] = "values", print_mode: str | Sequence[str] = (),
               output_keys: Any = None, interrupt_before: Any = None, interrupt_after: Any = None,
               durability: str | None = None, control: RunControl | None = None, version: str = "v1",
               **kwargs: Any) -> Any:
        """Run to completion (or to the next interrupt) and return the result.

        Paused runs return ``{"__interrupt__": [Interrupt, ...]}``. Works for
        async entrypoints too, also from inside a running event loop. The keyword
        arguments are LangGraph's (``version="v2"`` returns a :class:`~nbflow.types.GraphOutput`;
        a ``stream_mode`` other than ``"values"`` returns the list of chunks); any other raises TypeError.
        """
        opts = shapes.check_options("invoke", kwargs, durability, interrupt_before, interrupt_after, version,
                                    print_mode)
        scope = current_scope()
        if scope is not None:  # inside another run: a nested, journaled call
            call = scope.run.nested_run(scope, self, input, context)
            return call.value if call.child is None else call.finish(call.child.execute_blocking())
        if stream_mode != "values" or opts.print_modes:
            return shapes.collect(self.stream(input, config, context=context, stream_mode=stream_mode,
                                        print_mode=print_mode, control=control, version=version),
                            stream_mode, version)
        root = lc.start_root(config, input)
        try:
            outcome = self._run(input, config, context, control=control, trace=root,
                                durability=opts.durability).execute_blocking()
        except BaseException as e:
            if root is not None:
                root.error(e)
            raise
        if root is not None:
            root.end(self._output(outcome), stream=False)
        return shapes.final_output(outcome, version)

    async def ainvoke(self, input: Any, config: Mapping[str, Any] | None = None, *, context: Any = None,
                      stream_mode: str | Sequence[str] = "values", print_mode: str | Sequence[str] = (),
                      output_keys: Any = None, interrupt_before: Any = None, interrupt_after: Any = None,
                      durability: str | None = None, control: RunControl | None = None, version: str = "v1",
                      **kwargs: Any) -> Any:
        opts = shapes.check_options("ainvoke", kwargs, durability, interrupt_before, interrupt_after, version,
                                    print_mode)
        scope = current_scope()
        if scope is not None:
            call = scope.run.nested_run(scope, self, input, context)
            return call.value if call.child is None else call.finish(await call.child.execute_async())
        if stream_mode != "values" or opts.print_modes:
            chunks = [c async for c in self.astream(input, config, context=context, stream_mode=stream_mode,
                                                    print_mode=print_mode, control=control, version=version)]
            return shapes.collect(iter(chunks), stream_mode, version)
        root = await lc.astart_root(config, input)
        try:
            outcome = await self._run(input, config, context, control=control, trace=root,
                                      durability=opts.durability).execute_async()
        except BaseException as e:
            if root is not None:
                await root.aerror(e)
            raise
        if root is not None:
            await root.aend(self._output(outcome))
        return shapes.final_output(outcome, version)

    def stream(self, input: Any, config: Mapping[str, Any] | None = None, *, context: Any = None,
               stream_mode: str | Sequence[str] | None = None, print_mode: str | Sequence[str] = (),
               output_keys: Any = None, interrupt_before: Any = None, interrupt_after: Any = None,
               durability: str | None = None, control: RunControl | None = None, subgraphs: bool = False,
               debug: bool | None = None, version: str = "v1", **kwargs: Any) -> Iterator[Any]:
        """Yield chunks as the run produces them (default mode ``updates``).

        ``version="v2"`` yields LangGraph's typed parts ``{"type", "ns", "data"}`` (``values`` parts
        also carry ``interrupts``). Unknown keyword arguments raise TypeError.
        """
        opts = shapes.check_options("stream", kwargs, durability, interrupt_before, interrupt_after, version,
                                    print_mode, debug)
        modes, single = ev.normalize_modes(stream_mode)
        shown = tuple(m for m in opts.print_modes if m not in modes)
        root = lc.start_root(config, input)
        events = drive.events(self._maker(input, config, context, (*modes, *shown), control, root, opts.durability),
                              raise_errors=True, name=f"nbflow-run-{self.name}")
        if root is not None:
            events = _traced(root, events)
        return (item for event in events
                for item in shapes.shape(event, modes, single, subgraphs, opts.v2, opts.print_modes))

    async def astream(self, input: Any, config: Mapping[str, Any] | None = None, *, context: Any = None,
                      stream_mode: str | Sequence[str] | None = None, print_mode: str | Sequence[str] = (),
                      output_keys: Any = None, interrupt_before: Any = None, interrupt_after: Any = None,
                      durability: str | None = None, control: RunControl | None = None, subgraphs: bool = False,
                      debug: bool | None = None, version: str = "v1", **kwargs: Any) -> AsyncIterator[Any]:
        opts = shapes.check_options("astream", kwargs, durability, interrupt_before, interrupt_after, version,
                                    print_mode, debug)
        modes, single = ev.normalize_modes(stream_mode)
        shown = tuple(m for m in opts.print_modes if m not in modes)
        root = await lc.astart_root(config, input)
        last: Any = None
        try:
            async for item in drive.aevents(self._maker(input, config, context, (*modes, *shown), control, None,
                                                        opts.durability, trace_parent=root)):
                last = shapes.result_of(item, last)
                for out in shapes.shape(item, modes, single, subgraphs, opts.v2, opts.print_modes):
                    yield out
        except (GeneratorExit, asyncio.CancelledError):
            raise
        except BaseException as e:  # before the run (a bad config) or during it: the root chain run fails too
            if root is not None:
                await root.aerror(e)
            raise
        if root is not None:
            await root.aend(last)

    async def astream_events(self, input: Any, config: Mapping[str, Any] | None = None, *,
                             version: str = "v2", **kwargs: Any) -> AsyncIterator[Any]:
        """LangChain's ``astream_events`` (``langchain_core`` must be installed): the run's chain, chat model
        and tool events, as LangGraph produces them; the keyword arguments are LangChain's filters."""
        try:
            from langchain_core.tracers.event_stream import _astream_events_implementation_v2
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("astream_events() needs langchain_core: pip install langchain-core") from None
        if version != "v2":
            raise NotImplementedError(f"astream_events(version={version!r}): nbflow implements version='v2' only")
        runnable: Any = self  # duck-typed: LangChain only calls astream(input, config) on it
        async for event in _astream_events_implementation_v2(runnable, input, dict(config or {}),  # type: ignore[arg-type]
                                                             **kwargs):
            yield event

    def stream_events(self, input: Any, config: Mapping[str, Any] | None = None, *,
                      context: Any = None, control: RunControl | None = None) -> Iterator[Any]:
        """Yield the raw :mod:`nbflow.events` objects of one run, as they happen.

        This is what the notebook views consume. Errors raised before the run
        starts (bad config, a resume that fits nothing) raise here; an error
        during the run arrives as a final :class:`~nbflow.events.RunError`
        event instead of being raised.
        """
        return drive.events(self._maker(input, config, context, ("*",), control, None, Durability.SYNC),
                            raise_errors=False, name=f"nbflow-run-{self.name}")

    def _maker(self, input: Any, config: Mapping[str, Any] | None, context: Any, modes: tuple[str, ...],
               control: RunControl | None, trace: lc.Trace | None, durability: Durability,
               trace_parent: lc.Trace | None = None) -> Callable[[Callable[[Any], None]], Run]:
        """How the stream driver builds this workflow's run around its sink: prepared at once, so errors
        found before the run starts raise in the caller (and fail ``trace``, the root chain run, if any)."""
        def make(sink: Callable[[Any], None]) -> Run:
            try:
                return self._run(input, config, context, sink=sink, modes=modes, control=control,
                                 trace=trace or trace_parent, durability=durability)
            except BaseException as e:
                if trace is not None:
                    trace.error(e)
                raise
        return make

    def stop(self, config: Mapping[str, Any]) -> bool:
        """Stop the invocation running on ``config``'s thread, from any thread; False if none is running.

        Running async tasks are cancelled, sync tasks not yet started never start, running sync
        tasks are abandoned (their late results are dropped); finished tasks stay checkpointed.
        The caller of ``invoke``/``stream`` gets :class:`~nbflow.errors.RunStopped`, its stream a
        final :class:`~nbflow.events.RunHalted` event, and the process-wide tap a
        :class:`~nbflow.tap.ThreadEdited` of kind ``"stop"``. ``invoke(None, config)`` continues
        the invocation from its last finished task.
        """
        t = parse_config(config, needs_thread=True, who=f"stop() of {self.name!r}")
        runs = running_on(t.thread, self.checkpointer)
        stopped = [run for run in runs if run.stop()]
        for run in stopped:
            ctx = run.ctx
            tap.edited(ctx.saver, ctx.thread_id, ctx.wf.name, tap.ThreadEdited(ctx.ns, "stop", run.plan.checkpoint_id))
        return bool(stopped)

    def liveness(self, config: Mapping[str, Any]) -> dict | None:
        """Whether the thread's newest invocation, when it never finished, is still going on.

        ``{"state": "here" | "elsewhere" | "gone", "owner": "process 123 on host h (kernel k)",
        "since": <epoch seconds of its last sign of life>}``: running in this process, in another
        process that keeps its lease fresh, or stopped without finishing (its process is gone:
        ``invoke(None, config)`` continues it). None when the invocation finished (or none ran).
        See :mod:`nbflow.checkpoint.leases`.
        """
        t = parse_config(config, needs_thread=True, who=f"liveness() of {self.name!r}")
        runs = [i for i in self.get_invocations(config) if i.status != "update"]
        if not runs or runs[-1].status != "running":
            return None
        return liveness_of(self.checkpointer, str(t.thread), runs[-1], bool(running_on(t.thread, self.checkpointer)))

    # ------------------------------------------------------------------ history (see nbflow.history.reads, .edits)
    def get_task_history(self, config: Mapping[str, Any]) -> list:
        """Every task execution recorded in the thread (:class:`~nbflow.TaskRecord`), oldest first."""
        return reads.get_task_history(self, config)

    def get_usage(self, config: Mapping[str, Any]) -> Any:
        """The model usage and cost of the whole thread (:class:`~nbflow.observe.UsageTotals`); per
        invocation it is ``Invocation.usage``, per task ``TaskRecord.usage``."""
        return reads.get_usage(self, config)

    def get_invocations(self, config: Mapping[str, Any]) -> list:
        """The thread's invocations (:class:`~nbflow.types.Invocation`), oldest first."""
        return reads.get_invocations(self, config)

    def fork(self, config: Mapping[str, Any], *, task_index: int, value: Any = MISSING,
             thread_id: str | None = None) -> dict:
        """Branch a past invocation after its first ``task_index`` tasks; returns the new config.

        The new checkpoint reuses the recorded results of those tasks
        (optionally replacing the last one with ``value``); run it with
        ``invoke(None, new_config)`` and every later task executes again.
        """
        return edits.fork(self, config, task_index=task_index, value=value, thread_id=thread_id)

    def get_graph_mermaid(self, config: Mapping[str, Any]) -> str:
        """A Mermaid flowchart of the tasks the invocation in ``config`` actually ran."""
        return reads.mermaid(self, config)

    def list_threads(self) -> list[str]:
        """Thread ids in this workflow's checkpointer, most recently active first."""
        return reads.saver_of(self, "list_threads()").list_threads()

    # JSON Schemas and the deprecated config_schema(), as LangGraph reports them (nbflow.compat.jsonschemas)
    def get_input_jsonschema(self, config: Any = None) -> dict: return jsonschemas.get_input_jsonschema(self)
    def get_output_jsonschema(self, config: Any = None) -> dict: return jsonschemas.get_output_jsonschema(self)
    def get_context_jsonschema(self) -> dict | None: return jsonschemas.get_context_jsonschema(self)
    def config_schema(self, *, include: Any = None) -> Any: return jsonschemas.config_schema(self)

    def get_state(self, config: Mapping[str, Any], *, subgraphs: bool = False):
        return reads.get_state(self, config)

    async def aget_state(self, config: Mapping[str, Any], *, subgraphs: bool = False):
        return self.get_state(config, subgraphs=subgraphs)

    def get_state_history(self, config: Mapping[str, Any], *, filter: Mapping[str, Any] | None = None,
                          before: Mapping[str, Any] | None = None, limit: int | None = None):
        return reads.get_state_history(self, config, filter=filter, before=before, limit=limit)

    async def aget_state_history(self, config, *, filter=None, before=None, limit=None):
        for snap in self.get_state_history(config, filter=filter, before=before, limit=limit):
            yield snap

    def update_state(self, config: Mapping[str, Any], values: Any, as_node: str | None = None) -> dict:
        return edits.update_state(self, config, values, as_node=as_node)

    def prune(self, config: Mapping[str, Any], *, keep_last: int | None = None,
              keep_invocations: int | None = None, vacuum: bool = False) -> Any:
        """Drop the thread's old checkpoints: all but the newest by default, or keep the newest
        ``keep_last`` checkpoints / the checkpoints of the newest ``keep_invocations`` invocations.
        A pending question, the newest state and any checkpoint a fork or a replay came from stay;
        pieces no remaining checkpoint needs go. ``vacuum=True`` (SQLite) shrinks the file after.
        Returns what was removed (:class:`nbflow.checkpoint.retention.Pruned`)."""
        return edits.prune(self, config, keep_last=keep_last, keep_invocations=keep_invocations, vacuum=vacuum)

    def delete_thread(self, config_or_thread: Mapping[str, Any] | str) -> None:
        """Remove every checkpoint, write and piece of a thread (LangGraph's ``delete_thread``)."""
        thread = (config_or_thread if isinstance(config_or_thread, str)
                  else parse_config(config_or_thread, needs_thread=True, who="delete_thread()").thread)
        saver = self.checkpointer
        if saver is None:
            raise CheckpointerRequiredError(f"delete_thread() needs a checkpointer, and entrypoint {self.name!r} "
                                            "has none")
        saver.delete_thread(thread)
        tap.edited(saver, thread, self.name, tap.ThreadEdited((), "delete", ""))

    async def aupdate_state(self, config: Mapping[str, Any], values: Any, as_node: str | None = None) -> dict:
        return self.update_state(config, values, as_node=as_node)


def _traced(root: lc.Trace, events: Iterator[Any]) -> Iterator[Any]:
    """The run's events; the root chain run of ``config["callbacks"]`` ends (or fails) with them."""
    last = None
    try:
        for event in events:
            last = shapes.result_of(event, last)
            yield event
    except BaseException as e:
        root.error(e)
        raise
    root.end(last, stream=False)


__all__ = ["task", "entrypoint", "Workflow", "TaskFunction"]
