"""Shared pytest fixtures for the nbflow test suite."""

from __future__ import annotations

import itertools
import os
from typing import Callable, Iterator

import pytest

from nbflow.checkpoint import BaseCheckpointSaver, InMemorySaver, SqliteSaver

# --------------------------------------------------------------------------
# Checkpointers: every test that takes `checkpointer` or `saver_factory` runs
# once per saver kind.
# --------------------------------------------------------------------------

SAVER_KINDS = ("memory", "sqlite", "postgres")


@pytest.fixture(params=SAVER_KINDS, ids=SAVER_KINDS)
def _saver_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def saver_factory(_saver_kind: str, tmp_path, request) -> Iterator[Callable[[], BaseCheckpointSaver]]:
    """A zero-arg callable making a fresh, empty saver of the parametrised kind.

    SQLite savers get a new file under ``tmp_path`` per call, PostgreSQL savers a
    new schema on the session's server (see ``postgres_server``); all are closed
    at teardown.
    """
    made: list[BaseCheckpointSaver] = []
    counter = itertools.count()
    pg = request.getfixturevalue("postgres_schemas") if _saver_kind == "postgres" else None

    def make() -> BaseCheckpointSaver:
        if _saver_kind == "memory":
            saver: BaseCheckpointSaver = InMemorySaver()
        elif _saver_kind == "postgres":
            saver = pg.saver()
        else:
            saver = SqliteSaver(tmp_path / "checkpoints" / f"saver-{next(counter)}.sqlite")
        made.append(saver)
        return saver

    yield make
    for saver in made:
        saver.close()


@pytest.fixture
def checkpointer(saver_factory: Callable[[], BaseCheckpointSaver]) -> BaseCheckpointSaver:
    """A fresh saver, parametrised over ``memory`` and ``sqlite``."""
    return saver_factory()


# --------------------------------------------------------------------------
# PostgreSQL: one real server (Debian's `postgresql` package) per test session,
# started in a temp dir as the `postgres` user; each saver gets a fresh schema.
# Missing server: a skip locally, a failure under CI=true.
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """A running :class:`~nbflow.checkpoint.conformance.pgserver.TempPostgres` (session-wide)."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401

        from nbflow.checkpoint.conformance.pgserver import PostgresUnavailable, TempPostgres
    except ImportError as exc:
        reason = f"psycopg 3 / psycopg_pool not installed ({exc}); pip install 'nbflow[postgres]'"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = TempPostgres(settings={"max_connections": "300"})
    try:
        server.start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL server for the postgres tests: {exc}")
    yield server
    server.stop()


class PostgresSchemas:
    """Hands out fresh schemas (and savers on them) on the session's server."""

    def __init__(self, server) -> None:
        import psycopg

        self.server = server
        self._admin = psycopg.connect(server.uri, autocommit=True)
        self._count = itertools.count()

    def uri(self) -> str:
        """A URI whose search_path is a new, empty schema."""
        name = f"t{os.getpid()}_{next(self._count)}"
        self._admin.execute(f'CREATE SCHEMA "{name}"')
        return self.server.uri_for("postgres", options=f"-csearch_path={name}")

    def saver(self):
        from nbflow.checkpoint.postgres import PostgresSaver

        saver = PostgresSaver.open(self.uri(), pool_size=4)
        saver.setup()
        return saver

    def close(self) -> None:
        self._admin.close()


@pytest.fixture(scope="session")
def postgres_schemas(postgres_server) -> Iterator[PostgresSchemas]:
    schemas = PostgresSchemas(postgres_server)
    yield schemas
    schemas.close()
