"""Every stream mode, sync and async, incremental, with LangGraph's chunk shapes."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from nbflow import (
    Command,
    InvalidStreamModeError,
    Runtime,
    entrypoint,
    get_stream_writer,
    interrupt,
    task,
)
from nbflow.testing.helpers import cfg


@pytest.fixture
def wf(checkpointer):
    @task
    def double(x: int) -> int:
        get_stream_writer()({"in_task": x})
        return 2 * x

    @entrypoint(checkpointer=checkpointer)
    def flow(x: int) -> int:
        get_stream_writer()("start")
        return double(x).result() + 1

    return flow


def test_values_and_updates(wf):
    assert list(wf.stream(3, cfg("v"), stream_mode="values")) == [7]
    assert list(wf.stream(3, cfg("u"), stream_mode="updates")) == [{"double": 6}, {"flow": 7}]


def test_custom_from_entrypoint_and_tasks_sync_and_async(wf, checkpointer):
    assert list(wf.stream(3, cfg("c"), stream_mode="custom")) == ["start", {"in_task": 3}]

    @task
    async def ahelper(x: int, runtime: Runtime) -> int:
        runtime.stream_writer(f"async task {x}")
        return x

    @entrypoint(checkpointer=checkpointer)
    async def aflow(x: int, writer) -> int:
        writer("a-start")
        return await ahelper(x)

    async def collect():
        return [c async for c in aflow.astream(5, cfg("ac"), stream_mode="custom")]

    assert asyncio.run(collect()) == ["a-start", "async task 5"]


def test_several_modes_give_pairs(wf):
    got = list(wf.stream(3, cfg("m"), stream_mode=["updates", "custom", "values"]))
    assert got == [("custom", "start"), ("custom", {"in_task": 3}), ("updates", {"double": 6}),
                   ("updates", {"flow": 7}), ("values", 7)]


def test_checkpoints_tasks_debug_shapes(wf):
    chunks = list(wf.stream(3, cfg("d"), stream_mode=["checkpoints", "tasks", "debug"]))
    modes = [m for m, _ in chunks]
    assert set(modes) == {"checkpoints", "tasks", "debug"}
    ckpts = [c for m, c in chunks if m == "checkpoints"]
    assert [c["metadata"]["source"] for c in ckpts] == ["input", "loop"]
    assert ckpts[0]["next"] == ["flow"] and ckpts[1]["next"] == [] and ckpts[1]["values"] == 7
    assert ckpts[1]["parent_config"] == ckpts[0]["config"]
    assert set(ckpts[0]) == {"config", "parent_config", "values", "metadata", "next", "tasks"}
    tasks = [c for m, c in chunks if m == "tasks"]
    # LangGraph's shapes: the entrypoint is a task too (input: the run's input, result: {"__end__": value});
    # a task's input is (args, kwargs) and its result {"__return__": value}
    body, start, end, body_end = tasks
    assert body == {"id": body["id"], "name": "flow", "input": 3, "triggers": ("__start__",)}
    assert start["name"] == "double" and start["input"] == ((3,), {}) and set(start) == {"id", "name", "input",
                                                                                          "triggers"}
    assert start["triggers"] == ("__pregel_push",)
    assert end == {"id": start["id"], "name": "double", "error": None, "result": {"__return__": 6}, "interrupts": []}
    assert body_end == {"id": body["id"], "name": "flow", "error": None, "result": {"__end__": 7}, "interrupts": []}
    debug = [c for m, c in chunks if m == "debug"]
    assert [d["type"] for d in debug] == ["checkpoint", "task", "task", "task_result", "task_result", "checkpoint"]
    assert [d["step"] for d in debug] == [-1, 0, 0, 0, 0, 0]
    assert all({"type", "timestamp", "step", "payload"} <= set(d) for d in debug)
    assert ckpts[0]["tasks"] == [{"id": body["id"], "name": "flow", "interrupts": (), "state": None}]


def test_debug_stream_like_langgraph(checkpointer):
    """LangGraph 1.2.22's test_falsy_return_from_task, minus its durability='exit' bookkeeping: a resume
    shows the checkpoint it continues from, re-announces replayed tasks without a new result, and the
    paused entrypoint's result is {} with its interrupts as dicts."""

    @task
    def falsy_task() -> bool:
        return False

    @entrypoint(checkpointer=checkpointer)
    def graph(state: dict) -> None:
        falsy_task().result()
        interrupt("test")

    c = cfg("dbg")
    first = list(graph.stream({"a": 5}, c, stream_mode="debug"))
    assert [(d["type"], d["step"], d["payload"]["name"] if d["type"] != "checkpoint" else None) for d in first] == [
        ("checkpoint", -1, None), ("task", 0, "graph"), ("task", 0, "falsy_task"), ("task_result", 0, "falsy_task"),
        ("task_result", 0, "graph")]
    assert first[0]["payload"]["values"] is None and first[0]["payload"]["next"] == ["graph"]
    assert first[1]["payload"]["input"] == {"a": 5} and first[1]["payload"]["triggers"] == ("__start__",)
    assert first[2]["payload"]["input"] == ((), {})
    assert first[3]["payload"]["result"] == {"__return__": False} and first[3]["payload"]["interrupts"] == []
    paused = first[4]["payload"]
    assert paused["result"] == {} and paused["error"] is None
    assert paused["interrupts"] == [{"id": paused["interrupts"][0]["id"], "value": "test", "response_schema": None}]

    second = list(graph.stream(Command(resume="123"), c, stream_mode="debug"))
    assert [(d["type"], d["step"]) for d in second] == [("checkpoint", -1), ("task", 0), ("task", 0),
                                                        ("task_result", 0), ("checkpoint", 0)]
    resumed_from = second[0]["payload"]
    assert resumed_from["metadata"]["source"] == "input"
    assert resumed_from["tasks"][0]["interrupts"] == tuple(paused["interrupts"])
    assert second[2]["payload"]["name"] == "falsy_task"  # replayed: announced, no second task_result
    assert second[3]["payload"]["result"] == {"__end__": None}
    assert second[4]["payload"]["metadata"]["source"] == "loop" and second[4]["payload"]["values"] is None


