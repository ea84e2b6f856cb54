"""Stored rows → records, with every column's type checked (pure; shared by all savers).

A saver's read path hands each raw row to :func:`checkpoint_record` /
:func:`write_record` (database savers) or each stored record to
:func:`check_checkpoint` / :func:`check_write` (in-process savers). A column of
the wrong type -- an INTEGER where a payload belongs, a BLOB where a thread id
belongs -- raises :class:`~nbflow.errors.DeserializationError` naming the
thread, the checkpoint and the row kind, instead of turning into
``bytes(n)`` (a huge allocation) or an exception deep inside the engine.

Payloads read from a database are labelled (:class:`nbflow.inert.Stored`) with
the row they came from, so that the serializer's refusal of a malformed
payload names it too. :func:`describe_checkpoint` / :func:`describe_write` give
that wording.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import DeserializationError
from ..inert import Stored, label
from .base import ERROR, INTERRUPT, RESUME, CheckpointRecord, WriteRecord

__all__ = ["checkpoint_record", "write_record", "check_checkpoint", "check_write",
           "describe_checkpoint", "describe_write"]

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


def _text(v: Any) -> str:
    return repr(v[:80]) if type(v) is str else f"<{type(v).__name__}>"


def describe_checkpoint(thread_id: Any, ns: Any, checkpoint_id: Any, what: str = "checkpoint row") -> str:
    where = f" (namespace {_text(ns)})" if ns else ""
    return f"the {what} of thread {_text(thread_id)}, checkpoint {_text(checkpoint_id)}{where}"


def describe_write(thread_id: Any, ns: Any, checkpoint_id: Any, kind: Any, name: Any, path: Any) -> str:
    who = f"task {_text(name)} at position {_text(path)}" if path else "the run"
    return describe_checkpoint(thread_id, ns, checkpoint_id, f"{_text(kind)} write of {who}")


def _check(values: Sequence[Any], columns: tuple, describe: Any) -> None:
    if len(values) != len(columns):
        raise DeserializationError(f"cannot read {describe()}: it has {len(values)} columns, "
                                   f"expected {len(columns)}")
    for v, (name, kinds) in zip(values, columns):
        if type(v) not in kinds:
            expected = " or ".join("text" if k is str else "bytes" if k in (bytes, Stored) else
                                   "null" if k is type(None) else k.__name__ for k in kinds)
            raise DeserializationError(
                f"cannot read {describe()}: column {name!r} holds a {type(v).__name__}, expected {expected}; "
                "the database was written by something other than nbflow or is damaged")


# The top-level type a payload decodes to, by row kind (None: any value).
_EXPECT = {INTERRUPT: list, ERROR: dict, RESUME: dict}


def _payload(v: bytes | str | memoryview | bytearray, origin: str, expect: type | None = None) -> Stored:
    if type(v) is memoryview or type(v) is bytearray:
        v = bytes(v)
    elif type(v) is str:
        try:
            v = v.encode("utf-8")
        except UnicodeEncodeError:
            raise DeserializationError(f"cannot read {origin}: its payload is not valid text") from None
    return label(v, origin, expect)


def checkpoint_record(row: Sequence[Any]) -> CheckpointRecord:
    """A raw ``checkpoints`` row (columns in :class:`CheckpointRecord` order), checked and labelled."""
    where = lambda: describe_checkpoint(row[0], row[1], row[2]) if len(row) > 2 else "a checkpoint row"  # noqa: E731
    _check(row, _CKPT_COLUMNS, where)
    t, ns, cid = row[0], row[1], row[2]
    return CheckpointRecord(*row[:7], _payload(row[7], describe_checkpoint(t, ns, cid, "checkpoint channels"), dict),
                            _payload(row[8], describe_checkpoint(t, ns, cid, "checkpoint metadata"), dict))


def write_record(row: Sequence[Any]) -> WriteRecord:
    """A raw ``writes`` row (columns in :class:`WriteRecord` order), checked and labelled."""
    where = lambda: (describe_write(row[0], row[1], row[2], row[6], row[4], row[5]) if len(row) > 6  # noqa: E731
                     else "a write row")
    _check(row, _WRITE_COLUMNS, where)
    return WriteRecord(*row[:7], _payload(row[7], where(), _EXPECT.get(row[6])), *row[8:])


def check_checkpoint(rec: CheckpointRecord) -> CheckpointRecord:
    """Type-check a stored record as it is handed out (in-process savers)."""
    values = (rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.parent_id, rec.created_at, rec.step,
              rec.source, rec.channels, rec.metadata)
    _check(values, _CKPT_COLUMNS, lambda: describe_checkpoint(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id))
    return rec


def check_write(rec: WriteRecord) -> WriteRecord:
    """Type-check a stored write record as it is handed out (in-process savers)."""
    values = (rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id, rec.task_id, rec.name, rec.path, rec.kind,
              rec.payload, rec.started_at, rec.ended_at, rec.summary, rec.wave, rec.seq)
    _check(values, _WRITE_COLUMNS, lambda: describe_write(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id,
                                                          rec.kind, rec.name, rec.path))
    return rec
