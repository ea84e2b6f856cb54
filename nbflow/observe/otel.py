"""Runs as OpenTelemetry spans: one more listener on the process-wide tap (``pip install 'nbflow[otel]'``).

``nbflow.observe.otel.instrument()`` subscribes an :class:`OtelListener` to :mod:`nbflow.tap`; until
then nothing here is imported and a run pays nothing (the tap is free when nobody listens).
``listener.close()`` unsubscribes it. Spans go to the tracer provider given, else the global one
(set up with the SDK: a ``BatchSpanProcessor`` and an ``OTLPSpanExporter`` to Phoenix, Langfuse,
MLflow, Jaeger...).

What becomes a span (attributes follow the OpenTelemetry GenAI semantic conventions, pinned at
:data:`SEMCONV_VERSION`; nbflow's own under ``nbflow.*``):

* **an invocation** (each top-level run: a new input, a resume, a continue) -- ``invoke_agent
  {workflow}``, ``gen_ai.operation.name = "invoke_agent"``, ``gen_ai.agent.name`` = the workflow,
  ``gen_ai.conversation.id`` = the thread id, plus ``nbflow.thread_id``, ``nbflow.checkpoint_id``,
  ``nbflow.workflow``, ``nbflow.status`` and the invocation's usage summed (``nbflow.usage.*``).
  A resume's span is **linked** to the interrupt spans it answers.
* **a task call** -- ``task {name}``, a child of its caller's span (the invocation or the task that
  called it), with ``nbflow.task.*`` attributes; retried attempts are events (``retry``), a cache
  hit (``cache_hit``) and a result served from the checkpoint (``replayed``) are events on a
  zero-length span.
* **a model call** made by the task -- ``chat {model}``, ``gen_ai.operation.name = "chat"``,
  ``gen_ai.request.model`` / ``gen_ai.response.model``, ``gen_ai.provider.name``,
  ``gen_ai.usage.input_tokens`` / ``gen_ai.usage.output_tokens`` (cache-read, reasoning tokens and
  cost as ``nbflow.usage.*``), timed as the call was (from its usage record).
* **an interrupt** -- ``interrupt {task}``, when the run pauses, with ``nbflow.interrupt.id``.

Inputs and outputs are **not** recorded unless ``capture_payloads=True``; then they are summarized
(:func:`nbflow.serde.summarize`: no user ``__repr__`` runs) to at most ``max_payload_chars``.

Tasks shipped to a Dask cluster carry their span's trace context (:mod:`.propagate`): spans made
in the worker join the task's trace.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import events as ev
from .. import tap
from ..errors import OtelUnavailableError
from ..serde import summarize
from . import propagate
from .usage import totals

SEMCONV_VERSION = "1.37.0"  # the GenAI semantic conventions these attribute names follow
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
SCOPE = "nbflow"


def _ns(ts: float) -> int:
    return int(ts * 1e9)


class OtelListener:
    """Folds the tap's events into spans (see the module docstring). Thread-safe; quick per event."""

    def __init__(self, tracer_provider: Any = None, *, capture_payloads: bool = False,
                 max_payload_chars: int = 2000) -> None:
        try:
            from opentelemetry import trace
            from opentelemetry.trace import Link, SpanKind, Status, StatusCode
        except ImportError as e:  # pragma: no cover - the otel extra is part of the test install
            raise OtelUnavailableError("OpenTelemetry export needs the SDK: pip install 'nbflow[otel]'") from e
        self._trace, self._Link, self._Status, self._StatusCode = trace, Link, Status, StatusCode
        self._internal, self._client = SpanKind.INTERNAL, SpanKind.CLIENT
        provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self.tracer = provider.get_tracer(SCOPE, schema_url=SCHEMA_URL)
        self.capture_payloads = capture_payloads
        self.max_payload_chars = max(16, int(max_payload_chars))
        self._lock = threading.Lock()
        self._runs: dict[int, dict] = {}         # tap run number -> {"span", "usage": [...], ...}
        self._tasks: dict[tuple, Any] = {}       # (run, ns, task_id) -> span
        self._by_task_id: dict[str, Any] = {}    # task_id -> span (trace context for shipped tasks)
        self._asked: dict[str, Any] = {}         # interrupt id -> its span's context (to link the resume)
        self._unsubscribe = tap.subscribe(self)
        propagate.carrier_hook = self.carrier
        self.closed = False

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Stop listening (spans still open are ended as they are)."""
        if self.closed:
            return
        self.closed = True
        self._unsubscribe()
        if propagate.carrier_hook == self.carrier:
            propagate.carrier_hook = None
        with self._lock:
            spans = [r["span"] for r in self._runs.values()] + list(self._tasks.values())
            self._runs.clear()
            self._tasks.clear()
            self._by_task_id.clear()
        for s in spans:
            s.end()

    def __enter__(self) -> OtelListener:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def carrier(self, task_id: str) -> dict[str, str] | None:
        """The W3C trace context of task ``task_id``'s span (shipped with it to a cluster)."""
        span = self._by_task_id.get(task_id)
        if span is None:
            return None
        from opentelemetry import propagate as otel_propagate

        carrier: dict[str, str] = {}
        otel_propagate.inject(carrier, context=self._trace.set_span_in_context(span))
        return carrier

    # ------------------------------------------------------------------ the tap
    def __call__(self, item: tap.TapEvent) -> None:
        handler = _HANDLERS.get(type(item.event))
        if handler is not None:
            handler(self, item, item.event)

    def _payload(self, value: Any) -> str:
        return summarize(value, self.max_payload_chars)

    def _run_start(self, item: tap.TapEvent, e: ev.RunStart) -> None:
        if e.ns:
            return
        links = []
        if e.answers:
            with self._lock:
                for iid in e.answers:
                    ctx = self._asked.pop(iid, None)
                    if ctx is not None:
                        links.append(self._Link(ctx, {"nbflow.interrupt.id": iid}))
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": item.workflow,
            "nbflow.workflow": item.workflow, "nbflow.resuming": bool(e.resuming),
            "nbflow.checkpoint_id": e.checkpoint_id, "nbflow.run": item.run}
        if item.thread_id is not None:
            attrs["gen_ai.conversation.id"] = attrs["nbflow.thread_id"] = str(item.thread_id)
        if e.answers:
            attrs["nbflow.answers"] = len(e.answers)
        if self.capture_payloads and not e.resuming:
            attrs["nbflow.input"] = self._payload(e.input)
        span = self.tracer.start_span(f"invoke_agent {item.workflow}", kind=self._internal, attributes=attrs,
                                      links=links, start_time=_ns(e.ts))
        with self._lock:
            self._runs[item.run] = {"span": span, "usage": []}

    def _parent(self, item: tap.TapEvent, ns: tuple, path: str) -> Any:
        run = self._runs.get(item.run)
        if "." in path:  # called by another task: that task's span
            caller = self._tasks.get((item.run, ns, path.rsplit(".", 1)[0]))
            if caller is not None:
                return caller
        return run["span"] if run is not None else None

    def _task_start(self, item: tap.TapEvent, e: ev.TaskStart) -> None:
        self._open_task(item, e.ns, e.task_id, e.name, e.path, e.step, e.ts, e.input)

    def _open_task(self, item: tap.TapEvent, ns: tuple, task_id: str, name: str, path: str, step: int, ts: float,
                   value: Any = None) -> Any:
        with self._lock:
            parent = self._parent(item, ns, path)
        attrs: dict[str, Any] = {"nbflow.task.name": name, "nbflow.task.id": task_id, "nbflow.task.path": path,
                                 "nbflow.step": step, "nbflow.workflow": item.workflow}
        if ns:
            attrs["nbflow.namespace"] = "|".join(ns)
        if item.thread_id is not None:
            attrs["nbflow.thread_id"] = str(item.thread_id)
        if self.capture_payloads and value is not None:
            attrs["nbflow.input"] = self._payload(value)
        ctx = self._trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(f"task {name}", context=ctx, kind=self._internal, attributes=attrs,
                                      start_time=_ns(ts))
        with self._lock:
            self._tasks[(item.run, ns, path)] = span
            self._by_task_id[task_id] = span
        return span

    def _task_end(self, item: tap.TapEvent, e: ev.TaskEnd) -> None:
        with self._lock:
            span = self._tasks.pop((item.run, e.ns, e.path), None)
            self._by_task_id.pop(e.task_id, None)
        if span is None:  # cached or replayed: no TaskStart came
            span = self._open_task(item, e.ns, e.task_id, e.name, e.path, e.step, e.started)
            with self._lock:
                self._tasks.pop((item.run, e.ns, e.path), None)
                self._by_task_id.pop(e.task_id, None)
        if e.replayed:
            span.set_attribute("nbflow.task.replayed", True)
            span.add_event("replayed", {"nbflow.note": "result served from the checkpoint"}, _ns(e.ended))
        elif e.cached:
            span.set_attribute("nbflow.task.cached", True)
            span.add_event("cache_hit", timestamp=_ns(e.ended))
        if e.attempts > 1:
            span.set_attribute("nbflow.task.attempts", e.attempts)
            for attempt, kind, message, ts in e.retries:  # each failed attempt: what it raised, and when
                span.add_event("retry", {"nbflow.attempt": attempt, "error.type": kind, "exception.message": message},
                               _ns(ts))
        if e.usage:
            self._model_spans(span, e.usage)
            _usage_attrs(span, e.usage)
            with self._lock:
                run = self._runs.get(item.run)
                if run is not None:
                    run["usage"].extend(e.usage)
        if e.error is not None:
            span.record_exception(e.error)
            span.set_attribute("error.type", type(e.error).__qualname__)
            span.set_status(self._Status(self._StatusCode.ERROR, str(e.error)[:200]))
        elif e.interrupts:
            span.set_attribute("nbflow.task.interrupted", True)
        elif self.capture_payloads and not e.replayed:
            span.set_attribute("nbflow.output", self._payload(e.result))
        span.end(_ns(max(e.ended, e.started)))

    def _model_spans(self, task_span: Any, usage: tuple) -> None:
        ctx = self._trace.set_span_in_context(task_span)
        for u in usage:
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "chat", "gen_ai.request.model": u.model, "gen_ai.response.model": u.model,
                "gen_ai.usage.input_tokens": u.input_tokens, "gen_ai.usage.output_tokens": u.output_tokens,
                "nbflow.usage.total_tokens": u.total_tokens, "nbflow.attempt": u.attempt}
            if u.provider:
                attrs["gen_ai.provider.name"] = u.provider
            if u.cache_read_tokens:
                attrs["nbflow.usage.cache_read_tokens"] = u.cache_read_tokens
            if u.reasoning_tokens:
                attrs["nbflow.usage.reasoning_tokens"] = u.reasoning_tokens
            if u.cost is not None:
                attrs["nbflow.usage.cost_usd"] = u.cost
            start = u.started_at or None
            span = self.tracer.start_span(f"chat {u.model}", context=ctx, kind=self._client, attributes=attrs,
                                          start_time=_ns(start) if start else None)
            span.end(_ns(start + u.latency_s) if start else None)

    def _interrupted(self, item: tap.TapEvent, e: ev.RunInterrupted) -> None:
        if e.ns:
            return
        run = self._take_run(item)
        parent = run["span"] if run is not None else None
        ctx = self._trace.set_span_in_context(parent) if parent is not None else None
        for intr in e.interrupts:
            attrs: dict[str, Any] = {"nbflow.interrupt.id": intr.id, "nbflow.task.name": getattr(intr, "task", "")}
            if self.capture_payloads:
                attrs["nbflow.interrupt.value"] = self._payload(intr.value)
            span = self.tracer.start_span(f"interrupt {getattr(intr, 'task', '') or item.workflow}", context=ctx,
                                          kind=self._internal, attributes=attrs, start_time=_ns(e.ts))
            span.end(_ns(e.ts))
            with self._lock:
                self._asked[intr.id] = span.get_span_context()
        self._end_run(run, "interrupted", e.ts, usage=e.usage)

    def _take_run(self, item: tap.TapEvent) -> dict | None:
        with self._lock:
            return self._runs.pop(item.run, None)

    def _end_run(self, run: dict | None, status: str, ts: float, error: BaseException | None = None,
                 value: Any = None, has_value: bool = False, usage: tuple = ()) -> None:
        if run is None:
            return
        span = run["span"]
        if usage:  # the entrypoint body's own model calls: chat spans under the invocation
            self._model_spans(span, usage)
            run["usage"].extend(usage)
        span.set_attribute("nbflow.status", status)
        if run["usage"]:
            _usage_attrs(span, run["usage"])
        if error is not None:
            span.record_exception(error)
            span.set_attribute("error.type", type(error).__qualname__)
            span.set_status(self._Status(self._StatusCode.ERROR, str(error)[:200]))
        elif self.capture_payloads and has_value:
            span.set_attribute("nbflow.output", self._payload(value))
        span.end(_ns(ts))

    def _run_end(self, item: tap.TapEvent, e: ev.RunEnd) -> None:
        if not e.ns:
            self._end_run(self._take_run(item), "done", e.ts, value=e.value, has_value=True, usage=e.usage)

    def _run_error(self, item: tap.TapEvent, e: ev.RunError) -> None:
        if not e.ns:
            self._end_run(self._take_run(item), "error", e.ts, e.error, usage=e.usage)

    def _run_halted(self, item: tap.TapEvent, e: ev.RunHalted) -> None:
        if not e.ns:
            self._end_run(self._take_run(item), "stopped", e.ts)


