"""What can be written can be read: the same limits at write and read time, whatever the stack depth.

Also: the hash-safety rule for set members / dict keys, time zones, and a
bounded fuzzer of the decoder over random tagged documents.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import sys
import threading
import zoneinfo
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbflow import entrypoint, task
from nbflow.checkpoint.sqlite import SqliteSaver
from nbflow.errors import DeserializationError, NbflowError, SerializationError
from nbflow.serde import Serializer, dumps, loads, register_zone
from nbflow.serde.inert import LIMITS, Limits, nesting_over

DEPTH = LIMITS.depth


def nested_dict(n: int) -> dict:
    v: Any = {}
    for _ in range(n - 1):
        v = {"a": v}
    return v


def nested_tuple(n: int) -> Any:
    v: Any = ()
    for _ in range(n):
        v = (v,)
    return v


def at_stack_depth(depth: int, fn, *args):
    """Call ``fn`` with about ``depth`` frames already on the stack."""
    if depth <= 0:
        return fn(*args)
    return at_stack_depth(depth - 1, fn, *args)


def headroom() -> int:
    """Frames still free below the recursion limit, minus a margin."""
    n, f = 0, sys._getframe()
    while f is not None:
        n, f = n + 1, f.f_back
    return sys.getrecursionlimit() - n - 60


# ------------------------------------------------------------------ same limits, any stack
@pytest.mark.parametrize("make", [nested_dict, lambda n: [nested_dict(n - 1)], nested_tuple],
                         ids=["dict", "list", "tuple"])
@pytest.mark.parametrize("deep_caller", [False, True], ids=["shallow", "deep-caller"])
def test_written_iff_readable(make, deep_caller):
    """Around the limit: a value is written exactly when it can be read, from any stack depth."""
    extra = headroom() if deep_caller else 0
    for n in (DEPTH // 2 - 1, DEPTH // 2 + 1, DEPTH - 2, DEPTH - 1, DEPTH, DEPTH + 1, DEPTH + 2, 990):
        value = make(n)
        try:
            data = at_stack_depth(extra, dumps, value)
        except SerializationError as e:
            assert "depth limit" in str(e) and "nothing was stored" in str(e)
            assert nesting_over(json.dumps(json.loads(dumps(make(DEPTH // 3)))).encode(), DEPTH) is False
            continue
        assert not nesting_over(data, DEPTH)
        assert at_stack_depth(extra, loads, data) == value


def test_depth_limit_is_the_stored_nesting():
    assert dumps(nested_dict(DEPTH))
    with pytest.raises(SerializationError, match=f"more than {DEPTH} levels deep.*depth limit"):
        dumps(nested_dict(DEPTH + 1))
    with pytest.raises(SerializationError, match="builtins.dict"):
        dumps(nested_dict(990))
    with pytest.raises(DeserializationError, match="depth limit"):
        loads(b"[" * (DEPTH + 1) + b"]" * (DEPTH + 1))
    assert loads(b"[" * DEPTH + b"]" * DEPTH) is not None
    # brackets inside strings do not count; escapes are understood
    text = json.dumps(["[" * 1000, '\\"[[[', {"k": "]]]{{{"}]).encode()
    assert not nesting_over(text, 5) and loads(text)[0] == "[" * 1000


def test_deep_data_from_a_deep_stack_reads_the_same():
    data = dumps(nested_dict(DEPTH - 5))
    assert at_stack_depth(headroom(), loads, data) == nested_dict(DEPTH - 5)
    with pytest.raises(DeserializationError):
        at_stack_depth(headroom(), loads, b"[" * 100_000 + b"]" * 100_000)


def test_size_and_digit_limits_match():
    small = Serializer(Limits(size=5000, digits=1000))
    with pytest.raises(SerializationError, match="size limit"):
        small.dumps("x" * 6000)
    with pytest.raises(DeserializationError, match="size limit"):
        small.loads(dumps("x" * 6000))
    with pytest.raises(SerializationError, match="digits limit"):
        small.dumps(1 << 4000)
    assert small.loads(small.dumps(1 << 3000)) == 1 << 3000
    with pytest.raises(DeserializationError, match="digits limit"):
        small.loads(dumps(1 << 4000))
    import decimal

    with pytest.raises(SerializationError, match="digits limit"):
        small.dumps(decimal.Decimal("1" * 1001))
    with pytest.raises(DeserializationError, match="digits limit"):
        small.loads(dumps(decimal.Decimal("1" * 1001)))
    with pytest.raises(ValueError):
        Limits(digits=50)
    # the default limits: big ints round-trip, whatever sys.set_int_max_str_digits says
    old = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(640)
        for v in (10**638, -(10**639), 10**5000, 1 << 300_000):
            assert loads(dumps(v)) == v
    finally:
        sys.set_int_max_str_digits(old)
    with pytest.raises(SerializationError, match="digits limit"):
        dumps(1 << (LIMITS.int_bits + 8))


# ------------------------------------------------------------------ through a real workflow
@task
def deep_result(n: int):
    return nested_dict(n)


@task
def flat_result(n: int):
    return {"n": n}


def _workflow(saver, calls: list):
    @entrypoint(checkpointer=saver)
    def flow(n: int):
        calls.append(n)
        first = flat_result(n).result()
        return {"first": first, "deep": deep_result(n).result()}

    return flow


def in_thread(fn, *args):
    """``fn(*args)`` on a new thread (its stack is shallow): its result, or its exception re-raised."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - handed back
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.parametrize("deep_caller", [False, True], ids=["from-worker-thread", "from-deep-caller-stack"])
def test_unreadable_result_is_refused_when_the_task_finishes(tmp_path, deep_caller):
    """A task returning a value over the depth limit fails like any task error; nothing unreadable is stored."""
    saver = SqliteSaver(tmp_path / "t.sqlite")
    calls: list = []
    flow = _workflow(saver, calls)
    cfg = {"configurable": {"thread_id": "deep"}}
    extra = headroom() - 40 if deep_caller else 0
    run = (lambda *a: at_stack_depth(extra, flow.invoke, *a)) if deep_caller else (lambda *a: in_thread(flow.invoke, *a))
    with pytest.raises(SerializationError) as ei:
        run(990, cfg)
    msg = str(ei.value)
    assert "deep_result" in msg and "depth limit" in msg and "builtins.dict" in msg
    history = flow.get_task_history(cfg)
    outcomes = {r.name: r.outcome for r in history}
    assert outcomes == {"flat_result": "ok", "deep_result": "error"}
    # every stored row reads back, from a fresh saver on the same file
    saver.close()
    saver = SqliteSaver(tmp_path / "t.sqlite")
    flow = _workflow(saver, calls)
    state = flow.get_state(cfg)
    assert state.next == ("flow",) and state.tasks[0].error is not None
    for w in saver.list_writes("deep"):
        loads(w.payload)
    # invoke(None) retries the failed task as after any task error (and fails the same way)
    with pytest.raises(SerializationError, match="deep_result"):
        flow.invoke(None, cfg)
    # a value under the limit (with room for the channel that holds the return value) goes through
    ok = {"configurable": {"thread_id": "ok"}}
    out = run(DEPTH - 5, ok)
    assert out["deep"] == nested_dict(DEPTH - 5)
    assert flow.get_state(ok).values["deep"] == nested_dict(DEPTH - 5)
    saver.close()


