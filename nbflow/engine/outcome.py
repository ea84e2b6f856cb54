"""Sync and async written once: the only place the engine's two flavours differ.

The engine describes a piece of work -- a task call with its retries, an
attempt of the entrypoint body -- as an *outcome*, composed with the same
combinators whatever the flavour:

* :class:`Immediate` -- ``run(env)`` does the work on this thread and returns
  the value (sync entrypoints and tasks);
* :class:`Pending` -- ``run(env)`` returns a coroutine that does the same
  work, awaiting where the sync flavour blocks (async ones).

Both classes have the same constructors (:meth:`~Immediate.call`,
:meth:`~Immediate.value`, :meth:`~Immediate.settle_all`) and combinators
(:meth:`~Immediate.first`, :meth:`~Immediate.map`, :meth:`~Immediate.then`,
:meth:`~Immediate.ensure`, :meth:`~Immediate.timeout`, :meth:`~Immediate.retry`), so the
engine picks one class with :func:`flavour` and writes its pipeline once. (The idea follows
DBOS Transact's ``_outcome.py``.)

An outcome is a description of work over an *environment* ``env`` -- the
object every step receives first (a :class:`~nbflow.engine.steps.TaskCall`,
a :class:`~nbflow.engine.run.Run`) -- so a pipeline is built once per flavour
at import time and run many times, each with its own env: the hot path
allocates nothing but the env. Nothing happens until :meth:`run` is called.

``then(fn)`` hands ``fn`` a *thunk* -- calling it returns the value or raises
the error of the work so far -- so one function handles success and failure.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..errors import NodeTimeoutError
from ..executors.base import Clock, JobFuture
from ..executors.eventloop import run_coroutine_blocking, running_loop
from .scope import Progress

T = TypeVar("T")
U = TypeVar("U")

Thunk = Callable[[], T]
# (env, error, failures so far) -> seconds to wait before another attempt, or None to give up.
RetryDecision = Callable[[Any, BaseException, int], float | None]
ClockOf = Callable[[Any], Clock]


def _raiser(exc: BaseException) -> Callable[[], Any]:
    def thunk() -> Any:
        raise exc
    return thunk


class Immediate(Generic[T]):
    """Work done on this thread by ``run(env)``."""

    __slots__ = ("_fn",)
    is_async = False

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self._fn = fn

    def run(self, env: Any = None) -> T:
        return self._fn(env)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def value(cls, value: U) -> Immediate[U]:
        return Immediate(lambda env: value)

    @classmethod
    def call(cls, fn: Callable[..., Any], *, unwrap: bool = False,
             within: Callable[[Any], AbstractContextManager[Any]] | None = None) -> Immediate[Any]:
        """``fn(env)``; with ``within``, ``fn(env, s)`` inside ``with within(env) as s``.

        ``unwrap`` also waits for a task future ``fn`` returns.
        """
        if within is None and not unwrap:
            return Immediate(fn)

        def go(env: Any) -> Any:
            if within is None:
                result = fn(env)
            else:
                with within(env) as s:
                    result = fn(env, s)
                    if unwrap and isinstance(result, JobFuture):
                        return result.result()
                    return result
            if unwrap and isinstance(result, JobFuture):
                result = result.result()
            return result
        return Immediate(go)

    @classmethod
    def settle_all(cls, unsettled: Callable[[Any], Sequence[Any]]) -> Immediate[None]:
        """Wait until ``unsettled(env)`` is empty (it is asked again after each wait), never raising."""
        def go(env: Any) -> None:
            while True:
                pending = unsettled(env)
                if not pending:
                    return
                for f in pending:
                    f.exception()  # waits; a sync job nobody started runs here
        return Immediate(go)

    # ------------------------------------------------------------------ combinators
    def first(self, fn: Callable[[Any], Any]) -> Immediate[T]:
        """Call ``fn(env)`` before this work (its result is dropped; an error stops the work)."""
        inner = self._fn

        def go(env: Any) -> T:
            fn(env)
            return inner(env)
        return Immediate(go)

    def map(self, fn: Callable[[Any, T], U]) -> Immediate[U]:
        """``fn(env, value)`` on success; an error passes by."""
        inner = self._fn
        return Immediate(lambda env: fn(env, inner(env)))

    def then(self, fn: Callable[[Any, Thunk[T]], U]) -> Immediate[U]:
        """``fn(env, thunk)``, the thunk giving this work's value (or raising its error)."""
        inner = self._fn

        def go(env: Any) -> U:
            try:
                value = inner(env)
            except BaseException as exc:  # noqa: BLE001 - handed to fn, which decides
                return fn(env, _raiser(exc))
            return fn(env, lambda: value)
        return Immediate(go)

    def ensure(self, after: Immediate[Any]) -> Immediate[T]:
        """Do ``after`` once this work is over, whether it succeeded or not; keep this work's value or error."""
        inner, then_run = self._fn, after._fn

        def go(env: Any) -> T:
            try:
                return inner(env)
            finally:
                then_run(env)
        return Immediate(go)

    def timeout(self, deadline_of: Callable[[Any], Deadline | None]) -> Immediate[T]:
        """Sync work cannot be cancelled in-process, so it is never timed (decorators refuse sync timeouts)."""
        return self

    def retry(self, decide: RetryDecision, clock_of: ClockOf) -> Immediate[T]:
        """Do this work again until it succeeds or ``decide`` gives up (then its last error is raised)."""
        attempt = self._fn

        def go(env: Any) -> T:
            failures = 0
            while True:
                try:
                    return attempt(env)
                except BaseException as exc:
                    failures += 1
                    delay = decide(env, exc, failures)
                    if delay is None:
                        raise
                clock_of(env).sleep(delay)
        return Immediate(go)


