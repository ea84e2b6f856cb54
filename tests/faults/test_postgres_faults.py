"""PostgreSQL under real faults, on a server of the suite's own (restarting the session's shared one
would disturb other tests): restarts (fast and immediate) in the middle of a chain and of a fan-out,
``pg_terminate_backend`` on the saver's connections during a group commit, a connection cut after the
server committed and before the client heard it (a TCP proxy drops the reply), the server down for a
few seconds during a run, down when a run starts, and a statement timeout.

Short outages are survived without the run noticing (the saver retries on a fresh connection, and
journal rows carry a key so a retried commit cannot duplicate them); longer ones become one
SaverError naming the server, the thread and that ``invoke(None, config)`` continues.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest
from .faultkit import Flow, Stopwatch, check_books, check_error, committed
from waiting import wait_until

from nbflow.checkpoint.base import SaverConnectionError, SaverError

pytestmark = pytest.mark.timeout(180)

psycopg = pytest.importorskip("psycopg")
pytest.importorskip("psycopg_pool")


@pytest.fixture(scope="module")
def pg():
    from nbflow.checkpoint.conformance.pgserver import PostgresUnavailable, TempPostgres

    server = TempPostgres()
    try:
        server.start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL server for the fault suite: {exc}")
    yield server
    server.stop()


_count = iter(range(10**6))


def _schema(pg) -> str:
    name = f"f{os.getpid()}_{next(_count)}"
    with psycopg.connect(pg.uri, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
    return name


def _saver(pg, schema: str, *, port: int | None = None, reconnect_timeout: float = 30.0, **settings: str):
    from nbflow.checkpoint.postgres import PostgresSaver

    options = " ".join([f"-csearch_path={schema}"] + [f"-c{k}={v}" for k, v in settings.items()])
    uri = pg.uri_for("postgres", options=options)
    if port is not None:
        uri = uri.replace(f":{pg.port}/", f":{port}/")
    saver = PostgresSaver.open(uri, pool_size=4, reconnect_timeout=reconnect_timeout)
    saver.setup()
    return saver


def _reader(pg, schema: str):
    return _saver(pg, schema)


@pytest.mark.parametrize("shape", ["chain", "fan-out"])
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_server_restart_mid_run_is_survived(pg, record, mode, shape):
    schema = _schema(pg)
    saver = _saver(pg, schema)
    clock: list[Stopwatch] = []

    def restart() -> None:
        pg.restart(mode)
        clock.append(Stopwatch())

    flow = Flow(saver, inject=lambda: pg.restart(mode), fan_out=shape == "fan-out")
    flow.inject = restart
    assert flow.run() == flow.expected  # no error: the saver reconnected
    took = clock[0]()
    with _reader(pg, schema) as reader:
        after = committed(reader, flow.thread)
    lost, dup = check_books(flow, after, after)
    assert all(c == 1 for c in flow.ran.values()), dict(flow.ran)
    record(f"server restart ({mode}) mid {shape}", "postgres", "auto-recovered", lost, dup, took)
    saver.close()


def test_terminated_backends_during_a_group_commit_are_survived(pg, record):
    schema = _schema(pg)
    saver = _saver(pg, schema)
    killed: list[int] = []
    clock: list[Stopwatch] = []

    def terminate() -> None:
        with psycopg.connect(pg.uri, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                " AND backend_type = 'client backend' AND datname = 'postgres'").fetchall()
        killed.append(len(rows))
        clock.append(Stopwatch())

    flow = Flow(saver, n=12, at=5, fan_out=True, inject=terminate)
    assert flow.run() == flow.expected
    assert killed and killed[0] >= 1  # the saver's connections were cut while tasks were committing
    with _reader(pg, schema) as reader:
        after = committed(reader, flow.thread)
    lost, dup = check_books(flow, after, after)
    record("pg_terminate_backend during group commit", "postgres", "auto-recovered", lost, dup, clock[0]())
    saver.close()


class CutProxy:
    """A TCP proxy to the server that, once armed, drops the first reply holding ``marker`` and cuts
    that connection: the server has done the work (an INSERT committed in autocommit mode), the
    client never hears so. A real network fault, between real endpoints."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed: bytes | None = None
        self.cut = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, marker: bytes) -> None:
        self.armed = marker

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, replies: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if replies and self.armed is not None and self.armed in data:
                    with self.lock:
                        fire = self.armed is not None
                        self.armed = None
                    if fire:
                        self.cut.set()
                        break  # the reply is dropped, the connection cut
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.listener.close()


