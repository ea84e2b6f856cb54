"""The checkpointer contract, run over every saver, plus SQLite-specific durability tests."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from nbflow.checkpoint import (
    BaseCheckpointSaver,
    CheckpointRecord,
    InMemorySaver,
    MemorySaver,
    SqliteSaver,
    WriteRecord,
    new_checkpoint_id,
)
from nbflow.checkpoint.base import ERROR, INTERRUPT, RESULT, RESUME, ROOT
from nbflow.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]


def ckpt(
    thread_id: str = "t1",
    checkpoint_ns: str = "",
    checkpoint_id: str | None = None,
    *,
    parent_id: str | None = None,
    step: int = 0,
    source: str = "loop",
    channels: bytes = b'{"x": 1}',
) -> CheckpointRecord:
    return CheckpointRecord(
        thread_id=thread_id,
        checkpoint_ns=checkpoint_ns,
        checkpoint_id=checkpoint_id or new_checkpoint_id(),
        parent_id=parent_id,
        created_at=time.time(),
        step=step,
        source=source,
        channels=channels,
        metadata=b'{"step": %d}' % step,
    )


def wr(
    cp: CheckpointRecord,
    task_id: str = "task-a",
    *,
    kind: str = RESULT,
    payload: bytes = b"1",
    name: str = "f",
    path: str = "0",
) -> WriteRecord:
    return WriteRecord(
        thread_id=cp.thread_id,
        checkpoint_ns=cp.checkpoint_ns,
        checkpoint_id=cp.checkpoint_id,
        task_id=task_id,
        name=name,
        path=path,
        kind=kind,
        payload=payload,
        started_at=1.5,
        ended_at=2.25,
        summary=f"{name}(...)",
    )


def chain(saver: BaseCheckpointSaver, n: int, thread_id: str = "t1", ns: str = "") -> list[CheckpointRecord]:
    """Put ``n`` checkpoints, each the child of the previous; return them oldest first."""
    out: list[CheckpointRecord] = []
    parent = None
    for i in range(n):
        cp = ckpt(thread_id, ns, parent_id=parent, step=i, source="input" if i == 0 else "loop")
        saver.put_checkpoint(cp)
        out.append(cp)
        parent = cp.checkpoint_id
    return out


def strip_seq(w: WriteRecord) -> tuple:
    return (w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.name, w.path, w.kind,
            w.payload, w.started_at, w.ended_at, w.summary)


# ----------------------------------------------------------------------------
# The contract, over every saver
# ----------------------------------------------------------------------------


def test_fixture_gives_a_saver(checkpointer):
    assert isinstance(checkpointer, BaseCheckpointSaver)
    assert MemorySaver is InMemorySaver


def test_empty_saver(checkpointer):
    assert checkpointer.get_checkpoint("nope") is None
    assert checkpointer.get_checkpoint("nope", "", new_checkpoint_id()) is None
    assert checkpointer.list_checkpoints("nope") == []
    assert checkpointer.get_writes("nope", "", "x") == []
    assert checkpointer.list_writes("nope") == []
    assert checkpointer.list_threads() == []
    checkpointer.delete_thread("nope")  # no-op


def test_put_and_get_latest(checkpointer):
    cps = chain(checkpointer, 3)
    latest = checkpointer.get_checkpoint("t1")
    assert latest == cps[-1]
    assert latest.parent_id == cps[1].checkpoint_id
    assert isinstance(latest.channels, bytes) and isinstance(latest.metadata, bytes)
    assert checkpointer.get_checkpoint("t1", "") == cps[-1]


def test_get_by_id_and_unknown_id(checkpointer):
    cps = chain(checkpointer, 4)
    for cp in cps:
        assert checkpointer.get_checkpoint("t1", "", cp.checkpoint_id) == cp
    assert checkpointer.get_checkpoint("t1", "", new_checkpoint_id()) is None
    assert checkpointer.get_checkpoint("t1", "other-ns", cps[0].checkpoint_id) is None
    assert checkpointer.get_checkpoint("t2", "", cps[0].checkpoint_id) is None


def test_namespaces_are_separate(checkpointer):
    root = chain(checkpointer, 2, "t1", "")
    sub = chain(checkpointer, 3, "t1", "child:1")
    assert checkpointer.get_checkpoint("t1") == root[-1]
    assert checkpointer.get_checkpoint("t1", "child:1") == sub[-1]
    assert checkpointer.list_checkpoints("t1") == root[::-1]
    assert checkpointer.list_checkpoints("t1", "child:1") == sub[::-1]


def test_latest_is_the_largest_id_whatever_the_insert_order(checkpointer):
    ids = [new_checkpoint_id() for _ in range(5)]
    order = [2, 0, 4, 1, 3]
    recs = {i: ckpt("t1", "", ids[i], step=i) for i in range(5)}
    for i in order:
        checkpointer.put_checkpoint(recs[i])
    assert checkpointer.get_checkpoint("t1") == recs[4]
    assert [c.step for c in checkpointer.list_checkpoints("t1")] == [4, 3, 2, 1, 0]


def test_re_putting_a_checkpoint_replaces_it(checkpointer):
    cp = ckpt("t1", step=1)
    checkpointer.put_checkpoint(cp)
    again = CheckpointRecord(**{**{f: getattr(cp, f) for f in cp.__slots__}, "channels": b"new"})
    checkpointer.put_checkpoint(again)
    assert checkpointer.list_checkpoints("t1") == [again]


def test_list_newest_first_with_before_and_limit(checkpointer):
    cps = chain(checkpointer, 10)
    newest_first = cps[::-1]
    assert checkpointer.list_checkpoints("t1") == newest_first
    assert checkpointer.list_checkpoints("t1", limit=3) == newest_first[:3]
    assert checkpointer.list_checkpoints("t1", limit=100) == newest_first
    assert checkpointer.list_checkpoints("t1", limit=0) == []
    # `before` is exclusive
    assert checkpointer.list_checkpoints("t1", before=cps[5].checkpoint_id) == cps[:5][::-1]
    assert checkpointer.list_checkpoints("t1", before=cps[5].checkpoint_id, limit=2) == [cps[4], cps[3]]
    assert checkpointer.list_checkpoints("t1", before=cps[0].checkpoint_id) == []
    # paging with before= walks the whole history exactly once
    seen, cursor = [], None
    while True:
        page = checkpointer.list_checkpoints("t1", before=cursor, limit=3)
        if not page:
            break
        seen.extend(page)
        cursor = page[-1].checkpoint_id
    assert seen == newest_first
    # before= an id the thread does not have still cuts by id order
    later = new_checkpoint_id()
    assert checkpointer.list_checkpoints("t1", before=later) == newest_first
    with pytest.raises(ValueError):
        checkpointer.list_checkpoints("t1", limit=-1)


def test_writes_order_and_seq(checkpointer):
    cp1, cp2 = chain(checkpointer, 2)
    batch = [wr(cp1, "a", payload=b"1"), wr(cp1, "b", payload=b"2", kind=ERROR)]
    checkpointer.put_writes(batch)
    checkpointer.put_write(wr(cp2, "c", payload=b"3"))
    checkpointer.put_writes([])  # no-op
    checkpointer.put_write(wr(cp1, "d", kind=INTERRUPT, payload=b"4"))
    checkpointer.put_write(wr(cp1, ROOT, kind=RESUME, name="", payload=b"5"))

    got = checkpointer.get_writes("t1", "", cp1.checkpoint_id)
    assert [w.task_id for w in got] == ["a", "b", "d", ROOT]
    assert [strip_seq(w) for w in got] == [strip_seq(w) for w in batch] + [
        strip_seq(wr(cp1, "d", kind=INTERRUPT, payload=b"4")),
        strip_seq(wr(cp1, ROOT, kind=RESUME, name="", payload=b"5")),
    ]
    seqs = [w.seq for w in got]
    assert all(s > 0 for s in seqs) and seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert batch[0].seq == 0  # the caller's record is untouched

    (only,) = checkpointer.get_writes("t1", "", cp2.checkpoint_id)
    assert only.task_id == "c" and got[1].seq < only.seq < got[2].seq
    assert checkpointer.get_writes("t1", "", new_checkpoint_id()) == []
    assert checkpointer.get_writes("t1", "other", cp1.checkpoint_id) == []

    everything = checkpointer.list_writes("t1")
    assert [w.task_id for w in everything] == ["a", "b", "c", "d", ROOT]


def test_list_writes_across_namespaces(checkpointer):
    (root,) = chain(checkpointer, 1, "t1", "")
    (sub,) = chain(checkpointer, 1, "t1", "sub:1")
    (other,) = chain(checkpointer, 1, "t2", "")
    checkpointer.put_write(wr(root, "r1"))
    checkpointer.put_write(wr(sub, "s1"))
    checkpointer.put_write(wr(other, "o1"))
    checkpointer.put_writes([wr(root, "r2"), wr(sub, "s2")])
    all_t1 = checkpointer.list_writes("t1")
    assert [w.task_id for w in all_t1] == ["r1", "s1", "r2", "s2"]
    assert [w.seq for w in all_t1] == sorted(w.seq for w in all_t1)
    assert [w.task_id for w in checkpointer.list_writes("t1", "")] == ["r1", "r2"]
    assert [w.task_id for w in checkpointer.list_writes("t1", "sub:1")] == ["s1", "s2"]
    assert [w.task_id for w in checkpointer.list_writes("t2")] == ["o1"]
    assert checkpointer.list_writes("t1", "missing") == []


def test_list_threads_most_recent_first(checkpointer):
    a = ckpt("A")
    checkpointer.put_checkpoint(a)
    checkpointer.put_checkpoint(ckpt("B"))
    checkpointer.put_checkpoint(ckpt("C"))
    assert checkpointer.list_threads() == ["C", "B", "A"]
    checkpointer.put_write(wr(a))  # a journal row counts as activity
    assert checkpointer.list_threads() == ["A", "C", "B"]
    checkpointer.put_checkpoint(ckpt("B"))
    assert checkpointer.list_threads() == ["B", "A", "C"]
    # writes alone do not make a thread
    checkpointer.put_write(wr(ckpt("ghost")))
    assert checkpointer.list_threads() == ["B", "A", "C"]
    checkpointer.put_checkpoint(ckpt("C"))
    assert checkpointer.list_threads() == ["C", "B", "A"]


def test_delete_thread(checkpointer):
    a = chain(checkpointer, 3, "A")
    chain(checkpointer, 2, "A", "sub")
    b = chain(checkpointer, 2, "B")
    checkpointer.put_writes([wr(a[0], "x"), wr(a[2], "y"), wr(b[1], "z")])
    last_seq = max(w.seq for w in checkpointer.list_writes("A"))

    checkpointer.delete_thread("A")
    assert checkpointer.get_checkpoint("A") is None
    assert checkpointer.get_checkpoint("A", "", a[0].checkpoint_id) is None
    assert checkpointer.list_checkpoints("A") == []
    assert checkpointer.list_checkpoints("A", "sub") == []
    assert checkpointer.get_writes("A", "", a[0].checkpoint_id) == []
    assert checkpointer.list_writes("A") == []
    assert checkpointer.list_threads() == ["B"]
    # the other thread is intact
    assert checkpointer.list_checkpoints("B") == b[::-1]
    assert [w.task_id for w in checkpointer.list_writes("B")] == ["z"]
    # the thread id can be reused; seq keeps growing
    (fresh,) = chain(checkpointer, 1, "A")
    checkpointer.put_write(wr(fresh, "n"))
    (n,) = checkpointer.list_writes("A")
    assert n.seq > last_seq
    assert checkpointer.list_threads() == ["A", "B"]


def test_saver_factory_makes_independent_savers(saver_factory, checkpointer):
    other = saver_factory()
    assert other is not checkpointer and type(other) is type(checkpointer)
    chain(checkpointer, 1, "only-here")
    assert other.list_threads() == []
    assert other.get_checkpoint("only-here") is None


def test_many_threads_concurrently_lose_nothing(checkpointer):
    n_workers, n_writes = 8, 150
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_workers + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            tid = f"w{i}"
            cp = ckpt(tid)
            checkpointer.put_checkpoint(cp)
            k = 0
            while k < n_writes:
                if k % 10 == 0:  # mix single rows and batches
                    checkpointer.put_writes([wr(cp, f"{k + j}") for j in range(5)])
                    k += 5
                else:
                    checkpointer.put_write(wr(cp, f"{k}"))
                    k += 1
                if k % 50 == 0:
                    checkpointer.put_checkpoint(ckpt(tid, step=k))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        barrier.wait()
        try:
            while not stop.is_set():
                for tid in checkpointer.list_threads():
                    checkpointer.list_writes(tid)
                    checkpointer.list_checkpoints(tid, limit=5)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_workers)]
    r = threading.Thread(target=reader)
    for t in threads:
        t.start()
    r.start()
    for t in threads:
        t.join()
    stop.set()
    r.join()
    assert errors == []

    assert sorted(checkpointer.list_threads()) == sorted(f"w{i}" for i in range(n_workers))
    all_seqs = []
    for i in range(n_workers):
        writes = checkpointer.list_writes(f"w{i}")
        assert [w.task_id for w in writes] == [str(k) for k in range(n_writes)]
        all_seqs.extend(w.seq for w in writes)
        assert len(checkpointer.list_checkpoints(f"w{i}")) == 1 + n_writes // 50
    assert len(set(all_seqs)) == n_workers * n_writes


# ----------------------------------------------------------------------------
# SQLite specifics
# ----------------------------------------------------------------------------


def _rows(path: Path, sql: str):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("as_str", [True, False], ids=["str", "pathlike"])
def test_sqlite_path_constructor_creates_parents(tmp_path, as_str):
    path = tmp_path / "deep" / "er" / "db.sqlite"
    saver = SqliteSaver(str(path) if as_str else path)
    try:
        assert path.exists()
        (cp,) = chain(saver, 1)
        assert saver.get_checkpoint("t1") == cp
    finally:
        saver.close()
    saver.close()  # idempotent


def test_sqlite_memory_database():
    with SqliteSaver(":memory:") as saver:
        (cp,) = chain(saver, 1)
        saver.put_write(wr(cp))
        assert saver.get_checkpoint("t1") == cp
        assert len(saver.list_writes("t1")) == 1


def test_sqlite_rejects_other_types():
    with pytest.raises(ConfigError):
        SqliteSaver(42)  # type: ignore[arg-type]


def test_sqlite_connection_constructor(tmp_path):
    conn = sqlite3.connect(tmp_path / "user.sqlite", check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        (cp,) = chain(saver, 1)
        done = []

        def elsewhere():
            saver.put_write(wr(cp, "from-thread"))
            done.append(saver.get_checkpoint("t1"))

        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
        assert done == [cp]
        assert [w.task_id for w in saver.list_writes("t1")] == ["from-thread"]
        saver.close()
        # the saver does not close a connection it was given
        assert conn.execute("SELECT count(*) FROM writes").fetchone() == (1,)
    finally:
        conn.close()


def test_sqlite_same_thread_connection_gives_config_error(tmp_path):
    conn = sqlite3.connect(tmp_path / "user.sqlite")  # check_same_thread=True
    try:
        saver = SqliteSaver(conn)
        chain(saver, 1)  # fine in the creating thread
        caught: list[BaseException] = []

        def elsewhere():
            for call in (lambda: saver.get_checkpoint("t1"), lambda: saver.put_checkpoint(ckpt("t1"))):
                try:
                    call()
                except BaseException as exc:
                    caught.append(exc)

        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
        assert len(caught) == 2
        for exc in caught:
            assert isinstance(exc, ConfigError) and isinstance(exc, ValueError)
            assert "check_same_thread=False" in str(exc)
        assert len(saver.list_checkpoints("t1")) == 1  # nothing half-written
    finally:
        conn.close()


def test_sqlite_user_connection_inside_its_own_transaction(tmp_path):
    conn = sqlite3.connect(tmp_path / "user.sqlite", check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        (cp,) = chain(saver, 1)
        conn.execute("BEGIN")
        saver.put_write(wr(cp, "inside"))
        assert conn.in_transaction  # the caller's transaction is left open
        conn.rollback()
        assert saver.list_writes("t1") == []
        saver.put_write(wr(cp, "after"))
        assert [w.task_id for w in saver.list_writes("t1")] == ["after"]
    finally:
        conn.close()


def test_sqlite_from_conn_string_closes(tmp_path):
    path = tmp_path / "ctx.sqlite"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        assert isinstance(saver, SqliteSaver)
        chain(saver, 1)
        conn = saver.conn
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")
    # closed even when the block raises
    with pytest.raises(RuntimeError):
        with SqliteSaver.from_conn_string(path) as saver:
            conn = saver.conn
            raise RuntimeError("boom")
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")


def test_sqlite_survives_reopening(tmp_path):
    path = tmp_path / "persist.sqlite"
    with SqliteSaver.from_conn_string(path) as saver:
        cps = chain(saver, 3, "A")
        chain(saver, 1, "B")
        saver.put_writes([wr(cps[1], "x"), wr(cps[2], "y", payload=b"\x00\xffbinary")])
        before = saver.list_writes("A")
    with SqliteSaver.from_conn_string(path) as saver:
        assert saver.list_checkpoints("A") == cps[::-1]
        assert saver.get_checkpoint("A") == cps[-1]
        assert saver.list_writes("A") == before
        assert saver.get_writes("A", "", cps[2].checkpoint_id)[0].payload == b"\x00\xffbinary"
        assert saver.list_threads() == ["A", "B"]  # A had the last write
        saver.put_write(wr(cps[0], "z"))
        assert saver.list_writes("A")[-1].seq > before[-1].seq


def test_sqlite_pragmas_and_schema(tmp_path):
    path = tmp_path / "wal.sqlite"
    with SqliteSaver(path) as saver:
        conn = saver.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert conn.isolation_level is None
    tables = {r[0] for r in _rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"checkpoints", "writes", "meta"} <= tables
    assert _rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    indexes = {r[0] for r in _rows(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "writes_by_checkpoint" in indexes  # its (thread_id, ...) prefix also serves per-thread listing
    # the file stays in WAL mode for every later opener
    assert _rows(path, "PRAGMA journal_mode") == [("wal",)]
    # opening again is idempotent
    SqliteSaver(path).close()


def test_sqlite_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "future.sqlite"
    SqliteSaver(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="schema version 999"):
        SqliteSaver(path)


def _python(code: str, *args: str, **popen_kwargs) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen_kwargs,
    )


APPENDER = """
    import sys, time
    from nbflow.checkpoint import SqliteSaver, CheckpointRecord, WriteRecord, new_checkpoint_id
    path, tag, n, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    while time.time() < start_at:  # line the processes up, so they open and write together
        time.sleep(0.001)
    saver = SqliteSaver(path)
    cid = new_checkpoint_id()
    saver.put_checkpoint(CheckpointRecord("shared", "", cid, None, time.time(), 0, "input", b"{}", b"{}"))
    for i in range(n):
        w = WriteRecord("shared", "", cid, tag, "f", str(i), "result", str(i).encode())
        if i % 7 == 0:
            saver.put_writes([w, WriteRecord("shared", "", cid, tag, "g", str(i), "cached", b"")])
        else:
            saver.put_writes([w])
        if i % 25 == 0:
            saver.list_writes("shared")  # readers interleave with writers
    saver.close()
    print("ok", tag)
