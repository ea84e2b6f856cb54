"""Runtime core: durability, exactly-once replay, interrupts, resume, errors, injection.

Every test taking ``checkpointer`` runs over the in-memory and the SQLite saver.
Counters prove exactly-once execution; parallelism is proven with barriers
(all tasks must be running at the same time), never with wall-clock limits.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

import pytest

import nbflow
from nbflow import (
    CachePolicy,
    Command,
    ConfigError,
    InMemoryCache,
    InMemoryStore,
    Interrupt,
    NonDeterminismError,
    ResumeError,
    ResumeValidationError,
    RetryPolicy,
    Runtime,
    SerializationError,
    TaskContextError,
    entrypoint,
    get_config,
    get_store,
    interrupt,
    task,
)
from nbflow.engine import plugs


def cfg(tid: str = "t1") -> dict:
    return {"configurable": {"thread_id": tid}}


class RecordingClock:
    """A clock that records the waits asked of it and returns at once."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return sum(self.slept)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def no_sleep():
    clock = RecordingClock()
    with plugs.using(clock=clock):  # runs built in this test wait through the recording clock
        yield clock.slept


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


# ---------------------------------------------------------------- durability and replay
def test_each_task_result_is_written_when_it_finishes(checkpointer):
    gate = threading.Event()
    seen_rows = []

    @task
    def quick() -> str:
        return "q"

    @task
    def slow() -> str:
        gate.wait(10)
        return "s"

    @entrypoint(checkpointer=checkpointer)
    def wf(_: Any) -> list:
        a, b = quick(), slow()
        a.result()
        ckpt = checkpointer.get_checkpoint("t1")
        seen_rows.extend(w.name for w in checkpointer.get_writes("t1", "", ckpt.checkpoint_id) if w.kind == "result")
        gate.set()
        return [a.result(), b.result()]

    assert wf.invoke(1, cfg()) == ["q", "s"]
    assert seen_rows == ["quick"]  # written before the run ended


def test_resume_after_error_replays_without_rerunning(checkpointer):
    counts = collections.Counter()
    fail = {"on": True}

    @task
    def step(i: int) -> int:
        counts[i] += 1
        return i * 10

    @task
    def flaky() -> str:
        counts["flaky"] += 1
        if fail["on"]:
            raise RuntimeError("boom")
        return "ok"

    @entrypoint(checkpointer=checkpointer)
    def wf(n: int) -> list:
        values = [f.result() for f in [step(i) for i in range(n)]]
        return values + [flaky().result()]

    with pytest.raises(RuntimeError, match="boom"):
        wf.invoke(5, cfg())
    state = wf.get_state(cfg())
    assert state.next == ("wf",) and "boom" in str(state.tasks[0].error)
    fail["on"] = False
    assert wf.invoke(None, cfg()) == [0, 10, 20, 30, 40, "ok"]
    assert all(counts[i] == 1 for i in range(5))
    assert counts["flaky"] == 2


def test_task_started_before_interrupt_and_read_after(checkpointer):
    counts = collections.Counter()

    @task
    def background(x: int) -> int:
        counts["background"] += 1
        return x * 2

    @entrypoint(checkpointer=checkpointer)
    def wf(x: int) -> dict:
        fut = background(x)  # started, not yet read
        answer = interrupt("go on?")
        return {"bg": fut.result(), "answer": answer}

    out = wf.invoke(21, cfg())
    assert list(out) == ["__interrupt__"]
    assert wf.invoke(Command(resume="yes"), cfg()) == {"bg": 42, "answer": "yes"}
    assert counts["background"] == 1


def test_exactly_once_across_several_interrupts(checkpointer):
    counts = collections.Counter()

    @task
    def work(name: str) -> str:
        counts[name] += 1
        return name.upper()

    @entrypoint(checkpointer=checkpointer)
    def wf(_: Any) -> list:
        a = work("a").result()
        first = interrupt("first?")
        b = work("b").result()
        second = interrupt("second?")
        c = work("c").result()
        return [a, first, b, second, c]

    r1 = wf.invoke(0, cfg())
    assert r1["__interrupt__"][0].value == "first?"
    r2 = wf.invoke(Command(resume=1), cfg())
    assert r2["__interrupt__"][0].value == "second?"
    assert r1["__interrupt__"][0].id != r2["__interrupt__"][0].id
    assert wf.invoke(Command(resume=2), cfg()) == ["A", 1, "B", 2, "C"]
    assert counts == {"a": 1, "b": 1, "c": 1}


