"""LangGraph's ``invoke`` / ``stream`` surface, pure: the keyword arguments, the chunk shapes, what invoke returns.

:func:`check_options` checks the keyword arguments LangGraph 1.2.22 takes (any other is a
``TypeError`` naming it); :func:`shape` turns one run event into the chunks a stream yields
(``version="v1"`` values or tuples, ``version="v2"`` parts ``{"type", "ns", "data"}``, printing
the ``print_mode`` ones); :func:`final_output` and :func:`collect` are what ``invoke`` returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import events as ev
from ..events import INTERRUPT_KEY
from ..kinds import Durability
from ..types import GraphOutput
from .deprecations import warn_deprecated_argument


def shape(event: Any, modes: tuple[str, ...], single: bool, subgraphs: bool, v2: bool = False,
           print_modes: tuple[str, ...] = ()) -> list[Any]:
    ns = event.ns
    if ns and not subgraphs and type(event) not in (ev.Custom, ev.Message, ev.Tool):
        return []
    out: list[Any] = []
    for mode, chunk in ev.to_chunks(event, (*modes, *print_modes) if print_modes else modes):
        if mode in print_modes:
            print(f"[{mode}]" + (f" [graph={ns}]" if subgraphs and ns else "") + f" {chunk!r}")
        if mode not in modes:
            continue
        if v2:
            out.append(part(mode, ns, chunk))
            continue
        item = chunk if single else (mode, chunk)
        if subgraphs:
            item = (ns, item) if single else (ns, mode, chunk)
        out.append(item)
    return out


def part(mode: str, ns: tuple[str, ...], chunk: Any) -> dict:
    """A ``version="v2"`` stream part: ``{"type", "ns", "data"}`` (values parts also carry ``interrupts``)."""
    if mode == "values":
        interrupts: tuple = ()
        if isinstance(chunk, dict) and INTERRUPT_KEY in chunk:
            chunk = dict(chunk)
            interrupts = tuple(chunk.pop(INTERRUPT_KEY))
        return {"type": mode, "ns": ns, "data": chunk, "interrupts": interrupts}
    return {"type": mode, "ns": ns, "data": chunk}


# LangGraph's keyword arguments to invoke/stream that nbflow accepts; anything else is a TypeError.
_VERSIONS = ("v1", "v2")


@dataclass(frozen=True, slots=True)
class StreamOptions:
    v2: bool
    print_modes: tuple[str, ...]
    durability: Durability = Durability.SYNC


def check_options(who: str, kwargs: dict, durability: Any, interrupt_before: Any, interrupt_after: Any,
             version: str, print_mode: Any, debug: bool | None = None) -> StreamOptions:
    """Check the keyword arguments of invoke/ainvoke/stream/astream the way LangGraph 1.2.22 takes them."""
    if "checkpoint_during" in kwargs:
        checkpoint_during = kwargs.pop("checkpoint_during")
        warn_deprecated_argument("checkpoint_during", "durability")
        if durability is not None:
            raise ValueError("Cannot use both `checkpoint_during` and `durability` parameters. "
                             "Please use `durability` instead.")
        durability = "async" if checkpoint_during else "exit"
    if kwargs:
        names = ", ".join(repr(k) for k in sorted(kwargs))
        raise TypeError(f"{who}() got unexpected keyword argument(s) {names}. It takes LangGraph's: context, "
                        "stream_mode, print_mode, output_keys, durability, control, version"
                        + (", subgraphs, debug" if "stream" in who else "") + ".")
    if durability not in (None, "sync", "async", "exit"):
        raise ValueError(f"{who}(durability={durability!r}): choose 'sync', 'async' or 'exit'")
    for name, value in (("interrupt_before", interrupt_before), ("interrupt_after", interrupt_after)):
        if value:
            raise NotImplementedError(
                f"{who}({name}=...) pauses before/after Graph API nodes; an @entrypoint has none. "
                "Call interrupt() inside the entrypoint or a task where the run should pause."
            )
    if version not in _VERSIONS:
        raise ValueError(f"{who}(version={version!r}): choose 'v1' or 'v2'")
    if debug:
        print_mode = ("updates", "values")
    print_modes = (print_mode,) if isinstance(print_mode, str) else tuple(print_mode or ())
    if print_modes:
        ev.normalize_modes(list(print_modes))
    return StreamOptions(version == "v2", print_modes, Durability(durability or Durability.SYNC))


def final_output(outcome: Any, version: str) -> Any:
    if version == "v2":
        interrupts = tuple(outcome.interrupts) if outcome.status == "interrupted" else ()
        return GraphOutput({} if interrupts else outcome.value, interrupts)
    if outcome.status == "interrupted":
        return {INTERRUPT_KEY: list(outcome.interrupts)}
    return outcome.value


def collect(chunks: Iterator[Any], stream_mode: Any, version: str) -> Any:
    """What invoke() returns when it streams: the last value for ``values``, else every chunk."""
    if stream_mode != "values":
        return list(chunks)
    latest, interrupts = None, ()
    for chunk in chunks:
        if version == "v2":
            latest, interrupts = chunk["data"], chunk.get("interrupts", ()) or interrupts
        else:
            latest = chunk
    if version == "v2":
        return GraphOutput(latest, tuple(interrupts))
    return latest


def result_of(event: Any, last: Any) -> Any:
    """The invocation's output once ``event`` has passed (what the root chain run ends with)."""
    if not event.ns:
        if type(event) is ev.RunEnd:
            return event.value
        if type(event) is ev.RunInterrupted:
            return {INTERRUPT_KEY: list(event.interrupts)}
    return last


__all__ = ["StreamOptions", "check_options", "shape", "part", "final_output", "collect", "result_of"]
