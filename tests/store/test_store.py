"""Tests for nbflow.store.InMemoryStore (time from a fake clock, no sleeping)."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbflow.errors import NbflowError
from nbflow.store import (
    InMemoryStore,
    InvalidNamespaceError,
    Item,
    SearchItem,
    StoreTypeError,
    StoreValueError,
    lexical_score,
)
from nbflow.testing.helpers import FakeClock

T0 = 1_700_000_000.0




@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def store(clock):
    return InMemoryStore(clock=clock)


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


# -- put / get / delete -------------------------------------------------------------


def test_put_get_roundtrip(store):
    store.put(("users", "u1"), "prefs", {"food": "pizza"})
    item = store.get(("users", "u1"), "prefs")
    assert isinstance(item, Item) and not isinstance(item, SearchItem)
    assert item.namespace == ("users", "u1")
    assert item.key == "prefs"
    assert item.value == {"food": "pizza"}
    assert item.created_at == item.updated_at == utc(T0)
    assert item.created_at.tzinfo is not None and item.created_at.utcoffset() == timedelta(0)


def test_get_missing(store):
    assert store.get(("users",), "nope") is None
    store.put(("users",), "a", {})
    assert store.get(("users",), "b") is None
    assert store.get(("other",), "a") is None


def test_put_existing_keeps_created_at(store, clock):
    store.put(("ns",), "k", {"v": 1})
    clock.advance(60)
    store.put(("ns",), "k", {"v": 2})
    item = store.get(("ns",), "k")
    assert item.value == {"v": 2}
    assert item.created_at == utc(T0)
    assert item.updated_at == utc(T0 + 60)


def test_item_dict_format(store):
    store.put(("a", "b"), "k", {"x": [1, 2]})
    d = store.get(("a", "b"), "k").dict()
    assert d == {
        "namespace": ["a", "b"],
        "key": "k",
        "value": {"x": [1, 2]},
        "created_at": utc(T0).isoformat(),
        "updated_at": utc(T0).isoformat(),
    }
    assert d["created_at"].endswith("+00:00")


def test_item_accepts_iso_strings_and_compares():
    a = Item(value={"x": 1}, key="k", namespace=["n"], created_at="2024-01-01T00:00:00+00:00",
             updated_at=utc(T0))
    b = Item(value={"x": 1}, key="k", namespace=("n",), created_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
             updated_at=utc(T0))
    assert a.namespace == ("n",)
    assert a == b and hash(a) == hash(b)
    assert a != Item(value={"x": 2}, key="k", namespace=("n",), created_at=a.created_at,
                     updated_at=a.updated_at)
    assert "Item(" in repr(a) and "'k'" in repr(a)
    s = SearchItem(score=0.5, value={}, key="k", namespace=("n",), created_at=a.created_at,
                   updated_at=a.updated_at)
    assert s.dict()["score"] == 0.5 and s != a


def test_values_are_deep_copied_in_and_out(store):
    value = {"list": [1, {"deep": True}]}
    store.put(("ns",), "k", value)
    value["list"][1]["deep"] = False
    value["new"] = 1
    got = store.get(("ns",), "k")
    assert got.value == {"list": [1, {"deep": True}]}
    got.value["list"].append(99)
    store.search(("ns",))[0].value["list"].append(100)
    assert store.get(("ns",), "k").value == {"list": [1, {"deep": True}]}


def test_uncopyable_value_rejected(store):
    with pytest.raises(StoreTypeError, match="'k'"):
        store.put(("ns",), "k", {"lock": threading.Lock()})
    assert store.get(("ns",), "k") is None


def test_delete(store):
    store.put(("ns",), "k", {"v": 1})
    store.delete(("ns",), "k")
    assert store.get(("ns",), "k") is None
    store.delete(("ns",), "k")  # missing: no error
    store.delete(("never",), "k")
    assert store.list_namespaces() == []


def test_put_none_deletes(store):
    store.put(("ns",), "k", {"v": 1})
    store.put(("ns",), "k", None)
    assert store.get(("ns",), "k") is None


def test_index_is_accepted_and_ignored(store):
    store.put(("ns",), "a", {"text": "x"}, index=False)
    store.put(("ns",), "b", {"text": "y"}, ["text"])
    assert {i.key for i in store.search(("ns",))} == {"a", "b"}


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "namespace,fragment",
    [
        ((), "empty"),
        (("a", ""), "empty"),
        (("a.b",), "'a.b'"),
        (("langgraph", "x"), "langgraph"),
    ],
)
def test_invalid_namespace_values(store, namespace, fragment):
    for call in (
        lambda: store.put(namespace, "k", {}),
        lambda: store.get(namespace, "k"),
        lambda: store.delete(namespace, "k"),
    ):
        with pytest.raises(InvalidNamespaceError, match=fragment) as info:
            call()
        assert isinstance(info.value, ValueError) and isinstance(info.value, NbflowError)


@pytest.mark.parametrize("namespace", [["a", "b"], "a", ("a", 1), None])
def test_namespace_wrong_type(store, namespace):
    with pytest.raises(InvalidNamespaceError) as info:
        store.put(namespace, "k", {})
    assert isinstance(info.value, TypeError)
    assert repr(namespace if not isinstance(namespace, tuple) else 1) in str(info.value)


@pytest.mark.parametrize("key", [1, None, b"k", ("k",)])
def test_key_must_be_str(store, key):
    with pytest.raises(StoreTypeError, match="key must be a str") as info:
        store.put(("ns",), key, {})
    assert repr(key) in str(info.value)
    with pytest.raises(StoreTypeError):
        store.get(("ns",), key)


@pytest.mark.parametrize("value", [[1], "text", 3, ("a", 1)])
def test_value_must_be_dict(store, value):
    with pytest.raises(StoreTypeError, match="value must be a dict") as info:
        store.put(("ns",), "k", value)
    assert repr(value) in str(info.value)
    assert isinstance(info.value, TypeError)


def test_bad_index_and_ttl(store):
    with pytest.raises(StoreTypeError, match="index"):
        store.put(("ns",), "k", {}, index=True)
    with pytest.raises(StoreTypeError, match="index"):
        store.put(("ns",), "k", {}, index=[1])
    with pytest.raises(StoreTypeError, match="ttl"):
        store.put(("ns",), "k", {}, ttl="5")
    with pytest.raises(StoreValueError, match="ttl"):
        store.put(("ns",), "k", {}, ttl=0)
    with pytest.raises(StoreValueError, match="ttl"):
        store.put(("ns",), "k", {}, ttl=float("nan"))


def test_bad_search_arguments(store):
    with pytest.raises(InvalidNamespaceError):
        store.search(["ns"])
    with pytest.raises(StoreTypeError):
        store.search(("ns",), filter=[("a", 1)])
    with pytest.raises(StoreValueError, match=r"\$like"):
        store.search(("ns",), filter={"a": {"$like": "x"}})
    with pytest.raises(StoreValueError, match="limit"):
        store.search(("ns",), limit=-1)
    with pytest.raises(StoreTypeError, match="offset"):
        store.search(("ns",), offset=1.5)
    with pytest.raises(StoreTypeError, match="query"):
        store.search(("ns",), query=3)
    with pytest.raises(TypeError):
        store.search(namespace_prefix=("ns",))  # positional-only, as in LangGraph


# -- search --------------------------------------------------------------------------------


@pytest.fixture
def filled(store, clock):
    rows = [
        (("docs", "a"), "1", {"kind": "note", "n": 1, "text": "the quick brown fox"}),
        (("docs", "a"), "2", {"kind": "todo", "n": 5, "text": "buy milk"}),
        (("docs", "b"), "3", {"kind": "note", "n": 10, "text": "quick quick fox jumps"}),
        (("docs",), "4", {"kind": "note", "text": "no number here"}),
        (("misc",), "5", {"kind": "note", "n": "7", "text": "lazy dog"}),
    ]
    for ns, key, value in rows:
        store.put(ns, key, value)
        clock.advance(1)
    return store


def keys(items):
    return [i.key for i in items]


def test_search_prefix_and_recency_order(filled):
    assert keys(filled.search(("docs",))) == ["4", "3", "2", "1"]
    assert keys(filled.search(("docs", "a"))) == ["2", "1"]
    assert keys(filled.search(())) == ["5", "4", "3", "2", "1"]
    assert filled.search(("doc",)) == []  # prefixes are whole labels
    assert all(isinstance(i, SearchItem) and i.score is None for i in filled.search(()))


def test_search_recency_follows_updates(filled, clock):
    filled.put(("docs", "a"), "1", {"kind": "note", "n": 1, "text": "edited"})
    assert keys(filled.search(("docs",))) == ["1", "4", "3", "2"]


def test_search_limit_offset(filled):
    assert keys(filled.search((), limit=2)) == ["5", "4"]
    assert keys(filled.search((), limit=2, offset=2)) == ["3", "2"]
    assert keys(filled.search((), offset=4)) == ["1"]
    assert filled.search((), offset=10) == []
    assert filled.search((), limit=0) == []


def test_search_filter_equality(filled):
    assert keys(filled.search((), filter={"kind": "note"})) == ["5", "4", "3", "1"]
    assert keys(filled.search((), filter={"kind": "note", "n": 1})) == ["1"]
    assert filled.search((), filter={"kind": "other"}) == []
    assert keys(filled.search((), filter={})) == ["5", "4", "3", "2", "1"]


def test_search_filter_operators(filled):
    assert keys(filled.search((), filter={"n": {"$gt": 1}})) == ["3", "2"]  # "7" is a str
    assert keys(filled.search((), filter={"n": {"$gte": 1, "$lt": 10}})) == ["2", "1"]
    assert keys(filled.search((), filter={"n": {"$lte": 5}})) == ["2", "1"]
    assert keys(filled.search((), filter={"n": {"$eq": "7"}})) == ["5"]
    # $ne: a missing key counts as "not equal"
    assert keys(filled.search((), filter={"n": {"$ne": 5}})) == ["5", "4", "3", "1"]
    assert keys(filled.search((), filter={"kind": {"$ne": "note"}})) == ["2"]
    assert filled.search((), filter={"absent": {"$eq": None}}) == []


def test_filter_equality_against_nested_values(store):
    store.put(("ns",), "a", {"tags": ["x", "y"], "meta": {"lang": "en"}})
    store.put(("ns",), "b", {"tags": ["x"], "meta": {"lang": "fr"}})
    assert keys(store.search(("ns",), filter={"tags": ["x"]})) == ["b"]
    assert keys(store.search(("ns",), filter={"meta": {"lang": "en"}})) == ["a"]


def test_search_query_ranking(filled):
    results = filled.search(("docs",), query="quick fox")
    assert keys(results) == ["3", "1", "4", "2"]  # 3 newer than 1 at score 1.0
    assert [r.score for r in results] == [1.0, 1.0, 0.0, 0.0]
    results = filled.search((), query="Lazy DOG cat")
    assert results[0].key == "5" and results[0].score == pytest.approx(2 / 3)
    assert filled.search((), query="note", filter={"n": {"$gte": 5}}, limit=1)[0].key == "3"


def test_lexical_score():
    assert lexical_score("pizza", {"food": "I like pizza"}) == 1.0
    assert lexical_score("food", {"food": "x"}) == 1.0  # keys are part of the JSON text
    assert lexical_score("pizza pasta", {"food": "pizza, pizza!"}) == 0.5
    assert lexical_score("", {"a": "b"}) == 0.0
    assert lexical_score("!!!", {"a": "b"}) == 0.0
    assert lexical_score("Café", {"a": "café au lait"}) == 1.0
    assert lexical_score("2024", {"when": datetime(2024, 1, 1)}) == 1.0  # non-JSON via str()


# -- list_namespaces -------------------------------------------------------------------------


@pytest.fixture
def spaces(store):
    for ns in [("a",), ("a", "b"), ("a", "b", "c"), ("a", "x", "c"), ("d", "b"), ("e",)]:
        store.put(ns, "k", {})
    return store


def test_list_namespaces_all_sorted(spaces):
    assert spaces.list_namespaces() == [
        ("a",), ("a", "b"), ("a", "b", "c"), ("a", "x", "c"), ("d", "b"), ("e",)
    ]


def test_list_namespaces_prefix_suffix_wildcards(spaces):
    assert spaces.list_namespaces(prefix=("a", "b")) == [("a", "b"), ("a", "b", "c")]
    assert spaces.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("a", "x", "c")]
    assert spaces.list_namespaces(prefix=("a", "*", "c")) == [("a", "b", "c"), ("a", "x", "c")]
    assert spaces.list_namespaces(suffix=("*", "b")) == [("a", "b"), ("d", "b")]
    assert spaces.list_namespaces(prefix=("a",), suffix=("b",)) == [("a", "b")]
    assert spaces.list_namespaces(prefix=("zzz",)) == []
    assert spaces.list_namespaces(prefix=()) == spaces.list_namespaces()


def test_list_namespaces_max_depth_limit_offset(spaces):
    assert spaces.list_namespaces(max_depth=1) == [("a",), ("d",), ("e",)]
    assert spaces.list_namespaces(max_depth=2, prefix=("a",)) == [("a",), ("a", "b"), ("a", "x")]
    assert spaces.list_namespaces(limit=2) == [("a",), ("a", "b")]
    assert spaces.list_namespaces(limit=2, offset=4) == [("d", "b"), ("e",)]
    with pytest.raises(StoreValueError):
        spaces.list_namespaces(max_depth=0)
    with pytest.raises(InvalidNamespaceError):
        spaces.list_namespaces(prefix=["a"])


def test_list_namespaces_forgets_emptied_namespaces(spaces):
    spaces.delete(("e",), "k")
    assert ("e",) not in spaces.list_namespaces()


# -- TTL (minutes) ------------------------------------------------------------------------------


def test_ttl_expiry(store, clock):
    store.put(("ns",), "k", {"v": 1}, ttl=1)
    clock.advance(59)
    store.put(("ns",), "other", {})
    assert store.get(("ns",), "k", refresh_ttl=False) is not None
    clock.advance(1)
    assert store.get(("ns",), "k") is None
    assert keys(store.search(("ns",))) == ["other"]


def test_ttl_refreshed_on_read(store, clock):
    store.put(("ns",), "k", {"v": 1}, ttl=1)
    clock.advance(50)
    assert store.get(("ns",), "k") is not None  # restarts the minute
    clock.advance(50)
    assert store.search(("ns",))  # so does search
    clock.advance(50)
    assert store.get(("ns",), "k", refresh_ttl=False) is not None
    clock.advance(10)
    assert store.get(("ns",), "k") is None


def test_expired_namespaces_are_not_listed(store, clock):
    store.put(("tmp",), "k", {}, ttl=0.5)
    store.put(("keep",), "k", {})
    clock.advance(30)
    assert store.list_namespaces() == [("keep",)]


def test_put_over_expired_item_starts_fresh(store, clock):
    store.put(("ns",), "k", {"v": 1}, ttl=1)
    clock.advance(120)
    store.put(("ns",), "k", {"v": 2})
    item = store.get(("ns",), "k")
    assert item.created_at == utc(T0 + 120)
    clock.advance(10**6)
    assert store.get(("ns",), "k") is not None  # the new put has no ttl


# -- async, threads, defaults -----------------------------------------------------------------


def test_async_twins(store, clock):
    async def main():
        await store.aput(("ns", "a"), "k1", {"text": "hello world"})
        clock.advance(1)
        await store.aput(("ns", "b"), "k2", {"text": "bye"}, ttl=1)
        assert (await store.aget(("ns", "a"), "k1")).value == {"text": "hello world"}
        found = await store.asearch(("ns",), query="hello", limit=1)
        assert keys(found) == ["k1"] and found[0].score == 1.0
        assert keys(await store.asearch(("ns",), filter={"text": "bye"})) == ["k2"]
        assert await store.alist_namespaces(prefix=("ns",), max_depth=2) == [("ns", "a"), ("ns", "b")]
        await store.adelete(("ns", "a"), "k1")
        assert await store.aget(("ns", "a"), "k1") is None
        clock.advance(60)
        assert await store.aget(("ns", "b"), "k2", refresh_ttl=True) is None

    asyncio.run(main())


def test_default_clock_is_wall_time():
    before = datetime.now(timezone.utc)
    store = InMemoryStore()
    store.put(("ns",), "k", {})
    item = store.get(("ns",), "k")
    assert before - timedelta(seconds=5) <= item.created_at <= datetime.now(timezone.utc)


def test_thread_safety():
    store = InMemoryStore()
    errors = []

    def worker(n: int):
        try:
            for i in range(200):
                store.put(("t", str(n)), str(i % 20), {"i": i})
                item = store.get(("t", str(n)), str(i % 20))
                # only this thread writes ("t", n); another one may have deleted the key
                assert item is None or item.value == {"i": i}
                store.search(("t",), filter={"i": {"$gte": 0}}, limit=5)
                if i % 7 == 0:
                    store.delete(("t", str((n + 1) % 6)), str(i % 20))
                    store.list_namespaces(prefix=("t",))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for ns in store.list_namespaces(prefix=("t",)):
        for item in store.search(ns, limit=100):
            assert item.namespace == ns and set(item.value) == {"i"}


values = st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.integers(-3, 3), st.text("xy", max_size=2)))
conds = st.one_of(
    st.integers(-3, 3),
    st.dictionaries(st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]), st.integers(-3, 3), min_size=1),
)


def _model_match(value, filter):
    import operator

    ops = {"$eq": operator.eq, "$ne": operator.ne, "$gt": operator.gt,
           "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}
    for field, cond in filter.items():
        if isinstance(cond, dict):
            for op, exp in cond.items():
                if field not in value:
                    if op != "$ne":
                        return False
                    continue
                try:
                    if not ops[op](value[field], exp):
                        return False
                except TypeError:
                    return False
        elif field not in value or value[field] != cond:
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(values, max_size=8), filter=st.dictionaries(st.sampled_from(["a", "b"]), conds))
def test_filter_matches_reference_model(rows, filter):
    store = InMemoryStore(clock=FakeClock())
    for i, row in enumerate(rows):
        store.put(("ns",), str(i), row)
    got = {i.key for i in store.search(("ns",), filter=filter, limit=100)}
    assert got == {str(i) for i, row in enumerate(rows) if _model_match(row, filter)}


def test_async_twins_are_coroutine_functions_with_the_sync_signatures():
    import inspect

    for name in ("put", "get", "delete", "search", "list_namespaces"):
        twin = getattr(InMemoryStore, "a" + name)
        assert inspect.iscoroutinefunction(twin)
        assert twin.__name__ == "a" + name
        assert inspect.signature(twin) == inspect.signature(getattr(InMemoryStore, name))
    params = inspect.signature(InMemoryStore.asearch).parameters
    assert params["namespace_prefix"].kind is inspect.Parameter.POSITIONAL_ONLY
    assert params["limit"].default == 10
