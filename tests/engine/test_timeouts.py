"""Timeouts: task(timeout=...) / entrypoint(timeout=...), TimeoutPolicy, NodeTimeoutError (LangGraph 1.2.22's semantics)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from nbflow import (
    ConfigError,
    InMemorySaver,
    NodeTimeoutError,
    RetryPolicy,
    TimeoutPolicy,
    entrypoint,
    get_stream_writer,
    task,
)
from nbflow.engine.plugs import using
from nbflow.testing.executors import RecordingClock

CFG = {"configurable": {"thread_id": "t"}}
# Idle timeouts the tests expect NOT to fire get 20x the gap between beats (0.05 s), so a loaded
# machine cannot fire them by scheduling a beat late; the ones expected to fire cost IDLE seconds.
IDLE = 1.0


# ---------------------------------------------------------------- validated eagerly
@pytest.mark.parametrize("bad", [0, -1, timedelta(0), float("inf"), "5", True,
                                 TimeoutPolicy(run_timeout=0), TimeoutPolicy(idle_timeout=-2),
                                 TimeoutPolicy(run_timeout=1, refresh_on="sometimes")])
def test_bad_timeouts_are_refused_at_decoration(bad):
    with pytest.raises(ValueError) as info:
        task(timeout=bad)
    assert isinstance(info.value, ConfigError) and "task()" in str(info.value)
    with pytest.raises(ValueError, match="entrypoint"):
        entrypoint(timeout=bad)


def test_sync_functions_cannot_have_a_timeout():
    with pytest.raises(ValueError, match="only supported for async nodes.*Task 'slow' is sync"):
        @task(timeout=1)
        def slow() -> None: ...
    with pytest.raises(ValueError, match="Node 'wf' is sync"):
        @entrypoint(timeout=1)
        def wf(x): ...


def test_coercion_to_float_seconds():
    assert TimeoutPolicy.coerce(2) == TimeoutPolicy(run_timeout=2.0)
    assert TimeoutPolicy.coerce(timedelta(milliseconds=1500)) == TimeoutPolicy(run_timeout=1.5)
    assert TimeoutPolicy.coerce(TimeoutPolicy(idle_timeout=timedelta(seconds=3), refresh_on="heartbeat")) == \
        TimeoutPolicy(idle_timeout=3.0, refresh_on="heartbeat")
    assert TimeoutPolicy.coerce(TimeoutPolicy()) is None and TimeoutPolicy.coerce(None) is None


# ---------------------------------------------------------------- run timeouts
def test_task_run_timeout_cancels_the_attempt_and_is_recorded():
    cancelled = []

    @task(timeout=0.05)
    async def slow(x: int) -> int:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    @task(timeout=timedelta(seconds=5))
    async def quick(x: int) -> int:
        return x + 1

    @entrypoint(checkpointer=InMemorySaver())
    async def wf(x: int) -> int:
        first = await quick(x)
        return await slow(first)

    with pytest.raises(NodeTimeoutError) as info:
        wf.invoke(1, CFG)
    err = info.value
    assert err.node == "slow" and err.kind == "run" and err.timeout == 0.05 and err.run_timeout == 0.05
    assert err.idle_timeout is None and err.elapsed >= 0.05 and not isinstance(err, TimeoutError)
    assert "Node 'slow' exceeded its run timeout of 0.050s" in str(err)
    assert cancelled == [2]
    history = wf.get_task_history(CFG)
    assert [(t.name, t.outcome) for t in history] == [("quick", "ok"), ("slow", "error")]
    assert history[1].error.startswith("NodeTimeoutError: Node 'slow' exceeded")


def test_timeout_composes_with_retry_policy():
    attempts = []

    # 0.5 s: room for the quick third attempt on a loaded machine; the first two sleep 5 s
    @task(timeout=0.5, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.01, jitter=False))
    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            await asyncio.sleep(5)  # times out: NodeTimeoutError is retried by the default retry_on
        return "done"

    @entrypoint()
    async def wf(_: int) -> str:
        return await flaky()

    clock = RecordingClock()
    clock.monotonic = __import__("time").monotonic  # real time for the deadline, recorded retry waits
    with using(clock=clock):
        assert wf.invoke(0) == "done"
    assert len(attempts) == 3 and clock.slept == [0.01, 0.02]


def test_entrypoint_run_timeout():
    @entrypoint(checkpointer=InMemorySaver(), timeout=0.05)
    async def wf(x: int) -> int:
        await asyncio.sleep(5)
        return x

    with pytest.raises(NodeTimeoutError, match="Node 'wf' exceeded its run timeout"):
        wf.invoke(1, CFG)
    inv = wf.get_invocations(CFG)[-1]
    assert inv.status == "error" and inv.error.startswith("NodeTimeoutError")


def test_a_fast_attempt_is_not_affected():
    @task(timeout=TimeoutPolicy(run_timeout=5, idle_timeout=5))
    async def fast(x: int) -> int:
        return x * 3

    @entrypoint(timeout=5)
    async def wf(x: int) -> int:
        return await fast(x)

    assert wf.invoke(2) == 6
    assert asyncio.run(wf.ainvoke(3)) == 9


# ---------------------------------------------------------------- idle timeouts
def test_idle_timeout_is_refreshed_by_heartbeats_only_in_heartbeat_mode():
    @task(timeout=TimeoutPolicy(idle_timeout=IDLE, refresh_on="heartbeat"))
    async def beating(n: int, runtime) -> int:
        for _ in range(n):
            await asyncio.sleep(0.05)
            runtime.heartbeat()
        return n

    @task(timeout=TimeoutPolicy(idle_timeout=IDLE, refresh_on="heartbeat"))
    async def writing(n: int) -> int:
        write = get_stream_writer()
        for i in range(n):
            await asyncio.sleep(0.05)
            write(i)  # not progress under refresh_on="heartbeat"
        return n

    @entrypoint()
    async def wf(which: str) -> int:
        return await (beating(8) if which == "beat" else writing(100))  # 5 s: over IDLE

    assert wf.invoke("beat") == 8  # 0.4 s in all, never IDLE s without a heartbeat
    with pytest.raises(NodeTimeoutError) as info:
        list(wf.stream("write", stream_mode="custom"))
    assert info.value.kind == "idle" and info.value.timeout == IDLE


def test_auto_mode_counts_stream_chunks_and_task_calls_as_progress():
    @task
    async def step(i: int) -> int:
        await asyncio.sleep(0.05)
        return i

    @task(timeout=TimeoutPolicy(idle_timeout=IDLE))
    async def busy(n: int) -> int:
        write = get_stream_writer()
        for i in range(n):
            await asyncio.sleep(0.05)
            write(i)
        return n

    @entrypoint(timeout=TimeoutPolicy(idle_timeout=IDLE, run_timeout=10))
    async def wf(n: int) -> int:
        total = 0
        for i in range(n):  # each call is progress for the body
            total += await step(i)
        return total + await busy(n)

    chunks = list(wf.stream(6, stream_mode=["custom", "updates"]))
    assert ("updates", {"wf": 15 + 6}) in chunks
    assert [c for m, c in chunks if m == "custom"] == list(range(6))


def test_custom_chunks_are_progress_also_when_nobody_streams_them():
    @task(timeout=TimeoutPolicy(idle_timeout=IDLE))
    async def busy(n: int) -> int:
        write = get_stream_writer()
        for i in range(n):
            await asyncio.sleep(0.05)
            write(i)  # progress under refresh_on="auto", streamed or not
        return n

    @task(timeout=TimeoutPolicy(idle_timeout=IDLE))
    async def silent(n: int) -> int:
        for _ in range(n):
            await asyncio.sleep(0.05)
        return n

    @entrypoint()
    async def wf(which: str) -> int:
        return await (busy(8) if which == "busy" else silent(100))  # 5 s: over IDLE

    assert wf.invoke("busy") == 8  # 0.4 s in all; invoke streams nothing
    assert [c for m, c in wf.stream("busy", stream_mode=["updates"])] == [{"busy": 8}, {"wf": 8}]
    with pytest.raises(NodeTimeoutError) as info:
        wf.invoke("silent")
    assert info.value.kind == "idle"


def test_idle_timeout_fires_without_progress():
    @entrypoint(timeout=TimeoutPolicy(idle_timeout=0.05, run_timeout=10))
    async def wf(_: int) -> int:
        await asyncio.sleep(5)
        return 0

    with pytest.raises(NodeTimeoutError, match="exceeded its idle timeout of 0.050s without making progress"):
        wf.invoke(0)
