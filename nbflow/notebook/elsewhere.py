"""Follow runs going on in another process: a view that says "running elsewhere" notices when it ends.

Nothing reaches this kernel from a run in another process (no tap events cross processes), so a
thread whose newest run is "running elsewhere" (:mod:`nbflow.checkpoint.leases`) is polled: every
:data:`POLL_EVERY` seconds one thread's signature (its newest run's checkpoint, status, task count, end,
and the lease's verdict) is read from the checkpointer; when it changes, the hub rebuilds the thread
from its records, so every view of it follows (finished, failed, waiting for an answer, or stopped
because that process is gone) without anybody pressing anything. A thread stops being polled as soon
as its newest run is no longer running elsewhere; the poller's thread ends when nothing is left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

POLL_EVERY = 1.0  # seconds between two looks at a thread running in another process

log = logging.getLogger("nbflow.notebook")


class Poller:
    """Polls the lives it watches: ``signature(live)`` each round (None: the run is no longer running elsewhere);
    on None or a change ``changed(live)`` rebuilds the thread and says whether it is still running elsewhere
    (watched on) or not (dropped)."""

    def __init__(self, signature: Callable[[Any], Hashable | None], changed: Callable[[Any], bool],
                 every: float = POLL_EVERY) -> None:
        self.signature, self.changed, self.every = signature, changed, every
        self._watched: dict[Any, Hashable] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, live: Any) -> None:
        """Poll ``live`` (idempotent) until its newest run is no longer running elsewhere."""
        with self._lock:
            if live in self._watched:
                return
            self._watched[live] = _UNREAD
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="nbflow-elsewhere-poller", daemon=True)
                self._thread.start()

    def watching(self, live: Any) -> bool:
        with self._lock:
            return live in self._watched

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                watched = list(self._watched.items())
                if not watched:
                    self._thread = None
                    return
            for live, last in watched:
                try:
                    sig = self.signature(live)
                    keep = True
                    if sig is None or (last is not _UNREAD and sig != last):
                        keep = self.changed(live)
                except Exception:
                    log.debug("nbflow: polling a thread running elsewhere failed", exc_info=True)
                    continue
                with self._lock:
                    if keep:
                        self._watched[live] = sig
                    else:
                        self._watched.pop(live, None)


_UNREAD = object()  # no signature read yet: the first one read is the baseline

__all__ = ["POLL_EVERY", "Poller"]
