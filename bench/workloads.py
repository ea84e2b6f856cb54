"""Benchmark workloads, each written once and run on nbflow and on LangGraph.

Every workload is a function ``fn(lib, quick) -> dict`` where ``lib`` is a
namespace with the attributes

    name, version, entrypoint, task, interrupt, Command, InMemorySaver,
    make_sqlite_saver(path), make_sqlite_conn_saver(path), make_postgres_saver(uri),
    get_stream_writer (or None)

so the workflow code below is the same for both libraries; only
:func:`load_lib` knows where each name comes from. A workload returns
``{"value": float, ...details}`` or ``{"skipped": "reason"}``; it raises on a
wrong result. No timing is asserted anywhere.

``run.py`` runs each (library, workload) pair in a subprocess of its own.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tempfile
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LIBRARIES = ("nbflow", "langgraph")


# --------------------------------------------------------------------------
# the two libraries behind one namespace


def _dist_version(dist: str, module: Any = None) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return str(getattr(module, "__version__", "?"))


def load_lib(name: str) -> types.SimpleNamespace:
    """The namespace the workloads use, for ``"nbflow"`` or ``"langgraph"``."""
    if name == "langgraph":
        import sqlite3

        import langgraph
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.func import entrypoint, task
        from langgraph.types import Command, interrupt

        try:
            from langgraph.config import get_stream_writer
        except ImportError:  # pragma: no cover - older releases
            get_stream_writer = None

        def make_sqlite_saver(path: str) -> Any:
            return SqliteSaver(sqlite3.connect(path, check_same_thread=False))

        def make_postgres_saver(uri: str) -> Any:
            # langgraph-checkpoint-postgres's documented setup: one autocommit
            # connection, dict rows, no server-side prepared statements.
            import psycopg
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg.rows import dict_row

            conn = psycopg.connect(uri, autocommit=True, prepare_threshold=0, row_factory=dict_row)
            saver = PostgresSaver(conn)
            saver.setup()
            saver._bench_close = conn.close
            return saver

        return types.SimpleNamespace(
            make_sqlite_conn_saver=make_sqlite_saver,  # the idiom of LangGraph's docs
            name="langgraph",
            version=_dist_version("langgraph", langgraph),
            entrypoint=entrypoint,
            task=task,
            interrupt=interrupt,
            Command=Command,
            InMemorySaver=InMemorySaver,
            make_sqlite_saver=make_sqlite_saver,
            make_postgres_saver=make_postgres_saver,
            get_stream_writer=get_stream_writer,
        )

    if name == "nbflow":
        import nbflow

        def make_sqlite_saver(path: str) -> Any:
            return nbflow.SqliteSaver(path)

        def make_sqlite_conn_saver(path: str) -> Any:  # LangGraph's docs' idiom, on nbflow
            import sqlite3

            return nbflow.SqliteSaver(sqlite3.connect(path, check_same_thread=False))
        def make_postgres_saver(uri: str) -> Any:
            from nbflow.checkpoint.postgres import PostgresSaver

            saver = PostgresSaver.open(uri)
            saver.setup()
            saver._bench_close = saver.close
            return saver

        return types.SimpleNamespace(
            make_sqlite_conn_saver=make_sqlite_conn_saver,
            name="nbflow",
            version=_dist_version("nbflow", nbflow),
            entrypoint=nbflow.entrypoint,
            task=nbflow.task,
            interrupt=nbflow.interrupt,
            Command=nbflow.Command,
            InMemorySaver=nbflow.InMemorySaver,
            make_sqlite_saver=make_sqlite_saver,
            make_postgres_saver=make_postgres_saver,
            get_stream_writer=getattr(nbflow, "get_stream_writer", None),
        )

    raise ValueError(f"unknown library {name!r}; expected one of {LIBRARIES}")


# --------------------------------------------------------------------------
# helpers


def _config() -> dict:
    """A config with a fresh thread_id."""
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


class _Savers:
    """Makes checkpointers of a kind; SQLite files go in a temporary folder,
    Postgres savers each get a new database on a server of their own (a real
    PostgreSQL from the system's packages, started here: see pgserver.py)."""

    def __init__(self, lib: types.SimpleNamespace):
        self.lib = lib
        self.tmp = tempfile.TemporaryDirectory(prefix="nbflow-bench-")
        self.count = 0
        self.pg: Any = None
        self.made: list[Any] = []

    def make(self, kind: str) -> Any:
        if kind == "memory":
            return self.lib.InMemorySaver()
        if kind == "sqlite":
            self.count += 1
            path = os.path.join(self.tmp.name, f"bench-{self.count}.sqlite")
            return self.lib.make_sqlite_saver(path)
        if kind == "sqlite_conn":  # SqliteSaver(sqlite3.connect(path, check_same_thread=False))
            self.count += 1
            path = os.path.join(self.tmp.name, f"bench-{self.count}.sqlite")
            return self.lib.make_sqlite_conn_saver(path)
        if kind in ("postgres", "postgres_async"):
            import psycopg

            if self.pg is None:
                # postgres_async: the server acknowledges commits before flushing its
                # WAL (synchronous_commit=off) -- both libraries then pay no disk
                # flush per commit, so the figure is the libraries' own overhead.
                extra = {"synchronous_commit": "off"} if kind == "postgres_async" else {}
                self.pg = _temp_postgres(extra).start()
            self.count += 1
            name = f"bench_{self.count}"
            with psycopg.connect(self.pg.uri, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            saver = self.lib.make_postgres_saver(self.pg.uri_for(name))
            self.made.append(saver)
            return saver
        raise ValueError(kind)

    def close(self) -> None:
        for saver in self.made:
            try:
                saver._bench_close()
            except Exception:
                pass
        if self.pg is not None:
            self.pg.stop()
        try:
            self.tmp.cleanup()
        except Exception:
            pass


def _temp_postgres(settings: dict) -> Any:
    """nbflow's TempPostgres, loaded from its file so the LangGraph worker never imports nbflow."""
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.dirname(here), "nbflow", "checkpoint", "conformance", "pgserver.py")
    spec = importlib.util.spec_from_file_location("_nbflow_bench_pgserver", path)
    mod = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod.TempPostgres(settings={"max_connections": "200", **settings})


def _check(label: str, got: Any, want: Any) -> None:
    if got != want:
        raise AssertionError(f"{label}: wrong result {got!r:.200}, expected {want!r:.200}")


# --------------------------------------------------------------------------
# workflows (identical for both libraries)


def fanout_app(lib, checkpointer):
    """Submit n trivial sync tasks, then collect every ``.result()``."""

    @lib.task
    def inc(x: int) -> int:
        return x + 1

    @lib.entrypoint(checkpointer=checkpointer)
    def fanout(n: int) -> int:
        futures = [inc(i) for i in range(n)]
        return sum(f.result() for f in futures)

    return fanout


def chain_app(lib, checkpointer):
    """n trivial sync tasks, each waiting for the one before."""

    @lib.task
    def inc(x: int) -> int:
        return x + 1

    @lib.entrypoint(checkpointer=checkpointer)
    def chain(n: int) -> int:
        x = 0
        for _ in range(n):
            x = inc(x).result()
        return x

    return chain


def echo_app(lib, checkpointer):
    """No tasks: returns its input."""

    @lib.entrypoint(checkpointer=checkpointer)
    def echo(x: Any) -> Any:
        return x

    return echo


def sleepy_sync_app(lib, checkpointer, seconds: float):
    @lib.task
    def nap(i: int) -> int:
        time.sleep(seconds)
        return i

    @lib.entrypoint(checkpointer=checkpointer)
    def naps(n: int) -> int:
        futures = [nap(i) for i in range(n)]
        return sum(f.result() for f in futures)

    return naps


def sleepy_async_app(lib, checkpointer, seconds: float):
    @lib.task
    async def anap(i: int) -> int:
        await asyncio.sleep(seconds)
        return i

    @lib.entrypoint(checkpointer=checkpointer)
    async def anaps(n: int) -> int:
        futures = [anap(i) for i in range(n)]
        total = 0
        for f in futures:
            total += await f
        return total

    return anaps


ASKING = (3, 7)  # the tasks of the interrupt workflow that ask a human


def interrupt_app(lib, checkpointer):
    """Fan-out of n tasks; those in ASKING call interrupt()."""

    @lib.task
    def step(i: int) -> Any:
        if i in ASKING:
            return lib.interrupt({"ask": i})
        return i

    @lib.entrypoint(checkpointer=checkpointer)
    def review(n: int) -> list:
        futures = [step(i) for i in range(n)]
        return [f.result() for f in futures]

    return review


def stream_app(lib, checkpointer):
    @lib.entrypoint(checkpointer=checkpointer)
    def emit(n: int) -> int:
        write = lib.get_stream_writer()
        for i in range(n):
            write(i)
        return n

    return emit


def _pending_interrupts(result: Any) -> list:
    if isinstance(result, dict):
        return list(result.get("__interrupt__") or ())
    return []


def run_with_resumes(lib, app, n: int, max_rounds: int = 10) -> tuple[Any, int]:
    """Run the interrupt workflow on a fresh thread, answering every interrupt.

    Each round answers all interrupts the last call returned, by id, in one
    ``Command(resume={id: value, ...})``; a library that surfaces one
    interrupt at a time just takes more rounds.
    """
    config = _config()
    result = app.invoke(n, config)
    rounds = 0
    while True:
        pending = _pending_interrupts(result)
        if not pending:
            return result, rounds
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"still interrupted after {max_rounds} resumes: {pending!r:.200}")
        answers = {i.id: f"answer-{i.value['ask']}" for i in pending}
        result = app.invoke(lib.Command(resume=answers), config)


