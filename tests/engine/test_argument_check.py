"""NonDeterminismError when a replayed task call's arguments differ from the recorded ones (issue 7, §5),
and the per-task / per-entrypoint opt-out."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from nbflow import (
    Command,
    NonDeterminismError,
    entrypoint,
    interrupt,
    task,
)
from nbflow.testing.helpers import cfg


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


def test_encrypted_checkpoints_get_a_keyed_digest_and_sets_compare_by_content(tmp_path, monkeypatch):
    pytest.importorskip("Crypto")
    from nbflow import SqliteSaver
    from nbflow.replay import args_digest, split_summary
    from nbflow.serde.encrypted import EncryptedSerializer

    monkeypatch.setenv("LANGGRAPH_AES_KEY", "0123456789abcdef0123456789abcdef")
    saver = SqliteSaver(str(tmp_path / "enc.sqlite"), serde=EncryptedSerializer.from_pycryptodome_aes())
    wf, now, ran = clock_workflow(saver)
    wf.invoke({"t0": 0}, cfg("enc"))
    (row,) = [w for w in saver.list_writes("enc", "") if w.kind == "result"]
    stored = split_summary(row.summary)[1]
    assert stored and stored != args_digest(saver.serde.serde.dumps(((2,), {})))  # keyed: not guessable
    now["late"] = True
    with pytest.raises(NonDeterminismError, match="different arguments"):
        wf.invoke(Command(resume="x"), cfg("enc"))

    seen: list = []

    @task
    def takes_set(s: frozenset) -> int:
        seen.append(s)
        return len(s)

    @entrypoint(checkpointer=saver)
    def sets(words: list[str]) -> int:
        return takes_set(frozenset(words)).result() + interrupt("go?")

    sets.invoke(["b", "a", "c"], cfg("sets"))
    assert sets.invoke(Command(resume=1), cfg("sets")) == 4 and len(seen) == 1


_SET_SCRIPT = """
import sys
from nbflow import Command, SqliteSaver, entrypoint, interrupt, task

@task
def takes_set(s: frozenset) -> int:
    print("ran", flush=True)
    return len(s)

@entrypoint(checkpointer=SqliteSaver(sys.argv[1]))
def sets(words: list) -> int:
    return takes_set(frozenset(words)).result() + interrupt("go?")

c = {"configurable": {"thread_id": "sets"}}
if sys.argv[2] == "start":
    print(list(frozenset("abcdefghij")), sets.invoke(list("abcdefghij"), c)["__interrupt__"][0].value)
else:
    print(list(frozenset("abcdefghij")), sets.invoke(Command(resume=1), c))
"""


def test_set_arguments_compare_by_content_across_processes(tmp_path):
    """A set's iteration order changes with the process's hash seed; the digest must not."""
    import os

    script = tmp_path / "sets.py"
    script.write_text(_SET_SCRIPT)
    db = str(tmp_path / "sets.sqlite")
    outs = []
    for seed, step in (("1", "start"), ("2", "resume")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, str(script), db, step], capture_output=True, text=True, env=env,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout.splitlines())
    assert outs[0][0] == "ran" and outs[0][1].endswith("go?")
    assert outs[1] == [outs[1][0]] and outs[1][0].endswith(" 11")  # resumed: served, not re-run, no error
    assert outs[0][1].split("]")[0] != outs[1][0].split("]")[0]  # the two processes did order the set differently


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
