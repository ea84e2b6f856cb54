"""A chat model in a task shipped to a Dask cluster: its tokens arrive when the attempt ends, with the task's
metadata, and its usage is recorded like a local task's (issue 20)."""

from __future__ import annotations

import pytest

from nbflow import InMemorySaver, entrypoint, task
from nbflow.testing.helpers import cfg

distributed = pytest.importorskip("distributed")
pytest.importorskip("langchain_core")


def _remote_chat(q: str) -> str:
    from langchain_core.messages import HumanMessage

    from nbflow.testing.models import fake_chat_model

    return fake_chat_model(["tokens from a worker"]).invoke([HumanMessage(q)]).content


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
                                  scheduler_kwargs={"dashboard": False}) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_remote_tokens_arrive_at_attempt_end_with_the_task_metadata(client):
    from nbflow.executors.dask import DaskExecutor

    remote = task(executor=DaskExecutor(client), name="remote_chat")(_remote_chat)

    @entrypoint(checkpointer=InMemorySaver())
    def wf(q: str) -> str:
        return remote(q).result()

    parts = list(wf.stream("say it", cfg("dask-msgs"), stream_mode=["messages", "updates"]))
    tokens = [(chunk.content, meta["langgraph_node"]) for mode, (chunk, meta) in
              ((m, d) for m, d in parts if m == "messages")]
    assert "".join(t for t, _ in tokens) == "tokens from a worker"
    assert {node for _, node in tokens} == {"remote_chat"}
    # the tokens came before the task's update (they are emitted when the attempt lands)
    modes = [m for m, _ in parts]
    assert modes.index("updates") > max(i for i, m in enumerate(modes) if m == "messages")
    (rec,) = wf.get_task_history(cfg("dask-msgs"))
    assert rec.usage_totals.output_tokens == 4


def test_a_shipment_brings_tokens_back_only_when_asked():
    from nbflow.engine.remote import Shipment, run_shipped

    def ship(want: bool):
        return run_shipped(Shipment("remote_chat", _remote_chat, ("q",), {}, {}, {"configurable": {}}, False,
                                    want_messages=want))

    asked, plain = ship(True), ship(False)
    assert asked.value == plain.value == "tokens from a worker"
    assert "".join(m.content for m in asked.messages) == "tokens from a worker" and plain.messages == ()
    assert [u.output_tokens for u in asked.usage] == [u.output_tokens for u in plain.usage] == [4]
