"""NonDeterminismError when a replayed task call's arguments differ from the recorded ones (issue 7, §5),
and the per-task / per-entrypoint opt-out."""

from __future__ import annotations

import pytest

from nbflow import Command, NonDeterminismError, entrypoint, interrupt, task


def cfg(tid: str) -> dict:
    return {"configurable": {"thread_id": tid}}


def clock_workflow(checkpointer, *, task_check: bool = True, entry_check: bool = True):
    """The concepts document's "Incorrect" example: control flow decided by the clock before a task call."""
    now = {"late": False}
    ran: list[int] = []

    @task(check_args=task_check)
    def slow_task(n: int) -> int:
        ran.append(n)
        return n * 10

    @entrypoint(checkpointer=checkpointer, check_args=entry_check)
    def my_workflow(inputs: dict) -> dict:
        # the clock moves between the first run and the resume
        result = slow_task(1 if now["late"] else 2).result()
        answer = interrupt("question")
        return {"result": result, "answer": answer}

    return my_workflow, now, ran


def test_changed_arguments_on_resume_raise_naming_task_position_and_fix(checkpointer):
    wf, now, ran = clock_workflow(checkpointer)
    c = cfg("clock")
    wf.invoke({"t0": 0}, c)
    assert ran == [2]
    now["late"] = True  # on resume the clock says the other branch
    with pytest.raises(NonDeterminismError) as e:
        wf.invoke(Command(resume="yes"), c)
    msg = str(e.value)
    assert "task 'slow_task'" in msg and "position '0'" in msg and "different arguments" in msg
    assert "move that computation into a @task" in msg and "check_args=False" in msg
    assert ran == [2]  # nothing re-ran, nothing silently reused
    # the thread is not damaged: the answer is kept, and once the code is deterministic again the
    # invocation continues with invoke(None, config)
    assert "different arguments" in str(wf.get_state(c).tasks[0].error)
    now["late"] = False
    assert wf.invoke(None, c) == {"result": 20, "answer": "yes"}
    # the digest stays out of what people read
    summaries = [t.input_summary for t in wf.get_task_history(c)]
    assert summaries and all(s and "\x1f" not in s and "args=" not in s for s in summaries)


@pytest.mark.parametrize("where", ["task", "entrypoint"])
def test_opt_out_reuses_the_recorded_result(checkpointer, where):
    wf, now, ran = clock_workflow(checkpointer, task_check=where != "task", entry_check=where != "entrypoint")
    c = cfg(f"optout-{where}")
    wf.invoke({"t0": 0}, c)
    now["late"] = True
    assert wf.invoke(Command(resume="ok"), c) == {"result": 20, "answer": "ok"}  # LangGraph's behaviour
    assert ran == [2]


def test_same_arguments_replay_and_unserializable_arguments_are_not_compared(checkpointer):
    calls: list = []

    class Handle:  # not serializable: nothing to compare, the call is served as before
        pass

    @task
    def use(h: Handle, n: int) -> int:
        calls.append(n)
        return n

    @entrypoint(checkpointer=checkpointer)
    def wf(n: int) -> int:
        first = use(Handle(), n).result()
        return first + interrupt("more?")

    c = cfg("same")
    wf.invoke(3, c)
    assert wf.invoke(Command(resume=1), c) == 4 and calls == [3]


def test_nested_entrypoint_input_is_checked_too(checkpointer):
    flip = {"v": 1}

    @entrypoint(checkpointer=checkpointer)
    def inner(x: int) -> int:
        return x * 2

    @entrypoint(checkpointer=checkpointer)
    def outer(_: int) -> int:
        return inner.invoke(flip["v"]) + interrupt("go?")

    c = cfg("nested")
    outer.invoke(0, c)
    flip["v"] = 5
    with pytest.raises(NonDeterminismError, match="task 'inner' was called with different arguments"):
        outer.invoke(Command(resume=1), c)
