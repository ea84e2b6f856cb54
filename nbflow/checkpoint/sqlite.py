"""A durable checkpointer on one SQLite file (stdlib :mod:`sqlite3` only).

Durability and concurrency:

* Connections the saver opens itself use ``journal_mode=WAL`` with
  ``synchronous=NORMAL``: a transaction is in the WAL file (the OS page cache)
  when ``COMMIT`` returns, so it survives the process crashing or being
  SIGKILLed (not necessarily a power cut, which is not what we defend against).
* Every ``put_checkpoint`` / ``put_writes`` call is one transaction: a single
  statement in autocommit mode when that is all it takes, else ``BEGIN
  IMMEDIATE`` ... ``COMMIT``. Writers from several processes queue on the
  file's write lock (``busy_timeout``) instead of failing half-way; a
  ``database is locked`` that still escapes is retried until the timeout is spent.
* One connection per saver, guarded by a lock, so a saver is safe to share
  between threads.
* Faults become one :class:`~nbflow.checkpoint.base.SaverError` naming the
  file, the thread(s) and what to do (a full disk, a read-only file or
  directory, a lock held by another process past ``busy_timeout``, a corrupted
  or foreign file); no ``sqlite3`` exception escapes. A transaction that fails
  is rolled back whole, so no partial checkpoint is ever visible, and
  ``invoke(None, config)`` continues from the last committed task once the
  fault is gone. A file deleted or replaced under the saver (found by its
  inode before each write, and before a read at most every 0.5 s) is never
  written to again: the call fails, and the next one reopens the path if a
  file is there again.
* A connection the user passes in (``SqliteSaver(sqlite3.connect(path,
  check_same_thread=False))``, the idiom of LangGraph's docs) is adopted as
  LangGraph's SqliteSaver adopts it -- switched to ``journal_mode=WAL`` (a
  property of the file, so it persists) -- and, when it is at SQLite's default
  ``synchronous=FULL``, lowered to ``NORMAL`` for the saver's life: the same
  crash guarantee as a saver-opened connection, without one fsync per commit
  (which is what made a user's connection ~15x slower per task than a path).
  Pass ``synchronous="full"`` (or ``"extra"``) to keep fsync on every commit,
  or ``synchronous=None`` to leave the connection's setting untouched. Nothing
  is changed on a connection that is inside a transaction or on ``:memory:``
  databases (no journal file to switch).

Schema (version :data:`SCHEMA_VERSION`, kept in the ``meta`` table)::

    checkpoints(thread_id, checkpoint_ns, checkpoint_id, parent_id, created_at,
                step, source, channels BLOB, metadata BLOB, touched)
    writes(seq INTEGER PRIMARY KEY, thread_id, checkpoint_ns,
           checkpoint_id, task_id, name, path, kind, payload BLOB, started_at,
           ended_at, summary, wave)
    pieces(thread_id, hash BLOB, data BLOB, PRIMARY KEY (thread_id, hash))   -- since version 2
    meta(key PRIMARY KEY, value)

Version 2 added ``pieces`` (a checkpoint's channels name shared, content-addressed pieces:
:mod:`nbflow.serde.pieces`). A version-1 file is upgraded when opened (the table is added; its rows
stay readable as they are), after which an nbflow that knows only version 1 refuses it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ..errors import ConfigError
from ..schema import preload
from ..serde import default_serializer, vetted
from . import retention, values
from .base import BaseCheckpointSaver, CheckpointRecord, SaverError, WriteRecord
from .groupcommit import GroupCommit
from .leases import Lease
from .rows import checkpoint_record, pack, resolve, split_payload, write_record

__all__ = ["SqliteSaver", "SCHEMA_VERSION"]

SCHEMA_VERSION = 2
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds
# A read checks that the path still holds the opened file at most this often (a write always checks,
# so nothing is ever written to a file deleted or replaced): reads are the hot path of replay.
_READ_RECHECK = 0.5

_T = TypeVar("_T")
_SYNC_LEVELS = {"off": 0, "normal": 1, "full": 2, "extra": 3}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        thread_id     TEXT NOT NULL,
        checkpoint_ns TEXT NOT NULL DEFAULT '',
        checkpoint_id TEXT NOT NULL,
        parent_id     TEXT,
        created_at    REAL NOT NULL,
        step          INTEGER NOT NULL,
        source        TEXT NOT NULL,
        channels      BLOB NOT NULL,
        metadata      BLOB NOT NULL,
        touched       REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
    )""",
    """CREATE TABLE IF NOT EXISTS writes (
        seq           INTEGER PRIMARY KEY,  -- the rowid: increasing for every live thread
        thread_id     TEXT NOT NULL,
        checkpoint_ns TEXT NOT NULL DEFAULT '',
        checkpoint_id TEXT NOT NULL,
        task_id       TEXT NOT NULL,
        name          TEXT NOT NULL,
        path          TEXT NOT NULL,
        kind          TEXT NOT NULL,
        payload       BLOB NOT NULL,
        started_at    REAL,
        ended_at      REAL,
        summary       TEXT NOT NULL DEFAULT '',
        wave          INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE INDEX IF NOT EXISTS writes_by_checkpoint
        ON writes (thread_id, checkpoint_ns, checkpoint_id)""",
    """CREATE TABLE IF NOT EXISTS pieces (
        thread_id TEXT NOT NULL,
        hash      BLOB NOT NULL,
        data      BLOB NOT NULL,
        PRIMARY KEY (thread_id, hash)
    ) WITHOUT ROWID""",
    # who runs a thread's invocation, renewed while it runs (nbflow.checkpoint.leases); added without a
    # version bump: an older nbflow ignores the table
    """CREATE TABLE IF NOT EXISTS leases (
        thread_id     TEXT NOT NULL,
        checkpoint_ns TEXT NOT NULL DEFAULT '',
        owner         TEXT NOT NULL,
        renewed_at    REAL NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns)
    )""",

)

