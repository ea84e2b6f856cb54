"""The plug points of where and when task code runs: :class:`Executor`, :class:`Clock`, :class:`JobFuture`.

* :class:`Executor` -- decides where a task's job runs. The engine hands it a
  *job* (the whole task call: attempts, retries, recording) and the future the
  job settles; the executor only chooses the thread, loop or machine. Two ship
  with nbflow: :class:`~nbflow.executors.local.LocalExecutor` (sync tasks, a
  worker pool with inline claims) and
  :class:`~nbflow.executors.eventloop.EventLoopExecutor` (async tasks, the
  running event loop or a background one). The contract every executor meets
  is the importable suite :mod:`nbflow.testing.executors`.
* :class:`RemoteExecutor` -- an executor that also runs a task's *function
  call* elsewhere (another process or machine): the job (attempts, retries,
  recording) stays a coroutine on the caller, and each attempt ships the
  function and its arguments with :meth:`RemoteExecutor.ship`.
  :class:`~nbflow.executors.dask.DaskExecutor` is one.
* :class:`Clock` -- what retries (and timeouts) wait with. Tests inject a
  clock instead of patching ``time.sleep``.
* :class:`JobFuture` -- the future a job settles: a
  ``concurrent.futures.Future`` that is also awaitable, whose not-yet-started
  sync job may be *claimed* and run by the first thread that asks for its result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import time
from collections.abc import Awaitable, Callable, Generator
from contextvars import Context
from typing import Any, Protocol, runtime_checkable

_PENDING = concurrent.futures._base.PENDING  # state name used by Future

Job = Callable[[], Any]
"""A task call as the engine hands it over: returns None (sync) or a coroutine (async)."""


@runtime_checkable
class Executor(Protocol):
    """Where task jobs run.

    ``runs_coroutines`` says which jobs the executor takes: ``False`` -- ``job()``
    does the work and returns None; ``True`` -- ``job()`` returns a coroutine
    to run on an event loop.

    ``submit(future, job, context)`` must

    * return without waiting for the job (the caller keeps calling tasks);
    * run the job in ``context`` (``context.run(job)``, or
      ``loop.create_task(job(), context=context)``), so the task sees its own
      scope and context variables;
    * run it even if nobody ever asks for ``future``'s result, and run many
      jobs at the same time (tasks wait on each other);
    * leave settling ``future`` to the job (a job never raises for the
      executor to handle; anything that escapes is ignored).

    A sync executor may let the first caller of ``future.result()`` run a job
    that has not started yet (:meth:`JobFuture.defer_to`), which makes a
    chain of ``t(x).result()`` calls cost no thread hand-off.
    """

    runs_coroutines: bool

    def submit(self, future: JobFuture, job: Job, context: Context) -> None: ...


@runtime_checkable
class RemoteExecutor(Executor, Protocol):
    """An executor whose tasks' function calls run somewhere else (a cluster).

    It takes coroutine jobs (``runs_coroutines`` is True) and runs them on the
    caller like :class:`~nbflow.executors.eventloop.EventLoopExecutor`: the run
    loop, retries, recording and events never leave the caller. Each attempt of
    a task's function is handed to :meth:`ship`, which must

    * send ``fn(*args)`` to run elsewhere and return an awaitable of its return
      value (or raising what ``fn`` raised), without blocking the caller's loop;
    * cancel the remote work when that awaitable is cancelled (a timeout, a stop);
    * raise :class:`~nbflow.errors.SerializationError` naming ``name`` (the task)
      when ``fn`` or ``args`` cannot be sent.

    ``fn`` is a module-level nbflow function and ``args`` plain data plus the
    user's function and arguments, so anything that pickles them
    (cloudpickle) can run them: Dask's ``client.submit``, Ray's ``ray.remote``.
    """

    def ship(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Awaitable[Any]: ...


@runtime_checkable
class Clock(Protocol):
    """Time as the engine waits on it: retry back-off and timeouts."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def asleep(self, seconds: float) -> Awaitable[None]: ...


