"""A durable checkpointer on PostgreSQL (psycopg 3 and psycopg_pool).

Same contract and guarantees as :class:`~nbflow.checkpoint.sqlite.SqliteSaver`:

* Every ``put_checkpoint`` / ``put_writes`` call is one transaction, acknowledged
  only once the server has committed it, so a process killed with SIGKILL right
  after a call returned loses nothing (the server's own ``fsync``/
  ``synchronous_commit`` settings decide what survives the *server* crashing).
  A batch of rows is one ``INSERT ... SELECT FROM unnest(...)`` statement: one
  round trip, atomic in autocommit mode.
* Group commit: rows from threads finishing together queue while another
  thread's transaction is in flight; whoever leads next commits everything
  queued in one statement and each caller returns once its own rows are in.
* Many threads share a saver (a pool, or one connection behind a lock); many
  processes and machines share one database (no in-process state is needed
  for correctness: ``seq`` and activity order come from one database sequence).

Connections: ``PostgresSaver(pool_or_connection)`` uses a
:class:`psycopg_pool.ConnectionPool` or a :class:`psycopg.Connection` as given
(never closes it; a connection that is not in autocommit mode gets a
``BEGIN``/``COMMIT`` per call, or a savepoint inside the caller's own
transaction). ``PostgresSaver.from_conn_string(uri)`` opens a pool of its own
and closes it on exit. Tables live in the first schema of the connection's
``search_path`` (add ``?options=-csearch_path%3Dmyschema`` to the URI to pick one).

Schema: versioned by the ``nbflow_migrations`` table; :meth:`PostgresSaver.setup`
applies the missing migrations under a transaction-scoped advisory lock, so it
is idempotent and safe when several processes call it at once. The tables are
prefixed ``nbflow_`` so they can sit next to LangGraph's in one database::

    nbflow_checkpoints(thread_id, checkpoint_ns, checkpoint_id, parent_id, created_at,
                       step, source, channels bytea, metadata bytea, touched)
    nbflow_writes(seq, thread_id, checkpoint_ns, checkpoint_id, task_id, name, path,
                  kind, payload bytea, started_at, ended_at, summary, wave)

Faults: a lost connection (a server restart, ``pg_terminate_backend``, a
network cut) or a statement cancelled by ``statement_timeout`` is retried, on
a fresh connection, for up to ``reconnect_timeout`` seconds (default 30), so a
short outage is survived without the run noticing. Every journal row carries a
random key (``wkey``, unique) made once per call, and inserts skip a key
already stored: a commit whose outcome is unknown (the connection cut after the
server committed, before the client heard so) is retried without duplicating
rows; checkpoints are upserts by their primary key, so they are idempotent too.

Errors: a malformed URI is a :class:`~nbflow.errors.ConfigError`; a server
unreachable for longer than ``reconnect_timeout``, missing tables or a failed
statement is a :class:`~nbflow.checkpoint.base.SaverError`
(:class:`~nbflow.checkpoint.base.SaverConnectionError` for the first) naming
the database (password hidden), the thread and what to do:
``invoke(None, config)`` continues from the last committed task once the
server is back. No psycopg exception escapes a public call.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

try:
    import psycopg
    from psycopg import conninfo as _conninfo
    from psycopg.rows import tuple_row
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "PostgresSaver needs psycopg 3 and psycopg_pool: pip install 'nbflow[postgres]' "
        f"(or pip install 'psycopg[binary]' psycopg-pool) ({_exc})"
    ) from _exc

from ..errors import ConfigError
from ..schema import preload
from .base import BaseCheckpointSaver, CheckpointRecord, SaverConnectionError, SaverError, WriteRecord
from .groupcommit import GroupCommit
from .rows import checkpoint_record, write_record

__all__ = [
    "PostgresSaver", "SCHEMA_VERSION", "MIGRATIONS", "check_conninfo", "redact_conninfo",
]

_T = TypeVar("_T")

# Append only: a released migration is never edited; the schema version is its count.
MIGRATIONS: tuple[str, ...] = (
    """CREATE SEQUENCE IF NOT EXISTS nbflow_activity;
    CREATE TABLE nbflow_checkpoints (
        thread_id     text NOT NULL,
        checkpoint_ns text NOT NULL DEFAULT '',
        checkpoint_id text NOT NULL,
        parent_id     text,
        created_at    double precision NOT NULL,
        step          bigint NOT NULL,
        source        text NOT NULL,
        channels      bytea NOT NULL,
        metadata      bytea NOT NULL,
        touched       bigint NOT NULL DEFAULT nextval('nbflow_activity'),
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
    );
    CREATE TABLE nbflow_writes (
        seq           bigint PRIMARY KEY DEFAULT nextval('nbflow_activity'),
        thread_id     text NOT NULL,
        checkpoint_ns text NOT NULL DEFAULT '',
        checkpoint_id text NOT NULL,
        task_id       text NOT NULL,
        name          text NOT NULL,
        path          text NOT NULL,
        kind          text NOT NULL,
        payload       bytea NOT NULL,
        started_at    double precision,
        ended_at      double precision,
        summary       text NOT NULL DEFAULT '',
        wave          integer NOT NULL DEFAULT 0
    );
    CREATE INDEX nbflow_writes_by_checkpoint ON nbflow_writes (thread_id, checkpoint_ns, checkpoint_id, seq);
    CREATE INDEX nbflow_writes_by_thread ON nbflow_writes (thread_id, seq);""",
    # Idempotent writes: a retried insert whose first attempt did commit skips the rows already there.
    """ALTER TABLE nbflow_writes ADD COLUMN wkey text;
    CREATE UNIQUE INDEX nbflow_writes_by_key ON nbflow_writes (wkey);""",
)
SCHEMA_VERSION = len(MIGRATIONS)

_CKPT_COLS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_id, created_at, step, source, channels, metadata"
)
_WRITE_COLS = (
    "thread_id, checkpoint_ns, checkpoint_id, task_id, name, path, kind, payload,"
    " started_at, ended_at, summary, wave"
)
_INSERT_CKPT = (
    f"INSERT INTO nbflow_checkpoints ({_CKPT_COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET"
    " parent_id = EXCLUDED.parent_id, created_at = EXCLUDED.created_at, step = EXCLUDED.step,"
    " source = EXCLUDED.source, channels = EXCLUDED.channels, metadata = EXCLUDED.metadata,"
    " touched = nextval('nbflow_activity')"
)
_INSERT_WRITE = (
    f"INSERT INTO nbflow_writes ({_WRITE_COLS}, wkey) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    " ON CONFLICT (wkey) DO NOTHING"
)
# Many rows, one statement: column arrays unnested in order (WITH ORDINALITY
# keeps the caller's order for the sequence values).
_INSERT_WRITES = (
    f"INSERT INTO nbflow_writes ({_WRITE_COLS}, wkey) SELECT {_WRITE_COLS}, wkey FROM unnest("
    "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::bytea[], %s::float8[], %s::float8[], %s::text[], %s::int4[], %s::text[]) WITH ORDINALITY"
    f" AS r({_WRITE_COLS}, wkey, ord) ORDER BY ord ON CONFLICT (wkey) DO NOTHING"
)
_GET_LATEST = (
    f"SELECT {_CKPT_COLS} FROM nbflow_checkpoints WHERE thread_id = %s AND checkpoint_ns = %s"
    " ORDER BY checkpoint_id DESC LIMIT 1"
)
_GET_BY_ID = (
    f"SELECT {_CKPT_COLS} FROM nbflow_checkpoints"
    " WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s"
)
_LIST_CKPTS = (
    f"SELECT {_CKPT_COLS} FROM nbflow_checkpoints WHERE thread_id = %s AND checkpoint_ns = %s"
    " ORDER BY checkpoint_id DESC LIMIT %s"
)
_LIST_CKPTS_BEFORE = (
    f"SELECT {_CKPT_COLS} FROM nbflow_checkpoints"
    " WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id < %s"
    " ORDER BY checkpoint_id DESC LIMIT %s"
)
_GET_WRITES = (
    f"SELECT {_WRITE_COLS}, seq FROM nbflow_writes"
    " WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s ORDER BY seq"
)
_LIST_WRITES_ALL = f"SELECT {_WRITE_COLS}, seq FROM nbflow_writes WHERE thread_id = %s ORDER BY seq"
_LIST_WRITES_NS = (
    f"SELECT {_WRITE_COLS}, seq FROM nbflow_writes WHERE thread_id = %s AND checkpoint_ns = %s ORDER BY seq"
)
_LIST_THREADS = (
    "SELECT c.thread_id FROM (SELECT thread_id, max(touched) AS touched FROM nbflow_checkpoints"
    " GROUP BY thread_id) c ORDER BY greatest(c.touched, coalesce((SELECT max(w.seq) FROM nbflow_writes w"
    " WHERE w.thread_id = c.thread_id), 0)) DESC"
)
_SETUP_LOCK = "SELECT pg_advisory_xact_lock(hashtext('nbflow.setup:' || coalesce(current_schema(), '')))"


def redact_conninfo(conninfo: str) -> str:
    """``conninfo`` with any password replaced by ``***`` (URI or ``key=value`` form)."""
    text = str(conninfo)
    if "://" in text:
        try:
            parts = urlsplit(text)
            netloc = parts.netloc
            if "@" in netloc:
                userinfo, host = netloc.rsplit("@", 1)
                if ":" in userinfo:
                    userinfo = userinfo.split(":", 1)[0] + ":***"
                netloc = f"{userinfo}@{host}"
            query = "&".join(
                "password=***" if q.lower().startswith("password=") else q for q in parts.query.split("&")
            ) if parts.query else ""
            return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        except ValueError:
            return "<unparsable URI>"
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text)


def check_conninfo(conninfo: str) -> None:
    """Raise ConfigError for text libpq cannot parse (before any connection attempt)."""
    if not isinstance(conninfo, str) or not conninfo.strip():
        raise ConfigError(
            f"PostgresSaver needs a connection string such as 'postgresql://user@host:5432/dbname', "
            f"got {conninfo!r}"
        )
    if conninfo.strip() in ("postgresql://", "postgres://"):
        raise ConfigError(
            f"PostgresSaver: {conninfo!r} names no server or database; "
            "use postgresql://user[:password]@host[:port]/dbname"
        )
    if "://" in conninfo and not conninfo.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"PostgresSaver: {redact_conninfo(conninfo)!r} is not a PostgreSQL URI; "
            "it must start with postgresql:// (e.g. postgresql://user@host:5432/dbname)"
        )
    try:
        params = _conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error as exc:
        raise ConfigError(
            f"PostgresSaver: cannot parse the connection string {redact_conninfo(conninfo)!r}: "
            f"{exc}. Use postgresql://user[:password]@host[:port]/dbname"
        ) from None
    for port in str(params.get("port") or "").split(","):
        if port and not port.isdigit():
            raise ConfigError(
                f"PostgresSaver: the port {port!r} in {redact_conninfo(conninfo)!r} is not a number; "
                "use postgresql://user[:password]@host[:port]/dbname (the default port is 5432)"
            )


class PostgresSaver(BaseCheckpointSaver):
    """A :class:`BaseCheckpointSaver` on PostgreSQL (see the module docstring).

    ``PostgresSaver(pool_or_connection)`` -- a :class:`psycopg_pool.ConnectionPool`
    (used concurrently) or one :class:`psycopg.Connection` (used behind a lock).
    Call :meth:`setup` once per database (it is cheap and idempotent).
    """

    def __init__(self, conn: Any, *, conninfo: str | None = None, reconnect_timeout: float = 30.0) -> None:
        if isinstance(conn, ConnectionPool):
            self._pool: ConnectionPool | None = conn
            self._conn: psycopg.Connection | None = None
            where = conninfo or conn.conninfo
        elif isinstance(conn, psycopg.Connection):
            self._pool, self._conn = None, conn
            where = conninfo or _describe_connection(conn)
        else:
            raise ConfigError(
                "PostgresSaver expects a psycopg_pool.ConnectionPool or a psycopg.Connection "
                f"(or use PostgresSaver.from_conn_string(uri)), got {type(conn).__name__}"
            )
        self.where = redact_conninfo(where)  # type: ignore[arg-type]
        self.reconnect_timeout = float(reconnect_timeout)  # how long a lost server is waited for
        self._conn_lock = threading.RLock()   # serialises use of a single connection
        self._owned: Callable[[], None] | None = None
        self._writer: Any = None  # owned pools: the group-commit leader's connection
        self._closed = False
        # group commit (checkpoint/groupcommit.py, as SqliteSaver): its lock is held by the one
        # leader committing a batch
        self._group = GroupCommit(threading.Lock())
        preload()  # stored JSON schemas validate, and set members hash-check, with no import or compile

    # -- construction ----------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        synchronous_commit: str | None = None,
        reconnect_timeout: float = 30.0,
    ) -> Iterator[PostgresSaver]:
        """``with PostgresSaver.from_conn_string(uri) as saver: saver.setup(); ...``

        Opens a pool of up to ``pool_size`` connections (autocommit), checks the
        server answers within ``connect_timeout`` seconds, and closes the pool on exit.
        ``synchronous_commit`` (``"on"``, ``"off"``, ...; default: the server's
        setting) is set on every pooled connection: ``"off"`` acknowledges a
        commit before the server flushes its WAL, which still survives any
        *client* being killed (the guarantee SqliteSaver gives) but may lose the
        last fraction of a second of commits if the *server* crashes.
        """
        saver = cls.open(
            conn_string, pool_size=pool_size, connect_timeout=connect_timeout,
            synchronous_commit=synchronous_commit, reconnect_timeout=reconnect_timeout,
        )
        try:
            yield saver
        finally:
            saver.close()

    @classmethod
    def open(
        cls,
        conn_string: str,
        *,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        synchronous_commit: str | None = None,
        reconnect_timeout: float = 30.0,
    ) -> PostgresSaver:
        """A saver owning a new pool on ``conn_string`` (close it with :meth:`close`);
        the arguments are :meth:`from_conn_string`'s, and ``reconnect_timeout``: how long a
        call waits for a lost server to come back before it fails (see the module docstring)."""
        check_conninfo(conn_string)
        if synchronous_commit is not None and synchronous_commit not in _SYNC_COMMIT:
            raise ConfigError(
                f"PostgresSaver: synchronous_commit={synchronous_commit!r} is not one of {_SYNC_COMMIT}"
            )
        pool = _open_pool(conn_string, pool_size, connect_timeout, synchronous_commit)
        saver = cls(pool, conninfo=conn_string, reconnect_timeout=reconnect_timeout)
        saver._owned = pool.close
        return saver

    # -- plumbing --------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._closed:
            raise SaverError(f"PostgresSaver on {self.where} is closed")
        if self._pool is not None:
            with self._pool.connection(timeout=max(1.0, min(self.reconnect_timeout, 30.0))) as conn:
                yield conn
        else:
            with self._conn_lock:
                yield self._conn

    def _run(self, what: str, fn: Callable[[Any], _T], *, tx: bool = False, threads: Sequence[str] = ()) -> _T:
        """``fn(conn)`` on a connection; in one transaction when ``tx`` or when the
        connection is not in autocommit mode. A lost connection is retried (``fn`` must
        be idempotent: every call here is); psycopg errors become SaverErrors."""

        def once() -> _T:
            with self._connection() as conn:
                if tx or not conn.autocommit:
                    with conn.transaction():
                        return fn(conn)
                return fn(conn)

        return self._retrying(what, threads, once)

    def _retrying(self, what: str, threads: Sequence[str], once: Callable[[], _T]) -> _T:
        """``once()``, again on a fresh connection after a connection-level failure, until
        ``reconnect_timeout`` has passed; then one SaverError saying what to do."""
        deadline = time.monotonic() + self.reconnect_timeout
        delay = 0.05
        while True:
            try:
                return once()
            except (psycopg.Error, PoolTimeout) as exc:
                lost_for_good = self._pool is None and (self._conn.closed or self._conn.broken)  # type: ignore[union-attr]
                if (not _transient(exc) or self._closed or lost_for_good
                        or time.monotonic() + delay > deadline):
                    raise self._translate(exc, what, threads) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _translate(self, exc: BaseException, what: str, threads: Sequence[str] = ()) -> SaverError:
        names = sorted({t for t in threads if isinstance(t, str)})
        who = ""
        if names:
            shown = ", ".join(repr(t) for t in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            who = f" for thread{'s' if len(names) > 1 else ''} {shown}"
        then = ("; `invoke(None, config)` continues from the last committed task once it is fixed"
                if what in ("put_writes", "put_checkpoint") else
                "; nothing was changed: once it is fixed, retry (`invoke(None, config)` continues a run "
                "from its last committed task)")
        if isinstance(exc, psycopg.errors.UndefinedTable):
            return SaverError(
                f"PostgresSaver: the nbflow tables are missing in {self.where} ({_first_line(exc)}); "
                "call saver.setup() once for this database (and schema)"
            )
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return SaverError(
                f"PostgresSaver: {what}{who} failed: the server at {self.where} did not answer within its "
                f"statement_timeout, for {self.reconnect_timeout:g} s of retries ({_first_line(exc)}); "
                f"find what slows or locks it{then.replace('fixed', 'answering again')}"
            )
        if isinstance(exc, (psycopg.OperationalError, PoolTimeout)):
            return SaverConnectionError(
                f"PostgresSaver: {what}{who} failed: the server at {self.where} cannot be reached "
                f"({_first_line(exc)}), and did not come back within reconnect_timeout="
                f"{self.reconnect_timeout:g} s; check that PostgreSQL is running and reachable"
                f"{then.replace('it is fixed', 'it is back')}"
            )
        return SaverError(f"PostgresSaver: {what}{who} failed on {self.where}: {_first_line(exc)}{then}")

    def setup(self) -> None:
        """Create or migrate the tables (idempotent; safe from many processes at once)."""

        def migrate(conn: Any) -> int:
            with conn.cursor() as cur:
                cur.execute(_SETUP_LOCK)
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS nbflow_migrations ("
                    " v integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                cur.execute("SELECT coalesce(max(v), 0) FROM nbflow_migrations")
                version = cur.fetchone()[0]
                for v in range(version + 1, len(MIGRATIONS) + 1):
                    cur.execute(MIGRATIONS[v - 1])
                    cur.execute("INSERT INTO nbflow_migrations (v) VALUES (%s)", (v,))
                return version

        version = self._run("setup", migrate, tx=True)
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"the checkpoint database {self.where} has schema version {version}, newer than this "
                f"nbflow understands ({SCHEMA_VERSION}); upgrade nbflow"
            )

    def schema_version(self) -> int:
        """The version recorded in ``nbflow_migrations`` (0 before :meth:`setup`)."""

        def read(conn: Any) -> int:
            row = conn.execute("SELECT to_regclass('nbflow_migrations') IS NOT NULL").fetchone()
            if not row[0]:
                return 0
            return conn.execute("SELECT coalesce(max(v), 0) FROM nbflow_migrations").fetchone()[0]

        return self._run("schema_version", read)

    # -- writes ----------------------------------------------------------------

    def put_checkpoint(self, record: CheckpointRecord) -> None:
        row = (
            record.thread_id, record.checkpoint_ns, record.checkpoint_id, record.parent_id,
            record.created_at, record.step, record.source, record.channels, record.metadata,
        )
        self._run("put_checkpoint", lambda conn: conn.execute(_INSERT_CKPT, row), threads=(record.thread_id,))

    def put_writes(self, records: Sequence[WriteRecord]) -> None:
        if not records:
            return
        # wkey: made once here, so a retry of an insert whose outcome is unknown cannot duplicate it
        rows = [
            (r.thread_id, r.checkpoint_ns, r.checkpoint_id, r.task_id, r.name, r.path, r.kind,
             r.payload, r.started_at, r.ended_at, r.summary, r.wave, os.urandom(16).hex())
            for r in records
        ]
        # Group commit: see the module docstring.
        self._group.submit(rows, self._insert_rows)

    def _insert_rows(self, rows: list[tuple]) -> None:
        """Commit ``rows`` in one statement (called by the group-commit leader only)."""
        threads = [r[0] for r in rows]
        args: Any
        if len(rows) == 1:
            sql, args = _INSERT_WRITE, rows[0]
        else:
            sql, args = _INSERT_WRITES, [list(col) for col in zip(*rows, strict=True)]
        if self._owned is not None:
            # A pool of our own: the leader keeps one autocommit connection for
            # writes (no pool check-out per task on the hot path).
            self._retrying("put_writes", threads, lambda: self._insert_on_writer(sql, args))
            return
        self._run("put_writes", lambda conn: conn.execute(sql, args), threads=threads)

    def _insert_on_writer(self, sql: str, args: Any) -> None:
        if self._closed:
            raise SaverError(f"PostgresSaver on {self.where} is closed")
        conn = self._writer
        try:
            if conn is None:
                conn = self._writer = self._pool.getconn(  # type: ignore[union-attr]  # owned: a pool
                    timeout=max(1.0, min(self.reconnect_timeout, 30.0)))
            conn.execute(sql, args)
        except (psycopg.Error, PoolTimeout):
            if conn is not None and (conn.closed or conn.broken):
                self._writer = None
                self._pool.putconn(conn)  # type: ignore[union-attr]  # the pool discards a broken connection
            raise

    def delete_thread(self, thread_id: str) -> None:
        def delete(conn: Any) -> None:
            conn.execute("DELETE FROM nbflow_checkpoints WHERE thread_id = %s", (thread_id,))
            conn.execute("DELETE FROM nbflow_writes WHERE thread_id = %s", (thread_id,))

        self._run("delete_thread", delete, tx=True, threads=(thread_id,))

    # -- reads -----------------------------------------------------------------

    def _fetch(self, what: str, sql: str, args: tuple) -> list[tuple]:
        def fetch(conn: Any) -> list[tuple]:
            with conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(sql, args)
                return cur.fetchall()

        return self._run(what, fetch, threads=args[:1] if args and isinstance(args[0], str) else ())

    def get_checkpoint(
        self, thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointRecord | None:
        if checkpoint_id is None:
            rows = self._fetch("get_checkpoint", _GET_LATEST, (thread_id, checkpoint_ns))
        else:
            rows = self._fetch("get_checkpoint", _GET_BY_ID, (thread_id, checkpoint_ns, checkpoint_id))
        return checkpoint_record(rows[0]) if rows else None

    def list_checkpoints(
        self,
        thread_id: str,
        checkpoint_ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> list[CheckpointRecord]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit!r}")
        if before is None:
            rows = self._fetch("list_checkpoints", _LIST_CKPTS, (thread_id, checkpoint_ns, limit))
        else:
            rows = self._fetch("list_checkpoints", _LIST_CKPTS_BEFORE, (thread_id, checkpoint_ns, before, limit))
        return [checkpoint_record(row) for row in rows]

    def get_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> list[WriteRecord]:
        rows = self._fetch("get_writes", _GET_WRITES, (thread_id, checkpoint_ns, checkpoint_id))
        return [write_record(row) for row in rows]

    def list_writes(self, thread_id: str, checkpoint_ns: str | None = None) -> list[WriteRecord]:
        if checkpoint_ns is None:
            rows = self._fetch("list_writes", _LIST_WRITES_ALL, (thread_id,))
        else:
            rows = self._fetch("list_writes", _LIST_WRITES_NS, (thread_id, checkpoint_ns))
        return [write_record(row) for row in rows]

    def list_threads(self) -> list[str]:
        return [row[0] for row in self._fetch("list_threads", _LIST_THREADS, ())]

    # -- lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Close the pool if the saver opened it (idempotent); a given pool/connection stays open."""
        if self._closed:
            return
        self._closed = True
        if self._owned is not None:
            with self._group.lock:  # let an in-flight batch finish
                if self._writer is not None:
                    self._pool.putconn(self._writer)  # type: ignore[union-attr]
                    self._writer = None
            self._owned()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where!r}{' closed' if self._closed else ''}>"


