"""Replay decisions, pure: the journal of one invocation and what it answers.

An invocation runs under one ``input`` checkpoint. Every task call gets a
position: its call index inside its parent, joined with dots ("0", "1",
"1.0" for the first call made by task "1"). The task id is a hash of the
checkpoint id, the namespace and that position, so replaying the same code
after a pause or a crash lands on the same ids and the recorded results are
served instead of running the tasks again.

* :func:`task_id_for` / :func:`interrupt_id_for` -- deterministic ids.
* :class:`Journal` -- built from the checkpoint's write rows: recorded
  results by task id (decoded lazily), resume values by interrupt id, and the
  interrupts still waiting for an answer.
* :meth:`Journal.lookup` -- raises :class:`NonDeterminismError` when the task
  recorded at a position is not the one being called now, or was called with
  other arguments (compared by :func:`args_digest` of their serialized form,
  kept in the row's summary after :data:`ARGS_MARK`; see :func:`with_digest`).
* :func:`resolve_resume` -- maps a ``Command(resume=...)`` onto pending
  interrupt ids, or says precisely why it cannot.
* :func:`interrupts_of` / :func:`error_of` -- the interrupt and error rows,
  shape-checked: a malformed row (wrong shape, a stored JSON schema that
  references anything outside itself) is a
  :class:`~nbflow.errors.DeserializationError` naming the thread, checkpoint
  and row, never a ``KeyError``/``TypeError`` from deeper down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

from .checkpoint.base import CACHED, ERROR, INTERRUPT, RESULT, RESUME, WriteRecord
from .checkpoint.rows import describe_write
from .errors import DeserializationError, NonDeterminismError, ResumeError
from .schema import UnsafeSchemaError, check_refs
from .serde import summarize
from .serde.inert import Stored

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _digest(text: str) -> str:
    return blake2b(text.encode(), digest_size=16).hexdigest()


ARGS_MARK = "\x1fargs="
"""Separates a row's human-readable input summary from the digest of the call's serialized arguments."""


def args_digest(serialized: bytes, key: bytes = b"") -> str:
    """The digest of a call's serialized ``(args, kwargs)`` stored with its result.

    ``key`` (up to 64 bytes) makes it a keyed digest: with checkpoints encrypted at rest, a stored
    digest must not let anyone test guesses of the arguments.
    """
    return blake2b(serialized, digest_size=16, key=key[:64]).hexdigest()


def canonical(value: Any, depth: int = 0) -> Any:
    """``value`` with sets in a stable order (their iteration order changes between processes), for digests."""
    if depth > 32:
        return value
    t = type(value)
    if t is set or t is frozenset:
        return ("__set__", sorted((canonical(v, depth + 1) for v in value), key=repr))
    if t is list or t is tuple:
        return t(canonical(v, depth + 1) for v in value)
    if t is dict:
        return {k: canonical(v, depth + 1) for k, v in value.items()}
    return value


def with_digest(summary: str, digest: str) -> str:
    """The ``summary`` a result row stores: the readable summary, then the arguments' digest (if any)."""
    return f"{summary}{ARGS_MARK}{digest}" if digest else summary


def split_summary(summary: str) -> tuple[str, str]:
    """A stored summary as (readable summary, arguments digest or "")."""
    text, _, digest = summary.partition(ARGS_MARK)
    return text, digest


def task_id_for(checkpoint_id: str, ns: str, path: str) -> str:
    h = _digest(f"task|{checkpoint_id}|{ns}|{path}")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def interrupt_id_for(checkpoint_id: str, ns: str, path: str, index: int) -> str:
    return _digest(f"interrupt|{checkpoint_id}|{ns}|{path}|{index}")