# Constant SQL text, so sqlite3's statement cache prepares each one once.
_CKPT_COLS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_id, created_at, step, source, channels, metadata"
)
_WRITE_COLS = (
    "thread_id, checkpoint_ns, checkpoint_id, task_id, name, path, kind, payload,"
    " started_at, ended_at, summary, wave"
)
# ``touched`` orders threads by activity for list_threads at no extra statement:
# the writes counter's current value plus one half, so a checkpoint sorts after
# every write made before it and before every write made after it.
_INSERT_CKPT = (
    f"INSERT OR REPLACE INTO checkpoints ({_CKPT_COLS}, touched) VALUES (?,?,?,?,?,?,?,?,?,"
    " coalesce((SELECT max(seq) FROM writes), 0) + 0.5)"
)
_INSERT_PIECE = "INSERT OR IGNORE INTO pieces (thread_id, hash, data) VALUES (?,?,?)"
_PIECE_BATCH = 500  # hashes per SELECT ... IN (...)
_PUT_LEASE = "INSERT OR REPLACE INTO leases (thread_id, checkpoint_ns, owner, renewed_at) VALUES (?,?,?,?)"
_INSERT_WRITE = f"INSERT INTO writes ({_WRITE_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
_GET_LATEST = (
    f"SELECT {_CKPT_COLS} FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ?"
    " ORDER BY checkpoint_id DESC LIMIT 1"
)
_GET_BY_ID = (
    f"SELECT {_CKPT_COLS} FROM checkpoints"
    " WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
)
_LIST_CKPTS = (
    f"SELECT {_CKPT_COLS} FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ?"
    " ORDER BY checkpoint_id DESC LIMIT ?"
)
_LIST_CKPTS_BEFORE = (
    f"SELECT {_CKPT_COLS} FROM checkpoints"
    " WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?"
    " ORDER BY checkpoint_id DESC LIMIT ?"
)
_GET_WRITES = (
    f"SELECT {_WRITE_COLS}, seq FROM writes"
    " WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? ORDER BY seq"
)
_LIST_WRITES_ALL = f"SELECT {_WRITE_COLS}, seq FROM writes WHERE thread_id = ? ORDER BY seq"
_LIST_WRITES_NS = (
    f"SELECT {_WRITE_COLS}, seq FROM writes WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY seq"
)
_LIST_THREADS = (
    "SELECT thread_id FROM checkpoints c GROUP BY thread_id ORDER BY max(max(touched),"
    " coalesce((SELECT max(seq) FROM writes w WHERE w.thread_id = c.thread_id), 0)) DESC, max(rowid) DESC"
)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def _is_thread_misuse(exc: sqlite3.ProgrammingError) -> bool:
    return "thread" in str(exc).lower()


