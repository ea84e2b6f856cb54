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

Security: no pickle, no eval.  ``loads`` never imports a module.  A class named
in the data is found only through ``sys.modules`` and plain namespace lookups,
and is revived only if it really is a dataclass, a pydantic model, an Enum, a
NamedTuple, or a type registered with :func:`register_type`; anything else is
refused with :class:`~nbflow.errors.DeserializationError`.  numpy / pandas /
pydantic are never imported here: they are used only if already in
``sys.modules``.
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
import os
import pathlib
import re
import sys
import types
import uuid
import zoneinfo
from typing import Any, Callable

from nbflow.errors import DeserializationError, SerializationError

__all__ = ["Serializer", "default_serializer", "dumps", "loads", "register_type", "summarize", "TAG"]

TAG = "__nb__"
_TAG_JSON = '"__nb__"'
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
_JSON_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False, check_circular=False)
_PLAIN = json.JSONDecoder()
_SCAN = _PLAIN.scan_once
_BIG = 1 << 12000  # larger ints are written in hex (decimal str() is capped by Python)
_PATHS = {c.__name__: c for c in (pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath,
                                  pathlib.WindowsPath, pathlib.PurePath, pathlib.Path)}
_DTYPE_RE = re.compile(r"[<>|=]?[biufcUSMm]\d+(\[\d*[a-zA-Z]+\])?")
_ZONE_RE = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")
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
    _REGISTRY[name] = (cls, encode, decode)
    _REGISTERED[cls] = name


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
    if not isinstance(_lookup(mod, qual), type):
        raise _Fail(obj, f"its class cannot be found again as {mod}:{qual}")
    return f"{mod}:{qual}"


def _lookup(mod: str, qual: str) -> Any:
    """Plain namespace lookup: sys.modules + __dict__ entries. Never imports, never
    triggers module ``__getattr__`` or descriptors. Returns None if absent."""
    obj: Any = sys.modules.get(mod)
    for part in qual.split("."):
        if not isinstance(obj, (type, types.ModuleType)):
            return None
        obj = vars(obj).get(part)
    return obj


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
    cls = _lookup(mod, qual)
    if cls is None:
        raise _refuse(ref, kind, f"module {mod!r} has no attribute {qual!r}")
    if not isinstance(cls, type) or not ok(cls):
        raise _refuse(ref, kind, f"it is a {type(cls).__name__}, not a {kind}")
    return cls


def _need(name: str) -> Any:
    mod = sys.modules.get(name)
    if mod is None:
        raise DeserializationError(f"the checkpoint holds a {name} value but {name} is not imported; "
                                   f"`import {name}` before loading (nbflow never imports modules while loading)")
    return mod


def _is_model(c: type) -> bool:
    pyd = sys.modules.get("pydantic")
    return pyd is not None and issubclass(c, pyd.BaseModel)


class Serializer:
    """JSON-with-tags checkpoint serializer. See the module docstring for the format."""

    # ------------------------------------------------------------------ dumps
    def dumps(self, obj: Any) -> bytes:
        t = type(obj)
        if t is int and -_BIG < obj < _BIG:
            return int.__repr__(obj).encode()
        if t is str or t is bool or obj is None:
            enc = obj
        else:
            try:
                enc = self._enc(obj)
            except _Fail as e:
                path = "$" + "".join(reversed(e.path))
                why = f" ({e.why})" if e.why else ""
                raise SerializationError(
                    f"cannot serialize a value of type {_tname(type(e.obj))} at {path}{why}; "
                    f"checkpoints store plain data: {_HINT}") from None
            except RecursionError:
                raise SerializationError("cannot serialize: the value is too deeply nested or contains "
                                         "a reference cycle") from None
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
            return o if -_BIG < o < _BIG else {TAG: "int", "v": format(o, "x")}
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
            return {TAG: "enum", "cls": _ref(t, o), "v": self._enc(o.value)}
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
        try:
            text = data.decode() if type(data) is bytes else data if type(data) is str else bytes(data).decode()
            if _TAG_JSON not in text:
                try:  # the C scanner alone: our own output has no surrounding whitespace
                    obj, end = _SCAN(text, 0)
                except StopIteration:
                    obj, end = None, -1
                return obj if end == len(text) else _PLAIN.decode(text)
            return json.loads(text, object_hook=self._hook)
        except DeserializationError:
            raise
        except RecursionError:
            raise DeserializationError("checkpoint data is too deeply nested") from None
        except (ValueError, TypeError) as ex:
            raise DeserializationError(f"corrupt checkpoint data: {ex}") from None

    def _hook(self, d: dict) -> Any:
        tag = d.get(TAG)
        if tag is None:
            return d
        fn = _DECODERS.get(tag) if type(tag) is str else None
        if fn is None:
            raise DeserializationError(f"corrupt checkpoint data: unknown tag {tag!r}")
        try:
            return fn(d)
        except DeserializationError:
            raise
        except Exception as ex:
            raise DeserializationError(f"cannot rebuild a {tag!r} value from the checkpoint: "
                                       f"{type(ex).__name__}: {ex}") from None


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
    decimal.Decimal: lambda s, o: {TAG: "decimal", "v": str(o)},
    collections.OrderedDict: lambda s, o: {TAG: "odict", "v": s._pairs(o)},
    collections.Counter: lambda s, o: {TAG: "counter", "v": s._pairs(o)},
    collections.deque: lambda s, o: {TAG: "deque", "v": s._seq(o), "maxlen": o.maxlen},
    **{c: (lambda s, o: {TAG: "path", "cls": type(o).__name__, "v": str(o)}) for c in _PATHS.values()},
}


