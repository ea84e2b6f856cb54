"""Tests for nbflow.policies: RetryPolicy, CachePolicy and their pure helpers."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbflow
from nbflow import entrypoint, task
from nbflow.engine import plugs
from nbflow.errors import ConfigError, NbflowError
from nbflow.policies import (
    CachePolicy,
    PolicyTypeError,
    RetryPolicy,
    default_cache_key,
    default_retry_on,
    normalize_retry,
    retry_delay,
    select_policy,
    should_retry,
)
from nbflow.testing.helpers import RecordingClock

ROOT = Path(__file__).resolve().parents[2]


# -- RetryPolicy shape --------------------------------------------------------------


def test_retry_policy_defaults_match_langgraph():
    p = RetryPolicy()
    assert p.initial_interval == 0.5
    assert p.backoff_factor == 2.0
    assert p.max_interval == 128.0
    assert p.max_attempts == 3
    assert p.jitter is True
    assert p.retry_on is default_retry_on
    assert RetryPolicy._fields == (
        "initial_interval",
        "backoff_factor",
        "max_interval",
        "max_attempts",
        "jitter",
        "retry_on",
    )


def test_retry_policy_is_a_namedtuple():
    p = RetryPolicy(max_attempts=5)
    assert isinstance(p, tuple)
    assert p._replace(jitter=False).jitter is False
    assert p == RetryPolicy(0.5, 2.0, 128.0, 5, True, default_retry_on)
    assert hash(p) == hash(RetryPolicy(max_attempts=5))


# -- default_retry_on ----------------------------------------------------------------

NOT_RETRIED = [
    ValueError("v"),
    TypeError("t"),
    ZeroDivisionError("z"),
    OverflowError("o"),
    ImportError("i"),
    ModuleNotFoundError("m"),
    KeyError("k"),
    IndexError("i"),
    NameError("n"),
    UnboundLocalError("u"),
    SyntaxError("s"),
    RuntimeError("r"),
    NotImplementedError("n"),
    RecursionError("r"),
    ReferenceError("r"),
    StopIteration(),
    StopAsyncIteration(),
    OSError("o"),
    FileNotFoundError("f"),
    PermissionError("p"),
    TimeoutError("t"),  # an OSError, not a ConnectionError: LangGraph does not retry it
    ConfigError("nbflow errors are Value/Type/RuntimeErrors"),
    PolicyTypeError("p"),
]

RETRIED = [
    ConnectionError("c"),
    ConnectionResetError("c"),
    ConnectionRefusedError("c"),
    BrokenPipeError("b"),
    ConnectionAbortedError("c"),
    Exception("plain"),
    AssertionError("a"),
]


@pytest.mark.parametrize("exc", NOT_RETRIED, ids=lambda e: type(e).__name__)
def test_default_retry_on_refuses_bugs(exc):
    assert default_retry_on(exc) is False


@pytest.mark.parametrize("exc", RETRIED, ids=lambda e: type(e).__name__)
def test_default_retry_on_retries_transient(exc):
    assert default_retry_on(exc) is True


def test_default_retry_on_custom_exception_is_retried():
    class Flaky(Exception):
        pass

    assert default_retry_on(Flaky()) is True


def _fake_http_error(module: str, name: str, base: type[BaseException], status):
    cls = type(name, (base,), {"__module__": module})

    class Response:
        def __init__(self, code):
            self.status_code = code

    exc = cls("boom")
    exc.response = None if status is None else Response(status)
    return exc


@pytest.mark.parametrize(
    "status,expected", [(500, True), (503, True), (599, True), (404, False), (400, False), (600, False)]
)
@pytest.mark.parametrize(
    "module,name,base",
    [
        ("httpx", "HTTPStatusError", Exception),
        ("httpx._exceptions", "HTTPStatusError", Exception),
        ("requests.exceptions", "HTTPError", OSError),  # requests errors are OSErrors
    ],
)
def test_http_status_errors_retry_only_5xx(module, name, base, status, expected):
    assert default_retry_on(_fake_http_error(module, name, base, status)) is expected


def test_requests_error_without_response_is_retried():
    assert default_retry_on(_fake_http_error("requests.exceptions", "HTTPError", OSError, None))


def test_subclass_of_http_status_error_is_detected():
    base = type("HTTPStatusError", (Exception,), {"__module__": "httpx"})
    sub = type("MyError", (base,), {"__module__": "myapp"})
    exc = sub("x")
    exc.response = type("R", (), {"status_code": 404})()
    assert default_retry_on(exc) is False


def test_lookalike_from_other_module_is_not_special():
    exc = _fake_http_error("myhttp", "HTTPError", OSError, 503)
    assert default_retry_on(exc) is False  # plain OSError rule


def test_real_requests_http_error():
    requests = pytest.importorskip("requests")
    resp = requests.Response()
    resp.status_code = 502
    assert default_retry_on(requests.HTTPError(response=resp)) is True
    resp.status_code = 403
    assert default_retry_on(requests.HTTPError(response=resp)) is False


def test_import_and_default_retry_on_import_nothing_heavy():
    code = textwrap.dedent(
        """
        import sys
        import nbflow.errors  # the package __init__ (if any) is someone else's business
        before = set(sys.modules)
        from nbflow.policies import default_retry_on
        default_retry_on(ValueError()); default_retry_on(Exception())
        new = {m.split(".")[0] for m in set(sys.modules) - before}
        assert not new & {"httpx", "requests"}, new
        # serde is imported lazily, inside default_cache_key only
        assert "nbflow.serde" in before or "nbflow.serde" not in sys.modules
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr


# -- should_retry / select_policy ---------------------------------------------------------


def test_should_retry_with_class_sequence_and_callable():
    assert should_retry(RetryPolicy(retry_on=KeyError), KeyError("k"))
    assert not should_retry(RetryPolicy(retry_on=KeyError), ValueError())
    assert should_retry(RetryPolicy(retry_on=(KeyError, ValueError)), ValueError())
    assert should_retry(RetryPolicy(retry_on=[KeyError, ValueError]), KeyError())
    assert not should_retry(RetryPolicy(retry_on=[KeyError]), TypeError())
    assert should_retry(RetryPolicy(retry_on=lambda e: "again" in str(e)), Exception("again"))
    assert not should_retry(RetryPolicy(retry_on=lambda e: "again" in str(e)), Exception("no"))
    assert should_retry(RetryPolicy(), ConnectionError())
    assert not should_retry(RetryPolicy(), ValueError())


def test_should_retry_exception_class_is_not_called_as_predicate():
    # An exception class is callable; it must be used with isinstance.
    assert not should_retry(RetryPolicy(retry_on=KeyError), Exception())


def test_should_retry_returns_bool_from_truthy_predicate():
    assert should_retry(RetryPolicy(retry_on=lambda e: 1), Exception()) is True
    assert should_retry(RetryPolicy(retry_on=lambda e: []), Exception()) is False


@pytest.mark.parametrize("bad", [42, "ValueError", [ValueError, 3], (int,)])
def test_should_retry_bad_retry_on(bad):
    with pytest.raises(PolicyTypeError) as info:
        should_retry(RetryPolicy(retry_on=bad), ValueError())
    assert isinstance(info.value, TypeError) and isinstance(info.value, NbflowError)


def test_select_policy_first_match_wins():
    a = RetryPolicy(retry_on=KeyError, max_attempts=2)
    b = RetryPolicy(retry_on=(KeyError, ValueError), max_attempts=7)
    c = RetryPolicy(retry_on=lambda e: True, max_attempts=9)
    assert select_policy([a, b, c], KeyError()) is a
    assert select_policy([a, b, c], ValueError()) is b
    assert select_policy([a, b, c], OSError()) is c
    assert select_policy([a, b], OSError()) is None
    assert select_policy([], ValueError()) is None


# -- retry_delay ----------------------------------------------------------------------------


def test_retry_delay_without_jitter():
    p = RetryPolicy(initial_interval=1.0, backoff_factor=3.0, max_interval=20.0, jitter=False)
    assert [retry_delay(p, n) for n in range(1, 6)] == [1.0, 3.0, 9.0, 20.0, 20.0]


def test_retry_delay_defaults():
    p = RetryPolicy(jitter=False)
    assert [retry_delay(p, n) for n in (1, 2, 3, 8, 9, 50)] == [0.5, 1.0, 2.0, 64.0, 128.0, 128.0]


def test_retry_delay_jitter_added_after_cap():
    p = RetryPolicy(initial_interval=10.0, max_interval=5.0)
    assert retry_delay(p, 1, random=lambda: 0.25) == 5.25
    assert retry_delay(p, 1, random=lambda: 0.0) == 5.0