class SystemClock:
    """The real clock (``time.monotonic``, ``time.sleep``, ``asyncio.sleep``)."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def asleep(self, seconds: float) -> Awaitable[None]:
        return asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


class JobFuture(concurrent.futures.Future):
    """A future settled by a task job: ``.result()`` from threads, ``await`` from coroutines.

    A sync executor that does not start a job at once parks it with
    :meth:`defer_to`; whichever comes first -- the executor, or a thread
    asking for the result -- runs it, exactly once.
    """

    _job: Callable[[], None] | None = None
    _start_now: Callable[[Callable[[], None]], None] | None = None
    _atask: asyncio.Task[Any] | None = None
    coroutine_job = False  # the job is a coroutine (cancellable while it runs); set by expect_task()

    def __init__(self) -> None:
        super().__init__()
        self._claims = itertools.count().__next__

    @classmethod
    def completed(cls, value: Any) -> Any:
        f = cls()
        f._claims()
        f.set_result(value)
        return f

    @classmethod
    def failed(cls, exc: BaseException) -> Any:
        f = cls()
        f._claims()
        f.set_exception(exc)
        return f

    # ------------------------------------------------------------------ executor side
    def defer_to(self, job: Callable[[], None], start_now: Callable[[Callable[[], None]], None]) -> None:
        """Park ``job`` until it is claimed; ``start_now(run)`` hands it to a worker at once (used by ``await``)."""
        self._start_now = start_now
        self._job = job

    def expect_task(self) -> None:
        """Called by an executor that will run this future's job as a coroutine (so it can be cancelled)."""
        self.coroutine_job = True

    def attach_task(self, atask: asyncio.Task[Any]) -> None:
        """The asyncio task running this future's coroutine job (awaited directly on its own loop)."""
        self._atask = atask
        if self.done():  # cancelled or halted before its task existed
            _cancel_task(atask)

    @property
    def parked(self) -> bool:
        """A deferred job nobody has claimed yet."""
        return self._job is not None

    def run_claimed(self) -> None:
        """Run the parked job here, unless someone else claimed it first."""
        # itertools.count.__next__ is atomic under the GIL: exactly one caller gets 0.
        if self._claims() == 0:
            job = self._job
            self._job = None
            if job is not None:
                try:
                    job()
                except BaseException:  # noqa: BLE001 - the job settles the future itself
                    pass

    # ------------------------------------------------------------------ settling, cancelling, halting
    def settle_result(self, value: Any) -> bool:
        """Set the result unless the future is already done (cancelled, halted); says whether it was set."""
        try:
            self.set_result(value)
        except concurrent.futures.InvalidStateError:
            return False
        return True

    def settle_exception(self, exc: BaseException) -> bool:
        """Set the exception unless the future is already done; says whether it was set."""
        try:
            self.set_exception(exc)
        except concurrent.futures.InvalidStateError:
            return False
        return True

    def cancel(self) -> bool:
        """Cancel the job: a parked sync job never runs; a coroutine job is cancelled where it awaits.

        A sync job already running cannot be stopped in-process: then this returns False, as
        ``concurrent.futures`` does for a running call. The job of a cancelled future records
        nothing and settles nothing.
        """
        if self._job is not None:
            if self._claims() != 0:  # its caller or a worker has just started it
                return False
            self._job = None
            return super().cancel()
        if not self.coroutine_job or not super().cancel():
            return self.cancelled()
        if self._atask is not None:
            _cancel_task(self._atask)
        return True

    def halt(self, exc: BaseException) -> bool:
        """Finish the future with ``exc`` now, whatever its job is doing.

        A parked job never runs, a coroutine job is cancelled, a running sync job is
        abandoned (it runs on, and what it returns is dropped). False if already done.
        """
        if self._job is not None and self._claims() == 0:
            self._job = None
        if not self.settle_exception(exc):
            return False
        if self._atask is not None:
            _cancel_task(self._atask)
        return True

    def commit(self) -> bool:
        """The job is about to record its outcome: from now on ``cancel()`` fails. False if already cancelled/done."""
        try:
            return self.set_running_or_notify_cancel()
        except RuntimeError:  # finished meanwhile (halted)
            return False

    # ------------------------------------------------------------------ caller side
    def result(self, timeout: float | None = None) -> Any:
        if self._job is not None and self._state == _PENDING:
            self.run_claimed()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._job is not None and self._state == _PENDING:
            self.run_claimed()
        return super().exception(timeout)

    def __await__(self) -> Generator[Any, None, Any]:
        if self.done():
            if self.cancelled():  # awaiting a cancelled future raises what asyncio raises
                raise asyncio.CancelledError()
            return self.result()
        atask = self._atask
        if atask is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is atask.get_loop():
                try:
                    yield from atask.__await__()  # the job settles this future and returns nothing
                except BaseException:
                    if not self.done():
                        raise
                if self.cancelled():
                    raise asyncio.CancelledError()
                return concurrent.futures.Future.result(self, 0)
        if self._job is not None and self._start_now is not None:  # a sync job awaited from async code
            self._start_now(self.run_claimed)
        return (yield from asyncio.wrap_future(self).__await__())

    def __iter__(self) -> Generator[Any, None, Any]:  # allow `yield from fut` in generator-based coroutines
        return self.__await__()


def _cancel_task(atask: asyncio.Task[Any]) -> None:
    """Cancel ``atask`` from any thread."""
    loop = atask.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        atask.cancel()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(atask.cancel)


__all__ = ["Executor", "RemoteExecutor", "Clock", "SystemClock", "SYSTEM_CLOCK", "JobFuture", "Job"]