# --------------------------------------------------------------------------
# measurements


def _per_task_overhead(lib, quick: bool, make_app, n: int, kind: str, want: Callable[[int], Any],
                       bare: str | None = None, **invoke_kw: Any) -> dict:
    """µs per task = (median t(n tasks) - median t(0 tasks)) / n, fresh thread each run.

    ``bare``: the name of the bare limit (:mod:`bare`) measured next in the same process, for nbflow
    (``bare_us``, and ``x_bare`` = nbflow's figure / the limit's)."""
    runs = 3 if quick else 7
    savers = _Savers(lib)
    try:
        app = make_app(lib, savers.make(kind))
        _check("warm-up", app.invoke(10, _config(), **invoke_kw), want(10))
        app.invoke(0, _config(), **invoke_kw)
        empty, full = [], []
        for _ in range(runs):
            for _ in range(3):
                dt, _out = _timed(lambda: app.invoke(0, _config(), **invoke_kw))
                empty.append(dt)
            dt, out = _timed(lambda: app.invoke(n, _config(), **invoke_kw))
            _check(f"{n} tasks", out, want(n))
            full.append(dt)
        t_empty, t_full = statistics.median(empty), statistics.median(full)
        out = {
            "value": (t_full - t_empty) / n * 1e6,
            "tasks": n,
            "runs": runs,
            "median_run_s": t_full,
            "median_empty_run_s": t_empty,
        }
        if bare is not None and lib.name == "nbflow":
            import bare as limits

            fn = getattr(limits, bare)
            out["bare_us"] = fn(quick, savers.pg) if bare == "pg_flush" else fn(quick)
            out["x_bare"] = out["value"] / out["bare_us"]
        return out
    finally:
        savers.close()


