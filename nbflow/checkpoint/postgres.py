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
                  kind, payload bytea, started_at, ended_at, summary, wave, wkey)
    nbflow_pieces(thread_id, hash bytea, data bytea)      -- shared pieces of checkpoints

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
import threading
from collections.abc import Iterator, Sequence
from typing import Any

try:
    import psycopg
    from psycopg.rows import tuple_row
    from psycopg_pool import PoolTimeout
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "PostgresSaver needs psycopg 3 and psycopg_pool: pip install 'nbflow[postgres]' "
        f"(or pip install 'psycopg[binary]' psycopg-pool) ({_exc})"
    ) from _exc

from ..errors import ConfigError
from ..schema import preload
from ..serde import vetted
from . import retention, values
from .base import BaseCheckpointSaver, CheckpointRecord, SaverError, WriteRecord
from .groupcommit import GroupCommit
from .leases import Lease
from .pgdb import PgDatabase, check_conninfo, redact_conninfo
from .rows import checkpoint_record, pack, resolve, split_payload, write_record

__all__ = [
    "PostgresSaver", "SCHEMA_VERSION", "MIGRATIONS", "check_conninfo", "redact_conninfo",
]



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
    # Content-addressed pieces a checkpoint's channels name (nbflow.serde.pieces), shared by a thread's checkpoints.
    """CREATE TABLE nbflow_pieces (
        thread_id text NOT NULL,
        hash      bytea NOT NULL,
        data      bytea NOT NULL,
        PRIMARY KEY (thread_id, hash)
    );""",
    # Run leases: who runs a thread's invocation, renewed while it runs (nbflow.checkpoint.leases).
    """CREATE TABLE nbflow_leases (
        thread_id     text NOT NULL,
        checkpoint_ns text NOT NULL DEFAULT '',
        owner         text NOT NULL,
        renewed_at    double precision NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns)
    );""",
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
_UPSERT_LEASE = (
    "INSERT INTO nbflow_leases (thread_id, checkpoint_ns, owner, renewed_at) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (thread_id, checkpoint_ns) DO UPDATE SET owner = EXCLUDED.owner, renewed_at = EXCLUDED.renewed_at"
)
# A checkpoint's new pieces (one thread's), and its lease, written by the statement that writes it
_PIECES_CTE = (
    "p AS (INSERT INTO nbflow_pieces (thread_id, hash, data) SELECT %s, h, d FROM unnest(%s::bytea[], %s::bytea[])"
    " AS x(h, d) ON CONFLICT (thread_id, hash) DO NOTHING)"
)
_INSERT_PIECES_AND_CKPT = f"WITH {_PIECES_CTE} {_INSERT_CKPT}"
_INSERT_LEASE_PIECES_AND_CKPT = f"WITH l AS ({_UPSERT_LEASE}), {_PIECES_CTE} {_INSERT_CKPT}"
_INSERT_PIECES_CTE = (
    "WITH p AS (INSERT INTO nbflow_pieces (thread_id, hash, data) SELECT t, h, d FROM unnest(%s::text[], %s::bytea[],"
    " %s::bytea[]) AS x(t, h, d) ON CONFLICT (thread_id, hash) DO NOTHING) "
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


class PostgresSaver(BaseCheckpointSaver):
    """A :class:`BaseCheckpointSaver` on PostgreSQL (see the module docstring).

    ``PostgresSaver(pool_or_connection)`` -- a :class:`psycopg_pool.ConnectionPool`
    (used concurrently) or one :class:`psycopg.Connection` (used behind a lock).
    Call :meth:`setup` once per database (it is cheap and idempotent).
    """

    def __init__(self, conn: Any, *, conninfo: str | None = None, reconnect_timeout: float = 30.0) -> None:
        # the database: a pool or a connection as given, or a PgDatabase (shared, e.g. with a PostgresStore)
        self.db = conn if isinstance(conn, PgDatabase) else PgDatabase(
            conn, conninfo=conninfo, reconnect_timeout=reconnect_timeout, owner="PostgresSaver")
        self._writer: Any = None  # owned pools: the group-commit leader's connection
        # group commit (checkpoint/groupcommit.py, as SqliteSaver): its lock is held by the one
        # leader committing a batch
        self._group = GroupCommit(threading.Lock())
        preload()  # stored JSON schemas validate, and set members hash-check, with no import or compile
        vetted.load()  # the classes nbflow vouches for (LangChain messages), imported as the saver opens

    @property
    def where(self) -> str:
        """The database, as messages name it (password hidden)."""
        return self.db.where

    @property
    def reconnect_timeout(self) -> float:
        """How long a call waits for a lost server to come back before it fails."""
        return self.db.reconnect_timeout

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
        return cls(PgDatabase.open(conn_string, pool_size=pool_size, connect_timeout=connect_timeout,
                                   synchronous_commit=synchronous_commit, reconnect_timeout=reconnect_timeout,
                                   owner="PostgresSaver"))

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

        version = self.db.run("setup", migrate, tx=True)
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

        return self.db.run("schema_version", read)

    # -- writes ----------------------------------------------------------------

    def put_checkpoint(self, record: CheckpointRecord, lease: Any = None) -> None:
        args: tuple = (
            record.thread_id, record.checkpoint_ns, record.checkpoint_id, record.parent_id,
            record.created_at, record.step, record.source, pack(record.channels), pack(record.metadata),
        )
        sql = _INSERT_CKPT
        if record.pieces or lease is not None:
            # the new pieces (and the run's lease) and the checkpoint in one statement: one round trip, atomic
            # (it never points to a missing piece); idempotent, so a retry after an unknown outcome duplicates nothing
            args = (record.thread_id, [h for h, _ in record.pieces], [d for _, d in record.pieces], *args)
            sql = _INSERT_PIECES_AND_CKPT
            if lease is not None:
                args = (lease.thread_id, lease.checkpoint_ns, lease.owner, lease.renewed_at, *args)
                sql = _INSERT_LEASE_PIECES_AND_CKPT
        self.db.run("put_checkpoint", lambda conn: conn.execute(sql, args), threads=(record.thread_id,))

    def put_checkpoint_and_lease(self, record: CheckpointRecord, lease: Any) -> None:
        self.put_checkpoint(record, lease)  # one statement

    def put_writes(self, records: Sequence[WriteRecord]) -> None:
        if not records:
            return
        # wkey: made once here, so a retry of an insert whose outcome is unknown cannot duplicate it
        rows = []
        for r in records:
            payload, piece = split_payload(r.payload, r.kind)  # a long payload: a piece, in the same statement
            rows.append((r.thread_id, r.checkpoint_ns, r.checkpoint_id, r.task_id, r.name, r.path, r.kind,
                         payload, r.started_at, r.ended_at, r.summary, r.wave, os.urandom(16).hex(), piece))
        # Group commit: see the module docstring.
        self._group.submit(rows, self._insert_rows)

    def _insert_rows(self, rows: list[tuple]) -> None:
        """Commit ``rows`` in one statement (called by the group-commit leader only)."""
        threads = [r[0] for r in rows]
        pieces = {(r[0], r[13][0]): r[13][1] for r in rows if r[13] is not None}
        rows = [r[:13] for r in rows]
        args: Any
        if pieces:  # the pieces and the rows in one statement: atomic, and idempotent when retried
            sql = _INSERT_PIECES_CTE + _INSERT_WRITES
            args = [[t for t, _ in pieces], [h for _, h in pieces], list(pieces.values()),
                    *[list(col) for col in zip(*rows, strict=True)]]
        elif len(rows) == 1:
            sql, args = _INSERT_WRITE, rows[0]
        else:
            sql, args = _INSERT_WRITES, [list(col) for col in zip(*rows, strict=True)]
        if self.db.owned:
            # A pool of our own: the leader keeps one autocommit connection for
            # writes (no pool check-out per task on the hot path).
            self.db.retrying("put_writes", threads, lambda: self._insert_on_writer(sql, args))
            return
        self.db.run("put_writes", lambda conn: conn.execute(sql, args), threads=threads)

    def _insert_on_writer(self, sql: str, args: Any) -> None:
        db = self.db
        if db.closed:
            raise SaverError(f"PostgresSaver on {db.where} is closed")
        conn = self._writer
        try:
            if conn is None:
                conn = self._writer = db.pool.getconn(timeout=db.checkout_timeout)  # type: ignore[union-attr]
            conn.execute(sql, args)
        except (psycopg.Error, PoolTimeout):
            if conn is not None and (conn.closed or conn.broken):
                self._writer = None
                db.pool.putconn(conn)  # type: ignore[union-attr]  # the pool discards a broken connection
            raise

    def delete_thread(self, thread_id: str) -> None:
        def delete(conn: Any) -> None:
            conn.execute("DELETE FROM nbflow_checkpoints WHERE thread_id = %s", (thread_id,))
            conn.execute("DELETE FROM nbflow_writes WHERE thread_id = %s", (thread_id,))
            conn.execute("DELETE FROM nbflow_pieces WHERE thread_id = %s", (thread_id,))
            conn.execute("DELETE FROM nbflow_leases WHERE thread_id = %s", (thread_id,))

        self.db.run("delete_thread", delete, tx=True, threads=(thread_id,))
        values.forget(self, thread_id)

    # -- pieces and retention --------------------------------------------------

    supports_pieces = True

    def get_pieces(self, thread_id: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        rows = self._fetch("get_pieces", "SELECT hash, data FROM nbflow_pieces WHERE thread_id = %s AND "
                           "hash = ANY(%s)", (thread_id, list(hashes)))
        return {bytes(h): bytes(d) for h, d in rows}

    def write_piece_refs(self, thread_id: str) -> list[tuple[str, str, bytes]]:
        rows = self._fetch("write_piece_refs", "SELECT checkpoint_ns, checkpoint_id, substring(payload from 2) FROM "
                           "nbflow_writes WHERE thread_id = %s AND length(payload) = 13 AND get_byte(payload, 0) = 35",
                           (thread_id,))
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def piece_hashes(self, thread_id: str) -> set[bytes]:
        rows = self._fetch("piece_hashes", "SELECT hash FROM nbflow_pieces WHERE thread_id = %s", (thread_id,))
        return {bytes(r[0]) for r in rows}

    def prune_rows(self, thread_id: str, checkpoints: Sequence[tuple[str, str]], pieces: Sequence[bytes]) -> None:
        nss = [ns for ns, _ in checkpoints]
        ids = [cid for _, cid in checkpoints]

        def delete(conn: Any) -> None:
            if ids:
                conn.execute("DELETE FROM nbflow_checkpoints c USING unnest(%s::text[], %s::text[]) AS d(ns, id) "
                             "WHERE c.thread_id = %s AND c.checkpoint_ns = d.ns AND c.checkpoint_id = d.id",
                             (nss, ids, thread_id))
                conn.execute("DELETE FROM nbflow_writes w USING unnest(%s::text[], %s::text[]) AS d(ns, id) "
                             "WHERE w.thread_id = %s AND w.checkpoint_ns = d.ns AND w.checkpoint_id = d.id",
                             (nss, ids, thread_id))
            if pieces:
                conn.execute("DELETE FROM nbflow_pieces WHERE thread_id = %s AND hash = ANY(%s)",
                             (thread_id, list(pieces)))

        self.db.run("prune", delete, tx=True, threads=(thread_id,))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_last: int | None = None,
              keep_invocations: int | None = None) -> retention.Pruned:
        """Drop old checkpoints of threads (:func:`nbflow.checkpoint.retention.prune`). PostgreSQL's
        autovacuum then reuses the freed space; ``VACUUM FULL`` gives it back to the file system."""
        return retention.prune(self, thread_ids, strategy=strategy, keep_last=keep_last,
                               keep_invocations=keep_invocations)

    def namespaces(self, thread_id: str) -> list[str]:
        rows = self._fetch("namespaces", "SELECT DISTINCT checkpoint_ns FROM nbflow_checkpoints WHERE "
                           "thread_id = %s", (thread_id,))
        return sorted(r[0] for r in rows)

    def thread_size(self, thread_id: str) -> int:
        rows = self._fetch("thread_size", (
            "SELECT (SELECT coalesce(sum(pg_column_size(c.*)), 0) FROM nbflow_checkpoints c WHERE thread_id = %s)"
            " + (SELECT coalesce(sum(pg_column_size(w.*)), 0) FROM nbflow_writes w WHERE thread_id = %s)"
            " + (SELECT coalesce(sum(pg_column_size(p.*)), 0) FROM nbflow_pieces p WHERE thread_id = %s)"),
            (thread_id, thread_id, thread_id))
        return int(rows[0][0])

    # -- reads -----------------------------------------------------------------

    def _fetch(self, what: str, sql: str, args: tuple) -> list[tuple]:
        def fetch(conn: Any) -> list[tuple]:
            with conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(sql, args)
                return cur.fetchall()

        return self.db.run(what, fetch, threads=args[:1] if args and isinstance(args[0], str) else ())

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
        return resolve([write_record(row) for row in rows], lambda hs: self.get_pieces(thread_id, hs))

    def list_writes(self, thread_id: str, checkpoint_ns: str | None = None) -> list[WriteRecord]:
        if checkpoint_ns is None:
            rows = self._fetch("list_writes", _LIST_WRITES_ALL, (thread_id,))
        else:
            rows = self._fetch("list_writes", _LIST_WRITES_NS, (thread_id, checkpoint_ns))
        return resolve([write_record(row) for row in rows], lambda hs: self.get_pieces(thread_id, hs))

    def list_threads(self) -> list[str]:
        return [row[0] for row in self._fetch("list_threads", _LIST_THREADS, ())]

    # -- run leases (nbflow.checkpoint.leases) ----------------------------------

    leases_shared = True

    def put_lease(self, lease: Any) -> None:
        row = (lease.thread_id, lease.checkpoint_ns, lease.owner, lease.renewed_at)

        self.db.run("lease", lambda conn: conn.execute(_UPSERT_LEASE, row),  # one statement: atomic on its own
                    threads=(lease.thread_id,))

    def get_lease(self, thread_id: str, checkpoint_ns: str = "") -> Any:
        rows = self._fetch("get_lease", "SELECT owner, renewed_at FROM nbflow_leases"
                           " WHERE thread_id = %s AND checkpoint_ns = %s", (thread_id, checkpoint_ns))
        return Lease(thread_id, checkpoint_ns, rows[0][0], rows[0][1]) if rows else None

    # -- lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Close the pool if the saver opened it (idempotent); a given pool/connection stays open."""
        db = self.db
        if db.closed:
            return
        if db.owned:
            with self._group.lock:  # let an in-flight batch finish
                if self._writer is not None:
                    db.pool.putconn(self._writer)  # type: ignore[union-attr]
                    self._writer = None
        db.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where!r}{' closed' if self.db.closed else ''}>"