# ---------------------------------------------------------------- decoders
def _ok(value: Any, good: bool) -> Any:
    if not good:
        raise ValueError(f"bad value {value!r}")
    return value


def _pairs(v: Any) -> list:
    return [(k, x) for k, x in v]


def _ints(v: Any) -> list[int]:
    return [_ok(x, type(x) is int) for x in v]


def _dec_tz(d: dict) -> Any:
    if "zone" in d:
        key = d["zone"]
        if type(key) is not str or not _ZONE_RE.fullmatch(key) or ".." in key:
            raise ValueError(f"bad time zone key {key!r}")
        if "tzdata" not in sys.modules and not any(
                os.path.isfile(os.path.join(p, key)) for p in zoneinfo.TZPATH):
            raise DeserializationError(f"time zone {key!r} is not in the system tz database; "
                                       "`import tzdata` (pip install tzdata) before loading")
        return zoneinfo.ZoneInfo(key)
    off = _dt.timedelta(*_ints(d["offset"]))
    return _dt.timezone(off, d["name"]) if "name" in d else _dt.timezone(off)


def _dec_path(d: dict) -> Any:
    cls = _PATHS.get(d["cls"])
    if cls is None:
        raise _refuse(d["cls"], "path class", "only pathlib path classes are allowed")
    return cls(str(d["v"]))


def _dec_dataclass(d: dict) -> Any:
    cls = _resolve(d["cls"], "dataclass", dataclasses.is_dataclass)
    obj = cls(**d["f"])
    later = {f.name for f in dataclasses.fields(cls) if not f.init}
    for k, v in (d.get("nf") or {}).items():
        object.__setattr__(obj, _ok(k, k in later), v)  # only real init=False fields
    return obj


def _dec_pydantic(d: dict) -> Any:
    cls = _resolve(d["cls"], "pydantic model", _is_model)
    if "root" in d:
        return cls.model_validate(d["root"])
    by_alias = cls.model_config.get("validate_by_alias", True)
    data = {}
    for k, v in d["f"].items():
        f = cls.__pydantic_fields__.get(k)
        alias = f and (f.validation_alias if isinstance(f.validation_alias, str) else f.alias)
        data[alias if by_alias and isinstance(alias, str) else k] = v
    obj = cls.model_validate(data)
    for k, v in (d.get("p") or {}).items():
        setattr(obj, _ok(k, k in cls.__private_attributes__), v)
    return obj


def _dec_ext(d: dict) -> Any:
    if d["name"] not in _REGISTRY:
        raise _refuse(d["name"], "registered type", "no type is registered under that name")
    return _REGISTRY[d["name"]][2](d["v"])


def _np_dtype(np: Any, s: Any) -> Any:
    if type(s) is not str or not _DTYPE_RE.fullmatch(s):
        raise _refuse(s, "numpy dtype", "only numeric, bool, str, bytes and datetime dtypes are allowed")
    return np.dtype(s)


