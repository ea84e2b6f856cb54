"""Group commit: task writes that finish together share one transaction (SQLite and PostgreSQL savers).

Callers queue their rows; one of them at a time is the *leader*: once it holds the saver's write
``lock`` it takes every row queued so far and commits them, in one transaction, through the
saver's ``write(rows)``. Callers wait on their own batch's condition (not on the lock): when a
batch is committed its callers wake, and one caller of the rows queued meanwhile is woken to
lead them, so the next transaction starts at once with everything that queued up; nobody else
wakes. Each caller returns only once its own rows are committed, or raises the exception of the
transaction that carried them, so the durability of each task is what it would be with one
transaction per task."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

KEEP_FAILURES = 64  # failed batches remembered for callers that may still ask about them


class GroupCommit:
    """The queue and batch bookkeeping of one saver (see the module docstring)."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock                     # the saver's write lock, held by the leader while it commits
        self._mutex = threading.Lock()       # guards everything below
        self.rows: list[tuple] = []          # queued, not yet taken by a leader
        self._open = 1                       # batch number new rows join
        self._done = 0                       # highest batch committed (or failed)
        self._leading = False                # a leader is committing a batch now
        self._waiting: dict[int, threading.Condition] = {}  # batch -> its callers' condition (on _mutex)
        self._failed: dict[int, BaseException] = {}

    def submit(self, rows: list[tuple], write: Callable[[list[tuple]], None]) -> None:
        with self._mutex:
            batch = self._open
            self.rows.extend(rows)
            if self._leading:
                cond = self._waiting.get(batch)
                if cond is None:
                    cond = self._waiting[batch] = threading.Condition(self._mutex)
                while self._leading and batch > self._done:
                    cond.wait()
                if batch <= self._done:  # a leader committed (or failed) our rows meanwhile
                    earlier = self._failed.get(batch)
                    if earlier is not None:
                        raise earlier
                    return
            self._leading = True  # our rows are still queued: we lead their batch
        failure: BaseException | None = None
        upto = batch
        try:
            with self.lock:  # rows queued while we wait for the saver's lock join our batch
                with self._mutex:
                    take, self.rows = self.rows, []
                    upto = self._open
                    self._open += 1
                write(take)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            with self._mutex:
                if failure is not None:
                    self._failed[upto] = failure
                for old in [b for b in self._failed if b < upto - KEEP_FAILURES]:
                    del self._failed[old]
                self._done = upto
                self._leading = False
                done = self._waiting.pop(upto, None)
                if done is not None:
                    done.notify_all()  # every caller of this batch returns (or raises)
                following = self._waiting.get(self._open)
                if following is not None:
                    following.notify()  # one caller of the rows queued meanwhile leads them