class Pending(Generic[T]):
    """Work done by awaiting the coroutine ``run(env)`` returns."""

    __slots__ = ("_afn",)
    is_async = True

    def __init__(self, afn: Callable[[Any], Awaitable[T]]) -> None:
        self._afn = afn

    def run(self, env: Any = None) -> Coroutine[Any, Any, T]:
        work = self._afn(env)
        return work if inspect.iscoroutine(work) else _as_coroutine(work)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def value(cls, value: U) -> Pending[U]:
        async def go(env: Any) -> U:
            return value
        return Pending(go)

    @classmethod
    def call(cls, fn: Callable[..., Any], *, unwrap: bool = False,
             within: Callable[[Any], AbstractContextManager[Any]] | None = None) -> Pending[Any]:
        """``await fn(env)``; with ``within``, ``await fn(env, s)`` inside it.

        ``unwrap`` also awaits an awaitable ``fn`` returns.
        """
        if within is None and not unwrap:
            return Pending(fn)

        async def go(env: Any) -> Any:
            if within is None:
                result = await fn(env)
            else:
                with within(env) as s:
                    result = await fn(env, s)
                    if unwrap and inspect.isawaitable(result):
                        return await result
                    return result
            if unwrap and inspect.isawaitable(result):
                result = await result
            return result
        return Pending(go)

    @classmethod
    def settle_all(cls, unsettled: Callable[[Any], Sequence[Any]]) -> Pending[None]:
        async def go(env: Any) -> None:
            while True:
                pending = unsettled(env)
                if not pending:
                    return
                await asyncio.gather(*(_settle(f) for f in pending))
        return Pending(go)

    # ------------------------------------------------------------------ combinators
    def first(self, fn: Callable[[Any], Any]) -> Pending[T]:
        inner = self._afn

        async def go(env: Any) -> T:
            fn(env)
            return await inner(env)
        return Pending(go)

    def map(self, fn: Callable[[Any, T], U]) -> Pending[U]:
        inner = self._afn

        async def go(env: Any) -> U:
            return fn(env, await inner(env))
        return Pending(go)

    def then(self, fn: Callable[[Any, Thunk[T]], U]) -> Pending[U]:
        inner = self._afn

        async def go(env: Any) -> U:
            try:
                value = await inner(env)
            except BaseException as exc:  # noqa: BLE001 - handed to fn, which decides
                return fn(env, _raiser(exc))
            return fn(env, lambda: value)
        return Pending(go)

    def ensure(self, after: Pending[Any]) -> Pending[T]:
        inner, then_run = self._afn, after._afn

        async def go(env: Any) -> T:
            try:
                return await inner(env)
            finally:
                await then_run(env)
        return Pending(go)

    def timeout(self, deadline_of: Callable[[Any], Deadline | None]) -> Pending[T]:
        """Cancel this work and raise :class:`~nbflow.errors.NodeTimeoutError` when ``deadline_of(env)`` passes."""
        inner = self._afn

        async def go(env: Any) -> T:
            deadline = deadline_of(env)
            if deadline is None:
                return await inner(env)
            return await _within(inner(env), deadline)
        return Pending(go)

    def retry(self, decide: RetryDecision, clock_of: ClockOf) -> Pending[T]:
        attempt = self._afn

        async def go(env: Any) -> T:
            failures = 0
            while True:
                try:
                    return await attempt(env)
                except BaseException as exc:
                    failures += 1
                    delay = decide(env, exc, failures)
                    if delay is None:
                        raise
                await clock_of(env).asleep(delay)
        return Pending(go)


