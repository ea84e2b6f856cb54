"""Active and waiting time of one invocation, read from its stored records: one definition for every view.

The run view's header (once its run settles, and after a Reattach), the saved view and the timeline all
take their numbers from :func:`invocation_times`, so a saved notebook and the live view of the same run
never disagree. Waiting is time the run spent waiting for a human: from a stamped run-level interrupt to
the resume that answered it (``Invocation.waits``), from a task's interrupt to the next task start, and
the idle stretch before a restart (a re-run of a waiting invocation, a continue after a stop or a crash)
that replays the invocation's tasks. Active is the rest of the invocation's span.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Times:
    """Seconds an invocation was active (its code ran) and spent waiting for answers."""

    active: float
    waiting: float


def waiting_gaps(inv: Any) -> list[tuple[float, float]]:
    """Stretches of an invocation spent waiting for a human (or idle before a restart), merged, in order."""
    gaps = [(a, b) for a, b in getattr(inv, "waits", ()) if b is not None and b > a]
    asked = [a for a, _b in getattr(inv, "waits", ())]
    starts = sorted(t.started_at for t in inv.tasks if t.started_at is not None)
    for t in inv.tasks:
        if t.outcome != "interrupted" or t.ended_at is None:
            continue
        later = [x for x in starts if x >= t.ended_at]
        end = later[0] if later else (inv.ended_at if inv.status != "interrupted" else None)
        if end is not None and end > t.ended_at:
            gaps.append((t.ended_at, end))
    # The invocation was entered again (a resume of a question the entrypoint itself asked, a re-run of a
    # waiting invocation, a continue after a stop or a crash): its earlier tasks are replayed, and the time
    # between the last sign of work before (a task's end, the stamped question) and that restart was not
    # active (issue 21: a re-run of a waiting invocation showed "44.0 s active" for a 0.03 s invocation).
    # A fork's copied results keep their original (earlier) times: only work done in this invocation counts.
    if any(t.outcome == "replayed" for t in inv.tasks):
        done = [t for t in inv.tasks if t.outcome != "replayed" and t.ended_at is not None
                and t.started_at is not None and t.started_at >= inv.started_at]
        for r in sorted({t.started_at for t in inv.tasks if t.outcome == "replayed" and t.started_at is not None}):
            before = [t.ended_at for t in done if t.ended_at <= r] + [a for a in asked if a <= r]
            if not before and not inv.answers:
                continue  # replayed as the invocation began (a fork, time travel): not a restart
            start = max(before) if before else inv.started_at
            if r > start:
                gaps.append((start, r))
    merged: list[tuple[float, float]] = []
    for g in sorted(gaps):
        if merged and g[0] <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], g[1]))
        else:
            merged.append(g)
    return merged


def active_clock(inv: Any, gaps: list[tuple[float, float]]) -> Callable[[float], float]:
    """Seconds since the invocation started, leaving out the human's waiting time."""
    t0 = inv.started_at

    def clock(x: float) -> float:
        waited = sum(min(b, x) - a for a, b in gaps if a < x)
        return x - t0 - waited

    return clock


def invocation_times(inv: Any, gaps: list[tuple[float, float]] | None = None) -> Times:
    """Active and waiting seconds of a stored invocation (waiting: only stretches that ended); ``gaps``: its
    :func:`waiting_gaps`, when the caller has them already."""
    if gaps is None:
        gaps = waiting_gaps(inv)
    active = max(0.0, active_clock(inv, gaps)(inv.ended_at or inv.started_at))
    return Times(active, sum(b - a for a, b in gaps))


__all__ = ["Times", "active_clock", "invocation_times", "waiting_gaps"]
