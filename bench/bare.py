"""The bare limits nbflow's per-task figures are compared with, measured in the same process and run.

Each function returns µs per task of the cheapest way to do one task's worth of that work with no
runtime at all (issue 23's baselines):

* :func:`pool_chain` -- ``ThreadPoolExecutor.submit(f, x).result()`` n times, each waiting for the last;
* :func:`pool_fanout` -- n ``submit`` calls, then every ``result()``;
* :func:`sqlite_insert` -- one raw ``INSERT`` committed on its own, per task, in a WAL file with
  ``synchronous=NORMAL`` (what a durable task write costs SQLite itself);
* :func:`pg_flush` -- one ``INSERT`` committed per task on a PostgreSQL server with
  ``synchronous_commit=on``: a round trip plus the commit's WAL flush.

The median of several runs is kept. Nothing here imports nbflow or LangGraph (the PostgreSQL server is
nbflow's test server, loaded from its file, as :mod:`workloads` does).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def _inc(x: int) -> int:
    return x + 1


def _median_per_task(run: Any, n: int, runs: int) -> float:
    run(n)  # warm-up: threads started, pages cached
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run(n)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / n * 1e6


def pool_chain(quick: bool, n: int = 200) -> float:
    with ThreadPoolExecutor() as pool:
        def run(k: int) -> None:
            x = 0
            for _ in range(k):
                x = pool.submit(_inc, x).result()
        return _median_per_task(run, n, 5 if quick else 15)


def pool_fanout(quick: bool, n: int = 1000) -> float:
    with ThreadPoolExecutor() as pool:
        def run(k: int) -> None:
            futures = [pool.submit(_inc, i) for i in range(k)]
            sum(f.result() for f in futures)
        return _median_per_task(run, n, 5 if quick else 15)


_ROW = b"x" * 96  # about one small task result with its bookkeeping


def sqlite_insert(quick: bool, n: int = 200) -> float:
    with tempfile.TemporaryDirectory(prefix="nbflow-bare-") as tmp:
        conn = sqlite3.connect(os.path.join(tmp, "bare.sqlite"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")

            def run(k: int) -> None:
                for _ in range(k):
                    conn.execute("INSERT INTO t (v) VALUES (?)", (_ROW,))  # autocommit: one transaction each
            return _median_per_task(run, n, 5 if quick else 15)
        finally:
            conn.close()


def pg_flush(quick: bool, server: Any, n: int = 200) -> float:
    """``server``: a started TempPostgres with ``synchronous_commit`` on (the default)."""
    import psycopg

    with psycopg.connect(server.uri, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bare_flush (k BIGSERIAL PRIMARY KEY, v BYTEA)")

        def run(k: int) -> None:
            for _ in range(k):
                conn.execute("INSERT INTO bare_flush (v) VALUES (%s)", (_ROW,))  # autocommit: one commit each
        return _median_per_task(run, n, 3 if quick else 7)
