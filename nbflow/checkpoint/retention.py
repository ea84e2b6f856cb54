"""Retention: dropping a thread's old checkpoints, and the pieces nothing needs any more.

:func:`prune` is what every saver's ``prune`` method does (LangGraph's signature, plus
``keep_last`` and ``keep_invocations``). It never drops the newest checkpoint of a namespace (so a
pending interrupt stays answerable and the next turn's ``previous`` stays there), nor a checkpoint
another one was forked or replayed from (in this thread or any other), and it deletes a piece only
when no remaining checkpoint of the thread needs it. Journal rows go with their checkpoint. The
rows go in one transaction per thread, so a crash leaves either the old thread or the pruned one.

Space comes back to the file system only when the database gives it back: see
``SqliteSaver.vacuum()`` and, on PostgreSQL, autovacuum (or ``VACUUM FULL``), in ``docs/scaling.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import serializer_of
from ..errors import ConfigError
from ..kinds import Source
from . import values
from .base import BaseCheckpointSaver, CheckpointRecord

__all__ = ["Pruned", "prune", "STRATEGIES"]

STRATEGIES = ("keep_latest", "delete")
LOOP, UPDATE, INPUT, FORK = Source.LOOP.value, Source.UPDATE.value, Source.INPUT.value, Source.FORK.value


@dataclass(frozen=True, slots=True)
class Pruned:
    """What :func:`prune` removed: checkpoints, pieces, and the threads' bytes before and after."""

    checkpoints: int
    pieces: int
    bytes_before: int
    bytes_after: int


def _origins(saver: BaseCheckpointSaver, thread_id: str) -> set[str]:
    """Checkpoint ids of ``thread_id`` that a fork or a replay (in any thread) names as its origin."""
    loads = serializer_of(saver).loads
    out: set[str] = set()
    for tid in saver.list_threads():
        for ns in saver.namespaces(tid):
            for rec in saver.list_checkpoints(tid, ns):
                if rec.source not in (FORK, UPDATE):
                    continue
                try:
                    meta = loads(rec.metadata)
                except Exception:  # noqa: BLE001 - an unreadable row protects nothing
                    continue
                origin = meta.get("forked_from") if isinstance(meta, dict) else None
                if isinstance(origin, dict) and origin.get("thread_id") == thread_id:
                    out.add(str(origin.get("checkpoint_id")))
                if tid == thread_id and isinstance(meta, dict) and meta.get("replayed_from"):
                    out.add(str(meta["replayed_from"]))
    return out


def _kept(recs: list[CheckpointRecord], keep_last: int | None, keep_invocations: int | None) -> set[str]:
    """Ids to keep of one namespace's checkpoints (newest first)."""
    if not recs:
        return set()
    keep = {recs[0].checkpoint_id}
    if keep_last is not None:
        keep.update(r.checkpoint_id for r in recs[:keep_last])
    if keep_invocations is not None:
        starts = 0
        for r in recs:  # newest first: an invocation's loop checkpoint comes before its input one
            keep.add(r.checkpoint_id)
            if r.source in (INPUT, FORK, UPDATE):
                starts += 1
                if starts >= keep_invocations:
                    break
    return keep


def prune(saver: BaseCheckpointSaver, thread_ids: Sequence[str] | str, *, strategy: str = "keep_latest",
          keep_last: int | None = None, keep_invocations: int | None = None) -> Pruned:
    """Drop old checkpoints of ``thread_ids``.

    ``strategy="keep_latest"`` (LangGraph's default) keeps the newest checkpoint of each namespace;
    ``keep_last=N`` keeps the newest N, ``keep_invocations=N`` the checkpoints of the newest N
    invocations (and state edits). ``strategy="delete"`` deletes the threads. Checkpoints something
    was forked or replayed from are kept too.
    """
    if isinstance(thread_ids, str):
        thread_ids = [thread_ids]
    if strategy not in STRATEGIES:
        raise ConfigError(f"prune(strategy={strategy!r}): use one of {', '.join(map(repr, STRATEGIES))}")
    for name, n in (("keep_last", keep_last), ("keep_invocations", keep_invocations)):
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ConfigError(f"prune({name}={n!r}): give a whole number of at least 1 (the newest checkpoint "
                              "of a thread is always kept)")
    dropped = gone_pieces = before = after = 0
    for tid in thread_ids:
        size = _size(saver, tid)
        before += size
        if strategy == "delete":
            saver.delete_thread(tid)
            values.forget(saver, tid)
            continue
        origins = _origins(saver, tid)
        drop: list[tuple[str, str]] = []
        live: set[bytes] = set()
        for ns in saver.namespaces(tid):
            recs = saver.list_checkpoints(tid, ns)
            keep = _kept(recs, keep_last, keep_invocations) | origins
            for r in recs:
                if r.checkpoint_id in keep:
                    if getattr(saver, "supports_pieces", False):
                        live |= values.reachable(saver, r)
                else:
                    drop.append((ns, r.checkpoint_id))
        dead: list[bytes] = []
        if getattr(saver, "supports_pieces", False):
            gone = set(drop)
            live.update(h for ns, cid, h in saver.write_piece_refs(tid) if (ns, cid) not in gone)  # journal rows kept
            dead = sorted(saver.piece_hashes(tid) - live)
        if drop or dead:
            saver.prune_rows(tid, drop, dead)
        dropped += len(drop)
        gone_pieces += len(dead)
        after += _size(saver, tid)
    return Pruned(dropped, gone_pieces, before, after)


def _size(saver: Any, thread_id: str) -> int:
    try:
        return int(saver.thread_size(thread_id))
    except NotImplementedError:
        return 0
