"""How a run's journal rows reach its saver: LangGraph's three ``durability`` modes.

``invoke(..., durability=...)`` (and ``ainvoke`` / ``stream`` / ``astream``) chooses one:

* ``"sync"`` -- nbflow's default. Each row (a task's result, error or interrupt) is committed
  before the run goes on, so the task counts as finished only once it is on disk: a ``kill -9``
  at any moment loses no finished task. Rows of tasks finishing together still share one
  transaction (the savers' group commit).
* ``"async"`` -- LangGraph's default. Rows are handed to a write-behind queue, one per saver,
  whose thread commits them while the run goes on; rows queued meanwhile share the next
  transaction. The run waits for all of its rows before it puts a checkpoint and before it
  returns, pauses or fails, so a run that *returned* is as durable as under ``"sync"``; a crash
  in the middle may lose the last few finished tasks, which then run again on
  ``invoke(None, config)``.
* ``"exit"`` -- rows are kept in memory and written in one batch when the run ends (returns,
  pauses or fails). A crash in the middle loses every task of the invocation since its start.

The run's answers to interrupts (``Command(resume=...)``) and its checkpoints are always written
at once, whatever the mode. A failed write-behind commit is raised by the run when it waits for
its rows (:class:`~nbflow.checkpoint.base.SaverError` from the saver, unchanged).

This module owns the modes and the write-behind queues; :class:`~nbflow.engine.run.Run` calls
:meth:`Journaling.put` for every row and :meth:`Journaling.flush` before checkpoints and at its end.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any, Protocol

from ..kinds import Durability

IDLE_EXIT_S = 2.0  # a write-behind thread with nothing to do for this long ends (a new one starts on demand)


class _Saver(Protocol):
    def put_writes(self, writes: Sequence[Any]) -> None: ...


class Journaling(Protocol):
    """The rows of one invocation (and its nested entrypoints) on their way to the saver."""

    def put(self, rows: list[Any]) -> None: ...

    def flush(self) -> None: ...


class Direct:
    """``sync``: every row is committed before ``put`` returns."""

    __slots__ = ("saver",)

    def __init__(self, saver: _Saver) -> None:
        self.saver = saver

    def put(self, rows: list[Any]) -> None:
        self.saver.put_writes(rows)

    def flush(self) -> None:
        return None


class AtExit:
    """``exit``: rows wait in memory; ``flush`` writes them all in one batch."""

    __slots__ = ("saver", "rows", "lock")

    def __init__(self, saver: _Saver) -> None:
        self.saver = saver
        self.rows: list[Any] = []
        self.lock = threading.Lock()  # tasks on worker threads add rows while a nested run may flush

    def put(self, rows: list[Any]) -> None:
        with self.lock:
            self.rows.extend(rows)

    def flush(self) -> None:
        with self.lock:
            rows, self.rows = self.rows, []
        if rows:
            self.saver.put_writes(rows)


class Behind:
    """``async``: rows go to the saver's write-behind queue; ``flush`` waits for this run's rows."""

    __slots__ = ("queue", "pending", "error")

    def __init__(self, saver: _Saver) -> None:
        self.queue = write_behind(saver)
        self.pending = 0                       # batches of this run queued and not yet committed
        self.error: BaseException | None = None  # the first failed commit of this run's rows

    def put(self, rows: list[Any]) -> None:
        self.queue.submit(rows, self)

    def flush(self) -> None:
        self.queue.wait(self)


class WriteBehind:
    """One saver's queue of rows to commit and the thread committing them, in order of arrival.

    Everything queued when the thread takes its next batch goes to the saver in one
    ``put_writes`` call (one transaction). If that fails and the batch carried rows of several
    runs, each run's rows are tried again on their own, so one run's bad row fails only that run.
    """

    def __init__(self, saver: _Saver) -> None:
        try:  # weakly: the queue is kept per saver in a WeakKeyDictionary and must not keep it alive
            self.saver: Any = weakref.ref(saver)
        except TypeError:
            self.saver = lambda: saver
        self.cond = threading.Condition()
        self.queue: list[tuple[list[Any], Behind]] = []
        self.thread: threading.Thread | None = None

    def submit(self, rows: list[Any], run: Behind) -> None:
        with self.cond:
            run.pending += 1
            self.queue.append((rows, run))
            if self.thread is None:
                self.thread = threading.Thread(target=self._work, name="nbflow-write-behind", daemon=True)
                self.thread.start()
            else:
                self.cond.notify_all()

    def wait(self, run: Behind) -> None:
        with self.cond:
            while run.pending:
                self.cond.wait()
            error, run.error = run.error, None
        if error is not None:
            raise error

    def _work(self) -> None:
        while True:
            with self.cond:
                if not self.queue:
                    self.cond.wait(IDLE_EXIT_S)
                    if not self.queue:
                        self.thread = None
                        return
                batch, self.queue = self.queue, []
            failures = self._commit(batch)
            with self.cond:
                for _rows, run in batch:
                    run.pending -= 1
                    failure = failures.get(id(run))
                    if failure is not None and run.error is None:
                        run.error = failure
                self.cond.notify_all()

    def _commit(self, batch: list[tuple[list[Any], Behind]]) -> dict[int, BaseException]:
        saver = self.saver()
        if saver is None:  # pragma: no cover - a run waiting for rows holds its saver
            return {id(run): RuntimeError("the checkpointer was garbage-collected") for _rows, run in batch}
        try:
            saver.put_writes([row for rows, _run in batch for row in rows])
            return {}
        except BaseException as exc:  # noqa: BLE001 - handed to the runs that wait for these rows
            runs = {id(run): run for _rows, run in batch}
            if len(runs) == 1:
                return {next(iter(runs)): exc}
        failures: dict[int, BaseException] = {}
        for key in runs:  # several runs shared the batch: find whose rows fail
            mine = [row for rows, run in batch if id(run) == key for row in rows]
            try:
                saver.put_writes(mine)
            except BaseException as exc:  # noqa: BLE001
                failures[key] = exc
        return failures


_QUEUES: weakref.WeakKeyDictionary[Any, WriteBehind] = weakref.WeakKeyDictionary()
_QUEUES_LOCK = threading.Lock()


def write_behind(saver: _Saver) -> WriteBehind:
    """The saver's write-behind queue (one per saver object, made on first use)."""
    with _QUEUES_LOCK:
        try:
            queue = _QUEUES.get(saver)
        except TypeError:  # a saver that cannot be weakly referenced: a queue for this run alone
            return WriteBehind(saver)
        if queue is None:
            queue = _QUEUES[saver] = WriteBehind(saver)
        return queue


def journaling(saver: _Saver, durability: Durability) -> Journaling:
    """The journaling of a new invocation writing to ``saver`` under ``durability``."""
    if durability is Durability.ASYNC:
        return Behind(saver)
    if durability is Durability.EXIT:
        return AtExit(saver)
    return Direct(saver)


__all__ = ["Journaling", "Direct", "AtExit", "Behind", "WriteBehind", "write_behind", "journaling"]
