"""The in-memory long-term store: :class:`InMemoryStore` (LangGraph's ``InMemoryStore``).

The rules every store follows (namespaces, keys, values, TTLs, search and its ranking) are stated
in :mod:`nbflow.store.base`. All methods are thread-safe; the async twins run the same code (no I/O).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from ..errors import StoreTypeError
from .base import (
    Item,
    Namespace,
    Record,
    SearchItem,
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

__all__ = ["InMemoryStore"]


# -- the store ---------------------------------------------------------------------


class InMemoryStore:
    """A thread-safe, dict-backed long-term store.

    ``clock`` returns epoch seconds (default :func:`time.time`); it stamps
    ``created_at`` / ``updated_at`` and measures TTLs.
    """

    supports_ttl = True

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._data: dict[Namespace, dict[str, Record]] = {}
        self._seq = 0

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
        try:
            stored = copy.deepcopy(value)
        except Exception as exc:
            raise StoreTypeError(f"value for key {key!r} cannot be copied: {exc}") from exc
        seconds = None if ttl is None else ttl * 60.0
        with self._lock:
            now = self._clock()
            stamp = datetime.fromtimestamp(now, UTC)
            self._seq += 1
            bucket = self._data.setdefault(namespace, {})
            old = bucket.get(key)
            if old is not None and self._expired(old, now):
                old = None
            bucket[key] = Record(
                value=stored,
                created_at=stamp if old is None else old.created_at,
                updated_at=stamp,
                seq=self._seq,
                ttl=seconds,
                expires_at=None if seconds is None else now + seconds,
            )

    def get(
        self, namespace: Namespace, key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The item at ``(namespace, key)``, or None if absent or expired."""
        check_namespace(namespace)
        check_key(key)
        with self._lock:
            now = self._clock()
            bucket = self._data.get(namespace, {})
            record = bucket.get(key)
            if record is None:
                return None
            if self._expired(record, now):
                self._drop(namespace, key)
                return None
            self._refresh(record, now, refresh_ttl)
            return Item(**self._fields(namespace, key, record))

    def delete(self, namespace: Namespace, key: str) -> None:
        """Remove ``(namespace, key)``; a missing key is not an error."""
        check_namespace(namespace)
        check_key(key)
        with self._lock:
            self._drop(namespace, key)

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
        with self._lock:
            now = self._clock()
            self._purge(now)
            hits = [
                (ns, key, rec)
                for ns, bucket in self._data.items()
                if ns[: len(namespace_prefix)] == namespace_prefix
                for key, rec in bucket.items()
                if matches(rec.value, conditions)
            ]
            hits.sort(key=lambda h: -h[2].seq)
            page = rank(hits, query, lambda h: h[2].value)[offset : offset + limit]
            out = []
            for score, (ns, key, rec) in page:
                self._refresh(rec, now, refresh_ttl)
                out.append(SearchItem(score=score, **self._fields(ns, key, rec)))
            return out

    def list_namespaces(
        self,
        *,
        prefix: Namespace | None = None,
        suffix: Namespace | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Namespace]:
        """Sorted namespaces holding live items; ``"*"`` in prefix/suffix matches any label.

        With ``max_depth`` each namespace is cut to its first ``max_depth``
        labels and duplicates are merged.
        """
        check_list_namespaces(prefix, suffix, max_depth, limit, offset)
        with self._lock:
            self._purge(self._clock())
            live = list(self._data)
        return select_namespaces(live, prefix, suffix, max_depth, limit, offset)

    # -- async twins: same code, same signatures (nothing to await in memory) ----------

    aput = async_twin(put)
    aget = async_twin(get)
    adelete = async_twin(delete)
    asearch = async_twin(search)
    alist_namespaces = async_twin(list_namespaces)

    # -- internals (call with the lock held) ----------------------------------------

    @staticmethod
    def _expired(record: Record, now: float) -> bool:
        return record.expires_at is not None and now >= record.expires_at

    @staticmethod
    def _refresh(record: Record, now: float, refresh_ttl: bool | None) -> None:
        if record.ttl is not None and refresh_ttl is not False:
            record.expires_at = now + record.ttl

    @staticmethod
    def _fields(namespace: Namespace, key: str, record: Record) -> dict[str, Any]:
        return {
            "namespace": namespace,
            "key": key,
            "value": copy.deepcopy(record.value),
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }

    def _drop(self, namespace: Namespace, key: str) -> None:
        bucket = self._data.get(namespace)
        if bucket is not None:
            bucket.pop(key, None)
            if not bucket:
                del self._data[namespace]

    def _purge(self, now: float) -> None:
        for ns in list(self._data):
            for key in [k for k, r in self._data[ns].items() if self._expired(r, now)]:
                self._drop(ns, key)
