"""Sync and async written once: the only place the engine's two flavours differ.

The engine describes a piece of work -- a task call with its retries, an
attempt of the entrypoint body -- as an *outcome*, composed with the same
combinators whatever the flavour:

* :class:`Immediate` -- runs on this thread when :meth:`~Immediate.run` is
  called and returns the value (sync entrypoints and tasks);
* :class:`Pending` -- :meth:`~Pending.run` returns a coroutine that does the
  same work, awaiting where the sync flavour blocks (async ones).

Each flavour is a class with the same constructors (:meth:`call`,
:meth:`sleep`, :meth:`settle_all`), combinators (:meth:`then`, :meth:`bind`)
and the :meth:`retry` loop, so the engine picks ``Immediate`` or ``Pending``
once and writes its pipeline once. (The idea follows DBOS Transact's
``_outcome.py``.)

``then(fn)`` hands ``fn`` a *thunk* -- calling it returns the value or raises
the error of the work so far -- so one function handles success and failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from ..executors.base import Clock, JobFuture
from ..executors.eventloop import run_coroutine_blocking

T = TypeVar("T")
U = TypeVar("U")

Thunk = Callable[[], T]
# Seconds to wait before another attempt, or None to give up, after the n-th failure.
RetryDecision = Callable[[BaseException, int], float | None]


def _raiser(exc: BaseException) -> Callable[[], Any]:
    def thunk() -> Any:
        raise exc
    return thunk


class Immediate(Generic[T]):
    """Work done on this thread when :meth:`run` is called."""

    __slots__ = ("_thunk",)
    is_async = False

    def __init__(self, thunk: Thunk[T]) -> None:
        self._thunk = thunk

    def run(self) -> T:
        return self._thunk()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def value(cls, value: U) -> Immediate[U]:
        return Immediate(lambda: value)

    @classmethod
    def call(cls, fn: Callable[[], Any], *, unwrap: bool = False,
             within: Callable[[], AbstractContextManager[Any]] | None = None) -> Immediate[Any]:
        """``fn()``; with ``within``, ``fn(s)`` inside ``with within() as s``.

        ``unwrap`` also waits for a task future ``fn`` returns.
        """
        def thunk() -> Any:
            if within is None:
                result = fn()
            else:
                with within() as s:
                    result = fn(s)  # type: ignore[call-arg]
                    if unwrap and isinstance(result, JobFuture):
                        return result.result()
                    return result
            if unwrap and isinstance(result, JobFuture):
                result = result.result()
            return result
        return Immediate(thunk)

    @classmethod
    def defer(cls, build: Callable[[], Immediate[U]]) -> Immediate[U]:
        """The work ``build()`` describes, built only when run."""
        return Immediate(lambda: build().run())

    @classmethod
    def sleep(cls, clock: Clock, seconds: float) -> Immediate[None]:
        return Immediate(lambda: clock.sleep(seconds))

    @classmethod
    def settle_all(cls, unsettled: Callable[[], Sequence[concurrent.futures.Future]]) -> Immediate[None]:
        """Wait until ``unsettled()`` is empty (it is asked again after each wait), never raising."""
        def thunk() -> None:
            while True:
                pending = unsettled()
                if not pending:
                    return
                for f in pending:
                    f.exception()  # waits; a sync job nobody started runs here
        return Immediate(thunk)

    # ------------------------------------------------------------------ combinators
    def then(self, fn: Callable[[Thunk[T]], U]) -> Immediate[U]:
        """``fn`` gets a thunk of this work's value (or error); its result is the new value."""
        thunk = self._thunk

        def go() -> U:
            try:
                value = thunk()
            except BaseException as exc:  # noqa: BLE001 - handed to fn, which decides
                return fn(_raiser(exc))
            return fn(lambda: value)
        return Immediate(go)

    def ensure(self, after: Immediate[Any]) -> Immediate[T]:
        """Run ``after`` once this work is over, whether it succeeded or not; keep this work's value or error."""
        thunk, then_run = self._thunk, after._thunk

        def go() -> T:
            try:
                return thunk()
            finally:
                then_run()
        return Immediate(go)

    def bind(self, fn: Callable[[T], Immediate[U]]) -> Immediate[U]:
        """Continue with the work ``fn(value)`` describes (errors skip ``fn``)."""
        thunk = self._thunk
        return Immediate(lambda: fn(thunk()).run())

    @classmethod
    def retry(cls, attempt: Callable[[], Immediate[T]], decide: RetryDecision, clock: Clock) -> Immediate[T]:
        """Run ``attempt()`` until it succeeds or ``decide`` gives up (then its last error is raised)."""
        def go() -> T:
            failures = 0
            while True:
                try:
                    return attempt().run()
                except BaseException as exc:
                    failures += 1
                    delay = decide(exc, failures)
                    if delay is None:
                        raise
                clock.sleep(delay)
        return Immediate(go)


