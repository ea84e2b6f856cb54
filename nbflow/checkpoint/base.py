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
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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
    channels: bytes            # serialized dict of channel values (a manifest naming pieces: nbflow.serde.pieces)
    metadata: bytes            # serialized metadata dict
    # New pieces (hash, stored bytes) the channels need, written in the same transaction (on put only;
    # a record read back has none: its pieces are fetched with get_pieces).
    pieces: tuple[tuple[bytes, bytes], ...] = ()


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
    """Abstract saver. See the module docstring for the data model.

    A saver that sets ``supports_pieces = True`` stores checkpoints as manifests plus shared,
    content-addressed pieces (:mod:`nbflow.serde.pieces`; the thread's unchanged history is stored
    once, not per checkpoint): it stores ``record.pieces`` with the checkpoint, in the same
    transaction, and answers :meth:`get_pieces`, :meth:`piece_hashes`, :meth:`prune_rows`,
    :meth:`namespaces` and :meth:`thread_size`. Any other saver gets whole values.
    """

    supports_pieces = False

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

    # -- pieces and retention (savers with supports_pieces) ----------------------------------------
    def get_pieces(self, thread_id: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        """The stored bytes of those pieces of a thread (missing ones left out)."""
        raise NotImplementedError(f"{type(self).__name__} does not store pieces")

    def piece_hashes(self, thread_id: str) -> set[bytes]:
        """Every piece hash stored for a thread."""
        raise NotImplementedError(f"{type(self).__name__} does not store pieces")

    def write_piece_refs(self, thread_id: str) -> list[tuple[str, str, bytes]]:
        """(namespace, checkpoint id, piece hash) of each journal row stored as a piece (long payloads)."""
        return []

    def prune_rows(self, thread_id: str, checkpoints: Sequence[tuple[str, str]], pieces: Sequence[bytes]) -> None:
        """Delete those checkpoints ((namespace, id)) with their writes, and those pieces, in one transaction."""
        raise NotImplementedError(f"{type(self).__name__} cannot prune")

    def namespaces(self, thread_id: str) -> list[str]:
        """The namespaces of a thread that hold checkpoints."""
        raise NotImplementedError(f"{type(self).__name__} cannot list namespaces")

    def thread_size(self, thread_id: str) -> int:
        """Bytes a thread's rows hold (payloads, pieces and keys; not the database's own overhead)."""
        raise NotImplementedError(f"{type(self).__name__} cannot tell a thread's size")

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default  # pragma: no cover
        pass

    # -- run leases (nbflow.checkpoint.leases): who runs a thread, kept fresh while it runs ----------------
    #: True when other processes read this saver's leases (a file or a server); an in-process saver's runs
    #: are known from the engine's registry, so it writes none.
    leases_shared = False

    def put_lease(self, lease: Any) -> None:
        """Store (or replace) the lease of ``(lease.thread_id, lease.checkpoint_ns)``. The default keeps
        it in this process; savers other processes read store it with their rows."""
        table = self.__dict__.setdefault("_nbflow_leases", {})
        table[(lease.thread_id, lease.checkpoint_ns)] = lease

    def put_checkpoint_and_lease(self, record: CheckpointRecord, lease: Any) -> None:
        """A run's input checkpoint and its lease (who runs it), written together: a reader never sees the
        unfinished invocation without its lease. The default writes one, then the other; savers other
        processes read write both in one transaction."""
        self.put_checkpoint(record)
        self.put_lease(lease)

    def get_lease(self, thread_id: str, checkpoint_ns: str = "") -> Any:
        """The thread's lease (a :class:`~nbflow.checkpoint.leases.Lease`), or None."""
        return self.__dict__.get("_nbflow_leases", {}).get((thread_id, checkpoint_ns))

    def drop_leases(self, thread_id: str) -> None:
        """Forget a thread's leases (``delete_thread`` calls it; savers with a table delete there)."""
        table = self.__dict__.get("_nbflow_leases", {})
        for key in [k for k in table if k[0] == thread_id]:
            del table[key]

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
# The random tail of checkpoint ids: a generator of nbflow's own (a user's random.seed() never repeats
# it), seeded from the OS and reseeded in a forked child, so no two processes share a sequence; drawing
# from it costs no system call (os.urandom did, twice an invocation).
_rand = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_rand.seed)


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
        rand = _rand.getrandbits(62)
    # 48 bits of milliseconds, version 7 and the 12-bit sequence, variant 0b10 and the 62 random bits
    return _ID_FORMAT % (ms >> 16, ms & 0xFFFF, 0x7000 | seq, 0x8000 | (rand >> 48), rand & 0xFFFFFFFFFFFF)


_ID_FORMAT = "%08x-%04x-%04x-%04x-%012x"


def newest_first(records: Iterable[CheckpointRecord]) -> list[CheckpointRecord]:
    return sorted(records, key=lambda r: r.checkpoint_id, reverse=True)
