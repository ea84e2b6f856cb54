"""A view belongs to the invocation that started it, and chat messages read as a conversation.

A chatbot with one ``show(chat, message, config)`` per turn on one thread: each
turn's view follows its own turn (question, answer, result) and keeps it when a
newer turn starts; the thread's newest state is one ``show(chat, config=...)``
away. A tool-using agent's result, rows and static twins read as a conversation
(roles, tool calls with their arguments and results, tool errors marked).
Real fake chat models from langchain-core, no network.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from waiting import PATIENCE, wait_until

from nbflow import Command, InMemorySaver, add_messages, entrypoint, interrupt, task
from nbflow.notebook import protocol
from nbflow.notebook.conversation import brief, chat_html, chat_text, conversation
from nbflow.notebook.live import reset_hub
from nbflow.notebook.views import static_html, transcript
from nbflow.notebook.widgets import show

from .widgetkit import custom, fresh_session, sent  # noqa: F401, F811 - fixtures, found by name


def _chatbot():
    model = FakeMessagesListChatModel(responses=[AIMessage(f"Answer {i}: **sure**.") for i in range(1, 20)])

    @task
    def reply(history: list) -> AIMessage:
        return model.invoke(history)

    @entrypoint(checkpointer=InMemorySaver())
    def chat(message: str, *, previous: list | None = None) -> entrypoint.final:
        history = add_messages(previous or [], [HumanMessage(message)])
        answer = reply(history).result()
        verdict = interrupt({"question": "Send this answer?", "answer": answer.content})
        history = add_messages(history, [answer] if verdict == "yes" else [])
        return entrypoint.final(value=history, save=history)

    return chat


def test_each_turn_keeps_its_own_view(sent):
    chat = _chatbot()
    config = {"configurable": {"thread_id": "t"}}
    views = []
    for turn in (1, 2, 3):
        view = show(chat, f"question {turn}", config)
        assert view.wait(PATIENCE) == "interrupted"
        answer = show(chat, Command(resume="yes"), config)  # the resume view follows the same turn
        assert answer.wait(PATIENCE) == "done"
        assert view.wait(PATIENCE) == "done"
        assert view.state["invocation"] == answer.state["invocation"] == turn
        views.append(view)
    for turn, view in enumerate(views, 1):
        state = view.state
        assert state["status"] == "done"
        last = state["result_chat"][-1]
        assert last["role"] == "assistant" and last["content"] == f"Answer {turn}: **sure**."
        assert [m["content"] for m in state["result_chat"] if m["role"] == "user"][-1] == f"question {turn}"
        assert bool(state.get("moved_on")) == (turn < 3)
        assert f"question {turn}" in view.transcript and f"Answer {turn}" in view.transcript
        # what the front end was sent last is this turn too
        snaps = custom(sent, view, "snapshot")
        if turn < 3:
            assert snaps and snaps[-1]["state"]["invocation"] == turn and snaps[-1]["state"]["moved_on"]
    assert views[0].value[-1].content == "Answer 1: **sure**."
    # the thread as it is now: show without input follows the latest turn
    now = show(chat, config=config)
    assert now.state["invocation"] == 3 and now.own is None


def test_an_old_turns_view_answers_nothing(sent):
    chat = _chatbot()
    config = {"configurable": {"thread_id": "t2"}}
    first = show(chat, "one", config)
    assert first.wait(PATIENCE) == "interrupted"
    second = show(chat, "two", config)  # a new message supersedes turn 1's open question
    assert second.wait(PATIENCE) == "interrupted"
    wait_until(lambda: first.state.get("moved_on"), what="turn 1's view kept its own turn")
    assert [q["state"] for q in first.state["questions"]] == ["superseded"]
    qid = second.state["questions"][-1]["id"]
    first._handle_custom_msg({"v": protocol.VERSION, "kind": "resume", "id": qid, "value": "yes"}, [])
    errors = custom(sent, first, "action_error")
    assert errors and "newer turn" in errors[-1]["message"]
    assert second.wait(PATIENCE) == "interrupted"  # nothing was answered through the old view


def _agent(tool_fails: bool = False):
    model = FakeMessagesListChatModel(responses=[
        AIMessage(content="", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call-1"}]),
        AIMessage(content="It is *18 °C* in Paris."),
    ])

    @task
    def call_model(history: list) -> AIMessage:
        return model.invoke(history)

    @task
    def call_tool(call: dict) -> ToolMessage:
        if tool_fails:
            return ToolMessage("weather service down", tool_call_id=call["id"], status="error")
        return ToolMessage("18 °C, sunny", tool_call_id=call["id"], name=call["name"])

    @entrypoint(checkpointer=InMemorySaver())
    def agent(question: str) -> list:
        history = [HumanMessage(question)]
        while True:
            msg = call_model(history).result()
            history = add_messages(history, [msg])
            if not msg.tool_calls:
                return history
            history = add_messages(history, [call_tool(c).result() for c in msg.tool_calls])

    return agent


def test_an_agents_run_reads_as_a_conversation(sent):
    agent = _agent()
    view = show(agent, "Weather in Paris?", {"configurable": {"thread_id": "a"}})
    assert view.wait(PATIENCE) == "done"
    chat = view.state["result_chat"]
    assert [m["role"] for m in chat] == ["user", "assistant", "assistant"]
    call = chat[1]["tool_calls"][0]
    assert call["name"] == "get_weather" and json.loads(call["args"]) == {"city": "Paris"}
    assert call["answered"] and call["result"] == "18 °C, sunny" and not call["error"]
    rows = {r["name"]: r for r in view.rows}
    assert rows["call_model"]["preview"].startswith("assistant")  # not AIMessage(content='', additional_kwargs=…
    assert "additional_kwargs" not in json.dumps(view.rows)
    assert rows["call_tool"]["chat"][0]["role"] == "tool"
    text, html = view.transcript, static_html(view.state, view.rows)
    assert "user: Weather in Paris?" in text and "↳ tool call get_weather" in text and "= 18 °C, sunny" in text
    assert "additional_kwargs" not in text + html
    assert 'data-testid="nbflow-chat"' in html and "get_weather" in html
    assert transcript(view.state, view.rows) == text


def test_a_failed_tool_is_marked():
    history = [HumanMessage("hi"),
               AIMessage(content="", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}]),
               ToolMessage("boom", tool_call_id="c1", status="error")]
    chat = conversation({"messages": history})
    assert chat[1]["tool_calls"][0]["error"] and chat[1]["tool_calls"][0]["result"] == "boom"
    assert "✗ error boom" in "\n".join(chat_text(chat))
    assert 'data-error="true"' in chat_html(chat)
    assert brief(history).startswith("[3 messages] tool ✗")


def test_role_content_dicts_and_long_contents():
    chat = conversation([{"role": "user", "content": "x" * 5000},
                         {"role": "assistant", "content": None,
                          "tool_calls": [{"id": "1", "type": "function",
                                          "function": {"name": "f", "arguments": '{"a": 1}'}}]},
                         {"role": "tool", "tool_call_id": "1", "content": "ok"}])
    assert chat[0]["long"] and len(chat) == 2
    assert json.loads(chat[1]["tool_calls"][0]["args"]) == {"a": 1} and chat[1]["tool_calls"][0]["result"] == "ok"
    assert conversation({"a": 1}) is None and conversation([]) is None and conversation("hi") is None
    assert brief([{"role": "user", "content": "yo"}]) == "user: yo"


def test_the_timeline_shows_a_chat_state_as_a_conversation(sent):
    from nbflow.notebook.widgets import timeline

    chat = _chatbot()
    config = {"configurable": {"thread_id": "tl"}}
    view = show(chat, "hello", config)
    assert view.wait(PATIENCE) == "interrupted"
    show(chat, Command(resume="yes"), config).wait(PATIENCE)
    tl = timeline(chat, config)
    (inv,) = tl.data["invocations"]
    assert inv["input"] == "'hello'" and inv["preview"].startswith("[2 messages] assistant: 'Answer")
    tl.core._handle_custom_msg({"v": protocol.VERSION, "kind": "state_request", "index": 0}, [])
    (state,) = custom(sent, tl.core, "state")
    assert [m["role"] for m in state["chat"]] == ["user", "assistant"]
    assert state["chat"][1]["content"].startswith("Answer")


def test_a_second_timeline_run_keeps_the_view_of_the_first(sent):
    """Issue 21 point 5: a fork replaced the run view under the timeline; now each run adds its own."""
    from nbflow.notebook.widgets import timeline

    chat = _chatbot()
    config = {"configurable": {"thread_id": "tl2"}}
    show(chat, "hello", config).wait(PATIENCE)
    tl = timeline(chat, config)
    first = tl.replay(0)
    first.wait(PATIENCE)
    second = tl.replay(0)
    second.wait(PATIENCE)
    assert tl.runs.children == (second, first)


def test_a_saved_turn_reattaches_to_its_own_turn(sent):
    """A turn view saved after a newer turn started reattaches with ``turn=N`` (not to the thread's latest);
    ``show(wf, config=..., turn=N)`` in a fresh kernel rebuilds that turn from the stored records."""
    from nbflow.notebook.mime import MIME_TYPE

    chat = _chatbot()
    config = {"configurable": {"thread_id": "re"}}
    views = []
    for n in (1, 2):
        views.append(show(chat, f"question {n}", config))
        assert views[-1].wait(PATIENCE) == "interrupted"
        show(chat, Command(resume="yes"), config).wait(PATIENCE)
    assert views[0].wait(PATIENCE) == "done" and views[0].state["moved_on"]
    (widget, _meta), _twin = views[0]._display_bundles(*views[0]._fallbacks())
    assert widget[MIME_TYPE]["reattach"].endswith("turn=1)")
    (widget, _meta), _twin = views[1]._display_bundles(*views[1]._fallbacks())
    assert "turn=" not in widget[MIME_TYPE]["reattach"]  # the newest turn reattaches to the thread
    reset_hub()  # a new kernel
    old = show(chat, config=config, turn=1)
    assert old.state["moved_on"] and old.state["invocation"] == 1
    assert [m["content"] for m in old.state["result_chat"] if m["role"] == "user"] == ["question 1"]
    new = show(chat, config=config, turn=2)
    assert not new.state.get("moved_on") and new.state["result_chat"][-1]["content"].startswith("Answer 2")
    with pytest.raises(ValueError, match="turns 1..2"):
        show(chat, config=config, turn=3)


def test_a_rerun_of_a_waiting_invocation_counts_only_its_active_time():
    """Issue 21 point 4: "Re-run from this input" on an invocation waiting for an answer replays its tasks 44 s
    later; the timeline said "44.0 s active" for a 0.03 s invocation. The restart's idle stretch is not active."""
    from nbflow import Interrupt
    from nbflow.notebook.views import timeline_model
    from nbflow.types import Invocation, TaskRecord

    t0 = 1_000.0
    ask = Interrupt(value="Approve?", id="q1")
    tasks = (TaskRecord("t", "", "c1", "a", "draft", "0", "('cats',)", t0 + 0.01, t0 + 0.04, "ok", None, "'x'"),
             TaskRecord("t", "", "c1", "a", "draft", "0", "('cats',)", t0 + 44.0, t0 + 44.0, "replayed"))
    inv = Invocation("t", "", "c1", None, -1, "input", "cats", "interrupted", t0, t0 + 44.0, pending=(ask,),
                     asked=(ask,), tasks=tasks)
    (row,) = timeline_model("wf", "t", [inv])["invocations"]
    assert row["span"] < 0.1 and row["waiting"] > 43
    assert [(t["offset"] < 0.1) for t in row["tasks"]] == [True]
