"""The documented import path of :mod:`nbflow.serde.encrypted` (``EncryptedSerializer``), kept for users."""

from .serde.encrypted import MAGIC, EncryptedSerializer

__all__ = ["EncryptedSerializer", "MAGIC"]
