"""``AsyncPostgresSaver``: :class:`~nbflow.checkpoint.postgres.PostgresSaver` under ``async with`` / ``await``.

Import it from :mod:`nbflow.checkpoint.postgres` (or :mod:`nbflow.checkpoint`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from .postgres import PostgresSaver

__all__ = ["AsyncPostgresSaver"]


class AsyncPostgresSaver(PostgresSaver):
    """The async twin: LangGraph's idioms under ``async with`` / ``await``.

    nbflow's engine calls savers synchronously (from worker threads as well as
    the caller's), so this is the same saver -- same pool, same group commit,
    same transactions -- with awaitable entry points: ``async with
    AsyncPostgresSaver.from_conn_string(uri) as saver: await saver.setup()``,
    and ``aget_checkpoint`` / ``alist_checkpoints`` / ``aput_writes`` /
    ``alist_threads`` ... that run the synchronous call in a worker thread
    (``asyncio.to_thread``), so an event loop never blocks on the database.
    Pass it as ``checkpointer=`` to a sync or an async entrypoint alike.
    """

    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls, conn_string: str, *, pool_size: int = 4, connect_timeout: float = 10.0
    ) -> AsyncIterator[AsyncPostgresSaver]:
        saver = await asyncio.to_thread(
            cls.open, conn_string, pool_size=pool_size, connect_timeout=connect_timeout
        )
        try:
            yield saver  # type: ignore[misc]  # open() of this class makes one of it
        finally:
            await asyncio.to_thread(PostgresSaver.close, saver)

    async def setup(self) -> None:  # type: ignore[override]
        await asyncio.to_thread(PostgresSaver.setup, self)

    def setup_sync(self) -> None:
        """:meth:`PostgresSaver.setup`, for code that cannot await."""
        PostgresSaver.setup(self)
