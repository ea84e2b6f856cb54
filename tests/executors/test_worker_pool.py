"""The local worker pool's growth: a burst of short jobs runs on a few threads; blocked jobs get threads of their own.

Each test uses a pool of its own (not the process-wide one), so the thread counts are this test's.
"""

from __future__ import annotations

import threading
import time

from nbflow.executors.local import WorkerPool

LIMIT = 60.0  # seconds any wait here may take on a loaded machine


def _wait_for(check, what: str) -> None:
    deadline = time.monotonic() + LIMIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def test_a_burst_of_short_jobs_starts_only_the_ready_threads():
    pool = WorkerPool(256)
    done = []
    lock = threading.Lock()

    def job(i: int) -> None:
        with lock:
            done.append(i)

    for i in range(500):
        pool.submit(lambda i=i: job(i))
    _wait_for(lambda: len(done) == 500, "500 jobs")
    assert sorted(done) == list(range(500))
    # submit() alone never starts more than the ready threads: the rest queue for them
    assert pool._threads == WorkerPool.ready


def test_blocked_jobs_each_get_a_thread_as_the_pool_rebalances():
    pool = WorkerPool(256)
    n = 100
    release = threading.Event()
    started = []
    lock = threading.Lock()

    def job(i: int) -> None:
        with lock:
            started.append(i)
        release.wait(LIMIT)

    for i in range(n):
        pool.submit(lambda i=i: job(i))
    try:
        # the dispatcher calls rebalance() every tick while jobs wait; here the test does
        def all_started() -> bool:
            pool.rebalance()
            return len(started) == n

        _wait_for(all_started, f"{n} blocked jobs running at once")
        assert pool._threads == n  # one thread each, no more
    finally:
        release.set()


def test_jobs_waiting_behind_progress_do_not_start_threads():
    pool = WorkerPool(256)
    gate = threading.Event()
    count = [0]

    def job() -> None:
        gate.wait(LIMIT)
        count[0] += 1

    for _ in range(WorkerPool.ready + 10):
        pool.submit(job)
    gate.set()  # every thread now gets through its jobs: progress at each look
    _wait_for(lambda: count[0] == WorkerPool.ready + 10, "the jobs")
    pool.rebalance()
    assert pool._threads == WorkerPool.ready
    assert pool.backlog == 0
