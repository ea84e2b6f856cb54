"""Clear errors for misuse: tasks and interrupt() outside a run, no checkpointer, values that cannot be stored, a missing thread_id."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import nbflow
from nbflow import (
    Command,
    ConfigError,
    SerializationError,
    TaskContextError,
    entrypoint,
    interrupt,
    task,
)
from nbflow.testing.helpers import cfg


# ---------------------------------------------------------------- clear errors
def test_task_outside_entrypoint():
    @task
    def lonely(x):
        return x

    with pytest.raises(TaskContextError, match="'lonely'.*@entrypoint"):
        lonely(1)


def test_interrupt_outside_run():
    with pytest.raises(TaskContextError):
        interrupt("x")


def test_generator_entrypoint_rejected():
    with pytest.raises(NotImplementedError, match="generator"):
        @entrypoint()
        def gen(x):
            yield x

    with pytest.raises(NotImplementedError):
        @entrypoint()
        async def agen(x):
            yield x


def test_interrupt_without_checkpointer():
    @entrypoint()
    def wf(x):
        return interrupt("q")

    with pytest.raises(nbflow.CheckpointerRequiredError, match="checkpointer"):
        wf.invoke(1)


def test_non_serializable_task_output_names_task_and_type(checkpointer):
    @task
    def leaky() -> Any:
        return threading.Lock()

    @entrypoint(checkpointer=checkpointer)
    def wf(_: Any) -> Any:
        return leaky().result()

    with pytest.raises(TypeError) as e:
        wf.invoke(0, cfg())
    assert isinstance(e.value, SerializationError)
    assert "'leaky'" in str(e.value) and "lock" in str(e.value).lower()


def test_returning_a_future_gets_a_hint(checkpointer):
    @task
    def inner() -> int:
        return 1

    @task
    def outer() -> Any:
        return inner()

    @entrypoint(checkpointer=checkpointer)
    def wf(_: Any) -> Any:
        return outer().result()

    with pytest.raises(SerializationError, match=r"\.result\(\)"):
        wf.invoke(0, cfg())


def test_missing_thread_id_shows_config(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def wf(x):
        return x

    with pytest.raises(ConfigError, match=r"\{'configurable': \{'thread_id'"):
        wf.invoke(1)
    with pytest.raises(ValueError):
        wf.invoke(1, {"configurable": {}})


def test_graph_api_command_fields_are_refused(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def wf(x):
        return interrupt("q")

    wf.invoke(1, cfg())
    with pytest.raises(ConfigError, match="resume"):
        wf.invoke(Command(goto="somewhere"), cfg())
    assert wf.invoke(Command(resume=2), cfg()) == 2  # still pending, nothing lost


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
