"""Response schemas for ``interrupt(value, response_schema=...)`` (pure).

This module owns everything nbflow does with a response schema, which is
either a pydantic v2 model class or a JSON-schema dict:

* :func:`json_schema_of` -- the JSON schema to show a human / a UI;
* :func:`schema_ref` / :func:`resolve_schema_ref` -- a ``"module:qualname"``
  reference that survives a checkpoint, and its resolution, which only reads
  ``sys.modules`` and plain ``__dict__`` entries: it never imports anything and
  never fires a lazy module ``__getattr__``;
* :func:`check_refs` -- a JSON schema may only use in-document references
  (``"$ref": "#/..."``): anything else (http, file, urn, relative URIs) would
  make validation fetch or open something, so it is refused when
  ``interrupt()`` is called and again when a stored schema is read. Validation
  itself runs with a ``referencing`` registry that retrieves nothing;
* :func:`validate_value` -- check a resume value, raising
  :class:`nbflow.errors.ResumeValidationError` with ``(location, message)``
  pairs on failure;
* :func:`to_plain` -- a pydantic instance as a JSON-able dict.

* :func:`preload` -- import and warm up jsonschema, so that validating a
  stored schema imports nothing: a durable saver calls it when it opens.

Importing this module imports neither pydantic nor jsonschema: pydantic is
only looked up in ``sys.modules`` (a class cannot be a pydantic model unless
``pydantic.main`` is already imported) and jsonschema is imported by
:func:`preload` (a SQLite or PostgreSQL saver opening), else on first use (the
first ``interrupt()`` with a dict schema); reading a stored row and validating
an answer against its schema never imports anything itself. Nothing from
jsonschema or referencing escapes as such: errors
become :class:`~nbflow.errors.ConfigError` / ``ResumeValidationError``.
JSON-schema dicts are checked and applied with ``Draft202012Validator``;
``format`` is an annotation only (not asserted), as that draft specifies.
"""

from __future__ import annotations

import copy
from typing import Any

from nbflow.errors import ConfigError, ResumeValidationError, SchemaTypeError, UnsafeSchemaError, pydantic_resume_error
from nbflow.serde import inert

__all__ = [
    "SchemaTypeError",
    "is_model_class",
    "json_schema_of",
    "schema_ref",
    "resolve_schema_ref",
    "check_refs",
    "UnsafeSchemaError",
    "validate_value",
    "to_plain",
    "preload",
]

Location = tuple[Any, ...]


def is_model_class(obj: Any) -> bool:
    """True for a pydantic v2 model class (never imports pydantic, never fires its lazy imports)."""
    return inert.is_model_class(obj)


def _is_model_instance(obj: Any) -> bool:
    base = inert.pydantic_base()
    return base is not None and base in inert.mro(type(obj))


_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


_JSON_SCALARS = (str, int, float, bool, type(None))


def check_refs(schema: Any) -> None:
    """Refuse any reference that is not in-document (``#`` or ``#/...``), any ``$id`` URI,
    and anything that is not plain JSON data (validation compares values with ``==``).

    Walks the schema without recursion. Raises :class:`UnsafeSchemaError`
    naming where the offending entry is.
    """
    todo: list[tuple[Any, str]] = [(schema, "")]
    while todo:
        node, where = todo.pop()
        if type(node) not in (dict, list) and type(node) not in _JSON_SCALARS:
            raise UnsafeSchemaError(
                f"the JSON schema holds {_show(node)} at {where or '/'}: a JSON schema is plain JSON data "
                "(dicts, lists, strings, numbers, booleans, null)")
        if type(node) is dict:
            for key, value in node.items():
                if type(key) is not str:
                    raise UnsafeSchemaError(f"the JSON schema has a non-string key at {where or '/'}")
                at = f"{where}/{key}"
                if key in _REF_KEYS:
                    if type(value) is not str or not (value == "#" or value.startswith("#/")):
                        raise UnsafeSchemaError(
                            f"the JSON schema has {key} {_show(value)} at {at or '/'}: only in-document "
                            "references ('#/$defs/...') are allowed, because resolving any other one would "
                            "fetch a URL or open a file. Inline the referenced schema under $defs")
                elif key == "pattern" and type(value) is str:
                    _check_pattern(value, at)
                elif key == "patternProperties" and type(value) is dict:
                    for name in value:
                        if type(name) is str:
                            _check_pattern(name, f"{at}/{name}")
                elif key == "$id" and type(value) is str and not value.startswith("#"):
                    raise UnsafeSchemaError(
                        f"the JSON schema sets $id {value!r} at {at or '/'}: a base URI would make "
                        "'#/...' references resolve against another document. Remove the $id")
                todo.append((value, at))
        elif type(node) is list:
            todo.extend((v, f"{where}/{i}") for i, v in enumerate(node))