def test_a_commit_whose_reply_is_lost_is_retried_without_duplicates(pg, record):
    """The INSERT of step 3's result commits; its reply never arrives; the retry must not add a second row."""
    schema = _schema(pg)
    proxy = CutProxy(pg.port)
    saver = _saver(pg, schema, port=proxy.port)
    flow = Flow(saver, inject=lambda: proxy.arm(b"INSERT 0 1"))
    clock = Stopwatch()
    assert flow.run() == flow.expected
    assert proxy.cut.is_set()  # the fault happened: a committed insert's reply was dropped
    with _reader(pg, schema) as reader:
        after = committed(reader, flow.thread)
    lost, dup = check_books(flow, after, after)
    record("commit reply lost (connection cut after commit)", "postgres", "auto-recovered (idempotent retry)",
           lost, dup, clock())
    saver.close()
    proxy.close()


def test_server_down_for_seconds_during_a_run_is_waited_for(pg, record):
    schema = _schema(pg)
    saver = _saver(pg, schema, reconnect_timeout=60)
    back = threading.Event()
    clock: list[Stopwatch] = []

    def outage() -> None:
        pg.shutdown("fast")
        clock.append(Stopwatch())

        def later() -> None:
            threading.Event().wait(4)  # the outage itself: four seconds of no server
            pg.start_again()
            back.set()

        threading.Thread(target=later, daemon=True).start()

    flow = Flow(saver, inject=outage)
    assert flow.run() == flow.expected
    assert back.is_set()
    took = clock[0]()
    with _reader(pg, schema) as reader:
        after = committed(reader, flow.thread)
    lost, dup = check_books(flow, after, after)
    record("server down ~4 s mid run", "postgres", "auto-recovered (waits up to reconnect_timeout)", lost, dup, took)
    saver.close()


def test_server_down_when_a_run_starts(pg, record):
    schema = _schema(pg)
    saver = _saver(pg, schema, reconnect_timeout=2)
    flow = Flow(saver)

    def crash() -> None:
        raise KeyboardInterrupt("the kernel died here")

    flow.inject = crash
    with pytest.raises(KeyboardInterrupt):
        flow.run()
    before = committed(saver, flow.thread)
    assert sorted(before) == ["0", "1", "2"]
    pg.shutdown("fast")
    try:
        with pytest.raises(SaverConnectionError) as info:
            flow.resume()
        check_error(info.value, flow.thread, f"127.0.0.1:{pg.port}", "reconnect_timeout=2", "invoke(None, config)")
    finally:
        pg.start_again()
    clock = Stopwatch()
    assert flow.resume() == flow.expected
    took = clock()
    lost, dup = check_books(flow, before, committed(saver, flow.thread))
    record("server down when a run starts", "postgres", "clear error + invoke(None)", lost, dup, took)
    saver.close()


def test_statement_timeout_on_a_slow_server(pg, record):
    schema = _schema(pg)
    saver = _saver(pg, schema, reconnect_timeout=1.5, statement_timeout="300")
    holder: list = []

    def slow_down() -> None:
        conn = psycopg.connect(pg.uri_for("postgres", options=f"-csearch_path={schema}"))
        conn.execute("LOCK TABLE nbflow_writes IN EXCLUSIVE MODE")  # held until rollback: inserts wait
        holder.append(conn)

    flow = Flow(saver, inject=slow_down)
    try:
        with pytest.raises(SaverError) as info:
            flow.run()
        check_error(info.value, flow.thread, f"127.0.0.1:{pg.port}", "statement_timeout", "invoke(None, config)")
        before = committed(saver, flow.thread)  # reads are not blocked by that lock
        assert sorted(before) == ["0", "1", "2"]
    finally:
        for conn in holder:
            conn.rollback()
            conn.close()
    clock = Stopwatch()
    assert flow.resume() == flow.expected
    took = clock()
    lost, dup = check_books(flow, before, committed(saver, flow.thread))
    record("statement timeout (table locked)", "postgres", "clear error + invoke(None)", lost, dup, took)
    saver.close()


