"""Workflows the Dask tests run in this process and in a driver process they kill (tests/test_dask.py).

Run as a script it is that driver: ``python dask_workflows.py SCHEDULER DB MARKS N`` connects to the
test's cluster and runs :func:`chain` on thread ``"driver"`` of the SQLite file ``DB``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator

from nbflow import entrypoint, task
from nbflow.checkpoint.sqlite import SqliteSaver
from nbflow.testing.executors import Marks


@contextlib.contextmanager
def local_cluster() -> Iterator:
    """The tests' cluster: 2 worker processes of 1 thread each (the machine has 2 cores), and a client."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                      scheduler_kwargs={"dashboard": False}, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def chain(saver, executor, marks_dir: str, delay: float = 0.3):
    """N sequential remote tasks; task i marks ``run i`` when it starts and ``done i`` when it ends."""
    marks = Marks(marks_dir)

    @task
    def step(i: int, acc: int) -> int:
        marks.add(f"run {i}")
        time.sleep(delay)
        marks.add(f"done {i}")
        return acc + i

    @entrypoint(checkpointer=saver, executor=executor)
    def run_chain(n: int) -> int:
        acc = 0
        for i in range(n):
            acc = step(i, acc).result()
        return acc

    return run_chain


if __name__ == "__main__":
    from distributed import Client

    from nbflow.executors.dask import DaskExecutor

    address, db, marks_dir, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = Client(address)
    wf = chain(SqliteSaver(db), DaskExecutor(client), marks_dir)
    print(wf.invoke(n, {"configurable": {"thread_id": "driver"}}), flush=True)