def test_retry_delay_jitter_not_drawn_when_off():
    def boom():
        raise AssertionError("random() must not be called")

    assert retry_delay(RetryPolicy(jitter=False), 2, random=boom) == 1.0


def test_retry_delay_huge_attempt_does_not_overflow():
    p = RetryPolicy(backoff_factor=10.0, jitter=False)
    assert retry_delay(p, 10_000) == 128.0


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "1", None])
def test_retry_delay_rejects_bad_attempt(bad):
    with pytest.raises(ConfigError):
        retry_delay(RetryPolicy(), bad)


@given(
    initial=st.floats(0, 100),
    factor=st.floats(1, 10),
    cap=st.floats(0, 1000),
    attempt=st.integers(1, 200),
    r=st.floats(0, 1, exclude_max=True),
)
def test_retry_delay_bounds(initial, factor, cap, attempt, r):
    p = RetryPolicy(initial_interval=initial, backoff_factor=factor, max_interval=cap)
    base = retry_delay(p._replace(jitter=False), attempt)
    assert 0 <= base <= cap
    assert math.isclose(retry_delay(p, attempt, random=lambda: r), base + r)
    # non-decreasing in the attempt number when backoff_factor >= 1
    assert retry_delay(p._replace(jitter=False), attempt + 1) >= base


# -- normalize_retry ---------------------------------------------------------------------------


def test_normalize_retry_shapes():
    a, b = RetryPolicy(), RetryPolicy(max_attempts=9)
    assert normalize_retry(None) == ()
    assert normalize_retry(a) == (a,)
    assert normalize_retry([a, b]) == (a, b)
    assert normalize_retry((b, a)) == (b, a)
    assert normalize_retry([]) == ()


@pytest.mark.parametrize("bad", [3, "x", {"max_attempts": 3}, [RetryPolicy(), 3]])
def test_normalize_retry_rejects_non_policies(bad):
    with pytest.raises(PolicyTypeError):
        normalize_retry(bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"initial_interval": -1},
        {"backoff_factor": float("nan")},
        {"max_interval": float("inf")},
    ],
)
def test_normalize_retry_rejects_bad_values(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        normalize_retry(RetryPolicy(**kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 2.5}, {"max_attempts": True}, {"initial_interval": "1"}, {"retry_on": 5},
     {"retry_on": [ValueError, "x"]}],
)
def test_normalize_retry_rejects_bad_types(kwargs):
    with pytest.raises(PolicyTypeError):
        normalize_retry(RetryPolicy(**kwargs))


# -- CachePolicy ---------------------------------------------------------------------------------


def test_cache_policy_defaults_and_frozen():
    p = CachePolicy()
    assert p.key_func is default_cache_key
    assert p.ttl is None
    assert CachePolicy(ttl=60).ttl == 60
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.ttl = 5  # type: ignore[misc]
    assert CachePolicy(ttl=5) == CachePolicy(ttl=5)
    assert hash(CachePolicy(ttl=5)) == hash(CachePolicy(ttl=5))


def test_cache_policy_custom_key_func_and_generic():
    def key(x, y=0):
        return f"{x}-{y}"

    p = CachePolicy[type(key)](key_func=key, ttl=10)
    assert p.key_func(1, y=2) == "1-2"


@pytest.mark.parametrize("kwargs,err", [
    ({"ttl": -1}, ConfigError), ({"ttl": "10"}, PolicyTypeError),
    ({"ttl": True}, PolicyTypeError), ({"key_func": 3}, PolicyTypeError),
])
def test_cache_policy_validation(kwargs, err):
    with pytest.raises(err):
        CachePolicy(**kwargs)


# -- default_cache_key ------------------------------------------------------------------------------


@pytest.fixture
def serde():
    return pytest.importorskip("nbflow.serde", reason="nbflow.serde not written yet")


def test_default_cache_key_is_stable_hex(serde):
    k = default_cache_key(1, "a", x=[1, 2], y={"k": None})
    assert isinstance(k, str) and len(k) == 64 and int(k, 16) >= 0
    assert k == default_cache_key(1, "a", y={"k": None}, x=[1, 2])  # kwargs order-free
    assert k != default_cache_key(1, "b", x=[1, 2], y={"k": None})
    assert default_cache_key(1) != default_cache_key(x=1)
    assert default_cache_key() == default_cache_key()


