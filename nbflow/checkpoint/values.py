"""A checkpoint's channels to and from a saver: manifests and pieces, and the live value of each thread.

:func:`dump` turns a checkpoint's channels into the stored manifest and the new pieces it needs
(:mod:`nbflow.serde.pieces`); after the saver committed them, :func:`adopt` keeps the value as the
thread's live value in this process. :func:`load` reads a checkpoint's channels back: the live value
when it is that checkpoint and unchanged, otherwise the manifest and its pieces, decoded once. So a
turn of a long chat encodes and decodes only what it added, and a new process decodes a thread once.

The live values are kept per saver (weakly) and per (thread, namespace), for the most recently used
:data:`KEEP` threads of each saver. A saver without ``supports_pieces`` stores whole values, and a
serializer that cannot make pieces (one of the user's own) too; reading either works the same way.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any

from ..config import serializer_of
from ..errors import DeserializationError
from ..serde import pieces as _pieces
from ..serde.inert import describe_row
from .base import BaseCheckpointSaver, CheckpointRecord

__all__ = ["dump", "adopt", "load", "digestible", "forget", "reachable", "KEEP", "Dumped"]

KEEP = 64  # threads per saver whose live value is kept
_lock = threading.Lock()
_live: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[str, str], _pieces.Memo]] = weakref.WeakKeyDictionary()
_digests: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], _pieces.DigestMemo]] = weakref.WeakKeyDictionary()


class Dumped:
    """What :func:`dump` made: the stored ``blob``, the new ``pieces`` and the memo to adopt."""

    __slots__ = ("blob", "pieces", "memo")

    def __init__(self, blob: bytes, pieces: tuple[tuple[bytes, bytes], ...], memo: _pieces.Memo | None) -> None:
        self.blob, self.pieces, self.memo = blob, pieces, memo


_codecs: weakref.WeakKeyDictionary[Any, _pieces.Codec | None] = weakref.WeakKeyDictionary()


def _codec(saver: Any) -> _pieces.Codec | None:
    """The piece codec of the saver's serializer (made once per serializer), or None: whole values."""
    if not getattr(saver, "supports_pieces", False):
        return None
    serde = serializer_of(saver)
    try:
        return _codecs[serde]
    except KeyError:
        pass
    except TypeError:  # a serializer that cannot be weakly referenced
        return _pieces.codec_for(serde)
    codec = _codecs[serde] = _pieces.codec_for(serde)
    return codec


def _memo(saver: Any, key: tuple[str, str]) -> _pieces.Memo | None:
    with _lock:
        table = _live.get(saver)
        return None if table is None else table.get(key)


def _keep(saver: Any, key: tuple[str, str], memo: _pieces.Memo) -> None:
    with _lock:
        try:
            table = _live.setdefault(saver, OrderedDict())
        except TypeError:  # a saver that cannot be weakly referenced: keep nothing
            return
        table[key] = memo
        table.move_to_end(key)
        while len(table) > KEEP:
            table.popitem(last=False)


def forget(saver: Any, thread_id: str | None = None) -> None:
    """Drop the live values of one thread of ``saver`` (all threads when None): after a delete or a prune."""
    with _lock:
        for tables in (_live, _digests):
            table = tables.get(saver)
            if table is None:
                continue
            for key in [k for k in table if thread_id is None or k[0] == thread_id]:
                del table[key]


def dump(saver: BaseCheckpointSaver, thread_id: str, ns: str, channels: dict) -> Dumped:
    """The stored form of ``channels`` for a new checkpoint of (thread, ns). Raises SerializationError."""
    serde = serializer_of(saver)
    if not _pieces.has_lists(channels):  # nothing to share: stored whole, as small as it is
        return Dumped(serde.dumps(channels), (), None)
    codec = _codec(saver)
    if codec is None:
        return Dumped(serde.dumps(channels), (), None)
    doc, new, memo = _pieces.split(channels, codec, _memo(saver, (thread_id, ns)))
    return Dumped(serde.dumps(doc), tuple(new.items()), memo)


def adopt(saver: BaseCheckpointSaver, rec: CheckpointRecord, dumped: Dumped) -> None:
    """``rec`` (made from ``dumped``) is committed: its value is now the thread's live value."""
    if dumped.memo is not None:
        dumped.memo.checkpoint_id = rec.checkpoint_id
        _keep(saver, (rec.thread_id, rec.checkpoint_ns), dumped.memo)


def _where(rec: CheckpointRecord) -> str:
    return describe_row(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, "checkpoint channels")


def _fetcher(saver: BaseCheckpointSaver, rec: CheckpointRecord) -> Any:
    def fetch(hashes: list[bytes]) -> dict[bytes, bytes]:
        return saver.get_pieces(rec.thread_id, hashes)
    return fetch


def load(saver: BaseCheckpointSaver, rec: CheckpointRecord, *, live: bool | None = None,
         decoded: dict[Any, Any] | None = None, only: tuple[str, ...] | None = None) -> dict:
    """The channels of checkpoint ``rec``. ``live``: take (and keep) the thread's live value.
    ``decoded`` (hash -> item), shared by the loads of a history listing, decodes each piece once
    (its item is then shared by the values that hold it); such loads are kept as the live value only
    when ``live=True`` is asked for. ``only``: just those channels (the others are not decoded)."""
    key = (rec.thread_id, rec.checkpoint_ns)
    if only is not None:
        live = False
    elif live is None:
        live = decoded is None
    memo = _memo(saver, key)  # the live value serves any reader
    if memo is not None and memo.checkpoint_id == rec.checkpoint_id and memo.fresh():
        return memo.value
    serde = serializer_of(saver)
    doc = serde.loads(rec.channels)
    if only is not None and type(doc) is dict:
        doc = {k: doc[k] for k in only if k in doc}
    if not _pieces.refs_in(doc):
        return doc  # stored whole (small, or an older row): decoded afresh, nothing to keep
    codec = _codec(saver)  # None unless the saver stores pieces and its serializer can read them
    if codec is None:
        raise DeserializationError(f"cannot read {_where(rec)}: it is stored as pieces, which "
                                   f"{type(saver).__name__} with serializer {serde!r} cannot read")
    value, memo = _pieces.join(doc, codec, _fetcher(saver, rec), _where(rec), decoded, memo=live)
    if memo is not None:
        memo.checkpoint_id = rec.checkpoint_id
        _keep(saver, key, memo)
    return value




def digestible(saver: BaseCheckpointSaver, thread_id: str, ns: str, value: Any, canon: Any) -> Any | None:
    """A call's ``(args, kwargs)`` ready for its argument digest, long lists named by their pieces'
    hashes (:func:`nbflow.serde.pieces.digestible`); None when the saver stores whole values."""
    codec = _codec(saver)
    if codec is None:
        return None
    with _lock:
        try:
            table = _digests.setdefault(saver, {})
        except TypeError:
            return None
        dmemo = table.get((thread_id, ns))
        if dmemo is None:
            if len(table) >= KEEP:
                table.clear()
            dmemo = table[(thread_id, ns)] = _pieces.DigestMemo()
    return _pieces.digestible(value, codec, _memo(saver, (thread_id, ns)), dmemo, canon)


def reachable(saver: BaseCheckpointSaver, rec: CheckpointRecord) -> set[bytes]:
    """Every piece hash checkpoint ``rec`` needs, without decoding its items."""
    doc = serializer_of(saver).loads(rec.channels)
    return _pieces.reachable(doc, _fetcher(saver, rec), _where(rec))
