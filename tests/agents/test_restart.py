"""A thread of LangChain values, written in one process, loads and continues in a new one.

The reading process imports nothing of LangChain by hand (nbflow's vetted list,
:mod:`nbflow.serde.vetted`, does it when a saver is opened); a class outside that list
is still refused, and nothing named by a row is ever imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHAT = """
import json, sys
from nbflow import Command, add_messages, entrypoint, interrupt, task
from nbflow.checkpoint import SqliteSaver, PostgresSaver

where = sys.argv[1]
saver = PostgresSaver.open(where) if where.startswith("postgresql") else SqliteSaver(where)
saver.setup() if hasattr(saver, "setup") else None

@task
def call_model(messages):
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    n = len(messages)
    if n == 1:  # the first turn asks for a tool
        reply = AIMessage(content="", tool_calls=[{"name": "lookup", "args": {"q": "tides"}, "id": "t1"}])
    else:
        reply = AIMessage(content=f"answer after {n} messages")
    return GenericFakeChatModel(messages=iter([reply])).invoke(messages)

@task
def lookup(call):
    from langchain_core.documents import Document
    from langchain_core.messages import ToolMessage
    doc = Document(page_content="tides come twice a day", metadata={"source": "almanac"})
    return ToolMessage(content=doc.page_content, tool_call_id=call["id"], artifact=None), doc

@entrypoint(checkpointer=saver)
def chat(inputs, *, previous):
    state = previous or {"messages": [], "docs": []}
    messages = add_messages(state["messages"], inputs)
    reply = call_model(messages).result()
    docs = list(state["docs"])
    while reply.tool_calls:
        results = [lookup(c).result() for c in reply.tool_calls]
        docs += [d for _, d in results]
        messages = add_messages(messages, [reply, *[m for m, _ in results]])
        reply = call_model(messages).result()
    verdict = interrupt({"question": "send?", "reply": reply.content})
    messages = add_messages(messages, reply)
    return entrypoint.final(value={"reply": reply.content, "verdict": verdict},
                            save={"messages": messages, "docs": docs})

def lc_submodules():
    return sorted(m for m in sys.modules if m.startswith("langchain_core.messages.") or m.startswith("langchain_core.documents."))

cfg = {"configurable": {"thread_id": "restart"}}
out = {"before": lc_submodules()}
if sys.argv[2] == "write":
    chat.invoke([{"role": "user", "content": "when are the tides?"}], cfg)
    out["result"] = chat.invoke(Command(resume="yes"), cfg)
else:
    snap = chat.get_state(cfg)
    out["state"] = snap.values
    out["loaded"] = lc_submodules()
    out["paused"] = str(chat.invoke([{"role": "user", "content": "and tomorrow?"}], cfg)["__interrupt__"][0].value)
    out["result"] = chat.invoke(Command(resume="ok"), cfg)
    history = [s for s in chat.get_state_history(cfg)]
    out["checkpoints"] = len(history)
print(json.dumps(out))
"""


def _run(tmp_path: Path, where: str, phase: str) -> dict:
    script = tmp_path / "chat_restart.py"
    script.write_text(textwrap.dedent(CHAT))
    proc = subprocess.run([sys.executable, str(script), where, phase], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check_thread_survives(tmp_path: Path, where: str) -> None:
    wrote = _run(tmp_path, where, "write")
    assert wrote["result"] == {"reply": "answer after 3 messages", "verdict": "yes"}
    read = _run(tmp_path, where, "read")
    # the new process imported nothing of LangChain's messages by hand: nbflow's vetted list did, as the saver
    # opened (before any read), and reading imported nothing more
    assert "langchain_core.messages.human" in read["before"] and read["loaded"] == read["before"]
    assert read["state"] == {"reply": "answer after 3 messages", "verdict": "yes"}
    assert read["paused"] == "{'question': 'send?', 'reply': 'answer after 5 messages'}"  # 4 old + 1 new
    assert read["result"] == {"reply": "answer after 5 messages", "verdict": "ok"}


def test_sqlite_thread_of_messages_continues_in_a_new_process(tmp_path: Path) -> None:
    _check_thread_survives(tmp_path, str(tmp_path / "chat.sqlite"))


def test_postgres_thread_of_messages_continues_in_a_new_process(tmp_path: Path, postgres_schemas) -> None:
    _check_thread_survives(tmp_path, postgres_schemas.uri())


READ_BYTES = """
import json, sys
from nbflow import InMemorySaver
from nbflow.config import serializer_of
from nbflow.errors import DeserializationError

serde = serializer_of(InMemorySaver())
out = {}
for name, blob in json.loads(sys.stdin.read()).items():
    try:
        value = serde.loads(blob.encode("latin-1"))
        out[name] = [type(v).__module__ + ":" + type(v).__name__ for v in value]
    except DeserializationError as e:
        out[name] = "refused: " + str(e)
out["modules"] = sorted(m for m in ("langchain_core.prompt_values", "langchain_core.prompts.chat") if m in sys.modules)
print(json.dumps(out))
"""


def test_in_memory_values_load_in_a_new_process_and_only_vetted_classes() -> None:
    """What the in-memory saver's serializer wrote loads in a fresh process: every message and chunk class,
    tool calls, documents; a LangChain class outside the vetted list is refused and never imported."""
    from langchain_core.documents import Document
    from langchain_core.messages import (
        AIMessage,
        AIMessageChunk,
        ChatMessage,
        FunctionMessage,
        HumanMessage,
        HumanMessageChunk,
        RemoveMessage,
        SystemMessage,
        ToolMessage,
        ToolMessageChunk,
    )
    from langchain_core.prompt_values import ChatPromptValue

    from nbflow.serde import default_serializer as serde

    values = [
        HumanMessage(content="hi", id="h1"), SystemMessage(content="be brief"),
        AIMessage(content="", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c1"}],
                  usage_metadata={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}),
        AIMessageChunk(content="par"), HumanMessageChunk(content="tial"), ToolMessage(content="1", tool_call_id="c1"),
        ToolMessageChunk(content="2", tool_call_id="c2"), FunctionMessage(content="3", name="f"),
        ChatMessage(content="4", role="critic"), RemoveMessage(id="h1"),
        Document(page_content="text", metadata={"page": 2}),
    ]
    blobs = {"vetted": serde.dumps(values).decode("latin-1"),
             "other": serde.dumps([ChatPromptValue(messages=[HumanMessage(content="x")])]).decode("latin-1")}
    proc = subprocess.run([sys.executable, "-c", READ_BYTES], input=json.dumps(blobs), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["vetted"] == [f"{type(v).__module__}:{type(v).__name__}" for v in values]
    assert out["other"].startswith("refused: ") and "langchain_core.prompt_values" in out["other"]
    assert out["modules"] == []  # the refused row's module was not imported


@pytest.mark.parametrize("text", ["AIMessage", "Document"])
def test_vetted_list_names_fixed_modules_only(text: str) -> None:
    from nbflow.serde import vetted

    assert all(module.startswith("langchain_core.") for module in vetted.VETTED)
    assert any(text in names for names in vetted.VETTED.values())
