"""The executor contract (nbflow.testing.executors) over DaskExecutor, on a real 2-process LocalCluster."""

from __future__ import annotations

import pytest
from .dask_workflows import local_cluster

from nbflow.executors.base import RemoteExecutor
from nbflow.executors.dask import DaskExecutor
from nbflow.testing.executors import ExecutorContract


@pytest.fixture(scope="module")
def dask_client():
    with local_cluster() as client:
        yield client


class TestDaskExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self, dask_client):
        return DaskExecutor(dask_client)


def test_dask_executor_is_a_remote_executor(dask_client):
    assert isinstance(DaskExecutor(dask_client), RemoteExecutor)
    with pytest.raises(TypeError, match="needs a distributed.Client"):
        DaskExecutor("tcp://127.0.0.1:8786")  # type: ignore[arg-type]
