"""SqliteSaver and AsyncSqliteSaver as LangGraph users build them: constructors, a user's connection, uuid thread ids."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from typing import Any

import pytest

from nbflow import (
    Command,
    ConfigError,
    entrypoint,
    interrupt,
    task,
)
from nbflow.checkpoint import AsyncSqliteSaver, SqliteSaver
from nbflow.testing.helpers import cfg


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




def _pragmas(conn: sqlite3.Connection) -> tuple[str, int]:
    return conn.execute("PRAGMA journal_mode").fetchone()[0], conn.execute("PRAGMA synchronous").fetchone()[0]


def test_async_sqlite_saver_runs_interrupts_and_resumes_on_a_file(tmp_path):
    path = tmp_path / "sub" / "ckpt.sqlite"
    calls = []

    @task
    async def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    async def main() -> tuple[Any, Any, list[str]]:
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            assert isinstance(saver, AsyncSqliteSaver)

            @entrypoint(checkpointer=saver)
            async def wf(x: int) -> int:
                y = await double(x)
                answer = interrupt(f"ok {y}?")
                return y + answer

            first = await wf.ainvoke(3, cfg("t1"))
            second = await wf.ainvoke(Command(resume=10), cfg("t1"))
            threads = await saver.alist_threads()
            ckpt = await saver.aget_checkpoint("t1")
            assert ckpt is not None and (await saver.alist_checkpoints("t1"))
            assert await saver.alist_writes("t1")
        assert saver._closed
        return first, second, threads

    first, second, threads = asyncio.run(main())
    assert "__interrupt__" in first
    assert second == 16
    assert calls == [3]  # the task ran once; the resume replayed it from the file
    assert threads == ["t1"]
    with SqliteSaver(path) as sync_saver:  # same file format as SqliteSaver
        assert sync_saver.list_threads() == ["t1"]


def test_async_sqlite_saver_from_conn_string_is_an_async_context_manager(tmp_path):
    cm = AsyncSqliteSaver.from_conn_string(tmp_path / "x.sqlite")
    assert hasattr(cm, "__aenter__") and not hasattr(cm, "__enter__")

    async def direct():
        saver = AsyncSqliteSaver(tmp_path / "y.sqlite")
        async with saver:
            await saver.adelete_thread("nobody")
        return saver

    assert asyncio.run(direct())._closed


def test_async_sqlite_saver_refuses_an_aiosqlite_connection(tmp_path):
    Conn = type("Connection", (), {"__module__": "aiosqlite.core"})
    with pytest.raises(ConfigError, match="Pass the database path"):
        AsyncSqliteSaver(Conn())


def test_user_connection_is_put_in_wal_and_works_end_to_end(tmp_path):
    path = tmp_path / "user.sqlite"
    conn = sqlite3.connect(path, check_same_thread=False)
    assert _pragmas(conn) == ("delete", 2)
    saver = SqliteSaver(conn)
    assert _pragmas(conn) == ("wal", 1)

    @task
    def inc(x: int) -> int:
        return x + 1

    @entrypoint(checkpointer=saver)
    def wf(x: int) -> int:
        return inc(inc(x).result()).result()

    assert wf.invoke(1, cfg("a")) == 3
    saver.close()  # does not close the user's connection
    assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] > 0
    conn.close()
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persists in the file
    other.close()


def test_user_connection_synchronous_choices(tmp_path):
    c1 = sqlite3.connect(tmp_path / "a.sqlite", check_same_thread=False)
    SqliteSaver(c1, synchronous=None)
    assert _pragmas(c1) == ("wal", 2)  # WAL always; synchronous left alone
    c2 = sqlite3.connect(tmp_path / "b.sqlite", check_same_thread=False)
    SqliteSaver(c2, synchronous="extra")
    assert _pragmas(c2) == ("wal", 3)
    with pytest.raises(ConfigError, match="synchronous"):
        SqliteSaver(sqlite3.connect(tmp_path / "c.sqlite", check_same_thread=False), synchronous="fast")


def test_user_connection_inside_a_transaction_is_left_alone(tmp_path):
    conn = sqlite3.connect(tmp_path / "tx.sqlite", check_same_thread=False)
    conn.execute("CREATE TABLE mine (x)")
    conn.execute("INSERT INTO mine VALUES (1)")  # implicit BEGIN: a transaction is open
    assert conn.in_transaction
    saver = SqliteSaver(conn)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.commit()
    assert saver.list_threads() == []


def test_thread_id_may_be_a_uuid(saver_factory):
    saver = saver_factory()
    tid = uuid.uuid4()

    @entrypoint(checkpointer=saver)
    def wf(x: int, *, previous: Any = None) -> int:
        return x + (previous or 0)

    assert wf.invoke(1, cfg(tid)) == 1
    assert wf.invoke(2, cfg(str(tid))) == 3  # the same thread, compared as str()
    assert wf.get_state(cfg(tid)).values == 3
    assert saver.list_threads() == [str(tid)]
    with pytest.raises(ConfigError, match="thread_id must be a str, int or uuid.UUID"):
        wf.invoke(1, cfg(1.5))
