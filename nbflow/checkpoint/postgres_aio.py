"""``AsyncPostgresSaver``: :class:`~nbflow.checkpoint.postgres.PostgresSaver` under ``async with`` / ``await``.

Import it from :mod:`nbflow.checkpoint.postgres` (or :mod:`nbflow.checkpoint`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from .base import CheckpointRecord, WriteRecord
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
            yield saver
        finally:
            await asyncio.to_thread(PostgresSaver.close, saver)

    async def setup(self) -> None:  # type: ignore[override]
        await asyncio.to_thread(PostgresSaver.setup, self)

    def setup_sync(self) -> None:
        """:meth:`PostgresSaver.setup`, for code that cannot await."""
        PostgresSaver.setup(self)

    async def aput_checkpoint(self, record: CheckpointRecord) -> None:
        await asyncio.to_thread(self.put_checkpoint, record)

    async def aput_writes(self, records: Sequence[WriteRecord]) -> None:
        await asyncio.to_thread(self.put_writes, records)

    async def aget_checkpoint(
        self, thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointRecord | None:
        return await asyncio.to_thread(self.get_checkpoint, thread_id, checkpoint_ns, checkpoint_id)

    async def alist_checkpoints(
        self, thread_id: str, checkpoint_ns: str = "", *, before: str | None = None, limit: int | None = None
    ) -> list[CheckpointRecord]:
        return await asyncio.to_thread(
            self.list_checkpoints, thread_id, checkpoint_ns, before=before, limit=limit
        )

    async def aget_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> list[WriteRecord]:
        return await asyncio.to_thread(self.get_writes, thread_id, checkpoint_ns, checkpoint_id)

    async def alist_writes(self, thread_id: str, checkpoint_ns: str | None = None) -> list[WriteRecord]:
        return await asyncio.to_thread(self.list_writes, thread_id, checkpoint_ns)

    async def alist_threads(self) -> list[str]:
        return await asyncio.to_thread(self.list_threads)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)