def test_default_cache_key_same_across_processes(serde):
    code = "from nbflow.policies import default_cache_key as k; print(k(1, 'a', x=[1.5, None]))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True,
        cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123"},
    ).stdout.strip()
    assert out == default_cache_key(1, "a", x=[1.5, None])


def test_default_cache_key_non_serializable_raises_type_error(serde):

    with pytest.raises(TypeError):
        default_cache_key(threading.Lock())


def test_default_cache_key_encodes_args_and_sorted_kwargs(monkeypatch):
    """Independent of the real serializer: check what is handed to serde.dumps."""
    import hashlib
    import types


    seen = []

    def dumps(obj):
        seen.append(obj)
        return repr(obj).encode()

    fake = types.ModuleType("nbflow.serde")
    fake.dumps = dumps
    monkeypatch.setitem(sys.modules, "nbflow.serde", fake)
    monkeypatch.setattr(nbflow, "serde", fake, raising=False)
    key = default_cache_key(1, "a", z=3, b=2)
    assert seen == [((1, "a"), [("b", 2), ("z", 3)])]
    assert key == hashlib.sha256(repr(seen[0]).encode()).hexdigest()


def test_default_cache_key_propagates_serializer_error(monkeypatch):
    import types

    from nbflow.errors import SerializationError

    def dumps(obj):
        raise SerializationError("cannot serialize <lock>")

    fake = types.ModuleType("nbflow.serde")
    fake.dumps = dumps
    monkeypatch.setitem(sys.modules, "nbflow.serde", fake)
    monkeypatch.setattr(nbflow, "serde", fake, raising=False)
    with pytest.raises(SerializationError, match="lock"):
        default_cache_key(object())


def test_default_cache_key_ignores_dict_insertion_order(serde):
    a = default_cache_key({"x": 1, "y": {"b": 2, "a": [{"q": 1, "p": 2}]}}, opt={"m": 1, "n": 2})
    b = default_cache_key({"y": {"a": [{"p": 2, "q": 1}], "b": 2}, "x": 1}, opt={"n": 2, "m": 1})
    assert a == b
    assert a != default_cache_key({"x": 1, "y": {"b": 3, "a": [{"q": 1, "p": 2}]}}, opt={"m": 1, "n": 2})


def test_default_cache_key_mixed_key_types(serde):
    assert default_cache_key({1: "a", "1": "b"}) == default_cache_key({"1": "b", 1: "a"})
    assert default_cache_key((1, 2)) != default_cache_key([1, 2])




@pytest.fixture
def no_sleep():
    clock = RecordingClock()
    with plugs.using(clock=clock):  # runs built in this test wait through the recording clock
        yield clock.slept


def test_retry_policy_backoff_and_fallbacks(no_sleep):
    calls = collections.Counter()

    @task(retry_policy=[RetryPolicy(retry_on=KeyError, max_attempts=2, jitter=False),
                        RetryPolicy(retry_on=ConnectionError, max_attempts=4, initial_interval=1.0,
                                    backoff_factor=3.0, jitter=False)])
    def flaky(kind: str) -> str:
        calls[kind] += 1
        if calls[kind] < 4:
            raise ConnectionError("down") if kind == "net" else KeyError(kind)
        return "ok"

    @entrypoint()
    def wf(kind: str) -> str:
        return flaky(kind).result()

    assert wf.invoke("net") == "ok"
    assert no_sleep == [1.0, 3.0, 9.0]
    no_sleep.clear()
    with pytest.raises(KeyError):
        wf.invoke("key")
    assert calls["key"] == 2 and no_sleep == [0.5]


def test_retry_does_not_retry_value_error_by_default(no_sleep):
    calls = []

    @task(retry_policy=RetryPolicy())
    def bad() -> None:
        calls.append(1)
        raise ValueError("no")

    @entrypoint()
    def wf(_: Any) -> None:
        return bad().result()

    with pytest.raises(ValueError):
        wf.invoke(0)
    assert calls == [1] and no_sleep == []


def test_async_task_retry(no_sleep):
    calls = []

    @task(retry_policy=RetryPolicy(retry_on=ConnectionError, jitter=False))
    async def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError()
        return 7

    @entrypoint()
    async def wf(_: Any) -> int:
        return await flaky()

    assert asyncio.run(wf.ainvoke(0)) == 7 and no_sleep == [0.5, 1.0]
