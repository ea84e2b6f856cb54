#!/usr/bin/env python3
"""Tasks on Dask: nbflow's DaskExecutor against plain ``client.submit`` + ``client.gather``, in one run.

    python bench/dask_bench.py                 # 1,000 x 10 ms CPU tasks, 1,000 no-op tasks; 3 repeats
    python bench/dask_bench.py --tasks 500 --repeat 1 --cpu-ms 10
    python bench/dask_bench.py --json out.json
    python bench/dask_bench.py --scheduler tcp://host:8786   # a real cluster (ideal = CPU / its worker threads)

One ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)`` serves
every measurement, so the two sides see the same cluster:

* **cpu** -- N tasks each burning ``--cpu-ms`` of CPU (a busy loop on the
  thread's CPU clock). The ideal wall time is total CPU / workers. Printed: wall
  time of plain Dask and of nbflow (a fan-out of N ``@task(executor=...)`` calls
  from one ``@entrypoint`` with a ``SqliteSaver`` file: every result checkpointed),
  each as a ratio to the ideal; and the per-task overhead above the ideal,
  nbflow's divided by plain Dask's.
* **noop** -- N tasks that return at once: the cost of a task round trip alone
  (tasks/s through the scheduler), plain vs nbflow (with ``SqliteSaver``, and
  with no checkpointer, to separate nbflow's bookkeeping from the saver's).

The best of ``--repeat`` runs is kept per figure (the machine is shared; the
load average is printed). The driver's CPU (this process, which also hosts the
scheduler) and the workers' CPU are printed per run, to show what saturates
first. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def burn(i: int, seconds: float) -> int:
    """Spend ``seconds`` of this thread's CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    return i


def noop(i: int, seconds: float) -> int:
    return i


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each thread of this process, by thread name (Linux /proc; else empty)."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    tick = os.sysconf("SC_CLK_TCK")
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        name = names.get(int(tid), "other")
        name = "asyncio to_thread pool" if name.startswith("asyncio_") else name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _by_thread(before: dict[str, float]) -> dict[str, float]:
    after = thread_cpu()
    return {k: round(v - before.get(k, 0.0), 2) for k, v in after.items() if v - before.get(k, 0.0) >= 0.01}


def _worker_cpu(client: Any) -> float:
    return sum(client.run(time.process_time).values())


def plain(client: Any, fn: Any, n: int, seconds: float) -> dict:
    """Plain Dask: submit every call, gather every result."""
    w0, c0, th = _worker_cpu(client), time.process_time(), thread_cpu()
    t0 = time.perf_counter()
    futures = [client.submit(fn, i, seconds, pure=False) for i in range(n)]
    values = client.gather(futures)
    wall = time.perf_counter() - t0
    del futures
    assert values == list(range(n))
    return {"wall": wall, "driver_cpu": time.process_time() - c0, "worker_cpu": _worker_cpu(client) - w0,
            "driver_threads": _by_thread(th)}


def nbflow_fanout(client: Any, fn: Any, n: int, seconds: float, saver: str) -> dict:
    """nbflow: one entrypoint fanning out n remote task calls, every result recorded by the saver."""
    from nbflow import entrypoint, task
    from nbflow.checkpoint.memory import InMemorySaver
    from nbflow.checkpoint.sqlite import SqliteSaver
    from nbflow.executors.dask import DaskExecutor

    tmp = tempfile.mkdtemp(prefix="nbflow-dask-bench-")
    checkpointer = {"sqlite": lambda: SqliteSaver(os.path.join(tmp, "runs.db")), "memory": InMemorySaver,
                    "none": lambda: None}[saver]()
    step = task(fn, name=fn.__name__)

    @entrypoint(checkpointer=checkpointer, executor=DaskExecutor(client))
    def fan(k: int) -> list:
        futures = [step(i, seconds) for i in range(k)]
        return [f.result() for f in futures]

    config = {"configurable": {"thread_id": "bench"}} if checkpointer is not None else None
    w0, c0, th = _worker_cpu(client), time.process_time(), thread_cpu()
    t0 = time.perf_counter()
    values = fan.invoke(n, config)
    wall = time.perf_counter() - t0
    assert values == list(range(n))
    return {"wall": wall, "driver_cpu": time.process_time() - c0, "worker_cpu": _worker_cpu(client) - w0,
            "driver_threads": _by_thread(th)}


