"""``AsyncSqliteSaver``: the SQLite checkpointer with LangGraph's async construction.

LangGraph users write::

    async with AsyncSqliteSaver.from_conn_string("checkpoints.sqlite") as saver:
        app = entrypoint(checkpointer=saver)(workflow)
        await app.ainvoke(...)

This module owns that shape. The storage is :class:`~nbflow.checkpoint.sqlite.SqliteSaver`
itself (same file format, same transactions and durability, so a file written by
one is read by the other): nbflow's engine calls savers synchronously from its
worker threads, so no second, asyncio-native SQLite driver is needed.
What is async here is what touches the disk on the caller's event loop: opening
(schema setup, WAL switch) and closing run in a worker thread, and every read a
user makes directly has an awaitable twin (``aget_checkpoint``,
``alist_checkpoints``, ``aget_writes``, ``alist_writes``, ``alist_threads``,
``adelete_thread``) that runs off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

from ..errors import ConfigError
from .sqlite import SqliteSaver

__all__ = ["AsyncSqliteSaver"]


class AsyncSqliteSaver(SqliteSaver):
    """A :class:`SqliteSaver` made and used from asyncio code.

    ``AsyncSqliteSaver.from_conn_string(path)`` is an *async* context manager
    (``async with``); the constructor takes what :class:`SqliteSaver` takes (a
    path or a ``sqlite3.Connection``) for code that builds it directly. An
    ``aiosqlite.Connection`` is refused with an explanation: pass its path.
    ``async with saver:`` closes it on exit.
    """

    def __init__(self, conn_or_path: sqlite3.Connection | str | os.PathLike[str], **kwargs: Any) -> None:
        if type(conn_or_path).__module__.split(".")[0] == "aiosqlite":
            raise ConfigError(
                "AsyncSqliteSaver does not take an aiosqlite connection: nbflow drives SQLite "
                "from its own worker threads. Pass the database path instead, e.g. "
                "AsyncSqliteSaver.from_conn_string('checkpoints.sqlite')."
            )
        super().__init__(conn_or_path, **kwargs)

    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls, conn_string: str | os.PathLike[str], **kwargs: Any
    ) -> AsyncIterator[AsyncSqliteSaver]:
        """``async with AsyncSqliteSaver.from_conn_string("x.sqlite") as saver: ...``; closes on exit."""
        saver = await asyncio.to_thread(cls, conn_string, **kwargs)
        try:
            yield saver
        finally:
            await saver.aclose()

    async def __aenter__(self) -> AsyncSqliteSaver:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    # The awaitable twins of the reads, writes and delete (aget_checkpoint, ...) and aclose come
    # from BaseCheckpointSaver: the sync method on a worker thread.

    def __repr__(self) -> str:
        return "<Async" + super().__repr__()[1:]