def test_interrupt_inside_task_and_several_in_one_function(checkpointer):
    @task
    def ask_twice(q: str) -> tuple:
        x = interrupt(f"{q} 1")
        y = interrupt(f"{q} 2")
        return (x, y)

    @entrypoint(checkpointer=checkpointer)
    def wf(q: str) -> tuple:
        return ask_twice(q).result()

    assert wf.invoke("q", cfg())["__interrupt__"][0].value == "q 1"
    assert wf.invoke(Command(resume="a"), cfg())["__interrupt__"][0].value == "q 2"
    assert wf.invoke(Command(resume="b"), cfg()) == ("a", "b")


def test_parallel_interrupts_surface_together_and_resume_by_id(checkpointer):
    counts = collections.Counter()

    @task
    def review(i: int) -> str:
        counts[i] += 1
        return f"{i}:{interrupt({'item': i})}"

    @task
    def plain(i: int) -> int:
        counts[f"plain{i}"] += 1
        return i

    @entrypoint(checkpointer=checkpointer)
    def wf(n: int) -> list:
        futs = [review(i) for i in range(n)] + [plain(i) for i in range(3)]
        return [f.result() for f in futs]

    out = wf.invoke(3, cfg())
    intrs = out["__interrupt__"]
    assert [i.value for i in intrs] == [{"item": 0}, {"item": 1}, {"item": 2}]
    state = wf.get_state(cfg())
    assert {i.id for i in state.interrupts} == {i.id for i in intrs}
    assert state.next == ("wf",)
    with pytest.raises(ResumeError, match="3 pending interrupts"):
        wf.invoke(Command(resume="x"), cfg())
    with pytest.raises(ResumeError, match="not pending"):
        wf.invoke(Command(resume={"0" * 32: "x"}), cfg())
    # answer two of three: the third stays pending
    partial = wf.invoke(Command(resume={intrs[0].id: "a", intrs[1].id: "b"}), cfg())
    assert [i.id for i in partial["__interrupt__"]] == [intrs[2].id]
    # now a single value is unambiguous
    assert wf.invoke(Command(resume="c"), cfg()) == ["0:a", "1:b", "2:c", 0, 1, 2]
    assert all(counts[f"plain{i}"] == 1 for i in range(3))


