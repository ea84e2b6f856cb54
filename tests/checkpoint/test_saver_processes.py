"""Several processes on one database, and processes killed with SIGKILL.

Parametrised over the savers that outlive a process: SQLite (one file) and
PostgreSQL (a fresh schema on the session's real server). Each case starts real
Python subprocesses with this checkout on their path.
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

from nbflow.checkpoint.conformance import open_saver

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def shared_db(request, tmp_path: Path) -> str:
    """A fresh database several processes can open: a SQLite path or a Postgres URI."""
    if request.param == "sqlite":
        return str(tmp_path / "multi" / "shared.sqlite")  # a fresh file: its schema is created concurrently too
    return request.getfixturevalue("postgres_schemas").uri()  # an empty schema: setup() runs concurrently too


def _python(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


APPENDER = """
    import sys, time
    from nbflow.checkpoint import CheckpointRecord, WriteRecord, new_checkpoint_id
    from nbflow.checkpoint.conformance import open_saver
    where, tag, n, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    while time.time() < start_at:  # line the processes up, so they open and write together
        time.sleep(0.001)
    saver = open_saver(where)
    cid = new_checkpoint_id()
    saver.put_checkpoint(CheckpointRecord("shared", "", cid, None, time.time(), 0, "input", b"{}", b"{}"))
    own = f"own-{tag}"
    saver.put_checkpoint(CheckpointRecord(own, "", new_checkpoint_id(), None, time.time(), 0, "input", b"{}", b"{}"))
    for i in range(n):
        w = WriteRecord("shared", "", cid, tag, "f", str(i), "result", str(i).encode())
        if i % 7 == 0:
            saver.put_writes([w, WriteRecord("shared", "", cid, tag, "g", str(i), "cached", b"")])
        else:
            saver.put_writes([w])
        if i % 25 == 0:
            saver.list_writes("shared")  # readers interleave with writers
            saver.list_threads()
    saver.close()
    print("ok", tag)
"""


def test_processes_append_to_one_database_concurrently(shared_db: str):
    n, n_procs = 300, 3
    start_at = time.time() + 1.0
    procs = [_python(APPENDER, shared_db, f"p{i}", str(n), str(start_at)) for i in range(n_procs)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert "locked" not in err.lower(), err
        assert p.returncode == 0, err
        assert out.startswith("ok")

    saver = open_saver(shared_db)
    try:
        writes = saver.list_writes("shared")
        per_tag = n + len(range(0, n, 7))
        assert len(writes) == n_procs * per_tag
        seqs = [w.seq for w in writes]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        for i in range(n_procs):
            mine = [w for w in writes if w.task_id == f"p{i}" and w.name == "f"]
            assert [w.path for w in mine] == [str(k) for k in range(n)]  # each process's order kept
        assert len(saver.list_checkpoints("shared")) == n_procs
        threads = saver.list_threads()
        assert sorted(threads) == sorted(["shared"] + [f"own-p{i}" for i in range(n_procs)])
        assert threads[0] == "shared"  # written last
    finally:
        saver.close()


KILLED_WRITER = """
    import sys, time
    from nbflow.checkpoint import CheckpointRecord, WriteRecord, new_checkpoint_id
    from nbflow.checkpoint.conformance import open_saver
    saver = open_saver(sys.argv[1])
    cid = new_checkpoint_id()
    saver.put_checkpoint(CheckpointRecord("doomed", "", cid, None, time.time(), 0, "input", b"{}", b"{}"))
    print("ckpt", cid, flush=True)
    i = 0
    while True:
        saver.put_write(WriteRecord("doomed", "", cid, "t", "f", str(i), "result", b"x" * 100))
        print("wrote", i, flush=True)  # acknowledged only after put_write returned
        i += 1
        if i >= 200:
            time.sleep(60)  # idle, waiting to be killed
"""


def test_sigkill_after_put_writes_loses_nothing(shared_db: str):
    proc = _python(KILLED_WRITER, shared_db)
    acked: list[int] = []
    cid = None
    try:
        for line in proc.stdout:
            word, value = line.split()
            if word == "ckpt":
                cid = value
            else:
                acked.append(int(value))
            if len(acked) >= 50:
                break
        os.kill(proc.pid, signal.SIGKILL)  # no chance to close, flush or commit anything more
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert cid is not None and len(acked) >= 50

    saver = open_saver(shared_db)
    try:
        cp = saver.get_checkpoint("doomed")
        assert cp is not None and cp.checkpoint_id == cid
        stored = [int(w.path) for w in saver.get_writes("doomed", "", cid)]
        # everything acknowledged is there (the process may have committed a few more)
        assert stored[: len(acked)] == acked
        assert stored == list(range(len(stored)))
    finally:
        saver.close()


ASKER = """
    import sys
    from nbflow import entrypoint, task, interrupt
    from nbflow.checkpoint.conformance import open_saver

    @task
    def draft(topic: str) -> str:
        return f"a draft about {topic}"

    def build(saver):
        @entrypoint(checkpointer=saver)
        def review(topic: str) -> dict:
            text = draft(topic).result()
            answer = interrupt({"question": "publish?", "draft": text})
            return {"draft": text, "answer": answer}
        return review

    if __name__ == "__main__":
        out = build(open_saver(sys.argv[1])).invoke(sys.argv[2], {"configurable": {"thread_id": sys.argv[3]}})
        print(repr(sorted(out)))
"""


def test_a_question_asked_in_one_process_is_answered_in_another(shared_db: str, tmp_path: Path):
    """Two kernels on one database: one asks (interrupt), the other lists the waiting
    thread and answers it with the same workflow code; the draft task is not re-run."""
    script = tmp_path / "asker.py"
    script.write_text(textwrap.dedent(ASKER))
    procs = [_python(script.read_text(), shared_db, f"topic{i}", f"review-{i}") for i in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "__interrupt__" in out

    import importlib.util

    from nbflow import Command

    spec = importlib.util.spec_from_file_location("asker", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    saver = open_saver(shared_db)
    try:
        assert sorted(saver.list_threads()) == ["review-0", "review-1"]
        wf = mod.build(saver)
        config = {"configurable": {"thread_id": "review-1"}}
        (waiting,) = wf.get_state(config).interrupts
        assert waiting.value == {"question": "publish?", "draft": "a draft about topic1"}
        out = wf.invoke(Command(resume="yes"), config)
        assert out == {"draft": "a draft about topic1", "answer": "yes"}
        drafts = [w for w in saver.list_writes("review-1") if w.name == "draft" and w.kind == "result"]
        assert len(drafts) == 1  # the other process's result was reused, not recomputed
        assert saver.list_threads()[0] == "review-1"
    finally:
        saver.close()
