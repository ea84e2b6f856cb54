"""The LangChain bridge: the ``messages`` and ``tools`` stream modes, and ``config["callbacks"]``.

LangChain models read their callbacks from the ``var_child_runnable_config``
context variable when called without an explicit config. For a run streaming
``messages``, each task's context gets a callback handler that turns every
new token (or a whole message from a model that does not stream) into a
:class:`~nbflow.events.Message` event with LangGraph-compatible metadata.
The handler also marks itself as a streaming handler, which makes a plain
``model.invoke(...)`` stream token by token, as under LangGraph.

For a run streaming ``tools``, a second handler turns LangChain's tool
callbacks into ``tool-started`` / ``tool-finished`` / ``tool-error`` payloads
(LangGraph's ``tools`` stream mode).

``config["callbacks"]`` (LangChain callback handlers or a callback manager,
e.g. a tracer, or what ``astream_events`` passes) sees the invocation as
LangGraph shows it: a root chain run (``run_name``, default ``"LangGraph"``),
the entrypoint as its child chain run, each task as a child of the code that
called it, and LangChain calls made inside them nested below
(:class:`Trace`, :func:`start_root`, :func:`start_child`, :func:`bind`).

**Usage.** Every model call made inside workflow code is recorded with the task attempt that made
it (:mod:`nbflow.observe.usage`): one handler instance, registered once per process with
LangChain's configure hooks (:func:`ensure_usage_hook`), is added to every callback manager
LangChain configures, so it costs nothing per task -- only per model call -- and sees calls made
with any config. It reads the nbflow scope current where the model runs and appends a
:class:`~nbflow.observe.usage.ModelUsage` to it; the engine stores those with the task's row.

Only used when ``langchain_core`` is already imported: nbflow never imports
it on its own.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable
from contextvars import Context
from typing import Any
from uuid import UUID

from ..observe import prices
from ..observe.usage import from_usage_metadata
from ..replayable import CURRENT

_handler_cls: type | None = None
_tools_cls: type | None = None
_usage_hooked = False


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


def _make_tools_class() -> type:
    from langchain_core.callbacks import BaseCallbackHandler

    class ToolsHandler(BaseCallbackHandler):
        """LangChain tool callbacks → LangGraph's ``tools`` stream payloads."""

        run_inline = True

        def __init__(self, emit: Callable[[dict], None]) -> None:
            self.emit = emit
            self.calls: dict[UUID, str] = {}

        def on_tool_start(self, serialized, input_str, *, run_id, inputs=None, **kw):
            call_id = kw.get("tool_call_id") or str(run_id)
            self.calls[run_id] = call_id
            payload: dict = {"event": "tool-started", "tool_call_id": call_id,
                             "tool_name": (serialized or {}).get("name") or kw.get("name") or ""}
            if inputs is not None:
                payload["input"] = inputs
            self.emit(payload)

        def on_tool_end(self, output, *, run_id, **kw):
            call_id = self.calls.pop(run_id, None)
            if call_id is not None:
                self.emit({"event": "tool-finished", "tool_call_id": call_id, "output": output})

        def on_tool_error(self, error, *, run_id, **kw):
            call_id = self.calls.pop(run_id, None)
            # a paused tool (interrupt) is not a failure: it runs again on resume
            if call_id is not None and type(error).__name__ not in ("GraphInterrupt", "NodeInterrupt", "GraphDrained"):
                self.emit({"event": "tool-error", "tool_call_id": call_id, "message": str(error)})

    return ToolsHandler


def _model_name(serialized: Any, metadata: Any, kw: dict) -> tuple[str, str]:
    meta = metadata or {}
    params = kw.get("invocation_params") or {}
    name = (meta.get("ls_model_name") or params.get("model") or params.get("model_name")
            or (serialized or {}).get("name") or kw.get("name") or "")
    if not name:
        ident = (serialized or {}).get("id")
        name = ident[-1] if isinstance(ident, list) and ident else "model"
    return str(name), str(meta.get("ls_provider") or "")


