"""Stored rows → records, with every column's type checked (pure; shared by all savers).

A saver's read path hands each raw row to :func:`checkpoint_record` /
:func:`write_record` (database savers) or each stored record to
:func:`check_checkpoint` / :func:`check_write` (in-process savers). A column of
the wrong type -- an INTEGER where a payload belongs, a BLOB where a thread id
belongs -- raises :class:`~nbflow.errors.DeserializationError` naming the
thread, the checkpoint and the row kind, instead of turning into
``bytes(n)`` (a huge allocation) or an exception deep inside the engine.

Payloads read from a database are labelled (:class:`nbflow.serde.inert.Stored`) with
the row they came from, so that the serializer's refusal of a malformed
payload names it too. :func:`describe_checkpoint` / :func:`describe_write` give
that wording.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..errors import DeserializationError
from ..serde.inert import Stored, describe_row, label
from ..serde.pieces import PACKED, squeeze, unsqueeze
from .base import CACHED, ERROR, INTERRUPT, RESULT, RESUME, CheckpointRecord, WriteRecord

__all__ = ["checkpoint_record", "write_record", "check_checkpoint", "check_write",
           "describe_checkpoint", "describe_write", "pack", "PACK_MIN", "split_payload", "is_ref", "resolve",
           "PIECE_MIN", "REF_LEN"]

PACK_MIN = 64  # payloads this long or longer are stored compressed when that makes them smaller
_JSON_START = frozenset(b'{["-0123456789tfn')


def pack(payload: bytes, least: int = PACK_MIN) -> bytes:
    """The stored form of a payload: zlib-compressed behind a ``z`` (which no JSON document starts
    with) when it is long enough and that makes it smaller; encrypted payloads are left as they are.
    Every reader here gives the payload back as it was."""
    if len(payload) >= least and payload[0] in _JSON_START:
        return squeeze(payload, least)
    return payload


PIECE_MIN = 128  # journal payloads this long are stored as pieces (the same piece a list item of the value is)
_REF = 35  # b"#": a journal payload stored as a piece, then its 12-byte hash (no JSON document starts with it)
REF_LEN = 13


def split_payload(payload: bytes, kind: str) -> tuple[bytes, tuple[bytes, bytes] | None]:
    """How a saver that stores pieces keeps a journal payload: ``(column value, (hash, stored piece) or None)``.

    A long plain payload (a model's reply, say) is stored as a piece named by the hash its encoding has as a
    list item (:mod:`nbflow.serde.pieces`, unkeyed for nbflow's serializer), so the reply the task returned
    and the same reply in the saved history are one piece; the row holds ``#`` and the hash. Encrypted
    payloads, short ones and rows other than task values are kept in the row (compressed when long:
    :func:`pack`)."""
    if kind in _VALUES and len(payload) >= PIECE_MIN and payload[0] in _JSON_START:
        h = hashlib.blake2b(payload, digest_size=12).digest()
        return bytes([_REF]) + h, (h, squeeze(payload, PACK_MIN))
    return pack(payload), None


def is_ref(payload: bytes) -> bool:
    return len(payload) == REF_LEN and payload[0] == _REF


def resolve(records: list[WriteRecord], fetch: Any) -> list[WriteRecord]:
    """``records`` with every payload stored as a piece read back (``fetch(hashes) -> {hash: bytes}``,
    one call for all of them)."""
    refs = [r for r in records if is_ref(r.payload)]
    if not refs:
        return records
    got = fetch(sorted({bytes(r.payload[1:]) for r in refs}))
    out = []
    for r in records:
        if is_ref(r.payload):
            where = (r.thread_id, r.checkpoint_ns, r.checkpoint_id, r.kind, r.name, r.path)
            data = got.get(bytes(r.payload[1:]))
            if data is None:
                raise DeserializationError(f"cannot read {describe_row(*where)}: its payload is a piece that is "
                                           "missing; the database was changed by something other than nbflow")
            r = replace(r, payload=label(_unpack(bytes(data), where), where, _EXPECT.get(r.kind)))
        out.append(r)
    return out


def _unpack(v: bytes, where: tuple) -> bytes:
    try:
        return unsqueeze(v)
    except DeserializationError as e:
        raise DeserializationError(f"cannot read {describe_row(*where)}: {e}") from None

_TEXT = (str,)
_OPT_TEXT = (str, type(None))
_INT = (int,)
_TIME = (float, int)
_OPT_TIME = (float, int, type(None))
_PAYLOAD = (bytes, Stored, str, memoryview, bytearray)  # drivers differ: sqlite3 gives bytes, others may not

# (column, allowed types), in CheckpointRecord / WriteRecord field order.
_CKPT_COLUMNS = (("thread_id", _TEXT), ("checkpoint_ns", _TEXT), ("checkpoint_id", _TEXT),
                 ("parent_id", _OPT_TEXT), ("created_at", _TIME), ("step", _INT), ("source", _TEXT),
                 ("channels", _PAYLOAD), ("metadata", _PAYLOAD))
_WRITE_COLUMNS = (("thread_id", _TEXT), ("checkpoint_ns", _TEXT), ("checkpoint_id", _TEXT),
                  ("task_id", _TEXT), ("name", _TEXT), ("path", _TEXT), ("kind", _TEXT),
                  ("payload", _PAYLOAD), ("started_at", _OPT_TIME), ("ended_at", _OPT_TIME),
                  ("summary", _TEXT), ("wave", _INT), ("seq", _INT))
_NONE = type(None)
_RAW = (bytes, Stored)
# The top-level type a payload decodes to, by row kind (None: any value).
_EXPECT = {INTERRUPT: list, ERROR: dict, RESUME: dict}
_VALUES = frozenset({RESULT, CACHED})  # rows holding a task's value: the ones stored as pieces


def describe_checkpoint(thread_id: Any, ns: Any, checkpoint_id: Any, what: str = "checkpoint row") -> str:
    return describe_row(thread_id, ns, checkpoint_id, what)


def describe_write(thread_id: Any, ns: Any, checkpoint_id: Any, kind: Any, name: Any, path: Any) -> str:
    return describe_row(thread_id, ns, checkpoint_id, kind, name, path)


def _check(values: Sequence[Any], columns: tuple, describe: Any) -> None:
    """Raise the precise error for the first column of the wrong type (slow path)."""
    if len(values) != len(columns):
        raise DeserializationError(f"cannot read {describe()}: it has {len(values)} columns, "
                                   f"expected {len(columns)}")
    for v, (name, kinds) in zip(values, columns, strict=True):
        if type(v) not in kinds:
            expected = " or ".join("text" if k is str else "bytes" if k in (bytes, Stored) else
                                   "null" if k is _NONE else k.__name__ for k in kinds)
            raise DeserializationError(
                f"cannot read {describe()}: column {name!r} holds a {type(v).__name__}, expected {expected}; "
                "the database was written by something other than nbflow or is damaged")


def _bytes(v: Any, where: tuple) -> bytes:
    if type(v) is bytes or type(v) is Stored:
        return v
    if type(v) is memoryview or type(v) is bytearray:
        return bytes(v)
    try:
        return v.encode("utf-8")  # text (checked by _check to be a str)
    except UnicodeEncodeError:
        raise DeserializationError(f"cannot read {describe_row(*where)}: its payload is not valid text") from None


def _ckpt_ok(r: Sequence[Any]) -> bool:
    return (len(r) == 9 and type(r[0]) is str and type(r[1]) is str and type(r[2]) is str
            and (r[3] is None or type(r[3]) is str) and type(r[4]) in _TIME and type(r[5]) is int
            and type(r[6]) is str and type(r[7]) in _RAW and type(r[8]) in _RAW)


def _write_ok(r: Sequence[Any]) -> bool:
    return (len(r) == 13 and type(r[0]) is str and type(r[1]) is str and type(r[2]) is str
            and type(r[3]) is str and type(r[4]) is str and type(r[5]) is str and type(r[6]) is str
            and type(r[7]) in _RAW and type(r[8]) in _OPT_TIME and type(r[9]) in _OPT_TIME
            and type(r[10]) is str and type(r[11]) is int and type(r[12]) is int)


def checkpoint_record(row: Sequence[Any]) -> CheckpointRecord:
    """A raw ``checkpoints`` row (columns in :class:`CheckpointRecord` order), checked and labelled."""
    if not _ckpt_ok(row):
        _check(row, _CKPT_COLUMNS, lambda: describe_row(row[0], row[1], row[2], "checkpoint row") if len(row) > 2
               else "a checkpoint row")
    t, ns, cid = row[0], row[1], row[2]
    channels, meta = (t, ns, cid, "checkpoint channels"), (t, ns, cid, "checkpoint metadata")
    c, m = _bytes(row[7], channels), _bytes(row[8], meta)
    if c and c[0] in PACKED:
        c = _unpack(c, channels)
    if m and m[0] in PACKED:
        m = _unpack(m, meta)
    return CheckpointRecord(t, ns, cid, row[3], row[4], row[5], row[6],
                            label(c, channels, dict), label(m, meta, dict))


def write_record(row: Sequence[Any]) -> WriteRecord:
    """A raw ``writes`` row (columns in :class:`WriteRecord` order), checked and labelled."""
    if not _write_ok(row):
        _check(row, _WRITE_COLUMNS, lambda: describe_row(row[0], row[1], row[2], row[6], row[4], row[5])
               if len(row) > 6 else "a write row")
    where = (row[0], row[1], row[2], row[6], row[4], row[5])
    p = _bytes(row[7], where)
    if p and p[0] in PACKED:
        p = _unpack(p, where)
    elif is_ref(p):  # a piece: the saver reads it (resolve)
        return WriteRecord(*row[:7], p, *row[8:])  # type: ignore[call-arg]
    return WriteRecord(*row[:7], label(p, where, _EXPECT.get(row[6])), *row[8:])  # type: ignore[call-arg]


def check_checkpoint(rec: CheckpointRecord) -> CheckpointRecord:
    """Type-check a stored record as it is handed out (in-process savers)."""
    values = (rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.parent_id, rec.created_at, rec.step,
              rec.source, rec.channels, rec.metadata)
    if not _ckpt_ok(values):
        _check(values, _CKPT_COLUMNS, lambda: describe_checkpoint(*values[:3]))
    if (rec.channels and rec.channels[0] in PACKED) or (rec.metadata and rec.metadata[0] in PACKED):
        where = (rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, "checkpoint channels")
        return replace(rec, channels=_unpack(rec.channels, where), metadata=_unpack(rec.metadata, where))
    return rec


def check_write(rec: WriteRecord) -> WriteRecord:
    """Type-check a stored write record as it is handed out (in-process savers)."""
    values = (rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.task_id, rec.name, rec.path, rec.kind,
              rec.payload, rec.started_at, rec.ended_at, rec.summary, rec.wave, rec.seq)
    if not _write_ok(values):
        _check(values, _WRITE_COLUMNS, lambda: describe_write(*values[:3], rec.kind, rec.name, rec.path))
    if rec.payload and rec.payload[0] in PACKED:
        return replace(rec, payload=_unpack(rec.payload, (rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id,
                                                          rec.kind, rec.name, rec.path)))
    return rec
