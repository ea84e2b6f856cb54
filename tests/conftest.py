"""Shared pytest fixtures for the nbflow test suite."""

from __future__ import annotations

import itertools
from typing import Callable, Iterator

import pytest

from nbflow.checkpoint import BaseCheckpointSaver, InMemorySaver, SqliteSaver

# --------------------------------------------------------------------------
# Checkpointers: every test that takes `checkpointer` or `saver_factory` runs
# once per saver kind.
# --------------------------------------------------------------------------

SAVER_KINDS = ("memory", "sqlite")


@pytest.fixture(params=SAVER_KINDS, ids=SAVER_KINDS)
def _saver_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def saver_factory(_saver_kind: str, tmp_path) -> Iterator[Callable[[], BaseCheckpointSaver]]:
    """A zero-arg callable making a fresh, empty saver of the parametrised kind.

    SQLite savers get a new file under ``tmp_path`` per call; all are closed at teardown.
    """
    made: list[BaseCheckpointSaver] = []
    counter = itertools.count()

    def make() -> BaseCheckpointSaver:
        if _saver_kind == "memory":
            saver: BaseCheckpointSaver = InMemorySaver()
        else:
            saver = SqliteSaver(tmp_path / "checkpoints" / f"saver-{next(counter)}.sqlite")
        made.append(saver)
        return saver

    yield make
    for saver in made:
        saver.close()


@pytest.fixture
def checkpointer(saver_factory: Callable[[], BaseCheckpointSaver]) -> BaseCheckpointSaver:
    """A fresh saver, parametrised over ``memory`` and ``sqlite``."""
    return saver_factory()
