"""A workflow process killed with SIGKILL loses no finished task (SQLite and PostgreSQL savers).

The child process runs a chain of tasks, each appending its index to a log
file as it runs. The parent kills it mid-run, reads which task results the
database holds, then resumes the thread in this process with the same
workflow code: every recorded task must be served from the checkpoint (not
run again), and the run must finish with the right answer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

WORKFLOW = textwrap.dedent(
    """
    import os, sys, time
    from nbflow import entrypoint, task
    from nbflow.checkpoint.conformance import open_saver

    DB, LOG = os.environ["NBFLOW_TEST_DB"], os.environ["NBFLOW_TEST_LOG"]

    @task
    def step(i: int, acc: int) -> int:
        with open(LOG, "a") as f:
            f.write(f"{i}\\n")
        time.sleep(float(os.environ.get("NBFLOW_TEST_DELAY", "0.02")))
        return acc + i

    @task
    def side(i: int) -> str:
        with open(LOG, "a") as f:
            f.write(f"side{i}\\n")
        return f"side{i}"

    def build(saver):
        @entrypoint(checkpointer=saver)
        def chain(n: int) -> dict:
            sides = [side(i) for i in range(3)]  # parallel, early
            acc = 0
            for i in range(n):
                acc = step(i, acc).result()
            return {"acc": acc, "sides": [s.result() for s in sides]}
        return chain

    if __name__ == "__main__":
        wf = build(open_saver(DB))
        wf.invoke(int(sys.argv[1]), {"configurable": {"thread_id": "killed"}},
                  durability=os.environ.get("NBFLOW_TEST_DURABILITY", "sync"))
    """
)


@pytest.fixture(params=["sqlite", "postgres"])
def durable_db(request, tmp_path: Path) -> str:
    """Where the killed process keeps its checkpoints: a SQLite file or a fresh Postgres schema."""
    if request.param == "sqlite":
        return str(tmp_path / "wf.sqlite")
    return request.getfixturevalue("postgres_schemas").uri()


@pytest.mark.slow
def test_sigkill_mid_run_loses_no_finished_task(tmp_path: Path, monkeypatch, durable_db: str):
    recorded, rerun, n = kill_and_resume(tmp_path, monkeypatch, durable_db, "sync")
    assert len(recorded) >= 10  # the child had finished at least 12 steps when killed


@pytest.mark.slow
def test_sigkill_under_async_durability_reruns_only_what_was_not_committed(tmp_path: Path, monkeypatch):
    """durability="async" (LangGraph's default) may lose the last few finished tasks of a
    killed process, never a committed one: those are served, the rest run again."""
    recorded, rerun, n = kill_and_resume(tmp_path, monkeypatch, str(tmp_path / "wf.sqlite"), "async")
    assert recorded  # the write-behind thread committed while the chain ran


def kill_and_resume(tmp_path: Path, monkeypatch, db: str, durability: str) -> tuple[set, set, int]:
    """Kill the child mid-run, resume here; returns (steps recorded before the resume, steps run again, n)."""
    script = tmp_path / "killme.py"
    script.write_text(WORKFLOW)
    log = tmp_path / "ran.log"
    env = {**os.environ, "NBFLOW_TEST_DB": str(db), "NBFLOW_TEST_LOG": str(log),
           "NBFLOW_TEST_DURABILITY": durability,
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    n = 40
    proc = subprocess.Popen([sys.executable, str(script), str(n)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.exists() and sum(1 for line in log.read_text().splitlines() if line.isdigit()) >= 12:
            break
        time.sleep(0.005)
    else:  # pragma: no cover
        proc.kill()
        pytest.fail("child never got going")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    from nbflow.checkpoint.conformance import open_saver

    saver = open_saver(db)
    recorded = {w.path: w.name for w in saver.list_writes("killed") if w.kind == "result"}
    before = log.read_text().splitlines()

    monkeypatch.setenv("NBFLOW_TEST_DB", str(db))
    monkeypatch.setenv("NBFLOW_TEST_LOG", str(log))
    monkeypatch.setenv("NBFLOW_TEST_DELAY", "0")
    import importlib.util

    spec = importlib.util.spec_from_file_location("killme", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    wf = mod.build(saver)
    out = wf.invoke(None, {"configurable": {"thread_id": "killed"}})
    assert out == {"acc": sum(range(n)), "sides": ["side0", "side1", "side2"]}

    rerun = log.read_text().splitlines()[len(before):]
    # Positions "3".."42" are the chain steps (0-2 are the side tasks).
    rerun_steps = {int(x) for x in rerun if x.isdigit()}
    recorded_steps = {int(p) - 3 for p, name in recorded.items() if name == "step"}
    assert not (rerun_steps & recorded_steps), "a finished task ran again after the crash"
    assert rerun_steps | recorded_steps == set(range(n))
    if durability == "sync":
        assert not any(x.startswith("side") for x in rerun)  # all three finished before the kill
    saver.close()
    return recorded_steps, rerun_steps, n