"""


def test_sqlite_two_processes_append_concurrently(tmp_path):
    path = tmp_path / "multi" / "shared.sqlite"  # a fresh file: the schema is created concurrently too
    n, n_procs = 300, 3
    start_at = time.time() + 1.0
    procs = [_python(APPENDER, str(path), f"p{i}", str(n), str(start_at)) for i in range(n_procs)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert "locked" not in err.lower(), err
        assert p.returncode == 0, err
        assert out.startswith("ok")

    with SqliteSaver(path) as saver:
        writes = saver.list_writes("shared")
        per_tag = n + len(range(0, n, 7))
        assert len(writes) == n_procs * per_tag
        seqs = [w.seq for w in writes]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        for i in range(n_procs):
            mine = [w for w in writes if w.task_id == f"p{i}" and w.name == "f"]
            assert [w.path for w in mine] == [str(k) for k in range(n)]  # each process's order kept
        assert len(saver.list_checkpoints("shared")) == n_procs
        assert saver.list_threads() == ["shared"]


KILLED_WRITER = """
    import sys, time
    from nbflow.checkpoint import SqliteSaver, CheckpointRecord, WriteRecord, new_checkpoint_id
    saver = SqliteSaver(sys.argv[1])
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


def test_sqlite_sigkill_after_put_writes_loses_nothing(tmp_path):
    path = tmp_path / "kill.sqlite"
    proc = _python(KILLED_WRITER, str(path))
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
        os.kill(proc.pid, signal.SIGKILL)  # no chance to close or checkpoint the WAL
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert cid is not None and len(acked) >= 50

    with SqliteSaver(path) as saver:
        cp = saver.get_checkpoint("doomed")
        assert cp is not None and cp.checkpoint_id == cid
        stored = [int(w.path) for w in saver.get_writes("doomed", "", cid)]
        # everything acknowledged is there (the process may have committed a few more)
        assert stored[: len(acked)] == acked
        assert stored == list(range(len(stored)))