def test_worker_thread_and_main_thread_agree(tmp_path):
    """The same value is refused (or accepted) on any thread."""
    results = {}

    def attempt(key):
        try:
            dumps(nested_dict(DEPTH + 1))
            results[key] = "ok"
        except SerializationError:
            results[key] = "refused"

    t = threading.Thread(target=attempt, args=("worker",))
    t.start()
    t.join()
    attempt("main")
    assert results == {"worker": "refused", "main": "refused"}


# ------------------------------------------------------------------ hashing, time zones
@dataclasses.dataclass(frozen=True)
class Frozen:
    a: Any
    b: int = 0


@dataclasses.dataclass(eq=False)
class OwnHash:
    a: int

    def __hash__(self):
        return 1


class Pt(NamedTuple):
    x: Any
    y: Any


class Shade(enum.Enum):
    DARK = "dark"


def test_set_members_and_keys_must_hash_without_user_code():
    ok = [{Frozen(1), Frozen((2, Shade.DARK))}, frozenset({Pt(1, "a"), (1, 2), None}),
          {Frozen(Pt(1, 2)): 1, dt.date(2024, 1, 1): 2, Shade.DARK: 3}]
    for v in ok:
        assert loads(dumps(v)) == v
    for v in ({OwnHash(1)}, {OwnHash(2): "x"}, {Frozen(OwnHash(3))}, {Pt(OwnHash(4), 1)}):
        with pytest.raises(SerializationError, match="without running your code"):
            dumps(v)