@dataclass(frozen=True, slots=True)
class InterruptRecord:
    """The stored form of an :class:`~nbflow.types.Interrupt`."""

    id: str
    value: Any
    path: str
    task: str
    json_schema: dict | None = None
    schema_ref: str | None = None
    after: int | None = None  # how many tasks the asking code had called when it asked (where a picture draws it)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "value": self.value,
            "path": self.path,
            "task": self.task,
            "json_schema": self.json_schema,
            "schema_ref": self.schema_ref,
            "after": self.after,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InterruptRecord:
        """From its stored dict; a malformed one raises ``ValueError`` saying what is wrong."""
        if type(d) is not dict:
            raise ValueError(f"an interrupt entry is a {type(d).__name__}, not a dict")
        rec = cls(
            id=d.get("id"),  # type: ignore[arg-type]  # checked just below
            value=d.get("value"),
            path=d.get("path", ""),
            task=d.get("task", ""),
            json_schema=d.get("json_schema"),
            schema_ref=d.get("schema_ref"),
            after=d.get("after"),
        )
        for name, ok in (("id", type(rec.id) is str), ("path", type(rec.path) is str),
                         ("task", type(rec.task) is str),
                         ("json_schema", rec.json_schema is None or type(rec.json_schema) is dict),
                         ("schema_ref", rec.schema_ref is None or type(rec.schema_ref) is str),
                         ("after", rec.after is None or type(rec.after) is int)):
            if not ok:
                raise ValueError(f"the interrupt's {name!r} is a {type(getattr(rec, name)).__name__}")
        if rec.json_schema is not None:
            try:
                check_refs(rec.json_schema)
            except UnsafeSchemaError as e:
                raise ValueError(f"interrupt {rec.id!r}: {e}") from None
        return rec


def _where(w: WriteRecord) -> str:
    return describe_write(w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.kind, w.name, w.path)


def _load(w: WriteRecord, loads: Callable[[bytes], Any]) -> Any:
    """``loads(w.payload)``; a refusal names the row (a saver's labelled payload already does)."""
    try:
        return loads(w.payload)
    except DeserializationError as e:
        if type(w.payload) is Stored:
            raise
        raise DeserializationError(f"cannot read {_where(w)}: {e}") from None


def _malformed(w: WriteRecord, why: str) -> DeserializationError:
    return DeserializationError(f"cannot read {_where(w)}: {why}; the row was not written by this "
                                "version of nbflow or is damaged")


def interrupts_of(w: WriteRecord, loads: Callable[[bytes], Any]) -> tuple[InterruptRecord, ...]:
    """The interrupt records of an ``interrupt`` row, shape-checked."""
    items = _load(w, loads)
    if type(items) is not list:
        raise _malformed(w, f"it holds a {type(items).__name__}, not a list of interrupts")
    try:
        return tuple(InterruptRecord.from_dict(d) for d in items)
    except ValueError as e:
        raise _malformed(w, str(e)) from None


def error_of(w: WriteRecord, loads: Callable[[bytes], Any]) -> dict:
    """The ``{"type", "message"}`` dict of an ``error`` row, shape-checked."""
    err = _load(w, loads)
    if type(err) is not dict or type(err.get("type")) is not str or type(err.get("message")) is not str:
        raise _malformed(w, "it is not an error record ({'type': str, 'message': str})")
    return err


def _resumes_of(w: WriteRecord, loads: Callable[[bytes], Any]) -> dict:
    answers = _load(w, loads)
    if type(answers) is not dict:
        raise _malformed(w, f"it holds a {type(answers).__name__}, not a dict of answers")
    return answers


@dataclass(slots=True)
class Recorded:
    name: str
    path: str
    kind: str
    payload: bytes
    _value: Any = field(default=None, repr=False)
    _decoded: bool = field(default=False, repr=False)
    source: WriteRecord | None = field(default=None, repr=False)
    digest: str = ""  # of the serialized arguments it was called with ("" when unknown)

    def value(self, loads: Callable[[bytes], Any]) -> Any:
        if not self._decoded:
            self._value = loads(self.payload) if self.source is None else _load(self.source, loads)
            self._decoded = True
        return self._value