def test_sqlite_group_commit_shares_one_transaction_and_its_failure(tmp_path):
    import threading as _t

    saver = SqliteSaver(tmp_path / "gc.sqlite")
    cp = ckpt("G")
    saver.put_checkpoint(cp)
    commits: list[int] = []
    real = saver._insert_rows

    def counting(rows):
        commits.append(len(rows))
        return real(rows)

    def run_batch(fail: bool) -> list:
        errors: list = []
        saver._insert_rows = (lambda rows: (_ for _ in ()).throw(OSError("disk full"))) if fail else counting

        def writer(i: int) -> None:
            try:
                saver.put_write(wr(cp, f"task-{fail}-{i}"))
            except OSError as e:
                errors.append(e)

        with saver._lock:  # hold the connection: the three writers queue up behind it
            threads = [_t.Thread(target=writer, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
            for _ in range(1000):
                if len(saver._gc_rows) == 3:
                    break
                _t.Event().wait(0.005)
            assert len(saver._gc_rows) == 3
        for t in threads:
            t.join(10)
        return errors

    assert run_batch(fail=False) == [] and commits == [3]  # one transaction for all three
    assert len(saver.list_writes("G")) == 3
    errors = run_batch(fail=True)
    assert len(errors) == 3  # every caller whose rows were in the failed transaction is told
    assert len(saver.list_writes("G")) == 3
    saver._insert_rows = real
    saver.put_write(wr(cp, "after"))  # the saver keeps working
    assert len(saver.list_writes("G")) == 4
    saver.close()
