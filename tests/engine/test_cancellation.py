"""Cancelling task futures and stopping running invocations (Workflow.stop)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import threading
import time

import pytest
from waiting import PATIENCE, wait_until

from nbflow import InMemorySaver, RunStopped, SqliteSaver, entrypoint, tap, task
from nbflow import events as ev
from nbflow.engine.plugs import using
from nbflow.executors import LOCAL
from nbflow.executors.base import JobFuture
from nbflow.testing.helpers import cfg

WAIT = PATIENCE




# ---------------------------------------------------------------- future.cancel()
def test_cancelling_an_async_task_future_cancels_the_coroutine(caplog):
    cancelled: list[int] = []
    entered = threading.Event()

    @task
    async def slow(x: int) -> int:
        entered.set()
        try:
            await asyncio.sleep(PATIENCE)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    @task
    async def fast(x: int) -> int:
        return x + 1

    @entrypoint(checkpointer=InMemorySaver())
    async def wf(x: int) -> dict:
        fut = slow(x)
        deadline = time.monotonic() + PATIENCE
        while not entered.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)  # until slow is waiting inside its sleep
        first = fut.cancel()
        try:
            await fut
            outcome = "finished"
        except asyncio.CancelledError:
            outcome = "cancelled"
        return {"cancel": first, "again": fut.cancel(), "await": outcome, "done": fut.cancelled(),
                "next": await fast(x)}

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        chunks = list(wf.stream(1, cfg("c"), stream_mode=["updates", "tasks"]))
        gc.collect()
    result = [c for m, c in chunks if m == "updates" and "wf" in c][0]["wf"]
    assert result == {"cancel": True, "again": True, "await": "cancelled", "done": True, "next": 2}
    assert cancelled == [1]
    # neither streamed as a result nor checkpointed
    assert not [c for m, c in chunks if m == "updates" and "slow" in c]
    slow_ends = [c for m, c in chunks if m == "tasks" and c.get("name") == "slow" and "result" in c]
    assert len(slow_ends) == 1 and slow_ends[0]["result"] == {}  # LangGraph: no writes → {}
    assert isinstance(slow_ends[0]["error"], asyncio.CancelledError)
    assert [(t.name, t.outcome) for t in wf.get_task_history(cfg("c"))] == [("fast", "ok")]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


def test_a_finished_or_running_sync_task_cannot_be_cancelled():
    running, release = threading.Event(), threading.Event()

    @task
    def busy(x: int) -> int:
        running.set()
        release.wait(WAIT)
        return x * 2

    @entrypoint(checkpointer=InMemorySaver())
    def wf(x: int) -> tuple:
        fut = busy(x)
        assert running.wait(WAIT)
        refused = fut.cancel()
        release.set()
        return refused, fut.result(), fut.cancel()

    assert wf.invoke(4, cfg("s")) == (False, 8, False)
    assert [(t.name, t.outcome) for t in wf.get_task_history(cfg("s"))] == [("busy", "ok")]


class HoldingExecutor:
    """A sync executor that keeps jobs until released (claims still run them inline)."""

    runs_coroutines = False

    def __init__(self) -> None:
        self.held: list[JobFuture] = []

    def submit(self, future: JobFuture, job, context: contextvars.Context) -> None:
        future.defer_to(lambda: context.run(job), lambda run: threading.Thread(target=run).start())
        self.held.append(future)

    def release(self) -> None:
        for fut in self.held:
            threading.Thread(target=fut.run_claimed).start()


def test_cancelling_a_sync_task_that_has_not_started_means_it_never_runs():
    ran: list[int] = []
    holding = HoldingExecutor()

    @task
    def job(x: int) -> int:
        ran.append(x)
        return x

    @entrypoint(checkpointer=InMemorySaver())
    def wf(_: int) -> list:
        futs = [job(i) for i in range(3)]
        cancelled = futs[1].cancel()
        holding.release()
        return [cancelled, futs[0].result(), futs[1].cancelled(), futs[2].result()]

    with using(executor=holding):
        assert wf.invoke(0, cfg("h")) == [True, 0, True, 2]
    wait_until(lambda: len(ran) >= 2, what="the two jobs left running")
    time.sleep(0.05)  # the cancelled job, if it wrongly ran, would show here
    assert sorted(ran) == [0, 2]
    assert [t.path for t in wf.get_task_history(cfg("h"))] == ["0", "2"]
    assert LOCAL is not holding


# ---------------------------------------------------------------- Workflow.stop
def _in_thread(fn):
    box: dict = {}

    def go():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - inspected by the test
            box["error"] = e
    t = threading.Thread(target=go)
    t.start()
    return t, box


def test_stop_a_sync_invocation_then_continue_it(tmp_path):
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    heard: list = []

    @task
    def quick(x: int) -> int:
        calls.append("quick")
        return x + 1

    @task
    def slow(x: int) -> int:
        calls.append("slow")
        started.set()
        release.wait(WAIT)
        return x * 10

    saver = SqliteSaver(str(tmp_path / "s.sqlite"))

    @entrypoint(checkpointer=saver)
    def wf(x: int) -> int:
        a = quick(x).result()
        fut = slow(a)
        started.wait(WAIT)  # slow runs on a worker thread (not claimed inline by this thread)
        return fut.result()

    unsubscribe = tap.subscribe(heard.append)
    try:
        assert wf.stop(cfg("t")) is False  # nothing running yet
        thread, box = _in_thread(lambda: wf.invoke(1, cfg("t")))
        assert started.wait(WAIT)
        assert wf.stop(cfg("t")) is True
        thread.join(PATIENCE)  # the caller is released although slow still runs
        assert not thread.is_alive() and isinstance(box.get("error"), RunStopped), box
        assert wf.stop(cfg("t")) is False  # over already
        release.set()  # the abandoned sync task finishes now: its result is dropped
        time.sleep(0.1)
        inv = wf.get_invocations(cfg("t"))[-1]
        assert inv.status == "stopped" and inv.error is None
        assert [(t.name, t.outcome) for t in inv.tasks] == [("quick", "ok")]
        # continue: quick is served from the journal, slow runs again
        started.clear()
        assert wf.invoke(None, cfg("t")) == 20
    finally:
        unsubscribe()
    assert calls == ["quick", "slow", "slow"]
    inv = wf.get_invocations(cfg("t"))[-1]
    assert inv.status == "done" and [(t.name, t.outcome) for t in inv.tasks] == [
        ("quick", "ok"), ("slow", "ok"), ("quick", "replayed")]
    edits = [e.event for e in heard if isinstance(e.event, tap.ThreadEdited)]
    assert [(e.kind, e.ns) for e in edits] == [("stop", ())]
    assert any(isinstance(e.event, ev.RunHalted) for e in heard)


def test_stop_an_async_invocation_cancels_its_tasks():
    cancelled: list[int] = []
    started = threading.Event()
    entered: list[int] = []

    @task
    async def slow(i: int) -> int:
        entered.append(i)
        started.set()
        try:
            await asyncio.sleep(PATIENCE)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    @task
    async def done(i: int) -> int:
        return i

    @entrypoint(checkpointer=InMemorySaver())
    async def wf(n: int) -> int:
        first = await done(0)
        return first + sum(await asyncio.gather(*[slow(i) for i in range(n)]))

    events: list = []
    thread, box = _in_thread(lambda: events.extend(wf.stream_events(3, cfg("a"))))
    assert started.wait(WAIT)
    wait_until(lambda: len(entered) == 3, what="all three slow tasks waiting")
    assert wf.stop(cfg("a"))
    thread.join(WAIT)
    assert "error" not in box and isinstance(events[-1], ev.RunHalted)
    assert sorted(cancelled) == [0, 1, 2]
    assert [(t.name, t.outcome) for t in wf.get_task_history(cfg("a"))] == [("done", "ok")]
    # continuing runs the cancelled tasks again; stream() raises RunStopped at the end, like invoke()
    started.clear()
    thread2, box2 = _in_thread(lambda: list(wf.stream(None, cfg("a"))))
    assert started.wait(WAIT)
    wait_until(lambda: len(entered) == 6, what="all three slow tasks waiting again")
    assert wf.stop(cfg("a"))
    thread2.join(WAIT)
    assert isinstance(box2.get("error"), RunStopped)
    assert sorted(cancelled) == [0, 0, 1, 1, 2, 2]


# ---------------------------------------------------------------- RunControl (LangGraph's cooperative drain)
def test_drain_requested_before_the_run_keeps_its_input_for_later():
    from nbflow import GraphDrained, RunControl

    ran: list[int] = []

    @entrypoint(checkpointer=InMemorySaver())
    def wf(x: int) -> int:
        ran.append(x)
        return x * 2

    control = RunControl()
    assert not control.drain_requested and control.drain_reason is None
    control.request_drain("sigterm")
    with pytest.raises(GraphDrained, match="Graph drained: sigterm") as info:
        wf.invoke(21, cfg("d"), control=control)
    assert info.value.reason == "sigterm" and ran == []
    assert wf.get_state(cfg("d")).next == ("wf",)  # the input is checkpointed, the run pending
    assert wf.invoke(None, cfg("d")) == 42 and ran == [21]


def test_a_running_body_sees_the_drain_request():
    from nbflow import RunControl

    control = RunControl()

    @task
    def step(i: int) -> int:
        if i == 2:
            control.request_drain("deploy")
        return i

    @entrypoint(checkpointer=InMemorySaver())
    def wf(n: int, runtime) -> dict:
        done = []
        for i in range(n):
            if runtime.drain_requested:
                break
            done.append(step(i).result())
        return {"done": done, "reason": runtime.drain_reason}

    assert wf.invoke(5, cfg("r"), control=control) == {"done": [0, 1, 2], "reason": "deploy"}
    assert asyncio.run(_collect(wf.astream(5, cfg("r2"), control=RunControl()))) == [
        {"step": 0}, {"step": 1}, {"step": 2}, {"step": 3}, {"step": 4},
        {"wf": {"done": [0, 1, 2, 3, 4], "reason": None}}]


async def _collect(aiter):
    return [c async for c in aiter]