class SqliteSaver(BaseCheckpointSaver):
    """A :class:`BaseCheckpointSaver` on a SQLite database.

    ``SqliteSaver(path)`` opens (and owns) a connection to ``path`` (``str`` or
    :class:`os.PathLike`; parent directories are created; ``":memory:"`` works).
    ``SqliteSaver(conn)`` uses an existing :class:`sqlite3.Connection` as-is
    (:meth:`close` does not close it); create it with ``sqlite3.connect(path,
    check_same_thread=False)`` if the saver will be used from more than one
    thread, which the engine does. Such a connection is put in WAL mode, and
    ``synchronous`` is set to ``"normal"`` unless another ``synchronous``
    value (``"off"``, ``"normal"``, ``"full"``, ``"extra"``, or ``None``: leave
    it as it is) is passed; see the module docstring for why.

    ``serde`` is the serializer the engine uses for this saver's payloads
    (default: nbflow's strict JSON serializer; e.g.
    :class:`nbflow.serde.encrypted.EncryptedSerializer` to encrypt them at rest).
    """

    def __init__(
        self,
        conn_or_path: sqlite3.Connection | str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        serde: Any = None,
        synchronous: str | None = "normal",
    ) -> None:
        self.serde = default_serializer if serde is None else serde
        self._lock = threading.RLock()
        self._group = GroupCommit(self._lock)
        self._busy_timeout = float(busy_timeout)
        self._closed = False
        self._ident: tuple[int, int] | None = None
        self._lost: str | None = None  # why the file this saver had open is gone (deleted / replaced)
        self._recheck_at = 0.0  # reads look at the file again after this (time.monotonic()); writes always do
        self.path: str | None = None
        if isinstance(conn_or_path, sqlite3.Connection):
            self._conn = conn_or_path
            self._owns_conn = False
            self._adopt(conn_or_path, synchronous)
        elif isinstance(conn_or_path, (str, os.PathLike)):
            path = os.fspath(conn_or_path)
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            self.path = path
            self._conn = self._open_translated(path)
            self._owns_conn = True
        else:
            raise ConfigError(
                "SqliteSaver expects a sqlite3.Connection or a file path, "
                f"got {type(conn_or_path).__name__}"
            )
        try:
            self._setup()
        except BaseException:
            if self._owns_conn:
                self._conn.close()
            raise
        self._ident = self._file_identity()
        preload()  # stored JSON schemas validate, and set members hash-check, with no import or compile
        vetted.load()  # the classes nbflow vouches for (LangChain messages), imported as the saver opens

    # -- construction ----------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(
        cls, conn_string: str | os.PathLike[str], **kwargs: Any
    ) -> Iterator[SqliteSaver]:
        """``with SqliteSaver.from_conn_string("x.sqlite") as saver: ...``; closes on exit."""
        saver = cls(conn_string, **kwargs)
        try:
            yield saver
        finally:
            saver.close()

    @staticmethod
    def _open(path: str, busy_timeout: float) -> sqlite3.Connection:
        uri = path.startswith("file:")
        if not uri and path not in ("", ":memory:"):
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        conn = sqlite3.connect(
            path,
            timeout=busy_timeout,
            check_same_thread=False,
            isolation_level=None,
            uri=uri,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # Several processes may open a fresh file at once; switching the
            # journal mode needs an exclusive lock and can report "locked"
            # without going through the busy handler, hence the retry.
            _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone(), busy_timeout)
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _adopt(self, conn: sqlite3.Connection, synchronous: str | None) -> None:
        """Put a user's connection in WAL mode (and ``synchronous`` as asked); see the module doc."""
        if synchronous is not None and str(synchronous).lower() not in _SYNC_LEVELS:
            raise ConfigError(
                f"SqliteSaver: synchronous must be one of {sorted(_SYNC_LEVELS)} or None, "
                f"got {synchronous!r}"
            )

        def adopt() -> None:
            if conn.in_transaction:
                return  # journal mode cannot change inside a transaction: leave it
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode not in ("wal", "memory"):
                _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone(),
                            self._busy_timeout)
                mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if synchronous is not None and mode == "wal":
                level = _SYNC_LEVELS[str(synchronous).lower()]
                if int(conn.execute("PRAGMA synchronous").fetchone()[0]) != level:
                    conn.execute(f"PRAGMA synchronous = {level}")

        self._run(adopt)

    def _setup(self) -> None:
        def create() -> None:
            with self._write_tx() as conn:
                for stmt in _SCHEMA:
                    conn.execute(stmt)
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if int(row[0]) < SCHEMA_VERSION:  # migrate: the tables added since are there now
                    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
                    row = (SCHEMA_VERSION,)
            version = int(row[0])
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the checkpoint database has schema version {version}, newer than this "
                    f"nbflow understands ({SCHEMA_VERSION}); upgrade nbflow"
                )

        self._run(create, write=True, what="open")

    # -- plumbing --------------------------------------------------------------

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (call with the lock held).

        ``BEGIN IMMEDIATE`` takes the write lock up front, so a transaction
        never has to upgrade a read lock (which SQLite cannot wait for). If a
        user-supplied connection is already inside a transaction of its own, a
        savepoint is used instead and the user's COMMIT makes it durable.
        """
        conn = self._conn
        if conn.in_transaction:
            conn.execute("SAVEPOINT nbflow_write")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO nbflow_write")
                conn.execute("RELEASE nbflow_write")
                raise
            conn.execute("RELEASE nbflow_write")
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # Also reached when COMMIT itself fails: undo, so a retry starts clean.
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def _run(self, fn: Callable[[], _T], *, write: bool = False, what: str = "read",
             threads: Sequence[str] = ()) -> _T:
        """Run ``fn`` under the lock, translating thread misuse and retrying busy errors.

        Any ``sqlite3`` error becomes a :class:`SaverError` naming the file, ``what`` was
        being done and for which ``threads`` (see :meth:`_translate`).
        """
        with self._lock:
            if write or self._lost is not None or time.monotonic() >= self._recheck_at:
                self._check_file(what, threads)
            try:
                if write and not self._conn.in_transaction:
                    return _retry_busy(fn, self._busy_timeout)
                # Reads, and writes inside a caller's own open transaction (a
                # retry cannot help there: the caller holds the locks).
                return fn()
            except sqlite3.ProgrammingError as exc:
                if _is_thread_misuse(exc):
                    raise ConfigError(
                        "SqliteSaver was given a sqlite3.Connection that can only be used in "
                        "the thread that created it, but nbflow calls the checkpointer from "
                        "worker threads. Create it with "
                        "sqlite3.connect(path, check_same_thread=False), or pass SqliteSaver "
                        f"the path instead. ({exc})"
                    ) from exc
                raise self._translate(exc, what, threads) from None
            except sqlite3.Error as exc:
                raise self._translate(exc, what, threads) from None

    @property
    def _where(self) -> str:
        return repr(self.path) if self.path is not None else "a sqlite3.Connection"

    def _translate(self, exc: sqlite3.Error, what: str, threads: Sequence[str]) -> SaverError:
        """One :class:`SaverError` saying what failed, for which thread, and what to do."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        busy = (f"another process has held its lock for more than busy_timeout={self._busy_timeout:g} s: "
                "end that process's transaction (or give the saver a longer busy_timeout)")
        restore = "restore it from a backup (or move it away to start a new database)"
        fixes = (
            ("SQLITE_FULL", "the disk holding it is full: free some space"),
            ("SQLITE_BUSY", busy),
            ("SQLITE_LOCKED", "another connection of this process holds a lock on it: end its transaction"),
            ("SQLITE_CORRUPT", f"the file is corrupted: {restore}"),
            ("SQLITE_NOTADB", f"it is not a SQLite database (a damaged header, or another kind of file): {restore}"),
            ("SQLITE_READONLY", ("it is read-only: make the file, its directory (SQLite writes -wal and -shm "
                                 "files beside it) and the filesystem writable")),
            ("SQLITE_IOERR", "the disk reported an I/O error: check the disk and that the file is still there"),
            ("SQLITE_CANTOPEN", "it cannot be opened: check that the file and its directory exist and are writable"),
        )
        fix = next((f for prefix, f in fixes if name.startswith(prefix)), None)
        if name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_READONLY")) and self._read_only():
            fix = fixes[5][1]
        if fix is None:
            fix = busy if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc) else "the statement failed"
        return SaverError(self._message(what, threads, f"{fix} ({exc})"))

    def _read_only(self) -> bool:
        """Whether the file or its directory cannot be written (a read-only file, directory or filesystem)."""
        if self.path is None or self.path in ("", ":memory:") or self.path.startswith("file:"):
            return False
        directory = os.path.dirname(os.path.abspath(self.path))
        return ((os.path.exists(self.path) and not os.access(self.path, os.W_OK))
                or (os.path.isdir(directory) and not os.access(directory, os.W_OK)))

    def _message(self, what: str, threads: Sequence[str], problem: str) -> str:
        names = sorted({t for t in threads if isinstance(t, str)})
        who = ""
        if names:
            shown = ", ".join(repr(t) for t in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            who = f" for thread{'s' if len(names) > 1 else ''} {shown}"
        then = {
            "write": ("; nothing of that write was committed, and `invoke(None, config)` continues from the "
                      "last committed task once this is fixed"),
            "open": ("; once this is fixed, open the saver again: `invoke(None, config)` continues a thread "
                     "from its last committed task"),
        }.get(what, "; nothing was changed: once this is fixed, retry (`invoke(None, config)` continues a run "
                    "from its last committed task)")
        return f"SqliteSaver on {self._where}: {what}{who} failed: {problem}{then}"

    def _open_translated(self, path: str) -> sqlite3.Connection:
        try:
            return self._open(path, self._busy_timeout)
        except sqlite3.Error as exc:
            raise self._translate(exc, "open", ()) from None

    def _file_identity(self) -> tuple[int, int] | None:
        """(device, inode) of the file this saver opened by path, or None (a connection, ``:memory:``)."""
        if self.path is None or self.path in ("", ":memory:") or self.path.startswith("file:"):
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _check_file(self, what: str, threads: Sequence[str]) -> None:
        """Refuse to use a file deleted or replaced since it was opened; reopen the path once a file is back.

        A deleted file stays writable through the open descriptor on POSIX, so without this
        check every later commit would go to a file nobody can open again.
        """
        if self._ident is None or self._closed:
            return
        self._recheck_at = time.monotonic() + _READ_RECHECK
        if self._lost is None:
            try:
                st = os.stat(self.path)  # type: ignore[arg-type]
                if (st.st_dev, st.st_ino) == self._ident:
                    return
                self._lost = "was replaced by another file"
            except FileNotFoundError:
                self._lost = "was deleted"
            except OSError:
                return  # the directory cannot be read now: let the statement report it
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()  # nothing more goes to the old file
            raise SaverError(self._message(what, threads, (
                f"the database file {self._lost} while this saver had it open; nothing was written to "
                "it since. Put the database back at that path (the next call reopens it)")))
        if not os.path.exists(self.path):  # type: ignore[arg-type]
            raise SaverError(self._message(what, threads, (
                f"the database file {self._lost} while this saver had it open and nothing is there now. "
                "Put the database back at that path (the next call reopens it)")))
        self._conn = self._open_translated(self.path)  # type: ignore[arg-type]
        self._lost = None
        self._ident = self._file_identity()
        try:
            self._setup()
        except SaverError:
            self._lost = "could not be reopened"
            raise

    # -- writes ----------------------------------------------------------------

    def put_checkpoint(self, record: CheckpointRecord, lease: Any = None) -> None:
        row = (
            record.thread_id,
            record.checkpoint_ns,
            record.checkpoint_id,
            record.parent_id,
            record.created_at,
            record.step,
            record.source,
            pack(record.channels),
            pack(record.metadata),
        )

        pieces = [(record.thread_id, h, d) for h, d in record.pieces]

        def put() -> None:
            conn = self._conn
            if not pieces and lease is None and conn.isolation_level is None and not conn.in_transaction:
                conn.execute(_INSERT_CKPT, row)  # one statement: its own transaction
                return
            with self._write_tx() as conn:
                if pieces:  # in the checkpoint's transaction: it never points to a missing piece
                    conn.executemany(_INSERT_PIECE, pieces)
                conn.execute(_INSERT_CKPT, row)
                if lease is not None:
                    conn.execute(_PUT_LEASE, (lease.thread_id, lease.checkpoint_ns, lease.owner, lease.renewed_at))

        self._run(put, write=True, what="write", threads=(record.thread_id,))

    def put_checkpoint_and_lease(self, record: CheckpointRecord, lease: Any) -> None:
        self.put_checkpoint(record, lease)  # one transaction

    def put_writes(self, records: Sequence[WriteRecord]) -> None:
        if not records:
            return
        rows = []
        for r in records:
            payload, piece = split_payload(r.payload, r.kind)  # a long payload: a piece, in the same transaction
            rows.append((r.thread_id, r.checkpoint_ns, r.checkpoint_id, r.task_id, r.name, r.path, r.kind, payload,
                         r.started_at, r.ended_at, r.summary, r.wave, piece))
        # Group commit (checkpoint/groupcommit.py): tasks finishing together share a transaction.
        self._group.submit(rows, lambda take: self._run(lambda: self._insert_rows(take), write=True, what="write",
                                                        threads=[r[0] for r in take]))

    def _insert_rows(self, rows: list[tuple]) -> None:
        conn = self._conn
        pieces = [(r[0], *r[12]) for r in rows if r[12] is not None]
        rows = [r[:12] for r in rows]
        if len(rows) == 1 and not pieces and conn.isolation_level is None and not conn.in_transaction:
            # One statement in autocommit mode is its own transaction: same
            # atomicity and durability, without the BEGIN/COMMIT round trips.
            conn.execute(_INSERT_WRITE, rows[0])
            return
        with self._write_tx() as conn:
            if pieces:
                conn.executemany(_INSERT_PIECE, pieces)
            conn.executemany(_INSERT_WRITE, rows)

    leases_shared = True

    def put_lease(self, lease: Any) -> None:
        row = (lease.thread_id, lease.checkpoint_ns, lease.owner, lease.renewed_at)

        def put() -> None:
            conn = self._conn
            if conn.isolation_level is None and not conn.in_transaction:
                conn.execute(_PUT_LEASE, row)  # one statement: its own transaction
                return
            with self._write_tx() as conn:
                conn.execute(_PUT_LEASE, row)

        self._run(put, write=True, what="lease", threads=(lease.thread_id,))

    def get_lease(self, thread_id: str, checkpoint_ns: str = "") -> Any:
        row = self._run(lambda: self._conn.execute(
            "SELECT owner, renewed_at FROM leases WHERE thread_id = ? AND checkpoint_ns = ?",
            (thread_id, checkpoint_ns)).fetchone(), what="read", threads=(thread_id,))
        return Lease(thread_id, checkpoint_ns, row[0], row[1]) if row else None

    def delete_thread(self, thread_id: str) -> None:
        def delete() -> None:
            with self._write_tx() as conn:
                conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,))
                conn.execute("DELETE FROM writes WHERE thread_id = ?", (thread_id,))
                conn.execute("DELETE FROM pieces WHERE thread_id = ?", (thread_id,))
                conn.execute("DELETE FROM leases WHERE thread_id = ?", (thread_id,))

        self._run(delete, write=True, what="delete", threads=(thread_id,))
        values.forget(self, thread_id)

    # -- pieces and retention --------------------------------------------------

    supports_pieces = True

    def get_pieces(self, thread_id: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        def fetch() -> dict[bytes, bytes]:
            out: dict[bytes, bytes] = {}
            conn = self._conn
            for i in range(0, len(hashes), _PIECE_BATCH):
                part = list(hashes[i:i + _PIECE_BATCH])
                sql = (f"SELECT hash, data FROM pieces WHERE thread_id = ? AND hash IN ({','.join('?' * len(part))})")
                out.update(conn.execute(sql, [thread_id, *part]).fetchall())
            return out

        got = self._run(fetch, threads=(thread_id,))
        if any(type(h) is not bytes or type(d) is not bytes for h, d in got.items()):
            raise SaverError(self._message("read", (thread_id,), "a row of the pieces table holds a value that is "
                                           "not bytes; the database was written by something other than nbflow"))
        return got

    def write_piece_refs(self, thread_id: str) -> list[tuple[str, str, bytes]]:
        rows = self._run(lambda: self._conn.execute(
            "SELECT checkpoint_ns, checkpoint_id, substr(payload, 2) FROM writes WHERE thread_id = ? AND "
            "length(payload) = 13 AND substr(payload, 1, 1) = X'23'", (thread_id,)).fetchall(), threads=(thread_id,))
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def piece_hashes(self, thread_id: str) -> set[bytes]:
        rows = self._run(lambda: self._conn.execute("SELECT hash FROM pieces WHERE thread_id = ?",
                                                    (thread_id,)).fetchall(), threads=(thread_id,))
        return {r[0] for r in rows}

    def prune_rows(self, thread_id: str, checkpoints: Sequence[tuple[str, str]], pieces: Sequence[bytes]) -> None:
        def delete() -> None:
            with self._write_tx() as conn:
                for ns, cid in checkpoints:
                    conn.execute("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND "
                                 "checkpoint_id = ?", (thread_id, ns, cid))
                    conn.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND "
                                 "checkpoint_id = ?", (thread_id, ns, cid))
                conn.executemany("DELETE FROM pieces WHERE thread_id = ? AND hash = ?",
                                 [(thread_id, h) for h in pieces])

        self._run(delete, write=True, what="prune", threads=(thread_id,))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_last: int | None = None,
              keep_invocations: int | None = None, vacuum: bool = False) -> retention.Pruned:
        """Drop old checkpoints of threads (:func:`nbflow.checkpoint.retention.prune`); ``vacuum=True``
        then gives the freed pages back to the file system (:meth:`vacuum`)."""
        out = retention.prune(self, thread_ids, strategy=strategy, keep_last=keep_last,
                              keep_invocations=keep_invocations)
        if vacuum:
            self.vacuum()
        return out

    def vacuum(self) -> None:
        """Rewrite the file without its free pages (SQLite ``VACUUM``), so it shrinks after a prune."""
        def run() -> None:
            conn = self._conn
            if conn.in_transaction:
                raise SaverError(self._message("vacuum", (), "the connection is inside a transaction of its "
                                               "own: commit it first"))
            conn.execute("VACUUM")

        self._run(run, write=True, what="vacuum")

    def namespaces(self, thread_id: str) -> list[str]:
        rows = self._run(lambda: self._conn.execute("SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE "
                                                    "thread_id = ?", (thread_id,)).fetchall(), threads=(thread_id,))
        return sorted(r[0] for r in rows)

    def thread_size(self, thread_id: str) -> int:
        def size() -> int:
            conn = self._conn
            a = conn.execute("SELECT coalesce(sum(length(channels) + length(metadata) + length(checkpoint_id) * 2 "
                             "+ 40), 0) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()[0]
            b = conn.execute("SELECT coalesce(sum(length(payload) + length(summary) + length(task_id) + "
                             "length(checkpoint_id) + length(path) + 60), 0) FROM writes WHERE thread_id = ?",
                             (thread_id,)).fetchone()[0]
            c = conn.execute("SELECT coalesce(sum(length(data) + length(hash) + length(thread_id)), 0) "
                             "FROM pieces WHERE thread_id = ?", (thread_id,)).fetchone()[0]
            return int(a) + int(b) + int(c)

        return self._run(size, threads=(thread_id,))

    # -- reads -----------------------------------------------------------------

    def get_checkpoint(
        self, thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointRecord | None:
        if checkpoint_id is None:
            sql, args = _GET_LATEST, (thread_id, checkpoint_ns)  # type: tuple[str, tuple]
        else:
            sql, args = _GET_BY_ID, (thread_id, checkpoint_ns, checkpoint_id)
        row = self._run(lambda: self._conn.execute(sql, args).fetchone(), threads=(thread_id,))
        return None if row is None else checkpoint_record(row)

    def list_checkpoints(
        self,
        thread_id: str,
        checkpoint_ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[CheckpointRecord]:
        if limit is None:
            limit = -1  # SQLite: no limit
        elif limit < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit!r}")
        if before is None:
            sql, args = _LIST_CKPTS, (thread_id, checkpoint_ns, limit)  # type: tuple[str, tuple]
        else:
            sql, args = _LIST_CKPTS_BEFORE, (thread_id, checkpoint_ns, before, limit)
        rows = self._run(lambda: self._conn.execute(sql, args).fetchall(), threads=(thread_id,))
        return [checkpoint_record(row) for row in rows]

    def get_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> list[WriteRecord]:
        args = (thread_id, checkpoint_ns, checkpoint_id)
        rows = self._run(lambda: self._conn.execute(_GET_WRITES, args).fetchall(), threads=(thread_id,))
        return resolve([write_record(row) for row in rows], lambda hs: self.get_pieces(thread_id, hs))

    def list_writes(self, thread_id: str, checkpoint_ns: str | None = None) -> list[WriteRecord]:
        if checkpoint_ns is None:
            sql, args = _LIST_WRITES_ALL, (thread_id,)  # type: tuple[str, tuple]
        else:
            sql, args = _LIST_WRITES_NS, (thread_id, checkpoint_ns)
        rows = self._run(lambda: self._conn.execute(sql, args).fetchall(), threads=(thread_id,))
        return resolve([write_record(row) for row in rows], lambda hs: self.get_pieces(thread_id, hs))

    def list_threads(self) -> list[str]:
        rows = self._run(lambda: self._conn.execute(_LIST_THREADS).fetchall())
        return [row[0] for row in rows]

    # -- lifecycle -------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The underlying connection (do not use it concurrently with the saver)."""
        return self._conn

    def close(self) -> None:
        """Close the connection if the saver opened it (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_conn:
                self._conn.close()

    def __repr__(self) -> str:
        where = self.path if self.path is not None else "<connection>"
        return f"<SqliteSaver {where!r}{' closed' if self._closed else ''}>"


def _retry_busy(fn: Callable[[], _T], timeout: float) -> _T:
    """Call ``fn``; on ``database is locked``/``busy`` retry with backoff until ``timeout``.

    ``fn`` must be all-or-nothing (one whole transaction), which :meth:`_write_tx`
    guarantees by rolling back on any failure.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