def _make_usage_class() -> type:
    from langchain_core.callbacks import BaseCallbackHandler

    class UsageHandler(BaseCallbackHandler):
        """Records each model call (tokens, latency, cost) with the nbflow task attempt that made it."""

        run_inline = True  # called where the model runs, so the nbflow scope is the caller's

        def __init__(self) -> None:
            self.calls: dict[UUID, tuple] = {}

        def _start(self, serialized: Any, run_id: UUID, metadata: Any, kw: dict) -> None:
            scope = CURRENT.get()
            if scope is None or not hasattr(scope, "usage"):
                return
            model, provider = _model_name(serialized, metadata, kw)
            self.calls[run_id] = (scope, model, provider, time.perf_counter(), time.time())

        def on_chat_model_start(self, serialized, messages, *, run_id, metadata=None, **kw):
            self._start(serialized, run_id, metadata, kw)

        def on_llm_start(self, serialized, prompts, *, run_id, metadata=None, **kw):
            self._start(serialized, run_id, metadata, kw)

        def on_llm_end(self, response, *, run_id, **kw):
            found = self.calls.pop(run_id, None)
            if found is None:
                return
            scope, model, provider, t0, started = found
            latency = time.perf_counter() - t0
            um: Any = None
            for gens in getattr(response, "generations", None) or []:
                for gen in gens:
                    msg = getattr(gen, "message", None)
                    meta = getattr(msg, "response_metadata", None) or {}
                    if meta.get("model_name") or meta.get("model"):
                        model = str(meta.get("model_name") or meta.get("model"))
                    got = getattr(msg, "usage_metadata", None)
                    if got:
                        um = got if um is None else _add_usage(um, got)
            if um is None:  # older integrations report llm_output["token_usage"] (OpenAI's names)
                tu = (getattr(response, "llm_output", None) or {}).get("token_usage") or {}
                if tu:
                    um = {"input_tokens": tu.get("prompt_tokens", 0), "output_tokens": tu.get("completion_tokens", 0),
                          "total_tokens": tu.get("total_tokens", 0)}
            record = from_usage_metadata(um, model, latency, scope.attempt, provider, started, prices.cost_of)
            usage = scope.usage
            if usage is None:
                scope.usage = [record]
            else:
                usage.append(record)

        def on_llm_error(self, error, *, run_id, **kw):
            self.calls.pop(run_id, None)

    return UsageHandler


def _add_usage(a: dict, b: dict) -> dict:
    out = dict(a)
    for k in ("input_tokens", "output_tokens", "total_tokens"):
        out[k] = (a.get(k) or 0) + (b.get(k) or 0)
    return out


def ensure_usage_hook() -> None:
    """Register the usage handler with LangChain once per process (call only when :func:`available`)."""
    global _usage_hooked
    if _usage_hooked:
        return
    from contextvars import ContextVar

    from langchain_core.tracers.context import register_configure_hook

    _usage_hooked = True
    # A context variable whose default is the handler: every context (every thread, every task) sees it, so
    # LangChain adds the one instance to every callback manager it configures; it ignores calls made outside
    # workflow code, and costs a task nothing.
    handler = _make_usage_class()()  # one instance, never replaced: shared by every context on purpose
    var: ContextVar[Any] = ContextVar("nbflow_usage_handler", default=handler)
    register_configure_hook(var, True)


def install(ctx: Context | None, emit: Callable[[Any, dict], None] | None, metadata: dict,
            emit_tool: Callable[[dict], None] | None = None) -> Any:
    """Put a messages handler (when ``emit``) and a tools handler (when ``emit_tool``) into ``ctx``
    (or the current context); returns a reset token."""
    global _handler_cls, _tools_cls
    from langchain_core.runnables.config import var_child_runnable_config

    if _handler_cls is None:
        _handler_cls = _make_handler_class()
        _tools_cls = _make_tools_class()
    handlers = []
    if emit is not None:
        handlers.append(_handler_cls(emit, metadata))
    if emit_tool is not None:
        handlers.append(_tools_cls(emit_tool))  # type: ignore[misc]
    mine: Any = (_handler_cls, _tools_cls)
    current = (ctx.run(var_child_runnable_config.get) if ctx is not None else var_child_runnable_config.get()) or {}
    callbacks = current.get("callbacks")
    if callbacks is None:
        merged: Any = handlers
    elif isinstance(callbacks, list):  # the innermost scope's handlers replace inherited ones
        merged = [*(c for c in callbacks if not isinstance(c, mine)), *handlers]
    else:  # a callback manager
        merged = callbacks.copy()
        for h in list(merged.handlers):
            if isinstance(h, mine):
                merged.remove_handler(h)
        for h in handlers:
            merged.add_handler(h, inherit=True)
    config: Any = {**current, "callbacks": merged}
    if ctx is not None:
        return ctx.run(var_child_runnable_config.set, config)
    return var_child_runnable_config.set(config)