MAX_PATTERN = 1000  # characters of a schema's regular expression


def _check_pattern(pattern: str, at: str) -> None:
    """Refuse a schema regex that could take exponential time to match an answer (and hang the kernel).

    Python's ``re`` backtracks: a variable repetition inside another unbounded one, as in
    ``(a+)+$`` or ``(\\w*\\s?)*$``, takes time exponential in the answer's length on a near
    miss. Such patterns, and very long ones, are refused wherever a schema is taken: at
    ``interrupt()`` time and when a stored schema is read back.
    """
    if len(pattern) > MAX_PATTERN:
        raise UnsafeSchemaError(f"the JSON schema's pattern at {at} is {len(pattern)} characters long (the limit "
                                f"is {MAX_PATTERN}); use a shorter regular expression")
    try:
        import importlib

        _parser: Any = importlib.import_module("re._parser")  # the stdlib's own regex parser (never backtracks)
        tree = _parser.parse(pattern)
    except Exception as exc:  # noqa: BLE001 - re.error, or an interpreter without re._parser
        raise UnsafeSchemaError(f"the JSON schema's pattern {_show(pattern)} at {at} is not a valid regular "
                                f"expression: {inert.describe_exception(exc)}") from None
    if _nested_repeat(tree, _parser):
        raise UnsafeSchemaError(
            f"the JSON schema's pattern {_show(pattern)} at {at} repeats a variable-length part inside an "
            "unbounded repetition (like (a+)+): matching it can take exponential time and hang the kernel. "
            "Rewrite it without nested repetition, e.g. (a+)+ as a+")


def _nested_repeat(tree: Any, p: Any) -> bool:
    """True when an unbounded repetition holds a variable-length one and nothing in it marks where
    one round ends: no required character that the inner repetitions cannot match (``(a+)+`` and
    ``(\\w*\\s?)*`` are refused; ``(,[a-z]+)*`` and ``([\\w-]+\\.)+`` are fine). No recursion."""
    repeats = (p.MAX_REPEAT, p.MIN_REPEAT, getattr(p, "POSSESSIVE_REPEAT", p.MAX_REPEAT))
    todo: list[Any] = [tree]
    while todo:
        for op, av in todo.pop():
            if op in repeats:
                _lo, hi, body = av
                if hi == p.MAXREPEAT or hi > 64:
                    atoms = _variable_atoms(body, p, repeats)
                    if atoms and not any(_separates(item, atoms, p) for item in _required_items(body, p)):
                        return True
                todo.append(body)
            else:
                todo.extend(_children(op, av, p))
    return False


def _children(op: Any, av: Any, p: Any) -> list[Any]:
    """The item lists directly inside a parsed regex item (groups, branches, lookarounds)."""
    if op is p.SUBPATTERN:
        return [av[-1]]
    if op is p.BRANCH:
        return list(av[1])
    if op in (p.ASSERT, p.ASSERT_NOT):
        return [av[1]]
    if op is getattr(p, "ATOMIC_GROUP", None):
        return [av]
    if op is p.GROUPREF_EXISTS:
        return [b for b in av[1:] if b is not None]
    return []


def _variable_atoms(body: Any, p: Any, repeats: tuple) -> list[tuple[Any, Any]]:
    """The single-character items repeated a variable number of times somewhere in ``body``."""
    atoms: list[tuple[Any, Any]] = []
    todo: list[tuple[Any, bool]] = [(body, False)]
    while todo:
        items, variable = todo.pop()
        for op, av in items:
            if op in repeats:
                todo.append((av[2], variable or av[0] != av[1]))
            elif op in (p.LITERAL, p.NOT_LITERAL, p.ANY, p.IN):
                if variable:
                    atoms.append((op, av))
            else:
                todo.extend((child, variable) for child in _children(op, av, p))
    return atoms


def _required_items(body: Any, p: Any) -> list[tuple[Any, Any]]:
    """The single-character items every round of ``body`` must match (outside optional
    repetitions and branches)."""
    out: list[tuple[Any, Any]] = []
    todo = [body]
    while todo:
        for op, av in todo.pop():
            if op in (p.LITERAL, p.NOT_LITERAL, p.IN):
                out.append((op, av))
            elif op is p.SUBPATTERN:
                todo.append(av[-1])
            elif op in (p.MAX_REPEAT, p.MIN_REPEAT) and av[0] >= 1:
                todo.append(av[2])
    return out


# The characters two regex items are compared on: ASCII, Latin-1 and a few other letters, digits and spaces.
_SAMPLE = [chr(c) for c in range(0x250)] + list("\u0663\u0966\u2003\u3000\u4e00\u03b1\u0416")


