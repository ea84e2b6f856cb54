"""Model usage and cost recorded with the task attempt that made the calls (issue 20)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from langchain_core.messages import AIMessage, HumanMessage

import nbflow
from nbflow import Command, InMemorySaver, RetryPolicy, SqliteSaver, entrypoint, interrupt, task
from nbflow.errors import PriceTableError
from nbflow.observe import prices
from nbflow.observe.usage import ModelUsage, UsageTotals, format_cost, totals
from nbflow.testing.helpers import cfg
from nbflow.testing.models import fake_chat_model


@pytest.fixture(autouse=True)
def _no_prices():
    nbflow.set_prices({}, replace=True)
    yield
    nbflow.set_prices({}, replace=True)


def test_a_task_records_its_model_calls_with_its_result(tmp_path):
    nbflow.set_prices({"fake-chat": {"input": 1.0, "output": 2.0}})
    model = fake_chat_model(["hello there friend", "two words"])

    @task
    def ask(q: str) -> str:
        a = model.invoke([HumanMessage(q)]).content
        b = model.invoke([HumanMessage("again " + q)]).content
        return f"{a} / {b}"

    @task
    def plain(x: str) -> str:
        return x.upper()

    @entrypoint(checkpointer=SqliteSaver(str(tmp_path / "u.sqlite")))
    def wf(q: str) -> str:
        return plain(ask(q).result()).result()

    assert wf.invoke("what is up", cfg("t")) == "HELLO THERE FRIEND / TWO WORDS"
    hist = wf.get_task_history(cfg("t"))
    by_name = {r.name: r for r in hist}
    assert by_name["plain"].usage == ()
    calls = by_name["ask"].usage
    assert [(u.model, u.input_tokens, u.output_tokens, u.total_tokens, u.attempt) for u in calls] == [
        ("fake-chat", 3, 3, 6, 1), ("fake-chat", 4, 2, 6, 1)]
    assert all(u.latency_s >= 0 and u.provider == "fake" for u in calls)
    assert calls[0].cost == pytest.approx((3 * 1 + 3 * 2) / 1e6)
    t = wf.get_usage(cfg("t"))
    assert (t.calls, t.input_tokens, t.output_tokens, t.total_tokens, t.unpriced) == (2, 7, 5, 12, 0)
    assert t.cost == pytest.approx((7 + 10) / 1e6)
    assert wf.get_invocations(cfg("t"))[-1].usage == t


def test_streamed_calls_and_cache_read_tokens_are_counted():
    model = fake_chat_model([AIMessage("streamed answer here")])

    @task
    def ask(q: str) -> str:
        return "".join(c.content for c in model.stream([HumanMessage(q)]))

    @entrypoint(checkpointer=InMemorySaver())
    def wf(q: str) -> str:
        return ask(q).result()

    assert wf.invoke("a b", cfg("s")) == "streamed answer here"
    (u,) = wf.get_task_history(cfg("s"))[0].usage
    assert (u.input_tokens, u.output_tokens, u.cost) == (2, 3, None)
    assert wf.get_usage(cfg("s")).unpriced == 1


def test_retried_attempts_each_count_and_replayed_tasks_count_once():
    model = fake_chat_model(["first try", "second try", "after the pause"])
    tries = []

    @task(retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=ValueError))
    def flaky(q: str) -> str:
        text = model.invoke([HumanMessage(q)]).content
        tries.append(text)
        if len(tries) == 1:
            raise ValueError("try again")
        return text

    @task
    def pause(x: str) -> str:
        answer = interrupt("ok?")
        return model.invoke([HumanMessage(f"{x} {answer}")]).content

    @entrypoint(checkpointer=InMemorySaver())
    def wf(q: str) -> str:
        a = flaky(q).result()
        return pause(a).result()

    wf.invoke("go", cfg("r"))
    first = wf.get_invocations(cfg("r"))[-1]
    assert [u.attempt for u in next(t for t in first.tasks if t.name == "flaky").usage] == [1, 2]
    assert first.usage.calls == 2  # the question paused before the model was called
    out = wf.invoke(Command(resume="yes"), cfg("r"))
    assert out == "after the pause"
    invs = wf.get_invocations(cfg("r"))
    # the resume continues the same invocation: flaky is replayed (its two attempts counted once), pause runs
    assert len(invs) == 1 and invs[-1].usage.calls == 3
    replayed = [t for t in invs[-1].tasks if t.outcome == "replayed"]
    assert replayed and all(t.usage == () for t in replayed)
    assert wf.get_usage(cfg("r")).calls == 3


def test_a_failed_task_keeps_its_usage():
    model = fake_chat_model(["some words"])

    @task
    def boom(q: str) -> str:
        model.invoke([HumanMessage(q)])
        raise RuntimeError("bad")

    @entrypoint(checkpointer=InMemorySaver())
    def wf(q: str) -> str:
        return boom(q).result()

    with pytest.raises(RuntimeError):
        wf.invoke("x", cfg("f"))
    (rec,) = wf.get_task_history(cfg("f"))
    assert rec.outcome == "error" and rec.usage_totals.output_tokens == 2


def test_usage_reaches_the_events():
    model = fake_chat_model(["one two"])

    @task
    def ask(q: str) -> str:
        return model.invoke([HumanMessage(q)]).content

    @entrypoint(checkpointer=InMemorySaver())
    def wf(q: str) -> str:
        return ask(q).result()

    from nbflow import events as ev
    from nbflow import tap

    seen = []
    off = tap.subscribe(lambda item: seen.append(item.event))
    try:
        wf.invoke("q", cfg("e"))
    finally:
        off()
    ends = [e for e in seen if isinstance(e, ev.TaskEnd)]
    assert ends and ends[0].usage[0].output_tokens == 2


def test_a_new_process_reads_the_usage(tmp_path):
    path = str(tmp_path / "k.sqlite")
    nbflow.set_prices({"fake-*": {"input": 10.0, "output": 10.0}})
    model = fake_chat_model(["a b c d"])

    @task
    def ask(q: str) -> str:
        return model.invoke([HumanMessage(q)]).content

    @entrypoint(checkpointer=SqliteSaver(path))
    def wf(q: str) -> str:
        return ask(q).result()

    wf.invoke("x y", cfg("k"))
    code = textwrap.dedent(f"""
        import sys
        from nbflow import SqliteSaver, entrypoint
        @entrypoint(checkpointer=SqliteSaver({path!r}))
        def wf(q): return q
        t = wf.get_usage({{"configurable": {{"thread_id": "k"}}}})
        print(t.calls, t.input_tokens, t.output_tokens, round(t.cost * 1e6))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "2", "4", "60"]