# ---------------------------------------------------------------------- config["callbacks"]
class Trace:
    """One chain run in LangChain's callback system: the root, the entrypoint body, or a task call."""

    __slots__ = ("manager", "children", "ended")

    def __init__(self, manager: Any) -> None:
        self.manager = manager               # the run manager (sync or async) of this run
        self.children = manager.get_child()  # the callback manager its child runs start from
        self.ended = False

    @property
    def run_id(self) -> Any:
        return self.manager.run_id

    def stream(self, value: Any) -> None:
        for h in self.children.handlers:  # streaming handlers (astream_events) see the output as a chunk
            tap = getattr(h, "tap_output_iter", None)
            if tap is not None and getattr(type(h), "__module__", "") != __name__:
                for _ in tap(self.manager.run_id, iter((value,))):
                    pass

    def end(self, value: Any, stream: bool = True) -> None:
        if stream:
            self.stream(value)
        self.ended = True
        self.manager.on_chain_end(value)

    def error(self, exc: BaseException) -> None:
        self.ended = True
        self.manager.on_chain_error(exc)

    async def aend(self, value: Any) -> None:
        self.ended = True
        await self.manager.on_chain_end(value)

    async def aerror(self, exc: BaseException) -> None:
        self.ended = True
        await self.manager.on_chain_error(exc)

    async def aend_child(self, value: Any) -> None:
        """End a run started by :func:`start_child` from async code (async handlers are awaited)."""
        from langchain_core.callbacks.manager import AsyncCallbackManagerForChainRun

        m = self.manager
        self.ended = True
        await AsyncCallbackManagerForChainRun(
            run_id=m.run_id, handlers=m.handlers, inheritable_handlers=m.inheritable_handlers,
            parent_run_id=m.parent_run_id, tags=m.tags, inheritable_tags=m.inheritable_tags,
            metadata=m.metadata, inheritable_metadata=m.inheritable_metadata).on_chain_end(value)


def wants_callbacks(config: Any) -> bool:
    return bool(config) and bool(config.get("callbacks")) and available()


def _configure(config: Any, is_async: bool) -> Any:
    from langchain_core.callbacks.manager import AsyncCallbackManager, CallbackManager

    cls = AsyncCallbackManager if is_async else CallbackManager
    metadata = dict(config.get("metadata") or {})
    for k, v in (config.get("configurable") or {}).items():  # as LangGraph's ensure_config does
        if not str(k).startswith("__") and isinstance(v, (str, int, float, bool)) and k not in metadata:
            metadata[k] = v
    metadata.setdefault("ls_integration", "langgraph")
    return cls.configure(inheritable_callbacks=config.get("callbacks"), inheritable_tags=config.get("tags"),
                         inheritable_metadata=metadata)


def root_name(config: Any) -> str:
    return str(config.get("run_name") or "LangGraph")


def start_root(config: Any, input: Any) -> Trace | None:
    """The invocation's root chain run, when ``config`` has callbacks (sync callers)."""
    if not wants_callbacks(config):
        return None
    rm = _configure(config, False).on_chain_start(None, input, name=root_name(config), run_id=config.get("run_id"))
    return Trace(rm)


async def astart_root(config: Any, input: Any) -> Trace | None:
    """:func:`start_root` for async callers (awaits async handlers such as ``astream_events``'s)."""
    if not wants_callbacks(config):
        return None
    rm = await _configure(config, True).on_chain_start(None, input, name=root_name(config),
                                                       run_id=config.get("run_id"))
    return Trace(rm)


def sync_manager(children: Any) -> Any:
    """The same callback manager in its sync flavour (the engine calls handlers from sync code)."""
    from langchain_core.callbacks.manager import CallbackManager

    if isinstance(children, CallbackManager):
        return children
    return CallbackManager(handlers=children.handlers, inheritable_handlers=children.inheritable_handlers,
                           parent_run_id=children.parent_run_id, tags=children.tags,
                           inheritable_tags=children.inheritable_tags, metadata=children.metadata,
                           inheritable_metadata=children.inheritable_metadata)


def start_child(parent: Any, name: str, inputs: Any, tags: tuple[str, ...] = (), metadata: dict | None = None) -> Trace:
    """A child chain run of the callback manager ``parent`` (the entrypoint body, or a task call)."""
    manager = sync_manager(parent).copy()
    if tags:
        manager.add_tags(list(tags), inherit=False)
    if metadata:
        manager.add_metadata(metadata, inherit=False)
    return Trace(manager.on_chain_start(None, inputs, name=name))


def task_inputs(func: Any, args: tuple, kwargs: dict) -> Any:
    """A task call's inputs as a tracer shows them: its arguments by parameter name."""
    try:
        return dict(inspect.signature(func).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {"args": args, "kwargs": kwargs}


def bind(ctx: Context | None, trace: Trace) -> Any:
    """Make LangChain calls made in ``ctx`` (or here) children of ``trace``; returns a reset token."""
    from langchain_core.runnables.config import var_child_runnable_config

    current = (ctx.run(var_child_runnable_config.get) if ctx is not None else var_child_runnable_config.get()) or {}
    config: Any = {**current, "callbacks": sync_manager(trace.children)}
    if ctx is not None:
        return ctx.run(var_child_runnable_config.set, config)
    return var_child_runnable_config.set(config)


def reset(token: Any) -> None:
    from langchain_core.runnables.config import var_child_runnable_config

    var_child_runnable_config.reset(token)
