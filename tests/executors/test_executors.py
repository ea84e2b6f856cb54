"""The executor contract (nbflow.testing.executors), run over both built-in executors."""

from __future__ import annotations

import pytest

from nbflow.executors import EVENT_LOOP, LOCAL, EventLoopExecutor, LocalExecutor
from nbflow.testing.executors import ExecutorContract


class TestLocalExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self):
        return LOCAL


class TestEventLoopExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self):
        return EVENT_LOOP


def test_fresh_instances_work_too():
    assert not LocalExecutor().runs_coroutines and EventLoopExecutor().runs_coroutines
