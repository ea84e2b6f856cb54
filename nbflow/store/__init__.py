"""The long-term store (LangGraph's ``BaseStore`` API), shared across threads.

* :mod:`nbflow.store.base` -- :class:`Item`, :class:`SearchItem`, the argument checks and the search
  ranking every store shares;
* :mod:`nbflow.store.memory` -- :class:`InMemoryStore`;
* :mod:`nbflow.store.postgres` -- ``PostgresStore``, on the checkpointer's PostgreSQL database
  (imported on its own: it needs psycopg).
"""

from __future__ import annotations

from ..errors import InvalidNamespaceError, NamespaceTypeError, StoreTypeError, StoreValueError
from .base import Item, SearchItem, lexical_score
from .memory import InMemoryStore

__all__ = ["Item", "SearchItem", "InMemoryStore", "StoreValueError", "StoreTypeError", "InvalidNamespaceError",
           "NamespaceTypeError", "lexical_score"]
