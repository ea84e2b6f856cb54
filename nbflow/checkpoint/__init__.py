"""Checkpointers: where nbflow keeps a thread's checkpoints and its task journal."""

from .base import BaseCheckpointSaver, CheckpointRecord, WriteRecord, new_checkpoint_id
from .memory import InMemorySaver, MemorySaver
from .sqlite import SqliteSaver
from .aiosqlite import AsyncSqliteSaver

__all__ = [
    "AsyncSqliteSaver",
    "BaseCheckpointSaver",
    "CheckpointRecord",
    "WriteRecord",
    "InMemorySaver",
    "MemorySaver",
    "SqliteSaver",
    "new_checkpoint_id",
]
