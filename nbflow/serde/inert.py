"""The rule that stored data is inert, and the primitives that enforce it (pure).

Reading stored data -- any saver, any row kind -- performs no import, no
network or file access, and calls no user-defined method other than the
constructor of an already-imported, allowed type.  What can be written can be
read: the serializer checks every payload it writes with the same
:data:`LIMITS` the reader applies.  This module owns:

* :class:`Limits` / :data:`LIMITS` -- nesting depth (JSON levels of the stored
  form), payload size, integer / decimal digits; :func:`check_document` applies
  the depth and size limits to raw bytes without recursion, so the result does
  not depend on how deep the caller's stack is;
* :func:`on_fresh_stack` -- rerun a recursive codec on a new thread's empty
  stack when the caller's stack is too deep for it;
* :func:`lookup` / :func:`mro` / :func:`class_has` / :func:`is_model_class` --
  find classes by ``module:qualname`` through ``sys.modules`` and plain
  ``__dict__`` entries only (never ``getattr`` on a module, so no lazy module
  ``__getattr__``; pydantic's ``BaseModel`` only from ``pydantic.main``);
* :func:`hash_safe` -- whether hashing a value (a set member, a dict key) runs
  only built-in or generated code (a dataclass's ``__hash__`` / ``__eq__``
  count only when their code is what :mod:`dataclasses` writes; :func:`warm`
  prepares the reference code);
* :class:`Stored` -- payload bytes labelled with the row they came from, so a
  refusal names the thread, checkpoint and row kind;
* :func:`show` / :func:`describe_exception` -- a stored value or an
  exception in a message, without calling its (possibly user-defined)
  ``__repr__`` / ``__str__``.
"""

from __future__ import annotations

import builtins as _builtins
import contextvars
import dataclasses
import datetime as _dt
import decimal
import enum
import math
import pathlib
import re
import sys
import threading
import types
import uuid
import weakref
import zoneinfo
from collections.abc import Callable
from itertools import accumulate
from typing import Any, TypeVar

from ..errors import LimitExceeded

__all__ = ["Limits", "LIMITS", "Stored", "check_document", "on_fresh_stack", "lookup", "mro",
           "class_has", "hash_safe", "warm", "describe_exception", "describe_row", "label", "show"]

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What one stored payload may hold; the same at write and at read time.

    ``depth``: nesting levels of the stored JSON document (a plain dict or list
    is one level, a tuple / set / dataclass two, a dict with non-str keys three).
    ``size``: bytes of one payload.  ``digits``: decimal digits of an integer
    or of a ``Decimal``.
    """

    depth: int = 400
    size: int = 512 * 1024 * 1024
    digits: int = 100_000

    def __post_init__(self) -> None:
        # Integers below 640 digits are stored as JSON numbers, which Python parses
        # under its own limit (never set below 640), so ``digits`` cannot go lower.
        if self.depth < 1 or self.size < 1 or self.digits < 640:
            raise ValueError(f"Limits need depth >= 1, size >= 1 and digits >= 640, got {self}")

    @property
    def int_bits(self) -> int:
        return math.ceil(self.digits * math.log2(10))


LIMITS = Limits()


# ------------------------------------------------------------------ nesting check
_DELETE = bytes(c for c in range(256) if c not in b'[]{}"')
_FOLD = bytes.maketrans(b"{}", b"[]")
_QUOTED = re.compile(rb'"[^"]*"')
_STEP = [0] * 256
_STEP[ord("[")], _STEP[ord("]")] = 1, -1


def nesting_over(raw: bytes, limit: int) -> bool:
    """True when the JSON text ``raw`` nests deeper than ``limit`` (no recursion).

    Brackets inside strings are ignored. Unbalanced text is left to the parser
    (which reports it) unless it is already deeper than the limit.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:  # drop escaped backslashes, then escaped quotes: what is left delimits strings
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    s = raw.translate(_FOLD, _DELETE).replace(b'""', b"")  # only brackets and quotes remain
    if b'"' in s:
        s = _QUOTED.sub(b"", s)
    # Each pass removes every innermost pair, i.e. one level everywhere: cheap while shallow.
    # Then the rest is measured in one sweep (a running sum of +1 / -1).
    passes = 0
    while s and passes < min(limit, 24):
        n = len(s)
        s = s.replace(b"[]", b"")
        if len(s) == n:
            return False
        passes += 1
    if not s:
        return False
    return passes + max(accumulate(map(_STEP.__getitem__, s))) > limit


