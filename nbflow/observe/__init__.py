"""What the model did, as part of the record: usage and cost per task attempt, and OpenTelemetry export.

* :mod:`.usage` -- :class:`ModelUsage` (one model call: model, tokens, latency, cost) and
  :class:`UsageTotals` (a roll-up per task, invocation or thread); pure.
* :mod:`.prices` -- the price table :func:`set_prices` fills (no network look-up); pure.
* :mod:`.propagate` -- trace context carried into tasks shipped to a cluster.
* :mod:`.otel` -- the OpenTelemetry listener on the process-wide tap (``pip install 'nbflow[otel]'``);
  imported on demand only, so ``import nbflow`` never imports OpenTelemetry.
"""

from .prices import get_prices, set_prices
from .usage import ModelUsage, UsageTotals, totals

__all__ = ["ModelUsage", "UsageTotals", "totals", "set_prices", "get_prices"]
