"""Group commit: task writes that finish together share one transaction (SQLite and PostgreSQL savers).

Rows queue up while another caller holds the saver's write ``lock``; whoever takes it next commits
everything queued, in one transaction, through the saver's ``write(rows)``. Each caller returns
only once its own rows are committed, or raises the exception of the transaction that carried
them, so the durability of each task is what it would be with one transaction per task.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

KEEP_FAILURES = 64  # failed batches remembered for callers that may still ask about them


class GroupCommit:
    """The queue and batch bookkeeping of one saver (see the module docstring)."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock                 # held by the one leader committing a batch
        self._mutex = threading.Lock()   # guards everything below
        self.rows: list[tuple] = []      # queued, not yet taken by a leader
        self._open = 1                   # batch number new rows join
        self._done = 0                   # highest batch committed (or failed)
        self._failed: dict[int, BaseException] = {}

    def submit(self, rows: list[tuple], write: Callable[[list[tuple]], None]) -> None:
        with self._mutex:
            batch = self._open
            self.rows.extend(rows)
        with self.lock:
            with self._mutex:
                if batch <= self._done:  # a leader committed (or failed) our rows meanwhile
                    failure = self._failed.get(batch)
                    if failure is not None:
                        raise failure
                    return
                take, self.rows = self.rows, []
                upto = self._open
                self._open += 1
            try:
                write(take)
            except BaseException as exc:
                with self._mutex:
                    self._failed[upto] = exc
                    self._done = upto
                raise
            with self._mutex:
                self._done = upto
                for old in [b for b in self._failed if b < upto - KEEP_FAILURES]:
                    del self._failed[old]
