"""What every long-term store shares (LangGraph's ``BaseStore`` API): items, argument checks, ranking.

This module owns :class:`Item` and :class:`SearchItem`, the checks every store applies to its
arguments and the search ranking; :mod:`nbflow.store.memory` (:class:`InMemoryStore`) and
:mod:`nbflow.store.postgres` (``PostgresStore``) implement the calls of ``langgraph.store``:
``put / get / delete / search / list_namespaces`` and their ``a*`` async twins.

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

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ..errors import InvalidNamespaceError, NamespaceTypeError, StoreTypeError, StoreValueError

__all__ = [
    "Item",
    "SearchItem",
    "StoreValueError",
    "StoreTypeError",
    "InvalidNamespaceError",
    "NamespaceTypeError",
    "lexical_score",
    "Namespace",
]

Namespace = tuple[str, ...]
_OPS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
_TOKEN = re.compile(r"\w+")
_H = TypeVar("_H")  # a search hit, as each store keeps it


def to_datetime(x: datetime | str) -> datetime:
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
        self.created_at = to_datetime(created_at)
        self.updated_at = to_datetime(updated_at)

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
class Record:
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    seq: int  # write order, for "most recently written first"
    ttl: float | None  # seconds
    expires_at: float | None  # clock time


# -- validation ----------------------------------------------------------------


def check_namespace(namespace: Any) -> Namespace:
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


def check_path(path: Any, what: str) -> Namespace:
    if not isinstance(path, tuple) or not all(isinstance(p, str) for p in path):
        raise NamespaceTypeError(f"{what} must be a tuple of str, got {path!r}")
    return path


def check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise StoreTypeError(f"key must be a str, got {key!r}")
    return key


def check_put(value: Any, index: Any, ttl: Any) -> None:
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


def check_search(namespace_prefix: Any, filter: Any, limit: Any, offset: Any, query: Any) -> dict[str, Any]:
    """The arguments of ``search`` (every store checks them the same way); returns the filter's conditions."""
    check_path(namespace_prefix, "namespace_prefix")
    conditions = check_filter(filter)
    check_count(limit, "limit")
    check_count(offset, "offset")
    if query is not None and not isinstance(query, str):
        raise StoreTypeError(f"query must be a str or None, got {query!r}")
    return conditions


def check_list_namespaces(prefix: Any, suffix: Any, max_depth: Any, limit: Any, offset: Any) -> None:
    """The arguments of ``list_namespaces`` (every store checks them the same way)."""
    if prefix is not None:
        check_path(prefix, "prefix")
    if suffix is not None:
        check_path(suffix, "suffix")
    if max_depth is not None and check_count(max_depth, "max_depth") < 1:
        raise StoreValueError(f"max_depth must be >= 1, got {max_depth!r}")
    check_count(limit, "limit")
    check_count(offset, "offset")


def check_count(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise StoreTypeError(f"{what} must be an int, got {x!r}")
    if x < 0:
        raise StoreValueError(f"{what} must be >= 0, got {x!r}")
    return x


def check_filter(filter: Any) -> dict[str, Any]:
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


def matches(value: dict[str, Any], filter: dict[str, Any]) -> bool:
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


def matches_path(namespace: Namespace, pattern: Namespace, *, suffix: bool) -> bool:
    if len(pattern) > len(namespace):
        return False
    part = namespace[len(namespace) - len(pattern) :] if suffix else namespace[: len(pattern)]
    return all(p == "*" or p == n for p, n in zip(pattern, part, strict=False))


def rank(hits: list[_H], query: str | None, value_of: Callable[[_H], dict[str, Any]]) -> list[tuple[float | None, _H]]:
    """``hits`` (newest first) with their scores: unscored without a query, else best score first
    (a stable sort, so recency breaks ties)."""
    if query is None:
        return [(None, h) for h in hits]
    return sorted(((lexical_score(query, value_of(h)), h) for h in hits), key=lambda s: -(s[0] or 0.0))


def select_namespaces(namespaces: Iterable[Namespace], prefix: Namespace | None, suffix: Namespace | None,
                       max_depth: int | None, limit: int, offset: int) -> list[Namespace]:
    """What ``list_namespaces`` returns from the namespaces holding live items."""
    found = [ns for ns in namespaces
             if (prefix is None or matches_path(ns, prefix, suffix=False))
             and (suffix is None or matches_path(ns, suffix, suffix=True))]
    if max_depth is not None:
        found = [ns[:max_depth] for ns in found]
    return sorted(set(found))[offset : offset + limit]


def async_twin(sync: Callable[..., Any]) -> Callable[..., Any]:
    """An ``async def`` running ``sync``, with its signature (``inspect.signature``)."""

    @functools.wraps(sync)
    async def twin(self: Any, *args: Any, **kwargs: Any) -> Any:
        return sync(self, *args, **kwargs)

    twin.__name__ = "a" + sync.__name__
    twin.__qualname__ = sync.__qualname__.rsplit(".", 1)[0] + "." + twin.__name__
    twin.__doc__ = f"Async twin of :meth:`{sync.__name__}`: {sync.__doc__}"
    return twin


