"""The long-term store on PostgreSQL: :class:`PostgresStore`.

Same API and rules as :class:`nbflow.store.InMemoryStore` (LangGraph's
``BaseStore`` calls: ``put / get / delete / search / list_namespaces`` and their
``a*`` twins, same validation, same TTL semantics in minutes, same filter
operators and lexical ``query`` score), with the items in one table shared by
every process on the database:

    nbflow_store(prefix text, key text, value json, created_at, updated_at,
                 seq, ttl, expires_at)   PRIMARY KEY (prefix, key)

``prefix`` is the namespace joined with ``"."`` (labels cannot contain one), so
a namespace-prefix search is an index range scan; ``filter`` and ``query`` are
then applied in Python by the same code as the in-memory store (so both stores
rank and match identically). Values are stored as JSON text and must survive
the trip unchanged: a value that JSON would alter (a tuple, a datetime, a
non-str key) is refused with :class:`~nbflow.store.StoreTypeError`.

Connections, errors and setup are :class:`~nbflow.checkpoint.pgdb.PgDatabase`'s, as for ``PostgresSaver``:
``PostgresStore(pool_or_connection)``, ``PostgresStore.from_conn_string(uri)``,
``setup()`` (idempotent, advisory-locked, versioned in ``nbflow_store_migrations``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from ..checkpoint.pgdb import PgDatabase
from .base import (
    Item,
    Namespace,
    SearchItem,
    StoreTypeError,
    async_twin,
    check_key,
    check_list_namespaces,
    check_namespace,
    check_put,
    check_search,
    matches,
    rank,
    select_namespaces,
)

__all__ = ["PostgresStore"]

_MIGRATIONS: tuple[str, ...] = (
    """CREATE SEQUENCE IF NOT EXISTS nbflow_store_seq;
    CREATE TABLE nbflow_store (
        prefix     text NOT NULL,
        key        text NOT NULL,
        value      json NOT NULL,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        seq        bigint NOT NULL DEFAULT nextval('nbflow_store_seq'),
        ttl        double precision,
        expires_at double precision,
        PRIMARY KEY (prefix, key)
    );
    CREATE INDEX nbflow_store_prefix ON nbflow_store (prefix text_pattern_ops);""",
)
_COLS = "prefix, key, value::text, created_at, updated_at, seq, ttl"
_LIVE = "(expires_at IS NULL OR expires_at > %s)"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresStore:
    """A long-term store on PostgreSQL (see the module docstring)."""

    supports_ttl = True

    def __init__(self, conn: Any, *, clock: Callable[[], float] = time.time, conninfo: str | None = None) -> None:
        """``conn``: a psycopg pool or connection, or the :class:`~nbflow.checkpoint.pgdb.PgDatabase` of a
        ``PostgresSaver`` (``PostgresStore(saver.db)``) to share its pool, retries and error messages."""
        shared = isinstance(conn, PgDatabase)
        self._db = conn if shared else PgDatabase(conn, conninfo=conninfo, owner="PostgresStore")
        self._own_db = not shared  # close() leaves a shared database to its owner
        self._clock = clock

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(cls, conn_string: str, *, pool_size: int = 4, **kwargs: Any) -> Iterator[PostgresStore]:
        """``with PostgresStore.from_conn_string(uri) as store: store.setup(); ...``"""
        store = cls(PgDatabase.open(conn_string, pool_size=pool_size, owner="PostgresStore"),
                    clock=kwargs.get("clock", time.time))
        store._own_db = True
        try:
            yield store
        finally:
            store.close()

    def setup(self) -> None:
        """Create or migrate the store table (idempotent; safe from many processes at once)."""

        def migrate(conn: Any) -> None:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('nbflow.store:' || coalesce(current_schema(), '')))")
                cur.execute("CREATE TABLE IF NOT EXISTS nbflow_store_migrations ("
                            " v integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                cur.execute("SELECT coalesce(max(v), 0) FROM nbflow_store_migrations")
                version = cur.fetchone()[0]
                for v in range(version + 1, len(_MIGRATIONS) + 1):
                    cur.execute(_MIGRATIONS[v - 1])
                    cur.execute("INSERT INTO nbflow_store_migrations (v) VALUES (%s)", (v,))

        self._db.run("store setup", migrate, tx=True)

    def close(self) -> None:
        if self._own_db:
            self._db.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sync ---------------------------------------------------------------------

    def put(
        self,
        namespace: Namespace,
        key: str,
        value: dict[str, Any] | None,
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None = None,
    ) -> None:
        """Insert or replace ``value`` under ``(namespace, key)``; ``ttl`` in minutes."""
        check_namespace(namespace)
        check_key(key)
        if value is None:
            self.delete(namespace, key)
            return
        check_put(value, index, ttl)
        text = _to_json(key, value)
        seconds = None if ttl is None else ttl * 60.0
        now = self._clock()
        prefix = ".".join(namespace)
        row = (prefix, key, text, now, now, seconds, None if seconds is None else now + seconds)
        self._db.run("store put", lambda conn: conn.execute(
            "INSERT INTO nbflow_store (prefix, key, value, created_at, updated_at, ttl, expires_at)"
            " VALUES (%s, %s, %s::json, %s, %s, %s, %s) ON CONFLICT (prefix, key) DO UPDATE SET"
            " value = EXCLUDED.value, updated_at = EXCLUDED.updated_at, ttl = EXCLUDED.ttl,"
            " expires_at = EXCLUDED.expires_at, seq = nextval('nbflow_store_seq'),"
            " created_at = CASE WHEN nbflow_store.expires_at IS NOT NULL AND nbflow_store.expires_at <= %s"
            " THEN EXCLUDED.created_at ELSE nbflow_store.created_at END",
            (*row, now)))

    def get(self, namespace: Namespace, key: str, *, refresh_ttl: bool | None = None) -> Item | None:
        """The item at ``(namespace, key)``, or None if absent or expired."""
        check_namespace(namespace)
        check_key(key)
        now = self._clock()
        prefix = ".".join(namespace)

        def get(conn: Any) -> list[tuple]:
            rows = conn.execute(f"SELECT {_COLS} FROM nbflow_store WHERE prefix = %s AND key = %s AND {_LIVE}",
                                (prefix, key, now)).fetchall()
            if rows and refresh_ttl is not False:
                conn.execute("UPDATE nbflow_store SET expires_at = %s + ttl"
                             " WHERE prefix = %s AND key = %s AND ttl IS NOT NULL", (now, prefix, key))
            return rows

        rows = self._db.run("store get", get, tx=True)
        return Item(**_fields(rows[0])) if rows else None

    def delete(self, namespace: Namespace, key: str) -> None:
        """Remove ``(namespace, key)``; a missing key is not an error."""
        check_namespace(namespace)
        check_key(key)
        self._db.run("store delete", lambda conn: conn.execute(
            "DELETE FROM nbflow_store WHERE prefix = %s AND key = %s", (".".join(namespace), key)))

    def search(
        self,
        namespace_prefix: Namespace,
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Items under ``namespace_prefix`` (``()`` = all) matching ``filter``, ranked."""
        conditions = check_search(namespace_prefix, filter, limit, offset, query)
        now = self._clock()
        where, args = self._under(namespace_prefix)

        def search(conn: Any) -> list[tuple]:
            rows = conn.execute(f"SELECT {_COLS} FROM nbflow_store WHERE {where} AND {_LIVE} ORDER BY seq DESC",
                                (*args, now)).fetchall()
            hits = [(r, json.loads(r[2])) for r in rows]
            hits = [(r, v) for r, v in hits if matches(v, conditions)]
            page = rank(hits, query, lambda h: h[1])[offset: offset + limit]  # rows come newest first
            refresh = [(r[0], r[1]) for _, (r, _v) in page if r[6] is not None]
            if refresh and refresh_ttl is not False:
                with conn.cursor() as cur:
                    cur.executemany("UPDATE nbflow_store SET expires_at = %s + ttl WHERE prefix = %s AND key = %s",
                                    [(now, p, k) for p, k in refresh])
            return [(score, r) for score, (r, _v) in page]

        page = self._db.run("store search", search, tx=True)
        return [SearchItem(score=score, **_fields(r)) for score, r in page]

    def list_namespaces(
        self,
        *,
        prefix: Namespace | None = None,
        suffix: Namespace | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Namespace]:
        """Sorted namespaces holding live items; ``"*"`` in prefix/suffix matches any label."""
        check_list_namespaces(prefix, suffix, max_depth, limit, offset)
        now = self._clock()
        rows = self._db.run("store list_namespaces", lambda conn: conn.execute(
            f"SELECT DISTINCT prefix FROM nbflow_store WHERE {_LIVE}", (now,)).fetchall())
        live = [tuple(r[0].split(".")) for r in rows]
        return select_namespaces(live, prefix, suffix, max_depth, limit, offset)

    aput = async_twin(put)
    aget = async_twin(get)
    adelete = async_twin(delete)
    asearch = async_twin(search)
    alist_namespaces = async_twin(list_namespaces)

    @staticmethod
    def _under(namespace_prefix: Namespace) -> tuple[str, tuple]:
        if not namespace_prefix:
            return "TRUE", ()
        joined = ".".join(namespace_prefix)
        return "(prefix = %s OR prefix LIKE %s)", (joined, _like_escape(joined) + ".%")

    def __repr__(self) -> str:
        return f"<PostgresStore {self._db.where!r}>"


def _to_json(key: str, value: dict[str, Any]) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        same = json.loads(text) == value
    except (TypeError, ValueError) as exc:
        raise StoreTypeError(
            f"value for key {key!r} cannot be stored in PostgresStore: it must be JSON ({exc})"
        ) from None
    if not same:
        raise StoreTypeError(
            f"value for key {key!r} would not come back unchanged from JSON (tuples, non-str keys...); "
            "store lists and str-keyed dicts"
        )
    return text


def _fields(row: tuple) -> dict[str, Any]:
    prefix, key, text, created, updated = row[:5]
    return {
        "namespace": tuple(prefix.split(".")),
        "key": key,
        "value": json.loads(text),
        "created_at": datetime.fromtimestamp(created, UTC),
        "updated_at": datetime.fromtimestamp(updated, UTC),
    }
