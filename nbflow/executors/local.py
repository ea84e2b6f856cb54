"""The local executor for sync tasks: a growable worker pool and a dispatcher with inline claims.

* :class:`WorkerPool` -- daemon threads sized for I/O-bound work (default
  256, ``NBFLOW_MAX_WORKERS``); a thread is started whenever no idle one is
  free, paced by the pool's progress (a burst of short jobs runs on a few
  threads), so 100 sleeping tasks really sleep at the same time.
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

from ..checkpoint import groupcommit
from ..checkpoint.groupcommit import POOL_THREAD
from .base import Job, JobFuture


class WorkerPool:
    """A growable pool of daemon worker threads. ``submit`` never blocks.

    Growth is paced by progress, so a burst of short jobs does not start one thread per job (a
    thread costs far more to start than such a job to run): a job that finds no idle thread waits
    in the queue, and a new thread starts at once only while the pool has fewer than
    :attr:`ready` threads. Then, every :attr:`tick` while jobs wait, :meth:`rebalance` (called by
    the dispatcher) looks at whether the pool's threads took any new job since its last look: if
    they did, they are working through the queue; if none did, they are all blocked (sleeping,
    waiting on I/O) and new threads start, twice as many at each such tick, so 100 sleeping tasks
    still sleep at the same time within a few milliseconds. Threads waiting for a saver's commit
    (:func:`~nbflow.checkpoint.groupcommit.parked`) take waiting jobs once it is done: a fan-out of
    durable tasks runs on the threads its commits free, its writes batched.
    """

    tick = 0.001  # how often waiting jobs are looked at
    ready = max(4, 2 * (os.cpu_count() or 1))  # threads started without waiting for a tick

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._backlog = 0      # queued jobs no thread is set to take yet
        self._taken = 0        # jobs taken by threads that had run one before (progress)
        self._seen = (0.0, 0)  # (when rebalance last looked, _taken then)
        self._burst = 1        # threads the next stalled tick starts

    @property
    def backlog(self) -> int:
        return self._backlog

    def submit(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            else:
                self._backlog += 1
                if self._threads < self.ready:
                    self._spawn(1)
            self._queue.put(fn)

    def rebalance(self) -> None:
        """Start threads for jobs waiting behind blocked ones (see the class docstring)."""
        now = time.monotonic()
        with self._lock:
            if self._backlog <= 0:
                self._burst = 1
                self._seen = (now, self._taken)
                return
            when, taken = self._seen
            if now - when < self.tick:
                return
            self._seen = (now, self._taken)
            if self._taken != taken:  # the threads are getting through the queue
                self._burst = 1
                return
            # threads waiting for a commit take the waiting jobs once it is done: not counted as stuck
            self._spawn(min(self._burst, self._backlog - groupcommit.parked()))
            self._burst = min(self._burst * 2, 64)

    def _spawn(self, n: int) -> None:
        n = min(n, self.max_workers - self._threads, self._backlog)
        for _ in range(max(n, 0)):
            self._threads += 1
            self._backlog -= 1  # the new thread takes one of the waiting jobs
            # _thread: unlike threading.Thread.start(), does not wait for the new
            # thread to be scheduled, so a burst of submits spawns workers quickly.
            _thread.start_new_thread(self._work, ())

    def _work(self) -> None:
        POOL_THREAD.on = True  # a commit this thread waits for counts as parked (nbflow.checkpoint.groupcommit)
        get = self._queue.get
        fn: Callable[[], None] | None = get()
        while True:
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
            fn = get()
            self._taken += 1  # under the GIL; a lost count only delays one tick's growth


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
        workers = pool()
        while True:
            # while jobs wait in the pool, look at them every tick (WorkerPool.rebalance)
            if not event.wait(workers.tick if workers.backlog > 0 else None):
                workers.rebalance()
                continue
            event.clear()  # before draining: a job deferred from now on sets it again
            time.sleep(self.delay)
            submit = workers.submit
            while pending:
                fut = pending.popleft()
                if fut.parked:  # not claimed by its caller meanwhile
                    submit(fut.run_claimed)
            workers.rebalance()


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
