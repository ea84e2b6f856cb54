"""The checkpointer contract: what a saver stores and the calls the run loop makes.

A saver stores two kinds of rows, both as frozen dataclasses with serialized
payloads (``bytes`` made by :mod:`nbflow.serde`), so a saver never sees live
Python objects and can never mutate a user's value:

* :class:`CheckpointRecord` -- one per state transition of a thread (LangGraph
  shape: per invocation an ``input`` checkpoint and a ``loop`` checkpoint, plus
  ``update`` / ``fork`` ones from history edits). Ordered by ``checkpoint_id``,
  which :func:`new_checkpoint_id` makes time-sortable.
* :class:`WriteRecord` -- the durable journal: one row appended per event of a
  task under a checkpoint (its result, its error, its interrupt, a resume value
  given by the user). Append-only, ordered by insertion (``seq``, assigned by
  the saver).

Savers are synchronous; the engine calls them from worker threads as well as
from the caller's thread, so every implementation must be thread-safe.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import NbflowError, SaverConnectionError, SaverError  # noqa: F401 - defined in errors.py, named here too
from ..kinds import WriteKind

# Kinds of WriteRecord, as stored: the values of nbflow.kinds.WriteKind (their one definition).
RESULT, ERROR, INTERRUPT, RESUME, CACHED, REPLAYED, USAGE = WRITE_KINDS = tuple(k.value for k in WriteKind)
ROOT = "__root__"        # task_id used for writes that belong to the run itself


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    created_at: float          # seconds since the epoch (time.time())
    step: int
    source: str                # "input" | "loop" | "update" | "fork"
    channels: bytes            # serialized dict of channel values
    metadata: bytes            # serialized metadata dict


@dataclass(frozen=True, slots=True)
class WriteRecord:
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    name: str                  # task name ("" for run-level writes)
    path: str                  # call position, e.g. "0.3" (call 3 of the task at call 0)
    kind: str                  # one of WRITE_KINDS
    payload: bytes             # serialized value
    started_at: float | None = None
    ended_at: float | None = None
    summary: str = ""          # short human-readable input summary
    wave: int = 0              # results the caller had awaited before this call (fan-out grouping)
    seq: int = 0               # assigned by the saver on insert; 0 before


class BaseCheckpointSaver(ABC):
    """Abstract saver. See the module docstring for the data model."""

    @abstractmethod
    def put_checkpoint(self, record: CheckpointRecord) -> None:
        """Store a checkpoint (one transaction)."""

    @abstractmethod
    def put_writes(self, records: Sequence[WriteRecord]) -> None:
        """Append journal rows, all in one transaction."""

    def put_write(self, record: WriteRecord) -> None:
        self.put_writes((record,))

    @abstractmethod
    def get_checkpoint(
        self, thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointRecord | None:
        """The checkpoint with that id, or the newest one when ``checkpoint_id`` is None."""

    @abstractmethod
    def list_checkpoints(
        self,
        thread_id: str,
        checkpoint_ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[CheckpointRecord]:
        """Checkpoints of one namespace of a thread, newest first."""

    @abstractmethod
    def get_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> list[WriteRecord]:
        """Journal rows of one checkpoint, in insertion order."""

    @abstractmethod
    def list_writes(self, thread_id: str, checkpoint_ns: str | None = None) -> list[WriteRecord]:
        """Every journal row of a thread (one namespace, or all when None), in insertion order."""

    @abstractmethod
    def list_threads(self) -> list[str]:
        """Thread ids with at least one checkpoint, most recently written first."""

    @abstractmethod
    def delete_thread(self, thread_id: str) -> None:
        """Remove every checkpoint and write of a thread."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default  # pragma: no cover
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Async twins of the methods above, as LangGraph's savers have them: the sync method on a
    # worker thread, so the event loop never waits on the database. A saver with a native async
    # driver may override them.
    async def aput_checkpoint(self, record: CheckpointRecord) -> None:
        await asyncio.to_thread(self.put_checkpoint, record)

    async def aput_writes(self, records: Sequence[WriteRecord]) -> None:
        await asyncio.to_thread(self.put_writes, records)

    async def aget_checkpoint(
        self, thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointRecord | None:
        return await asyncio.to_thread(self.get_checkpoint, thread_id, checkpoint_ns, checkpoint_id)

    async def alist_checkpoints(
        self, thread_id: str, checkpoint_ns: str = "", *, before: str | None = None, limit: int | None = None
    ) -> list[CheckpointRecord]:
        return await asyncio.to_thread(self.list_checkpoints, thread_id, checkpoint_ns, before=before, limit=limit)

    async def aget_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> list[WriteRecord]:
        return await asyncio.to_thread(self.get_writes, thread_id, checkpoint_ns, checkpoint_id)

    async def alist_writes(self, thread_id: str, checkpoint_ns: str | None = None) -> list[WriteRecord]:
        return await asyncio.to_thread(self.list_writes, thread_id, checkpoint_ns)

    async def alist_threads(self) -> list[str]:
        return await asyncio.to_thread(self.list_threads)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)


_id_lock = threading.Lock()
_last_ms = 0
_seq = 0


def new_checkpoint_id() -> str:
    """A UUIDv7-style string: 48-bit unix milliseconds, then a 12-bit sequence.

    Strictly increasing within a process (the sequence breaks ties inside one
    millisecond), so string order is creation order.
    """
    global _last_ms, _seq
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _seq += 1
            if _seq > 0xFFF:
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        else:
            _last_ms, _seq = ms, 0
        seq = _seq
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def newest_first(records: Iterable[CheckpointRecord]) -> list[CheckpointRecord]:
    return sorted(records, key=lambda r: r.checkpoint_id, reverse=True)
