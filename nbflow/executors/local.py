"""The local executor for sync tasks: a growable worker pool and a dispatcher with inline claims.

* :class:`WorkerPool` -- daemon threads sized for I/O-bound work (default
  256, ``NBFLOW_MAX_WORKERS``); a thread is started whenever no idle one is
  free, so 100 sleeping tasks really sleep at the same time.
* :class:`Dispatcher` -- a job its caller waits for at once runs in the
  caller's thread (the caller *claims* it), any other goes to the pool within
  0.2 ms. A chain of ``t(x).result()`` calls costs no thread hand-off, and a
  task waiting on sub-tasks can never starve the pool.
* :class:`LocalExecutor` -- the :class:`~nbflow.executors.base.Executor` over both.
"""

from __future__ import annotations

import _thread
import collections
import functools
import os
import queue
import threading
import time
from collections.abc import Callable
from contextvars import Context

from .base import Job, JobFuture


class WorkerPool:
    """A growable pool of daemon worker threads. ``submit`` never blocks."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
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
            fn: Callable[[], None] | None = get()
            try:
                fn()  # type: ignore[misc]
            except BaseException:  # noqa: BLE001 - jobs settle their own futures
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
    """The process-wide worker pool (created on first use)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = WorkerPool(int(os.environ.get("NBFLOW_MAX_WORKERS", "256")))
    return _pool


def _submit_to_pool(fn: Callable[[], None]) -> None:
    pool().submit(fn)


class Dispatcher:
    """Hands parked jobs to the pool after a short delay, unless their caller took them first.

    ``x = t(x).result()`` asks for the result microseconds after the call: the
    caller runs the job itself (inline claim) and no worker is ever woken for
    it. A job nobody asks for within :attr:`delay` goes to the pool, so tasks
    still run in parallel with each other and with the caller's own code. One
    daemon thread; it wakes once per burst of calls, not once per call.
    """

    delay = 0.0002

    def __init__(self) -> None:
        self._pending: collections.deque[JobFuture] = collections.deque()
        self._event = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def defer(self, fut: JobFuture) -> None:
        self._pending.append(fut)
        if not self._started:
            with self._lock:
                if not self._started:
                    _thread.start_new_thread(self._loop, ())
                    self._started = True
        if not self._event.is_set():
            self._event.set()

    def _loop(self) -> None:
        pending, event = self._pending, self._event
        while True:
            event.wait()
            event.clear()  # before draining: a job deferred from now on sets it again
            time.sleep(self.delay)
            submit = pool().submit
            while pending:
                fut = pending.popleft()
                if fut.parked:  # not claimed by its caller meanwhile
                    submit(fut.run_claimed)


_dispatcher = Dispatcher()


class LocalExecutor:
    """Sync task jobs on this process's worker pool, claimed inline by a caller that waits at once."""

    runs_coroutines = False

    def submit(self, future: JobFuture, job: Job, context: Context) -> None:
        future.defer_to(functools.partial(context.run, job), _submit_to_pool)
        _dispatcher.defer(future)

    def __repr__(self) -> str:
        return "LocalExecutor()"


LOCAL = LocalExecutor()

__all__ = ["WorkerPool", "Dispatcher", "LocalExecutor", "LOCAL", "pool"]
