"""Response schemas for ``interrupt(value, response_schema=...)`` (pure).

This module owns everything nbflow does with a response schema, which is
either a pydantic v2 model class or a JSON-schema dict:

* :func:`json_schema_of` -- the JSON schema to show a human / a UI;
* :func:`schema_ref` / :func:`resolve_schema_ref` -- a ``"module:qualname"``
  reference that survives a checkpoint, and its resolution, which only looks
  at already-imported modules (``sys.modules``) and never imports anything;
* :func:`validate_value` -- check a resume value, raising
  :class:`nbflow.errors.ResumeValidationError` with ``(location, message)``
  pairs on failure;
* :func:`to_plain` -- a pydantic instance as a JSON-able dict.

Importing this module imports neither pydantic nor jsonschema: pydantic is
only looked up in ``sys.modules`` (a class cannot be a pydantic model unless
pydantic is already imported) and jsonschema is imported on first use.
JSON-schema dicts are checked and applied with ``Draft202012Validator``;
``format`` is an annotation only (not asserted), as that draft specifies.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from nbflow.errors import ConfigError, ResumeValidationError

__all__ = [
    "SchemaTypeError",
    "is_model_class",
    "json_schema_of",
    "schema_ref",
    "resolve_schema_ref",
    "validate_value",
    "to_plain",
]

Location = tuple[Any, ...]


class SchemaTypeError(ConfigError, TypeError):
    """A response schema that is neither a pydantic model class nor a dict."""


def _base_model() -> type | None:
    pydantic = sys.modules.get("pydantic")
    return getattr(pydantic, "BaseModel", None) if pydantic is not None else None


def is_model_class(obj: Any) -> bool:
    """True for a pydantic v2 model class (never imports pydantic)."""
    base = _base_model()
    return (
        base is not None
        and isinstance(obj, type)
        and issubclass(obj, base)
        and obj is not base
        and hasattr(obj, "model_validate")
    )


def _is_model_instance(obj: Any) -> bool:
    base = _base_model()
    return base is not None and isinstance(obj, base)


def _bad_schema_type(schema: Any) -> SchemaTypeError:
    return SchemaTypeError(
        "response_schema must be a pydantic model class or a JSON-schema dict, "
        f"got {type(schema).__name__}: {schema!r}"
    )


def _check_json_schema(schema: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ConfigError(f"invalid JSON schema at {where}: {exc.message}") from exc


def json_schema_of(schema: type | dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a pydantic model class, or a checked copy of a JSON-schema dict.

    A dict that is not a valid Draft 2020-12 schema raises
    :class:`~nbflow.errors.ConfigError` (a ``ValueError``); any other kind of
    ``schema`` raises :class:`SchemaTypeError`.
    """
    if is_model_class(schema):
        return schema.model_json_schema()  # type: ignore[union-attr]
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

    Looks only in ``sys.modules`` and follows the dotted qualname with
    ``getattr``; never imports. None when the ref is malformed, the module is
    not loaded, an attribute is missing, or the target is not a model class.
    """
    if not isinstance(ref, str) or ref.count(":") != 1:
        return None
    module_name, qualname = ref.split(":")
    module = sys.modules.get(module_name)
    if module is None or not qualname:
        return None
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target if is_model_class(target) else None


def _loc_text(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _raise_invalid(name: str | None, errors: list[tuple[Location, str]]) -> None:
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    details = "; ".join(f"{_loc_text(loc)}: {msg}" for loc, msg in errors)
    schema = f"response_schema {name}" if name else "response_schema"
    raise ResumeValidationError(
        f"resume value does not match {schema} ({count}): {details}", errors
    )


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
            _raise_invalid(schema_or_json.__name__, errors)  # type: ignore[union-attr]
    if isinstance(schema_or_json, dict):
        from jsonschema import Draft202012Validator

        _check_json_schema(schema_or_json)
        found = sorted(
            Draft202012Validator(schema_or_json).iter_errors(value),
            key=lambda e: [str(p) for p in e.absolute_path],
        )
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