def _separates(item: tuple[Any, Any], atoms: list[tuple[Any, Any]], p: Any) -> bool:
    """True when no character ``item`` accepts is also accepted by one of ``atoms``."""
    return not any(_may_match(ch, item, p) and any(_may_match(ch, a, p) for a in atoms) for ch in _SAMPLE)


def _may_match(ch: str, atom: tuple[Any, Any], p: Any) -> bool:
    op, av = atom
    if op is p.LITERAL:
        return ord(ch) == av
    if op is p.NOT_LITERAL:
        return ord(ch) != av
    if op is p.ANY:
        return ch != "\n"
    hit, negate = False, False
    for o, a in av:  # an IN set
        if o is p.NEGATE:
            negate = True
        elif o is p.LITERAL:
            hit = hit or ord(ch) == a
        elif o is p.RANGE:
            hit = hit or a[0] <= ord(ch) <= a[1]
        elif o is p.CATEGORY:  # \\d \\s \\w and their negations; any other category may match
            name = str(a)
            found = ("DIGIT" in name and ch.isdigit()) or ("SPACE" in name and ch.isspace()) or \
                ("WORD" in name and (ch.isalnum() or ch == "_"))
            known = "DIGIT" in name or "SPACE" in name or "WORD" in name
            hit = hit or not known or found != ("NOT" in name)
        else:
            hit = True
    return hit != negate


def _show(value: Any) -> str:
    """A stored value in a message, without running its own ``__repr__``."""
    return repr(value[:200]) if type(value) is str else f"<a {type(value).__name__}>"


def _registry() -> Any:
    """A ``referencing`` registry that retrieves nothing (no URL, no file)."""
    from referencing import Registry
    from referencing.exceptions import NoSuchResource

    def refuse(uri: str) -> Any:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

    return Registry(retrieve=refuse)  # type: ignore[call-arg]


_PRELOADED = False
# Uses what validation can reach: every keyword family, an in-document $ref, a pattern, formats
# (annotations only), and a failure, whose message formatting may import more.
_WARM_SCHEMA: dict[str, Any] = {
    "$defs": {"n": {"type": "integer", "minimum": 0, "multipleOf": 1}},
    "type": "object", "title": "warm-up", "required": ["a"], "additionalProperties": False,
    "properties": {
        "a": {"type": "string", "pattern": "^[a-z]+$", "minLength": 1, "format": "email"},
        "b": {"type": "array", "items": {"$ref": "#/$defs/n"}, "uniqueItems": True, "maxItems": 3},
        "c": {"anyOf": [{"type": "null"}, {"enum": [1, 2]}, {"const": "x"}], "not": {"type": "boolean"}},
        "d": {"oneOf": [{"type": "number"}], "allOf": [{}], "if": {"type": "number"},
              "then": {"exclusiveMaximum": 10}, "else": {"maxLength": 5}},
        "e": {"type": "object", "patternProperties": {"^x": {"type": "string"}},
              "propertyNames": {"maxLength": 9}, "dependentRequired": {"p": ["q"]}, "minProperties": 0},
    },
}


def preload() -> None:
    """Import jsonschema and run one validation, so later ones import nothing (once per process);
    also :func:`nbflow.serde.inert.warm`.

    Durable savers call it when they open: after a kernel restart, reading a
    stored interrupt and validating an answer against its JSON schema then runs
    no import (the inert rule), and the first resume pays no import time.
    """
    global _PRELOADED
    if _PRELOADED:
        return
    _PRELOADED = True
    inert.warm()  # what hash_safe compares dataclass methods with: reading compiles nothing either
    try:
        _check_json_schema(_WARM_SCHEMA)
        for value in ({"a": "ok", "b": [1, 2], "c": None, "d": 3, "e": {"x1": "y"}},
                      {"a": "NO", "b": [-1, -1], "c": True, "d": 11, "e": {"x1": 1, "p": 1}, "z": 0}, "text"):
            try:
                validate_value(_WARM_SCHEMA, value)
            except ResumeValidationError:
                pass
    except ImportError:  # jsonschema is a dependency; without it, dict schemas fail when used
        pass


def _bad_schema_type(schema: Any) -> SchemaTypeError:
    return SchemaTypeError(
        "response_schema must be a pydantic model class or a JSON-schema dict, "
        f"got {type(schema).__name__}: {schema!r}"
    )