@dataclass(frozen=True, slots=True)
class Deadline:
    """The limits of one timed attempt of ``name``; ``progress`` is what its code refreshes."""

    name: str
    run_timeout: float | None
    idle_timeout: float | None
    progress: Progress


async def _within(work: Awaitable[T], deadline: Deadline) -> T:
    """Await ``work`` as its own asyncio task, cancelling it when a limit of ``deadline`` passes."""
    job = asyncio.ensure_future(work)
    progress = deadline.progress
    clock = progress.clock
    run, idle = deadline.run_timeout, deadline.idle_timeout
    start = clock.monotonic()
    try:
        while True:
            now = clock.monotonic()
            left_run = start + run - now if run is not None else math.inf
            left_idle = progress.last + idle - now if idle is not None else math.inf
            left = min(left_run, left_idle)
            if left <= 0:
                job.cancel()
                await asyncio.wait({job})  # let the attempt unwind (finally blocks, sub-awaits)
                raise NodeTimeoutError(deadline.name, now - start, kind="run" if left_run <= 0 else "idle",
                                       idle_timeout=idle, run_timeout=run)
            done, _ = await asyncio.wait({job}, timeout=left)
            if done:
                return job.result()
    finally:
        if not job.done():  # we were cancelled ourselves: take the attempt down with us
            job.cancel()


async def _as_coroutine(work: Awaitable[T]) -> T:
    return await work


async def _settle(f: Any) -> None:
    try:
        await f
    except BaseException:  # noqa: BLE001 - the outcome is already recorded by the task
        pass


Outcome = Immediate[T] | Pending[T]
Flavour = type[Immediate[Any]] | type[Pending[Any]]


def flavour(is_async: bool) -> Flavour:
    """The outcome class for sync (``Immediate``) or async (``Pending``) work."""
    return Pending if is_async else Immediate


def run_blocking(work: Outcome[T], env: Any = None) -> T:
    """Do ``work`` from sync code: here, or (async work) on an event loop while this thread waits.

    Sync work called from a thread whose event loop is running (``wf.invoke(...)`` in a Jupyter cell or a
    coroutine) runs on a helper thread while this one waits: an async task it calls and waits for needs a
    loop that is not blocked, and this thread's loop is blocked until ``invoke`` returns.
    """
    if isinstance(work, Pending):
        return run_coroutine_blocking(work.run(env))
    if running_loop() is not None:
        return _on_helper_thread(work.run, env)
    return work.run(env)


def _on_helper_thread(fn: Callable[[Any], T], env: Any) -> T:
    box: list[Any] = []
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box.append((True, ctx.run(fn, env)))
        except BaseException as exc:  # noqa: BLE001 - raised again on the waiting thread
            box.append((False, exc))

    helper = threading.Thread(target=target, name="nbflow-sync-run", daemon=True)
    helper.start()
    helper.join()
    ok, value = box[0]
    if ok:
        return value
    raise value


async def run_async(work: Outcome[T], env: Any = None) -> T:
    """Do ``work`` from async code: on this loop, or (sync work) on a thread while this loop goes on."""
    if isinstance(work, Pending):
        return await work.run(env)
    return await asyncio.to_thread(work.run, env)


__all__ = ["Immediate", "Pending", "Deadline", "Outcome", "Flavour", "flavour", "run_blocking", "run_async", "Thunk",
           "RetryDecision", "ClockOf"]
