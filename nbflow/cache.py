"""The task-result caches: :class:`InMemoryCache` and the durable :class:`SqliteCache`.

Both are shaped like LangGraph's ``BaseCache``:
entries are addressed by a *full key* ``(namespace, key)`` where ``namespace``
is a tuple of str (the engine uses one per task) and ``key`` is the str
produced by ``CachePolicy.key_func``. Each entry may carry a time-to-live in
seconds.

Values are stored exactly as given (the engine hands over already-serialized
``bytes``); the cache neither copies nor encodes them. Expiry is measured with
an injectable monotonic clock, so tests can move time forward without
sleeping. Expired entries are invisible to :meth:`InMemoryCache.get` and are
dropped lazily. All methods are thread-safe; the ``a*`` twins run the same
code without awaiting anything (no I/O is involved).

:class:`SqliteCache` keeps the same entries in a SQLite file (``bytes``
values only, which is what the engine stores), so cached task results survive
a kernel restart and are shared by processes using the same file. Its expiry
uses wall-clock time (:func:`time.time`), since a monotonic clock means nothing
to another process; its ``a*`` twins run the SQL in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from .errors import CacheKeyError

__all__ = ["InMemoryCache", "SqliteCache", "CacheKeyError", "Namespace", "FullKey"]

Namespace = tuple[str, ...]
FullKey = tuple[Namespace, str]
ValueT = TypeVar("ValueT")


def _check_full_key(full_key: Any) -> FullKey:
    if not (isinstance(full_key, tuple) and len(full_key) == 2):
        raise CacheKeyError(f"cache key must be a (namespace, key) pair, got {full_key!r}")
    namespace, key = full_key
    if not isinstance(namespace, tuple) or not all(isinstance(p, str) for p in namespace):
        raise CacheKeyError(f"cache namespace must be a tuple of str, got {namespace!r}")
    if not isinstance(key, str):
        raise CacheKeyError(f"cache key must be a str, got {key!r}")
    return full_key


def _check_ttl(ttl: Any) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl != ttl:
        raise CacheKeyError(f"cache ttl must be seconds (a number) or None, got {ttl!r}")
    return float(ttl)


class InMemoryCache(Generic[ValueT]):
    """A thread-safe dict of ``namespace -> key -> (value, expiry)``.

    ``clock`` returns seconds from an arbitrary origin (default
    :func:`time.monotonic`). An entry set with ``ttl`` seconds is live while
    ``clock() < set_time + ttl``; ``ttl=None`` never expires, ``ttl <= 0``
    is expired at once.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._data: dict[Namespace, dict[str, tuple[ValueT, float | None]]] = {}

    # -- sync -----------------------------------------------------------------

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The live entries among ``keys``; missing or expired keys are left out."""
        wanted = [_check_full_key(k) for k in keys]
        found: dict[FullKey, ValueT] = {}
        with self._lock:
            now = self._clock()
            for namespace, key in wanted:
                bucket = self._data.get(namespace)
                if bucket is None or key not in bucket:
                    continue
                value, expiry = bucket[key]
                if expiry is not None and now >= expiry:
                    del bucket[key]
                    if not bucket:
                        del self._data[namespace]
                    continue
                found[(namespace, key)] = value
        return found

    def set(self, mapping: Mapping[FullKey, tuple[ValueT, int | float | None]]) -> None:
        """Store each ``(namespace, key) -> (value, ttl_seconds | None)``, replacing old entries."""
        entries = []
        for full_key, pair in mapping.items():
            _check_full_key(full_key)
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise CacheKeyError(
                    f"cache entry for {full_key!r} must be a (value, ttl) pair, got {pair!r}"
                )
            entries.append((full_key, pair[0], _check_ttl(pair[1])))
        with self._lock:
            now = self._clock()
            for (namespace, key), value, ttl in entries:
                expiry = None if ttl is None else now + ttl
                self._data.setdefault(namespace, {})[key] = (value, expiry)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Drop every entry (``None``) or the entries of exactly these namespaces."""
        if namespaces is not None:
            namespaces = list(namespaces)
            for namespace in namespaces:
                if not isinstance(namespace, tuple):
                    raise CacheKeyError(f"cache namespace must be a tuple of str, got {namespace!r}")
        with self._lock:
            if namespaces is None:
                self._data.clear()
                return
            for namespace in namespaces:
                self._data.pop(namespace, None)

    def __len__(self) -> int:
        """Number of live entries (expired ones are purged first)."""
        with self._lock:
            self._purge()
            return sum(len(bucket) for bucket in self._data.values())

    def _purge(self) -> None:
        now = self._clock()
        for namespace in list(self._data):
            bucket = self._data[namespace]
            for key in [k for k, (_, exp) in bucket.items() if exp is not None and now >= exp]:
                del bucket[key]
            if not bucket:
                del self._data[namespace]

    # -- async twins ------------------------------------------------------------

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """Async twin of :meth:`get`."""
        return self.get(keys)

    async def aset(self, mapping: Mapping[FullKey, tuple[ValueT, int | float | None]]) -> None:
        """Async twin of :meth:`set`."""
        self.set(mapping)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async twin of :meth:`clear`."""
        self.clear(namespaces)


_CACHE_SCHEMA = """CREATE TABLE IF NOT EXISTS nbflow_cache (
    namespace  TEXT NOT NULL,   -- the namespace tuple as a JSON array
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    expires_at REAL,            -- time.time() seconds; NULL = never
    PRIMARY KEY (namespace, key)
)"""


def _ns_text(namespace: Namespace) -> str:
    return json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))


class SqliteCache:
    """A durable task-result cache on a SQLite file (LangGraph's ``SqliteCache`` shape).

    ``SqliteCache(path="cache.sqlite")`` (parent folders are created;
    ``":memory:"`` works but is not durable). Values must be ``bytes``. An
    entry set with ``ttl`` seconds is live while ``clock() < set_time + ttl``
    (``clock`` defaults to :func:`time.time`). Every ``set``/``clear`` is one
    transaction; the file is in WAL mode with ``synchronous=NORMAL``, as
    :class:`~nbflow.checkpoint.SqliteSaver` keeps its own files. Thread-safe;
    close with :meth:`close` or use it as a context manager.
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *,
                 clock: Callable[[], float] = time.time, busy_timeout: float = 30.0) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise CacheKeyError(f"SqliteCache path must be a str or os.PathLike, got {path!r}")
        self.path = os.fspath(path)
        if self.path not in ("", ":memory:") and not self.path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._closed = False
        self._conn = sqlite3.connect(self.path, timeout=busy_timeout, check_same_thread=False,
                                     isolation_level=None, uri=self.path.startswith("file:"))
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(_CACHE_SCHEMA)
        except BaseException:
            self._conn.close()
            raise

    def _check_open(self) -> sqlite3.Connection:
        if self._closed:
            raise CacheKeyError(f"SqliteCache({self.path!r}) is closed")
        return self._conn

    # -- sync -----------------------------------------------------------------

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, bytes]:
        """The live entries among ``keys``; missing or expired keys are left out."""
        wanted = [_check_full_key(k) for k in keys]
        found: dict[FullKey, bytes] = {}
        with self._lock:
            conn = self._check_open()
            now = self._clock()
            for namespace, key in wanted:
                row = conn.execute(
                    "SELECT value, expires_at FROM nbflow_cache WHERE namespace = ? AND key = ?",
                    (_ns_text(namespace), key),
                ).fetchone()
                if row is None or (row[1] is not None and now >= row[1]):
                    continue
                found[(namespace, key)] = bytes(row[0])
        return found

    def set(self, mapping: Mapping[FullKey, tuple[bytes, int | float | None]]) -> None:
        """Store each ``(namespace, key) -> (bytes, ttl_seconds | None)`` in one transaction."""
        rows = []
        for full_key, pair in mapping.items():
            namespace, key = _check_full_key(full_key)
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise CacheKeyError(
                    f"cache entry for {full_key!r} must be a (value, ttl) pair, got {pair!r}"
                )
            value, ttl = pair[0], _check_ttl(pair[1])
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise CacheKeyError(
                    f"SqliteCache stores bytes (the engine hands it serialized task results); "
                    f"the value for {full_key!r} is a {type(value).__name__}"
                )
            rows.append((_ns_text(namespace), key, bytes(value), ttl))
        with self._lock:
            conn = self._check_open()
            now = self._clock()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO nbflow_cache (namespace, key, value, expires_at)"
                    " VALUES (?, ?, ?, ?)",
                    [(ns, k, v, None if ttl is None else now + ttl) for ns, k, v, ttl in rows],
                )
                conn.execute("DELETE FROM nbflow_cache WHERE expires_at IS NOT NULL AND expires_at <= ?",
                             (now,))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Drop every entry (``None``) or the entries of exactly these namespaces."""
        if namespaces is not None:
            namespaces = list(namespaces)
            for namespace in namespaces:
                if not isinstance(namespace, tuple) or not all(isinstance(p, str) for p in namespace):
                    raise CacheKeyError(f"cache namespace must be a tuple of str, got {namespace!r}")
        with self._lock:
            conn = self._check_open()
            if namespaces is None:
                conn.execute("DELETE FROM nbflow_cache")
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany("DELETE FROM nbflow_cache WHERE namespace = ?",
                                     [(_ns_text(n),) for n in namespaces])
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise

    def __len__(self) -> int:
        """Number of live entries."""
        with self._lock:
            conn = self._check_open()
            (n,) = conn.execute(
                "SELECT count(*) FROM nbflow_cache WHERE expires_at IS NULL OR expires_at > ?",
                (self._clock(),),
            ).fetchone()
        return int(n)

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> SqliteCache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SqliteCache {self.path!r}{' closed' if self._closed else ''}>"

    # -- async twins ------------------------------------------------------------

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, bytes]:
        """Async twin of :meth:`get` (runs in a worker thread)."""
        return await asyncio.to_thread(self.get, keys)

    async def aset(self, mapping: Mapping[FullKey, tuple[bytes, int | float | None]]) -> None:
        """Async twin of :meth:`set` (runs in a worker thread)."""
        await asyncio.to_thread(self.set, mapping)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async twin of :meth:`clear` (runs in a worker thread)."""
        await asyncio.to_thread(self.clear, namespaces)