def test_no_model_no_usage_row():
    @task
    def add(x: int) -> int:
        return x + 1

    @entrypoint(checkpointer=InMemorySaver())
    def wf(x: int) -> int:
        return add(x).result()

    wf.invoke(1, cfg("n"))
    assert [w.kind for w in wf.checkpointer.list_writes("n")] == ["result"]
    assert wf.get_usage(cfg("n")) == UsageTotals()


def test_prices_table():
    nbflow.set_prices({"gpt-x": {"input": 2, "output": 8, "cache_read": 1}, "claude-*": {"input": 3, "output": 15},
                       "claude-big-*": {"input": 30, "output": 150}})
    assert prices.cost_of("gpt-x", 1000, 100, cache_read_tokens=400) == pytest.approx((600 * 2 + 400 + 800) / 1e6)
    assert prices.cost_of("claude-big-1", 1_000_000, 0) == pytest.approx(30)
    assert prices.cost_of("claude-small", 1_000_000, 0) == pytest.approx(3)
    assert prices.cost_of("other", 10, 10) is None
    assert nbflow.get_prices()["gpt-x"]["cache_read"] == 1
    for bad in ({"m": 3}, {"m": {"input": -1}}, {"m": {"inputs": 1}}, {"": {"input": 1}}, {"m": {}},
                {"m": {"input": True}}):
        with pytest.raises(PriceTableError):
            nbflow.set_prices(bad)
    with pytest.raises(ValueError):
        nbflow.set_prices([])  # type: ignore[arg-type]


def test_totals_and_text():
    rs = [ModelUsage("a", 10, 5, 15, cost=0.001), ModelUsage("b", 1, 1, 2), ModelUsage("a", 0, 0, 0, cost=0.002)]
    t = totals(rs)
    assert (t.calls, t.total_tokens, t.unpriced, t.models) == (3, 17, 1, ("a", "b"))
    assert t.cost == pytest.approx(0.003)
    assert t.describe() == "3 model calls · 17 tokens (11 in / 6 out) · $0.003 (+1 unpriced)"
    assert (t + t).calls == 6
    assert format_cost(1234.5) == "$1,234.50" and format_cost(0.0123) == "$0.0123"
    assert ModelUsage.from_dict(rs[0].to_dict()) == rs[0]
    assert ModelUsage.from_dict({"model": 3, "input_tokens": "x", "cost": "free"}) == ModelUsage("3")


def test_the_entrypoint_body_s_own_model_calls_count_each_time_it_runs():
    """A model called in the entrypoint body (not in a task) is recorded under the invocation; the body runs
    again on resume, so its call is made -- and counted -- again."""
    from nbflow import events as ev
    from nbflow import tap

    model = fake_chat_model(["the plan", "the plan"])  # same answer on replay (else: NonDeterminismError)

    @task
    def ask(plan: str) -> str:
        return interrupt({"ok?": plan})

    @entrypoint(checkpointer=InMemorySaver())
    def wf(q: str) -> str:
        plan = model.invoke([HumanMessage(q)]).content
        return ask(plan).result()

    seen = []
    off = tap.subscribe(lambda item: seen.append(item.event))
    try:
        wf.invoke("go", cfg("body"))
        assert wf.get_invocations(cfg("body"))[0].usage.calls == 1
        assert wf.invoke(Command(resume="yes"), cfg("body")) == "yes"
    finally:
        off()
    (inv,) = wf.get_invocations(cfg("body"))
    assert [u.output_tokens for u in inv.body_usage] == [2, 2] and inv.usage.calls == 2
    assert [e.usage[0].output_tokens for e in seen if isinstance(e, (ev.RunInterrupted, ev.RunEnd))] == [2, 2]
    assert wf.get_usage(cfg("body")).calls == 2


def test_async_tasks_and_astream_record_usage_too():
    import asyncio

    model = fake_chat_model(["one two three", "four five"])

    @task
    async def ask(q: str) -> str:
        return (await model.ainvoke([HumanMessage(q)])).content

    @task
    async def stream(q: str) -> str:
        return "".join([c.content async for c in model.astream([HumanMessage(q)])])

    @entrypoint(checkpointer=InMemorySaver())
    async def wf(q: str) -> list:
        return [await ask(q), await stream(q)]

    assert asyncio.run(wf.ainvoke("a b", cfg("async"))) == ["one two three", "four five"]
    by_name = {r.name: r for r in wf.get_task_history(cfg("async"))}
    assert [u.output_tokens for u in by_name["ask"].usage] == [3]
    assert [u.output_tokens for u in by_name["stream"].usage] == [2]
