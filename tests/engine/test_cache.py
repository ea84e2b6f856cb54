"""Tests for nbflow.cache.InMemoryCache (TTL driven by a fake clock, no sleeping)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbflow import (
    CachePolicy,
    InMemoryCache,
    entrypoint,
    task,
)
from nbflow.cache import CacheKeyError, SqliteCache
from nbflow.errors import NbflowError
from nbflow.testing.helpers import FakeClock, cfg


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def cache(clock):
    return InMemoryCache(clock=clock)


NS = ("task", "add")
NS2 = ("task", "mul")


def test_get_returns_only_present_keys(cache):
    cache.set({(NS, "k1"): (b"v1", None), (NS2, "k1"): (b"v2", None)})
    got = cache.get([(NS, "k1"), (NS, "missing"), (NS2, "k1"), (("other",), "k1")])
    assert got == {(NS, "k1"): b"v1", (NS2, "k1"): b"v2"}
    assert cache.get([]) == {}


def test_values_are_stored_as_given(cache):
    value = bytearray(b"abc")
    obj = object()
    cache.set({(NS, "a"): (value, None), (NS, "b"): (obj, None)})
    got = cache.get([(NS, "a"), (NS, "b")])
    assert got[(NS, "a")] is value
    assert got[(NS, "b")] is obj


def test_set_overwrites_value_and_ttl(cache, clock):
    cache.set({(NS, "k"): (b"old", 5)})
    cache.set({(NS, "k"): (b"new", None)})
    clock.advance(100)
    assert cache.get([(NS, "k")]) == {(NS, "k"): b"new"}


def test_ttl_expiry_boundary(cache, clock):
    cache.set({(NS, "k"): (b"v", 10)})
    clock.advance(9.999)
    assert cache.get([(NS, "k")]) == {(NS, "k"): b"v"}
    clock.advance(0.001)  # exactly set_time + ttl: expired
    assert cache.get([(NS, "k")]) == {}
    clock.advance(-5)  # an expired entry was dropped, it does not come back
    assert cache.get([(NS, "k")]) == {}


def test_ttl_none_never_expires(cache, clock):
    cache.set({(NS, "k"): (b"v", None)})
    clock.advance(10**9)
    assert cache.get([(NS, "k")]) == {(NS, "k"): b"v"}


def test_zero_or_negative_ttl_is_expired_at_once(cache):
    cache.set({(NS, "zero"): (b"v", 0), (NS, "neg"): (b"v", -3)})
    assert cache.get([(NS, "zero"), (NS, "neg")]) == {}


def test_float_ttl(cache, clock):
    cache.set({(NS, "k"): (b"v", 0.5)})
    clock.advance(0.4)
    assert cache.get([(NS, "k")])
    clock.advance(0.1)
    assert not cache.get([(NS, "k")])


def test_ttl_counts_from_each_set(cache, clock):
    cache.set({(NS, "k"): (b"v", 10)})
    clock.advance(8)
    cache.set({(NS, "k"): (b"v", 10)})
    clock.advance(8)
    assert cache.get([(NS, "k")])


def test_len_counts_live_entries(cache, clock):
    cache.set({(NS, "a"): (1, 5), (NS, "b"): (2, None), (NS2, "c"): (3, 1)})
    assert len(cache) == 3
    clock.advance(2)
    assert len(cache) == 2
    clock.advance(3)
    assert len(cache) == 1


def test_clear_all(cache):
    cache.set({(NS, "a"): (1, None), (NS2, "b"): (2, None)})
    cache.clear()
    assert cache.get([(NS, "a"), (NS2, "b")]) == {}
    assert len(cache) == 0


def test_clear_exact_namespaces_only(cache):
    child = NS + ("child",)
    cache.set({(NS, "a"): (1, None), (NS2, "b"): (2, None), (child, "c"): (3, None)})
    cache.clear([NS, ("never-used",)])
    assert cache.get([(NS, "a"), (NS2, "b"), (child, "c")]) == {(NS2, "b"): 2, (child, "c"): 3}


def test_clear_empty_sequence_clears_nothing(cache):
    cache.set({(NS, "a"): (1, None)})
    cache.clear([])
    assert cache.get([(NS, "a")]) == {(NS, "a"): 1}


def test_empty_namespace_is_allowed(cache):
    cache.set({((), "k"): (1, None)})
    assert cache.get([((), "k")]) == {((), "k"): 1}


@pytest.mark.parametrize(
    "bad_key",
    [
        "k",
        (NS,),
        (NS, "k", "extra"),
        (["task"], "k"),
        (("task", 1), "k"),
        ("task", "k"),
        (NS, 3),
        (NS, b"k"),
    ],
)
def test_bad_keys_rejected(cache, bad_key):
    with pytest.raises(CacheKeyError) as info:
        cache.get([bad_key])
    assert isinstance(info.value, TypeError) and isinstance(info.value, NbflowError)
    if _hashable(bad_key):
        with pytest.raises(CacheKeyError):
            cache.set({bad_key: (1, None)})


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


@pytest.mark.parametrize("bad_pair", [b"v", (b"v",), (b"v", "10"), (b"v", True), (b"v", float("nan"))])
def test_bad_value_pairs_rejected(cache, bad_pair):
    with pytest.raises(CacheKeyError):
        cache.set({(NS, "k"): bad_pair})


def test_failed_set_stores_nothing(cache):
    with pytest.raises(CacheKeyError):
        cache.set({(NS, "good"): (1, None), (NS, 5): (2, None)})
    assert cache.get([(NS, "good")]) == {}


def test_clear_rejects_non_tuple_namespace(cache):
    cache.set({(NS, "a"): (1, None)})
    with pytest.raises(CacheKeyError):
        cache.clear([NS, "task"])
    assert cache.get([(NS, "a")])  # validated before anything was cleared


def test_async_twins(clock):
    cache = InMemoryCache(clock=clock)

    async def main():
        await cache.aset({(NS, "k"): (b"v", 10), (NS2, "k"): (b"w", None)})
        assert await cache.aget([(NS, "k"), (NS2, "k")]) == {(NS, "k"): b"v", (NS2, "k"): b"w"}
        clock.advance(10)
        assert await cache.aget([(NS, "k")]) == {}
        await cache.aclear([NS2])
        assert await cache.aget([(NS2, "k")]) == {}
        await cache.aset({(NS, "x"): (1, None)})
        await cache.aclear()
        assert await cache.aget([(NS, "x")]) == {}

    asyncio.run(main())


def test_default_clock_is_monotonic():
    import time

    cache = InMemoryCache()
    assert cache._clock is time.monotonic
    cache.set({(NS, "k"): (b"v", 3600)})
    assert cache.get([(NS, "k")]) == {(NS, "k"): b"v"}


def test_thread_safety(clock):
    cache = InMemoryCache(clock=clock)
    errors = []

    def worker(n: int):
        try:
            for i in range(300):
                cache.set({((f"t{n}",), str(i)): (i, None if i % 2 else 1000)})
                got = cache.get([((f"t{n}",), str(i))])
                # only this thread writes (f"t{n}",); another one may have cleared it
                assert got in ({}, {((f"t{n}",), str(i)): i})
                if i % 50 == 0:
                    cache.clear([(f"t{(n + 1) % 8}",)])
                    len(cache)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


keys = st.tuples(st.tuples(st.sampled_from(["a", "b"])), st.sampled_from(["x", "y", "z"]))


@settings(max_examples=200)
@given(ops=st.lists(st.tuples(keys, st.integers(), st.one_of(st.none(), st.integers(0, 20)), st.integers(0, 10))))
def test_matches_a_simple_model(ops):
    """Random set/advance sequences agree with a dict of (value, expiry)."""
    clock = FakeClock(0.0)
    cache = InMemoryCache(clock=clock)
    model: dict = {}
    for key, value, ttl, step in ops:
        cache.set({key: (value, ttl)})
        model[key] = (value, None if ttl is None else clock.now + ttl)
        clock.advance(step)
        expected = {k: v for k, (v, exp) in model.items() if exp is None or clock.now < exp}
        assert cache.get(list(model)) == expected




def test_cache_policy_hits_ttl_and_clear(checkpointer):
    runs = []
    now = [0.0]
    cache = InMemoryCache(clock=lambda: now[0])

    @task(cache_policy=CachePolicy(ttl=10))
    def square(x: int) -> int:
        runs.append(x)
        return x * x

    @entrypoint(checkpointer=checkpointer, cache=cache)
    def wf(x: int) -> int:
        return square(x).result()

    assert wf.invoke(3, cfg("a")) == 9
    assert list(wf.stream(3, cfg("b"))) == [{"square": 9, "__metadata__": {"cached": True}}, {"wf": 9}]
    now[0] = 11.0  # ttl expired
    assert wf.invoke(3, cfg("c")) == 9
    square.clear_cache(cache)
    assert wf.invoke(3, cfg("d")) == 9
    assert runs == [3, 3, 3]


def test_entrypoint_cache_serves_the_result_for_the_same_input(checkpointer):
    runs: list = []

    @entrypoint(cache=InMemoryCache(), cache_policy=CachePolicy())
    def double(x: int) -> int:
        runs.append(x)
        return 2 * x

    assert [double.invoke(2), double.invoke(2), double.invoke(3)] == [4, 4, 6]
    assert runs == [2, 3]

    @entrypoint(checkpointer=checkpointer, cache=InMemoryCache(), cache_policy=CachePolicy(key_func=lambda d: d["k"]))
    async def triple(d: dict) -> int:
        runs.append(d)
        return 3 * d["v"]

    assert triple.invoke({"k": "a", "v": 1}, cfg("c1")) == 3
    assert triple.invoke({"k": "a", "v": 99}, cfg("c2")) == 3  # same key: cached, even on another thread
    assert runs == [2, 3, {"k": "a", "v": 1}]
    assert triple.get_state(cfg("c2")).values == 3  # still checkpointed as that thread's result


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
