"""``durability="sync" | "async" | "exit"``: when a run's journal rows reach the saver.

Every mode must leave the same saved thread once ``invoke`` has returned (or paused, or
failed); they differ only in when rows are committed while the run goes on. The tests
look at the real saver from inside the tasks (what is committed so far), hold the
write-behind thread's commit to show the run does not wait for it, and inject a failing
commit to show it is raised, not lost.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nbflow import Command, SqliteSaver, entrypoint, interrupt, task
from nbflow.checkpoint.base import RESULT, SaverError
from nbflow.engine.journaling import Behind, WriteBehind

MODES = ("sync", "async", "exit")


def results(saver, thread_id: str) -> list:
    return [w for w in saver.list_writes(thread_id) if w.kind == RESULT]


def build(saver, seen: list[int], n_parallel: int = 3):
    """A chain whose every step notes how many task results the saver holds when it runs."""

    @task
    def step(i: int, acc: int) -> int:
        seen.append(len(results(saver, "t")))
        return acc + i

    @task
    def side(i: int) -> int:
        return i * 10

    @entrypoint(checkpointer=saver)
    def flow(n: int) -> dict:
        sides = [side(i) for i in range(n_parallel)]
        acc = 0
        for i in range(n):
            acc = step(i, acc).result()
        return {"acc": acc, "sides": [s.result() for s in sides]}

    return flow


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_saves_the_whole_run_before_invoke_returns(saver_factory, mode: str):
    saver = saver_factory()
    seen: list[int] = []
    flow = build(saver, seen)
    out = flow.invoke(12, {"configurable": {"thread_id": "t"}}, durability=mode)
    assert out == {"acc": sum(range(12)), "sides": [0, 10, 20]}
    assert len(results(saver, "t")) == 12 + 3 + 0  # every task's result, nothing twice
    state = flow.get_state({"configurable": {"thread_id": "t"}})
    assert state.values == out and state.next == ()
    # what the tasks saw says when rows were committed
    if mode == "sync":
        assert all(seen[i] >= i for i in range(12))  # every earlier step was committed first
        assert seen == sorted(seen)
    elif mode == "exit":
        assert seen == [0] * 12  # nothing is written until the run ends


def test_async_does_not_wait_for_commits_and_batches_them(tmp_path: Path):
    """The write-behind commit is held: the chain still runs to its last step meanwhile,
    and the rows queued behind the held commit go to the saver in one batch."""
    gate, held = threading.Event(), threading.Event()
    batches: list[int] = []

    class HeldSaver(SqliteSaver):
        def put_writes(self, records):
            if not held.is_set():
                held.set()
                assert gate.wait(30)
            batches.append(len(records))
            super().put_writes(records)

    saver = HeldSaver(tmp_path / "held.sqlite")
    ran: list[int] = []

    @task
    def step(i: int) -> int:
        ran.append(i)
        return i

    @entrypoint(checkpointer=saver)
    def flow(n: int) -> int:
        return sum(step(i).result() for i in range(n))

    box: dict = {}
    t = threading.Thread(target=lambda: box.update(out=flow.invoke(20, {"configurable": {"thread_id": "t"}},
                                                                     durability="async")))
    t.start()
    assert held.wait(30)
    deadline = threading.Event()
    for _ in range(3000):  # every step runs although the first commit has not returned
        if len(ran) == 20:
            break
        deadline.wait(0.01)
    assert ran == list(range(20))
    assert "out" not in box  # ... but invoke waits for the commits before it returns
    gate.set()
    t.join(30)
    assert box["out"] == sum(range(20))
    assert sum(batches) == 20 and len(batches) <= 3  # the 19 rows queued meanwhile shared a transaction
    assert len(results(SqliteSaver(tmp_path / "held.sqlite"), "t")) == 20


def test_a_failed_write_behind_commit_is_raised_and_fails_only_its_own_run(tmp_path: Path):
    gate = threading.Event()

    class PickySaver(SqliteSaver):
        def put_writes(self, records):
            assert gate.wait(30)
            if any(r.name == "bad" for r in records):
                raise SaverError("refused a row of task 'bad'")
            super().put_writes(records)

    saver = PickySaver(tmp_path / "picky.sqlite")
    queue = WriteBehind(saver)
    good, bad = Behind(saver), Behind(saver)
    good.queue = bad.queue = queue  # one queue, as two runs on one saver share it

    @task
    def ok(x):
        return x

    @entrypoint(checkpointer=SqliteSaver(tmp_path / "rows.sqlite"))
    def make(x):
        return ok(x).result()

    make.invoke(1, {"configurable": {"thread_id": "g"}})
    rows = results(make.checkpointer, "g")
    bad_rows = [r.__class__(*(("bad" if f == "name" else getattr(r, f)) for f in r.__slots__)) for r in rows]
    queue.submit(rows, good)
    queue.submit(bad_rows, bad)
    gate.set()  # both are in one batch: it fails, then each run's rows are tried alone
    queue.wait(good)
    with pytest.raises(SaverError, match="task 'bad'"):
        queue.wait(bad)
    assert [r.name for r in results(saver, "g")] == ["ok"]


def test_async_run_raises_the_saver_error_of_its_rows(tmp_path: Path):
    class FullDisk(SqliteSaver):
        def put_writes(self, records):
            if any(r.kind == RESULT and r.name == "step" for r in records):
                raise SaverError("database or disk is full")
            super().put_writes(records)

    @task
    def step(i):
        return i

    @entrypoint(checkpointer=FullDisk(tmp_path / "full.sqlite"))
    def flow(n):
        return [step(i).result() for i in range(n)]

    with pytest.raises(SaverError, match="disk is full"):
        flow.invoke(3, {"configurable": {"thread_id": "t"}}, durability="async")
    with pytest.raises(SaverError, match="disk is full"):  # the same through stream()
        list(flow.stream(2, {"configurable": {"thread_id": "u"}}, durability="async"))


@pytest.mark.parametrize("mode", ("async", "exit"))
def test_interrupt_and_resume_under_deferred_modes(tmp_path: Path, mode: str):
    db = tmp_path / "hitl.sqlite"
    calls = {"draft": 0}

    def build(saver):
        @task
        def draft(topic):
            calls["draft"] += 1
            return f"essay about {topic}"

        @entrypoint(checkpointer=saver)
        def review(topic):
            text = draft(topic).result()
            verdict = interrupt({"question": "ok?", "text": text})
            return {"text": text, "verdict": verdict}

        return review

    cfg = {"configurable": {"thread_id": "r"}}
    out = build(SqliteSaver(db)).invoke("cats", cfg, durability=mode)
    assert out["__interrupt__"][0].value["text"] == "essay about cats"
    other = build(SqliteSaver(db))  # another saver object on the file: the pause was committed
    assert other.get_state(cfg).next == ("review",)
    assert other.invoke(Command(resume="yes"), cfg, durability=mode) == {"text": "essay about cats",
                                                                         "verdict": "yes"}
    assert calls["draft"] == 1  # the draft was journaled before the pause, and served on resume


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_run_keeps_its_finished_tasks_in_every_mode(tmp_path: Path, mode: str):
    runs = {"ok": 0}
    fail = {"on": True}

    @task
    def good(i):
        runs["ok"] += 1
        return i

    @task
    def flaky():
        if fail["on"]:
            raise ValueError("flaky failed")
        return "fine"

    @entrypoint(checkpointer=SqliteSaver(tmp_path / "f.sqlite"))
    def flow(n):
        return [good(i).result() for i in range(n)] + [flaky().result()]

    cfg = {"configurable": {"thread_id": "t"}}
    with pytest.raises(ValueError, match="flaky failed"):
        flow.invoke(4, cfg, durability=mode)
    fail["on"] = False
    assert SqliteSaver(tmp_path / "f.sqlite").list_writes("t")  # committed, seen from another connection
    assert flow.invoke(None, cfg, durability=mode) == [0, 1, 2, 3, "fine"]
    assert runs["ok"] == 4  # the retry served the four finished tasks from the journal


def test_a_saver_used_with_async_durability_is_not_kept_alive(tmp_path: Path):
    import gc
    import weakref

    saver = SqliteSaver(tmp_path / "gone.sqlite")

    @task
    def one():
        return 1

    @entrypoint(checkpointer=saver)
    def flow(_):
        return one().result()

    assert flow.invoke(0, {"configurable": {"thread_id": "t"}}, durability="async") == 1
    ref = weakref.ref(saver)
    saver.close()
    del saver, flow, one
    gc.collect()
    assert ref() is None