class Journal:
    """What one invocation has recorded so far. Mutated only by adding entries."""

    __slots__ = ("results", "resumes", "pending", "root_task_id", "root_error")

    def __init__(self, root_task_id: str = "") -> None:
        self.results: dict[str, Recorded] = {}
        self.resumes: dict[str, Any] = {}
        self.pending: tuple[InterruptRecord, ...] = ()
        self.root_task_id = root_task_id
        self.root_error: dict | None = None

    @classmethod
    def from_writes(
        cls, writes: Iterable[WriteRecord], loads: Callable[[bytes], Any], root_task_id: str
    ) -> Journal:
        j = cls(root_task_id)
        last_pending: tuple[InterruptRecord, ...] = ()
        for w in writes:
            kind = w.kind
            if kind in (RESULT, CACHED):
                if w.task_id != root_task_id:
                    j.results[w.task_id] = Recorded(w.name, w.path, kind, w.payload, source=w,
                                                    digest=split_summary(w.summary)[1] if w.summary else "")
            elif kind == RESUME:
                j.resumes.update(_resumes_of(w, loads))
            elif kind == INTERRUPT and w.task_id == root_task_id:
                last_pending = interrupts_of(w, loads)
            elif kind == ERROR and w.task_id == root_task_id:
                j.root_error = error_of(w, loads)
        j.pending = tuple(d for d in last_pending if d.id not in j.resumes)
        return j

    def lookup(self, task_id: str, name: str, path: str, digest: str = "") -> Recorded | None:
        """The result recorded at this call's position, or None; raises when the call differs from the record."""
        rec = self.results.get(task_id)
        if rec is None:
            return None
        if rec.name != name:
            raise NonDeterminismError(
                f"non-deterministic replay at task position {path!r}: the recorded run called "
                f"task {rec.name!r} here, but this run called {name!r}. A resumed workflow must make "
                "the same task calls in the same order; move randomness, clocks and I/O that "
                "decide control flow into @task functions, or start a new thread."
            )
        # digests of one format only ("p...": long lists named by their pieces; hex: the whole serialization)
        if digest and rec.digest and digest != rec.digest and (digest[0] == "p") == (rec.digest[0] == "p"):
            raise NonDeterminismError(
                f"non-deterministic replay at task position {path!r}: task {name!r} was called with "
                "different arguments than the recorded call, whose result would be reused for it. "
                "The code before this call computed its arguments differently on replay (a clock, "
                "randomness or I/O in the entrypoint): move that computation into a @task so its "
                "result is recorded, or start a new thread. If these arguments may legitimately "
                f"change, opt out with @task(check_args=False) on {name!r} (or "
                "@entrypoint(check_args=False) for every task of the workflow)."
            )
        return rec

    def record(self, task_id: str, name: str, path: str, kind: str, payload: bytes, value: Any,
               digest: str = "") -> None:
        self.results[task_id] = Recorded(name, path, kind, payload, value, True, digest=digest)


def resolve_resume(
    resume: Any, pending: Sequence[InterruptRecord], thread_id: str
) -> dict[str, Any]:
    """Map the value of ``Command(resume=...)`` to ``{interrupt_id: answer}``."""
    if not pending:
        raise ResumeError(
            f"thread {thread_id!r} has no pending interrupt, so Command(resume=...) has nothing to "
            "answer. Start a new run with invoke(<input>, config), or check get_state(config).interrupts."
        )
    ids = {p.id for p in pending}
    if isinstance(resume, Mapping) and resume:
        keys = list(resume)
        known = [k for k in keys if isinstance(k, str) and k in ids]
        if known and len(known) == len(keys):
            return dict(resume)
        looks_like_ids = all(isinstance(k, str) and _HEX32.match(k) for k in keys)
        if known or looks_like_ids:
            unknown = [k for k in keys if k not in ids]
            raise ResumeError(
                f"Command(resume=...) for thread {thread_id!r} names interrupt id(s) {unknown} that "
                f"are not pending. Pending: {_describe(pending)}."
            )
    if len(pending) == 1:
        return {pending[0].id: resume}
    raise ResumeError(
        f"thread {thread_id!r} has {len(pending)} pending interrupts, so a single resume value is "
        f"ambiguous. Answer them with Command(resume={{interrupt_id: value, ...}}). Pending: "
        f"{_describe(pending)}."
    )


def _describe(pending: Sequence[InterruptRecord]) -> str:
    parts = []
    for p in pending:
        v = summarize(p.value, 60)  # not repr(): a stored value's own __repr__ must not run
        parts.append(f"{p.id} (task {p.task or '<entrypoint>'!r}: {v})")
    return "; ".join(parts)