def best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["wall"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--cpu-ms", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the figures here too")
    ap.add_argument("--scheduler", help="use this running cluster (tcp://host:8786) instead of a LocalCluster")
    ap.add_argument("--cpu-only", action="store_true", help="only the CPU workload (plain and nbflow)")
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    n, seconds, workers = args.tasks, args.cpu_ms / 1000, 2
    load_before = os.getloadavg()
    out: dict = {"tasks": n, "cpu_ms": args.cpu_ms, "workers": workers, "cores": os.cpu_count(),
                 "load_before": load_before}

    with contextlib.ExitStack() as stack:
        if args.scheduler:
            client = stack.enter_context(Client(args.scheduler))
            workers = sum(client.nthreads().values())  # the ideal counts every worker thread
            out["workers"] = workers
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                                                       dashboard_address=None, scheduler_kwargs={"dashboard": False},
                                                       silence_logs=logging.CRITICAL))
            client = stack.enter_context(Client(cluster))
        plain(client, noop, 50, 0)  # warm up: imports and connections on every worker
        nbflow_fanout(client, noop, 50, 0, "none")
        runs: dict[str, list[dict]] = {}
        for _ in range(args.repeat):  # interleaved, so a burst of load hits both sides alike
            runs.setdefault("cpu plain", []).append(plain(client, burn, n, seconds))
            runs.setdefault("cpu nbflow sqlite", []).append(nbflow_fanout(client, burn, n, seconds, "sqlite"))
            if args.cpu_only:
                continue
            runs.setdefault("noop plain", []).append(plain(client, noop, n, 0))
            runs.setdefault("noop nbflow sqlite", []).append(nbflow_fanout(client, noop, n, 0, "sqlite"))
            runs.setdefault("noop nbflow none", []).append(nbflow_fanout(client, noop, n, 0, "none"))
    out["load_after"] = os.getloadavg()
    figures = {k: best(v) for k, v in runs.items()}
    out["runs"] = figures
    ideal = n * seconds / workers

    where = args.scheduler or "2-worker LocalCluster (processes, 1 thread each)"
    print(f"\nDask bench: {n} tasks, {where}, {os.cpu_count()} cores, "
          f"best of {args.repeat}; load average {load_before[0]:.1f} before, {out['load_after'][0]:.1f} after\n")
    print(f"{'run':<22}{'wall s':>9}{'tasks/s':>10}{'driver CPU s':>14}{'worker CPU s':>14}")
    for k, r in figures.items():
        print(f"{k:<22}{r['wall']:>9.3f}{n / r['wall']:>10.0f}{r['driver_cpu']:>14.2f}{r['worker_cpu']:>14.2f}")

    cp, cn = figures["cpu plain"], figures["cpu nbflow sqlite"]
    print("\ndriver CPU s by thread ('IO loop' is Dask's client and, for a LocalCluster, its scheduler):")
    for k in ("cpu plain", "cpu nbflow sqlite"):
        print(f"  {k:<20} {figures[k]['driver_threads']}")
    if args.cpu_only:
        print(f"\ncpu: nbflow / ideal {cn['wall'] / ideal:.2f}x, plain / ideal {cp['wall'] / ideal:.2f}x, "
              f"nbflow / plain {cn['wall'] / cp['wall']:.2f}x")
        return 0
    np_, nn = figures["noop plain"], figures["noop nbflow sqlite"]
    over_plain = (cp["wall"] - ideal) / n
    over_nb = (cn["wall"] - ideal) / n
    ratios = {
        "cpu: nbflow wall / ideal (target <= 1.3)": cn["wall"] / ideal,
        "cpu: plain Dask wall / ideal": cp["wall"] / ideal,
        "cpu: nbflow wall / plain Dask wall": cn["wall"] / cp["wall"],
        "cpu: per-task overhead above ideal, nbflow / plain (target <= 1.5)":
            over_nb / over_plain if over_plain > 0 else float("nan"),
        "noop: per-task round trip, nbflow+sqlite / plain (target <= 1.5)": nn["wall"] / np_["wall"],
        "noop: per-task round trip, nbflow (no saver) / plain": figures["noop nbflow none"]["wall"] / np_["wall"],
    }
    # What this machine allows whatever the other tenants do: the driver (client + LocalCluster's scheduler)
    # shares the cores with the workers, so wall >= (driver CPU + worker CPU) / cores.
    cores = os.cpu_count() or workers
    floor_plain = (cp["driver_cpu"] + cp["worker_cpu"]) / cores
    floor_nb = (cn["driver_cpu"] + cn["worker_cpu"]) / cores
    ratios["cpu: CPU-bound floor on this machine, nbflow / ideal"] = floor_nb / ideal
    ratios["cpu: CPU-bound floor on this machine, plain Dask / ideal"] = floor_plain / ideal
    ratios["cpu: driver CPU per task, nbflow / plain"] = cn["driver_cpu"] / cp["driver_cpu"]
    out["ideal"] = ideal
    out["per_task_overhead_ms"] = {"plain": over_plain * 1e3, "nbflow": over_nb * 1e3,
                                   "noop_plain": np_["wall"] / n * 1e3, "noop_nbflow": nn["wall"] / n * 1e3}
    out["ratios"] = ratios
    print(f"\nideal wall time (total CPU / workers): {ideal:.3f} s")
    print(f"per-task overhead above ideal: plain {over_plain * 1e3:.2f} ms, nbflow {over_nb * 1e3:.2f} ms; "
          f"no-op round trip: plain {np_['wall'] / n * 1e3:.2f} ms, nbflow {nn['wall'] / n * 1e3:.2f} ms\n")
    for k, v in ratios.items():
        print(f"  {k:<70} {v:6.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
