"""The in-memory long-term store (LangGraph's ``BaseStore`` API).

This module owns :class:`Item`, :class:`SearchItem` and :class:`InMemoryStore`,
with the call signatures of ``langgraph.store``: ``put / get / delete /
search / list_namespaces`` and their ``a*`` async twins.

Rules:

* A namespace is a non-empty tuple of non-empty str labels without ``"."``,
  whose first label is not ``"langgraph"`` (LangGraph's rules); a key is a
  str; a value is a dict. Bad input raises :class:`InvalidNamespaceError`
  (a ``ValueError``; also a ``TypeError`` when the namespace is not a tuple)
  or :class:`StoreTypeError` / :class:`StoreValueError`, naming the value.
* Values are deep-copied on the way in and on the way out.
* ``put`` on an existing key keeps ``created_at`` and moves ``updated_at``;
  ``put(..., value=None)`` deletes, as in LangGraph.
* ``ttl`` is in minutes (LangGraph's unit); reading an item (``get``,
  ``search``) restarts its TTL unless ``refresh_ttl=False``. Time comes from an
  injectable clock (epoch seconds), which also stamps ``created_at`` /
  ``updated_at``.
* ``search`` filters by namespace prefix and by ``filter`` (equality on
  top-level value keys, or a dict of operators ``$eq $ne $gt $gte $lt $lte``;
  a missing key matches only ``$ne``). Without ``query`` results are most
  recently written first with ``score=None``. There is no embedding index: a
  ``query`` ranks by a lexical score, the fraction of the query's distinct
  word tokens (``\\w+``, lower-cased) that occur among the tokens of the
  value's JSON text (keys included), in ``[0, 1]``; ties go to the most
  recently written item. Items scoring 0 are still returned, last.
* ``index`` is accepted for compatibility and ignored.

All methods are thread-safe; the async twins run the same code (no I/O).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from nbflow.errors import NbflowError

__all__ = [
    "Item",
    "SearchItem",
    "InMemoryStore",
    "StoreValueError",
    "StoreTypeError",
    "InvalidNamespaceError",
    "lexical_score",
]

Namespace = tuple[str, ...]
_OPS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
_TOKEN = re.compile(r"\w+")
_H = TypeVar("_H")  # a search hit, as each store keeps it


class StoreValueError(NbflowError, ValueError):
    """A bad value passed to the store (filter, limit, ttl...)."""


class StoreTypeError(NbflowError, TypeError):
    """A store argument of the wrong type (key not a str, value not a dict...)."""


class InvalidNamespaceError(StoreValueError):
    """A namespace breaks LangGraph's rules (same name as LangGraph's error)."""


class NamespaceTypeError(InvalidNamespaceError, TypeError):
    """A namespace that is not a tuple of str."""


def _to_datetime(x: datetime | str) -> datetime:
    return datetime.fromisoformat(x) if isinstance(x, str) else x


class Item:
    """A stored value and its metadata; ``namespace`` is a tuple."""

    __slots__ = ("value", "key", "namespace", "created_at", "updated_at")

    def __init__(
        self,
        *,
        value: dict[str, Any],
        key: str,
        namespace: Iterable[str],
        created_at: datetime | str,
        updated_at: datetime | str,
    ) -> None:
        self.value = value
        self.key = key
        self.namespace = tuple(namespace)
        self.created_at = _to_datetime(created_at)
        self.updated_at = _to_datetime(updated_at)

    def dict(self) -> dict[str, Any]:
        """JSON-able form: namespace as a list, timestamps as ISO strings."""
        return {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.dict() == other.dict()  # type: ignore[attr-defined,unused-ignore]

    def __hash__(self) -> int:
        return hash((self.namespace, self.key))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.dict().items())
        return f"{type(self).__name__}({fields})"


class SearchItem(Item):
    """An :class:`Item` returned by ``search``, with its relevance ``score``."""

    __slots__ = ("score",)

    def __init__(self, *, score: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.score = score

    def dict(self) -> dict[str, Any]:
        return {**super().dict(), "score": self.score}


@dataclass(slots=True)
class _Record:
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    seq: int  # write order, for "most recently written first"
    ttl: float | None  # seconds
    expires_at: float | None  # clock time


# -- validation ----------------------------------------------------------------


def _check_namespace(namespace: Any) -> Namespace:
    if not isinstance(namespace, tuple):
        raise NamespaceTypeError(f"namespace must be a tuple of str, got {namespace!r}")
    if not namespace:
        raise InvalidNamespaceError("namespace cannot be empty: got ()")
    for label in namespace:
        if not isinstance(label, str):
            raise NamespaceTypeError(f"namespace labels must be str, got {label!r} in {namespace!r}")
        if not label:
            raise InvalidNamespaceError(f"namespace labels cannot be empty: {namespace!r}")
        if "." in label:
            raise InvalidNamespaceError(
                f"namespace labels cannot contain '.': {label!r} in {namespace!r}"
            )
    if namespace[0] == "langgraph":
        raise InvalidNamespaceError(f"namespace root label cannot be 'langgraph': {namespace!r}")
    return namespace


def _check_path(path: Any, what: str) -> Namespace:
    if not isinstance(path, tuple) or not all(isinstance(p, str) for p in path):
        raise NamespaceTypeError(f"{what} must be a tuple of str, got {path!r}")
    return path


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise StoreTypeError(f"key must be a str, got {key!r}")
    return key


def _check_put(value: Any, index: Any, ttl: Any) -> None:
    """The arguments of ``put`` after namespace and key (every store checks them the same way)."""
    if not isinstance(value, dict):
        raise StoreTypeError(f"value must be a dict, got {type(value).__name__}: {value!r}")
    if not (index is None or index is False or (
        isinstance(index, list) and all(isinstance(p, str) for p in index)
    )):
        raise StoreTypeError(f"index must be None, False or a list of str, got {index!r}")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
            raise StoreTypeError(f"ttl must be minutes (a number) or None, got {ttl!r}")
        if not ttl > 0:
            raise StoreValueError(f"ttl must be > 0 minutes, got {ttl!r}")


def _check_search(namespace_prefix: Any, filter: Any, limit: Any, offset: Any, query: Any) -> dict[str, Any]:
    """The arguments of ``search`` (every store checks them the same way); returns the filter's conditions."""
    _check_path(namespace_prefix, "namespace_prefix")
    conditions = _check_filter(filter)
    _check_count(limit, "limit")
    _check_count(offset, "offset")
    if query is not None and not isinstance(query, str):
        raise StoreTypeError(f"query must be a str or None, got {query!r}")
    return conditions


