"""The entrypoint's parameters: previous, entrypoint.final, injected config/runtime/context, task names."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from nbflow import (
    InMemoryStore,
    Runtime,
    entrypoint,
    get_config,
    get_store,
    task,
)
from nbflow.testing.helpers import cfg


def test_previous_and_final_and_no_checkpointer():
    seen = []

    @entrypoint()
    def stateless(x: int, *, previous: Any = None) -> int:
        seen.append(previous)
        return x

    stateless.invoke(1)
    stateless.invoke(2)
    assert seen == [None, None]


def test_injection_config_runtime_context(checkpointer):
    @dataclass
    class Ctx:
        user: str

    @task
    def t_config(x: int, config: dict | None = None) -> Any:
        return config

    @entrypoint(checkpointer=checkpointer, context_schema=Ctx, store=InMemoryStore())
    def wf(x: int, *, config: dict, runtime: Runtime[Ctx], previous: Any = None) -> dict:
        injected = t_config(x).result()
        explicit = t_config(x, config={"mine": True}).result()
        return {
            "thread": config["configurable"]["thread_id"],
            "task_thread": injected["configurable"]["thread_id"],
            "explicit": explicit,
            "user": runtime.context.user,
            "same_store": runtime.store is get_store(),
            "get_config": get_config()["configurable"]["thread_id"],
            "previous": runtime.previous,
        }

    out = wf.invoke(1, cfg("tid"), context={"user": "ada"})
    assert out == {"thread": "tid", "task_thread": "tid", "explicit": {"mine": True}, "user": "ada",
                   "same_store": True, "get_config": "tid", "previous": None}


def test_task_names():
    def plain(x):
        return x

    class Greeter:
        def hello(self, x):
            return x

        def __call__(self, x):
            return x

    assert task(plain).name == "plain"
    assert task(name="custom")(plain).name == "custom"
    assert task(functools.partial(plain, 1)).name == "plain"
    assert task(Greeter().hello).name == "hello"
    assert task(Greeter()).name == "Greeter"
