"""A tool-call review schema is answered like Agent Inbox (issue 21): buttons for the schema's actions, the
tool's arguments as pre-filled fields, answers encoded in the schema's own shape and validated by it."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from nbflow import Command, InMemorySaver, entrypoint, interrupt
from nbflow.notebook.forms import AnswerError, decode_answer, form_spec


class Review(BaseModel):
    action: Literal["accept", "edit", "respond", "ignore"]
    data: Any = None


class Approve(BaseModel):
    action: Literal["accept", "ignore"]
    note: str = ""


def _asked(schema, value=None):
    value = value or {"question": "Is this **correct**?",
                      "tool_call": {"name": "get_weather", "args": {"city": "Pariss", "days": 2}, "id": "c1"}}

    @entrypoint(checkpointer=InMemorySaver())
    def wf(_):
        return interrupt(value, response_schema=schema)

    config = {"configurable": {"thread_id": "t"}}
    return wf, config, wf.invoke(1, config)["__interrupt__"][0]


def test_a_review_schema_is_drawn_as_agent_inbox_buttons_and_answered_in_its_shape():
    wf, config, intr = _asked(Review)
    spec = form_spec(intr)
    assert spec["kind"] == "inbox" and spec["actions"] == ["accept", "edit", "response", "ignore"]
    assert spec["action"] == "get_weather" and spec["description"] == "Is this **correct**?"
    assert [(f["name"], f["type"], f["default"]) for f in spec["fields"]] == [("city", "string", "Pariss"),
                                                                               ("days", "integer", 2)]
    edit = decode_answer(intr, {"value": {"type": "edit", "args": {"city": "London", "days": 2}}})
    assert edit == {"action": "edit", "data": {"city": "London", "days": 2}}
    assert decode_answer(intr, {"value": {"type": "response", "args": "use Celsius"}}) == \
        {"action": "respond", "data": "use Celsius"}
    assert decode_answer(intr, {"value": {"type": "accept", "args": None}}) == {"action": "accept"}
    with pytest.raises(AnswerError, match="write a response first"):
        decode_answer(intr, {"value": {"type": "response", "args": " "}})
    assert wf.invoke(Command(resume=edit), config) == Review(action="edit", data={"city": "London", "days": 2})


def test_only_the_schemas_actions_are_offered():
    _wf, _config, intr = _asked(Approve)
    spec = form_spec(intr)
    assert spec["kind"] == "inbox" and spec["actions"] == ["accept", "ignore"]
    with pytest.raises(AnswerError, match="allowed actions"):
        decode_answer(intr, {"value": {"type": "edit", "args": {}}})
    assert decode_answer(intr, {"value": {"type": "ignore", "args": None}}) == {"action": "ignore"}


def test_a_schema_without_a_tool_call_stays_a_typed_form():
    _wf, _config, intr = _asked(Review, {"question": "Approve the draft?", "draft": "text"})
    assert form_spec(intr)["kind"] == "schema"
