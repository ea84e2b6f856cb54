"""The documented import path of :mod:`nbflow.store.postgres` (``PostgresStore``), kept for users."""

from .store.postgres import PostgresStore

__all__ = ["PostgresStore"]
