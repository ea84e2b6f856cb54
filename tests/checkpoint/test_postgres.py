"""PostgreSQL-specific saver tests (the shared contract is in test_saver_contract.py).

All against a real server (conftest's ``postgres_server``), each test on a
fresh schema (``postgres_schemas``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool
from waiting import wait_until

from nbflow import Command, entrypoint, interrupt, task
from nbflow.checkpoint import SaverConnectionError, SaverError
from nbflow.checkpoint.conformance.contract import chain, ckpt, wr
from nbflow.checkpoint.postgres import SCHEMA_VERSION, PostgresSaver, redact_conninfo
from nbflow.checkpoint.postgres_aio import AsyncPostgresSaver
from nbflow.errors import ConfigError, NbflowError


@pytest.fixture
def uri(postgres_schemas) -> str:
    return postgres_schemas.uri()


def test_langgraph_idiom_from_conn_string_and_setup(uri):
    with PostgresSaver.from_conn_string(uri) as saver:
        assert saver.schema_version() == 0
        saver.setup()
        saver.setup()  # idempotent
        assert saver.schema_version() == SCHEMA_VERSION
        (cp,) = chain(saver, 1)
        assert saver.get_checkpoint("t1") == cp
    with pytest.raises(SaverError, match="closed"):
        saver.get_checkpoint("t1")
    with psycopg.connect(uri) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        assert {"nbflow_checkpoints", "nbflow_writes", "nbflow_migrations"} <= tables
        assert conn.execute("SELECT v FROM nbflow_migrations ORDER BY v").fetchall() == [
            (v,) for v in range(1, SCHEMA_VERSION + 1)]


def test_an_entrypoint_runs_interrupts_and_resumes_on_postgres(uri):
    calls = []

    @task
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()

        @entrypoint(checkpointer=saver)
        def flow(n: int) -> dict:
            values = [f.result() for f in [double(i) for i in range(n)]]
            ok = interrupt({"sum": sum(values)})
            return {"values": values, "ok": ok}

        config = {"configurable": {"thread_id": "pg-flow"}}
        first = flow.invoke(5, config)
        assert first["__interrupt__"][0].value == {"sum": 20}
        assert flow.invoke(Command(resume=True), config) == {"values": [0, 2, 4, 6, 8], "ok": True}
        assert sorted(calls) == [0, 1, 2, 3, 4]  # the resume replayed, never re-ran
        history = list(flow.get_state_history(config))
        assert len(history) >= 2 and history[0].values == {"values": [0, 2, 4, 6, 8], "ok": True}


def test_saver_on_a_user_pool_and_a_user_connection(uri):
    with ConnectionPool(uri, min_size=1, max_size=3, kwargs={"autocommit": True}) as pool:
        saver = PostgresSaver(pool)
        saver.setup()
        (cp,) = chain(saver, 1)
        saver.put_write(wr(cp, "via-pool"))
        saver.close()
        assert not pool.closed  # a given pool stays the caller's
        with pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM nbflow_writes").fetchone() == (1,)

    # a plain (non-autocommit) connection: each call is its own committed transaction ...
    conn = psycopg.connect(uri)
    try:
        saver = PostgresSaver(conn)
        saver.put_write(wr(cp, "via-conn"))
        with psycopg.connect(uri) as other:  # ... visible to another session at once
            assert other.execute("SELECT count(*) FROM nbflow_writes").fetchone() == (2,)
        # ... or a savepoint inside the caller's own open transaction
        with conn.transaction():
            saver.put_write(wr(cp, "inside"))
            with psycopg.connect(uri) as other:
                assert other.execute("SELECT count(*) FROM nbflow_writes").fetchone() == (2,)
        assert [w.task_id for w in saver.list_writes("t1")] == ["via-pool", "via-conn", "inside"]
        # several threads on the one connection take turns
        errors: list[BaseException] = []

        def use(i: int) -> None:
            try:
                for k in range(20):
                    saver.put_write(wr(cp, f"th{i}-{k}"))
                    saver.get_writes("t1", "", cp.checkpoint_id)
            except BaseException as exc:  # pragma: no cover
                errors.append(exc)

        threads = [threading.Thread(target=use, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(saver.list_writes("t1")) == 3 + 80
        saver.close()
        assert not conn.closed
    finally:
        conn.close()


def test_setup_from_many_savers_at_once_is_safe(postgres_schemas):
    uri = postgres_schemas.uri()
    savers = [PostgresSaver.open(uri, pool_size=1) for _ in range(6)]
    barrier = threading.Barrier(len(savers))
    errors: list[BaseException] = []

    def go(s: PostgresSaver) -> None:
        try:
            barrier.wait()
            s.setup()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(s,)) for s in savers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert {s.schema_version() for s in savers} == {SCHEMA_VERSION}
    finally:
        for s in savers:
            s.close()


def test_refuses_a_newer_schema(uri):
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("INSERT INTO nbflow_migrations (v) VALUES (999)")
        with pytest.raises(ConfigError, match="schema version 999"):
            saver.setup()


def test_missing_tables_say_to_call_setup(uri):
    with PostgresSaver.from_conn_string(uri) as saver:
        for call in (lambda: saver.get_checkpoint("x"), lambda: saver.put_checkpoint(ckpt("x")),
                     lambda: saver.put_write(wr(ckpt("x"))), saver.list_threads):
            with pytest.raises(SaverError, match=r"saver\.setup\(\)"):
                call()


@pytest.mark.parametrize(
    "bad",
    ["", "mysql://root@localhost/db", "postgresql://u@host:notaport/db", "host=localhost port='oops"],
)
def test_a_malformed_uri_is_a_config_error(bad):
    with pytest.raises(ConfigError) as info, PostgresSaver.from_conn_string(bad):
        pass  # pragma: no cover
    assert not isinstance(info.value, psycopg.Error)
    assert "postgresql://" in str(info.value)


def test_an_unreachable_server_names_the_uri_without_its_password(postgres_server):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"postgresql://alice:s3cret@127.0.0.1:{port}/teamdb"
    with pytest.raises(SaverConnectionError) as info:
        PostgresSaver.open(uri, connect_timeout=2)
    msg = str(info.value)
    assert "s3cret" not in msg and f"postgresql://alice:***@127.0.0.1:{port}/teamdb" in msg
    assert "running" in msg  # says what to check
    assert isinstance(info.value, NbflowError) and info.value.__cause__ is None
    # a database that does not exist, on a live server
    missing = postgres_server.uri_for("no_such_db")
    with pytest.raises(SaverConnectionError, match="no_such_db.*createdb"):
        PostgresSaver.open(missing)


def test_a_server_that_goes_away_gives_a_saver_error_then_recovers():
    from nbflow.checkpoint.conformance.pgserver import TempPostgres

    server = TempPostgres().start()
    try:
        # reconnect_timeout=1: gives up quickly (the fault suite, tests/faults/, covers waiting it out)
        saver = PostgresSaver.open(server.uri, pool_size=2, reconnect_timeout=1)
        saver.setup()
        (cp,) = chain(saver, 1)
        server.shutdown("immediate")
        with pytest.raises(SaverConnectionError, match="cannot be reached"):
            saver.put_write(wr(cp))
        with pytest.raises(SaverError):
            saver.get_checkpoint("t1")
        server.start_again()
        # the 1 s budget was for getting the error quickly; now give the pool time to replace the connections
        # that died with the server, as the default reconnect_timeout does
        saver.db.reconnect_timeout = 30.0

        def recovered() -> bool:  # the pool drops broken connections as they come back
            try:
                return saver.get_checkpoint("t1") == cp
            except SaverError:
                return False

        wait_until(recovered, what="the saver recovering after the server came back")
        saver.put_write(wr(cp, "after"))
        assert [w.task_id for w in saver.list_writes("t1")] == ["after"]
        saver.close()
    finally:
        server.stop()


def test_group_commit_shares_one_transaction_and_its_failure(uri):
    saver = PostgresSaver.open(uri)
    saver.setup()
    cp = ckpt("G")
    saver.put_checkpoint(cp)
    commits: list[int] = []
    real = saver._insert_rows

    def counting(rows):
        commits.append(len(rows))
        return real(rows)

    def failing(rows):
        raise SaverError("disk full")

    def run_batch(fn) -> list:
        errors: list = []
        saver._insert_rows = fn

        def writer(i: int) -> None:
            try:
                saver.put_write(wr(cp, f"task-{i}"))
            except SaverError as e:
                errors.append(e)

        with saver._group.lock:  # a leader is busy: the three writers queue up behind it
            threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
            for _ in range(1000):
                if len(saver._group.rows) == 3:
                    break
                threading.Event().wait(0.005)
            assert len(saver._group.rows) == 3
        for t in threads:
            t.join(10)
        return errors

    assert run_batch(counting) == [] and commits == [3]  # one statement for all three
    assert len(saver.list_writes("G")) == 3
    assert len(run_batch(failing)) == 3  # every caller in the failed transaction is told
    assert len(saver.list_writes("G")) == 3
    saver._insert_rows = real
    saver.put_write(wr(cp, "after"))
    assert len(saver.list_writes("G")) == 4
    saver.close()


def test_async_twin(uri):
    @task
    async def shout(s: str) -> str:
        return s.upper()

    async def main() -> None:
        async with AsyncPostgresSaver.from_conn_string(uri) as saver:
            await saver.setup()
            cp = ckpt("A")
            await saver.aput_checkpoint(cp)
            await saver.aput_writes([wr(cp, "a"), wr(cp, "b")])
            assert await saver.aget_checkpoint("A") == cp
            assert [w.task_id for w in await saver.aget_writes("A", "", cp.checkpoint_id)] == ["a", "b"]
            assert [w.task_id for w in await saver.alist_writes("A")] == ["a", "b"]
            assert await saver.alist_checkpoints("A") == [cp]
            assert await saver.alist_threads() == ["A"]

            @entrypoint(checkpointer=saver)
            async def loud(words: list[str]) -> list[str]:
                return [await shout(w) for w in words]

            config = {"configurable": {"thread_id": "async-run"}}
            assert await loud.ainvoke(["a", "b"], config) == ["A", "B"]
            assert (await saver.alist_threads())[0] == "async-run"
            await saver.adelete_thread("A")
            assert await saver.alist_threads() == ["async-run"]

    asyncio.run(main())


def test_redact_conninfo():
    assert redact_conninfo("postgresql://bob:pw@h:5/db?sslmode=require&password=x") == (
        "postgresql://bob:***@h:5/db?sslmode=require&password=***")
    assert redact_conninfo("postgresql://bob@h/db") == "postgresql://bob@h/db"
    assert redact_conninfo("host=h password='a b' dbname=d") == "host=h password=*** dbname=d"
    assert redact_conninfo("host=h password=secret") == "host=h password=***"


def test_synchronous_commit_option(uri):
    with PostgresSaver.from_conn_string(uri, synchronous_commit="off") as saver:
        saver.setup()
        (cp,) = chain(saver, 1)
        saver.put_write(wr(cp))  # through the writer connection
        assert saver._writer.execute("SHOW synchronous_commit").fetchone() == ("off",)
        with saver.db.pool.connection() as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.put_write(wr(cp))
        assert saver._writer.execute("SHOW synchronous_commit").fetchone() == ("on",)  # the server's default
        assert len(saver.list_writes("t1")) == 2
    with pytest.raises(ConfigError, match="synchronous_commit"):
        PostgresSaver.open(uri, synchronous_commit="sometimes")


def test_temp_postgres_with_a_wrong_bindir_says_what_to_pass(tmp_path):
    from nbflow.checkpoint.conformance.pgserver import PostgresUnavailable, TempPostgres

    with pytest.raises(PostgresUnavailable, match=r"bindir=.*no executable initdb, pg_ctl, postgres there"):
        TempPostgres(bindir=str(tmp_path)).start()
    assert not list(tmp_path.iterdir())  # nothing made


@pytest.mark.slow
def test_a_temp_postgres_does_not_outlive_its_owner_killed_with_sigkill(postgres_server):
    """A kernel that started a TempPostgres and is killed -9: the watchdog stops the server."""
    import signal
    import subprocess
    import sys
    import time

    import psycopg

    script = ("import sys\nfrom nbflow.checkpoint.conformance.pgserver import TempPostgres\n"
              "pg = TempPostgres().start()\nprint(pg.uri, pg.root, flush=True)\nsys.stdin.read()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                        os.environ.get("PYTHONPATH", "")])}
    owner = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        uri, root = owner.stdout.readline().split()
        psycopg.connect(uri, connect_timeout=5).close()  # it is up
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and os.path.exists(root):
            time.sleep(0.1)
        assert not os.path.exists(root), "the server's directory is still there"
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(uri, connect_timeout=2).close()
    finally:
        owner.kill()
