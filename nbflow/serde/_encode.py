"""The checkpoint serializer: owns the byte format of every value nbflow stores
(task results, inputs, state) and the one-line previews shown for them.

Pure module (no I/O).  Public API: :class:`Serializer` (``dumps``/``loads``),
:data:`default_serializer`, :func:`dumps`, :func:`loads`, :func:`register_type`,
:func:`register_zone`, :func:`summarize` (from :mod:`nbflow.serde.preview`).  This
module owns the encoders and the two entry points; the decoders live in
:mod:`nbflow.serde._decode`, the limits and lookup primitives in :mod:`nbflow.serde.inert`.

Format: UTF-8 JSON.  JSON-native values (str, bool, None, finite float, int,
list, dict with str keys) are written as themselves; everything else becomes a
tagged object ``{"__nb__": "<tag>", ...}``, e.g. ``{"__nb__": "tuple", "v": [..]}``.
A user dict that has non-str keys or contains the ``"__nb__"`` key is written as
``{"__nb__": "dict", "v": [[k, v], ...]}``.  User classes are named by
``"module:qualname"``.

Security (the rule is stated in :mod:`nbflow.serde.inert`): no pickle, no eval.
``loads`` never imports a module, opens a file or a socket, and calls no
user-defined method but the constructor of an allowed class.  A class named in
the data is found only through ``sys.modules`` and plain ``__dict__`` lookups,
and is revived only if it really is a dataclass, a pydantic model, an Enum, a
NamedTuple, or a type registered with :func:`register_type`; anything else is
refused with :class:`~nbflow.errors.DeserializationError`.  Every decoder checks
the types of its fields before using them, sets and non-str dict keys are only
built from values whose hashing runs no user code (:func:`nbflow.serde.inert.hash_safe`),
and named time zones are only those already loaded in this process
(:func:`register_zone`).  numpy / pandas / pydantic are never imported here:
they are used only if already in ``sys.modules``.  ``dumps`` checks every
payload against the same :data:`nbflow.serde.inert.LIMITS` that ``loads`` applies, so
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
import sys
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from ..errors import DeserializationError, SerializationError
from . import _decode, inert
from .inert import LIMITS, LimitExceeded, Limits, Stored, hash_safe
from .preview import summarize, type_name

__all__ = ["Serializer", "default_serializer", "dumps", "loads", "register_type", "register_zone",
           "summarize", "TAG"]

TAG = "__nb__"
_TAG_JSON = '"__nb__"'
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
_JSON_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False, check_circular=False)
_PLAIN = json.JSONDecoder()
_SCAN = _PLAIN.scan_once  # type: ignore[attr-defined]
# Larger ints are written in hex: 639 digits are under the lowest limit Python lets
# anyone set for decimal int parsing (sys.set_int_max_str_digits accepts >= 640).
_BIG = 10 ** 639
_HINT = ("return plain data (dict/list/str/number), a dataclass, a pydantic model, "
         "or teach nbflow the type with nbflow.serde.register_type(cls, encode=..., decode=...)")

# The shared state lives with the decoders; cls -> name is the encoder's own.
_REGISTRY = _decode.REGISTRY
_ZONES = _decode.ZONES
_DECODERS = _decode.DECODERS
_PATHS = _decode.PATHS
_PD_EXT = _decode.PD_EXT
_UNHASHABLE = _decode.UNHASHABLE
_REGISTERED: dict[type, str] = {}
_tname = type_name


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


def register_zone(*zones: str | zoneinfo.ZoneInfo) -> None:
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
        self.obj, self.why = obj, why
        self.path: list[str] = []


def _seg(k: Any) -> str:
    return f"[{json.dumps(k, ensure_ascii=False)}]" if type(k) is str else f"[{summarize(k, 40)}]"


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _ref(cls: type, obj: Any) -> str:
    """``module:qualname`` of a class, checked to be findable again by loads()."""
    mod, qual = cls.__module__, cls.__qualname__
    if "<locals>" in qual:
        raise _Fail(obj, "it is defined inside a function (<locals>), so it could never be found "
                         "again when loading; define the class at module level")
    if not inert.is_class(inert.lookup(mod, qual)):
        raise _Fail(obj, f"its class cannot be found again as {mod}:{qual}")
    return f"{mod}:{qual}"


class Serializer:
    """JSON-with-tags checkpoint serializer. See the module docstring for the format.

    ``limits`` (default :data:`nbflow.serde.inert.LIMITS`) bound every payload, at
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
                    tv = type(v)  # plain strings, small ints and flags as they are, without a call
                    out[k] = v if tv is str or tv is bool or v is None or (tv is int and -_BIG < v < _BIG) \
                        else enc(v)
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
                tx = type(x)
                out.append(x if tx is str or tx is bool or x is None or (tx is int and -_BIG < x < _BIG) else enc(x))
        except _Fail as e:
            e.path.append(f"[{len(out)}]")
            raise
        return out

    def _pairs(self, o: Any) -> list:
        enc = self._enc
        out: list[Any] = []
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
            except Exception as ex:  # noqa: BLE001 - any encoder failure becomes a SerializationError
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
            init: dict[str, Any] = {}
            rest: dict[str, Any] = {}
            for f in dataclasses.fields(o):
                if hasattr(o, f.name):
                    (init if f.init else rest)[f.name] = getattr(o, f.name)
            d = {TAG: "dataclass", "cls": ref, "f": self._fields(init)}
            if rest:
                d["nf"] = self._fields(rest)
            return d
        if hasattr(t, "__pydantic_fields__") and inert.is_model_class(t):
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
            raise DeserializationError(f"corrupt checkpoint data: unknown tag {inert.show(tag)}")
        try:
            return fn(self.limits, d)
        except (DeserializationError, RecursionError):
            raise
        except Exception as ex:  # noqa: BLE001 - any decoder failure becomes a DeserializationError
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
    d = {TAG: tag, "v": [*v, o.hour, o.minute, o.second, o.microsecond], "tz": s._tz(o.tzinfo)}
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
    _decode.PieceRef: lambda s, o: ({TAG: "pieces", "n": o.n, "s": _b64(o.spine)} if o.spine is not None else
                                    {TAG: "pieces", "n": o.n, "r": [[lvl, _b64(h)] for lvl, h in o.refs]}),
    _decode.PieceOne: lambda s, o: {TAG: "piece", "h": _b64(o.h)},
}


default_serializer = Serializer()
dumps = default_serializer.dumps
loads = default_serializer.loads
