"""Checkpointers: where nbflow keeps a thread's checkpoints and its task journal."""

from .aiosqlite import AsyncSqliteSaver
from .base import (
    BaseCheckpointSaver,
    CheckpointRecord,
    SaverConnectionError,
    SaverError,
    WriteRecord,
    new_checkpoint_id,
)
from .memory import InMemorySaver, MemorySaver
from .sqlite import SqliteSaver


def __getattr__(name: str):
    # psycopg is optional (extra "postgres"): imported only when asked for.
    if name == "PostgresSaver":
        from .postgres import PostgresSaver

        return PostgresSaver
    if name == "AsyncPostgresSaver":
        from .postgres_aio import AsyncPostgresSaver

        return AsyncPostgresSaver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncSqliteSaver",
    "BaseCheckpointSaver",
    "CheckpointRecord",
    "WriteRecord",
    "InMemorySaver",
    "MemorySaver",
    "SqliteSaver",
    "PostgresSaver",
    "AsyncPostgresSaver",
    "SaverError",
    "SaverConnectionError",
    "new_checkpoint_id",
]
