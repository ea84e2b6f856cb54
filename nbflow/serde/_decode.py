"""The decoders: tagged JSON objects back to values (pure; used by :mod:`nbflow.serde`).

Every decoder checks the type of each field before using it, so a field that
holds an already-decoded object of another class never reaches a call that
would run that class's methods (``__iter__``, ``__float__``, ``__index__``,
``__str__``, ``__hash__``...).  Classes are resolved only through
:func:`nbflow.serde.inert.lookup` and revived only when they really are a dataclass,
a pydantic model, an Enum, a NamedTuple, or registered; sets and non-str dict
keys only hold :func:`nbflow.serde.inert.hash_safe` values; named time zones come
only from :data:`ZONES` (never from the tz database).

This module also holds the state the encoder shares: :data:`REGISTRY` (types
taught with :func:`nbflow.serde.register_type`) and :data:`ZONES`.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as _dt
import decimal
import enum
import math
import pathlib
import re
import sys
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from ..errors import DeserializationError
from . import inert
from .inert import LimitExceeded, Limits, class_attr, class_has, hash_safe, mro, show
from .preview import type_name

__all__ = ["DECODERS", "REGISTRY", "ZONES", "PATHS", "PD_EXT", "UNHASHABLE", "PieceRef", "PieceOne", "PIECE_HASH",
           "PIECE_FANOUT"]

HEX_INT = re.compile(r"-?[0-9a-f]+")
PATHS = {c.__name__: c for c in (pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath,
                                 pathlib.WindowsPath, pathlib.PurePath, pathlib.Path)}
_DTYPE_RE = re.compile(r"[<>|=]?[biufcUSMm]\d+(\[\d*[a-zA-Z]+\])?")
_ZONE_RE = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")
PD_EXT = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
          "Float32", "Float64", "boolean"}
UNHASHABLE = ("set members and non-str dict keys must be values nbflow can hash without running "
              "your code: built-in scalars, dates, UUIDs, paths, enum members, and tuples, frozensets, "
              "named tuples or frozen dataclasses of those")

# A list stored as content-addressed pieces (nbflow.serde.pieces): its length and the hashes of its
# sealed subtrees, left to right. A document holding one decodes to this placeholder; only
# nbflow.serde.pieces.join turns it into the list (it needs the pieces).
PIECE_HASH = 12      # bytes of a piece's hash
PIECE_FANOUT = 4     # children of a node piece


class PieceRef:
    """Placeholder for a list kept as pieces: ``n`` items, ``refs`` = ((level, hash), ...) left to right;
    or, when ``spine`` is set, those refs kept in the piece ``spine`` names (read in before use)."""

    __slots__ = ("n", "refs", "spine")

    def __init__(self, n: int, refs: tuple[tuple[int, bytes], ...], spine: bytes | None = None) -> None:
        self.n = n
        self.refs = refs
        self.spine = spine

    def __eq__(self, other: object) -> bool:
        return (type(other) is PieceRef and other.n == self.n and other.refs == self.refs
                and other.spine == self.spine)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<pieces of a list of {self.n}>"


class PieceOne:
    """Placeholder for one value kept as a piece (an item some list of the same checkpoint also holds)."""

    __slots__ = ("h",)

    def __init__(self, h: bytes) -> None:
        self.h = h

    def __eq__(self, other: object) -> bool:
        return type(other) is PieceOne and other.h == self.h

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<a value kept as a piece>"


def _dec_piece(lim: Limits, d: dict) -> PieceOne:
    try:
        raw = binascii.a2b_base64(_field(d, "h", str), strict_mode=True)
    except (binascii.Error, ValueError):
        raise _bad("piece hash", d["h"]) from None
    if len(raw) != PIECE_HASH:
        raise _bad("piece hash", d["h"])
    return PieceOne(raw)


def _dec_pieces(lim: Limits, d: dict) -> PieceRef:
    n = _field(d, "n", int)
    if "s" in d:  # the refs are in a piece of their own
        try:
            spine = binascii.a2b_base64(_field(d, "s", str), strict_mode=True)
        except (binascii.Error, ValueError):
            raise _bad("piece hash", d["s"]) from None
        if len(spine) != PIECE_HASH or n < 0:
            raise _bad("piece hash", d["s"])
        return PieceRef(n, (), spine)
    refs = []
    total = 0
    for item in _field(d, "r", list):
        if type(item) is not list or len(item) != 2 or type(item[0]) is not int or type(item[1]) is not str:
            raise _bad("piece reference", item)
        level, h = item
        if not 0 <= level <= 40:
            raise _bad("piece level", level)
        try:
            raw = binascii.a2b_base64(h, strict_mode=True)
        except (binascii.Error, ValueError):
            raise _bad("piece hash", h) from None
        if len(raw) != PIECE_HASH:
            raise _bad("piece hash", h)
        refs.append((level, raw))
        total += PIECE_FANOUT ** level
    if n != total:
        raise _bad("piece count", n)
    return PieceRef(n, tuple(refs))


# name -> (cls, encode, decode); shared by every Serializer (nbflow.serde.register_type fills it).
REGISTRY: dict[str, tuple[type, Callable[[Any], Any], Callable[[Any], Any]]] = {}
# Named time zones this process has loaded (seen by dumps, or registered with
# nbflow.serde.register_zone): the only ones loads() revives.
ZONES: dict[str, zoneinfo.ZoneInfo] = {}


def _unb64(s: Any) -> bytes:
    if type(s) is not str:
        raise ValueError("expected base64 text")
    return base64.b64decode(s, validate=True)


def _refuse(ref: Any, kind: str, why: str) -> DeserializationError:
    return DeserializationError(
        f"refusing to revive {show(ref)} as a {kind}: {why}. Checkpoints only revive dataclasses, "
        f"pydantic models, Enum and NamedTuple classes that are already imported, and types "
        f"registered with nbflow.serde.register_type; import the module that defines it "
        f"(nbflow never imports modules while loading), or register it with "
        f"nbflow.serde.register_type.")


def _resolve(ref: Any, kind: str, ok: Callable[[type], bool]) -> type:
    if type(ref) is not str or ref.count(":") != 1:
        raise DeserializationError(f"corrupt class reference {show(ref)}")
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
        raise ValueError(f"bad value {show(value, 60)}")
    return value


def _safe_keys(items: list) -> list:
    for k, _ in items:
        if type(k) is not str and not hash_safe(k):
            raise _refuse(type_name(type(k)), "dict key", UNHASHABLE)
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
            raise _refuse(type_name(type(x)), "set member", UNHASHABLE)
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


def _dec_tz(lim: Limits, d: dict) -> Any:
    if "zone" in d:
        key = d["zone"]
        if type(key) is not str or not _ZONE_RE.fullmatch(key) or ".." in key:
            raise ValueError(f"bad time zone key {show(key, 60)}")
        tz = ZONES.get(key)
        if tz is None:
            raise DeserializationError(
                f"the checkpoint holds a datetime in time zone {key!r}, which this process has not loaded; "
                f"nbflow never reads the tz database while loading: call "
                f"nbflow.serde.register_zone({key!r}) before reading")
        return tz
    off = _dt.timedelta(*_ints(d["offset"]))
    return _dt.timezone(off, _field(d, "name", str)) if "name" in d else _dt.timezone(off)


def _dec_path(lim: Limits, d: dict) -> Any:
    cls = PATHS.get(d["cls"]) if type(d["cls"]) is str else None
    if cls is None:
        raise _refuse(d["cls"], "path class", "only pathlib path classes are allowed")
    return cls(_field(d, "v", str))


def _dec_decimal(lim: Limits, d: dict) -> Any:
    text = _field(d, "v", str)
    if len(text) > lim.digits:
        raise LimitExceeded("digits", f"a Decimal of {len(text)} characters is over the digits limit "
                                      f"({lim.digits})")
    return decimal.Decimal(text)


def _dec_int(lim: Limits, d: dict) -> int:
    text = _field(d, "v", str)
    if len(text) > lim.int_bits // 4 + 2:
        raise LimitExceeded("digits", f"an integer over the digits limit ({lim.digits})")
    return int(_ok(text, HEX_INT.fullmatch(text) is not None), 16)


def _dec_dataclass(lim: Limits, d: dict) -> Any:
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


def _dec_pydantic(lim: Limits, d: dict) -> Any:
    cls = _resolve(d["cls"], "pydantic model", _is_model)
    if vars(cls).get("__pydantic_complete__") is not True:
        raise _refuse(d["cls"], "pydantic model", "the model class is not fully built (it has "
                      "unresolved forward references); call its model_rebuild() before loading")
    if "root" in d:
        return cls.model_validate(d["root"])  # type: ignore[attr-defined]
    config = class_attr(cls, "model_config") or {}
    fields = class_attr(cls, "__pydantic_fields__") or {}
    by_alias = config.get("validate_by_alias", True)
    data = {}
    for k, v in _field(d, "f", dict).items():
        f = fields.get(k)
        alias = f and (f.validation_alias if type(f.validation_alias) is str else f.alias)
        data[alias if by_alias and type(alias) is str else k] = v
    obj = cls.model_validate(data)  # type: ignore[attr-defined]
    private = d.get("p") or {}
    if private:
        allowed = class_attr(cls, "__private_attributes__") or {}
        store = object.__getattribute__(obj, "__pydantic_private__")
        if type(private) is not dict or type(store) is not dict:
            raise _bad("private attributes", private)
        for k, v in private.items():
            store[_ok(k, k in allowed)] = v
    return obj


def _dec_enum(lim: Limits, d: dict) -> Any:
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
    raise ValueError(f"{show(d['cls'])} has no member with value {show(v, 60)}")


def _dec_namedtuple(lim: Limits, d: dict) -> Any:
    cls = _resolve(d["cls"], "NamedTuple class", _is_namedtuple)
    return cls(*_field(d, "v", list))


def _dec_ext(lim: Limits, d: dict) -> Any:
    name = d["name"]
    if type(name) is not str or name not in REGISTRY:
        raise _refuse(name, "registered type", "no type is registered under that name")
    return REGISTRY[name][2](d["v"])


def _np_dtype(np: Any, s: Any) -> Any:
    if type(s) is not str or not _DTYPE_RE.fullmatch(s):
        raise _refuse(s, "numpy dtype", "only numeric, bool, str, bytes and datetime dtypes are allowed")
    return np.dtype(s)


def _dec_ndarray(lim: Limits, d: dict) -> Any:
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
    if not dtype.itemsize and math.prod(shape) > lim.size:
        raise LimitExceeded("size", "an array over the size limit")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy() if dtype.itemsize else np.empty(shape, dtype)


def _dec_npscalar(lim: Limits, d: dict) -> Any:
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
        raise _refuse(type_name(type(v)), "pandas label", UNHASHABLE)
    return v


def _dec_pdarr(lim: Limits, d: dict) -> Any:
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
    if type(name) is not str or (name not in PD_EXT and name not in ("str", "string")):
        raise _refuse(name, "pandas dtype", "it is not one of the supported extension dtypes")
    dtype = {"str": pd.StringDtype("python", na_value=np.nan), "string": pd.StringDtype("python")}.get(name, name)
    return pd.array(_members(d["v"]), dtype=dtype)


def _dec_pdindex(lim: Limits, d: dict) -> Any:
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


def _dec_dataframe(lim: Limits, d: dict) -> Any:
    pd, idx = _need("pandas"), d["index"]
    if not isinstance(idx, pd.Index) or not isinstance(d["columns"], pd.Index):
        raise _bad("an index", idx)
    cols = {}
    for i, v in enumerate(_field(d, "data", list)):
        cols[i] = pd.Series(_array(v), index=idx, dtype=v.dtype)
    df = pd.DataFrame(cols, index=idx)
    df.columns = d["columns"]
    return df


def _dec_series(lim: Limits, d: dict) -> Any:
    pd, v, idx = _need("pandas"), _array(d["v"]), d["index"]
    if not isinstance(idx, pd.Index):
        raise _bad("an index", idx)
    return pd.Series(v, index=idx, name=_label(d["name"]), dtype=v.dtype)


def _dec_pdts(lim: Limits, d: dict) -> Any:
    np = _need("numpy")
    ts = _need("pandas").Timestamp(_ok(d["v"], type(d["v"]) is np.datetime64))
    return ts if d["tz"] is None else ts.tz_localize("UTC").tz_convert(_tzinfo(d["tz"]))


def _dec_pdtd(lim: Limits, d: dict) -> Any:
    np = _need("numpy")
    return _need("pandas").Timedelta(_ok(d["v"], type(d["v"]) is np.timedelta64))


def _dec_float(lim: Limits, d: dict) -> float:
    return float(_ok(d["v"], type(d["v"]) is str and d["v"] in ("nan", "inf", "-inf")))


def _dec_clock(cls: type) -> Callable[[Limits, dict], Any]:
    return lambda lim, d: cls(*_ints(d["v"]), tzinfo=_tzinfo(d["tz"]), fold=_int_or(d, "fold", 0))


def _dec_deque(lim: Limits, d: dict) -> Any:
    maxlen = d["maxlen"]
    return collections.deque(_field(d, "v", list), None if maxlen is None else _ok(maxlen, type(maxlen) is int))


DECODERS: dict[str, Callable[[Limits, dict], Any]] = {
    "int": _dec_int,
    "float": _dec_float,
    "dict": lambda lim, d: dict(_pairs(d["v"])),
    "tuple": lambda lim, d: tuple(_field(d, "v", list)),
    "set": lambda lim, d: set(_members(d["v"])),
    "frozenset": lambda lim, d: frozenset(_members(d["v"])),
    "bytes": lambda lim, d: _unb64(d["v"]),
    "bytearray": lambda lim, d: bytearray(_unb64(d["v"])),
    "complex": lambda lim, d: complex(*map(_real, _ok(d["v"], type(d["v"]) is list and len(d["v"]) == 2))),
    "datetime": _dec_clock(_dt.datetime),
    "date": lambda lim, d: _dt.date.fromisoformat(_field(d, "v", str)),
    "time": _dec_clock(_dt.time),
    "timedelta": lambda lim, d: _dt.timedelta(*_ints(d["v"])),
    "tz": _dec_tz,
    "uuid": lambda lim, d: uuid.UUID(hex=_field(d, "v", str)),
    "decimal": _dec_decimal,
    "odict": lambda lim, d: collections.OrderedDict(_pairs(d["v"])),
    "counter": lambda lim, d: collections.Counter(dict(_pairs(d["v"]))),
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
    "pdnat": lambda lim, d: _need("pandas").NaT,
    "pieces": _dec_pieces,
    "piece": _dec_piece,
}
