"""The Mermaid picture of an invocation: where interrupts are drawn."""

from __future__ import annotations

import re

from nbflow import (
    Command,
    entrypoint,
    interrupt,
    task,
)
from nbflow.testing.helpers import cfg


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
