"""The stream driver: a run executed in the background while its events are consumed, written once.

A run's events go to its sink (:class:`~nbflow.engine.parts.Emitter`); a stream is that sink
feeding a queue that the caller drains. :class:`Pump` is the one piece both ends share: it
executes the run and, whatever happens, puts a final :class:`Done` after the last event (carrying
the run's error when the consumer should raise it). The two ends differ only in their queue and
where the run executes:

* :func:`events` (``stream``, ``stream_events``, the notebook views): the run on a thread of its
  own, the caller iterating a ``queue.SimpleQueue``;
* :func:`aevents` (``astream``): the run as a task on the caller's event loop, events put on an
  ``asyncio.Queue`` from whatever thread produced them.

``make_run(sink)`` builds and prepares the run with the queue's ``put`` as its sink, so an error
found before the run starts (a bad config, a resume that fits nothing) raises in the caller.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .outcome import run_async, run_blocking


@dataclass(frozen=True, slots=True)
class Done:
    """The end of a stream: ``error`` is the run's exception when the consumer raises it, else None."""

    error: BaseException | None


@dataclass(frozen=True, slots=True)
class Pump:
    """A run whose events, and then a final :class:`Done`, go to ``put``."""

    run: Any  # a prepared nbflow.engine.run.Run
    put: Callable[[Any], None]
    raise_errors: bool

    def _finish(self, _run: Any, get: Callable[[], Any]) -> None:
        try:
            get()
        except BaseException as e:  # noqa: BLE001 - re-raised by the consumer, or reported as RunError
            self.put(Done(e if self.raise_errors else None))
            return
        self.put(Done(None))

    def execute_blocking(self) -> None:
        run_blocking(self.run.work().then(self._finish), self.run)

    async def execute_async(self) -> None:
        await run_async(self.run.work().then(self._finish), self.run)


def events(make_run: Callable[[Callable[[Any], None]], Any], *, raise_errors: bool, name: str) -> Iterator[Any]:
    """The run's events as they happen, the run executing on a thread of its own (named ``name``).

    With ``raise_errors`` the run's error is raised after its last event; without, the stream just
    ends (the error is the final ``RunError`` event).
    """
    q: queue.SimpleQueue = queue.SimpleQueue()
    run = make_run(q.put)
    threading.Thread(target=Pump(run, q.put, raise_errors).execute_blocking, name=name, daemon=True).start()
    return _drain(q)


def _drain(q: queue.SimpleQueue) -> Iterator[Any]:
    while True:
        item = q.get()
        if isinstance(item, Done):
            if item.error is not None:
                raise item.error
            return
        yield item


async def aevents(make_run: Callable[[Callable[[Any], None]], Any]) -> AsyncIterator[Any]:
    """The run's events as they happen, the run executing as a task on the running event loop.

    Events reach the consumer on the loop's next turn, whoever produced them (the loop's own code or a
    worker thread of a sync task). The run's error is raised after its last event. Closing the
    iterator early waits for the run to end.
    """
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()
    owner = threading.get_ident()

    def put(item: Any) -> None:
        if threading.get_ident() == owner:
            loop.call_soon(q.put_nowait, item)
        else:
            loop.call_soon_threadsafe(q.put_nowait, item)

    run = make_run(put)
    driver = asyncio.ensure_future(Pump(run, put, True).execute_async())
    try:
        while True:
            item = await q.get()
            if isinstance(item, Done):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        if not driver.done():
            await asyncio.wait([driver])


__all__ = ["Done", "Pump", "events", "aevents"]
