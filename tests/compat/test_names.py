"""LangGraph's public names and shapes: the API surface, light import, Interrupt's shape, JSON schemas, deprecation warnings."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import pytest

import nbflow
from nbflow import (
    Command,
    Interrupt,
    RetryPolicy,
    entrypoint,
    task,
)
from nbflow.checkpoint import InMemorySaver
from nbflow.deprecations import (
    LangGraphDeprecatedSinceV05,
    LangGraphDeprecatedSinceV10,
    LangGraphDeprecationWarning,
)


def test_deprecated_kwargs_warn():
    with pytest.warns(DeprecationWarning, match="retry_policy"):
        @task(retry=RetryPolicy())
        def t(x):
            return x
    assert t.retry_policies == (RetryPolicy(),)
    with pytest.warns(DeprecationWarning, match="context_schema"):
        @entrypoint(config_schema=dict)
        def e(x):
            return x
    assert e.context_schema is dict


def test_import_is_light():
    code = ("import sys, nbflow; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('IPython', 'ipywidgets', 'ipykernel', 'jupyter_client', 'anywidget', 'jupyterlab', "
            "'numpy', 'pandas', 'pydantic', 'langchain_core')]; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_names():
    for name in ["entrypoint", "task", "interrupt", "Command", "Interrupt", "RetryPolicy", "CachePolicy",
                 "InMemorySaver", "MemorySaver", "SqliteSaver", "InMemoryCache", "InMemoryStore",
                 "get_stream_writer", "get_config", "get_store", "Runtime", "StreamWriter", "StateSnapshot"]:
        assert hasattr(nbflow, name), name
    assert set(nbflow.__all__) <= set(dir(nbflow))


def test_interrupt_objects_are_langgraph_shaped():
    i = Interrupt(value={"a": 1}, id="abc")
    assert repr(i) == "Interrupt(value={'a': 1}, id='abc', response_schema=None)"  # as LangGraph 1.2.22
    assert repr(Interrupt("q", "x", {"type": "integer"})) == \
        "Interrupt(value='q', id='x', response_schema={'type': 'integer'})"
    assert Command(resume=1).resume == 1


@dataclass
class Ctx:
    model: str


def test_json_schemas_of_a_workflow():
    @entrypoint(context_schema=Ctx)
    def wf(xs: list[int]) -> list[str]:
        return [str(x) for x in xs]

    assert wf.get_input_jsonschema() == {"type": "array", "items": {"type": "integer"}, "title": "LangGraphInput"}
    assert wf.get_output_jsonschema() == {"type": "array", "items": {"type": "string"}, "title": "LangGraphOutput"}
    assert wf.get_context_jsonschema() == {
        "properties": {"model": {"title": "Model", "type": "string"}},
        "required": ["model"], "title": "Ctx", "type": "object",
    }

    @entrypoint()
    def bare(x):
        return x

    assert bare.get_input_jsonschema() == {"title": "LangGraphInput"}
    assert bare.get_output_jsonschema() == {"title": "LangGraphOutput"}
    assert bare.get_context_jsonschema() is None

    @entrypoint(checkpointer=InMemorySaver())
    def saving(x: str, *, previous: Any = None) -> entrypoint.final[int, str]:
        return entrypoint.final(value=len(x), save=x)

    assert saving.get_output_jsonschema() == {"title": "LangGraphOutput", "type": "integer"}


def test_deprecated_arguments_warn_with_langgraphs_classes_and_messages():
    from nbflow import RetryPolicy

    with pytest.warns(LangGraphDeprecatedSinceV05,
                      match="`retry` is deprecated and will be removed. Please use `retry_policy` instead."):
        @task(retry=RetryPolicy())
        def t(x):
            return x

    with pytest.warns(LangGraphDeprecatedSinceV10, match="`config_schema` is deprecated and will be removed"):
        @entrypoint(config_schema=Ctx)
        def wf(x):
            return x

    assert wf.context_schema is Ctx
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = wf.config_schema()
    assert model.model_json_schema()["title"] == "Config"
    (w,) = caught
    assert issubclass(w.category, LangGraphDeprecationWarning) and issubclass(w.category, DeprecationWarning)
    assert str(w.message) == ("`config_schema` is deprecated. Use `get_context_jsonschema` for the relevant "
                              "schema instead. Deprecated in LangGraph V1.0 to be removed in V2.0.")
    assert w.filename == __file__  # points at the caller


PUBLIC = {
    "BaseCheckpointSaver", "CachePolicy", "CheckpointNotFoundError", "CheckpointerRequiredError", "Command",
    "ConfigError", "DeserializationError", "EmptyInputError", "GraphDrained", "GraphInterrupt", "InMemoryCache",
    "InMemorySaver", "InMemoryStore", "Interrupt", "InvalidStreamModeError", "Invocation", "MemorySaver",
    "NbflowError", "NodeTimeoutError", "NonDeterminismError", "PregelTask", "ResumeError", "ResumeValidationError",
    "RetryPolicy", "RunControl", "RunStopped", "Runtime", "SerializationError", "SqliteSaver", "StateSnapshot",
    "StreamWriter", "TaskContextError", "TaskFunction", "TaskRecord", "TimeoutPolicy", "Workflow", "add_messages",
    "entrypoint", "get_config", "get_runtime", "get_store", "get_stream_writer", "interrupt", "task",
    # issue 20: model usage and cost (nbflow.observe)
    "ModelUsage", "UsageTotals", "set_prices", "get_prices",
}

# The module paths the README and docs name, and what users import from each: they keep working whatever
# room the code moves to.
DOCUMENTED = {
    "nbflow.checkpoint": ["InMemorySaver", "SqliteSaver", "AsyncSqliteSaver", "PostgresSaver", "AsyncPostgresSaver"],
    "nbflow.checkpoint.postgres": ["PostgresSaver"],
    "nbflow.serde": ["register_type", "register_zone", "dumps", "loads", "Serializer"],
    "nbflow.inert": ["Limits"],
    "nbflow.encrypted": ["EncryptedSerializer"],
    "nbflow.postgres_store": ["PostgresStore"],
    "nbflow.deprecations": ["LangGraphDeprecationWarning", "LangGraphDeprecatedSinceV05"],
    "nbflow.cache": ["SqliteCache", "InMemoryCache"],
    "nbflow.store": ["InMemoryStore", "Item", "SearchItem"],
    "nbflow.executors.dask": ["DaskExecutor"],
    "nbflow.engine.plugs": ["using"],
    "nbflow.observe": ["set_prices", "get_prices", "ModelUsage", "UsageTotals", "totals"],
    "nbflow.observe.otel": ["instrument", "OtelListener"],
    "nbflow.testing.executors": ["ExecutorContract"],
    "nbflow.checkpoint.conformance": ["SaverContract"],
    "nbflow.events": ["RunStart", "RunEnd", "RunError", "RunHalted"],
}


def test_public_names_are_pinned_exactly():
    assert set(nbflow.__all__) == PUBLIC


@pytest.mark.parametrize("module", sorted(DOCUMENTED))
def test_documented_module_paths_keep_working(module):
    import importlib

    mod = importlib.import_module(module)
    for name in DOCUMENTED[module]:
        assert hasattr(mod, name), f"{module}.{name}"
