"""The in-memory task-result cache.

This module owns :class:`InMemoryCache`, shaped like LangGraph's ``BaseCache``:
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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from nbflow.errors import NbflowError

__all__ = ["InMemoryCache", "CacheKeyError", "Namespace", "FullKey"]

Namespace = tuple[str, ...]
FullKey = tuple[Namespace, str]
ValueT = TypeVar("ValueT")


class CacheKeyError(NbflowError, TypeError):
    """A cache key is not a ``(tuple[str, ...], str)`` pair, or a TTL is not a number."""


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
