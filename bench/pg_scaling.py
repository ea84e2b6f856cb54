#!/usr/bin/env python3
"""How many checkpoint writes per second one PostgreSQL takes: many processes hammering it.

    python bench/pg_scaling.py                       # a throwaway server, 1..16 processes, 5 s each
    python bench/pg_scaling.py --procs 1 4 16 --seconds 3
    python bench/pg_scaling.py --uri postgresql://user@host/db   # an existing database (its own schema)
    python bench/pg_scaling.py --synchronous-commit off          # commits acknowledged before the WAL flush

Each writer process plays one kernel running workflows: it opens a
:class:`~nbflow.checkpoint.postgres.PostgresSaver` (its own pool) and, until the
time is up, runs "tasks" on threads of its own (``--threads-per-proc`` at once,
like a fan-out): every task is one ``put_writes`` of a 200-byte result row, and
every 20th write of a thread adds a checkpoint -- the write pattern of the run
loop. Workflow threads are spread over ``thread_id``s so rows of different
processes never touch the same thread, exactly as independent notebook threads.

Printed per process count: committed task writes per second, put_writes latency
(p50/p99), and where the CPU went (writer processes vs the server's processes),
so one sees what saturates first. Bounded: loopback only, a fixed duration, and
the server (when started here) is removed at the end. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _writer(uri: str, tag: str, threads: int, start_at: float, seconds: float, sync: str | None, out) -> None:
    from nbflow.checkpoint import CheckpointRecord, WriteRecord, new_checkpoint_id
    from nbflow.checkpoint.postgres import PostgresSaver

    saver = PostgresSaver.open(uri, pool_size=max(2, threads), synchronous_commit=sync)
    payload = b"x" * 200
    lat: list[float] = []
    counts = [0] * threads
    lock = threading.Lock()
    while time.time() < start_at:
        time.sleep(0.001)
    stop_at = time.perf_counter() + seconds

    def run(i: int) -> None:
        mine: list[float] = []
        n = 0
        tid = f"{tag}-{i}"
        cid = new_checkpoint_id()
        saver.put_checkpoint(CheckpointRecord(tid, "", cid, None, time.time(), 0, "input", b"{}", b"{}"))
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            saver.put_writes([WriteRecord(tid, "", cid, f"task-{n}", "work", str(n), "result", payload)])
            mine.append(time.perf_counter() - t0)
            n += 1
            if n % 20 == 0:
                parent, cid = cid, new_checkpoint_id()
                saver.put_checkpoint(CheckpointRecord(tid, "", cid, parent, time.time(), n, "loop", b"{}", b"{}"))
        with lock:
            lat.extend(mine)
            counts[i] = n

    cpu0 = time.process_time()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    cpu = time.process_time() - cpu0
    out.put({"writes": sum(counts), "lat": lat, "cpu": cpu})
    # stay connected a moment, so the parent can read the server backends' CPU
    time.sleep(max(0.0, start_at + seconds + 3.0 - time.time()))
    saver.close()


def _server_cpu(pid: int) -> float:
    """CPU seconds used so far by the postmaster ``pid`` and its children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid = int(fields[1])
        if int(entry) == pid or ppid == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _postmaster_pid(server) -> int | None:
    if server is None:
        return None
    try:
        with open(os.path.join(server.root, "data", "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def run_one(uri: str, procs: int, threads: int, seconds: float, sync: str | None, server) -> dict:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 2.0  # every process connected and waiting
    ps = [ctx.Process(target=_writer, args=(uri, f"p{procs}-{k}", threads, start_at, seconds, sync, out))
          for k in range(procs)]
    for p in ps:
        p.start()
    pm = _postmaster_pid(server)
    while time.time() < start_at:
        time.sleep(0.001)
    s0, w0 = (_server_cpu(pm) if pm else None), time.perf_counter()
    results = [out.get(timeout=seconds + 120) for _ in ps]
    wall = time.perf_counter() - w0
    s1 = _server_cpu(pm) if pm else None
    for p in ps:
        p.join(30)
    lat = sorted(x for r in results for x in r["lat"])
    writes = sum(r["writes"] for r in results)
    return {
        "procs": procs,
        "threads_per_proc": threads,
        "writes": writes,
        "writes_per_s": writes / seconds,
        "p50_ms": 1000 * statistics.median(lat) if lat else None,
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))] if lat else None,
        "client_cpu_s": sum(r["cpu"] for r in results),
        "server_cpu_s": None if s0 is None else s1 - s0,
        "wall_s": wall,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", help="an existing database (default: start a throwaway server)")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--threads-per-proc", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--synchronous-commit", choices=["on", "off"], default=None)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)
    if max(args.procs) > 64 or args.seconds > 60:
        ap.error("bounded on purpose: at most 64 processes and 60 s per step")

    import psycopg

    from nbflow.checkpoint.postgres import PostgresSaver

    server = None
    if args.uri is None:
        from nbflow.checkpoint.conformance.pgserver import TempPostgres

        server = TempPostgres(settings={"max_connections": "400"}).start()
        base = server.uri
    else:
        base = args.uri
    rows = []
    try:
        schema = f"nbflow_scaling_{os.getpid()}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in base else "?"
        uri = f"{base}{sep}options=-csearch_path%3D{schema}"
        with PostgresSaver.from_conn_string(uri) as saver:
            saver.setup()
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; synchronous_commit="
              f"{args.synchronous_commit or 'server default'}; {args.threads_per_proc} task threads/process; "
              f"{args.seconds:g} s per step", flush=True)
        print(f"{'procs':>5} {'writes/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'client cpu':>11} {'server cpu':>11}")
        for n in args.procs:
            r = run_one(uri, n, args.threads_per_proc, args.seconds, args.synchronous_commit, server)
            rows.append(r)
            cpu = lambda v: "—" if v is None else f"{v / r['wall_s']:.2f} cores"  # noqa: E731
            print(f"{n:>5} {r['writes_per_s']:>10,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                  f"{cpu(r['client_cpu_s']):>11} {cpu(r['server_cpu_s']):>11}", flush=True)
        if args.uri is not None:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        if server is not None:
            server.stop()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