def _check_json_schema(schema: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    check_refs(schema)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ConfigError(f"invalid JSON schema at {where}: {exc.message}") from None
    except RecursionError:
        raise ConfigError("invalid JSON schema: it is too deeply nested") from None
    except Exception as exc:  # noqa: BLE001 - never let a third-party exception escape
        raise ConfigError(f"invalid JSON schema: {inert.describe_exception(exc)}") from None


def json_schema_of(schema: type | dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a pydantic model class, or a checked copy of a JSON-schema dict.

    A dict that is not a valid Draft 2020-12 schema, or that references
    anything outside itself (:func:`check_refs`), raises
    :class:`~nbflow.errors.ConfigError` (a ``ValueError``); any other kind of
    ``schema`` raises :class:`SchemaTypeError`.
    """
    if is_model_class(schema):
        try:
            return schema.model_json_schema()  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - e.g. PydanticInvalidForJsonSchema
            raise ConfigError(f"response_schema {schema.__name__} has no JSON schema: "  # type: ignore[union-attr]
                              f"{inert.describe_exception(exc)}") from None
    if isinstance(schema, dict):
        _check_json_schema(schema)
        return copy.deepcopy(schema)
    raise _bad_schema_type(schema)


def schema_ref(schema: type | dict[str, Any]) -> str | None:
    """``"module:qualname"`` of a pydantic model class; None for a dict schema.

    A class defined inside a function (``<locals>`` in its qualname) still gets
    a ref, but :func:`resolve_schema_ref` cannot find it again.
    """
    if isinstance(schema, dict):
        return None
    if is_model_class(schema):
        return f"{schema.__module__}:{schema.__qualname__}"
    raise _bad_schema_type(schema)


def resolve_schema_ref(ref: str | None) -> type | None:
    """The pydantic model class named by ``ref``, if its module is already imported.

    Looks only in ``sys.modules`` and follows the dotted qualname through plain
    ``__dict__`` entries (:func:`nbflow.serde.inert.lookup`): never imports, never
    fires a module's lazy ``__getattr__``. None when the ref is malformed, the
    module is not loaded, a name is missing, or the target is not a model class.
    """
    if type(ref) is not str or ref.count(":") != 1:
        return None
    module_name, qualname = ref.split(":")
    target = inert.lookup(module_name, qualname)
    return target if is_model_class(target) else None


def _loc_text(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _raise_invalid(name: str | None, errors: list[tuple[Location, str]], pydantic_exc: Any = None) -> None:
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    details = "; ".join(f"{_loc_text(loc)}: {msg}" for loc, msg in errors)
    schema = f"response_schema {name}" if name else "response_schema"
    message = f"resume value does not match {schema} ({count}): {details}"
    if pydantic_exc is not None:  # also a pydantic.ValidationError, as LangGraph raises
        try:
            err = pydantic_resume_error(pydantic_exc, message, errors)
        except Exception:  # noqa: BLE001 - a pydantic whose error data cannot be rebuilt: nbflow's error alone
            pass
        else:
            raise err from None
    raise ResumeValidationError(message, errors)


def validate_value(schema_or_json: type | dict[str, Any], value: Any) -> Any:
    """Check ``value`` against a response schema.

    * pydantic model class: returns ``cls.model_validate(value)`` (a dict or an
      instance is accepted);
    * JSON-schema dict: validates with jsonschema and returns ``value``
      unchanged.

    On failure raises :class:`~nbflow.errors.ResumeValidationError` whose
    ``errors`` are ``(location tuple, message)`` pairs and whose message lists
    them on one line. A bad schema raises ``ConfigError`` / ``SchemaTypeError``.
    """
    if is_model_class(schema_or_json):
        from pydantic import ValidationError  # already imported: is_model_class

        try:
            return schema_or_json.model_validate(value)  # type: ignore[union-attr]
        except ValidationError as exc:
            errors = [
                (tuple(err.get("loc", ())), str(err.get("msg", "")))
                for err in exc.errors(include_url=False)
            ]
            _raise_invalid(schema_or_json.__name__, errors, exc)  # type: ignore[union-attr]
    if isinstance(schema_or_json, dict):
        from jsonschema import Draft202012Validator

        _check_json_schema(schema_or_json)
        try:
            found = sorted(
                Draft202012Validator(schema_or_json, registry=_registry()).iter_errors(value),
                key=lambda e: [str(p) for p in e.absolute_path],
            )
        except RecursionError:
            raise ConfigError("the JSON schema (or the value) is too deeply nested to validate") from None
        except Exception as exc:  # noqa: BLE001 - e.g. an unresolvable reference
            raise ConfigError(
                f"the JSON schema cannot be applied: {inert.describe_exception(exc)}") from None
        if found:
            errors = [(tuple(e.absolute_path), e.message) for e in found]
            title = schema_or_json.get("title")
            _raise_invalid(repr(title) if isinstance(title, str) else None, errors)
        return value
    raise _bad_schema_type(schema_or_json)


def to_plain(value: Any) -> Any:
    """A pydantic instance as ``model_dump(mode="json")``; anything else unchanged."""
    if _is_model_instance(value):
        return value.model_dump(mode="json")
    return value
