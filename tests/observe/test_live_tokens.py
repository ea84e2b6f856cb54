"""Issue 20 in the notebook layer: live tokens in task rows (parallel tasks, tool calls), usage and cost
in the run view's state, the timeline and the sidebar's thread items, and their text renderings."""

from __future__ import annotations

import threading

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from waiting import PATIENCE, wait_until

import nbflow
from nbflow import InMemorySaver, entrypoint, tap, task
from nbflow.notebook.comm import thread_item
from nbflow.notebook.live import reset_hub
from nbflow.notebook.session import Session, reset_session
from nbflow.notebook.views import timeline_model, timeline_transcript
from nbflow.notebook.widgets import show
from nbflow.testing.helpers import cfg
from nbflow.testing.models import fake_chat_model


@pytest.fixture(autouse=True)
def fresh_session(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBFLOW_CHECKPOINTER", raising=False)
    nbflow.set_prices({"fake-chat": {"input": 1.0, "output": 2.0}}, replace=True)
    yield reset_session(Session(tmp_path))
    reset_session(Session(tmp_path))
    reset_hub()
    nbflow.set_prices({}, replace=True)


def test_views_ask_runs_for_live_tokens_only_while_they_listen():
    assert not tap.wants_messages()

    @entrypoint(checkpointer=InMemorySaver())
    def wf(x: int) -> int:
        return x

    show(wf, 1, cfg("w")).wait(PATIENCE)
    assert tap.wants_messages()
    reset_hub()
    assert not tap.wants_messages()


def test_parallel_tasks_stream_into_their_own_rows_and_tool_calls_are_sub_rows():
    gates = {k: threading.Event() for k in ("a", "b")}
    models = {
        "a": fake_chat_model(["alpha beta gamma delta"], gate=gates["a"]),
        "b": fake_chat_model([AIMessage("let me look that up", tool_calls=[
            {"name": "search", "args": {"q": "owls"}, "id": "call-1"}])], gate=gates["b"]),
    }

    @task
    def ask(which: str) -> AIMessage:
        return models[which].invoke([HumanMessage(f"question {which}")])

    @entrypoint(checkpointer=InMemorySaver())
    def agent(_: str) -> list:
        futs = [ask("a"), ask("b")]
        return [f.result().content for f in futs]

    view = show(agent, "go", cfg("par"))
    try:
        wait_until(lambda: {r.get("stream") for r in view.rows} >= {"alpha beta", "let me "},
                   what="both tasks half-streamed at once")
        assert all(r["state"] == "running" for r in view.rows)
    finally:
        for g in gates.values():
            g.set()
    assert view.wait(PATIENCE) == "done"
    rows = {r["path"]: r for r in view.rows}
    assert set(rows) == {"0", "1"} and all(r["kind"] == "task" for r in rows.values())
    assert rows["0"]["stream"] == "" and rows["0"]["preview"] == "assistant: 'alpha beta gamma delta'"
    assert rows["0"].get("tools") == []
    assert rows["1"]["preview"] == "assistant: 'let me look that up' → search(q='owls')"
    assert rows["1"]["tools"] == [{"id": "call-1", "name": "search", "args": '{"q": "owls"}'}]
    ua, ub = rows["0"]["usage"], rows["1"]["usage"]
    assert (ua["input_tokens"], ua["output_tokens"]) == (2, 4) and (ub["input_tokens"], ub["output_tokens"]) == (2, 15)
    state = view.state
    assert state["usage"]["calls"] == 2 and state["usage"]["total_tokens"] == 23
    assert state["usage"]["cost"] == pytest.approx((4 + 38) / 1e6)
    assert "$ 2 model calls · 23 tokens (4 in / 19 out) · $0.000042" in view.transcript


def test_usage_reaches_the_timeline_the_sidebar_and_a_reloaded_view(tmp_path):
    model = fake_chat_model(["one two three", "four five"])

    @task
    def ask(q: str) -> str:
        return model.invoke([HumanMessage(q)]).content

    @entrypoint(checkpointer=nbflow.SqliteSaver(str(tmp_path / "t.sqlite")))
    def chat(q: str) -> str:
        return ask(q).result()

    chat.invoke("hi", cfg("tl"))
    view = show(chat, "hello there", cfg("tl"))
    assert view.wait(PATIENCE) == "done"
    st = view.state
    assert st["usage"]["calls"] == 1 and st["thread_usage"]["calls"] == 2
    from nbflow.notebook.mime import MIME_TYPE, run_bundle

    saved = run_bundle(view.live)[MIME_TYPE]  # what a saved notebook keeps of the view
    assert saved["state"]["usage"]["calls"] == 1 and saved["rows"][0]["usage"]["output_tokens"] == 2
    item = thread_item(view.live, "sqlite", None)
    assert item["usage"]["calls"] == 2 and "streaming" not in item
    data = timeline_model("chat", "tl", chat.get_invocations(cfg("tl")))
    assert [i["usage"]["total_tokens"] for i in data["invocations"]] == [4, 4]
    assert data["invocations"][0]["tasks"][0]["usage"]["output_tokens"] == 3
    assert data["usage"]["calls"] == 2
    text = timeline_transcript(data)
    assert text.splitlines()[0].endswith("2 model calls · 8 tokens (3 in / 5 out) · $0.000013")
    # a view of the thread built from the saver alone (a new kernel) shows the same figures
    reset_hub()
    again = show(chat, config=cfg("tl"))
    assert again.state["usage"]["calls"] == 1 and again.state["thread_usage"]["total_tokens"] == 8
    assert again.rows[0]["usage"]["output_tokens"] == 2


def test_a_chat_message_is_summarized_by_its_text_and_tool_calls():
    from langchain_core.messages import ToolMessage

    from nbflow.serde import summarize

    msg = AIMessage("", tool_calls=[{"name": "search", "args": {"q": "owls"}, "id": "1"}])
    assert summarize(msg, 80) == "assistant → search(q='owls')"
    assert summarize([HumanMessage("hi"), ToolMessage("42", tool_call_id="1")], 80) == "[user: 'hi', tool: '42']"


def test_the_inbox_shows_a_waiting_thread_s_usage():
    from nbflow import interrupt
    from nbflow.notebook.widgets import inbox

    model = fake_chat_model(["a draft to review"])

    @task
    def draft(q: str) -> str:
        return model.invoke([HumanMessage(q)]).content

    @entrypoint(checkpointer=InMemorySaver())
    def reviewed(q: str) -> str:
        text = draft(q).result()
        return interrupt({"approve": text})

    reviewed.invoke("write", cfg("ib"))
    box = inbox([reviewed])
    wait_until(lambda: box.data and box.data[0].get("usage"), what="the inbox item with its usage")
    assert box.data[0]["state"] == "waiting" and box.data[0]["usage"]["output_tokens"] == 4


def test_twenty_tasks_streaming_at_once_stay_within_the_views_message_budget(monkeypatch):
    """Issue 20's budget: 20 tasks streaming tokens at once cost a view at most one message per flush
    interval (≤ 100 messages/s), however many tokens arrive; every task's text arrives whole."""
    import json
    import time

    import comm

    sent: list[tuple[float, str]] = []
    lock = threading.Lock()

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        if msg_type == "comm_msg":
            with lock:
                sent.append((time.monotonic(), self.comm_id))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)
    words = " ".join(f"w{i}" for i in range(60))
    models = [fake_chat_model([words], delay=0.002) for _ in range(20)]

    @task
    def talk(i: int) -> str:
        return models[i].invoke([HumanMessage("go")]).content

    @entrypoint(checkpointer=InMemorySaver())
    def crowd(n: int) -> list:
        return [f.result() for f in [talk(i) for i in range(n)]]

    view = show(crowd, 20, cfg("crowd"))
    started = time.monotonic()
    assert view.wait(PATIENCE) == "done"
    elapsed = time.monotonic() - started
    mine = [t for t, cid in sent if cid == view.comm.comm_id]
    assert all(r["preview"] == repr(words)[:79] + "…" for r in view.rows) and len(view.rows) == 20
    assert json.dumps(view.state["usage"]["calls"]) == "20"
    # 20 tasks × 120 tokens = 2,400 token events, folded into at most one message per flush interval
    print(f"\n{len(mine)} messages to the view in {elapsed:.2f} s")
    assert len(mine) <= max(4, 100 * elapsed + 2), (len(mine), elapsed)
