"""The top-level invocations in progress in this process, by thread id (for ``Workflow.stop``).

A run adds itself when it starts and removes itself when it concludes; only
runs with a thread id are kept. Nothing else is stored, so a finished run is
never held on to.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..checkpoint.base import BaseCheckpointSaver
    from .run import Run


class Running:
    """The top-level runs in progress, by thread id, so Workflow.stop(config) can find them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_thread: dict[str, list[Run]] = {}

    def add(self, run: Run) -> None:
        with self._lock:
            self._by_thread.setdefault(run.thread_id, []).append(run)  # type: ignore[arg-type]

    def discard(self, run: Run) -> None:
        with self._lock:
            runs = self._by_thread.get(run.thread_id)  # type: ignore[arg-type]
            if runs is not None and run in runs:
                runs.remove(run)
                if not runs:
                    del self._by_thread[run.thread_id]  # type: ignore[arg-type]

    def on_thread(self, thread_id: str, saver: BaseCheckpointSaver | None) -> list[Run]:
        with self._lock:
            return [r for r in self._by_thread.get(thread_id, ()) if r.saver is saver]


RUNNING = Running()


def running_on(thread_id: str, saver: BaseCheckpointSaver | None) -> list[Run]:
    """The invocations in progress on ``thread_id`` with this saver (top-level runs, oldest first)."""
    return RUNNING.on_thread(thread_id, saver)


__all__ = ["Running", "RUNNING", "running_on"]
