"""One PostgreSQL database as nbflow uses it: connections, retries after a lost server, errors that say what to do.

:class:`PgDatabase` is shared by everything nbflow keeps in PostgreSQL -- the checkpointer
(:class:`~nbflow.checkpoint.postgres.PostgresSaver`) and the long-term store
(:class:`~nbflow.store.postgres.PostgresStore`), which may even share one instance:

* it uses a :class:`psycopg_pool.ConnectionPool` (concurrently) or one :class:`psycopg.Connection`
  (behind a lock), as given, and closes only a pool it opened itself (:meth:`PgDatabase.open`);
* :meth:`PgDatabase.run` calls ``fn(conn)``, in one transaction when asked (or when the connection is
  not in autocommit mode); a lost connection (a server restart, ``pg_terminate_backend``, a network
  cut) or a statement cancelled by ``statement_timeout`` is retried on a fresh connection for up to
  ``reconnect_timeout`` seconds, so ``fn`` must be idempotent;
* a failure becomes one :class:`~nbflow.errors.SaverError` (a
  :class:`~nbflow.errors.SaverConnectionError` when the server cannot be reached) naming the owner,
  the database (password hidden), the thread(s) and what to do. No psycopg exception escapes.

Connection strings are checked before any attempt (:func:`check_conninfo`) and shown only redacted
(:func:`redact_conninfo`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

try:
    import psycopg
    from psycopg import conninfo as _conninfo
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "nbflow on PostgreSQL needs psycopg 3 and psycopg_pool: pip install 'nbflow[postgres]' "
        f"(or pip install 'psycopg[binary]' psycopg-pool) ({_exc})"
    ) from _exc

from ..errors import ConfigError, SaverConnectionError, SaverError

_T = TypeVar("_T")
SYNC_COMMIT = ("on", "off", "local", "remote_write", "remote_apply")


class PgDatabase:
    """A pool or a connection, and how nbflow runs statements on it (see the module docstring).

    ``owner`` names the user-facing object in error messages (``"PostgresSaver"``, ``"PostgresStore"``).
    """

    def __init__(self, conn: Any, *, conninfo: str | None = None, reconnect_timeout: float = 30.0,
                 owner: str = "PostgresSaver") -> None:
        self.owner = owner
        if isinstance(conn, ConnectionPool):
            self.pool: ConnectionPool | None = conn
            self.conn: psycopg.Connection | None = None
            where = conninfo or conn.conninfo
        elif isinstance(conn, psycopg.Connection):
            self.pool, self.conn = None, conn
            where = conninfo or describe_connection(conn)
        else:
            raise ConfigError(
                f"{owner} expects a psycopg_pool.ConnectionPool or a psycopg.Connection "
                f"(or use {owner}.from_conn_string(uri)), got {type(conn).__name__}"
            )
        self.where = redact_conninfo(where)  # type: ignore[arg-type]
        self.reconnect_timeout = float(reconnect_timeout)  # how long a lost server is waited for
        self.closed = False
        self.owned = False  # the pool was opened here (open()): close() closes it
        self._conn_lock = threading.RLock()  # serialises use of a single connection

    @classmethod
    def open(cls, conn_string: str, *, pool_size: int = 4, connect_timeout: float = 10.0,
             synchronous_commit: str | None = None, reconnect_timeout: float = 30.0,
             owner: str = "PostgresSaver") -> PgDatabase:
        """A database owning a new autocommit pool on ``conn_string`` (closed by :meth:`close`)."""
        check_conninfo(conn_string, owner)
        if synchronous_commit is not None and synchronous_commit not in SYNC_COMMIT:
            raise ConfigError(f"{owner}: synchronous_commit={synchronous_commit!r} is not one of {SYNC_COMMIT}")
        pool = open_pool(conn_string, pool_size, connect_timeout, synchronous_commit, owner)
        db = cls(pool, conninfo=conn_string, reconnect_timeout=reconnect_timeout, owner=owner)
        db.owned = True
        return db

    @property
    def checkout_timeout(self) -> float:
        """How long to wait for a pooled connection (bounded by ``reconnect_timeout``)."""
        return max(1.0, min(self.reconnect_timeout, 30.0))

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        if self.closed:
            raise SaverError(f"{self.owner} on {self.where} is closed")
        if self.pool is not None:
            with self.pool.connection(timeout=self.checkout_timeout) as conn:
                yield conn
        else:
            with self._conn_lock:
                yield self.conn

    def run(self, what: str, fn: Callable[[Any], _T], *, tx: bool = False, threads: Sequence[str] = ()) -> _T:
        """``fn(conn)`` on a connection; in one transaction when ``tx`` or when the connection is not in
        autocommit mode. A lost connection is retried (``fn`` must be idempotent); psycopg errors become
        SaverErrors naming ``what`` and ``threads``."""

        def once() -> _T:
            with self.connection() as conn:
                if tx or not conn.autocommit:
                    with conn.transaction():
                        return fn(conn)
                return fn(conn)

        return self.retrying(what, threads, once)

    def retrying(self, what: str, threads: Sequence[str], once: Callable[[], _T]) -> _T:
        """``once()``, again on a fresh connection after a connection-level failure, until
        ``reconnect_timeout`` has passed; then one SaverError saying what to do."""
        deadline = time.monotonic() + self.reconnect_timeout
        delay = 0.05
        while True:
            try:
                return once()
            except (psycopg.Error, PoolTimeout) as exc:
                lost_for_good = self.pool is None and (self.conn.closed or self.conn.broken)  # type: ignore[union-attr]
                if (not transient(exc) or self.closed or lost_for_good
                        or time.monotonic() + delay > deadline):
                    raise self.translate(exc, what, threads) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def translate(self, exc: BaseException, what: str, threads: Sequence[str] = ()) -> SaverError:
        """The one nbflow error a psycopg failure of ``what`` (for ``threads``) becomes."""
        owner = self.owner
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
                f"{owner}: the nbflow tables are missing in {self.where} ({first_line(exc)}); "
                f"call {'store' if owner == 'PostgresStore' else 'saver'}.setup() once for this database (and schema)"
            )
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return SaverError(
                f"{owner}: {what}{who} failed: the server at {self.where} did not answer within its "
                f"statement_timeout, for {self.reconnect_timeout:g} s of retries ({first_line(exc)}); "
                f"find what slows or locks it{then.replace('fixed', 'answering again')}"
            )
        if isinstance(exc, (psycopg.OperationalError, PoolTimeout)):
            return SaverConnectionError(
                f"{owner}: {what}{who} failed: the server at {self.where} cannot be reached "
                f"({first_line(exc)}), and did not come back within reconnect_timeout="
                f"{self.reconnect_timeout:g} s; check that PostgreSQL is running and reachable"
                f"{then.replace('it is fixed', 'it is back')}"
            )
        return SaverError(f"{owner}: {what}{who} failed on {self.where}: {first_line(exc)}{then}")

    def close(self) -> None:
        """Close the pool if it was opened here (idempotent); a given pool/connection stays open."""
        if self.closed:
            return
        self.closed = True
        if self.owned and self.pool is not None:
            self.pool.close()


def transient(exc: BaseException) -> bool:
    """A failure another attempt on a fresh connection may not meet: the connection or
    the server went away (restart, terminated backend, network), or the statement was
    cancelled by ``statement_timeout``; not a refused statement or a missing table."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.UndefinedTable)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe_connection(conn: Any) -> str:
    try:
        info = conn.info
        return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"
    except Exception:  # noqa: BLE001 - a closed connection: fall back to a generic name
        return "<psycopg connection>"


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


