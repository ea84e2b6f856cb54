"""Trace context carried into task attempts shipped to a cluster (W3C ``traceparent``), pure until used.

The OpenTelemetry listener (:mod:`.otel`) sets :data:`carrier_hook` while it is on; the engine asks
:func:`carrier_for` for a shipped task's carrier (None when tracing is off: nothing is built), puts
it in the :class:`~nbflow.engine.remote.Shipment`, and the worker :func:`attach`\\ es it around the
task's code, so spans made there (LangChain or HTTP instrumentation, the user's own) are children
of the task's span. OpenTelemetry is imported only when a carrier arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

carrier_hook: Callable[[str], dict[str, str] | None] | None = None  # task_id -> carrier, set by the listener


def carrier_for(task_id: str) -> dict[str, str] | None:
    """The trace context of task ``task_id``'s span, to ship with it (None when nobody traces)."""
    hook = carrier_hook
    return hook(task_id) if hook is not None else None


def attach(carrier: dict[str, str] | None) -> Any:
    """Make ``carrier``'s span the current one here; returns a token for :func:`detach` (None: nothing done)."""
    if not carrier:
        return None
    try:
        from opentelemetry import context, propagate
    except ImportError:  # the worker has no OpenTelemetry: its spans cannot be joined anyway
        return None
    return context.attach(propagate.extract(carrier))


def detach(token: Any) -> None:
    if token is not None:
        from opentelemetry import context

        context.detach(token)


__all__ = ["carrier_hook", "carrier_for", "attach", "detach"]