# Frozen dataclasses whose own __hash__ / __eq__ would run: compiled from "<string>" with the
# qualname dataclasses gives its methods, which a file name and a qualname alone cannot tell apart.
_SNEAKY_SOURCE = """
import dataclasses

RAN = []


@dataclasses.dataclass(frozen=True)
class OwnHashFrozen:
    x: object = None

    def __hash__(self):
        RAN.append("__hash__")
        return 1


@dataclasses.dataclass(frozen=True)
class OwnEqFrozen:
    x: object = None

    def __eq__(self, other):
        RAN.append("__eq__")
        return True

    __hash__ = object.__hash__


@dataclasses.dataclass(frozen=True)
class PropertyField:
    x: object = None


PropertyField.x = property(lambda self: RAN.append("property") or 1)
"""


def _sneaky_module():
    import sys
    import types

    mod = sys.modules.get("nbflow_sneaky_dc")
    if mod is None:
        mod = sys.modules["nbflow_sneaky_dc"] = types.ModuleType("nbflow_sneaky_dc")
        exec(compile(_SNEAKY_SOURCE, "<string>", "exec", dont_inherit=True), mod.__dict__)
    return mod


def test_only_generated_hash_and_eq_count_as_hash_safe():
    """A frozen dataclass defining its own __hash__ or __eq__ is refused on write and on read."""
    from nbflow.serde.inert import hash_safe

    mod = _sneaky_module()
    mod.RAN.clear()
    assert hash_safe(Frozen(1, 2)) and hash_safe(Frozen(Pt(1, "a")))
    for cls in (mod.OwnHashFrozen, mod.OwnEqFrozen, mod.PropertyField):
        value = object.__new__(cls)
        object.__setattr__(value, "__dict__", {"x": 1})
        assert not hash_safe(value), cls
        with pytest.raises(SerializationError, match="without running your code"):
            dumps({value})
        with pytest.raises(SerializationError, match="without running your code"):
            dumps({value: 1})
        mod.RAN.clear()  # building the set above ran the user's code (writing may); reading must not
        doc = {"__nb__": "dataclass", "cls": f"nbflow_sneaky_dc:{cls.__name__}", "f": {"x": 1}}
        for stored in ({"__nb__": "set", "v": [doc]}, {"__nb__": "frozenset", "v": [doc]},
                       {"__nb__": "dict", "v": [[doc, 1]]}):
            with pytest.raises(DeserializationError, match="without running your code|no setter"):
                loads(json.dumps(stored).encode())
        assert mod.RAN == [], cls


def test_enum_values_are_looked_up_not_called():
    class Weird(enum.Enum):
        A = 1

        @classmethod
        def _missing_(cls, value):  # pragma: no cover - must never run while loading
            raise AssertionError("_missing_ ran")

    data = json.dumps({"__nb__": "enum", "cls": f"{__name__}:Shade", "v": "nope"}).encode()
    with pytest.raises(DeserializationError, match="no member"):
        loads(data)
    assert loads(dumps(Shade.DARK)) is Shade.DARK


def test_only_loaded_zones_are_revived():
    from nbflow.serde import _decode as serde_decode

    saved = dict(serde_decode.ZONES)
    serde_decode.ZONES.clear()
    try:
        _zones_check()
    finally:
        serde_decode.ZONES.update(saved)


