"""Task futures and parallelism: sync tasks on the pool, async tasks on the loop, both flavours from either kind of entrypoint."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from nbflow import (
    Command,
    InMemorySaver,
    entrypoint,
    interrupt,
    task,
)
from nbflow.testing.helpers import cfg


# ---------------------------------------------------------------- futures and parallelism
def test_sync_tasks_run_in_parallel():
    n = 100
    barrier = threading.Barrier(n, timeout=60)

    @task
    def wait_for_all(i: int) -> int:
        barrier.wait()  # only returns once all n tasks are running at once
        return i

    @entrypoint()
    def fan(k: int) -> int:
        futures = [wait_for_all(i) for i in range(k)]
        return sum(f.result() for f in futures)

    assert fan.invoke(n) == sum(range(n))


def test_async_tasks_run_concurrently_on_the_loop():
    n = 1000
    state = {"started": 0}

    @task
    async def wait_for_all(i: int) -> int:
        state["started"] += 1
        while state["started"] < n:
            await asyncio.sleep(0.001)
        return i

    @entrypoint()
    async def fan(k: int) -> int:
        return sum(await asyncio.gather(*[wait_for_all(i) for i in range(k)]))

    assert asyncio.run(asyncio.wait_for(fan.ainvoke(n), 20)) == sum(range(n))


def test_sync_task_awaited_from_async_entrypoint(checkpointer):
    @task
    def double(x: int) -> int:
        return 2 * x

    @entrypoint(checkpointer=checkpointer)
    async def wf(x: int) -> int:
        return await double(x) + double(x).result()

    assert asyncio.run(wf.ainvoke(3, cfg())) == 12


def test_async_entrypoint_invoke_from_sync_and_from_running_loop(checkpointer):
    @task
    async def inc(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    @entrypoint(checkpointer=checkpointer)
    async def wf(x: int) -> int:
        return await inc(x)

    assert wf.invoke(1, cfg("a")) == 2

    async def inside_a_cell():  # a Jupyter cell: the thread already runs an event loop
        return wf.invoke(10, cfg("b"))

    assert asyncio.run(inside_a_cell()) == 11


def test_async_task_called_from_sync_entrypoint():
    @task
    async def inc(x: int) -> int:
        return x + 1

    @entrypoint()
    def wf(x: int) -> int:
        return inc(x).result()

    assert wf.invoke(1) == 2


def test_tasks_calling_tasks_do_not_deadlock_small_pool(monkeypatch):
    from nbflow.executors import local as workers

    monkeypatch.setattr(workers, "_pool", workers.WorkerPool(2))

    @task
    def leaf(i):
        return i

    @task
    def mid(i):
        return sum(leaf(j).result() for j in range(i))

    @entrypoint()
    def wf(n):
        return sum(f.result() for f in [mid(i) for i in range(n)])

    assert wf.invoke(20) == sum(sum(range(i)) for i in range(20))


def test_task_runs_while_the_caller_does_other_work():
    started = threading.Event()

    @task
    def background() -> str:
        started.set()
        return "done"

    @entrypoint()
    def wf(_: Any) -> list:
        fut = background()
        # The caller is busy with its own code and has not asked for the result:
        # the task must start anyway (it is not deferred until .result()).
        ran_meanwhile = started.wait(10)
        return [ran_meanwhile, fut.result()]

    assert wf.invoke(0) == [True, "done"]


def test_sync_entrypoint_waits_for_an_async_task_inside_a_running_loop():
    @task
    async def a(x: int) -> int:
        await asyncio.sleep(0.05)
        return x + 1

    @entrypoint()
    def s(x: int) -> int:
        return a(x).result()

    @entrypoint(checkpointer=InMemorySaver())
    def paused(x: int) -> int:
        return a(x).result() + interrupt("more?")

    async def main() -> tuple:
        c = cfg("loop")
        first = paused.invoke(1, c)
        return s.invoke(9), first["__interrupt__"][0].value, paused.invoke(Command(resume=5), c)

    # the reproducer: every Jupyter cell runs inside an event loop like this one
    assert asyncio.run(asyncio.wait_for(main(), 30)) == (10, "more?", 7)
