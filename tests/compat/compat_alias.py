"""Answer ``import langgraph...`` with nbflow's objects (the compat harness's import compat_alias as alias).

:func:`install` puts a finder first on :data:`sys.meta_path` that owns the
whole ``langgraph`` namespace, so an installed LangGraph can never be picked up
instead. Each module below maps LangGraph's public names onto the nbflow object
that plays that part; a name not listed is simply absent (``from langgraph.x
import y`` raises ImportError, and the generated test modules turn that into a
marker that fails only the tests touching it). A ``langgraph`` module with no
counterpart at all raises ModuleNotFoundError naming it.

Only public nbflow objects appear here; nothing is faked for the tests.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Callable

__all__ = ["MODULES", "install", "uninstall"]


def _names(module: str, *names: str, **renamed: str) -> Callable[[], dict[str, Any]]:
    """Take ``names`` from nbflow module ``module`` or, failing that, from ``nbflow`` itself
    (``renamed``: langgraph name -> nbflow name)."""

    def load() -> dict[str, Any]:
        mod = importlib.import_module(module)
        top = importlib.import_module("nbflow")
        out = {}
        for name in names:
            # The module named here, else nbflow's public namespace (where the
            # runtime may export a name from a module this table does not know).
            for source in (mod, top):
                if hasattr(source, name):
                    out[name] = getattr(source, name)
                    break
        for lg_name, nb_name in renamed.items():
            if hasattr(mod, nb_name):
                out[lg_name] = getattr(mod, nb_name)
        return out

    return load


def _merge(*loaders: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def load() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for loader in loaders:
            out.update(loader())
        return out

    return load


_NONE: Callable[[], dict[str, Any]] = dict

# langgraph module -> loader of its public names (packages are the ones with children below).
MODULES: dict[str, Callable[[], dict[str, Any]]] = {
    "langgraph": _NONE,
    "langgraph.func": _names("nbflow.func", "entrypoint", "task"),
    "langgraph.types": _merge(
        _names("nbflow.types", "Command", "Interrupt", "StateSnapshot", "PregelTask", "StreamWriter"),
        _names("nbflow.policies", "RetryPolicy", "CachePolicy"),
        _names("nbflow", "interrupt"),
        _names("nbflow.types", "Durability", "TimeoutPolicy", "StreamPart", "Send"),
    ),
    "langgraph.errors": _names(
        "nbflow.errors", "GraphInterrupt", "NodeInterrupt", "EmptyInputError",
        "NodeTimeoutError", "GraphRecursionError", "InvalidUpdateError",
    ),
    "langgraph.config": _names(
        "nbflow", "get_config", "get_store", "get_stream_writer", "get_runtime"
    ),
    "langgraph.runtime": _names("nbflow", "Runtime", "get_runtime", "RunControl"),
    "langgraph.warnings": _names(
        "nbflow.deprecations", "LangGraphDeprecationWarning", "LangGraphDeprecatedSinceV05",
        "LangGraphDeprecatedSinceV10", "LangGraphDeprecatedSinceV11",
    ),
    "langgraph.checkpoint": _NONE,
    "langgraph.checkpoint.base": _names("nbflow.checkpoint", "BaseCheckpointSaver"),
    "langgraph.checkpoint.memory": _names("nbflow.checkpoint", "InMemorySaver", "MemorySaver"),
    "langgraph.checkpoint.sqlite": _names("nbflow.checkpoint", "SqliteSaver"),
    "langgraph.checkpoint.sqlite.aio": _names("nbflow.checkpoint", "AsyncSqliteSaver"),
    "langgraph.checkpoint.serde": _NONE,
    "langgraph.checkpoint.serde.encrypted": _names("nbflow.serde.encrypted", "EncryptedSerializer"),
    "langgraph.store": _NONE,
    "langgraph.store.memory": _names("nbflow.store", "InMemoryStore"),
    "langgraph.cache": _NONE,
    "langgraph.cache.memory": _names("nbflow.cache", "InMemoryCache"),
    "langgraph.cache.sqlite": _names("nbflow.cache", "SqliteCache"),
}


def _is_package(name: str) -> bool:
    return any(other.startswith(name + ".") for other in MODULES)


class _AliasModule(types.ModuleType):
    pass


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "langgraph" and not fullname.startswith("langgraph."):
            return None
        return importlib.machinery.ModuleSpec(
            fullname, self, is_package=_is_package(fullname) or fullname not in MODULES
        )

    def create_module(self, spec):
        return _AliasModule(spec.name)

    def exec_module(self, module):
        name = module.__name__
        loader = MODULES.get(name)
        if loader is None:
            raise ModuleNotFoundError(
                f"compat: nbflow has no counterpart of the module {name!r}", name=name
            )
        module.__dict__.update(loader())
        module.__nbflow_alias__ = True
        if _is_package(name):
            module.__path__ = []


_FINDER = _Finder()


def install() -> None:
    """Put the alias first on sys.meta_path and drop any langgraph module already imported."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    for name in [m for m in sys.modules if m == "langgraph" or m.startswith("langgraph.")]:
        if not getattr(sys.modules[name], "__nbflow_alias__", False):
            del sys.modules[name]


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