def check_document(raw: bytes, limits: Limits = LIMITS) -> None:
    """Raise :class:`LimitExceeded` when a stored document is over the size or depth limit."""
    n = len(raw)
    if n > limits.size:
        raise LimitExceeded("size", f"it is {n} bytes, over the size limit of {limits.size} bytes")
    if n > 2 * limits.depth and nesting_over(raw, limits.depth):  # each level takes two bytes
        raise LimitExceeded("depth", f"it nests more than {limits.depth} levels deep (the depth limit)")


def on_fresh_stack(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)``; if that overflows the caller's stack, once more on a new thread's empty stack.

    The codecs recurse once per nesting level; with the depth limit they fit an
    empty stack, so whether a payload can be written or read does not depend on
    how deep the caller (a worker thread, a notebook cell, a deep call chain) is.
    """
    try:
        return fn(*args)
    except RecursionError:
        pass
    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def run() -> None:
        try:
            box["value"] = ctx.run(fn, *args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    worker = threading.Thread(target=run, name="nbflow-codec-fresh-stack", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# ------------------------------------------------------------------ class lookup
_MRO = type.__dict__["__mro__"]


def mro(cls: type) -> tuple[type, ...]:
    """``cls.__mro__`` without going through a metaclass ``__getattribute__``."""
    return _MRO.__get__(cls)


def class_has(cls: type, name: str) -> bool:
    """Whether ``name`` is defined in the ``__dict__`` of ``cls`` or a base (no ``__getattr__``)."""
    return any(name in vars(k) for k in mro(cls))


def class_attr(cls: type, name: str) -> Any:
    """The raw ``__dict__`` entry for ``name`` along the MRO (None if absent)."""
    for k in mro(cls):
        d = vars(k)
        if name in d:
            return d[name]
    return None


def is_class(obj: Any) -> bool:
    return issubclass(type(obj), type)


def lookup(module: str, qualname: str) -> Any:
    """The object named ``module:qualname`` if its module is imported, else None.

    Only ``sys.modules`` and plain ``__dict__`` entries are read: no import, no
    module ``__getattr__`` (lazy attributes stay unloaded), no descriptors.
    """
    obj: Any = sys.modules.get(module)
    if obj is None or not qualname:
        return None
    for part in qualname.split("."):
        if not (issubclass(type(obj), types.ModuleType) or is_class(obj)):
            return None
        obj = vars(obj).get(part)
        if obj is None:
            return None
    return obj


def pydantic_base() -> type | None:
    """pydantic's ``BaseModel`` if ``pydantic.main`` is already imported (never triggers its lazy import)."""
    main = sys.modules.get("pydantic.main")
    base = vars(main).get("BaseModel") if main is not None else None
    return base if base is not None and is_class(base) else None


def is_model_class(obj: Any) -> bool:
    """A pydantic v2 model class (not BaseModel itself), decided from MRO dicts only."""
    base = pydantic_base()
    return base is not None and is_class(obj) and obj is not base and base in mro(obj)


