#!/usr/bin/env python3
"""The Workflows sidebar's kernel side (nbflow/notebook/comm.py) with many threads.

    python bench/lab_sidebar.py [--threads 1000] [--waiting 100] [--saver memory|sqlite]

Makes one workflow with THREADS threads, WAITING of them waiting for an answer
(the rest done), then times through a real (dummy-transport) comm:
* the first `list` (the kernel builds one thread model per thread),
* a warm `list` (models already live),
* with SQLite, the first `list` in a *new* process on the same file (a notebook reopened
  in a fresh kernel: import nbflow, define the workflow, open the sidebar),
* one live update: a waiting thread is answered from the sidebar and the time is
  taken from the answer until the kernel has pushed the thread's new item
  (run + fold + flush + item build + send).
Prints the figures; nothing is asserted (the targets are < 200 ms for the listing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1000)
    ap.add_argument("--waiting", type=int, default=100)
    ap.add_argument("--saver", choices=["memory", "sqlite"], default="memory")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--db", help=argparse.SUPPRESS)  # (child) list this SQLite file's threads, once
    args = ap.parse_args()
    if args.db:
        return list_in_new_process(args)

    import comm

    from nbflow import InMemorySaver, SqliteSaver
    from nbflow.notebook import comm as sidebar
    from nbflow.notebook.live import hub

    sent: list[dict] = []
    arrived = threading.Event()

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append(data or {})
        arrived.set()

    comm.DummyComm.publish_msg = publish_msg  # the transport only; everything else is the real path

    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "c.sqlite")
    saver = InMemorySaver() if args.saver == "memory" else SqliteSaver(db)
    flow = define_flow(saver, args.waiting)
    t0 = time.perf_counter()
    for i in range(args.threads):
        flow.invoke(i, {"configurable": {"thread_id": f"t{i}"}})
    make_s = time.perf_counter() - t0

    c = comm.create_comm(target_name=sidebar.TARGET)
    sidebar.Sidebar(c)

    def list_ms() -> tuple[float, dict]:
        sent.clear()
        t = time.perf_counter()
        c.handle_msg({"content": {"data": {"kind": "list", "v": 1}}})
        ms = (time.perf_counter() - t) * 1000
        return ms, sent[-1].get("data", sent[-1])

    cold, msg = list_ms()
    threads = msg["threads"]
    waiting = [t for t in threads if t["questions"]]
    warm = [list_ms()[0] for _ in range(5)]
    payload = len(json.dumps(msg))

    updates = []
    for item in waiting[:20]:
        sent.clear()
        arrived.clear()
        t = time.perf_counter()
        c.handle_msg({"content": {"data": {"kind": "answer", "v": 1, "workflow": "flow",
                                           "thread_id": item["thread_id"], "id": item["questions"][0]["id"],
                                           "value": "yes"}}})
        while True:
            msgs = [m.get("data", m) for m in list(sent)]
            done = [m for m in msgs if m.get("kind") == "thread" and m["thread"]["thread_id"] == item["thread_id"]
                    and m["thread"]["status"] == "done"]
            if done:
                break
            arrived.wait(5)
            arrived.clear()
        updates.append((time.perf_counter() - t) * 1000)
    hub().flush()
    fresh = None
    if args.saver == "sqlite":
        import subprocess

        out = subprocess.run([sys.executable, __file__, "--db", db, "--waiting", str(args.waiting)],
                             capture_output=True, text=True, check=True).stdout
        fresh = json.loads(out.strip().splitlines()[-1])
    res = {
        "saver": args.saver, "threads": len(threads), "waiting": len(waiting),
        "make_threads_s": round(make_s, 2),
        "list_cold_ms": round(cold, 1), "list_warm_ms_median": round(statistics.median(warm), 1),
        **({"list_new_process_ms": fresh["list_ms"], "new_process_import_and_define_ms": fresh["setup_ms"]}
           if fresh else {}),
        "list_payload_kb": round(payload / 1024, 1),
        "answer_to_push_ms_median": round(statistics.median(updates), 1),
        "answer_to_push_ms_max": round(max(updates), 1),
        "flush_interval_ms": round(hub().interval * 1000, 1),
    }
    for k, v in res.items():
        print(f"{k:28} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


def define_flow(saver: object, waiting: int) -> object:
    """The benchmark's workflow on ``saver`` (threads ``i < waiting`` wait for an answer), registered
    with the notebook session as a `%%entrypoint` cell would."""
    from nbflow import entrypoint, interrupt, task
    from nbflow.notebook.session import session

    @task
    def double(x):
        return 2 * x

    @entrypoint(checkpointer=saver)
    def flow(i):
        y = double(i).result()
        if i < waiting:
            return {"y": y, "answer": interrupt({"question": f"ok {i}?"})}
        return {"y": y}

    session().register(flow)
    return flow


def list_in_new_process(args: argparse.Namespace) -> None:
    """(child) A fresh kernel on an existing file: import, define the workflow, list once; prints JSON."""
    t0 = time.perf_counter()
    import comm

    from nbflow import SqliteSaver
    from nbflow.notebook import comm as sidebar

    sent: list[dict] = []
    comm.DummyComm.publish_msg = lambda self, msg_type, data=None, metadata=None, buffers=None, **k: sent.append(
        data or {})
    define_flow(SqliteSaver(args.db), args.waiting)
    c = comm.create_comm(target_name=sidebar.TARGET)
    sidebar.Sidebar(c)
    setup = (time.perf_counter() - t0) * 1000
    t = time.perf_counter()
    c.handle_msg({"content": {"data": {"kind": "list", "v": 1}}})
    ms = (time.perf_counter() - t) * 1000
    msg = sent[-1].get("data", sent[-1])
    assert len(msg["threads"]) > 0
    print(json.dumps({"list_ms": round(ms, 1), "setup_ms": round(setup, 1), "threads": len(msg["threads"])}))


if __name__ == "__main__":
    main()