def check_conninfo(conninfo: str, owner: str = "PostgresSaver") -> None:
    """Raise ConfigError for text libpq cannot parse (before any connection attempt)."""
    if not isinstance(conninfo, str) or not conninfo.strip():
        raise ConfigError(
            f"{owner} needs a connection string such as 'postgresql://user@host:5432/dbname', "
            f"got {conninfo!r}"
        )
    if conninfo.strip() in ("postgresql://", "postgres://"):
        raise ConfigError(
            f"{owner}: {conninfo!r} names no server or database; "
            "use postgresql://user[:password]@host[:port]/dbname"
        )
    if "://" in conninfo and not conninfo.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"{owner}: {redact_conninfo(conninfo)!r} is not a PostgreSQL URI; "
            "it must start with postgresql:// (e.g. postgresql://user@host:5432/dbname)"
        )
    try:
        params = _conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error as exc:
        raise ConfigError(
            f"{owner}: cannot parse the connection string {redact_conninfo(conninfo)!r}: "
            f"{exc}. Use postgresql://user[:password]@host[:port]/dbname"
        ) from None
    for port in str(params.get("port") or "").split(","):
        if port and not port.isdigit():
            raise ConfigError(
                f"{owner}: the port {port!r} in {redact_conninfo(conninfo)!r} is not a number; "
                "use postgresql://user[:password]@host[:port]/dbname (the default port is 5432)"
            )


def open_pool(conn_string: str, pool_size: int, connect_timeout: float, synchronous_commit: str | None,
              owner: str = "PostgresSaver") -> Any:
    """A ready autocommit pool on ``conn_string``, or a SaverConnectionError saying why not."""
    where = redact_conninfo(conn_string)
    # Probe with one direct connection first: libpq's own message (refused,
    # unknown host, bad password, no such database) is the useful one.
    try:
        psycopg.connect(conn_string, connect_timeout=max(1, int(connect_timeout))).close()
    except psycopg.Error as exc:
        raise SaverConnectionError(
            f"{owner} cannot connect to {where}: {first_line(exc)}. Check that the server "
            "is running and reachable from here, and that the user, password and database in the "
            "URI are right (create the database first with `createdb`)"
        ) from None

    def configure(conn: Any) -> None:
        if synchronous_commit is not None:
            conn.execute(f"SET synchronous_commit = {synchronous_commit}")  # a checked keyword

    pool = ConnectionPool(
        conn_string,
        min_size=1,
        max_size=max(2, pool_size),  # one is kept by a writer
        kwargs={"autocommit": True},
        configure=configure,
        open=False,
        name="nbflow",
    )
    try:
        pool.open(wait=True, timeout=connect_timeout)
    except Exception as exc:  # noqa: BLE001 - closed, then re-raised as a SaverConnectionError
        pool.close()
        raise SaverConnectionError(f"{owner} cannot open a connection pool on {where}: {first_line(exc)}") from None
    return pool


__all__ = ["PgDatabase", "SYNC_COMMIT", "check_conninfo", "redact_conninfo", "open_pool", "transient",
           "first_line", "describe_connection"]
