"""The saver contract (nbflow.checkpoint.conformance) over every saver of conftest's
``saver_factory``: memory, SQLite and PostgreSQL (a real server)."""

from nbflow.checkpoint.conformance.contract import SaverContract


class TestSaverContract(SaverContract):
    """Runs once per saver kind; ``saver_factory`` comes from conftest.py."""
