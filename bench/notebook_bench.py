#!/usr/bin/env python3
"""Benchmark the notebook layer: kernel cost per event, comm messages per second, cross-view latency.

    python bench/notebook_bench.py            # all figures
    python bench/notebook_bench.py --tasks 10000

Figures (printed, nothing asserted; targets from issue 9):

* a 10,000-task run feeding a run view through the process-wide tap: the
  kernel-side cost per event (fold into the thread model, batch, send;
  target < 10 µs), measured on prebuilt events and as the extra time of a
  real run shown in a view over the same run with nobody listening;
* comm messages per second while a long run streams (target < 100);
* a thread change made in "another cell" (plain ``wf.invoke(Command(...))``)
  reaching another view of that thread (target < 100 ms);
* the timeline view-model of a thread with M tasks.

Comm messages are counted, and JSON-encoded as a kernel would, by patching
the comm's ``publish_msg``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import comm  # noqa: E402

from nbflow import Command, InMemorySaver, SqliteSaver, entrypoint, interrupt, tap, task  # noqa: E402
from nbflow import events as ev  # noqa: E402
from nbflow.notebook.live import hub, reset_hub  # noqa: E402
from nbflow.notebook.thread import ThreadModel  # noqa: E402
from nbflow.notebook.views import timeline_model  # noqa: E402
from nbflow.notebook.widgets import RunView, show  # noqa: E402

MESSAGES = {"count": 0, "bytes": 0, "times": []}


def _publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
    text = json.dumps(data)  # what a kernel's session would serialize
    MESSAGES["count"] += 1
    MESSAGES["bytes"] += len(text)
    MESSAGES["times"].append((time.perf_counter(), getattr(self, "comm_id", ""), data))


comm.DummyComm.publish_msg = _publish_msg


def _rendered(view) -> None:
    """What a front end does when it draws a view: ask for the whole state once."""
    view._handle_custom_msg({"kind": "snapshot_request", "v": 2}, [])


def _reset_counts() -> None:
    MESSAGES.update(count=0, bytes=0, times=[])


def _task_events(n: int) -> list:
    events = [ev.RunStart((), "synthetic", "bench", None, False, ts=0.0)]
    for i in range(n):
        events.append(ev.TaskStart((), f"t{i}", "work", str(i), (i,), 0, 1.0))
        events.append(ev.TaskEnd((), f"t{i}", "work", str(i), i * i, None, (), False, False, 1.0, 1.001, 0))
    events.append(ev.RunEnd((), "synthetic", n, ts=2.0))
    return events


class _Wf:
    """Just enough of a workflow for a Live (name, checkpointer, get_invocations)."""

    name = "synthetic"

    def __init__(self):
        self.checkpointer = InMemorySaver()

    def get_invocations(self, config):
        return []


def bench_kernel_cost(n: int) -> dict:
    """Prebuilt events of an n-task run delivered by the tap to a thread shown in a run view."""
    reset_hub()
    h = hub()
    wf = _Wf()
    live = h.live(wf, "bench")
    view = RunView(live)
    _rendered(view)
    events = _task_events(n)
    items = [tap.TapEvent(wf.checkpointer, "bench", "synthetic", 1, e) for e in events]
    _reset_counts()
    t0 = time.perf_counter()
    for item in items:
        tap.publish(item)
    fold = time.perf_counter() - t0
    h.flush()
    total = time.perf_counter() - t0
    assert view.state["done"] == n, view.state["done"]
    return {"fold_us": fold / len(items) * 1e6, "total_us": total / len(items) * 1e6,
            "messages": MESSAGES["count"], "bytes": MESSAGES["bytes"]}


def bench_model_only(n: int) -> float:
    events = _task_events(n)
    model = ThreadModel("m", "t")
    t0 = time.perf_counter()
    for e in events:
        model.apply(e)
    model.take_changes()
    return (time.perf_counter() - t0) / len(events) * 1e6


def bench_real_run(n: int, repeat: int = 3) -> dict:
    """A real n-task workflow: nobody listening vs. the same run shown in a run view."""

    @task
    def work(i: int) -> int:
        return i * i

    @entrypoint(checkpointer=InMemorySaver())
    def many(k: int) -> int:
        return sum(work(i).result() for i in range(k))

    plain, viewed, messages = [], [], []
    for r in range(repeat):
        reset_hub()
        assert not tap.listening()
        t0 = time.perf_counter()
        many.invoke(n, {"configurable": {"thread_id": f"plain-{r}"}})
        plain.append(time.perf_counter() - t0)
        _reset_counts()
        t0 = time.perf_counter()
        view = show(many, n, {"configurable": {"thread_id": f"view-{r}"}})
        _rendered(view)
        view.wait()
        viewed.append(time.perf_counter() - t0)
        messages.append(MESSAGES["count"])
        assert view.status == "done" and view.state["done"] == n, view.state
    p, v = statistics.median(plain), statistics.median(viewed)
    events = 2 * n + 3  # task start + end per task, run start/end, checkpoints not counted
    return {"plain_ms": p * 1e3, "view_ms": v * 1e3, "extra_per_event_us": (v - p) / events * 1e6,
            "messages": max(messages)}


def bench_message_rate(n: int, seconds: float) -> dict:
    """n task calls spread over about ``seconds``: comm messages per second stay bounded by the flush rate."""
    reset_hub()
    pause = seconds / n

    @task
    def slow(i: int) -> int:
        time.sleep(pause)
        return i

    @entrypoint(checkpointer=InMemorySaver())
    def paced(k: int) -> int:
        return sum(slow(i).result() for i in range(k))

    _reset_counts()
    t0 = time.perf_counter()
    view = show(paced, n, {"configurable": {"thread_id": "paced"}})
    _rendered(view)
    view.wait()
    took = time.perf_counter() - t0
    return {"seconds": took, "messages": MESSAGES["count"], "per_second": MESSAGES["count"] / took}


def bench_cross_view(repeat: int = 20) -> dict:
    """Plain code answers a question; how long until another view of the thread has been sent the change."""
    reset_hub()

    @entrypoint(checkpointer=InMemorySaver())
    def ask(x: int) -> str:
        return interrupt("ok?")

    lat = []
    for i in range(repeat):
        cfg = {"configurable": {"thread_id": f"x{i}"}}
        a = show(ask, 1, cfg)
        a.wait()
        b = show(ask, config=cfg)
        _rendered(a)
        _rendered(b)
        hub().flush()
        _reset_counts()
        t0 = time.perf_counter()
        ask.invoke(Command(resume="yes"), cfg)  # "another cell"
        deadline = time.time() + 5
        got = None
        while got is None and time.time() < deadline:
            for ts, cid, data in list(MESSAGES["times"]):
                content = (data or {}).get("content") or {}
                if cid == b.comm.comm_id and (content.get("state") or {}).get("status") == "done":
                    got = ts
                    break
            else:
                time.sleep(0.001)
        lat.append((got - t0) * 1e3 if got else float("inf"))
    return {"median_ms": statistics.median(lat), "max_ms": max(lat)}


def bench_timeline(m: int, saver_kind: str) -> dict:
    @task
    def work(i: int) -> int:
        return i * i

    tmp = tempfile.mkdtemp()
    saver = InMemorySaver() if saver_kind == "memory" else SqliteSaver(os.path.join(tmp, "t.sqlite"))

    @entrypoint(checkpointer=saver)
    def many(k: int) -> int:
        futures = [work(i) for i in range(k)]
        return sum(f.result() for f in futures)

    cfg = {"configurable": {"thread_id": "t"}}
    many.invoke(m, cfg)
    t0 = time.perf_counter()
    invocations = many.get_invocations(cfg)
    load = time.perf_counter() - t0
    builds = []
    for _ in range(5):
        t0 = time.perf_counter()
        data = timeline_model("many", "t", invocations)
        builds.append(time.perf_counter() - t0)
    assert len(data["invocations"][0]["tasks"]) == m
    t0 = time.perf_counter()
    json.dumps(data)
    encode = time.perf_counter() - t0
    return {"load_ms": load * 1e3, "build_ms": statistics.median(builds) * 1e3, "encode_ms": encode * 1e3,
            "bytes": len(json.dumps(data))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--timeline-tasks", type=int, default=1_000)
    args = ap.parse_args()
    n, m = args.tasks, args.timeline_tasks

    print(f"run view of a {n:,}-task run (events come through nbflow.tap)")
    r = bench_kernel_cost(n)
    print(f"  kernel cost, prebuilt events → tap → thread model: {r['fold_us']:.2f} µs/event inline, "
          f"{r['total_us']:.2f} µs/event with the flush (target < 10); {r['messages']} comm messages, "
          f"{r['bytes'] / 1e6:.2f} MB")
    print(f"  thread-model fold alone:                          {bench_model_only(n):.2f} µs/event")
    r = bench_real_run(n)
    print(f"  real run: nobody listening {r['plain_ms']:.0f} ms, shown in a run view {r['view_ms']:.0f} ms "
          f"→ {r['extra_per_event_us']:.2f} µs/event extra, {r['messages']} comm messages")
    r = bench_message_rate(2000, 3.0)
    print(f"  long run ({r['seconds']:.1f} s): {r['messages']} comm messages = {r['per_second']:.0f}/s (target < 100)")
    r = bench_cross_view()
    print(f"  answer from another cell → other view of the thread: median {r['median_ms']:.1f} ms, "
          f"max {r['max_ms']:.1f} ms (target < 100)")
    print(f"timeline view-model, one invocation of {m:,} tasks")
    for kind in ("memory", "sqlite"):
        t = bench_timeline(m, kind)
        print(f"  {kind:6s}: build {t['build_ms']:.1f} ms (target < 200); get_invocations {t['load_ms']:.1f} ms; "
              f"JSON {t['encode_ms']:.1f} ms, {t['bytes'] / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