# ------------------------------------------------------------------ hash safety
_HASH_SCALARS = frozenset({
    type(None), bool, int, float, complex, str, bytes, decimal.Decimal, _dt.date, _dt.datetime,
    _dt.time, _dt.timedelta, _dt.timezone, zoneinfo.ZoneInfo, uuid.UUID,
    pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath, pathlib.WindowsPath,
})
_SAFE_OWNERS = frozenset({object, tuple, int, str, float, bytes, frozenset, enum.Enum})
# Classes registered with nbflow.serde.register_type: their author vouched for them
# (their decode function runs while loading anyway), so their __hash__ may run too.
TRUSTED: set[type] = set()


def _generated(cls: type, fn: Any, name: str) -> bool:
    """``fn`` is the ``name`` method that :mod:`dataclasses` wrote for ``cls``.

    Where a function was compiled and what it is called prove nothing (a class
    defined with ``exec`` or ``python -c`` has methods compiled from
    ``"<string>"`` too), so ``fn``'s code is compared with the code
    :mod:`dataclasses` writes for a reference class with as many compared
    fields (:func:`warm` makes them ahead of time, so reading compiles
    nothing); and the ``hash`` it calls must be the built-in one.
    """
    if type(fn) is not types.FunctionType or "__dataclass_fields__" not in vars(cls):
        return False
    if _VERIFIED.get(fn) is cls:
        return True
    fields = vars(cls)["__dataclass_fields__"]
    if type(fields) is not dict:
        return False
    used: list[str] = []
    for f in fields.values():
        if type(f) is not dataclasses.Field or f._field_type is not dataclasses._FIELD:  # type: ignore[attr-defined]
            continue
        if type(f.name) is not str or not f.name.isidentifier():
            return False
        if f.compare if name == "__eq__" or f.hash is None else f.hash:
            used.append(f.name)
    ref = vars(_reference(len(used))).get(name)
    want = getattr(ref, "__code__", None)
    if want is None or fn.__closure__ or fn.__defaults__ or fn.__kwdefaults__:
        return False
    rename = {f"f{i}": n for i, n in enumerate(used)}
    code = fn.__code__
    if not (code.co_code == want.co_code and code.co_consts == want.co_consts
            and code.co_names == tuple(rename.get(n, n) for n in want.co_names)
            and code.co_varnames == want.co_varnames and code.co_freevars == want.co_freevars == ()
            and code.co_cellvars == want.co_cellvars and code.co_argcount == want.co_argcount
            and code.co_kwonlyargcount == want.co_kwonlyargcount and code.co_flags == want.co_flags
            and code.co_filename == want.co_filename and code.co_qualname == want.co_qualname):
        return False
    if "hash" in code.co_names:
        found = dict.get(fn.__globals__, "hash", _builtins.hash)
        names = getattr(fn, "__builtins__", None)  # a plain function's own attribute: runs no code
        builtin = dict.get(names, "hash") if type(names) is dict else None
        if found is not _builtins.hash or builtin is not _builtins.hash:
            return False
    _VERIFIED[fn] = cls
    return True


_VERIFIED: weakref.WeakKeyDictionary[Any, type] = weakref.WeakKeyDictionary()
_REFERENCES: dict[int, type] = {}
WARM_FIELDS = 12  # reference classes made by warm(): more compared fields compile one when first seen


def _reference(n: int) -> type:
    """A frozen dataclass with ``n`` compared fields ``f0``...: its methods are the model."""
    ref = _REFERENCES.get(n)
    if ref is None:
        ref = _REFERENCES[n] = dataclasses.make_dataclass(
            "_Reference", [f"f{i}" for i in range(n)], frozen=True)
    return ref


def warm() -> None:
    """Make the reference classes :func:`hash_safe` compares with, so that reading compiles nothing.

    Durable savers call it when they open (it costs a few milliseconds, once per process).
    """
    for n in range(WARM_FIELDS + 1):
        _reference(n)


def _method_safe(t: type, name: str) -> bool:
    for k in mro(t):
        d = vars(k)
        if name in d:
            return k in _SAFE_OWNERS or _generated(k, d[name], name)
    return False