def _zones_check():
    data = json.dumps({"__nb__": "tz", "zone": "Europe/Paris"}).encode()
    with pytest.raises(DeserializationError, match=r"register_zone\('Europe/Paris'\)"):
        loads(data)
    register_zone("Europe/Paris")
    assert loads(data) is zoneinfo.ZoneInfo("Europe/Paris")
    with pytest.raises(TypeError):
        register_zone(dt.UTC)
    when = dt.datetime(2024, 6, 1, 12, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert loads(dumps(when)) == when  # dumps saw the zone, so loads knows it


# ------------------------------------------------------------------ the decoder fuzzer
_TAGS = ["int", "float", "dict", "tuple", "set", "frozenset", "bytes", "bytearray", "complex", "datetime", "date",
         "time", "timedelta", "tz", "uuid", "decimal", "odict", "counter", "deque", "path", "enum", "namedtuple",
         "dataclass", "pydantic", "ext", "ndarray", "npscalar", "pdarr", "pdindex", "series", "dataframe", "pdts",
         "pdtd", "pdnat", "reduce", "nope"]
_REFS = [f"{__name__}:Frozen", f"{__name__}:OwnHash", f"{__name__}:Pt", f"{__name__}:Shade", "os:system",
         "builtins:eval", "subprocess:Popen", "collections:OrderedDict", "nbflow:show", "pydantic:BaseModel",
         "not.imported:X", "bad", 5]
_KEYS = ["v", "cls", "f", "nf", "p", "root", "name", "tz", "fold", "maxlen", "zone", "offset", "dtype", "shape",
         "k", "range", "levels", "codes", "names", "freq", "index", "columns", "data", "cats", "ordered"]

_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=6), st.sampled_from(_REFS), st.sampled_from(["nan", "inf", "ff", "Europe/Paris",
                                                                                  "UTC", "Path", "O", "<i8", "AA=="]))


def _tagged(children):
    return st.builds(lambda tag, fields: {"__nb__": tag, **fields}, st.sampled_from(_TAGS),
                     st.dictionaries(st.sampled_from(_KEYS), children, max_size=4))


_documents = st.recursive(_scalar, lambda c: st.one_of(st.lists(c, max_size=4),
                                                       st.dictionaries(st.text(max_size=3), c, max_size=3),
                                                       _tagged(c)), max_leaves=20)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_fuzz_decoder_only_returns_or_refuses(doc):
    OwnHash.__hash__ = _forbidden
    try:
        data = json.dumps(doc).encode()
        try:
            loads(data)
        except DeserializationError:
            pass
    finally:
        OwnHash.__hash__ = _own_hash


def _forbidden(self):  # pragma: no cover - reaching it fails the fuzzer
    raise AssertionError("a user-defined __hash__ ran while loading")


def _own_hash(self):
    return 1


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_fuzz_raw_bytes(data):
    try:
        loads(data)
    except DeserializationError as e:
        assert isinstance(e, NbflowError)


def test_non_payload_types_are_refused():
    for bad in (300_000_000, 2**60, 1.5, None, ["x"]):
        with pytest.raises(DeserializationError, match="not bytes or text"):
            loads(bad)


def test_no_pickle_or_eval_in_the_codec():
    import pathlib

    from nbflow.serde import _decode as serde_decode
    from nbflow.serde import _encode as serde
    from nbflow.serde import inert, preview

    for mod in (serde, serde_decode, inert, preview):
        src = pathlib.Path(mod.__file__).read_text()
        for bad in ("import pickle", "eval(", "exec(", "__import__", "importlib", "import_module"):
            assert bad not in src, (mod.__name__, bad)


def _reference_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


_tricky_text = st.text(alphabet='[]{}"\\ab', max_size=6)
_json_docs = st.recursive(st.none() | st.integers() | _tricky_text,
                          lambda c: st.lists(c, max_size=3) | st.dictionaries(_tricky_text, c, max_size=3),
                          max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(_json_docs, st.integers(1, 30))
def test_nesting_check_matches_a_character_scanner(doc, limit):
    text = json.dumps(doc)
    assert nesting_over(text.encode(), limit) == (_reference_depth(text) > limit)


def test_cache_entry_of_the_wrong_type_is_refused(tmp_path):
    """A cache entry is stored data too: an int where bytes belong is refused, never bytes(n)."""
    from nbflow import CachePolicy
    from nbflow.cache import InMemoryCache

    cache = InMemoryCache()

    @task(cache_policy=CachePolicy())
    def cached_square(x: int) -> int:
        return x * x

    saver = SqliteSaver(tmp_path / "c.sqlite")

    @entrypoint(checkpointer=saver, cache=cache)
    def flow(x: int) -> int:
        return cached_square(x).result()

    assert flow.invoke(3, {"configurable": {"thread_id": "a"}}) == 9
    (key,) = [(ns, k) for ns, bucket in cache._data.items() for k in bucket]
    for bad in (2**60, b"[" * 100_000, b'{"__nb__": "dataclass", "cls": "os:system", "f": {}}'):
        cache.set({key: (bad, None)})
        with pytest.raises(DeserializationError):
            flow.invoke(3, {"configurable": {"thread_id": f"b{len(repr(bad))}"}})
    saver.close()
