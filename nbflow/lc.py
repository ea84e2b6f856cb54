"""The ``messages`` stream mode: tokens from LangChain chat models called inside a run.

LangChain models read their callbacks from the ``var_child_runnable_config``
context variable when called without an explicit config. For a run streaming
``messages``, each task's context gets a callback handler that turns every
new token (or a whole message from a model that does not stream) into a
:class:`~nbflow.events.Message` event with LangGraph-compatible metadata.
The handler also marks itself as a streaming handler, which makes a plain
``model.invoke(...)`` stream token by token, as under LangGraph.

Only used when ``langchain_core`` is already imported: nbflow never imports
it on its own.
"""

from __future__ import annotations

import sys
from contextvars import Context
from typing import Any, Callable
from uuid import UUID

_handler_cls: type | None = None


def available() -> bool:
    return "langchain_core" in sys.modules


def _make_handler_class() -> type:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.messages import AIMessageChunk, BaseMessage

    class MessagesHandler(BaseCallbackHandler):
        run_inline = True

        def __init__(self, emit: Callable[[Any, dict], None], metadata: dict) -> None:
            self.emit = emit
            self.metadata = metadata
            self.runs: dict[UUID, dict] = {}
            self.streamed: set[UUID] = set()

        # marks this as a streaming handler (langchain_core's _StreamingCallbackHandler protocol)
        def tap_output_iter(self, run_id: UUID, output):
            return output

        async def tap_output_aiter(self, run_id: UUID, output):
            async for item in output:
                yield item

        def on_chat_model_start(self, serialized, messages, *, run_id, metadata=None, **kw):
            meta = dict(self.metadata)
            for k, v in (metadata or {}).items():
                if k.startswith("ls_"):
                    meta[k] = v
            self.runs[run_id] = meta

        def on_llm_new_token(self, token, *, chunk=None, run_id, **kw):
            meta = self.runs.get(run_id)
            if meta is None:
                return
            msg = getattr(chunk, "message", None)
            if not isinstance(msg, BaseMessage):
                msg = AIMessageChunk(content=token)
            self.streamed.add(run_id)
            self.emit(msg, meta)

        def on_llm_end(self, response, *, run_id, **kw):
            meta = self.runs.pop(run_id, None)
            if meta is None or run_id in self.streamed:
                self.streamed.discard(run_id)
                return
            for gens in getattr(response, "generations", []) or []:
                for gen in gens:
                    msg = getattr(gen, "message", None)
                    if isinstance(msg, BaseMessage):
                        self.emit(msg, meta)

        def on_llm_error(self, error, *, run_id, **kw):
            self.runs.pop(run_id, None)
            self.streamed.discard(run_id)

    return MessagesHandler


def install(ctx: Context | None, emit: Callable[[Any, dict], None], metadata: dict) -> Any:
    """Put a messages handler into ``ctx`` (or the current context); returns a reset token."""
    global _handler_cls
    from langchain_core.runnables.config import var_child_runnable_config

    if _handler_cls is None:
        _handler_cls = _make_handler_class()
    handler = _handler_cls(emit, metadata)
    current = (ctx.run(var_child_runnable_config.get) if ctx is not None else var_child_runnable_config.get()) or {}
    callbacks = current.get("callbacks")
    if callbacks is None:
        merged: Any = [handler]
    elif isinstance(callbacks, list):  # the innermost scope's handler replaces an inherited one
        merged = [*(c for c in callbacks if not isinstance(c, _handler_cls)), handler]
    else:  # a callback manager
        merged = callbacks.copy()
        for h in list(merged.handlers):
            if isinstance(h, _handler_cls):
                merged.remove_handler(h)
        merged.add_handler(handler, inherit=True)
    config = {**current, "callbacks": merged}
    if ctx is not None:
        return ctx.run(var_child_runnable_config.set, config)
    return var_child_runnable_config.set(config)


def reset(token: Any) -> None:
    from langchain_core.runnables.config import var_child_runnable_config

    var_child_runnable_config.reset(token)
