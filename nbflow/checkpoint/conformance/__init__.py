"""Conformance kit for checkpointers: the contract suite and a throwaway PostgreSQL.

* :mod:`.contract` -- :class:`SaverContract`, the saver contract as pytest tests a
  new saver inherits (one small test file per saver; see its docstring).
* :mod:`.pgserver` -- :class:`TempPostgres`, a real PostgreSQL server from the
  system's packages in a temporary directory, for tests, bench and simulations.

Importing :mod:`.contract` imports pytest; this package's ``__init__`` does not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SaverContract", "TempPostgres", "open_saver"]


def __getattr__(name: str) -> Any:
    if name == "SaverContract":
        from .contract import SaverContract

        return SaverContract
    if name == "TempPostgres":
        from .pgserver import TempPostgres

        return TempPostgres
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_saver(where: str) -> Any:
    """A saver for ``where``: a ``postgresql://`` URI (tables set up) or a SQLite path.

    Used by tests and simulations that open the same database from several processes.
    """
    if where.startswith(("postgresql://", "postgres://")):
        from ..postgres import PostgresSaver

        saver = PostgresSaver.open(where)
        saver.setup()
        return saver
    from ..sqlite import SqliteSaver

    return SqliteSaver(where)
