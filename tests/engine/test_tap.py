"""The process-wide event tap (nbflow.tap): every change to a thread, made anywhere, is heard."""

from __future__ import annotations

import logging
import threading

import pytest

from nbflow import Command, InMemorySaver, entrypoint, interrupt, tap, task
from nbflow import events as ev


@pytest.fixture
def heard():
    items: list[tap.TapEvent] = []
    lock = threading.Lock()

    def listen(item: tap.TapEvent) -> None:
        with lock:
            items.append(item)

    stop = tap.subscribe(listen)
    yield items
    stop()


def _workflow(saver):
    @task
    def double(x: int) -> int:
        return 2 * x

    @task
    def ask(x: int) -> str:
        return interrupt({"q": x})

    @entrypoint(checkpointer=saver)
    def wf(x: int) -> dict:
        return {"d": double(x).result(), "a": ask(x).result()}

    return wf


def test_invoke_and_resume_are_heard_with_their_thread(heard):
    saver = InMemorySaver()
    wf = _workflow(saver)
    cfg = {"configurable": {"thread_id": "t1"}}
    wf.invoke(3, cfg)
    wf.invoke(Command(resume="yes"), cfg)
    kinds = [type(i.event).__name__ for i in heard]
    assert kinds.count("RunStart") == 2
    assert "RunInterrupted" in kinds and kinds[-1] == "RunEnd"
    assert {i.thread_id for i in heard} == {"t1"}
    assert {i.saver for i in heard} == {saver}
    assert {i.workflow for i in heard} == {"wf"}
    runs = sorted({i.run for i in heard})
    assert len(runs) == 2 and runs[0] > 0
    # task starts and checkpoints are built for the tap although invoke() streams nothing
    assert any(isinstance(i.event, ev.TaskStart) and i.event.name == "double" for i in heard)
    assert any(isinstance(i.event, ev.CheckpointSaved) for i in heard)
    end = heard[-1].event
    assert end.value == {"d": 6, "a": "yes"}


def test_stream_yields_only_its_modes_while_the_tap_hears_everything(heard):
    wf = _workflow(InMemorySaver())
    chunks = list(wf.stream(1, {"configurable": {"thread_id": "s"}}, stream_mode="updates"))
    assert chunks == [{"double": 2}, {"__interrupt__": chunks[-1]["__interrupt__"]}]
    assert any(isinstance(i.event, ev.TaskStart) for i in heard)


def test_update_state_and_fork_are_heard(heard):
    saver = InMemorySaver()

    @task
    def one(x):
        return x + 1

    @entrypoint(checkpointer=saver)
    def wf(x):
        return one(x).result() + one(x).result()

    cfg = {"configurable": {"thread_id": "u"}}
    wf.invoke(1, cfg)
    heard.clear()
    wf.update_state(cfg, 99)
    new = wf.fork(cfg, task_index=1, thread_id="u-fork")
    edits = [i for i in heard if isinstance(i.event, tap.ThreadEdited)]
    assert [(e.thread_id, e.event.kind, e.run) for e in edits] == [("u", "update_state", 0), ("u-fork", "fork", 0)]
    assert edits[1].event.source_thread == "u"
    assert edits[1].event.checkpoint_id == new["configurable"]["checkpoint_id"]


def test_a_listener_that_raises_is_removed_and_the_run_goes_on(heard, caplog):
    calls = []

    def bad(item):
        calls.append(item)
        raise RuntimeError("boom")

    tap.subscribe(bad)
    wf = _workflow(InMemorySaver())
    with caplog.at_level(logging.ERROR, logger="nbflow.tap"):
        out = wf.invoke(2, {"configurable": {"thread_id": "b"}})
    assert "__interrupt__" in out
    assert len(calls) == 1
    assert "removed" in caplog.text
    assert len(heard) > 1  # the well-behaved listener heard the whole run


def test_nobody_listening_costs_no_sink():
    assert not tap.listening()
    wf = _workflow(InMemorySaver())
    run = wf._run(1, {"configurable": {"thread_id": "n"}}, None)
    assert run.out.sink is None and not run.out.starts and not run.out.checkpoints


def test_nested_entrypoint_events_reach_the_tap_once(heard):
    saver = InMemorySaver()

    @entrypoint()
    def inner(x):
        return x * 10

    @entrypoint(checkpointer=saver)
    def outer(x):
        return inner.invoke(x) + 1

    assert outer.invoke(4, {"configurable": {"thread_id": "n1"}}) == 41
    starts = [i for i in heard if isinstance(i.event, ev.RunStart)]
    assert [(s.event.name, s.event.ns != ()) for s in starts] == [("outer", False), ("inner", True)]
    assert len({s.run for s in starts}) == 1  # one invocation of the thread
