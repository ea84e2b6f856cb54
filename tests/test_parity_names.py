"""Names LangGraph users import around the Functional API (issue 7, §2/§4):
AsyncSqliteSaver, SqliteCache, EncryptedSerializer, a user's SQLite connection
in WAL mode, ``thread_id`` as a UUID, JSON Schemas and deprecation warnings.
Real SQLite files, real asyncio."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import pytest

from nbflow import CachePolicy, Command, entrypoint, interrupt, task
from nbflow.cache import CacheKeyError, SqliteCache
from nbflow.checkpoint import AsyncSqliteSaver, CheckpointRecord, InMemorySaver, SqliteSaver
from nbflow.checkpoint.base import new_checkpoint_id
from nbflow.deprecations import (
    LangGraphDeprecatedSinceV05,
    LangGraphDeprecatedSinceV10,
    LangGraphDeprecationWarning,
)
from nbflow.encrypted import MAGIC, EncryptedSerializer
from nbflow.errors import ConfigError, DeserializationError
from nbflow.serde import default_serializer

KEY = b"0123456789abcdef"


def _cfg(thread: Any) -> dict:
    return {"configurable": {"thread_id": thread}}


# ----------------------------------------------------------- AsyncSqliteSaver

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

            first = await wf.ainvoke(3, _cfg("t1"))
            second = await wf.ainvoke(Command(resume=10), _cfg("t1"))
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


# ----------------------------------------------------------- SqliteCache

def test_sqlite_cache_survives_reopening_the_file(tmp_path):
    path = tmp_path / "cache" / "tasks.sqlite"
    calls = []

    @task(cache_policy=CachePolicy())
    def slow_square(x: int) -> int:
        calls.append(x)
        return x * x

    def make_wf(cache):
        @entrypoint(cache=cache)
        def wf(xs: list[int]) -> list[int]:
            return [f.result() for f in [slow_square(x) for x in xs]]

        return wf

    with SqliteCache(path=path) as cache:
        assert make_wf(cache).invoke([2, 3]) == [4, 9]
    assert calls == [2, 3]
    with SqliteCache(path) as cache:  # a new process would see the same file
        assert make_wf(cache).invoke([2, 3, 4]) == [4, 9, 16]
        assert len(cache) == 3
        slow_square.clear_cache(cache)
        assert len(cache) == 0
    assert calls == [2, 3, 4]


def test_sqlite_cache_interface_matches_in_memory_cache(tmp_path):
    now = [1000.0]
    cache = SqliteCache(tmp_path / "c.sqlite", clock=lambda: now[0])
    a, b = (("ns", "a"), "k1"), (("ns", "b"), "k2")
    cache.set({a: (b"one", None), b: (b"two", 5)})
    assert cache.get([a, b, (("ns", "a"), "zzz")]) == {a: b"one", b: b"two"}
    now[0] += 5
    assert cache.get([a, b]) == {a: b"one"}  # b expired (ttl 5)
    assert len(cache) == 1
    cache.set({b: (b"again", 0)})
    assert cache.get([b]) == {}  # ttl <= 0 is expired at once
    cache.clear([("ns", "a")])
    assert cache.get([a]) == {}
    cache.set({a: (b"x", None)})
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(CacheKeyError, match="stores bytes"):
        cache.set({a: ("text", None)})
    with pytest.raises(CacheKeyError, match="namespace"):
        cache.get([("ns", "k")])
    with pytest.raises(CacheKeyError, match="ttl"):
        cache.set({a: (b"x", "soon")})

    async def twins():
        await cache.aset({a: (b"async", None)})
        got = await cache.aget([a])
        await cache.aclear()
        return got, await cache.aget([a])

    assert asyncio.run(twins()) == ({a: b"async"}, {})
    cache.close()
    with pytest.raises(CacheKeyError, match="closed"):
        cache.get([a])


def test_sqlite_cache_is_shared_between_threads_and_connections(tmp_path):
    path = tmp_path / "shared.sqlite"
    cache = SqliteCache(path)
    errors = []

    def writer(i: int) -> None:
        try:
            for j in range(20):
                cache.set({((f"t{i}",), str(j)): (bytes([j]), None)})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    other = SqliteCache(path)
    assert len(other) == 80
    assert other.get([(("t3",), "7")]) == {(("t3",), "7"): bytes([7])}
    other.close()
    cache.close()


# ----------------------------------------------------------- EncryptedSerializer

def test_encrypted_serializer_round_trips_and_hides_plaintext():
    serde = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    value = {"secret": "hunter2", "n": (1, 2)}
    blob = serde.dumps(value)
    assert blob.startswith(MAGIC) and b"hunter2" not in blob
    assert serde.loads(blob) == value
    assert serde.dumps(value) != blob  # a fresh nonce per payload
    # Payloads written before encryption was turned on still read.
    assert serde.loads(default_serializer.dumps(value)) == value


def test_encrypted_serializer_key_from_environment(monkeypatch):
    monkeypatch.setenv("LANGGRAPH_AES_KEY", KEY.decode())
    from_env = EncryptedSerializer.from_pycryptodome_aes()
    explicit = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    assert explicit.loads(from_env.dumps([1, "a"])) == [1, "a"]
    monkeypatch.delenv("LANGGRAPH_AES_KEY")
    with pytest.raises(ConfigError, match="LANGGRAPH_AES_KEY"):
        EncryptedSerializer.from_pycryptodome_aes()
    with pytest.raises(ConfigError, match="16, 24 or 32"):
        EncryptedSerializer.from_pycryptodome_aes(key=b"short")


def test_encrypted_serializer_wrong_key_or_tampering_is_a_clear_error():
    blob = EncryptedSerializer.from_pycryptodome_aes(key=KEY).dumps("data")
    other = EncryptedSerializer.from_pycryptodome_aes(key=b"x" * 32)
    with pytest.raises(DeserializationError, match="another key"):
        other.loads(blob)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DeserializationError):
        EncryptedSerializer.from_pycryptodome_aes(key=KEY).loads(tampered)


def test_savers_take_a_serde_and_store_what_it_makes(tmp_path):
    serde = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    assert InMemorySaver(serde=serde).serde is serde
    assert InMemorySaver().serde is default_serializer
    path = tmp_path / "enc.sqlite"
    with SqliteSaver(path, serde=serde) as saver:
        assert saver.serde is serde
        rec = CheckpointRecord("t", "", new_checkpoint_id(), None, 0.0, 0, "input",
                               saver.serde.dumps({"__start__": "top secret"}), saver.serde.dumps({}))
        saver.put_checkpoint(rec)
    raw = sqlite3.connect(path).execute("SELECT channels FROM checkpoints").fetchone()[0]
    assert b"top secret" not in raw
    assert serde.loads(raw) == {"__start__": "top secret"}


def test_workflow_checkpoints_are_encrypted_at_rest(tmp_path):
    serde = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    path = tmp_path / "enc.sqlite"
    with SqliteSaver(path, serde=serde) as saver:
        @task
        def shout(s: str) -> str:
            return s.upper() + "-RESULT"

        @entrypoint(checkpointer=saver)
        def wf(s: str) -> str:
            return shout(s).result()

        assert wf.invoke("plaintext-input", _cfg("t")) == "PLAINTEXT-INPUT-RESULT"
        assert wf.get_state(_cfg("t")).values == "PLAINTEXT-INPUT-RESULT"
    db = sqlite3.connect(path)
    blobs = [r[0] for r in db.execute("SELECT channels FROM checkpoints UNION ALL SELECT payload FROM writes")]
    assert blobs and not any(b"PLAINTEXT" in bytes(b) or b"plaintext" in bytes(b) for b in blobs)


# ----------------------------------------------------------- a user's connection

def _pragmas(conn: sqlite3.Connection) -> tuple[str, int]:
    return conn.execute("PRAGMA journal_mode").fetchone()[0], conn.execute("PRAGMA synchronous").fetchone()[0]


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

    assert wf.invoke(1, _cfg("a")) == 3
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


# ----------------------------------------------------------- thread_id as UUID

def test_thread_id_may_be_a_uuid(saver_factory):
    saver = saver_factory()
    tid = uuid.uuid4()

    @entrypoint(checkpointer=saver)
    def wf(x: int, *, previous: Any = None) -> int:
        return x + (previous or 0)

    assert wf.invoke(1, _cfg(tid)) == 1
    assert wf.invoke(2, _cfg(str(tid))) == 3  # the same thread, compared as str()
    assert wf.get_state(_cfg(tid)).values == 3
    assert saver.list_threads() == [str(tid)]
    with pytest.raises(ConfigError, match="thread_id must be a str, int or uuid.UUID"):
        wf.invoke(1, _cfg(1.5))


# ----------------------------------------------------------- JSON Schemas, warnings

@dataclass
class Ctx:
    model: str


def test_json_schemas_of_a_workflow():
    @entrypoint(context_schema=Ctx)
    def wf(xs: list[int]) -> list[str]:
        return [str(x) for x in xs]

    assert wf.get_input_jsonschema() == {"type": "array", "items": {"type": "integer"}, "title": "LangGraphInput"}
    assert wf.get_output_jsonschema() == {"type": "array", "items": {"type": "string"}, "title": "LangGraphOutput"}
    assert wf.get_context_jsonschema() == {
        "properties": {"model": {"title": "Model", "type": "string"}},
        "required": ["model"], "title": "Ctx", "type": "object",
    }

    @entrypoint()
    def bare(x):
        return x

    assert bare.get_input_jsonschema() == {"title": "LangGraphInput"}
    assert bare.get_output_jsonschema() == {"title": "LangGraphOutput"}
    assert bare.get_context_jsonschema() is None

    @entrypoint(checkpointer=InMemorySaver())
    def saving(x: str, *, previous: Any = None) -> entrypoint.final[int, str]:
        return entrypoint.final(value=len(x), save=x)

    assert saving.get_output_jsonschema() == {"title": "LangGraphOutput", "type": "integer"}


def test_deprecated_arguments_warn_with_langgraphs_classes_and_messages():
    from nbflow import RetryPolicy

    with pytest.warns(LangGraphDeprecatedSinceV05,
                      match="`retry` is deprecated and will be removed. Please use `retry_policy` instead."):
        @task(retry=RetryPolicy())
        def t(x):
            return x

    with pytest.warns(LangGraphDeprecatedSinceV10, match="`config_schema` is deprecated and will be removed"):
        @entrypoint(config_schema=Ctx)
        def wf(x):
            return x

    assert wf.context_schema is Ctx
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = wf.config_schema()
    assert model.model_json_schema()["title"] == "Config"
    (w,) = caught
    assert issubclass(w.category, LangGraphDeprecationWarning) and issubclass(w.category, DeprecationWarning)
    assert str(w.message) == ("`config_schema` is deprecated. Use `get_context_jsonschema` for the relevant "
                              "schema instead. Deprecated in LangGraph V1.0 to be removed in V2.0.")
    assert w.filename == __file__  # points at the caller
