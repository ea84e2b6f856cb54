"""The third-party classes nbflow vouches for, made loadable in any process.

Stored data is inert: a row names a class as ``module:qualname`` and the
decoder only revives it when that module is *already imported*
(:mod:`nbflow.serde._decode`); nothing taken from a row is ever imported. That
rule alone would leave an agent's thread unreadable after a kernel restart:
its history holds LangChain messages (what ``add_messages`` makes), and
``langchain_core.messages`` imports its submodules lazily, so even
``import langchain_core.messages`` does not bring ``...messages.human`` in.

So nbflow keeps a short, fixed list (:data:`VETTED`) of classes agents store,
the ones LangGraph's serializer also revives by default for agents: every
LangChain message and chunk class and ``Document``. :func:`load` imports them
from these fixed module names -- never a name read from a row -- once per
process, when a checkpointer opens (or its serializer is first asked for)
(:func:`nbflow.config.serializer_of`, i.e. as a saver is opened by a run, a
history call or a view), and only if ``langchain_core`` is installed. Tool
calls are plain dicts (``TypedDict``), so they need nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading

VETTED: dict[str, tuple[str, ...]] = {
    "langchain_core.messages": (
        "AIMessage", "AIMessageChunk", "HumanMessage", "HumanMessageChunk",
        "SystemMessage", "SystemMessageChunk", "ToolMessage", "ToolMessageChunk",
        "FunctionMessage", "FunctionMessageChunk", "ChatMessage", "ChatMessageChunk",
        "RemoveMessage",
    ),
    "langchain_core.documents": ("Document",),
}
"""Module (fixed here) -> the class names nbflow imports from it."""

_lock = threading.Lock()
_loaded = False


def load() -> None:
    """Import the vetted classes once per process, if their library is installed (cheap after the first call)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        try:
            installed = importlib.util.find_spec("langchain_core") is not None
        except (ImportError, ValueError):
            installed = False
        if installed:
            for module, names in VETTED.items():
                try:
                    mod = importlib.import_module(module)
                    for name in names:
                        getattr(mod, name)  # the attribute access imports the lazily loaded submodule
                except (ImportError, AttributeError):  # an older or newer langchain-core without one of them
                    continue
        _loaded = True


__all__ = ["VETTED", "load"]
