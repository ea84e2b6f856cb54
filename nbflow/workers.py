"""Where task code physically runs: a thread pool, a background event loop, futures.

* :class:`TaskFuture` -- what calling a ``@task`` returns. A
  ``concurrent.futures.Future`` (``.result()``, callbacks) that is also
  awaitable. A sync task that no worker has picked up yet is run by the
  thread that asks for its result ("inline claim"), so a chain of
  ``t(x).result()`` calls costs no thread hand-off, and a task waiting on
  sub-tasks can never starve the pool.
* :class:`WorkerPool` -- daemon threads sized for I/O-bound work (default
  256, ``NBFLOW_MAX_WORKERS``); a thread is started whenever no idle one is
  free, so 100 sleeping tasks really sleep at the same time.
* :class:`Dispatcher` -- decides between the two: a job its caller waits for
  at once runs in the caller's thread, any other goes to the pool within 0.2 ms.
* :func:`background_loop` -- one daemon thread running an asyncio loop, for
  async work started from sync code.
* :func:`run_coroutine_blocking` -- run a coroutine to completion from sync
  code, also when this thread already runs an event loop (a Jupyter cell).
"""

from __future__ import annotations

import _thread
import asyncio
import collections
import concurrent.futures
import contextvars
import itertools
import os
import queue
import threading
import time
from typing import Any, Callable, Coroutine

from .context import _current

_PENDING = concurrent.futures._base.PENDING  # state name used by Future


def _note_wait() -> None:
    """Count a wait in the calling workflow code, so later calls start a new fan-out wave."""
    scope = _current.get()
    if scope is not None:
        scope.waits += 1


class TaskFuture(concurrent.futures.Future):
    """The future returned by calling a task inside a workflow."""

    _job: Callable[[], None] | None = None
    _atask: asyncio.Task | None = None

    def __init__(self) -> None:
        super().__init__()
        self._claims = itertools.count().__next__

    @classmethod
    def completed(cls, value: Any) -> "TaskFuture":
        f = cls()
        f._claims()
        f.set_result(value)
        return f

    @classmethod
    def failed(cls, exc: BaseException) -> "TaskFuture":
        f = cls()
        f._claims()
        f.set_exception(exc)
        return f

    def _claim(self) -> bool:
        # itertools.count.__next__ is atomic under the GIL: exactly one caller gets 0.
        return self._claims() == 0

    def _run_claimed(self) -> None:
        if self._claim():
            job = self._job
            self._job = None
            job()

    def result(self, timeout: float | None = None) -> Any:
        _note_wait()
        if self._job is not None and self._state == _PENDING:
            self._run_claimed()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._job is not None and self._state == _PENDING:
            self._run_claimed()
        return super().exception(timeout)

    def __await__(self):
        _note_wait()
        if self.done():
            return self.result()
            yield  # pragma: no cover - makes this a generator
        atask = self._atask
        if atask is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is atask.get_loop():
                return (yield from atask.__await__())
        if self._job is not None:  # a sync task awaited from async code: start it now
            pool().submit(self._run_claimed)
        return (yield from asyncio.wrap_future(self).__await__())

    def __iter__(self):  # allow `yield from fut` in generator-based coroutines
        return self.__await__()


class WorkerPool:
    """A growable pool of daemon worker threads. ``submit`` never blocks."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._backlog = 0

    def submit(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            elif self._threads < self.max_workers:
                self._threads += 1
                # _thread: unlike threading.Thread.start(), does not wait for the new
                # thread to be scheduled, so a burst of submits spawns workers quickly.
                _thread.start_new_thread(self._work, ())
            else:
                self._backlog += 1
            self._queue.put(fn)

    def _work(self) -> None:
        get = self._queue.get
        while True:
            fn = get()
            try:
                fn()
            except BaseException:  # pragma: no cover - jobs handle their own errors
                pass
            fn = None
            with self._lock:
                if self._backlog > 0:
                    self._backlog -= 1
                else:
                    self._idle += 1


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def pool() -> WorkerPool:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = WorkerPool(int(os.environ.get("NBFLOW_MAX_WORKERS", "256")))
    return _pool


class Dispatcher:
    """Hands new sync jobs to the pool after a short delay, unless their caller took them first.

    ``x = t(x).result()`` asks for the result microseconds after the call: the
    caller runs the job itself (inline claim) and no worker is ever woken for
    it. A job nobody asks for within :attr:`delay` goes to the pool, so tasks
    still run in parallel with each other and with the caller's own code. One
    daemon thread; it wakes once per burst of calls, not once per call.
    """

    delay = 0.0002

    def __init__(self) -> None:
        self._pending: collections.deque[TaskFuture] = collections.deque()
        self._event = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def defer(self, fut: TaskFuture) -> None:
        self._pending.append(fut)
        if not self._started:
            with self._lock:
                if not self._started:
                    _thread.start_new_thread(self._loop, ())
                    self._started = True
        if not self._event.is_set():
            self._event.set()

    def _loop(self) -> None:
        pending, event, submit = self._pending, self._event, pool().submit
        while True:
            event.wait()
            event.clear()  # before draining: a job deferred from now on sets it again
            time.sleep(self.delay)
            while pending:
                fut = pending.popleft()
                if fut._job is not None:  # not claimed by its caller meanwhile
                    submit(fut._run_claimed)


_dispatcher = Dispatcher()


def submit_sync(fut: TaskFuture, job: Callable[[], None]) -> None:
    """Schedule ``job`` (which completes ``fut``): run by its caller if asked for at once, else by the pool."""
    fut._job = job
    _dispatcher.defer(fut)


_bg_loop: asyncio.AbstractEventLoop | None = None
_bg_lock = threading.Lock()


def background_loop() -> asyncio.AbstractEventLoop:
    """The shared event loop thread for async work started from sync code."""
    global _bg_loop
    if _bg_loop is None:
        with _bg_lock:
            if _bg_loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="nbflow-event-loop", daemon=True).start()
                ready.wait()
                _bg_loop = loop
    return _bg_loop


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def start_async(fut: TaskFuture, coro: Coroutine, ctx: contextvars.Context) -> None:
    """Run an async task: on this thread's loop if there is one, else on the background loop."""
    loop = running_loop()
    if loop is not None:
        fut._atask = loop.create_task(coro, context=ctx)
        return
    bg = background_loop()
    bg.call_soon_threadsafe(_create_on_loop, bg, fut, coro, ctx)


def _create_on_loop(loop, fut: TaskFuture, coro: Coroutine, ctx: contextvars.Context) -> None:
    fut._atask = loop.create_task(coro, context=ctx)


_runners = threading.local()


def run_coroutine_blocking(coro: Coroutine) -> Any:
    """Run ``coro`` to completion from sync code and return its result.

    With no loop running in this thread, a per-thread :class:`asyncio.Runner`
    is reused; inside a running loop (Jupyter), the coroutine runs on the
    background loop thread while this thread waits.
    """
    if running_loop() is None:
        runner = getattr(_runners, "runner", None)
        if runner is None:
            runner = _runners.runner = asyncio.Runner()
        return runner.run(coro, context=contextvars.copy_context())
    return asyncio.run_coroutine_threadsafe(coro, background_loop()).result()
