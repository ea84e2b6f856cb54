"""Model usage records and their roll-ups, pure.

One :class:`ModelUsage` per model call made by a task attempt: the model's name, its tokens (input,
output, total, and the cache-read and reasoning tokens when the model reports them, as LangChain's
``usage_metadata`` does), how long the call took and what it cost (:mod:`.prices`). The engine
stores a task's calls with the task's own journal row, in the same commit, as a list of plain dicts
(:meth:`ModelUsage.to_dict`), so reading them back is inert and needs nothing imported.

Counting rules: each attempt of a task counts (a retried attempt's calls were made and paid for);
a replayed task counts nothing more (its calls were recorded with the attempt that made them); a
cached result counts nothing.

:class:`UsageTotals` sums records per task, invocation or thread (:func:`totals`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One model call made by a task attempt."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0
    reasoning_tokens: int = 0
    latency_s: float = 0.0
    cost: float | None = None  # US dollars, when the model had a price when the call was recorded
    attempt: int = 1           # which attempt of the task made the call (1, 2, ... with retries)
    provider: str = ""         # "openai", "anthropic"... (LangChain's ls_provider), when known
    started_at: float = 0.0    # seconds since the epoch

    def to_dict(self) -> dict[str, Any]:
        """The stored form: a plain dict (zero fields left out)."""
        d: dict[str, Any] = {"model": self.model, "input_tokens": self.input_tokens,
                             "output_tokens": self.output_tokens, "total_tokens": self.total_tokens,
                             "latency_s": round(self.latency_s, 6), "attempt": self.attempt}
        if self.cache_read_tokens:
            d["cache_read_tokens"] = self.cache_read_tokens
        if self.reasoning_tokens:
            d["reasoning_tokens"] = self.reasoning_tokens
        if self.cost is not None:
            d["cost"] = self.cost
        if self.provider:
            d["provider"] = self.provider
        if self.started_at:
            d["started_at"] = self.started_at
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelUsage:
        """A stored record back (unknown keys ignored; wrong types become zero, never an error)."""
        def num(k: str, kind: type = int) -> Any:
            return _number(d.get(k), kind)
        cost = d.get("cost")
        return cls(str(d.get("model") or ""), num("input_tokens"), num("output_tokens"), num("total_tokens"),
                   num("cache_read_tokens"), num("reasoning_tokens"), num("latency_s", float),
                   _number(cost, float) if _is_number(cost) else None,
                   max(1, num("attempt")), str(d.get("provider") or ""), num("started_at", float))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(v: Any, kind: type = int) -> Any:
    """``v`` as ``kind`` when it is a number (not a flag), else zero: stored and reported counts never raise."""
    return kind(v) if _is_number(v) else kind(0)


def from_usage_metadata(um: Mapping[str, Any] | None, model: str, latency_s: float, attempt: int = 1,
                        provider: str = "", started_at: float = 0.0, cost_of: Any = None) -> ModelUsage:
    """A record from LangChain's ``usage_metadata`` (``input_tokens``, ``output_tokens``, ``total_tokens``,
    ``input_token_details.cache_read``, ``output_token_details.reasoning``); ``cost_of`` prices it."""
    um = um or {}
    n = _number
    inp, out = n(um.get("input_tokens")), n(um.get("output_tokens"))
    total = n(um.get("total_tokens")) or inp + out
    cache = n((um.get("input_token_details") or {}).get("cache_read"))
    reasoning = n((um.get("output_token_details") or {}).get("reasoning"))
    cost = cost_of(model, inp, out, cache) if cost_of is not None else None
    return ModelUsage(model, inp, out, total, cache, reasoning, latency_s, cost, attempt, provider, started_at)


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Model usage summed over some calls (a task, an invocation, a thread).

    ``cost`` sums the calls that had a price; ``unpriced`` counts those that had none (so a
    total that leaves calls out says so). ``models`` lists the models called, first call first.
    """

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0
    reasoning_tokens: int = 0
    latency_s: float = 0.0
    cost: float = 0.0
    unpriced: int = 0
    models: tuple[str, ...] = ()

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return UsageTotals(self.calls + other.calls, self.input_tokens + other.input_tokens,
                           self.output_tokens + other.output_tokens, self.total_tokens + other.total_tokens,
                           self.cache_read_tokens + other.cache_read_tokens,
                           self.reasoning_tokens + other.reasoning_tokens, self.latency_s + other.latency_s,
                           self.cost + other.cost, self.unpriced + other.unpriced,
                           self.models + tuple(m for m in other.models if m not in self.models))

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (what the views send and the static renderings print)."""
        return {"calls": self.calls, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "total_tokens": self.total_tokens, "cache_read_tokens": self.cache_read_tokens,
                "reasoning_tokens": self.reasoning_tokens, "latency_s": round(self.latency_s, 4),
                "cost": round(self.cost, 8), "unpriced": self.unpriced, "models": list(self.models)}

    def describe(self) -> str:
        """One line: ``"3 model calls · 1,234 tokens (1,000 in / 234 out) · $0.0042"``."""
        if not self.calls:
            return "no model calls"
        text = (f"{self.calls} model call{'s' if self.calls != 1 else ''} · {self.total_tokens:,} tokens "
                f"({self.input_tokens:,} in / {self.output_tokens:,} out)")
        if self.calls > self.unpriced:
            text += f" · {format_cost(self.cost)}"
            if self.unpriced:
                text += f" (+{self.unpriced} unpriced)"
        return text


def format_cost(usd: float) -> str:
    """``$0.0042``, ``$1.23``: enough digits to tell small calls apart."""
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd == 0:
        return "$0"
    return f"${usd:.6f}".rstrip("0") if usd < 0.01 else f"${usd:.4f}"


EMPTY = UsageTotals()


def totals(records: Iterable[ModelUsage]) -> UsageTotals:
    """Sum ``records`` into one :class:`UsageTotals`."""
    calls = inp = out = total = cache = reasoning = unpriced = 0
    latency = cost = 0.0
    models: list[str] = []
    for r in records:
        calls += 1
        inp += r.input_tokens
        out += r.output_tokens
        total += r.total_tokens
        cache += r.cache_read_tokens
        reasoning += r.reasoning_tokens
        latency += r.latency_s
        if r.cost is None:
            unpriced += 1
        else:
            cost += r.cost
        if r.model not in models:
            models.append(r.model)
    return UsageTotals(calls, inp, out, total, cache, reasoning, latency, cost, unpriced, tuple(models))


def decode_records(payload: Any) -> tuple[ModelUsage, ...]:
    """The records of a stored usage row's decoded payload (a list of dicts); anything else is no records."""
    if not isinstance(payload, list):
        return ()
    return tuple(ModelUsage.from_dict(d) for d in payload if isinstance(d, Mapping))


__all__ = ["ModelUsage", "UsageTotals", "EMPTY", "from_usage_metadata", "totals", "decode_records", "format_cost"]
