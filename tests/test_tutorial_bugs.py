"""Bugs the tutorials writer found (issue 7 follow-up): a sync entrypoint waiting for an async task inside a
running event loop, the entrypoint cache, where the Mermaid picture draws interrupts, and the error for an
entrypoint returning task futures."""

from __future__ import annotations

import asyncio
import re

import pytest

from nbflow import (
    CachePolicy,
    Command,
    InMemoryCache,
    InMemorySaver,
    SerializationError,
    entrypoint,
    interrupt,
    task,
)


def cfg(tid: str) -> dict:
    return {"configurable": {"thread_id": tid}}


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


def test_entrypoint_cache_serves_the_result_for_the_same_input(checkpointer):
    runs: list = []

    @entrypoint(cache=InMemoryCache(), cache_policy=CachePolicy())
    def double(x: int) -> int:
        runs.append(x)
        return 2 * x

    assert [double.invoke(2), double.invoke(2), double.invoke(3)] == [4, 4, 6]
    assert runs == [2, 3]

    @entrypoint(checkpointer=checkpointer, cache=InMemoryCache(), cache_policy=CachePolicy(key_func=lambda d: d["k"]))
    async def triple(d: dict) -> int:
        runs.append(d)
        return 3 * d["v"]

    assert triple.invoke({"k": "a", "v": 1}, cfg("c1")) == 3
    assert triple.invoke({"k": "a", "v": 99}, cfg("c2")) == 3  # same key: cached, even on another thread
    assert runs == [2, 3, {"k": "a", "v": 1}]
    assert triple.get_state(cfg("c2")).values == 3  # still checkpointed as that thread's result


def _edges(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if "-->" in ln or "-.-" in ln]


def test_mermaid_attaches_parallel_interrupts_to_the_task_that_asked(checkpointer):
    @task
    def review(name: str) -> str:
        return interrupt(f"ok {name}?")

    @entrypoint(checkpointer=checkpointer)
    def flow(names: list[str]) -> list[str]:
        return [f.result() for f in [review(n) for n in names]]

    flow.invoke(["a", "b"], cfg("m1"))
    text = flow.get_graph_mermaid(cfg("m1"))
    nodes = dict(re.findall(r"    (i\d)\{\{\"ask: '(ok \w)", text))
    attached = dict(re.findall(r"(t\d) -\.- (i\d)", text))
    assert {nodes[i]: t for t, i in attached.items()} == {"ok a": "t0", "ok b": "t1"}


def test_mermaid_draws_a_body_interrupt_where_it_happened(checkpointer):
    @task
    def step(n: int) -> int:
        return n

    @entrypoint(checkpointer=checkpointer)
    def flow(_: int) -> int:
        a = step(1).result()
        ok = interrupt("go on?")
        return a + step(2).result() + ok

    flow.invoke(0, cfg("m2"))
    flow.invoke(Command(resume=10), cfg("m2"))
    edges = _edges(flow.get_graph_mermaid(cfg("m2")))
    assert edges == ["start --> t0", "t0 --> i0", "i0 --> t1", "t1 --> finish"]


def test_entrypoint_returning_task_futures_says_call_result(checkpointer):
    @task
    def t(x: int) -> int:
        return x

    @entrypoint(checkpointer=checkpointer)
    def forgot(xs: list[int]) -> list:
        return [t(x) for x in xs]

    with pytest.raises(SerializationError) as e:
        forgot.invoke([1, 2], cfg("fut"))
    assert "a task future (call .result() on it first)" in str(e.value) and "$[0]" in str(e.value)
    assert "TaskFuture" not in str(e.value) and "nbflow.engine" not in str(e.value)
