"""PostgresStore against a real server: every InMemoryStore test that takes the
``store`` fixture runs again here on a PostgresStore (fresh schema each), plus
store-specific checks (JSON-only values, several processes' stores sharing items)."""

from __future__ import annotations

import pytest
from . import test_store as _base

from nbflow.postgres_store import PostgresStore
from nbflow.store import StoreTypeError

# The shared behaviour: re-collect test_store's tests that use the `store`
# fixture (the fixture below overrides theirs); tests building an
# InMemoryStore themselves are left to test_store.py.
_SKIP = {"test_default_clock_is_wall_time", "test_thread_safety", "test_filter_matches_reference_model",
         "test_async_twins_are_coroutine_functions_with_the_sync_signatures", "test_lexical_score",
         "test_item_accepts_iso_strings_and_compares"}
for _name in dir(_base):
    if _name.startswith("test_") and _name not in _SKIP:
        globals()[_name] = getattr(_base, _name)
clock = _base.clock
filled = _base.filled
spaces = _base.spaces


@pytest.fixture
def store(clock, postgres_schemas):
    uri = postgres_schemas.uri()
    with PostgresStore.from_conn_string(uri, clock=clock) as s:
        s.setup()
        s.setup()  # idempotent
        yield s


def test_values_must_be_json(store):
    with pytest.raises(StoreTypeError, match="JSON"):
        store.put(("a",), "k", {"when": object()})
    with pytest.raises(StoreTypeError, match="unchanged"):
        store.put(("a",), "k", {"pair": (1, 2)})
    with pytest.raises(StoreTypeError, match="JSON"):
        store.put(("a",), "k", {"x": float("nan")})
    assert store.get(("a",), "k") is None


def test_two_stores_on_one_database_share_items(clock, postgres_schemas):
    uri = postgres_schemas.uri()
    with PostgresStore.from_conn_string(uri, clock=clock) as a, PostgresStore.from_conn_string(uri, clock=clock) as b:
        a.setup()
        a.put(("team", "prefs"), "ann", {"theme": "dark", "tags": ["x", "y"]})
        item = b.get(("team", "prefs"), "ann")
        assert item.value == {"theme": "dark", "tags": ["x", "y"]} and item.namespace == ("team", "prefs")
        assert [i.key for i in b.search(("team",))] == ["ann"]
        assert b.search(("te",)) == []  # a prefix is whole labels, not characters
        b.put(("team_x",), "k", {"n": 1})  # '_' is not a LIKE wildcard here
        assert [i.key for i in a.search(("team",))] == ["ann"]
        assert a.list_namespaces() == [("team", "prefs"), ("team_x",)]
        b.delete(("team", "prefs"), "ann")
        assert a.get(("team", "prefs"), "ann") is None


def test_a_store_shares_the_checkpointers_database(postgres_schemas):
    """PostgresStore(saver.db): one pool, one set of retries and messages; closing the store leaves the
    saver's database open."""
    from nbflow.checkpoint.postgres import PostgresSaver

    saver = PostgresSaver.open(postgres_schemas.uri(), pool_size=2)
    try:
        saver.setup()
        store = PostgresStore(saver.db)
        store.setup()
        store.put(("users", "ada"), "likes", {"tea": True})
        assert store.get(("users", "ada"), "likes").value == {"tea": True}
        store.close()
        assert not saver.db.closed and saver.list_threads() == []  # still usable
        with pytest.raises(StoreTypeError, match="JSON"):
            PostgresStore(saver.db).put(("a",), "k", {"when": object()})
    finally:
        saver.close()
    assert saver.db.closed
