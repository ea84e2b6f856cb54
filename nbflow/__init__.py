"""nbflow: LangGraph's Functional API, native to Jupyter.

``from nbflow import entrypoint, task, interrupt, Command, InMemorySaver``
runs code written for ``langgraph.func`` unchanged. This module re-exports
the public API only; importing it never imports IPython, ipywidgets or any
Jupyter module (those live in :mod:`nbflow.notebook`).
"""

from .cache import InMemoryCache
from .checkpoint import BaseCheckpointSaver, InMemorySaver, MemorySaver, SqliteSaver
from .compat.messages import add_messages
from .engine.scope import Runtime, get_config, get_runtime, get_store, get_stream_writer, interrupt
from .errors import (
    CheckpointerRequiredError,
    CheckpointNotFoundError,
    ConfigError,
    DeserializationError,
    EmptyInputError,
    GraphDrained,
    GraphInterrupt,
    InvalidStreamModeError,
    NbflowError,
    NodeTimeoutError,
    NonDeterminismError,
    ResumeError,
    ResumeValidationError,
    RunStopped,
    SerializationError,
    TaskContextError,
)
from .func import TaskFunction, Workflow, entrypoint, task
from .observe import ModelUsage, UsageTotals, get_prices, set_prices
from .policies import CachePolicy, RetryPolicy, TimeoutPolicy
from .store import InMemoryStore
from .types import (
    Command,
    Interrupt,
    Invocation,
    PregelTask,
    RunControl,
    StateSnapshot,
    StreamWriter,
    TaskRecord,
)

__version__ = "0.1.0"

__all__ = [
    "BaseCheckpointSaver",
    "CachePolicy",
    "CheckpointNotFoundError",
    "CheckpointerRequiredError",
    "Command",
    "ConfigError",
    "DeserializationError",
    "EmptyInputError",
    "GraphDrained",
    "GraphInterrupt",
    "InMemoryCache",
    "InMemorySaver",
    "InMemoryStore",
    "Interrupt",
    "Invocation",
    "ModelUsage",
    "InvalidStreamModeError",
    "MemorySaver",
    "NbflowError",
    "NodeTimeoutError",
    "NonDeterminismError",
    "PregelTask",
    "ResumeError",
    "ResumeValidationError",
    "RetryPolicy",
    "RunControl",
    "RunStopped",
    "Runtime",
    "SerializationError",
    "SqliteSaver",
    "StateSnapshot",
    "StreamWriter",
    "TaskContextError",
    "TaskFunction",
    "TaskRecord",
    "TimeoutPolicy",
    "UsageTotals",
    "Workflow",
    "add_messages",
    "entrypoint",
    "get_config",
    "get_prices",
    "get_runtime",
    "get_store",
    "get_stream_writer",
    "interrupt",
    "set_prices",
    "task",
]


def load_ipython_extension(ipython):  # %load_ext nbflow; IPython is imported only now
    from .notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    from .notebook import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name):  # nbflow.show / timeline / inbox load the notebook layer on first use
    if name in ("show", "timeline", "inbox"):
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'nbflow' has no attribute {name!r}")
