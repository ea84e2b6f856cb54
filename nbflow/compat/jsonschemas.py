"""JSON Schemas of a workflow's input, output and context, as LangGraph reports them.

``get_input_jsonschema(wf)`` / ``get_output_jsonschema(wf)`` /
``get_context_jsonschema(wf)`` (also methods of :class:`~nbflow.func.Workflow`)
read the entrypoint function's annotations: the input is its first parameter's
type, the output its return type (for ``entrypoint.final[V, S]``, ``V``), the
context the ``context_schema`` given to ``@entrypoint``. Missing annotations
mean ``Any`` (a schema with only a title). Input and output schemas are titled
``LangGraphInput`` / ``LangGraphOutput``; ``get_context_jsonschema`` returns
None when there is no context schema.

Schemas are made by pydantic, imported only when one is asked for; without
pydantic installed, a :class:`~nbflow.errors.ConfigError` says to install it.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import ConfigError


class Workflow(Protocol):
    """What the schemas read of an entrypoint (:class:`nbflow.func.Workflow` is one)."""

    name: str
    func: Callable[..., Any]
    context_schema: Any

__all__ = ["get_input_jsonschema", "get_output_jsonschema", "get_context_jsonschema", "config_schema"]


def _pydantic() -> Any:
    try:
        import pydantic
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("JSON Schemas of a workflow are made by pydantic: pip install pydantic") from exc
    return pydantic


def _hints(wf: Workflow) -> dict[str, Any]:
    try:
        return typing.get_type_hints(wf.func, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable forward references: fall back to raw annotations
        return dict(getattr(wf.func, "__annotations__", {}) or {})


def _root_schema(tp: Any, title: str) -> dict[str, Any]:
    pd = _pydantic()
    try:
        model = pd.create_model(title, __base__=pd.RootModel[tp])
        return model.model_json_schema()
    except (pd.PydanticSchemaGenerationError, TypeError) as exc:
        raise ConfigError(f"cannot make a JSON Schema for {title} of type {tp!r}: {exc}") from exc


def input_type(wf: Workflow) -> Any:
    try:
        params = list(inspect.signature(wf.func).parameters.values())
    except (TypeError, ValueError):
        return Any
    if not params:
        return Any
    return _hints(wf).get(params[0].name, Any)


def _is_final(tp: Any) -> bool:
    """Is ``tp`` nbflow's ``entrypoint.final`` (recognised by name: this module sits below func)?"""
    return getattr(tp, "__qualname__", None) == "entrypoint.final" and \
        getattr(tp, "__module__", "").startswith("nbflow")


def output_type(wf: Workflow) -> Any:
    tp = _hints(wf).get("return", Any)
    if _is_final(typing.get_origin(tp)):
        args = typing.get_args(tp)
        return args[0] if args else Any
    if _is_final(tp):
        return Any
    return tp


def get_input_jsonschema(wf: Workflow, config: Any = None) -> dict[str, Any]:
    return _root_schema(input_type(wf), "LangGraphInput")


def get_output_jsonschema(wf: Workflow, config: Any = None) -> dict[str, Any]:
    return _root_schema(output_type(wf), "LangGraphOutput")


def get_context_jsonschema(wf: Workflow) -> dict[str, Any] | None:
    schema = wf.context_schema
    if schema is None:
        return None
    pd = _pydantic()
    if inspect.isclass(schema) and issubclass(schema, pd.BaseModel):
        return schema.model_json_schema()  # type: ignore[attr-defined]
    try:
        return pd.TypeAdapter(schema).json_schema()
    except (pd.PydanticSchemaGenerationError, TypeError) as exc:
        raise ConfigError(f"cannot make a JSON Schema for the context schema {schema!r}: {exc}") from exc


def config_schema(wf: Workflow, *, include: Any = None) -> Any:
    """Deprecated (LangGraph 1.0): the context schema as a pydantic model; warns."""
    from .deprecations import warn_config_schema_method

    warn_config_schema_method(stacklevel=3)
    schema = wf.context_schema
    pd = _pydantic()
    if schema is None:
        return pd.create_model("Config")
    if inspect.isclass(schema) and issubclass(schema, pd.BaseModel):
        return schema
    return pd.create_model("Config", __base__=pd.RootModel[schema])
