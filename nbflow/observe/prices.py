"""The price table for model calls, set by the user (no network look-up), and the cost of one call; pure.

``set_prices({"gpt-4o": {"input": 2.5, "output": 10.0, "cache_read": 1.25}})`` prices a model in US
dollars **per million tokens**. A key ending in ``*`` prices every model whose name starts with the
rest (``"claude-3-5-*"``); an exact name wins over a prefix, a longer prefix over a shorter one.
``cache_read`` tokens (part of the input tokens, as LangChain's ``usage_metadata`` counts them)
are billed at the ``cache_read`` price when it is given, else at the input price. Reasoning tokens
are part of the output tokens and billed with them.

JupyterLab's setting *nbflow → Model prices* reaches the kernels the Workflows sidebar talks to as
**default** prices (:func:`set_default_prices`): a model priced with ``set_prices`` in code keeps
that price.

The cost of a call is worked out when the call is recorded (:func:`cost_of`) and stored with it, so
a saved notebook or a new kernel shows what the call cost at the time, with no table set.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

from ..errors import PriceTableError

PER_TOKENS = 1_000_000  # prices are per million tokens
FIELDS = ("input", "output", "cache_read")

_prices: dict[str, dict[str, float]] = {}
_prefixes: tuple[tuple[str, dict[str, float]], ...] = ()  # longest first
_defaults: dict[str, dict[str, float]] = {}  # the Lab setting's table: used for models _prices lacks
_default_prefixes: tuple[tuple[str, dict[str, float]], ...] = ()
_lock = threading.Lock()


def _entry(model: Any, entry: Any) -> dict[str, float]:
    if not isinstance(model, str) or not model:
        raise PriceTableError(f"set_prices(): a model name must be a non-empty string, not {model!r}")
    if not isinstance(entry, Mapping):
        raise PriceTableError(f"set_prices(): the price of {model!r} must be a dict such as "
                              f"{{'input': 2.5, 'output': 10.0}} (US dollars per million tokens), not {entry!r}")
    unknown = [k for k in entry if k not in FIELDS]
    if unknown:
        raise PriceTableError(f"set_prices(): unknown price field(s) {unknown} for {model!r}; use {list(FIELDS)}")
    out: dict[str, float] = {}
    for k, v in entry.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise PriceTableError(f"set_prices(): {model!r} {k!r} must be a non-negative number of US dollars "
                                  f"per million tokens, not {v!r}")
        out[k] = float(v)
    if "input" not in out and "output" not in out:
        raise PriceTableError(f"set_prices(): {model!r} needs an 'input' or 'output' price")
    return out


def set_prices(table: Mapping[str, Mapping[str, float]], *, replace: bool = False) -> None:
    """Price models in US dollars per million tokens (merged into the table, or replacing it).

    ``set_prices({"gpt-4o-mini": {"input": 0.15, "output": 0.6}, "claude-*": {"input": 3, "output": 15}})``.
    Calls recorded from now on carry their cost; ``set_prices({}, replace=True)`` clears the table.
    """
    global _prices, _prefixes
    if not isinstance(table, Mapping):
        raise PriceTableError(f"set_prices() takes a dict {{model: {{'input': usd, 'output': usd}}}}, not {table!r}")
    checked = {m: _entry(m, e) for m, e in table.items()}
    with _lock:
        prices = {} if replace else dict(_prices)
        prices.update(checked)
        _prices = prices
        _prefixes = _prefixes_of(prices)


def _prefixes_of(prices: dict[str, dict[str, float]]) -> tuple[tuple[str, dict[str, float]], ...]:
    return tuple(sorted(((k[:-1], v) for k, v in prices.items() if k.endswith("*")), key=lambda kv: -len(kv[0])))


def set_default_prices(table: Mapping[str, Mapping[str, float]]) -> None:
    """Replace the default price table (JupyterLab's *Model prices* setting); ``set_prices`` entries win."""
    global _defaults, _default_prefixes
    if not isinstance(table, Mapping):
        raise PriceTableError(f"the default prices must be a dict {{model: {{'input': usd, ...}}}}, not {table!r}")
    checked = {m: _entry(m, e) for m, e in table.items()}
    with _lock:
        _defaults, _default_prefixes = checked, _prefixes_of(checked)


def get_prices() -> dict[str, dict[str, float]]:
    """A copy of the price table."""
    return {k: dict(v) for k, v in _prices.items()}


def price_of(model: str) -> dict[str, float] | None:
    """The prices of ``model`` (exact name, else the longest matching ``prefix*``; from ``set_prices``,
    else from the defaults), or None."""
    for exact, prefixes in ((_prices, _prefixes), (_defaults, _default_prefixes)):
        found = exact.get(model)
        if found is not None:
            return found
        for prefix, entry in prefixes:
            if model.startswith(prefix):
                return entry
    return None


def cost_of(model: str, input_tokens: int, output_tokens: int, cache_read_tokens: int = 0) -> float | None:
    """What one call cost in US dollars, or None when ``model`` has no price."""
    if not _prices and not _defaults:
        return None
    p = price_of(model)
    if p is None:
        return None
    inp, out = p.get("input", 0.0), p.get("output", 0.0)
    cached = min(max(cache_read_tokens, 0), input_tokens)
    return ((input_tokens - cached) * inp + cached * p.get("cache_read", inp) + output_tokens * out) / PER_TOKENS


__all__ = ["set_prices", "set_default_prices", "get_prices", "price_of", "cost_of", "PER_TOKENS"]