def _check_list_namespaces(prefix: Any, suffix: Any, max_depth: Any, limit: Any, offset: Any) -> None:
    """The arguments of ``list_namespaces`` (every store checks them the same way)."""
    if prefix is not None:
        _check_path(prefix, "prefix")
    if suffix is not None:
        _check_path(suffix, "suffix")
    if max_depth is not None and _check_count(max_depth, "max_depth") < 1:
        raise StoreValueError(f"max_depth must be >= 1, got {max_depth!r}")
    _check_count(limit, "limit")
    _check_count(offset, "offset")


def _check_count(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise StoreTypeError(f"{what} must be an int, got {x!r}")
    if x < 0:
        raise StoreValueError(f"{what} must be >= 0, got {x!r}")
    return x


def _check_filter(filter: Any) -> dict[str, Any]:
    if filter is None:
        return {}
    if not isinstance(filter, dict):
        raise StoreTypeError(f"filter must be a dict, got {filter!r}")
    for field, cond in filter.items():
        if not isinstance(field, str):
            raise StoreTypeError(f"filter keys must be str, got {field!r}")
        if _is_operator_dict(cond):
            bad = [op for op in cond if op not in _OPS]
            if bad:
                raise StoreValueError(
                    f"unknown filter operator {bad[0]!r} for {field!r}; use one of {sorted(_OPS)}"
                )
    return filter


def _is_operator_dict(cond: Any) -> bool:
    return isinstance(cond, dict) and any(isinstance(k, str) and k.startswith("$") for k in cond)


# -- matching and scoring --------------------------------------------------------


def _compare(op: str, present: bool, actual: Any, expected: Any) -> bool:
    if op == "$ne":
        return not present or actual != expected
    if not present:
        return False
    if op == "$eq":
        return actual == expected
    try:
        if op == "$gt":
            return actual > expected
        if op == "$gte":
            return actual >= expected
        if op == "$lt":
            return actual < expected
        return actual <= expected  # $lte
    except TypeError:  # e.g. "a" > 1: no match rather than an error
        return False


def _matches(value: dict[str, Any], filter: dict[str, Any]) -> bool:
    for field, cond in filter.items():
        present = field in value
        actual = value.get(field)
        if _is_operator_dict(cond):
            if not all(_compare(op, present, actual, exp) for op, exp in cond.items()):
                return False
        elif not (present and actual == cond):
            return False
    return True


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def lexical_score(query: str, value: dict[str, Any]) -> float:
    """Fraction of the query's distinct tokens found in the value's JSON text."""
    wanted = _tokens(query)
    if not wanted:
        return 0.0
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return len(wanted & _tokens(text)) / len(wanted)


def _matches_path(namespace: Namespace, pattern: Namespace, *, suffix: bool) -> bool:
    if len(pattern) > len(namespace):
        return False
    part = namespace[len(namespace) - len(pattern) :] if suffix else namespace[: len(pattern)]
    return all(p == "*" or p == n for p, n in zip(pattern, part, strict=False))


def _rank(hits: list[_H], query: str | None, value_of: Callable[[_H], dict[str, Any]]) -> list[tuple[float | None, _H]]:
    """``hits`` (newest first) with their scores: unscored without a query, else best score first
    (a stable sort, so recency breaks ties)."""
    if query is None:
        return [(None, h) for h in hits]
    return sorted(((lexical_score(query, value_of(h)), h) for h in hits), key=lambda s: -(s[0] or 0.0))


def _select_namespaces(namespaces: Iterable[Namespace], prefix: Namespace | None, suffix: Namespace | None,
                       max_depth: int | None, limit: int, offset: int) -> list[Namespace]:
    """What ``list_namespaces`` returns from the namespaces holding live items."""
    found = [ns for ns in namespaces
             if (prefix is None or _matches_path(ns, prefix, suffix=False))
             and (suffix is None or _matches_path(ns, suffix, suffix=True))]
    if max_depth is not None:
        found = [ns[:max_depth] for ns in found]
    return sorted(set(found))[offset : offset + limit]


def _async_twin(sync: Callable[..., Any]) -> Callable[..., Any]:
    """An ``async def`` running ``sync``, with its signature (``inspect.signature``)."""

    @functools.wraps(sync)
    async def twin(self: Any, *args: Any, **kwargs: Any) -> Any:
        return sync(self, *args, **kwargs)

    twin.__name__ = "a" + sync.__name__
    twin.__qualname__ = sync.__qualname__.rsplit(".", 1)[0] + "." + twin.__name__
    twin.__doc__ = f"Async twin of :meth:`{sync.__name__}`: {sync.__doc__}"
    return twin


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
        self._data: dict[Namespace, dict[str, _Record]] = {}
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
        _check_namespace(namespace)
        _check_key(key)
        if value is None:
            self.delete(namespace, key)
            return
        _check_put(value, index, ttl)
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
            bucket[key] = _Record(
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
        _check_namespace(namespace)
        _check_key(key)
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
        _check_namespace(namespace)
        _check_key(key)
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
        conditions = _check_search(namespace_prefix, filter, limit, offset, query)
        with self._lock:
            now = self._clock()
            self._purge(now)
            hits = [
                (ns, key, rec)
                for ns, bucket in self._data.items()
                if ns[: len(namespace_prefix)] == namespace_prefix
                for key, rec in bucket.items()
                if _matches(rec.value, conditions)
            ]
            hits.sort(key=lambda h: -h[2].seq)
            page = _rank(hits, query, lambda h: h[2].value)[offset : offset + limit]
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
        _check_list_namespaces(prefix, suffix, max_depth, limit, offset)
        with self._lock:
            self._purge(self._clock())
            live = list(self._data)
        return _select_namespaces(live, prefix, suffix, max_depth, limit, offset)

    # -- async twins: same code, same signatures (nothing to await in memory) ----------

    aput = _async_twin(put)
    aget = _async_twin(get)
    adelete = _async_twin(delete)
    asearch = _async_twin(search)
    alist_namespaces = _async_twin(list_namespaces)

    # -- internals (call with the lock held) ----------------------------------------

    @staticmethod
    def _expired(record: _Record, now: float) -> bool:
        return record.expires_at is not None and now >= record.expires_at

    @staticmethod
    def _refresh(record: _Record, now: float, refresh_ttl: bool | None) -> None:
        if record.ttl is not None and refresh_ttl is not False:
            record.expires_at = now + record.ttl

    @staticmethod
    def _fields(namespace: Namespace, key: str, record: _Record) -> dict[str, Any]:
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
