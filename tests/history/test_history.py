"""State, history, update_state, replay (time travel), task records, fork and the Mermaid picture."""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any

import pytest

from nbflow import (
    CachePolicy,
    CheckpointerRequiredError,
    CheckpointNotFoundError,
    Command,
    InMemoryCache,
    entrypoint,
    interrupt,
    task,
)
from nbflow.testing.helpers import cfg


@pytest.fixture
def counted(checkpointer):
    counts = collections.Counter()

    @task
    def step(name: str, x: int) -> int:
        counts[name] += 1
        return x + 1

    @entrypoint(checkpointer=checkpointer)
    def flow(x: int, *, previous: Any = None) -> int:
        a = step("a", x).result()
        b = step("b", a).result()
        c = step("c", b).result()
        return c + (previous or 0)

    return flow, counts


def test_unknown_thread_gives_empty_state(counted):
    flow, _ = counted
    snap = flow.get_state(cfg("never-used"))
    assert snap.values == {} and snap.next == () and snap.interrupts == ()
    assert list(flow.get_state_history(cfg("never-used"))) == []
    assert asyncio.run(flow.aget_state(cfg("never-used"))).values == {}


def test_unknown_checkpoint_id_is_named(counted):
    flow, _ = counted
    flow.invoke(1, cfg("h1"))
    with pytest.raises(CheckpointNotFoundError, match="nope-123"):
        flow.get_state(cfg(checkpoint_id="nope-123"))
    with pytest.raises(CheckpointNotFoundError, match="nope-123"):
        flow.invoke(None, cfg(checkpoint_id="nope-123"))


def test_get_state_at_a_checkpoint_and_async_history(counted):
    flow, _ = counted
    flow.invoke(1, cfg("h1"))
    flow.invoke(10, cfg("h1"))
    hist = list(flow.get_state_history(cfg("h1")))
    assert flow.get_state(hist[2].config).values == 4

    async def collect():
        return [s async for s in flow.aget_state_history(cfg("h1"), limit=3)]

    assert [s.config for s in asyncio.run(collect())] == [h.config for h in hist[:3]]
    assert [s.metadata["source"] for s in flow.get_state_history(cfg("h1"), filter={"source": "input"})] == ["input"] * 2