def hash_safe(x: Any, _depth: int = 0) -> bool:
    """Whether ``hash(x)`` and ``==`` between such values run only built-in or generated code.

    True for built-in scalars, the stdlib value types nbflow stores, tuples and
    frozensets of safe values, enum members with the stock ``__hash__``, and
    named tuples / dataclasses whose ``__hash__`` and ``__eq__`` are the
    generated ones, holding safe values, and classes in :data:`TRUSTED`.
    """
    t = type(x)
    if t in _HASH_SCALARS or t in TRUSTED:
        return True
    if _depth > LIMITS.depth:
        return False
    if t is tuple or t is frozenset:
        return all(hash_safe(y, _depth + 1) for y in x)
    if not (_method_safe(t, "__hash__") and _method_safe(t, "__eq__")):
        return False
    if enum.Enum in mro(t):
        return True
    if tuple in mro(t):
        return all(hash_safe(y, _depth + 1) for y in tuple.__iter__(x))
    fields = vars(t).get("__dataclass_fields__")
    if type(fields) is not dict or not _method_safe(t, "__getattribute__"):
        return False
    names = [f for f in fields if type(f) is str]
    if len(names) != len(fields) or any(_computed(class_attr(t, f)) for f in names):
        return False
    return all(hash_safe(object.__getattribute__(x, f), _depth + 1) for f in names)


def _computed(attr: Any) -> bool:
    """A class attribute that would run code when an instance's field is read (a property...)."""
    kind = type(attr)
    if kind is types.MemberDescriptorType or not class_has(kind, "__get__"):
        return False  # a slot, a default value, or nothing
    return class_has(kind, "__set__") or class_has(kind, "__delete__")


# ------------------------------------------------------------------ labelled payloads
class Stored(bytes):
    """Payload bytes read from a saver, labelled with the row they came from.

    ``where`` identifies the row: ``(thread_id, checkpoint_ns, checkpoint_id,
    what, task_name, position)`` (the last two None for a checkpoint's own
    columns); :attr:`origin` words it for messages, only when one is needed.
    ``expect`` is the type the decoded payload must have for that row kind
    (``dict`` for checkpoint channels, ``list`` for interrupts...), or None.
    """

    where: tuple
    expect: type | None

    @property
    def origin(self) -> str:
        return describe_row(*self.where)

    def __reduce__(self):  # pickles / copies as plain bytes
        return (bytes, (bytes(self),))


def label(payload: bytes, where: tuple, expect: type | None = None) -> Stored:
    s = Stored(payload)
    s.where, s.expect = where, expect
    return s


def _text(v: Any) -> str:
    return repr(v[:80]) if type(v) is str else f"<{type(v).__name__}>"


def describe_row(thread_id: Any, ns: Any, checkpoint_id: Any, what: Any, name: Any = None, path: Any = None) -> str:
    """``the <what> of thread 't', checkpoint 'c'``; for a write row (``name`` given),
    ``the 'result' write of task 'x' at position '0'`` (or ``of the run``)."""
    if name is not None:
        who = f"task {_text(name)} at position {_text(path)}" if path else "the run"
        what = f"{_text(what)} write of {who}"
    inside = f" (namespace {_text(ns)})" if ns else ""
    return f"the {what} of thread {_text(thread_id)}, checkpoint {_text(checkpoint_id)}{inside}"


def show(value: Any, limit: int = 80) -> str:
    """A stored value in a message, without running any of its methods (no ``repr`` of objects)."""
    t = type(value)
    if t is str:
        return repr(value[:limit]) + ("..." if len(value) > limit else "")
    if (t is int and value.bit_length() < 200) or t in (float, bool, type(None)):
        return repr(value)
    return f"<a {t.__name__}>"


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` without calling a user-defined ``__str__`` / ``__repr__``."""
    args = exc.args
    text = args[0] if len(args) == 1 and type(args[0]) is str else ""
    name = type(exc).__name__
    return f"{name}: {text[:300]}" if text else name