def _fanout(kind: str, bare: str | None = None, **invoke_kw: Any):
    def fn(lib, quick):
        return _per_task_overhead(lib, quick, fanout_app, 1000, kind, lambda n: n * (n + 1) // 2, bare,
                                  **invoke_kw)

    return fn


def _chain(kind: str, bare: str | None = None, **invoke_kw: Any):
    def fn(lib, quick):
        return _per_task_overhead(lib, quick, chain_app, 200, kind, lambda n: n, bare, **invoke_kw)

    return fn


def _invoke(kind: str):
    def fn(lib, quick):
        calls = 100 if quick else 1000
        savers = _Savers(lib)
        try:
            app = echo_app(lib, savers.make(kind))
            config = _config()
            _check("first call", app.invoke({"x": 1}, config), {"x": 1})
            for _ in range(10):  # warm-up; the thread is checkpointed already
                app.invoke({"x": 1}, config)
            times = []
            gc.collect()
            for i in range(calls):
                t0 = time.perf_counter()
                app.invoke({"x": i}, config)
                times.append(time.perf_counter() - t0)
            return {
                "value": statistics.median(times) * 1e6,
                "calls": calls,
                "min_us": min(times) * 1e6,
            }
        finally:
            savers.close()

    return fn


def _sleep_sync(lib, quick):
    n, seconds, runs = 100, 0.05, (3 if quick else 5)
    savers = _Savers(lib)
    try:
        app = sleepy_sync_app(lib, savers.make("memory"), seconds)
        app.invoke(2, _config())
        times = []
        for _ in range(runs):
            dt, out = _timed(lambda: app.invoke(n, _config()))
            _check("sum", out, n * (n - 1) // 2)
            times.append(dt)
        return {"value": statistics.median(times), "tasks": n, "runs": runs, "min_s": min(times)}
    finally:
        savers.close()


def _sleep_async(lib, quick):
    n, seconds, runs = 1000, 0.05, (3 if quick else 5)
    savers = _Savers(lib)
    try:
        app = sleepy_async_app(lib, savers.make("memory"), seconds)

        async def main() -> list[float]:
            await app.ainvoke(2, _config())
            times = []
            for _ in range(runs):
                gc.collect()
                t0 = time.perf_counter()
                out = await app.ainvoke(n, _config())
                times.append(time.perf_counter() - t0)
                _check("sum", out, n * (n - 1) // 2)
            return times

        times = asyncio.run(main())
        return {"value": statistics.median(times), "tasks": n, "runs": runs, "min_s": min(times)}
    finally:
        savers.close()


def _reliability(lib, quick):
    runs, n = (100 if quick else 1000), 10
    want = [f"answer-{i}" if i in ASKING else i for i in range(n)]
    savers = _Savers(lib)
    try:
        app = interrupt_app(lib, savers.make("memory"))
        failures, examples, resumes = 0, [], 0
        t0 = time.perf_counter()
        for _ in range(runs):
            try:
                result, rounds = run_with_resumes(lib, app, n)
                resumes += rounds
                _check("final result", result, want)
            except BaseException as exc:  # GraphInterrupt etc. derive from BaseException
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures += 1
                if len(examples) < 3:
                    examples.append(f"{type(exc).__name__}: {exc}"[:300])
        return {
            "value": failures,
            "runs": runs,
            "seconds": time.perf_counter() - t0,
            "resumes_per_run": resumes / runs,
            "examples": examples,
        }
    finally:
        savers.close()


def _state_history(lib, quick):
    invocations, runs = 1000, (3 if quick else 5)
    savers = _Savers(lib)
    try:
        app = echo_app(lib, savers.make("sqlite"))
        if not hasattr(app, "get_state_history"):
            return {"skipped": f"{lib.name} entrypoints have no get_state_history()"}
        config = _config()
        t0 = time.perf_counter()
        for i in range(invocations):
            app.invoke(i, config)
        build_s = time.perf_counter() - t0
        times, count = [], 0
        for _ in range(runs):
            dt, snapshots = _timed(lambda: list(app.get_state_history(config)))
            times.append(dt)
            count = len(snapshots)
        if count < invocations:
            raise AssertionError(f"history has {count} snapshots for {invocations} invocations")
        return {
            "value": statistics.median(times) * 1e3,
            "invocations": invocations,
            "snapshots": count,
            "build_s": build_s,
        }
    finally:
        savers.close()


def _stream_custom(lib, quick):
    events, runs = 10_000, (3 if quick else 5)
    if lib.get_stream_writer is None:
        return {"skipped": f"{lib.name} has no get_stream_writer()"}
    savers = _Savers(lib)
    try:
        app = stream_app(lib, savers.make("memory"))
        if not hasattr(app, "stream"):
            return {"skipped": f"{lib.name} entrypoints have no stream()"}
        _check("invoke", app.invoke(10, _config()), 10)
        got = list(app.stream(10, _config(), stream_mode="custom"))
        _check("streamed events", got, list(range(10)))
        t_invoke, t_stream = [], []
        for _ in range(runs):
            dt, _out = _timed(lambda: app.invoke(events, _config()))
            t_invoke.append(dt)
            dt, got = _timed(lambda: sum(1 for _ in app.stream(events, _config(), stream_mode="custom")))
            _check("event count", got, events)
            t_stream.append(dt)
        ti, ts = statistics.median(t_invoke), statistics.median(t_stream)
        return {
            "value": (ts - ti) / events * 1e6,
            "events": events,
            "invoke_s": ti,
            "stream_s": ts,
            "stream_us_per_event": ts / events * 1e6,
        }
    finally:
        savers.close()


def _task_history(lib, quick):
    tasks, runs = 10_000, (3 if quick else 5)
    savers = _Savers(lib)
    try:
        app = fanout_app(lib, savers.make("sqlite"))
        if not hasattr(app, "get_task_history"):
            return {"skipped": f"{lib.name} keeps no per-task history"}
        config = _config()
        _check("run", app.invoke(tasks, config), sum(range(1, tasks + 1)))
        times, count = [], 0
        for _ in range(runs):
            dt, records = _timed(lambda: app.get_task_history(config))
            times.append(dt)
            count = len(records)
        if count != tasks:
            raise AssertionError(f"task history has {count} records for {tasks} tasks")
        return {"value": statistics.median(times) * 1e3, "tasks": tasks}
    finally:
        savers.close()


# --------------------------------------------------------------------------
# the list run.py reads


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    unit: str
    fn: Callable[[types.SimpleNamespace, bool], dict]
    # target: ("ratio", X)  langgraph/nbflow >= X (nbflow X times lower)
    #         ("below", X)  nbflow value < X
    #         ("equal", X)  nbflow value == X
    #         ("report", text)  no number yet: figures only
    target: tuple[str, Any]
    ratio: bool = True  # whether langgraph/nbflow means anything
    # issue 23: nbflow's figure / the bare limit's (bare.py, same process) must be <= this
    bare_target: float | None = None


# Issue 23's targets: <= 0.03x LangGraph in memory (a ratio of 33); against the bare limits, the
# chain <= 0.5x a pool chain, the fan-out <= 1.2x a pool fan-out, the SQLite chain <= 2x and fan-out
# <= 1x one raw WAL insert per task, the durable PostgreSQL chain <= 1.3x one commit's flush; on
# PostgreSQL >= 5x less time per task than LangGraph's PostgresSaver at the same durability.
WORKLOADS: list[Workload] = [
    Workload("fanout_memory", "fan-out 1000 tasks, memory", "µs/task", _fanout("memory", "pool_fanout"),
             ("ratio", 33), bare_target=1.2),
    Workload("fanout_sqlite", "fan-out 1000 tasks, SQLite", "µs/task", _fanout("sqlite", "sqlite_insert"),
             ("ratio", 10), bare_target=1.0),
    Workload("chain_memory", "chain 200 tasks, memory", "µs/task", _chain("memory", "pool_chain"), ("ratio", 33),
             bare_target=0.5),
    Workload("chain_sqlite", "chain 200 tasks, SQLite", "µs/task", _chain("sqlite", "sqlite_insert"), ("ratio", 10),
             bare_target=2.0),
    # Issue 7 §4: both libraries given SqliteSaver(sqlite3.connect(path, check_same_thread=False)).
    Workload("chain_sqlite_conn", "chain 200 tasks, SQLite user connection", "µs/task",
             _chain("sqlite_conn", "sqlite_insert"), ("ratio", 10), bare_target=2.0),
    Workload("invoke_sqlite_conn", "trivial invoke, SQLite user connection", "µs/call",
             _invoke("sqlite_conn"), ("ratio", 10)),
    # durability="sync" on both: every task's write committed before the run goes on
    Workload("fanout_postgres", "fan-out 1000 tasks, PostgreSQL, durability=sync both", "µs/task",
             _fanout("postgres", durability="sync"), ("ratio", 5)),
    Workload("chain_postgres", "chain 200 tasks, PostgreSQL, durability=sync both", "µs/task",
             _chain("postgres", "pg_flush", durability="sync"), ("ratio", 5), bare_target=1.3),
    # durability="async" on both (LangGraph's default)
    Workload("fanout_postgres_like", "fan-out 1000 tasks, PostgreSQL, durability=async both", "µs/task",
             _fanout("postgres", durability="async"), ("ratio", 5)),
    Workload("chain_postgres_like", "chain 200 tasks, PostgreSQL, durability=async both", "µs/task",
             _chain("postgres", durability="async"), ("ratio", 5)),
    Workload("fanout_postgres_async", "fan-out 1000 tasks, PostgreSQL, no WAL flush", "µs/task",
             _fanout("postgres_async"), ("ratio", 5)),
    Workload("chain_postgres_async", "chain 200 tasks, PostgreSQL, no WAL flush", "µs/task",
             _chain("postgres_async"), ("ratio", 5)),
    Workload("invoke_memory", "trivial invoke, memory", "µs/call", _invoke("memory"), ("ratio", 33)),
    Workload("invoke_sqlite", "trivial invoke, SQLite", "µs/call", _invoke("sqlite"), ("below", 100)),
    Workload("sleep_sync", "100 sync tasks x sleep 50 ms", "s", _sleep_sync, ("below", 0.15)),
    Workload("sleep_async", "1000 async tasks x sleep 50 ms", "s", _sleep_async, ("below", 0.15)),
    Workload(
        "reliability",
        "interrupt/resume runs: failures",
        "failures",
        _reliability,
        ("equal", 0),
        ratio=False,
    ),
    Workload(
        "state_history",
        "get_state_history, 1000 invocations, SQLite",
        "ms",
        _state_history,
        ("below", 20),
    ),
    Workload(
        "stream_custom",
        "stream custom overhead, 10k events",
        "µs/event",
        _stream_custom,
        ("below", 10),
    ),
    Workload(
        "task_history",
        "task history of a 10,000-task run, SQLite",
        "ms",
        _task_history,
        ("below", 100),
        ratio=False,
    ),
]

BY_KEY = {w.key: w for w in WORKLOADS}
