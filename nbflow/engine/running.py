"""The top-level invocations in progress in this process, by thread id (for ``Workflow.stop``).

A run adds itself when it starts and removes itself when it concludes; only
runs with a thread id are kept. Nothing else is stored, so a finished run is
never held on to. On a saver other processes read (``leases_shared``), a run
that starts also records its lease, renewed while it runs
(:mod:`nbflow.checkpoint.leases`), so another kernel can tell a run going on
elsewhere from one whose process is gone.

:func:`process_exiting` tells a run that its process is going away (the interpreter's exit has begun:
a Jupyter kernel shut down mid-run, a script's main thread returned while a run went on in a daemon
thread). What fails then (IPython clears the notebook's names at exit, executors refuse new work) is not
the code's failure: the engine records nothing for it, so the run reads "stopped without finishing"
once the process is gone, with ``invoke(None, config)`` to continue it, as after a crash.
"""

from __future__ import annotations

import atexit
import sys
import threading

from ..checkpoint.base import BaseCheckpointSaver
from ..checkpoint.leases import KEEPER
from .parts import RunHost

_exiting = threading.Event()
_exit_watched = False


def _watch_exit() -> None:
    """Note the start of the interpreter's exit. Registered when the first run starts, so (atexit runs its
    handlers last-registered first) before IPython's own exit handler clears the notebook's names."""
    global _exit_watched
    if not _exit_watched:
        _exit_watched = True
        atexit.register(_exiting.set)


def process_exiting() -> bool:
    """True once this process has begun to exit (see the module docstring)."""
    return _exiting.is_set() or sys.is_finalizing()


class Running:
    """The top-level runs in progress, by thread id, so Workflow.stop(config) can find them.

    Lock-free: each step is one dict or set operation, atomic under the GIL, so a run pays
    well under a microsecond to be findable. A thread id keeps its (possibly empty) set.
    """

    def __init__(self) -> None:
        self._by_thread: dict[str, set[RunHost]] = {}

    def add(self, run: RunHost) -> None:
        if not _exit_watched:
            _watch_exit()
        runs = self._by_thread.get(run.ctx.thread_id)  # type: ignore[arg-type]
        if runs is None:
            runs = self._by_thread.setdefault(run.ctx.thread_id, set())  # type: ignore[arg-type]
        runs.add(run)
        saver = run.ctx.saver
        if saver is not None and saver.leases_shared:
            KEEPER.hold(run, saver, run.ctx.thread_id, run.ctx.ns_str,  # type: ignore[arg-type]
                        getattr(run, "lease_written", None))

    def discard(self, run: RunHost) -> None:
        runs = self._by_thread.get(run.ctx.thread_id)  # type: ignore[arg-type]
        if runs is not None:
            runs.discard(run)
        KEEPER.release(run)

    def on_thread(self, thread_id: str, saver: BaseCheckpointSaver | None) -> list[RunHost]:
        return [r for r in list(self._by_thread.get(thread_id, ())) if r.ctx.saver is saver]


RUNNING = Running()


def running_on(thread_id: str, saver: BaseCheckpointSaver | None) -> list[RunHost]:
    """The invocations in progress on ``thread_id`` with this saver (top-level runs)."""
    return RUNNING.on_thread(thread_id, saver)


__all__ = ["Running", "RUNNING", "process_exiting", "running_on"]
