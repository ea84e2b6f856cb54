"""LangGraph 1.2.22's stream surface: version="v2" parts, the "tools" mode, config["callbacks"],
astream_events, and the keyword arguments invoke/stream accept."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.tools import tool

from nbflow import Command, InMemorySaver, entrypoint, get_stream_writer, interrupt, task
from nbflow.deprecations import LangGraphDeprecatedSinceV10, LangGraphDeprecatedSinceV11
from nbflow.testing.helpers import cfg
from nbflow.types import GraphOutput


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


def test_v2_parts_carry_type_ns_data_and_values_interrupts():
    @task
    def double(x: int) -> int:
        get_stream_writer()(f"in task {x}")
        return 2 * x

    @entrypoint(checkpointer=InMemorySaver())
    def flow(x: int) -> int:
        return interrupt("ok?") + double(x).result()

    parts = list(flow.stream(3, cfg("v2"), stream_mode=["values", "updates", "custom"], version="v2"))
    assert all(set(p) >= {"type", "ns", "data"} and p["ns"] == () for p in parts)
    values = [p for p in parts if p["type"] == "values"]
    assert len(values) == 1 and values[0]["data"] == {} and values[0]["interrupts"][0].value == "ok?"
    parts = list(flow.stream(Command(resume=1), cfg("v2"), stream_mode=["custom", "values"], version="v2"))
    assert parts == [{"type": "custom", "ns": (), "data": "in task 3"},
                     {"type": "values", "ns": (), "data": 7, "interrupts": ()}]


def test_invoke_v2_returns_graph_output_and_other_modes_return_chunks():
    @entrypoint(checkpointer=InMemorySaver())
    def flow(x: int) -> int:
        return interrupt("q") * x

    out = flow.invoke(2, cfg("g"), version="v2")
    assert isinstance(out, GraphOutput) and out.value == {} and out.interrupts[0].value == "q"
    with pytest.warns(LangGraphDeprecatedSinceV11):
        assert out["__interrupt__"] == out.interrupts
    assert flow.invoke(Command(resume=5), cfg("g"), version="v2") == GraphOutput(10, ())
    assert flow.invoke(3, cfg("g3"), stream_mode="updates")[0]["__interrupt__"][0].value == "q"


def test_tools_mode_reports_tool_calls_from_tasks_and_nested_tasks():
    @task
    def chat_and_echo() -> str:
        echo.invoke({"text": "done"})
        return GenericFakeChatModel(messages=iter(["one two"])).invoke("hi").content

    @task
    def outer() -> str:
        return chat_and_echo().result()

    @entrypoint()
    def flow(nested: bool) -> str:
        return (outer() if nested else chat_and_echo()).result()

    for nested in (False, True):
        parts = list(flow.stream(nested, stream_mode=["messages", "tools"], version="v2"))
        tools = [p["data"] for p in parts if p["type"] == "tools"]
        assert [t["event"] for t in tools] == ["tool-started", "tool-finished"]
        assert tools[0]["tool_name"] == "echo" and tools[0]["input"] == {"text": "done"}
        assert tools[1]["output"].content == "done" if hasattr(tools[1]["output"], "content") \
            else tools[1]["output"] == "done"
        assert tools[0]["tool_call_id"] == tools[1]["tool_call_id"]
        assert [p["data"][0].content for p in parts if p["type"] == "messages"] == ["one", " ", "two"]
    # v1 with a single mode: the payloads themselves
    assert [c["event"] for c in flow.stream(False, stream_mode="tools")] == ["tool-started", "tool-finished"]


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts: list[tuple] = []
        self.ends: list = []
        self.errors: list = []

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, name=None, metadata=None, **kw):
        self.starts.append((name, run_id, parent_run_id, inputs, dict(metadata or {})))

    def on_chain_end(self, outputs, *, run_id, **kw):
        self.ends.append((run_id, outputs))

    def on_chain_error(self, error, *, run_id, **kw):
        self.errors.append((run_id, type(error).__name__))


def test_config_callbacks_see_root_entrypoint_and_task_runs():
    @task
    def mapper(input: int) -> str:
        return str(input) * 2

    @task
    def broken(n: int) -> None:
        raise ValueError("no")

    @entrypoint(checkpointer=InMemorySaver())
    def graph(xs: list[int]) -> list[str]:
        out = [f.result() for f in [mapper(i) for i in xs]]
        try:
            broken(1).result()
        except ValueError:
            pass
        return out

    rec = Recorder()
    config = {"configurable": {"thread_id": "cb"}, "callbacks": [rec]}
    assert graph.invoke([0, 1], config) == ["00", "11"]
    (root, root_id, root_parent, _, root_meta), body = rec.starts[0], rec.starts[1]
    assert root == "LangGraph" and root_parent is None and root_meta["thread_id"] == "cb"
    assert body[0] == "graph" and body[2] == root_id and body[4]["langgraph_node"] == "graph"
    tasks = {s[0]: s for s in rec.starts[2:]}
    assert sorted(s[3]["input"] for s in rec.starts[2:] if s[0] == "mapper") == [0, 1]
    assert all(s[2] == body[1] for s in rec.starts[2:])  # tasks are children of the entrypoint's run
    assert tasks["broken"][3] == {"n": 1}
    assert (tasks["broken"][1], "ValueError") in rec.errors
    assert rec.ends[-1] == (root_id, ["00", "11"])
    # the same through stream(), and a run without callbacks builds none
    rec2 = Recorder()
    list(graph.stream([2], {"configurable": {"thread_id": "cb2"}, "callbacks": [rec2]}))
    assert [s[0] for s in rec2.starts] == ["LangGraph", "graph", "mapper", "broken"]


def test_astream_events_follow_langgraphs_order():
    @task
    async def my_task(number: int) -> int:
        await asyncio.sleep(0.05)
        return number * 2

    @entrypoint(checkpointer=InMemorySaver())
    async def my_workflow(number: int) -> str:
        await my_task(number)
        return "done"

    async def main() -> list:
        return [e async for e in my_workflow.astream_events(1, cfg("ev"))]

    events = asyncio.run(main())
    assert [(e["event"], e["name"]) for e in events] == [
        ("on_chain_start", "LangGraph"), ("on_chain_start", "my_workflow"), ("on_chain_start", "my_task"),
        ("on_chain_stream", "my_task"), ("on_chain_end", "my_task"), ("on_chain_stream", "my_workflow"),
        ("on_chain_stream", "LangGraph"), ("on_chain_end", "my_workflow"), ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph")]
    assert events[-1]["data"] == {"output": "done"}
    assert events[2]["data"] == {"input": {"number": 1}} and events[2]["metadata"]["langgraph_step"] == 0


def test_unknown_keyword_arguments_raise_type_error_naming_them():
    @entrypoint()
    def flow(x: int) -> int:
        return x

    for call in (lambda: flow.invoke(1, foo=1), lambda: list(flow.stream(1, bar=2, baz=3))):
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            call()
    with pytest.raises(TypeError, match="'bar', 'baz'"):
        flow.stream(1, bar=2, baz=3)
    with pytest.raises(TypeError, match="'nope'"):
        asyncio.run(flow.ainvoke(1, nope=True))

    async def astream() -> list:
        return [c async for c in flow.astream(1, nope=True)]
    with pytest.raises(TypeError, match="'nope'"):
        asyncio.run(astream())
    # LangGraph's own keyword arguments keep working
    assert flow.invoke(1, durability="exit", output_keys=None, print_mode=(), control=None, version="v1") == 1
    assert list(flow.stream(1, durability="sync", subgraphs=False, debug=False)) == [{"flow": 1}]
    with pytest.warns(LangGraphDeprecatedSinceV10, match="checkpoint_during"):
        assert flow.invoke(1, checkpoint_during=True) == 1
    with pytest.raises(ValueError, match="both `checkpoint_during` and `durability`"), \
            pytest.warns(LangGraphDeprecatedSinceV10, match="checkpoint_during"):
        flow.invoke(1, checkpoint_during=True, durability="exit")
    with pytest.raises(NotImplementedError, match="interrupt\\(\\)"):
        flow.invoke(1, interrupt_before=["flow"])
    with pytest.raises(ValueError, match="durability"):
        flow.invoke(1, durability="sometimes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert flow.invoke(1, print_mode="values") == 1
