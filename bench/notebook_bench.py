#!/usr/bin/env python3
"""Benchmark the notebook layer: run-view overhead per event, comm messages, timeline build time.

    python bench/notebook_bench.py            # all figures
    python bench/notebook_bench.py --events 20000 --tasks 2000

Figures (printed, nothing asserted; targets from the issue):

* a run streaming N custom events into a run view: the kernel-side cost per
  event of the view (folding the event into the view-model, batching and
  sending; target < 20 µs) and the number of comm messages sent (target
  < 500 for 10,000 events). Comm messages are counted, and JSON-encoded as
  a kernel would, by patching the comm's ``publish_msg``;
* the view-model of a thread with M tasks (target < 200 ms for 1,000).
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

from nbflow import InMemorySaver, SqliteSaver, entrypoint, get_stream_writer, task  # noqa: E402
from nbflow import events as ev  # noqa: E402
from nbflow.notebook.runner import RunController  # noqa: E402
from nbflow.notebook.views import RunModel, timeline_model  # noqa: E402
from nbflow.notebook.widgets import RunView, show  # noqa: E402

MESSAGES = {"count": 0, "bytes": 0}


def _publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
    text = json.dumps(data)  # what a kernel's session would serialize
    MESSAGES["count"] += 1
    MESSAGES["bytes"] += len(text)


comm.DummyComm.publish_msg = _publish_msg


class _Replay:
    """A stand-in workflow whose stream_events yields prebuilt events (no runtime cost at all)."""

    name = "synthetic"
    checkpointer = None

    def __init__(self, events):
        self.events = events

    def stream_events(self, input, config=None, context=None):
        return iter(self.events)


def bench_view_overhead(n: int) -> dict:
    """Kernel-side cost of the run view alone: prebuilt events through consumer, model, batches, comm."""
    events = [ev.RunStart((), "synthetic", None, None, False)]
    events += [ev.Custom((), {"step": i, "note": "progress"}) for i in range(n)]
    events.append(ev.RunEnd((), "synthetic", n))
    MESSAGES.update(count=0, bytes=0)
    controller = RunController(_Replay(events), None)
    view = RunView(controller)
    base = MESSAGES["count"]
    t0 = time.perf_counter()
    controller.start(None)
    view.wait()
    elapsed = time.perf_counter() - t0
    return {"per_event_us": elapsed / n * 1e6, "messages": MESSAGES["count"] - base,
            "bytes": MESSAGES["bytes"], "status": view.status}


def bench_model_only(n: int) -> float:
    events = [ev.Custom((), {"step": i, "note": "progress"}) for i in range(n)]
    model = RunModel("m")
    t0 = time.perf_counter()
    for e in events:
        model.apply(e)
    model.take_ops()
    return (time.perf_counter() - t0) / n * 1e6


def bench_real_run(n: int, repeat: int = 3) -> dict:
    """A real workflow writing n custom events: plain stream_events vs. the same run in a run view."""

    @entrypoint()
    def chatty(k: int) -> int:
        w = get_stream_writer()
        for i in range(k):
            w({"step": i, "note": "progress"})
        return k

    plain, viewed, messages = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _e in chatty.stream_events(n):
            pass
        plain.append(time.perf_counter() - t0)
        MESSAGES.update(count=0, bytes=0)
        t0 = time.perf_counter()
        view = show(chatty, n)
        view.wait()
        viewed.append(time.perf_counter() - t0)
        messages.append(MESSAGES["count"])
        assert view.status == "done", view.status
    p, v = statistics.median(plain), statistics.median(viewed)
    return {"plain_ms": p * 1e3, "view_ms": v * 1e3, "extra_per_event_us": (v - p) / n * 1e6,
            "messages": max(messages)}


def bench_paced_run(n: int, seconds: float) -> dict:
    """The same n events spread over about ``seconds`` (a long run): messages stay bounded by the flush rate."""
    chunk = 100
    pause = seconds / (n / chunk)

    @entrypoint()
    def paced(k: int) -> int:
        w = get_stream_writer()
        for i in range(k):
            w({"step": i})
            if i % chunk == chunk - 1:
                time.sleep(pause)
        return k

    MESSAGES.update(count=0, bytes=0)
    t0 = time.perf_counter()
    view = show(paced, n)
    view.wait()
    return {"seconds": time.perf_counter() - t0, "messages": MESSAGES["count"]}


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
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--tasks", type=int, default=1_000)
    args = ap.parse_args()
    n, m = args.events, args.tasks

    print(f"run view, {n:,} custom events")
    r = bench_view_overhead(n)
    print(f"  view only (prebuilt events → model → batches → comm): {r['per_event_us']:.2f} µs/event "
          f"(target < 20), {r['messages']} comm messages (target < 500), {r['bytes'] / 1e6:.2f} MB sent")
    print(f"  view-model fold alone:                                {bench_model_only(n):.2f} µs/event")
    r = bench_real_run(n)
    print(f"  real run: stream_events alone {r['plain_ms']:.0f} ms, in a run view {r['view_ms']:.0f} ms "
          f"→ {r['extra_per_event_us']:.2f} µs/event extra, {r['messages']} comm messages")
    r = bench_paced_run(n, 2.0)
    print(f"  paced run ({r['seconds']:.1f} s): {r['messages']} comm messages "
          "(≤ 20 flushes/s, each one batch message + one state update)")
    print(f"timeline view-model, one invocation of {m:,} tasks")
    for kind in ("memory", "sqlite"):
        t = bench_timeline(m, kind)
        print(f"  {kind:6s}: build {t['build_ms']:.1f} ms (target < 200); get_invocations {t['load_ms']:.1f} ms; "
              f"JSON {t['encode_ms']:.1f} ms, {t['bytes'] / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