def test_tasks_mode_reports_errors_and_interrupts(checkpointer):
    @task
    def ask() -> str:
        return interrupt("why?")

    @task
    def broken() -> None:
        raise KeyError("nope")

    @entrypoint(checkpointer=checkpointer)
    def flow(kind: str) -> Any:
        return (ask() if kind == "ask" else broken()).result()

    got = [c for c in flow.stream("ask", cfg("ti"), stream_mode="tasks")]
    ask_end = [c for c in got if c["name"] == "ask" and "result" in c][0]
    assert ask_end["interrupts"][0]["value"] == "why?" and ask_end["error"] is None and ask_end["result"] == {}
    with pytest.raises(KeyError):
        for c in flow.stream("err", cfg("te"), stream_mode="tasks"):
            if "error" in c:
                assert isinstance(c["error"], KeyError)


def test_interrupt_chunk_in_updates_and_values(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def flow(x: int) -> int:
        return interrupt("q")

    (chunk,) = list(flow.stream(1, cfg("i"), stream_mode="values"))
    assert isinstance(chunk["__interrupt__"], tuple)
    assert list(flow.stream(Command(resume=4), cfg("i"), stream_mode="values")) == [4]


def test_chunks_arrive_as_they_happen(checkpointer):
    release = threading.Event()

    @task
    def gated() -> str:
        get_stream_writer()("before gate")
        if not release.wait(10):
            raise TimeoutError("stream was buffered: the consumer never saw the first chunk")
        return "after"

    @entrypoint(checkpointer=checkpointer)
    def flow(_: Any) -> str:
        return gated().result()

    seen = []
    for mode, chunk in flow.stream(0, cfg("live"), stream_mode=["custom", "updates"]):
        seen.append(chunk)
        if chunk == "before gate":
            release.set()  # only reachable if the chunk was delivered while the task waits
    assert seen == ["before gate", {"gated": "after"}, {"flow": "after"}]


def test_astream_incremental(checkpointer):
    @task
    async def tick(i: int) -> int:
        get_stream_writer()(i)
        await asyncio.sleep(0)
        return i

    @entrypoint(checkpointer=checkpointer)
    async def flow(n: int) -> int:
        return sum(await asyncio.gather(*[tick(i) for i in range(n)]))

    async def go():
        return [c async for c in flow.astream(4, cfg("as"), stream_mode=["custom", "values"])]

    got = asyncio.run(go())
    assert sorted(c for m, c in got if m == "custom") == [0, 1, 2, 3]
    assert got[-1] == ("values", 6)


def test_unknown_stream_mode_lists_valid_ones(wf):
    with pytest.raises(ValueError) as e:
        wf.stream(1, cfg("s1"), stream_mode="everything")
    assert isinstance(e.value, InvalidStreamModeError)
    assert "'values'" in str(e.value) and "'messages'" in str(e.value)


def test_messages_mode_token_by_token(checkpointer):
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    model = GenericFakeChatModel(messages=iter([AIMessage("one two three")]))

    @task
    def call_model(prompt: str):
        return model.invoke(prompt)

    @entrypoint(checkpointer=checkpointer)
    def chat(prompt: str) -> str:
        return call_model(prompt).result().content

    got = list(chat.stream("hi", cfg("msg"), stream_mode="messages"))
    assert "".join(chunk.content for chunk, _ in got) == "one two three"
    assert len(got) == 5  # "one", " ", "two", " ", "three"
    meta = got[0][1]
    assert meta["langgraph_node"] == "call_model" and meta["thread_id"] == "msg"


def test_messages_from_a_non_streaming_model(checkpointer):
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage

    model = FakeMessagesListChatModel(responses=[AIMessage("whole answer")])

    @entrypoint(checkpointer=checkpointer)
    def chat(prompt: str) -> str:
        return model.invoke(prompt).content

    got = list(chat.stream("hi", cfg("whole"), stream_mode="messages"))
    assert [c.content for c, _ in got] == ["whole answer"]
    assert got[0][1]["langgraph_node"] == "chat"


def test_nested_entrypoint_uses_parent_checkpointer_and_namespace(checkpointer):
    @task
    def inner_step(x: int) -> int:
        return x + 1

    @entrypoint()
    def child(x: int) -> int:
        return inner_step(x).result()

    @entrypoint(checkpointer=checkpointer)
    def parent(x: int) -> int:
        return child.invoke(x) * 10

    got = list(parent.stream(1, cfg("nest"), stream_mode="updates", subgraphs=True))
    assert got[-1] == ((), {"parent": 20})
    child_chunks = [c for ns, c in got if ns]
    assert {"inner_step": 2} in child_chunks and {"child": 2} in child_chunks
    ns = next(ns for ns, c in got if ns)
    assert len(ns) == 1 and ns[0].startswith("child:")
    # without subgraphs, only the parent's own updates
    assert list(parent.stream(1, cfg("nest2"))) == [{"parent": 20}]
    # the child's checkpoints live in the parent's saver, under its namespace
    assert checkpointer.get_checkpoint("nest", ns[0]) is not None


def test_nested_entrypoint_interrupt_and_resume(checkpointer):
    runs = []

    @entrypoint()
    def approve(item: str) -> str:
        runs.append(item)
        return f"{item}:{interrupt({'approve': item})}"

    @entrypoint(checkpointer=checkpointer)
    def parent(item: str) -> str:
        return approve.invoke(item).upper()

    out = parent.invoke("doc", cfg("ni"))
    assert out["__interrupt__"][0].value == {"approve": "doc"}
    assert parent.invoke(Command(resume="ok"), cfg("ni")) == "DOC:OK"


def test_add_messages_dicts_and_langchain():
    from nbflow import add_messages

    merged = add_messages([{"role": "user", "content": "hi", "id": "1"}],
                          [{"role": "assistant", "content": "yo", "id": "2"},
                           {"role": "user", "content": "hi again", "id": "1"}])
    lc = pytest.importorskip("langchain_core.messages")
    assert [m.content for m in merged] == ["hi again", "yo"]  # same id replaces, new id appends
    assert isinstance(merged[0], lc.HumanMessage) and isinstance(merged[1], lc.AIMessage)
    removed = add_messages(merged, [lc.RemoveMessage(id="2")])
    assert [m.id for m in removed] == ["1"]
    fresh = add_messages([], [{"role": "user", "content": "no id"}])
    assert fresh[0].id  # ids are assigned
