"""Checkpointers: where nbflow keeps a thread's checkpoints and its task journal."""

from .base import BaseCheckpointSaver, CheckpointRecord, WriteRecord, new_checkpoint_id
from .memory import InMemorySaver, MemorySaver
from .sqlite import SqliteSaver

__all__ = [
    "BaseCheckpointSaver",
    "CheckpointRecord",
    "WriteRecord",
    "InMemorySaver",
    "MemorySaver",
    "SqliteSaver",
    "new_checkpoint_id",
]
