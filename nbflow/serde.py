"""The checkpoint serializer: owns the byte format of every value nbflow stores
(task results, inputs, state) and the one-line previews shown for them.

Pure module (no I/O).  Public API: :class:`Serializer` (``dumps``/``loads``),
:data:`default_serializer`, :func:`dumps`, :func:`loads`, :func:`register_type`,
:func:`summarize`.

Format: UTF-8 JSON.  JSON-native values (str, bool, None, finite float, int,
list, dict with str keys) are written as themselves; everything else becomes a
tagged object ``{"__nb__": "<tag>", ...}``, e.g. ``{"__nb__": "tuple", "v": [..]}``.
A user dict that has non-str keys or contains the ``"__nb__"`` key is written as
``{"__nb__": "dict", "v": [[k, v], ...]}``.  User classes are named by
``"module:qualname"``.

Security (the rule is stated in :mod:`nbflow.inert`): no pickle, no eval.
``loads`` never imports a module, opens a file or a socket, and calls no
user-defined method but the constructor of an allowed class.  A class named in
the data is found only through ``sys.modules`` and plain ``__dict__`` lookups,
and is revived only if it really is a dataclass, a pydantic model, an Enum, a
NamedTuple, or a type registered with :func:`register_type`; anything else is
refused with :class:`~nbflow.errors.DeserializationError`.  Every decoder checks
the types of its fields before using them, sets and non-str dict keys are only
built from values whose hashing runs no user code (:func:`nbflow.inert.hash_safe`),
and named time zones are only those already loaded in this process
(:func:`register_zone`).  numpy / pandas / pydantic are never imported here:
they are used only if already in ``sys.modules``.  ``dumps`` checks every
payload against the same :data:`nbflow.inert.LIMITS` that ``loads`` applies, so
whatever is written can be read back.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as _dt
import decimal
import enum
import json
import math
import pathlib
import re
import sys
import uuid
import zoneinfo
from typing import Any, Callable

from nbflow import inert
from nbflow.errors import DeserializationError, SerializationError
from nbflow.inert import LIMITS, LimitExceeded, Limits, Stored, class_attr, class_has, hash_safe, mro

__all__ = ["Serializer", "default_serializer", "dumps", "loads", "register_type", "register_zone",
           "summarize", "TAG"]

TAG = "__nb__"
_TAG_JSON = '"__nb__"'
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
_JSON_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False, check_circular=False)
_PLAIN = json.JSONDecoder()
_SCAN = _PLAIN.scan_once
# Larger ints are written in hex: 639 digits are under the lowest limit Python lets
# anyone set for decimal int parsing (sys.set_int_max_str_digits accepts >= 640).
_BIG = 10 ** 639
_HEX_INT = re.compile(r"-?[0-9a-f]+")
_PATHS = {c.__name__: c for c in (pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath,
                                  pathlib.WindowsPath, pathlib.PurePath, pathlib.Path)}
_DTYPE_RE = re.compile(r"[<>|=]?[biufcUSMm]\d+(\[\d*[a-zA-Z]+\])?")
_ZONE_RE = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")
# Named time zones this process has loaded (seen by dumps, or registered): the
# only ones loads() revives, so reading never opens the tz database.
_ZONES: dict[str, zoneinfo.ZoneInfo] = {}
_UNHASHABLE = ("set members and non-str dict keys must be values nbflow can hash without running "
               "your code: built-in scalars, dates, UUIDs, paths, enum members, and tuples, frozensets, "
               "named tuples or frozen dataclasses of those")
_PD_EXT = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
           "Float32", "Float64", "boolean"}
_HINT = ("return plain data (dict/list/str/number), a dataclass, a pydantic model, "
         "or teach nbflow the type with nbflow.serde.register_type(cls, encode=..., decode=...)")

# name -> (cls, encode, decode) and cls -> name; shared by every Serializer.
_REGISTRY: dict[str, tuple[type, Callable[[Any], Any], Callable[[Any], Any]]] = {}
_REGISTERED: dict[type, str] = {}


def register_type(cls: type, *, encode: Callable[[Any], Any], decode: Callable[[Any], Any],
                  name: str | None = None) -> None:
    """Teach the serializer a type. ``encode(obj)`` returns a value that is itself
    serialized (so it may hold any supported value); ``decode`` gets that value back
    and returns the object. ``name`` (default ``module.qualname``) is stored in the data."""
    if not isinstance(cls, type):
        raise TypeError(f"register_type expects a class, got {cls!r}")
    if not (callable(encode) and callable(decode)):
        raise TypeError("register_type: encode and decode must be callables")
    name = name or f"{cls.__module__}.{cls.__qualname__}"
    old = _REGISTRY.get(name)
    if old is not None and old[0] is not cls:
        _REGISTERED.pop(old[0], None)
        inert.TRUSTED.discard(old[0])
    _REGISTRY[name] = (cls, encode, decode)
    _REGISTERED[cls] = name
    inert.TRUSTED.add(cls)


def register_zone(*zones: "str | zoneinfo.ZoneInfo") -> None:
    """Let ``loads`` revive these named time zones (keys or ``ZoneInfo`` objects).

    Loading never reads the tz database, so a checkpoint holding a datetime in
    ``Europe/Paris`` can only be read in a process that has that zone already:
    any zone ``dumps`` wrote in this process is known; for others (reading an
    old thread in a new process) call ``register_zone("Europe/Paris")`` first.
    """
    for z in zones:
        tz = zoneinfo.ZoneInfo(z) if type(z) is str else z
        if type(tz) is not zoneinfo.ZoneInfo or tz.key is None:
            raise TypeError(f"register_zone expects zone keys or zoneinfo.ZoneInfo objects, got {z!r}")
        _ZONES[tz.key] = tz


class _Fail(Exception):
    """Internal: an unsupported value; containers add their path segment on the way out."""

    def __init__(self, obj: Any, why: str = ""):
        self.obj, self.why, self.path = obj, why, []


def _tname(t: type) -> str:
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', getattr(t, '__name__', '?'))}"


def _seg(k: Any) -> str:
    return f"[{json.dumps(k, ensure_ascii=False)}]" if type(k) is str else f"[{summarize(k, 40)}]"


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: Any) -> bytes:
    if type(s) is not str:
        raise ValueError("expected base64 text")
    return base64.b64decode(s, validate=True)


def _ref(cls: type, obj: Any) -> str:
    """``module:qualname`` of a class, checked to be findable again by loads()."""
    mod, qual = cls.__module__, cls.__qualname__
    if "<locals>" in qual:
        raise _Fail(obj, "it is defined inside a function (<locals>), so it could never be found "
                         "again when loading; define the class at module level")
    if not inert.is_class(inert.lookup(mod, qual)):
        raise _Fail(obj, f"its class cannot be found again as {mod}:{qual}")
    return f"{mod}:{qual}"


def _refuse(ref: Any, kind: str, why: str) -> DeserializationError:
    return DeserializationError(
        f"refusing to revive {ref!r} as a {kind}: {why}. Checkpoints only revive dataclasses, "
        f"pydantic models, Enum and NamedTuple classes that are already imported, and types "
        f"registered with nbflow.serde.register_type; import the module that defines it "
        f"(nbflow never imports modules while loading), or register it with "
        f"nbflow.serde.register_type.")


def _resolve(ref: Any, kind: str, ok: Callable[[type], bool]) -> type:
    if type(ref) is not str or ref.count(":") != 1:
        raise DeserializationError(f"corrupt class reference {ref!r}")
    mod, qual = ref.split(":")
    if mod not in sys.modules:
        raise _refuse(ref, kind, f"module {mod!r} is not imported")
    if "<locals>" in qual:
        raise _refuse(ref, kind, "it names a class local to a function")
    cls = inert.lookup(mod, qual)
    if cls is None:
        raise _refuse(ref, kind, f"module {mod!r} has no attribute {qual!r}")
    if not inert.is_class(cls) or not ok(cls):
        raise _refuse(ref, kind, f"it is a {type(cls).__name__}, not a {kind}")
    return cls


def _need(name: str) -> Any:
    mod = sys.modules.get(name)
    if mod is None:
        raise DeserializationError(f"the checkpoint holds a {name} value but {name} is not imported; "
                                   f"`import {name}` before loading (nbflow never imports modules while loading)")
    return mod


def _is_model(c: type) -> bool:
    return inert.is_model_class(c)


def _is_dataclass(c: type) -> bool:
    return type(class_attr(c, "__dataclass_fields__")) is dict


def _is_enum(c: type) -> bool:
    return enum.Enum in mro(c)


def _is_namedtuple(c: type) -> bool:
    return tuple in mro(c) and class_has(c, "_fields")


class Serializer:
    """JSON-with-tags checkpoint serializer. See the module docstring for the format.

    ``limits`` (default :data:`nbflow.inert.LIMITS`) bound every payload, at
    write and at read time alike.
    """

    def __init__(self, limits: Limits = LIMITS) -> None:
        self.limits = limits
        self._max_int = 1 << limits.int_bits

    # ------------------------------------------------------------------ dumps
    def dumps(self, obj: Any) -> bytes:
        t = type(obj)
        if t is int and -_BIG < obj < _BIG:
            return int.__repr__(obj).encode()
        try:
            data = inert.on_fresh_stack(self._dumps, obj)
        except _Fail as e:
            path = "$" + "".join(reversed(e.path))
            why = f" ({e.why})" if e.why else ""
            raise SerializationError(
                f"cannot serialize a value of type {_tname(type(e.obj))} at {path}{why}; "
                f"checkpoints store plain data: {_HINT}") from None
        except RecursionError:
            raise SerializationError(
                f"cannot serialize a value of type {_tname(t)}: it nests more than {self.limits.depth} "
                f"levels deep (the depth limit) or contains a reference cycle; nothing was stored. "
                f"Store a flatter value (e.g. a list of records instead of nested dicts)") from None
        try:
            inert.check_document(data, self.limits)
        except LimitExceeded as e:
            raise SerializationError(
                f"cannot serialize a value of type {_tname(t)}: {e}, so it could not be read back; "
                f"nothing was stored. Store a flatter or smaller value") from None
        return data

    def _dumps(self, obj: Any) -> bytes:
        t = type(obj)
        enc = obj if t is str or t is bool or obj is None else self._enc(obj)
        text = _JSON.encode(enc)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: fall back to \\u escapes
            return _JSON_ASCII.encode(enc).encode("ascii")

    def _enc(self, o: Any) -> Any:
        t = type(o)
        if t is str or t is bool or o is None:
            return o
        if t is int:
            if -_BIG < o < _BIG:
                return o
            if not -self._max_int < o < self._max_int:
                raise _Fail(o, f"the integer has more than {self.limits.digits} digits (the digits limit)")
            return {TAG: "int", "v": format(o, "x")}
        if t is float:
            return o if o - o == 0.0 else {TAG: "float", "v": repr(o)}
        if t is list:
            return self._seq(o)
        if t is dict:
            enc, out, k = self._enc, {}, None
            try:
                for k, v in o.items():
                    if type(k) is not str or k == TAG:
                        break
                    out[k] = enc(v)
                else:
                    return out
            except _Fail as e:
                e.path.append(_seg(k))
                raise
            return {TAG: "dict", "v": self._pairs(o)}
        fn = _ENCODERS.get(t)
        if fn is not None:
            return fn(self, o)
        return self._enc_other(o, t)

    def _seq(self, o: Any) -> list:
        enc, out = self._enc, []
        try:
            for x in o:
                out.append(enc(x))
        except _Fail as e:
            e.path.append(f"[{len(out)}]")
            raise
        return out

    def _pairs(self, o: Any) -> list:
        enc, out = self._enc, []
        for k, v in o.items():
            try:
                if type(k) is not str and not hash_safe(k):
                    raise _Fail(k, _UNHASHABLE)
                ek = enc(k)
            except _Fail as e:
                e.path.append(f".keys()[{len(out)}]")
                raise
            try:
                out.append([ek, enc(v)])
            except _Fail as e:
                e.path.append(_seg(k))
                raise
        return out

    def _unordered(self, o: Any) -> list:
        for i, x in enumerate(o):
            if not hash_safe(x):
                e = _Fail(x, _UNHASHABLE)
                e.path.append(f"<member {i}>")
                raise e
        return sorted(self._seq(o), key=_JSON.encode)  # same bytes whatever the set's iteration order

    def _fields(self, d: dict) -> Any:
        enc, out = self._enc, {}
        for k, v in d.items():
            try:
                out[k] = enc(v)
            except _Fail as e:
                e.path.append(f".{k}")
                raise
        return out if TAG not in out else {TAG: "dict", "v": [[k, v] for k, v in out.items()]}

    def _tz(self, tz: Any) -> Any:
        if tz is None:
            return None
        if type(tz) is _dt.timezone:
            off = tz.utcoffset(None)
            d: dict = {TAG: "tz", "offset": [off.days, off.seconds, off.microseconds]}
            if tz.tzname(None) != _dt.timezone(off).tzname(None):
                d["name"] = tz.tzname(None)
            return d
        if type(tz) is zoneinfo.ZoneInfo and tz.key is not None:
            _ZONES.setdefault(tz.key, tz)
            return {TAG: "tz", "zone": tz.key}
        raise _Fail(tz, "only datetime.timezone and zoneinfo.ZoneInfo time zones are supported")

    def _enc_other(self, o: Any, t: type) -> Any:
        name = _REGISTERED.get(t)
        if name is not None:
            try:
                v = _REGISTRY[name][1](o)
            except _Fail:
                raise
            except Exception as ex:
                raise _Fail(o, f"its register_type encoder raised {ex!r}") from None
            return {TAG: "ext", "name": name, "v": self._enc(v)}
        if isinstance(o, enum.Enum):
            if not hash_safe(o._value_):
                raise _Fail(o, "its value is not one nbflow can look up without running your code; "
                               + _UNHASHABLE.replace("set members and non-str dict keys", "enum values"))
            return {TAG: "enum", "cls": _ref(t, o), "v": self._enc(o._value_)}
        if isinstance(o, tuple) and hasattr(t, "_fields"):
            return {TAG: "namedtuple", "cls": _ref(t, o), "v": self._seq(o)}
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            ref = _ref(t, o)
            init, rest = {}, {}
            for f in dataclasses.fields(o):
                if hasattr(o, f.name):
                    (init if f.init else rest)[f.name] = getattr(o, f.name)
            d = {TAG: "dataclass", "cls": ref, "f": self._fields(init)}
            if rest:
                d["nf"] = self._fields(rest)
            return d
        if hasattr(t, "__pydantic_fields__") and _is_model(t):
            ref = _ref(t, o)
            if getattr(t, "__pydantic_root_model__", False):
                return {TAG: "pydantic", "cls": ref, "root": self._enc(o.root)}
            vals = {k: getattr(o, k) for k in t.__pydantic_fields__}
            vals.update(o.__pydantic_extra__ or {})
            d = {TAG: "pydantic", "cls": ref, "f": self._fields(vals)}
            if o.__pydantic_private__:
                d["p"] = self._fields(o.__pydantic_private__)
            return d
        np = sys.modules.get("numpy")
        if np is not None and (t is np.ndarray or isinstance(o, np.generic)):
            kind = o.dtype.kind
            if kind == "O" and t is np.ndarray:
                return {TAG: "ndarray", "dtype": "O", "shape": list(o.shape), "v": self._seq(o.ravel())}
            if kind not in "biufcUSMm":
                raise _Fail(o, f"numpy dtype {o.dtype} is not supported")
            if t is not np.ndarray:
                return {TAG: "npscalar", "dtype": o.dtype.str, "v": _b64(o.tobytes())}
            return {TAG: "ndarray", "dtype": o.dtype.str, "shape": list(o.shape),
                    "v": _b64(np.ascontiguousarray(o).tobytes())}
        pd = sys.modules.get("pandas")
        if pd is not None and t.__module__.startswith("pandas"):
            return self._enc_pandas(o, t, pd, np)
        raise _Fail(o)

    def _decimal(self, o: decimal.Decimal) -> str:
        text = str(o)
        if len(text) > self.limits.digits:
            raise _Fail(o, f"the Decimal has more than {self.limits.digits} digits (the digits limit)")
        return text

    # ----------------------------------------------------------------- pandas
    def _enc_pandas(self, o: Any, t: type, pd: Any, np: Any) -> Any:
        if t is pd.DataFrame:
            cols = []
            for i in range(o.shape[1]):
                try:
                    cols.append(self._pd_arr(o.iloc[:, i], pd, np))
                except _Fail as e:
                    e.path.append(f".iloc[:, {i}]")
                    raise
            return {TAG: "dataframe", "index": self._pd_index(o.index, pd, np),
                    "columns": self._pd_index(o.columns, pd, np), "data": cols}
        if t is pd.Series:
            return {TAG: "series", "index": self._pd_index(o.index, pd, np), "name": self._enc(o.name),
                    "v": self._pd_arr(o, pd, np)}
        if isinstance(o, pd.Index):
            return self._pd_index(o, pd, np)
        if t is pd.Timestamp:
            return {TAG: "pdts", "v": self._enc(o.to_datetime64()), "tz": self._tz(o.tz)}
        if t is pd.Timedelta:
            return {TAG: "pdtd", "v": self._enc(o.to_timedelta64())}
        if o is pd.NaT:
            return {TAG: "pdnat"}
        raise _Fail(o)

    def _pd_index(self, ix: Any, pd: Any, np: Any) -> dict:
        if type(ix) is pd.RangeIndex:
            return {TAG: "pdindex", "range": [ix.start, ix.stop, ix.step], "name": self._enc(ix.name)}
        if isinstance(ix, pd.MultiIndex):
            return {TAG: "pdindex", "levels": [self._pd_index(lv, pd, np) for lv in ix.levels],
                    "codes": [self._enc(np.asarray(c)) for c in ix.codes], "names": self._seq(ix.names)}
        d = {TAG: "pdindex", "v": self._pd_arr(ix, pd, np), "name": self._enc(ix.name)}
        if isinstance(ix, (pd.DatetimeIndex, pd.TimedeltaIndex)) and ix.freqstr:
            d["freq"] = ix.freqstr
        return d

    def _pd_arr(self, x: Any, pd: Any, np: Any) -> Any:
        dt = x.dtype
        if isinstance(dt, np.dtype):
            return self._enc(np.asarray(x.to_numpy()))
        if isinstance(dt, pd.CategoricalDtype):
            return {TAG: "pdarr", "k": "cat", "codes": self._enc(np.asarray(x.array.codes)),
                    "cats": self._pd_index(dt.categories, pd, np), "ordered": bool(dt.ordered)}
        if isinstance(dt, pd.DatetimeTZDtype):
            utc = np.asarray(x.array.tz_convert("UTC").tz_localize(None))
            return {TAG: "pdarr", "k": "dttz", "tz": self._tz(dt.tz), "v": self._enc(utc)}
        if isinstance(dt, pd.StringDtype):
            name = "string" if dt.na_value is pd.NA else "str"
        elif dt.name in _PD_EXT:
            name = dt.name
        else:
            raise _Fail(x, f"pandas dtype {dt} is not supported")
        vals = list(x.array.to_numpy(dtype=object, na_value=None))
        return {TAG: "pdarr", "k": "ext", "dtype": name, "v": self._seq(vals)}

    # ------------------------------------------------------------------ loads
    def loads(self, data: bytes | bytearray | memoryview | str) -> Any:
        if type(data) is not Stored:
            return self._loads(data)
        try:  # a saver's row: a refusal names it, and its kind fixes the top-level type
            obj = self._loads(data)
        except DeserializationError as e:
            raise DeserializationError(f"cannot read {data.origin}: {e}") from None
        if data.expect is not None and type(obj) is not data.expect:
            raise DeserializationError(f"cannot read {data.origin}: it holds a {type(obj).__name__}, not a "
                                       f"{data.expect.__name__}; the row was not written by nbflow or is damaged")
        return obj

    def _loads(self, data: Any) -> Any:
        t = type(data)
        if t is bytes or t is Stored:
            raw = data
        elif t is str:
            raw = data.encode("utf-8", "surrogatepass")
        elif t is bytearray or t is memoryview:
            raw = bytes(data)
        else:
            raise DeserializationError(f"corrupt checkpoint data: the stored payload is a {t.__name__}, "
                                       "not bytes or text")
        try:
            inert.check_document(raw, self.limits)
            text = data if t is str else raw.decode()
            if _TAG_JSON not in text:
                return inert.on_fresh_stack(_parse_plain, text)
            return inert.on_fresh_stack(self._parse_tagged, text)
        except DeserializationError:
            raise
        except LimitExceeded as ex:
            raise DeserializationError(f"checkpoint data refused: {ex}") from None
        except RecursionError:
            raise DeserializationError(f"checkpoint data is too deeply nested (the depth limit is "
                                       f"{self.limits.depth})") from None
        except (ValueError, TypeError) as ex:
            raise DeserializationError(f"corrupt checkpoint data: {inert.describe_exception(ex)}") from None

    def _parse_tagged(self, text: str) -> Any:
        return json.loads(text, object_hook=self._hook)

    def _hook(self, d: dict) -> Any:
        tag = d.get(TAG)
        if tag is None:
            return d
        fn = _DECODERS.get(tag) if type(tag) is str else None
        if fn is None:
            raise DeserializationError(f"corrupt checkpoint data: unknown tag {summarize(tag, 40)}")
        try:
            return fn(self, d)
        except (DeserializationError, RecursionError):
            raise
        except Exception as ex:
            raise DeserializationError(f"cannot rebuild a {tag!r} value from the checkpoint: "
                                       f"{inert.describe_exception(ex)}") from None

def _parse_plain(text: str) -> Any:
    try:  # the C scanner alone: our own output has no surrounding whitespace
        obj, end = _SCAN(text, 0)
    except StopIteration:
        obj, end = None, -1
    return obj if end == len(text) else _PLAIN.decode(text)


# ---------------------------------------------------------------- encoders
def _clock(s: Serializer, tag: str, o: Any, v: list) -> dict:
    d = {TAG: tag, "v": v + [o.hour, o.minute, o.second, o.microsecond], "tz": s._tz(o.tzinfo)}
    return {**d, "fold": 1} if o.fold else d


_ENCODERS: dict[type, Callable[[Serializer, Any], Any]] = {
    tuple: lambda s, o: {TAG: "tuple", "v": s._seq(o)},
    set: lambda s, o: {TAG: "set", "v": s._unordered(o)},
    frozenset: lambda s, o: {TAG: "frozenset", "v": s._unordered(o)},
    bytes: lambda s, o: {TAG: "bytes", "v": _b64(o)},
    bytearray: lambda s, o: {TAG: "bytearray", "v": _b64(o)},
    complex: lambda s, o: {TAG: "complex", "v": [s._enc(o.real), s._enc(o.imag)]},
    _dt.datetime: lambda s, o: _clock(s, "datetime", o, [o.year, o.month, o.day]),
    _dt.date: lambda s, o: {TAG: "date", "v": o.isoformat()},
    _dt.time: lambda s, o: _clock(s, "time", o, []),
    _dt.timedelta: lambda s, o: {TAG: "timedelta", "v": [o.days, o.seconds, o.microseconds]},
    _dt.timezone: lambda s, o: s._tz(o),
    zoneinfo.ZoneInfo: lambda s, o: s._tz(o),
    uuid.UUID: lambda s, o: {TAG: "uuid", "v": o.hex},
    decimal.Decimal: lambda s, o: {TAG: "decimal", "v": s._decimal(o)},
    collections.OrderedDict: lambda s, o: {TAG: "odict", "v": s._pairs(o)},
    collections.Counter: lambda s, o: {TAG: "counter", "v": s._pairs(o)},
    collections.deque: lambda s, o: {TAG: "deque", "v": s._seq(o), "maxlen": o.maxlen},
    **{c: (lambda s, o: {TAG: "path", "cls": type(o).__name__, "v": str(o)}) for c in _PATHS.values()},
}


# ---------------------------------------------------------------- decoders
# Every decoder checks the type of each field before using it: a field holding
# an already-decoded object of another class must never reach a call that would
# run that class's methods (__iter__, __float__, __index__, __str__, __hash__...).
def _bad(what: str, value: Any) -> ValueError:
    return ValueError(f"expected {what}, found a {type(value).__name__}")


def _field(d: dict, key: str, *types_: type) -> Any:
    v = d[key]
    if type(v) not in types_:
        raise _bad(" or ".join(t.__name__ for t in types_) + f" in {key!r}", v)
    return v


def _ok(value: Any, good: bool) -> Any:
    if not good:
        raise ValueError(f"bad value {summarize(value, 60)}")
    return value


def _safe_keys(items: list) -> list:
    for k, _ in items:
        if type(k) is not str and not hash_safe(k):
            raise _refuse(_tname(type(k)), "dict key", _UNHASHABLE)
    return items


def _pairs(v: Any) -> list:
    if type(v) is not list:
        raise _bad("a list of pairs", v)
    out = []
    for p in v:
        if type(p) is not list or len(p) != 2:
            raise _bad("a [key, value] pair", p)
        out.append((p[0], p[1]))
    return _safe_keys(out)


def _members(v: Any) -> list:
    if type(v) is not list:
        raise _bad("a list", v)
    for x in v:
        if not hash_safe(x):
            raise _refuse(_tname(type(x)), "set member", _UNHASHABLE)
    return v


def _ints(v: Any) -> list[int]:
    if type(v) is not list:
        raise _bad("a list of integers", v)
    return [_ok(x, type(x) is int) for x in v]


def _int_or(d: dict, key: str, default: int) -> int:
    v = d.get(key, default)
    return _ok(v, type(v) is int)


def _real(v: Any) -> float:
    return float(_ok(v, type(v) is float or type(v) is int))


def _tzinfo(v: Any) -> Any:
    if v is not None and type(v) is not _dt.timezone and type(v) is not zoneinfo.ZoneInfo:
        raise _bad("a time zone", v)
    return v


def _dec_tz(s: Serializer, d: dict) -> Any:
    if "zone" in d:
        key = d["zone"]
        if type(key) is not str or not _ZONE_RE.fullmatch(key) or ".." in key:
            raise ValueError(f"bad time zone key {summarize(key, 60)}")
        tz = _ZONES.get(key)
        if tz is None:
            raise DeserializationError(
                f"the checkpoint holds a datetime in time zone {key!r}, which this process has not loaded; "
                f"nbflow never reads the tz database while loading: call "
                f"nbflow.serde.register_zone({key!r}) before reading")
        return tz
    off = _dt.timedelta(*_ints(d["offset"]))
    return _dt.timezone(off, _field(d, "name", str)) if "name" in d else _dt.timezone(off)


def _dec_path(s: Serializer, d: dict) -> Any:
    cls = _PATHS.get(d["cls"]) if type(d["cls"]) is str else None
    if cls is None:
        raise _refuse(d["cls"], "path class", "only pathlib path classes are allowed")
    return cls(_field(d, "v", str))


def _dec_decimal(s: Serializer, d: dict) -> Any:
    text = _field(d, "v", str)
    if len(text) > s.limits.digits:
        raise LimitExceeded("digits", f"a Decimal of {len(text)} characters is over the digits limit "
                                      f"({s.limits.digits})")
    return decimal.Decimal(text)


def _dec_int(s: Serializer, d: dict) -> int:
    text = _field(d, "v", str)
    if len(text) > s.limits.int_bits // 4 + 2:
        raise LimitExceeded("digits", f"an integer over the digits limit ({s.limits.digits})")
    return int(_ok(text, _HEX_INT.fullmatch(text) is not None), 16)


def _dec_dataclass(s: Serializer, d: dict) -> Any:
    cls = _resolve(d["cls"], "dataclass", _is_dataclass)
    obj = cls(**_field(d, "f", dict))
    nf = d.get("nf") or {}
    if type(nf) is not dict:
        raise _bad("a dict in 'nf'", nf)
    fields = class_attr(cls, "__dataclass_fields__")
    for k, v in nf.items():
        f = fields.get(k)
        _ok(k, f is not None and f.init is False)  # only real init=False fields
        object.__setattr__(obj, k, v)
    return obj


def _dec_pydantic(s: Serializer, d: dict) -> Any:
    cls = _resolve(d["cls"], "pydantic model", _is_model)
    if vars(cls).get("__pydantic_complete__") is not True:
        raise _refuse(d["cls"], "pydantic model", "the model class is not fully built (it has "
                      "unresolved forward references); call its model_rebuild() before loading")
    if "root" in d:
        return cls.model_validate(d["root"])
    config = class_attr(cls, "model_config") or {}
    fields = class_attr(cls, "__pydantic_fields__") or {}
    by_alias = config.get("validate_by_alias", True)
    data = {}
    for k, v in _field(d, "f", dict).items():
        f = fields.get(k)
        alias = f and (f.validation_alias if type(f.validation_alias) is str else f.alias)
        data[alias if by_alias and type(alias) is str else k] = v
    obj = cls.model_validate(data)
    private = d.get("p") or {}
    if private:
        allowed = class_attr(cls, "__private_attributes__") or {}
        store = object.__getattribute__(obj, "__pydantic_private__")
        if type(private) is not dict or type(store) is not dict:
            raise _bad("private attributes", private)
        for k, v in private.items():
            store[_ok(k, k in allowed)] = v
    return obj


def _dec_enum(s: Serializer, d: dict) -> Any:
    cls = _resolve(d["cls"], "Enum class", _is_enum)
    v = d["v"]
    if not hash_safe(v):
        raise _refuse(d["cls"], "Enum member", "its stored value is not a plain value")
    member = (class_attr(cls, "_value2member_map_") or {}).get(v)
    if member is not None:
        return member
    flag_missing = class_attr(cls, "_missing_")
    if (enum.Flag in mro(cls) and type(v) is int
            and getattr(flag_missing, "__func__", None) is vars(enum.Flag)["_missing_"].__func__):
        return cls(v)  # a combination of flags: the stock Flag._missing_ builds it
    for m in (class_attr(cls, "_member_map_") or {}).values():  # members with unhashable-by-map values
        if type(m._value_) is type(v) and m._value_ == v:
            return m
    raise ValueError(f"{d['cls']} has no member with value {summarize(v, 60)}")


def _dec_namedtuple(s: Serializer, d: dict) -> Any:
    cls = _resolve(d["cls"], "NamedTuple class", _is_namedtuple)
    return cls(*_field(d, "v", list))


def _dec_ext(s: Serializer, d: dict) -> Any:
    name = d["name"]
    if type(name) is not str or name not in _REGISTRY:
        raise _refuse(name, "registered type", "no type is registered under that name")
    return _REGISTRY[name][2](d["v"])


def _np_dtype(np: Any, s: Any) -> Any:
    if type(s) is not str or not _DTYPE_RE.fullmatch(s):
        raise _refuse(s, "numpy dtype", "only numeric, bool, str, bytes and datetime dtypes are allowed")
    return np.dtype(s)


def _dec_ndarray(s: Serializer, d: dict) -> Any:
    np = _need("numpy")
    shape = tuple(_ok(n, n >= 0) for n in _ints(d["shape"]))
    if d["dtype"] == "O":
        items = _field(d, "v", list)
        if math.prod(shape) != len(items):
            raise ValueError("array size does not match its shape")
        arr = np.empty(len(items), dtype=object)
        for i, x in enumerate(items):
            arr[i] = x
        return arr.reshape(shape)
    dtype, raw = _np_dtype(np, d["dtype"]), _unb64(d["v"])
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise ValueError("array size does not match its shape")
    if not dtype.itemsize and math.prod(shape) > s.limits.size:
        raise LimitExceeded("size", "an array over the size limit")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy() if dtype.itemsize else np.empty(shape, dtype)


def _dec_npscalar(s: Serializer, d: dict) -> Any:
    np = _need("numpy")
    dtype, raw = _np_dtype(np, d["dtype"]), _unb64(d["v"])
    if len(raw) != dtype.itemsize or not raw:
        raise ValueError("scalar size does not match its dtype")
    return np.frombuffer(raw, dtype=dtype)[0].copy()


def _ndarray(v: Any) -> Any:
    np = _need("numpy")
    if type(v) is not np.ndarray:
        raise _bad("an array", v)
    return v


def _array(v: Any) -> Any:
    """A numpy array or a pandas extension array (both built by our own decoders)."""
    if type(v).__module__.partition(".")[0] not in ("numpy", "pandas") or not hasattr(type(v), "dtype"):
        raise _bad("an array", v)
    return v


def _label(v: Any) -> Any:
    """An index / series / column name: pandas hashes it."""
    if not hash_safe(v):
        raise _refuse(_tname(type(v)), "pandas label", _UNHASHABLE)
    return v


def _dec_pdarr(s: Serializer, d: dict) -> Any:
    pd, np = _need("pandas"), _need("numpy")
    if d["k"] == "cat":
        cats = d["cats"]
        if not isinstance(cats, pd.Index):
            raise _bad("an index", cats)
        return pd.Categorical.from_codes(_ndarray(d["codes"]),
                                         dtype=pd.CategoricalDtype(cats, ordered=d["ordered"] is True))
    if d["k"] == "dttz":
        return pd.Series(_ndarray(d["v"])).dt.tz_localize("UTC").dt.tz_convert(_ok(d["tz"], d["tz"] is not None
                                                                                      and _tzinfo(d["tz"]))).array
    name = d["dtype"]
    if type(name) is not str or (name not in _PD_EXT and name not in ("str", "string")):
        raise _refuse(name, "pandas dtype", "it is not one of the supported extension dtypes")
    dtype = {"str": pd.StringDtype("python", na_value=np.nan), "string": pd.StringDtype("python")}.get(name, name)
    return pd.array(_members(d["v"]), dtype=dtype)


def _dec_pdindex(s: Serializer, d: dict) -> Any:
    pd = _need("pandas")
    if "range" in d:
        return pd.RangeIndex(*_ints(d["range"]), name=_label(d["name"]))
    if "levels" in d:
        levels = _field(d, "levels", list)
        for lv in levels:
            if not isinstance(lv, pd.Index):
                raise _bad("an index", lv)
        return pd.MultiIndex(levels=levels, codes=[_ndarray(c) for c in _field(d, "codes", list)],
                             names=[_label(n) for n in _field(d, "names", list)])
    v, freq = _array(d["v"]), d.get("freq")
    if v.dtype.kind == "O":
        _members(list(v))
    if freq is not None:
        cls = pd.TimedeltaIndex if v.dtype.kind == "m" else pd.DatetimeIndex
        return cls(v, freq=_ok(freq, type(freq) is str), name=_label(d["name"]))
    return pd.Index(v, dtype=v.dtype, name=_label(d["name"]))


def _dec_dataframe(s: Serializer, d: dict) -> Any:
    pd, idx = _need("pandas"), d["index"]
    if not isinstance(idx, pd.Index) or not isinstance(d["columns"], pd.Index):
        raise _bad("an index", idx)
    cols = {}
    for i, v in enumerate(_field(d, "data", list)):
        cols[i] = pd.Series(_array(v), index=idx, dtype=v.dtype)
    df = pd.DataFrame(cols, index=idx)
    df.columns = d["columns"]
    return df


def _dec_series(s: Serializer, d: dict) -> Any:
    pd, v, idx = _need("pandas"), _array(d["v"]), d["index"]
    if not isinstance(idx, pd.Index):
        raise _bad("an index", idx)
    return pd.Series(v, index=idx, name=_label(d["name"]), dtype=v.dtype)


def _dec_pdts(s: Serializer, d: dict) -> Any:
    np = _need("numpy")
    ts = _need("pandas").Timestamp(_ok(d["v"], type(d["v"]) is np.datetime64))
    return ts if d["tz"] is None else ts.tz_localize("UTC").tz_convert(_tzinfo(d["tz"]))


def _dec_pdtd(s: Serializer, d: dict) -> Any:
    np = _need("numpy")
    return _need("pandas").Timedelta(_ok(d["v"], type(d["v"]) is np.timedelta64))


def _dec_float(s: Serializer, d: dict) -> float:
    return float(_ok(d["v"], type(d["v"]) is str and d["v"] in ("nan", "inf", "-inf")))


def _dec_clock(cls: type) -> Callable[[Serializer, dict], Any]:
    return lambda s, d: cls(*_ints(d["v"]), tzinfo=_tzinfo(d["tz"]), fold=_int_or(d, "fold", 0))


def _dec_deque(s: Serializer, d: dict) -> Any:
    maxlen = d["maxlen"]
    return collections.deque(_field(d, "v", list), None if maxlen is None else _ok(maxlen, type(maxlen) is int))


_DECODERS: dict[str, Callable[[Serializer, dict], Any]] = {
    "int": _dec_int,
    "float": _dec_float,
    "dict": lambda s, d: dict(_pairs(d["v"])),
    "tuple": lambda s, d: tuple(_field(d, "v", list)),
    "set": lambda s, d: set(_members(d["v"])),
    "frozenset": lambda s, d: frozenset(_members(d["v"])),
    "bytes": lambda s, d: _unb64(d["v"]),
    "bytearray": lambda s, d: bytearray(_unb64(d["v"])),
    "complex": lambda s, d: complex(*map(_real, _ok(d["v"], type(d["v"]) is list and len(d["v"]) == 2))),
    "datetime": _dec_clock(_dt.datetime),
    "date": lambda s, d: _dt.date.fromisoformat(_field(d, "v", str)),
    "time": _dec_clock(_dt.time),
    "timedelta": lambda s, d: _dt.timedelta(*_ints(d["v"])),
    "tz": _dec_tz,
    "uuid": lambda s, d: uuid.UUID(hex=_field(d, "v", str)),
    "decimal": _dec_decimal,
    "odict": lambda s, d: collections.OrderedDict(_pairs(d["v"])),
    "counter": lambda s, d: collections.Counter(dict(_pairs(d["v"]))),
    "deque": _dec_deque,
    "path": _dec_path,
    "enum": _dec_enum,
    "namedtuple": _dec_namedtuple,
    "dataclass": _dec_dataclass,
    "pydantic": _dec_pydantic,
    "ext": _dec_ext,
    "ndarray": _dec_ndarray,
    "npscalar": _dec_npscalar,
    "pdarr": _dec_pdarr,
    "pdindex": _dec_pdindex,
    "series": _dec_series,
    "dataframe": _dec_dataframe,
    "pdts": _dec_pdts,
    "pdtd": _dec_pdtd,
    "pdnat": lambda s, d: _need("pandas").NaT,
}


# ---------------------------------------------------------------- summarize
_ADDR = re.compile(r"\s+at\s+0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")


_PLAIN_SCALARS = (int, float, bool, type(None))


def summarize(obj: Any, limit: int = 80) -> str:
    """A short, deterministic, one-line preview of any value (never raises)."""
    limit = max(int(limit), 2)
    if type(obj) is tuple and len(obj) <= 4 and all(type(x) in _PLAIN_SCALARS for x in obj):
        s = repr(obj)  # fast path: task arguments are very often a few numbers
        if len(s) <= limit:
            return s
    try:
        s = _pv(obj, limit + 1, 0)
    except Exception:
        try:
            s = f"<{_tname(type(obj))}>"
        except Exception:
            s = "<?>"
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _items(parts: Any, budget: int, depth: int, fmt: Callable[[Any, int], str], sort: bool = False) -> str:
    out, used = [], 0
    if sort:
        parts = sorted((fmt(p, budget) for p in parts))
        fmt = lambda p, b: p  # noqa: E731
    for p in parts:
        if used > budget:
            out.append("…")
            break
        s = fmt(p, budget - used)
        out.append(s)
        used += len(s) + 2
    return ", ".join(out)


def _pv(o: Any, budget: int, depth: int) -> str:
    t = type(o)
    if depth > 6:
        return "…"
    sub = lambda x, b: _pv(x, b, depth + 1)  # noqa: E731
    if o is None or t in (bool, float, complex):
        return repr(o)
    if t is int:
        return repr(o) if o.bit_length() < 4000 else f"<int of {o.bit_length()} bits>"
    if t in (str, bytes, bytearray):
        return repr(o[: budget + 2]) + ("…" if len(o) > budget + 2 else "")
    if isinstance(o, enum.Enum):
        return f"{t.__name__}.{o.name}" if o.name else repr(o)
    if t is list or t is collections.deque:
        return "[" + _items(o, budget, depth, sub) + "]"
    if t is tuple:
        return "(" + _items(o, budget, depth, sub) + ("," if len(o) == 1 else "") + ")"
    if (t is set or t is frozenset) and len(o) > 200:
        return f"{t.__name__} of {len(o)} items"
    if t is set or t is frozenset:
        body = "{" + _items(o, budget, depth, sub, sort=True) + "}"
        return body if t is set and o else f"{t.__name__}({body if o else ''})"
    if isinstance(o, dict):
        body = "{" + _items(o.items(), budget, depth, lambda kv, b: f"{sub(kv[0], b)}: {sub(kv[1], b)}") + "}"
        return body if t is dict else f"{t.__name__}({body})"
    if isinstance(o, tuple) and hasattr(t, "_fields"):
        return f"{t.__name__}(" + _items(zip(t._fields, o), budget, depth, lambda kv, b: f"{kv[0]}={sub(kv[1], b)}") + ")"
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        fs = [(f.name, getattr(o, f.name, "?")) for f in dataclasses.fields(o) if f.repr]
        return f"{t.__name__}(" + _items(fs, budget, depth, lambda kv, b: f"{kv[0]}={sub(kv[1], b)}") + ")"
    if hasattr(t, "__pydantic_fields__") and _is_model(t):
        fs = [(k, getattr(o, k, "?")) for k in t.__pydantic_fields__]
        return f"{t.__name__}(" + _items(fs, budget, depth, lambda kv, b: f"{kv[0]}={sub(kv[1], b)}") + ")"
    if isinstance(o, (_dt.datetime, _dt.date, _dt.time)):
        return f"{t.__name__}({o.isoformat()})"
    mod = getattr(t, "__module__", "") or ""
    if mod.startswith("numpy") and hasattr(o, "shape") and hasattr(o, "dtype") and o.shape:
        return f"{t.__name__}(shape={tuple(o.shape)}, dtype={o.dtype})"
    if mod.startswith("pandas") and t.__name__ == "DataFrame":
        cols = _items(o.columns, budget, depth, lambda c, b: str(c)[:b])
        return f"DataFrame({o.shape[0]} rows × {o.shape[1]} columns: {cols})"
    if mod.startswith("pandas") and t.__name__ == "Series":
        return f"Series(name={o.name!r}, {len(o)} rows, dtype={o.dtype})"
    s = repr(o)
    return " ".join(_ADDR.sub("", s).split())


default_serializer = Serializer()
dumps = default_serializer.dumps
loads = default_serializer.loads
