"""An in-process checkpointer: everything lives in dicts, nothing survives the process.

Layout (all guarded by one lock)::

    _threads: {thread_id: _Thread}           insertion order = activity order
    _Thread.namespaces: {checkpoint_ns: _Namespace}
    _Thread.writes: [WriteRecord, ...]        every write of the thread, seq order
    _Namespace.checkpoints: {checkpoint_id: CheckpointRecord}
    _Namespace.ids: [checkpoint_id, ...]      sorted ascending (ids are time-sortable,
                                              so this is normally an append)
    _Namespace.writes: {checkpoint_id: [WriteRecord, ...]}
    _Thread.pieces: {hash: bytes}             the thread's pieces (nbflow.serde.pieces), shared
                                              by its checkpoints

Records are frozen dataclasses holding ``bytes`` payloads, so they are stored and
handed out as-is: nobody can mutate them.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from typing import Any

from ..serde import default_serializer, vetted
from . import retention, values
from .base import BaseCheckpointSaver, CheckpointRecord, WriteRecord
from .rows import check_checkpoint, check_write, is_ref, pack, resolve, split_payload

__all__ = ["InMemorySaver", "MemorySaver"]

_PACK = 256  # in memory, only what is worth the time is compressed (a database's pages are dearer)


class _Namespace:
    __slots__ = ("checkpoints", "ids", "writes")

    def __init__(self) -> None:
        self.checkpoints: dict[str, CheckpointRecord] = {}
        self.ids: list[str] = []
        self.writes: dict[str, list[WriteRecord]] = {}


class _Thread:
    __slots__ = ("namespaces", "writes", "has_checkpoint", "pieces")

    def __init__(self) -> None:
        self.namespaces: dict[str, _Namespace] = {}
        self.writes: list[WriteRecord] = []
        self.has_checkpoint = False
        self.pieces: dict[bytes, bytes] = {}


def _shown(w: WriteRecord) -> WriteRecord:
    """A stored write as it is handed out: its summary a str again (see ``put_writes``), type-checked."""
    if type(w.summary) is bytes:
        w = WriteRecord(w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.name, w.path, w.kind, w.payload,
                        w.started_at, w.ended_at, w.summary.decode("utf-8", "surrogatepass"), w.wave, w.seq)
    return check_write(w)


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit!r}")


class InMemorySaver(BaseCheckpointSaver):
    """Thread-safe, in-memory :class:`BaseCheckpointSaver`.

    Costs: latest checkpoint O(1), checkpoint by id O(1), ``get_writes`` O(writes
    of that checkpoint), ``list_checkpoints`` O(log n + returned), ``put_writes``
    O(rows), ``list_threads`` O(threads).
    """

    supports_pieces = True

    def __init__(self, *, serde: Any = None) -> None:
        # The serializer the engine uses for this saver's payloads (None: nbflow's default).
        self.serde = default_serializer if serde is None else serde
        vetted.load()  # the classes nbflow vouches for (LangChain messages), imported as the saver opens
        self._lock = threading.Lock()
        # Ordered: the most recently written thread is the last key.
        self._threads: dict[str, _Thread] = {}
        self._seq = 0

    # -- helpers (call with the lock held) -----------------------------------

    def _touch(self, thread_id: str) -> _Thread:
        """The thread's data, moved to the most-recent end of the activity order."""
        t = self._threads.pop(thread_id, None)
        if t is None:
            t = _Thread()
        self._threads[thread_id] = t
        return t

    def _ns(self, thread_id: str, checkpoint_ns: str) -> _Namespace | None:
        t = self._threads.get(thread_id)
        if t is None:
            return None
        return t.namespaces.get(checkpoint_ns)

    # -- writes ---------------------------------------------------------------

    def put_checkpoint(self, record: CheckpointRecord) -> None:
        with self._lock:
            t = self._touch(record.thread_id)
            t.has_checkpoint = True
            ns = t.namespaces.get(record.checkpoint_ns)
            if ns is None:
                ns = t.namespaces[record.checkpoint_ns] = _Namespace()
            if record.pieces:
                for h, data in record.pieces:
                    t.pieces.setdefault(h, data)
            r = record
            c, m = pack(r.channels, _PACK), pack(r.metadata, _PACK)
            if c is not r.channels or m is not r.metadata or r.pieces:  # else kept as it came (short, no pieces)
                record = CheckpointRecord(r.thread_id, r.checkpoint_ns, r.checkpoint_id, r.parent_id, r.created_at,
                                          r.step, r.source, c, m)
            cid = record.checkpoint_id
            if cid not in ns.checkpoints:
                ids = ns.ids
                if not ids or ids[-1] < cid:
                    ids.append(cid)
                else:
                    bisect.insort(ids, cid)
            ns.checkpoints[cid] = record

    def put_writes(self, records: Sequence[WriteRecord]) -> None:
        if not records:
            return
        with self._lock:
            for rec in records:
                self._seq += 1
                payload, piece = split_payload(rec.payload, rec.kind)
                summary: Any = rec.summary
                if not summary.isascii():  # kept as UTF-8 (a str with one '…' takes 2 or 4 bytes a character)
                    summary = summary.encode("utf-8", "surrogatepass")
                rec = WriteRecord(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.task_id, rec.name, rec.path,
                                  rec.kind, payload, rec.started_at, rec.ended_at, summary, rec.wave, self._seq)
                t = self._touch(rec.thread_id)
                if piece is not None:
                    t.pieces.setdefault(*piece)
                ns = t.namespaces.get(rec.checkpoint_ns)
                if ns is None:
                    ns = t.namespaces[rec.checkpoint_ns] = _Namespace()
                bucket = ns.writes.get(rec.checkpoint_id)
                if bucket is None:
                    ns.writes[rec.checkpoint_id] = [rec]
                else:
                    bucket.append(rec)
                t.writes.append(rec)

    def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self._threads.pop(thread_id, None)
        values.forget(self, thread_id)
        self.drop_leases(thread_id)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_last: int | None = None,
              keep_invocations: int | None = None) -> retention.Pruned:
        """Drop old checkpoints of threads (see :func:`nbflow.checkpoint.retention.prune`)."""
        return retention.prune(self, thread_ids, strategy=strategy, keep_last=keep_last,
                               keep_invocations=keep_invocations)

    # -- pieces ---------------------------------------------------------------

    def get_pieces(self, thread_id: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        with self._lock:
            t = self._threads.get(thread_id)
            if t is None:
                return {}
            have = t.pieces
            return {h: have[h] for h in hashes if h in have}

    def write_piece_refs(self, thread_id: str) -> list[tuple[str, str, bytes]]:
        with self._lock:
            t = self._threads.get(thread_id)
            return [] if t is None else [(w.checkpoint_ns, w.checkpoint_id, bytes(w.payload[1:])) for w in t.writes
                                         if is_ref(w.payload)]

    def piece_hashes(self, thread_id: str) -> set[bytes]:
        with self._lock:
            t = self._threads.get(thread_id)
            return set() if t is None else set(t.pieces)

    def prune_rows(self, thread_id: str, checkpoints: Sequence[tuple[str, str]], pieces: Sequence[bytes]) -> None:
        with self._lock:
            t = self._threads.get(thread_id)
            if t is None:
                return
            gone: set[tuple[str, str]] = set()
            for ns_name, cid in checkpoints:
                ns = t.namespaces.get(ns_name)
                if ns is None or cid not in ns.checkpoints:
                    continue
                del ns.checkpoints[cid]
                ns.ids.remove(cid)
                ns.writes.pop(cid, None)
                gone.add((ns_name, cid))
            if gone:
                t.writes = [w for w in t.writes if (w.checkpoint_ns, w.checkpoint_id) not in gone]
            for h in pieces:
                t.pieces.pop(h, None)

    def namespaces(self, thread_id: str) -> list[str]:
        with self._lock:
            t = self._threads.get(thread_id)
            return [] if t is None else [k for k, ns in t.namespaces.items() if ns.ids]

    def thread_size(self, thread_id: str) -> int:
        with self._lock:
            t = self._threads.get(thread_id)
            if t is None:
                return 0
            n = sum(len(h) + len(d) for h, d in t.pieces.items())
            for ns in t.namespaces.values():
                n += sum(len(r.channels) + len(r.metadata) + 96 for r in ns.checkpoints.values())
            n += sum(len(w.payload) + len(w.summary) + 160 for w in t.writes)
            return n

    # -- reads ----------------------------------------------------------------

    def get_checkpoint(
        self, thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointRecord | None:
        with self._lock:
            ns = self._ns(thread_id, checkpoint_ns)
            if ns is None:
                return None
            if checkpoint_id is None:
                if not ns.ids:
                    return None
                return check_checkpoint(ns.checkpoints[ns.ids[-1]])
            rec = ns.checkpoints.get(checkpoint_id)
            return None if rec is None else check_checkpoint(rec)

    def list_checkpoints(
        self,
        thread_id: str,
        checkpoint_ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[CheckpointRecord]:
        _check_limit(limit)
        with self._lock:
            ns = self._ns(thread_id, checkpoint_ns)
            if ns is None:
                return []
            ids = ns.ids
            end = len(ids) if before is None else bisect.bisect_left(ids, before)
            start = 0 if limit is None else max(0, end - limit)
            cps = ns.checkpoints
            return [check_checkpoint(cps[ids[i]]) for i in range(end - 1, start - 1, -1)]

    def get_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> list[WriteRecord]:
        with self._lock:
            ns = self._ns(thread_id, checkpoint_ns)
            if ns is None:
                return []
            out = [_shown(w) for w in ns.writes.get(checkpoint_id, ())]
            return resolve(out, self._thread_pieces(thread_id))

    def list_writes(self, thread_id: str, checkpoint_ns: str | None = None) -> list[WriteRecord]:
        with self._lock:
            t = self._threads.get(thread_id)
            if t is None:
                return []
            if checkpoint_ns is None:
                out = [_shown(w) for w in t.writes]
            else:
                out = [_shown(w) for w in t.writes if w.checkpoint_ns == checkpoint_ns]
            return resolve(out, self._thread_pieces(thread_id))

    def _thread_pieces(self, thread_id: str) -> Any:
        """A fetch of the thread's pieces (call with the lock held)."""
        t = self._threads.get(thread_id)
        have = t.pieces if t is not None else {}
        return lambda hashes: {h: have[h] for h in hashes if h in have}

    def list_threads(self) -> list[str]:
        with self._lock:
            return [tid for tid, t in reversed(self._threads.items()) if t.has_checkpoint]

    def __repr__(self) -> str:
        return f"<InMemorySaver threads={len(self._threads)}>"


MemorySaver = InMemorySaver