def test_the_sidebar_says_the_server_is_down_and_recovers(pg, record, tmp_path, monkeypatch):
    """The Workflows sidebar lists threads on a PostgreSQL saver: while the server is down its request gets
    an error reply naming the server (after reconnect_timeout), never a hang; once it is back, the list."""
    import json

    import comm

    from nbflow import entrypoint, interrupt
    from nbflow.notebook import comm as sidebar_comm
    from nbflow.notebook.live import reset_hub
    from nbflow.notebook.session import Session, reset_session, session

    log: list[dict] = []
    monkeypatch.setattr(comm.DummyComm, "publish_msg",
                        lambda self, msg_type, data=None, metadata=None, buffers=None, **k:
                        log.append(json.loads(json.dumps(data or {}))))
    reset_session(Session(tmp_path))
    saver = _saver(pg, _schema(pg), reconnect_timeout=1)
    try:
        @entrypoint(checkpointer=saver)
        def asks(x: int) -> int:
            return interrupt({"question": "ok?", "x": x})

        asks.invoke(1, {"configurable": {"thread_id": "t1"}})
        session().workflows["asks"] = asks
        c = comm.create_comm(target_name=sidebar_comm.TARGET)
        sidebar_comm.Sidebar(c)
        pg.shutdown("fast")
        try:
            clock = Stopwatch()
            c.handle_msg({"content": {"data": {"v": 1, "kind": "list"}}})
            assert clock() < 30  # reconnect_timeout=1 plus backoff: an answer, not a frozen sidebar
            assert log[-1]["kind"] == "error" and "cannot be reached" in log[-1]["message"], log[-1]
            assert f"127.0.0.1:{pg.port}" in log[-1]["message"]
        finally:
            pg.start_again()
        clock = Stopwatch()

        def listed() -> bool:  # the sidebar asks again (its refresh), as the pool reconnects with backoff
            c.handle_msg({"content": {"data": {"v": 1, "kind": "list"}}})
            return log[-1]["kind"] == "threads"

        wait_until(listed, what="the sidebar listing threads again")
        assert [t["thread_id"] for t in log[-1]["threads"]] == ["t1"]
        record("server down while the sidebar lists threads", "postgres", "error reply, then the list", 0, 0,
               clock())
    finally:
        saver.close()
        reset_session(Session(tmp_path))
        reset_hub()


def test_the_inbox_says_the_server_is_down_and_lists_the_threads_again(pg, record, tmp_path):
    """An inbox over a PostgreSQL saver whose server is shut down: refreshing it (and opening a new one)
    raises nothing and does not hang; its state says the server cannot be reached, naming it. Once the
    server is back, a refresh clears that and lists the thread waiting for input again."""
    from nbflow import entrypoint, inbox, interrupt
    from nbflow.notebook.live import reset_hub
    from nbflow.notebook.session import Session, reset_session

    reset_session(Session(tmp_path))
    saver = _saver(pg, _schema(pg), reconnect_timeout=1)
    where = f"127.0.0.1:{pg.port}"
    try:
        @entrypoint(checkpointer=saver)
        def waits(x: int) -> int:
            return interrupt({"question": "ok?", "x": x})

        waits.invoke(1, {"configurable": {"thread_id": "t-in"}})
        box = inbox(waits)
        assert [i["thread_id"] for i in box.items] == ["t-in"] and box.problem == ""
        pg.shutdown("fast")
        try:
            clock = Stopwatch()
            box.refresh()  # the front end's "refresh": an answer, not a traceback or a frozen view
            late = inbox(waits)  # opened while the server is down
            assert clock() < 30  # reconnect_timeout=1 each, plus backoff
            for view in (box, late):
                assert "cannot be reached" in view.problem and where in view.problem, view.problem
                assert "'waits'" in view.problem and view.problem in repr(view)
            assert late.items == [] and late.data == []
            assert [i["thread_id"] for i in box.items] == ["t-in"]  # what it showed stays
        finally:
            pg.start_again()
        clock = Stopwatch()

        def listed() -> bool:  # the inbox refreshes again, as the pool reconnects with backoff
            late.refresh()
            return late.problem == "" and [i["thread_id"] for i in late.items] == ["t-in"]

        wait_until(listed, what="the inbox listing the waiting thread again")
        took = clock()
        box.refresh()
        assert box.problem == "" and [i["thread_id"] for i in box.items] == ["t-in"]
        assert late.data[0]["state"] == "waiting" and "cannot" not in repr(late)
        record("server down while the inbox lists threads", "postgres",
               "the inbox says the server cannot be reached (its state), then lists the threads", 0, 0, took)
    finally:
        saver.close()
        reset_session(Session(tmp_path))
        reset_hub()