def _usage_attrs(span: Any, usage: Any) -> None:
    t = totals(usage)
    span.set_attribute("nbflow.usage.calls", t.calls)
    span.set_attribute("nbflow.usage.input_tokens", t.input_tokens)
    span.set_attribute("nbflow.usage.output_tokens", t.output_tokens)
    span.set_attribute("nbflow.usage.total_tokens", t.total_tokens)
    if t.calls > t.unpriced:
        span.set_attribute("nbflow.usage.cost_usd", t.cost)


_HANDLERS: dict[type, Any] = {
    ev.RunStart: OtelListener._run_start,
    ev.TaskStart: OtelListener._task_start,
    ev.TaskEnd: OtelListener._task_end,
    ev.RunInterrupted: OtelListener._interrupted,
    ev.RunEnd: OtelListener._run_end,
    ev.RunError: OtelListener._run_error,
    ev.RunHalted: OtelListener._run_halted,
}


def instrument(tracer_provider: Any = None, *, capture_payloads: bool = False,
               max_payload_chars: int = 2000) -> OtelListener:
    """Export every run of this process as spans (see the module docstring); ``.close()`` to stop.

    ``tracer_provider``: where spans go (default: OpenTelemetry's global provider).
    ``capture_payloads``: record inputs, outputs and interrupt values, summarized to ``max_payload_chars``.
    """
    return OtelListener(tracer_provider, capture_payloads=capture_payloads, max_payload_chars=max_payload_chars)


__all__ = ["OtelListener", "instrument", "SEMCONV_VERSION"]
