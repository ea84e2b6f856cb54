"""Durability and replay: each result written when it finishes, resumes that re-run nothing finished, interrupts and their answers."""

from __future__ import annotations

import collections
import threading
from typing import Any

import pytest

from nbflow import (
    Command,
    ResumeError,
    ResumeValidationError,
    entrypoint,
    interrupt,
    task,
)
from nbflow.testing.helpers import cfg


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
