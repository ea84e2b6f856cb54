"""Dask under a real fault: the scheduler process killed (SIGKILL) in the middle of a run.

The run stops with one ExecutorLostError naming the thread, the checkpointer and what to do; on a new
cluster (a new scheduler, worker and Client), ``invoke(None, config)`` continues the thread and reuses
every result that finished before: none of those tasks runs again.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import types

import pytest
from .faultkit import Stopwatch, check_books, check_error, committed
from waiting import PATIENCE, wait_until

from nbflow import entrypoint, task
from nbflow.checkpoint.sqlite import SqliteSaver
from nbflow.errors import ExecutorLostError
from nbflow.testing.executors import Marks

pytestmark = pytest.mark.timeout(240)
distributed = pytest.importorskip("distributed")


@contextlib.contextmanager
def cluster():
    """A scheduler and one worker, each its own process (so the scheduler can be killed), and a Client."""
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard"], stderr=subprocess.PIPE, text=True)
    procs = [scheduler]
    client = None
    try:
        address = None
        for line in scheduler.stderr:  # type: ignore[union-attr]
            if "Scheduler at:" in line:
                address = line.split("Scheduler at:")[1].strip()
                break
        assert address, "the scheduler did not start"
        threading.Thread(target=lambda: [None for _ in scheduler.stderr], daemon=True).start()  # type: ignore
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads",
                                       "1", "--nworkers", "1", "--no-dashboard"], stderr=subprocess.DEVNULL))
        client = distributed.Client(address, timeout=PATIENCE)
        client.wait_for_workers(1, timeout=PATIENCE)
        yield client, scheduler
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        for proc in procs:
            proc.kill()
            proc.wait(PATIENCE)


def chain(saver, client, marks_dir: str):
    from nbflow.executors.dask import DaskExecutor

    marks = Marks(marks_dir)

    @task
    def step(i: int) -> str:  # runs on the worker: pickled by value (a local function)
        import time

        marks.add(f"run {i}")
        time.sleep(0.2)
        return f"r{i}"

    @entrypoint(checkpointer=saver, executor=DaskExecutor(client))
    def remote_chain(n: int) -> list:
        return [len(step(i).result()) for i in range(n)]

    return remote_chain


def test_scheduler_killed_mid_run_then_a_new_cluster_continues(tmp_path, record):
    path = tmp_path / "runs.sqlite"
    saver = SqliteSaver(path)
    cfg = {"configurable": {"thread_id": "t-dask"}}
    n = 6
    with cluster() as (client, scheduler):
        wf = chain(saver, client, str(tmp_path))

        def kill_when_three_committed() -> None:
            with SqliteSaver(path) as reader:
                wait_until(lambda: len(committed(reader, "t-dask")) >= 3, what="three committed results")
            os.kill(scheduler.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_three_committed, daemon=True)
        killer.start()
        with pytest.raises(ExecutorLostError) as info:
            wf.invoke(n, cfg)
        killer.join(PATIENCE)
        check_error(info.value, "t-dask", str(path), "scheduler", "invoke(None, config)")
    before = committed(saver, "t-dask")
    assert len(before) >= 3
    clock = Stopwatch()
    with cluster() as (client2, _):
        assert chain(saver, client2, str(tmp_path)).invoke(None, cfg) == [2] * n
    took = clock()
    runs = collections.Counter(int(line.split()[1]) for line in Marks(tmp_path).lines())
    flow = types.SimpleNamespace(n=n, ran=runs)
    lost, dup = check_books(flow, before, committed(saver, "t-dask"))  # type: ignore[arg-type]
    record("Dask scheduler killed mid run", "sqlite + dask", "clear error + invoke(None) on a new cluster",
           lost, dup, took)
    saver.close()


MB = 2**20


def hungry_chain(saver, client, marks_dir: str, hog: int):
    """A chain of ``step`` tasks; step ``hog`` allocates (and touches) memory 16 MB at a time up to the size
    the file ``need`` says, far past a worker's memory_limit, so the nanny kills the worker running it."""
    from nbflow.executors.dask import DaskExecutor

    marks = Marks(marks_dir)
    need = os.path.join(marks_dir, "need")

    @task
    def step(i: int) -> str:  # runs on a worker: pickled by value (a local function)
        import time

        marks.add(f"run {i}")
        if i == hog:
            with open(need) as f:
                total = int(f.read())
            held = []
            while len(held) * 16 * MB < total:  # touched pages: resident, so the nanny sees them
                held.append(b"\x01" * (16 * MB))
                time.sleep(0.02)  # lets the nanny's memory monitor (every 100 ms) catch up with it
            del held
        return f"r{i}"

    @entrypoint(checkpointer=saver, executor=DaskExecutor(client))
    def hungry(n: int) -> list:
        return [len(step(i).result()) for i in range(n)]

    return hungry


def test_a_task_over_the_workers_memory_limit_is_one_clear_error_then_continues(tmp_path, record):
    """Step 3 needs far more than a worker's memory_limit: the nanny kills the worker running it, Dask runs it
    on another (allowed-failures=1), which dies too, and gives up (KilledWorker). The run stops with one
    ExecutorLostError naming the task, the thread, the checkpointer and what to do; once the task is made
    smaller, ``invoke(None, config)`` continues and steps 0-2 do not run again."""
    import logging

    import dask

    path = tmp_path / "runs.sqlite"
    saver = SqliteSaver(path)
    cfg = {"configurable": {"thread_id": "t-oom"}}
    n, hog, limit = 6, 3, 400 * MB
    (tmp_path / "need").write_text(str(8 * limit))  # stops there even if no nanny watched: 3.2 GB at most
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, memory_limit=limit,
                                     dashboard_address=None, scheduler_kwargs={"dashboard": False},
                                     silence_logs=logging.CRITICAL) as lc, \
            distributed.Client(lc, timeout=PATIENCE) as client:
        client.wait_for_workers(2, timeout=PATIENCE)
        wf = hungry_chain(saver, client, str(tmp_path), hog)
        with pytest.raises(ExecutorLostError) as info:
            wf.invoke(n, cfg)
        msg = check_error(info.value, "t-oom", str(path), "'step'", "memory_limit", "invoke(None, config)")
        assert "KilledWorker" not in type(info.value).__name__ and not isinstance(info.value, distributed.KilledWorker)
        marks = Marks(tmp_path)
        assert marks.lines().count(f"run {hog}") == 2, marks.lines()  # Dask ran it twice: two workers killed
        before = committed(saver, "t-oom")
        assert sorted(before) == [str(i) for i in range(hog)], (dict(before), msg)
        (tmp_path / "need").write_text(str(16 * MB))  # the task made smaller
        clock = Stopwatch()
        client.wait_for_workers(1, timeout=PATIENCE)  # the nannies restart their workers
        assert wf.invoke(None, cfg) == [2] * n
        took = clock()
    runs = collections.Counter(int(line.split()[1]) for line in Marks(tmp_path).lines())
    flow = types.SimpleNamespace(n=n, ran=runs)
    lost, dup = check_books(flow, before, committed(saver, "t-oom"))  # type: ignore[arg-type]
    assert all(runs[i] == 1 for i in range(n) if i != hog), dict(runs)
    record("Dask worker over its memory limit (the nanny kills it, twice)", "sqlite + dask",
           "clear error (ExecutorLostError: raise memory_limit or make the task smaller) + invoke(None)",
           lost, dup, took)
    saver.close()