def _transient(exc: BaseException) -> bool:
    """A failure another attempt on a fresh connection may not meet: the connection or
    the server went away (restart, terminated backend, network), or the statement was
    cancelled by ``statement_timeout``; not a refused statement or a missing table."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.UndefinedTable)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe_connection(conn: Any) -> str:
    try:
        info = conn.info
        return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"
    except Exception:  # noqa: BLE001 - a closed connection: fall back to a generic name
        return "<psycopg connection>"


_SYNC_COMMIT = ("on", "off", "local", "remote_write", "remote_apply")


def _open_pool(conn_string: str, pool_size: int, connect_timeout: float, synchronous_commit: str | None) -> Any:
    """A ready autocommit pool on ``conn_string``, or a SaverConnectionError saying why not."""
    where = redact_conninfo(conn_string)
    # Probe with one direct connection first: libpq's own message (refused,
    # unknown host, bad password, no such database) is the useful one.
    try:
        psycopg.connect(conn_string, connect_timeout=max(1, int(connect_timeout))).close()
    except psycopg.Error as exc:
        raise SaverConnectionError(
            f"PostgresSaver cannot connect to {where}: {_first_line(exc)}. Check that the server "
            "is running and reachable from here, and that the user, password and database in the "
            "URI are right (create the database first with `createdb`)"
        ) from None
    def configure(conn: Any) -> None:
        if synchronous_commit is not None:
            conn.execute(f"SET synchronous_commit = {synchronous_commit}")  # a checked keyword

    pool = ConnectionPool(
        conn_string,
        min_size=1,
        max_size=max(2, pool_size),  # one is kept by the writer
        kwargs={"autocommit": True},
        configure=configure,
        open=False,
        name="nbflow",
    )
    try:
        pool.open(wait=True, timeout=connect_timeout)
    except Exception as exc:  # noqa: BLE001 - closed, then re-raised as a SaverConnectionError
        pool.close()
        raise SaverConnectionError(
            f"PostgresSaver cannot open a connection pool on {where}: {_first_line(exc)}"
        ) from None
    return pool