def test_update_state_before_first_run_sets_previous(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def flow(x: int, *, previous: Any = None) -> Any:
        return {"x": x, "previous": previous}

    new_cfg = flow.update_state(cfg("u"), {"seed": 1})
    assert new_cfg["configurable"]["checkpoint_id"]
    snap = flow.get_state(cfg("u"))
    assert snap.values == {"seed": 1} and snap.metadata["source"] == "update"
    assert flow.invoke(5, cfg("u")) == {"x": 5, "previous": {"seed": 1}}
    flow.update_state(cfg("u"), 42)
    assert flow.invoke(6, cfg("u"))["previous"] == 42


def test_update_state_needs_checkpointer():
    @entrypoint()
    def flow(x):
        return x

    with pytest.raises(CheckpointerRequiredError, match="update_state"):
        flow.update_state(cfg("h1"), 1)
    with pytest.raises(CheckpointerRequiredError):
        flow.get_state(cfg("h1"))


def test_replay_from_checkpoint_reruns_later_tasks(counted):
    flow, counts = counted
    assert flow.invoke(1, cfg("h1")) == 4
    first_input = [h for h in flow.get_state_history(cfg("h1")) if h.metadata["source"] == "input"][-1]
    counts.clear()
    assert flow.invoke(None, first_input.config) == 4
    assert counts == {"a": 1, "b": 1, "c": 1}  # ran again, not served from the first branch
    newest = flow.get_state(cfg("h1"))
    assert newest.values == 4 and newest.metadata["source"] == "loop"
    fork_ckpt = flow.get_state(newest.parent_config)
    assert fork_ckpt.metadata["source"] == "fork" and fork_ckpt.parent_config == first_input.config
    # replaying a finished checkpoint returns its value without running anything
    counts.clear()
    assert flow.invoke(None, newest.config) == 4 and not counts


def test_task_history_records(checkpointer):
    gate = threading.Barrier(2, timeout=60)
    cache = InMemoryCache()

    @task
    def together(i: int) -> int:
        gate.wait()
        return i

    @task(cache_policy=CachePolicy())
    def cached(x: int) -> int:
        return x

    @task
    def broken() -> None:
        raise ValueError("bad input 7")

    @task
    def ask() -> str:
        return interrupt("ok?")

    @entrypoint(checkpointer=checkpointer, cache=cache)
    def flow(mode: str) -> Any:
        pair = [f.result() for f in [together(0), together(1)]]
        cached(1).result()
        cached(1).result()
        if mode == "fail":
            broken().result()
        return pair + [ask().result()]

    with pytest.raises(ValueError):
        flow.invoke("fail", cfg("th"))
    flow.invoke("ask", cfg("th"))
    flow.invoke(Command(resume="yes"), cfg("th"))
    recs = flow.get_task_history(cfg("th"))
    outcomes = [(r.name, r.outcome) for r in recs]
    assert ("broken", "error") in outcomes and ("ask", "interrupted") in outcomes and ("ask", "ok") in outcomes
    assert ("cached", "cached") in outcomes
    assert ("together", "replayed") in outcomes  # served from the journal on resume
    err = next(r for r in recs if r.outcome == "error")
    assert "bad input 7" in err.error
    first = recs[0].invocation
    t0, t1 = sorted((r for r in recs if r.name == "together" and r.invocation == first), key=lambda r: r.position)
    assert t0.started_at < t1.ended_at and t1.started_at < t0.ended_at  # overlapped
    assert all(r.duration is not None and r.duration >= 0 for r in recs)
    assert t0.input_summary == "(0,)"
    invs = flow.get_invocations(cfg("th"))
    assert [i.status for i in invs] == ["error", "done"]
    assert invs[1].answers and invs[1].asked[0].value == "ok?" and invs[1].value == [0, 1, "yes"]
    assert {r.invocation for r in recs} == {i.checkpoint_id for i in invs}


def test_fork_from_a_task(counted):
    flow, counts = counted
    assert flow.invoke(1, cfg("f")) == 4
    counts.clear()
    # new thread, reuse the first task, re-execute the rest
    new = flow.fork(cfg("f"), task_index=1, thread_id="f-branch")
    assert new["configurable"]["thread_id"] == "f-branch"
    assert flow.invoke(None, new) == 4
    assert counts == {"b": 1, "c": 1}
    (inv,) = flow.get_invocations(cfg("f-branch"))
    assert inv.forked_from["thread_id"] == "f" and inv.forked_from["task_index"] == 1
    # same thread, replacing task 2's result
    counts.clear()
    branch = flow.fork(cfg("f"), task_index=2, value=100)
    assert flow.invoke(None, branch) == 101  # c(100)
    assert counts == {"c": 1}
    assert flow.get_state(branch).parent_config is not None
    with pytest.raises(ValueError, match="task_index"):
        flow.fork(cfg("f"), task_index=9)


def test_mermaid_shows_fanout_and_interrupts(checkpointer):
    @task
    def part(i: int) -> int:
        return i

    @entrypoint(checkpointer=checkpointer)
    def flow(n: int) -> int:
        total = sum(f.result() for f in [part(i) for i in range(n)])
        return total + interrupt({"total": total})

    flow.invoke(3, cfg("g"))
    text = flow.get_graph_mermaid(cfg("g"))
    assert text.startswith("flowchart TD")
    assert text.count('["part') == 3
    assert "{{" in text and "· waiting" in text
    assert "start --> t0" in text and "start --> t2" in text  # a fan-out, however fast the tasks
    flow.invoke(Command(resume=10), cfg("g"))
    text = flow.get_graph_mermaid(cfg("g"))
    assert "→ 10" in text and "return: 13" in text
    with pytest.raises(CheckpointNotFoundError):
        flow.get_graph_mermaid(cfg("empty"))


def test_nested_entrypoint_replay_is_recorded_like_a_task(checkpointer):
    runs = []

    @entrypoint()
    def child(x: int) -> int:
        runs.append(x)
        return x * 2

    @entrypoint(checkpointer=checkpointer)
    def parent(x: int) -> int:
        doubled = child.invoke(x)
        return doubled + interrupt("add what?")

    parent.invoke(5, cfg("nr"))
    assert parent.invoke(Command(resume=1), cfg("nr")) == 11
    assert runs == [5]  # served from the journal on resume
    outcomes = [(r.name, r.outcome) for r in parent.get_task_history(cfg("nr"))]
    assert outcomes == [("child", "ok"), ("child", "replayed")]


# ---------------------------------------------------------------------- LangGraph 1.2.22's semantics (issue 7, §3)
def test_values_are_none_until_the_entrypoint_has_returned(checkpointer):
    from nbflow import Command, entrypoint, interrupt

    @entrypoint(checkpointer=checkpointer)
    def ask(x: int) -> int:
        return x + interrupt("n?")

    c = {"configurable": {"thread_id": "vals-none"}}
    assert ask.get_state(c).values == {}  # a thread with no checkpoint at all, as LangGraph
    chunks = list(ask.stream(1, c, stream_mode=["checkpoints", "debug"]))
    assert ask.get_state(c).values is None  # paused before returning: None, not {}
    assert [h.values for h in ask.get_state_history(c)] == [None]
    assert all(p["values"] is None for m, p in chunks if m == "checkpoints")
    assert all(d["payload"]["values"] is None for m, d in chunks if m == "debug" and d["type"] == "checkpoint")
    assert ask.invoke(Command(resume=2), c) == 3
    assert ask.get_state(c).values == 3


def test_history_input_snapshots_carry_what_the_invocation_returned(checkpointer):
    from nbflow import entrypoint

    @entrypoint(checkpointer=checkpointer)
    def acc(x: int, *, previous: int | None = None) -> int:
        return (previous or 0) + x

    c = {"configurable": {"thread_id": "hist-result"}}
    acc.invoke(1, c)
    acc.invoke(10, c)
    hist = list(acc.get_state_history(c))
    assert [(h.metadata["source"], h.values) for h in hist] == [("loop", 11), ("input", 1), ("loop", 1),
                                                              ("input", None)]
    assert [h.tasks[0].result for h in hist if h.metadata["source"] == "input"] == [11, 1]
    assert all(h.tasks == () for h in hist if h.metadata["source"] == "loop")


def test_time_travel_moves_the_threads_head(checkpointer):
    from nbflow import entrypoint

    @entrypoint(checkpointer=checkpointer)
    def acc(x: int, *, previous: int | None = None) -> int:
        return (previous or 0) + x

    c = {"configurable": {"thread_id": "head"}}
    assert [acc.invoke(x, c) for x in (1, 10, 100)] == [1, 11, 111]
    hist = list(acc.get_state_history(c))
    first_loop = [h for h in hist if h.metadata["source"] == "loop"][-1]
    assert acc.invoke(1000, first_loop.config) == 1001  # a new input on an old state: a branch
    assert acc.invoke(5, c) == 1006  # the next call continues from that branch, not from 111
    second_input = [h for h in acc.get_state_history(c) if h.metadata["source"] == "input"][-2]
    assert acc.invoke(None, second_input.config) == 11  # replay an old invocation ...
    assert acc.invoke(5, c) == 16  # ... and the thread goes on from the replayed branch


def test_invoke_none_continues_the_thread(checkpointer):
    from nbflow import EmptyInputError, entrypoint, task

    runs = []

    @task
    def work(x: int) -> int:
        runs.append(x)
        return 2 * x

    @entrypoint(checkpointer=checkpointer)
    def flow(x: int) -> int:
        return work(x).result()

    with pytest.raises(EmptyInputError, match=r"thread 'none-new' has no checkpoint.*Pass an input"):
        flow.invoke(None, {"configurable": {"thread_id": "none-new"}})
    with pytest.raises(EmptyInputError):
        flow.stream(None, {"configurable": {"thread_id": "none-new2"}})
    c = {"configurable": {"thread_id": "none-done"}}
    assert flow.invoke(4, c) == 8 and runs == [4]
    before = len(list(flow.get_state_history(c)))
    assert flow.invoke(None, c) == 8  # finished: the last value, nothing runs, nothing is written
    assert runs == [4] and len(list(flow.get_state_history(c))) == before


def test_replay_checkpoints_are_numbered_as_langgraph_numbers_them(checkpointer):
    """LangGraph 1.2.22: the fork of an input checkpoint (step s) is step s + 1, and the
    invocation it replays finishes at step s + 2."""

    @entrypoint(checkpointer=checkpointer)
    def wf(x):
        return {"answer": interrupt("ok?"), "x": x}

    cfg = {"configurable": {"thread_id": "steps"}}
    wf.invoke(1, cfg)
    wf.invoke(Command(resume="yes"), cfg)
    (inp,) = [s for s in wf.get_state_history(cfg) if s.metadata["source"] == "input"]
    assert inp.metadata["step"] == -1
    wf.invoke(None, inp.config)  # time travel: replay it on a fork
    wf.invoke(Command(resume="no"), cfg)
    latest = [(s.metadata["source"], s.metadata["step"]) for s in wf.get_state_history(cfg)]
    assert latest[:2] == [("loop", 1), ("fork", 0)]
    assert wf.get_state(cfg).values == {"answer": "no", "x": 1}


def test_checkpoint_metadata_takes_the_configs_plain_values_as_langgraph_does(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def wf(x):
        return x

    config = {"configurable": {"thread_id": "meta", "user_id": "u1", "tries": 2, "obj": object(),
                               "__secret": "s", "checkpoint_ns": ""},
              "metadata": {"run_name": "nightly\x00", "source": "mine", "ok": True}}
    wf.invoke(1, config)
    metas = [s.metadata for s in wf.get_state_history(config)]
    assert metas == [
        {"source": "loop", "step": 0, "parents": {}, "run_name": "nightly", "ok": True, "user_id": "u1", "tries": 2},
        {"source": "input", "step": -1, "parents": {}, "run_name": "nightly", "ok": True, "user_id": "u1",
         "tries": 2},
    ]
    assert list(wf.get_state_history(config, filter={"user_id": "u1", "source": "input"}))[0].metadata["step"] == -1
    wf.update_state({"configurable": {"thread_id": "meta"}, "metadata": {"editor": "ann"}}, 5)
    assert wf.get_state({"configurable": {"thread_id": "meta"}}).metadata == {
        "source": "update", "step": 1, "parents": {}, "editor": "ann"}


def test_replaying_a_finished_checkpoint_makes_it_the_head(checkpointer):
    """As in LangGraph: invoke(None, config_of_an_old_finished_checkpoint) returns its value and the next
    invocation continues from it (its `previous`), through a copy of it marked `source: "fork"`."""
    @task
    def double(x: int) -> int:
        return 2 * x

    @entrypoint(checkpointer=checkpointer)
    def acc(n: int, *, previous: Any = None) -> int:
        return (previous or 0) + double(n).result()

    c = cfg("head")
    assert [acc.invoke(n, c) for n in (1, 10, 100)] == [2, 22, 222]
    old = next(s for s in acc.get_state_history(c) if s.values == 2 and not s.next)
    assert acc.invoke(None, old.config) == 2
    head = acc.get_state(c)
    assert head.values == 2 and head.next == () and head.metadata["source"] == "fork"
    assert head.metadata["step"] == old.metadata["step"] + 1
    assert head.parent_config["configurable"]["checkpoint_id"] == old.config["configurable"]["checkpoint_id"]
    assert acc.invoke(None, c) == 2  # plain "continue" on the copy: nothing to run, nothing new written
    assert len(list(acc.get_state_history(c))) == 7
    assert acc.invoke(1000, c) == 2002  # previous = the replayed checkpoint's value


# ---------------------------------------------------------------- checkpoint history shape
def test_history_shape(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def wf(x: int, *, previous: Any = None) -> int:
        return x + (previous or 0)

    assert wf.invoke(1, cfg("h1")) == 1
    assert wf.invoke(2, cfg("h1")) == 3
    hist = list(wf.get_state_history(cfg("h1")))
    assert [h.metadata["source"] for h in hist] == ["loop", "input", "loop", "input"]
    assert [h.metadata["step"] for h in hist] == [2, 1, 0, -1]
    assert all(h.metadata["parents"] == {} for h in hist)
    assert [h.next for h in hist] == [(), ("wf",), (), ("wf",)]
    for newer, older in zip(hist, hist[1:]):
        assert newer.parent_config == older.config
    assert hist[-1].parent_config is None
    assert hist[0].values == 3
    assert len(list(wf.get_state_history(cfg("h1"), limit=2))) == 2
    assert [h.config for h in wf.get_state_history(cfg("h1"), before=hist[1].config)] == [h.config for h in hist[2:]]
