"""Small helpers the test suites share, and a user's own tests may use: configs and fake clocks.

* :func:`cfg` -- ``{"configurable": {"thread_id": ...}}``, the config every thread-bound call takes;
* :class:`FakeClock` -- a wall clock (epoch seconds) a test moves by hand, for the store's and the
  cache's TTLs (``InMemoryStore(clock=...)``, ``InMemoryCache(clock=...)``);
* :class:`RecordingClock` -- a run clock (``nbflow.executors.Clock``) whose waits return at once and
  are recorded, for retry back-offs (``with nbflow.engine.plugs.using(clock=RecordingClock()): ...``).
"""

from __future__ import annotations

from typing import Any


def cfg(thread_id: Any = "t1", **configurable: Any) -> dict:
    """The config of thread ``thread_id`` (plus any other ``configurable`` keys, e.g. ``checkpoint_id``)."""
    return {"configurable": {"thread_id": thread_id, **configurable}}


class FakeClock:
    """A wall clock in epoch seconds that only moves when the test calls :meth:`advance`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingClock:
    """A run clock that records the waits asked of it and returns at once (``slept``, in order)."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return sum(self.slept)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.slept.append(seconds)


__all__ = ["cfg", "FakeClock", "RecordingClock"]
