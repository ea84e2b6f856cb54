"""How tests wait: for a condition, never for a length of time.

A test that sleeps "long enough" for another thread to get somewhere fails on a
loaded machine (``make stress-test`` runs the suite beside ``stress-ng``).
Tests wait on events, barriers or :func:`wait_until`, all bounded by
:data:`PATIENCE`: generous, since it is only ever spent when a test is failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")

PATIENCE = 60.0  # seconds: how long a test waits for something that should happen at once


def wait_until(predicate: Callable[[], _T], timeout: float = PATIENCE, what: str = "the condition") -> _T:
    """Poll ``predicate`` until it returns something true (returned); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} was not reached within {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