def test_resume_with_nothing_pending_is_an_error(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def wf(x: int) -> int:
        return x

    with pytest.raises(ResumeError, match="no pending interrupt"):
        wf.invoke(Command(resume=1), cfg())
    assert wf.invoke(5, cfg()) == 5
    with pytest.raises(ResumeError, match="no pending interrupt"):
        wf.invoke(Command(resume=1), cfg())
    assert wf.get_state(cfg()).values == 5  # nothing lost


def test_response_schema_pydantic(checkpointer):
    pydantic = pytest.importorskip("pydantic")

    class Review(pydantic.BaseModel):
        approved: bool
        score: int = pydantic.Field(ge=1, le=5)

    @entrypoint(checkpointer=checkpointer)
    def wf(x: str) -> dict:
        r = interrupt({"draft": x}, response_schema=Review)
        assert isinstance(r, Review)
        return r.model_dump()

    out = wf.invoke("text", cfg())
    (intr,) = out["__interrupt__"]
    # LangGraph 1.2.22: the interrupt carries the JSON Schema dict; repr shows it
    assert intr.response_schema == Review.model_json_schema() == intr.json_schema
    assert intr.response_model is Review
    assert f"response_schema={Review.model_json_schema()!r}" in repr(intr)
    assert intr.json_schema["properties"]["score"]["maximum"] == 5
    assert wf.get_state(cfg()).interrupts[0].response_schema == Review.model_json_schema()
    with pytest.raises(ResumeValidationError) as e:
        wf.invoke(Command(resume={"approved": True, "score": 9}), cfg())
    assert e.value.errors and e.value.errors[0][0] == ("score",)
    assert wf.get_state(cfg()).interrupts[0].id == intr.id  # still pending
    assert wf.invoke(Command(resume={"approved": True, "score": 4}), cfg()) == {"approved": True, "score": 4}


def test_response_schema_json_dict(checkpointer):
    schema = {"type": "object", "properties": {"choice": {"enum": ["yes", "no"]}}, "required": ["choice"]}

    @entrypoint(checkpointer=checkpointer)
    def wf(x: str) -> Any:
        return interrupt("pick", response_schema=schema)

    intr = wf.invoke("x", cfg())["__interrupt__"][0]
    assert intr.response_schema == schema
    with pytest.raises(ResumeValidationError):
        wf.invoke(Command(resume={"choice": "maybe"}), cfg())
    assert wf.invoke(Command(resume={"choice": "no"}), cfg()) == {"choice": "no"}


def test_non_determinism_detected(checkpointer):
    flip = {"first": True}

    @task
    def alpha() -> str:
        return "a"

    @task
    def beta() -> str:
        return "b"

    @entrypoint(checkpointer=checkpointer)
    def wf(_: Any) -> str:
        r = (alpha() if flip["first"] else beta()).result()
        return r + interrupt("?")

    wf.invoke(0, cfg())
    flip["first"] = False
    with pytest.raises(NonDeterminismError) as e:
        wf.invoke(Command(resume="!"), cfg())
    assert "'alpha'" in str(e.value) and "'beta'" in str(e.value)
    flip["first"] = True
    # The answer was journaled before the replay diverged: fixing the code and
    # retrying (None input) finishes the run with it; nothing was lost.
    assert wf.invoke(None, cfg()) == "a!"


# ---------------------------------------------------------------- checkpoint history shape
def test_history_shape(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def wf(x: int, *, previous: Any = None) -> int:
        return x + (previous or 0)

    assert wf.invoke(1, cfg()) == 1
    assert wf.invoke(2, cfg()) == 3
    hist = list(wf.get_state_history(cfg()))
    assert [h.metadata["source"] for h in hist] == ["loop", "input", "loop", "input"]
    assert [h.metadata["step"] for h in hist] == [2, 1, 0, -1]
    assert all(h.metadata["parents"] == {} for h in hist)
    assert [h.next for h in hist] == [(), ("wf",), (), ("wf",)]
    for newer, older in zip(hist, hist[1:]):
        assert newer.parent_config == older.config
    assert hist[-1].parent_config is None
    assert hist[0].values == 3
    assert len(list(wf.get_state_history(cfg(), limit=2))) == 2
    assert [h.config for h in wf.get_state_history(cfg(), before=hist[1].config)] == [h.config for h in hist[2:]]


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


def test_retry_policy_backoff_and_fallbacks(no_sleep):
    calls = collections.Counter()

    @task(retry_policy=[RetryPolicy(retry_on=KeyError, max_attempts=2, jitter=False),
                        RetryPolicy(retry_on=ConnectionError, max_attempts=4, initial_interval=1.0,
                                    backoff_factor=3.0, jitter=False)])
    def flaky(kind: str) -> str:
        calls[kind] += 1
        if calls[kind] < 4:
            raise ConnectionError("down") if kind == "net" else KeyError(kind)
        return "ok"

    @entrypoint()
    def wf(kind: str) -> str:
        return flaky(kind).result()

    assert wf.invoke("net") == "ok"
    assert no_sleep == [1.0, 3.0, 9.0]
    no_sleep.clear()
    with pytest.raises(KeyError):
        wf.invoke("key")
    assert calls["key"] == 2 and no_sleep == [0.5]


def test_retry_does_not_retry_value_error_by_default(no_sleep):
    calls = []

    @task(retry_policy=RetryPolicy())
    def bad() -> None:
        calls.append(1)
        raise ValueError("no")

    @entrypoint()
    def wf(_: Any) -> None:
        return bad().result()

    with pytest.raises(ValueError):
        wf.invoke(0)
    assert calls == [1] and no_sleep == []


def test_async_task_retry(no_sleep):
    calls = []

    @task(retry_policy=RetryPolicy(retry_on=ConnectionError, jitter=False))
    async def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError()
        return 7

    @entrypoint()
    async def wf(_: Any) -> int:
        return await flaky()

    assert asyncio.run(wf.ainvoke(0)) == 7 and no_sleep == [0.5, 1.0]


def test_cache_policy_hits_ttl_and_clear(checkpointer):
    runs = []
    now = [0.0]
    cache = InMemoryCache(clock=lambda: now[0])

    @task(cache_policy=CachePolicy(ttl=10))
    def square(x: int) -> int:
        runs.append(x)
        return x * x

    @entrypoint(checkpointer=checkpointer, cache=cache)
    def wf(x: int) -> int:
        return square(x).result()

    assert wf.invoke(3, cfg("a")) == 9
    assert list(wf.stream(3, cfg("b"))) == [{"square": 9, "__metadata__": {"cached": True}}, {"wf": 9}]
    now[0] = 11.0  # ttl expired
    assert wf.invoke(3, cfg("c")) == 9
    square.clear_cache(cache)
    assert wf.invoke(3, cfg("d")) == 9
    assert runs == [3, 3, 3]


def test_deprecated_kwargs_warn():
    with pytest.warns(DeprecationWarning, match="retry_policy"):
        @task(retry=RetryPolicy())
        def t(x):
            return x
    assert t.retry_policies == (RetryPolicy(),)
    with pytest.warns(DeprecationWarning, match="context_schema"):
        @entrypoint(config_schema=dict)
        def e(x):
            return x
    assert e.context_schema is dict


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


def test_import_is_light():
    code = ("import sys, nbflow; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('IPython', 'ipywidgets', 'ipykernel', 'jupyter_client', 'anywidget', 'jupyterlab', "
            "'numpy', 'pandas', 'pydantic', 'langchain_core')]; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_names():
    for name in ["entrypoint", "task", "interrupt", "Command", "Interrupt", "RetryPolicy", "CachePolicy",
                 "InMemorySaver", "MemorySaver", "SqliteSaver", "InMemoryCache", "InMemoryStore",
                 "get_stream_writer", "get_config", "get_store", "Runtime", "StreamWriter", "StateSnapshot"]:
        assert hasattr(nbflow, name), name
    assert set(nbflow.__all__) <= set(dir(nbflow))


def test_sqlite_saver_constructors(tmp_path):
    import sqlite3

    from nbflow import SqliteSaver

    @task
    def one() -> int:
        return 1

    def make(saver):
        @entrypoint(checkpointer=saver)
        def wf(x):
            return one().result() + x
        return wf

    assert make(SqliteSaver(str(tmp_path / "a.sqlite"))).invoke(1, cfg()) == 2
    conn = sqlite3.connect(tmp_path / "b.sqlite", check_same_thread=False)
    assert make(SqliteSaver(conn)).invoke(1, cfg()) == 2
    with SqliteSaver.from_conn_string(str(tmp_path / "c.sqlite")) as saver:
        assert make(saver).invoke(1, cfg()) == 2
    # reopened file still has the thread
    assert make(SqliteSaver(str(tmp_path / "a.sqlite"))).get_state(cfg()).values == 2


def test_repeated_fanout_interrupt_resume_is_stable(checkpointer):
    @task
    def work(i: int) -> int:
        if i % 5 == 0:
            return i + interrupt(i)
        return i

    @entrypoint(checkpointer=checkpointer)
    def wf(n: int) -> int:
        return sum(f.result() for f in [work(i) for i in range(n)])

    for k in range(50):
        c = cfg(f"rep-{k}")
        out = wf.invoke(10, c)
        answers = {i.id: 1 for i in out["__interrupt__"]}
        assert len(answers) == 2
        assert wf.invoke(Command(resume=answers), c) == sum(range(10)) + 2


def test_interrupt_objects_are_langgraph_shaped():
    i = Interrupt(value={"a": 1}, id="abc")
    assert repr(i) == "Interrupt(value={'a': 1}, id='abc', response_schema=None)"  # as LangGraph 1.2.22
    assert repr(Interrupt("q", "x", {"type": "integer"})) == \
        "Interrupt(value='q', id='x', response_schema={'type': 'integer'})"
    assert Command(resume=1).resume == 1


def test_graph_api_command_fields_are_refused(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def wf(x):
        return interrupt("q")

    wf.invoke(1, cfg())
    with pytest.raises(ConfigError, match="resume"):
        wf.invoke(Command(goto="somewhere"), cfg())
    assert wf.invoke(Command(resume=2), cfg()) == 2  # still pending, nothing lost


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
