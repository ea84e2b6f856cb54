"""SQLite-specific saver tests (the contract every saver meets is in test_saver_contract.py)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from nbflow.checkpoint import SqliteSaver
from nbflow.checkpoint.conformance.contract import chain, ckpt, wr
from nbflow.checkpoint.sqlite import SCHEMA_VERSION
from nbflow.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]


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
    with pytest.raises(RuntimeError), SqliteSaver.from_conn_string(path) as saver:
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
    assert _rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
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
                if len(saver._group.rows) == 3:
                    break
                _t.Event().wait(0.005)
            assert len(saver._group.rows) == 3
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


def test_group_commit_under_many_threads_commits_every_row_once_in_few_transactions(tmp_path):
    """200 writers at once: each returns only when its row is in the file, no row twice, and
    the rows share far fewer transactions than there are writers."""
    import threading as _t

    saver = SqliteSaver(tmp_path / "many.sqlite")
    cp = ckpt("M")
    saver.put_checkpoint(cp)
    commits: list[int] = []
    real = saver._insert_rows

    def slow_counting(rows):
        commits.append(len(rows))
        _t.Event().wait(0.002)  # a commit that takes a while, like a disk flush
        return real(rows)

    saver._insert_rows = slow_counting
    seen_after_return: list[bool] = []
    start = _t.Barrier(200)

    def writer(i: int) -> None:
        start.wait()
        saver.put_write(wr(cp, f"task-{i}"))
        mine = [w for w in SqliteSaver(tmp_path / "many.sqlite").list_writes("M") if w.task_id == f"task-{i}"]
        seen_after_return.append(len(mine) == 1)

    threads = [_t.Thread(target=writer, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen_after_return == [True] * 200  # committed (and visible to another connection) on return
    ids = [w.task_id for w in saver.list_writes("M")]
    assert sorted(ids) == sorted(f"task-{i}" for i in range(200))  # every row once
    assert sum(commits) == 200 and len(commits) < 100, commits
    saver.close()