def _dec_ndarray(d: dict) -> Any:
    np = _need("numpy")
    shape = tuple(int(n) for n in d["shape"])
    if d["dtype"] == "O":
        arr = np.empty(len(d["v"]), dtype=object)
        for i, x in enumerate(d["v"]):
            arr[i] = x
        return arr.reshape(shape)
    dtype, raw = _np_dtype(np, d["dtype"]), _unb64(d["v"])
    if min(shape, default=0) < 0 or math.prod(shape) * dtype.itemsize != len(raw):
        raise ValueError("array size does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy() if dtype.itemsize else np.empty(shape, dtype)


def _dec_npscalar(d: dict) -> Any:
    np = _need("numpy")
    dtype, raw = _np_dtype(np, d["dtype"]), _unb64(d["v"])
    if len(raw) != dtype.itemsize or not raw:
        raise ValueError("scalar size does not match its dtype")
    return np.frombuffer(raw, dtype=dtype)[0].copy()


def _dec_pdarr(d: dict) -> Any:
    pd, np = _need("pandas"), _need("numpy")
    if d["k"] == "cat":
        return pd.Categorical.from_codes(d["codes"], dtype=pd.CategoricalDtype(d["cats"], ordered=bool(d["ordered"])))
    if d["k"] == "dttz":
        return pd.Series(d["v"]).dt.tz_localize("UTC").dt.tz_convert(d["tz"]).array
    name = d["dtype"]
    if name not in _PD_EXT and name not in ("str", "string"):
        raise _refuse(name, "pandas dtype", "it is not one of the supported extension dtypes")
    dtype = {"str": pd.StringDtype("python", na_value=np.nan), "string": pd.StringDtype("python")}.get(name, name)
    return pd.array(d["v"], dtype=dtype)


def _dec_pdindex(d: dict) -> Any:
    pd = _need("pandas")
    if "range" in d:
        return pd.RangeIndex(*[int(x) for x in d["range"]], name=d["name"])
    if "levels" in d:
        return pd.MultiIndex(levels=d["levels"], codes=d["codes"], names=d["names"])
    v, freq = d["v"], d.get("freq")
    if freq is not None:
        cls = pd.TimedeltaIndex if v.dtype.kind == "m" else pd.DatetimeIndex
        return cls(v, freq=_ok(freq, type(freq) is str), name=d["name"])
    return pd.Index(v, dtype=v.dtype, name=d["name"])


def _dec_dataframe(d: dict) -> Any:
    pd, idx = _need("pandas"), d["index"]
    cols = {i: pd.Series(v, index=idx, dtype=v.dtype) for i, v in enumerate(d["data"])}
    df = pd.DataFrame(cols, index=idx)
    df.columns = d["columns"]
    return df


def _dec_pdts(d: dict) -> Any:
    ts = _need("pandas").Timestamp(d["v"])
    return ts if d["tz"] is None else ts.tz_localize("UTC").tz_convert(d["tz"])


_DECODERS: dict[str, Callable[[dict], Any]] = {
    "int": lambda d: int(_ok(d["v"], type(d["v"]) is str and re.fullmatch(r"-?[0-9a-f]+", d["v"]) is not None), 16),
    "float": lambda d: float(_ok(d["v"], d["v"] in ("nan", "inf", "-inf"))),
    "dict": lambda d: dict(_pairs(d["v"])),
    "tuple": lambda d: tuple(d["v"]),
    "set": lambda d: set(d["v"]),
    "frozenset": lambda d: frozenset(d["v"]),
    "bytes": lambda d: _unb64(d["v"]),
    "bytearray": lambda d: bytearray(_unb64(d["v"])),
    "complex": lambda d: complex(float(d["v"][0]), float(d["v"][1])),
    "datetime": lambda d: _dt.datetime(*_ints(d["v"]), tzinfo=d["tz"], fold=int(d.get("fold", 0))),
    "date": lambda d: _dt.date.fromisoformat(d["v"]),
    "time": lambda d: _dt.time(*_ints(d["v"]), tzinfo=d["tz"], fold=int(d.get("fold", 0))),
    "timedelta": lambda d: _dt.timedelta(*_ints(d["v"])),
    "tz": _dec_tz,
    "uuid": lambda d: uuid.UUID(hex=d["v"]),
    "decimal": lambda d: decimal.Decimal(str(d["v"])),
    "odict": lambda d: collections.OrderedDict(_pairs(d["v"])),
    "counter": lambda d: collections.Counter(dict(_pairs(d["v"]))),
    "deque": lambda d: collections.deque(d["v"], None if d["maxlen"] is None else int(d["maxlen"])),
    "path": _dec_path,
    "enum": lambda d: _resolve(d["cls"], "Enum class", lambda c: issubclass(c, enum.Enum))(d["v"]),
    "namedtuple": lambda d: _resolve(d["cls"], "NamedTuple class",
                                     lambda c: issubclass(c, tuple) and hasattr(c, "_fields"))(*d["v"]),
    "dataclass": _dec_dataclass,
    "pydantic": _dec_pydantic,
    "ext": _dec_ext,
    "ndarray": _dec_ndarray,
    "npscalar": _dec_npscalar,
    "pdarr": _dec_pdarr,
    "pdindex": _dec_pdindex,
    "series": lambda d: _need("pandas").Series(d["v"], index=d["index"], name=d["name"], dtype=d["v"].dtype),
    "dataframe": _dec_dataframe,
    "pdts": _dec_pdts,
    "pdtd": lambda d: _need("pandas").Timedelta(d["v"]),
    "pdnat": lambda d: _need("pandas").NaT,
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