class Pending(Generic[T]):
    """Work done by awaiting the coroutine :meth:`run` returns."""

    __slots__ = ("_afunc",)
    is_async = True

    def __init__(self, afunc: Callable[[], Awaitable[T]]) -> None:
        self._afunc = afunc

    def run(self) -> Coroutine[Any, Any, T]:
        work = self._afunc()
        return work if inspect.iscoroutine(work) else _as_coroutine(work)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def value(cls, value: U) -> Pending[U]:
        async def go() -> U:
            return value
        return Pending(go)

    @classmethod
    def call(cls, fn: Callable[[], Any], *, unwrap: bool = False,
             within: Callable[[], AbstractContextManager[Any]] | None = None) -> Pending[Any]:
        """``await fn()``; with ``within``, ``await fn(s)`` inside it.

        ``unwrap`` also awaits an awaitable ``fn`` returns.
        """
        async def go() -> Any:
            if within is None:
                result = await fn()
            else:
                with within() as s:
                    result = await fn(s)  # type: ignore[call-arg]
                    if unwrap and inspect.isawaitable(result):
                        return await result
                    return result
            if unwrap and inspect.isawaitable(result):
                result = await result
            return result
        return Pending(go)

    @classmethod
    def defer(cls, build: Callable[[], Pending[U]]) -> Pending[U]:
        return Pending(lambda: build().run())

    @classmethod
    def sleep(cls, clock: Clock, seconds: float) -> Pending[None]:
        return Pending(lambda: clock.asleep(seconds))

    @classmethod
    def settle_all(cls, unsettled: Callable[[], Sequence[Any]]) -> Pending[None]:
        async def go() -> None:
            while True:
                pending = unsettled()
                if not pending:
                    return
                await asyncio.gather(*(_settle(f) for f in pending))
        return Pending(go)

    # ------------------------------------------------------------------ combinators
    def then(self, fn: Callable[[Thunk[T]], U]) -> Pending[U]:
        afunc = self._afunc

        async def go() -> U:
            try:
                value = await afunc()
            except BaseException as exc:  # noqa: BLE001 - handed to fn, which decides
                return fn(_raiser(exc))
            return fn(lambda: value)
        return Pending(go)

    def ensure(self, after: Pending[Any]) -> Pending[T]:
        afunc, then_run = self._afunc, after._afunc

        async def go() -> T:
            try:
                return await afunc()
            finally:
                await then_run()
        return Pending(go)

    def bind(self, fn: Callable[[T], Pending[U]]) -> Pending[U]:
        afunc = self._afunc

        async def go() -> U:
            return await fn(await afunc()).run()
        return Pending(go)

    @classmethod
    def retry(cls, attempt: Callable[[], Pending[T]], decide: RetryDecision, clock: Clock) -> Pending[T]:
        async def go() -> T:
            failures = 0
            while True:
                try:
                    return await attempt().run()
                except BaseException as exc:
                    failures += 1
                    delay = decide(exc, failures)
                    if delay is None:
                        raise
                await clock.asleep(delay)
        return Pending(go)


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


def run_blocking(work: Outcome[T]) -> T:
    """Do ``work`` from sync code: here, or (async work) on an event loop while this thread waits."""
    if isinstance(work, Pending):
        return run_coroutine_blocking(work.run())
    return work.run()


async def run_async(work: Outcome[T]) -> T:
    """Do ``work`` from async code: on this loop, or (sync work) on a thread while this loop goes on."""
    if isinstance(work, Pending):
        return await work.run()
    return await asyncio.to_thread(work.run)


__all__ = ["Immediate", "Pending", "Outcome", "Flavour", "flavour", "run_blocking", "run_async", "Thunk",
           "RetryDecision"]
