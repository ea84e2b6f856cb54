"""Agent patterns written once, run under nbflow and under LangGraph 1.2.22 (the ``compat`` extra).

Each pattern takes a runtime (:func:`runtime`: the Functional API's names
from one library) and returns a *transcript*: what a user of that library
sees -- interrupt values, returned values, streamed chunks, state -- made
comparable by :func:`norm` (message ids, run ids and timings left out, since
both libraries make them up). The test module runs every pattern under both
runtimes and asserts equal transcripts.

The model is langchain-core's ``GenericFakeChatModel``, a real chat model
(callbacks, run ids, streaming by words) whose reply is picked by
:func:`scripted` from the conversation so far, so a new process answers the
same as the old one.

``python patterns.py RUNTIME PATTERN ARGS_JSON`` runs one pattern in a fresh
process and prints its transcript as JSON (the tests use it to continue a
thread after a "kernel restart").
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage, convert_to_messages
from langchain_core.tools import tool

RUNTIMES = ("nbflow", "langgraph")


def runtime(name: str) -> SimpleNamespace:
    """The Functional API's names from ``nbflow`` or ``langgraph``, plus a SQLite saver on a path."""
    if name == "nbflow":
        import nbflow
        from nbflow.checkpoint import SqliteSaver

        return SimpleNamespace(
            name=name, entrypoint=nbflow.entrypoint, task=nbflow.task, interrupt=nbflow.interrupt,
            Command=nbflow.Command, add_messages=nbflow.add_messages, InMemorySaver=nbflow.InMemorySaver,
            InMemoryStore=nbflow.InMemoryStore, RetryPolicy=nbflow.RetryPolicy, get_store=nbflow.get_store,
            sqlite=lambda path: SqliteSaver(sqlite3.connect(path, check_same_thread=False)),
            postgres=_nbflow_postgres,
        )
    if name == "langgraph":
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.config import get_store
        from langgraph.func import entrypoint, task
        from langgraph.graph.message import add_messages
        from langgraph.store.memory import InMemoryStore
        from langgraph.types import Command, RetryPolicy, interrupt

        return SimpleNamespace(
            name=name, entrypoint=entrypoint, task=task, interrupt=interrupt, Command=Command,
            add_messages=add_messages, InMemorySaver=InMemorySaver, InMemoryStore=InMemoryStore,
            RetryPolicy=RetryPolicy, get_store=get_store,
            sqlite=lambda path: SqliteSaver(sqlite3.connect(path, check_same_thread=False)),
            postgres=None,
        )
    raise ValueError(f"unknown runtime {name!r}")


def _nbflow_postgres(uri: str) -> Any:
    from nbflow.checkpoint import PostgresSaver

    saver = PostgresSaver.open(uri)
    saver.setup()
    return saver


# ---------------------------------------------------------------- the model
def scripted(reply: Callable[[list[BaseMessage]], AIMessage]) -> Callable[[list], AIMessage]:
    """A model call: a fresh ``GenericFakeChatModel`` answering ``reply(history)``, invoked on the history."""

    def call(messages: list) -> AIMessage:
        history = convert_to_messages(messages)
        model = GenericFakeChatModel(messages=iter([reply(history)]))
        return model.invoke(messages)

    return call


def _humans(history: list[BaseMessage]) -> list[str]:
    return [str(m.content) for m in history if isinstance(m, HumanMessage)]


def _echo(history: list[BaseMessage]) -> AIMessage:
    said = _humans(history)
    return AIMessage(content=f"you said {said[-1]!r} ({len(said)} so far, {len(history)} messages; "
                             f"first: {said[0]!r})")


# ---------------------------------------------------------------- transcripts
def norm(x: Any) -> Any:
    """A transcript value both libraries agree on: messages as dicts without ids, interrupts as values."""
    if isinstance(x, BaseMessage):
        out: dict[str, Any] = {"type": x.type, "content": x.content}
        calls = getattr(x, "tool_calls", None)
        if calls:
            out["tool_calls"] = [{"name": c["name"], "args": c["args"], "id": c.get("id")} for c in calls]
        if isinstance(x, ToolMessage):
            out["tool_call_id"] = x.tool_call_id
            out["status"] = x.status
        return out
    if type(x).__name__ == "Interrupt" and hasattr(x, "value"):
        return {"interrupt": norm(x.value)}
    if isinstance(x, dict):
        return {str(k): norm(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [norm(v) for v in x]
    return x


def _paused(result: Any) -> Any:
    return norm(result["__interrupt__"]) if isinstance(result, dict) and "__interrupt__" in result else None


# ---------------------------------------------------------------- 1. chat with an approval each turn
def chat_with_approval(rt: SimpleNamespace, saver: Any, thread: str, turns: list[tuple[str, str]]) -> list:
    """A chatbot (``previous`` + ``add_messages``) whose every reply waits for a human's approval."""
    call_model = rt.task(scripted(_echo), name="call_model")

    @rt.entrypoint(checkpointer=saver)
    def chat(inputs: list, *, previous: list | None) -> Any:
        messages = rt.add_messages(previous or [], inputs)
        reply = call_model(messages).result()
        verdict = rt.interrupt({"question": "Send this reply?", "reply": reply.content})
        if verdict != "approve":
            reply = AIMessage(content=f"(reply withheld: {verdict})")
        return rt.entrypoint.final(value=reply, save=rt.add_messages(messages, reply))

    cfg = {"configurable": {"thread_id": thread}}
    out: list = []
    for text, verdict in turns:
        out.append(("asked", _paused(chat.invoke([{"role": "user", "content": text}], cfg))))
        out.append(("answered", norm(chat.invoke(rt.Command(resume=verdict), cfg))))
    out.append(("state", norm(chat.get_state(cfg).values)))
    return out


# ---------------------------------------------------------------- 2. ReAct with parallel tool calls
@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return {"Paris": "sunny, 24C", "Rome": "cloudy, 19C"}.get(city, "unknown")


@tool
def get_population(city: str) -> int:
    """How many people live in a city."""
    return {"Paris": 2_100_000, "Rome": 2_750_000}[city]


TOOLS = {t.name: t for t in (get_weather, get_population)}


def _react_reply(history: list[BaseMessage]) -> AIMessage:
    results = [m for m in history if isinstance(m, ToolMessage)]
    if not results:
        return AIMessage(content="", tool_calls=[
            {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_w_paris"},
            {"name": "get_weather", "args": {"city": "Rome"}, "id": "call_w_rome"},
            {"name": "get_population", "args": {"city": "Rome"}, "id": "call_p_rome"},
        ])
    return AIMessage(content="; ".join(f"{m.tool_call_id}={m.content}" for m in results))


def react_parallel_tools(rt: SimpleNamespace, saver: Any, thread: str) -> list:
    """The ReAct loop: the model asks for three tools at once, they run in parallel, the model answers."""
    call_model = rt.task(scripted(_react_reply), name="call_model")

    @rt.task
    def call_tool(tool_call: dict) -> ToolMessage:
        return TOOLS[tool_call["name"]].invoke(tool_call)

    @rt.entrypoint(checkpointer=saver)
    def agent(messages: list, *, previous: Any) -> list:
        messages = rt.add_messages([], messages)
        reply = call_model(messages).result()
        while reply.tool_calls:
            futures = [call_tool(tc) for tc in reply.tool_calls]
            messages = rt.add_messages(messages, [reply, *[f.result() for f in futures]])
            reply = call_model(messages).result()
        return rt.add_messages(messages, reply)

    cfg = {"configurable": {"thread_id": thread}}
    return [("result", norm(agent.invoke([{"role": "user", "content": "Weather in Paris and Rome?"}], cfg)))]


# ---------------------------------------------------------------- 3. tool-call review, Agent Inbox shape
def _review_reply(history: list[BaseMessage]) -> AIMessage:
    results = [m for m in history if isinstance(m, ToolMessage)]
    if not results:
        return AIMessage(content="", tool_calls=[
            {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"},
            {"name": "get_weather", "args": {"city": "Lyon"}, "id": "call_2"},
            {"name": "get_population", "args": {"city": "Paris"}, "id": "call_3"},
            {"name": "get_population", "args": {"city": "Rome"}, "id": "call_4"},
        ])
    return AIMessage(content=" | ".join(f"{m.tool_call_id}:{m.content}" for m in results))


def tool_review_inbox(rt: SimpleNamespace, saver: Any, thread: str, answers: list[dict]) -> list:
    """Each tool call goes to a human as a ``HumanInterrupt``: accept, edit, respond or ignore."""
    call_model = rt.task(scripted(_review_reply), name="call_model")

    @rt.task
    def call_tool(tool_call: dict) -> ToolMessage:
        return TOOLS[tool_call["name"]].invoke(tool_call)

    def review(tool_call: dict) -> Any:
        request = {
            "action_request": {"action": tool_call["name"], "args": tool_call["args"]},
            "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
            "description": f"The agent wants to call **{tool_call['name']}**.",
        }
        response = rt.interrupt([request])[0]
        kind = response["type"]
        if kind == "accept":
            return tool_call
        if kind == "edit":
            return {**tool_call, "args": response["args"]["args"]}
        if kind == "response":
            return ToolMessage(content=response["args"], tool_call_id=tool_call["id"], name=tool_call["name"])
        return ToolMessage(content="(ignored by the reviewer)", tool_call_id=tool_call["id"],
                           name=tool_call["name"], status="error")

    @rt.entrypoint(checkpointer=saver)
    def agent(messages: list, *, previous: Any) -> list:
        messages = rt.add_messages([], messages)
        reply = call_model(messages).result()
        while reply.tool_calls:
            reviewed = [review(tc) for tc in reply.tool_calls]
            run = [r for r in reviewed if not isinstance(r, ToolMessage)]
            results = {r.tool_call_id: r for r in reviewed if isinstance(r, ToolMessage)}
            for tc, f in zip(run, [call_tool(tc) for tc in run]):
                results[tc["id"]] = f.result()
            ordered = [results[tc["id"]] for tc in reply.tool_calls]
            messages = rt.add_messages(messages, [reply, *ordered])
            reply = call_model(messages).result()
        return rt.add_messages(messages, reply)

    cfg = {"configurable": {"thread_id": thread}}
    out = [("asked", _paused(agent.invoke([{"role": "user", "content": "Facts about cities, please"}], cfg)))]
    for answer in answers:
        result = agent.invoke(rt.Command(resume=[answer]), cfg)
        out.append(("asked", _paused(result)) if _paused(result) else ("result", norm(result)))
    return out


# ---------------------------------------------------------------- 4. a sub-agent entrypoint
def subagent(rt: SimpleNamespace, saver: Any, thread: str) -> list:
    """An orchestrator entrypoint calls a researcher entrypoint (with its own model task) as a sub-agent."""
    research_model = rt.task(scripted(lambda h: AIMessage(content=f"notes on {_humans(h)[-1]}")),
                             name="research_model")
    write_model = rt.task(scripted(lambda h: AIMessage(content=f"report from: {h[-1].content}")),
                          name="write_model")

    @rt.entrypoint()
    def researcher(topic: str) -> str:
        return research_model([HumanMessage(content=topic)]).result().content

    @rt.entrypoint(checkpointer=saver)
    def orchestrator(topic: str) -> dict:
        notes = researcher.invoke(topic)
        report = write_model([HumanMessage(content=topic), AIMessage(content=notes)]).result()
        approved = rt.interrupt({"question": "Publish?", "report": report.content})
        return {"notes": notes, "report": report.content, "published": approved}

    cfg = {"configurable": {"thread_id": thread}}
    return [("asked", _paused(orchestrator.invoke("tides", cfg))),
            ("result", norm(orchestrator.invoke(rt.Command(resume=True), cfg)))]


# ---------------------------------------------------------------- 5. long-term memory in the store
def store_memory(rt: SimpleNamespace, saver: Any) -> list:
    """Facts remembered in one thread (the store) are used by a chat on another thread."""
    store = rt.InMemoryStore()

    def remember_reply(history: list[BaseMessage]) -> AIMessage:
        return AIMessage(content=f"noted ({len(history)} messages)")

    call_model = rt.task(scripted(remember_reply), name="call_model")

    @rt.entrypoint(checkpointer=saver, store=store)
    def chat(inputs: dict, *, previous: Any) -> str:
        store = rt.get_store()
        ns = ("memories", inputs["user"])
        if inputs["text"].startswith("remember "):
            store.put(ns, f"fact-{len(store.search(ns))}", {"fact": inputs["text"][9:]})
        facts = sorted(item.value["fact"] for item in store.search(ns))
        system = {"role": "system", "content": "Known facts: " + ", ".join(facts)}
        reply = call_model(rt.add_messages([system], [{"role": "user", "content": inputs["text"]}])).result()
        return f"{reply.content}; facts={facts}"

    out = []
    for thread, text in (("a", "remember I like tea"), ("a", "remember I live in Lyon"), ("b", "what do I like?")):
        cfg = {"configurable": {"thread_id": thread}}
        out.append((thread, chat.invoke({"user": "u1", "text": text}, cfg)))
    return out


# ---------------------------------------------------------------- 6. token streaming
def token_streaming(rt: SimpleNamespace, saver: Any, thread: str) -> list:
    """``stream_mode="messages"``: the model's tokens as they come, with the task that streamed them."""
    call_model = rt.task(scripted(lambda h: AIMessage(content="the tide comes in twice a day")),
                         name="call_model")

    @rt.entrypoint(checkpointer=saver)
    def chat(inputs: list, *, previous: Any) -> Any:
        messages = rt.add_messages(previous or [], inputs)
        reply = call_model(messages).result()
        return rt.entrypoint.final(value=reply.content, save=rt.add_messages(messages, reply))

    cfg = {"configurable": {"thread_id": thread}}
    chunks = []
    for chunk, meta in chat.stream([{"role": "user", "content": "tides?"}], cfg, stream_mode="messages"):
        chunks.append((type(chunk).__name__, chunk.content, meta.get("langgraph_node")))
    return chunks


# ---------------------------------------------------------------- 7. a tool raised, the run resumes
class Flaky:
    """A tool that fails the first ``fail`` times it runs (counts every call, so the test sees re-runs)."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.calls = 0

    def __call__(self, city: str) -> str:
        self.calls += 1
        if self.calls <= self.fail:
            raise ConnectionError(f"weather service unreachable (call {self.calls})")
        return f"{city}: sunny"


def tool_raised_then_resumed(rt: SimpleNamespace, saver: Any, thread: str) -> list:
    """A tool raises; the run fails with it; ``invoke(None, config)`` resumes without re-running the model."""
    flaky = Flaky(fail=1)
    model_calls = []

    def reply(history: list[BaseMessage]) -> AIMessage:
        model_calls.append(len(history))
        if not any(isinstance(m, ToolMessage) for m in history):
            return AIMessage(content="", tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "c1"}])
        return AIMessage(content=f"It is {history[-1].content}")

    call_model = rt.task(scripted(reply), name="call_model")

    @rt.task
    def call_tool(tool_call: dict) -> ToolMessage:
        return ToolMessage(content=flaky(**tool_call["args"]), tool_call_id=tool_call["id"])

    @rt.entrypoint(checkpointer=saver)
    def agent(messages: list, *, previous: Any) -> list:
        messages = rt.add_messages([], messages)
        reply_ = call_model(messages).result()
        while reply_.tool_calls:
            results = [call_tool(tc).result() for tc in reply_.tool_calls]
            messages = rt.add_messages(messages, [reply_, *results])
            reply_ = call_model(messages).result()
        return rt.add_messages(messages, reply_)

    cfg = {"configurable": {"thread_id": thread}}
    out: list = []
    try:
        agent.invoke([{"role": "user", "content": "weather in Oslo?"}], cfg)
    except ConnectionError as exc:
        out.append(("raised", str(exc)))
    out.append(("resumed", norm(agent.invoke(None, cfg))))
    out.append(("model calls", model_calls, "tool calls", flaky.calls))
    return out


# ---------------------------------------------------------------- 8. the seeds' "Review tool calls" agent
def _seed_reply(history: list[BaseMessage]) -> AIMessage:
    last = history[-1]
    if isinstance(last, HumanMessage):  # a new question: look something up
        return AIMessage(content="", tool_calls=[{"name": "get_weather", "args": {"city": str(last.content)},
                                                  "id": f"call_{len(history)}"}])
    return AIMessage(content=f"Done: {last.content}")


def seeds_review_tool_calls(rt: SimpleNamespace, saver: Any, thread: str) -> list:
    """The seeds' listings (a fake model for the LLM), two turns on one thread, each reviewed differently."""
    call_model = rt.task(scripted(_seed_reply), name="call_model")

    @rt.task
    def call_tool(tool_call: dict) -> ToolMessage:
        return TOOLS[tool_call["name"]].invoke(tool_call)

    def review_tool_call(tool_call: dict) -> Any:
        human_review = rt.interrupt({"question": "Is this correct?", "tool_call": tool_call})
        review_action = human_review["action"]
        review_data = human_review.get("data")
        if review_action == "continue":
            return tool_call
        if review_action == "update":
            return {**tool_call, **{"args": review_data}}
        if review_action == "feedback":
            return ToolMessage(content=review_data, name=tool_call["name"], tool_call_id=tool_call["id"])
        return None

    @rt.entrypoint(checkpointer=saver)
    def agent(messages: list, previous: Any) -> Any:
        if previous is not None:
            messages = rt.add_messages(previous, messages)
        llm_response = call_model(messages).result()
        while True:
            if not llm_response.tool_calls:
                break
            tool_results = []
            tool_calls = []
            for i, tool_call in enumerate(llm_response.tool_calls):
                review = review_tool_call(tool_call)
                if isinstance(review, ToolMessage):
                    tool_results.append(review)
                else:
                    tool_calls.append(review)
                    if review != tool_call:
                        llm_response.tool_calls[i] = review
            tool_result_futures = [call_tool(tool_call) for tool_call in tool_calls]
            remaining_tool_results = [fut.result() for fut in tool_result_futures]
            messages = rt.add_messages(messages, [llm_response, *tool_results, *remaining_tool_results])
            llm_response = call_model(messages).result()
        messages = rt.add_messages(messages, llm_response)
        return rt.entrypoint.final(value=llm_response, save=messages)

    cfg = {"configurable": {"thread_id": thread}}
    out = []
    for city, answer in (("Paris", {"action": "continue"}), ("Lyon", {"action": "update", "data": {"city": "Rome"}}),
                         ("Oslo", {"action": "feedback", "data": "Use the Norwegian service instead."})):
        out.append(("asked", _paused(agent.invoke([{"role": "user", "content": city}], cfg))))
        out.append(("answered", norm(agent.invoke(rt.Command(resume=answer), cfg))))
    return out


PATTERNS: dict[str, Callable[..., list]] = {
    "chat_with_approval": chat_with_approval,
    "react_parallel_tools": react_parallel_tools,
    "tool_review_inbox": tool_review_inbox,
    "subagent": subagent,
    "store_memory": store_memory,
    "token_streaming": token_streaming,
    "tool_raised_then_resumed": tool_raised_then_resumed,
    "seeds_review_tool_calls": seeds_review_tool_calls,
}


REVIEW_ANSWERS = [
    {"type": "accept", "args": None},
    {"type": "edit", "args": {"action": "get_weather", "args": {"city": "Nice"}}},
    {"type": "response", "args": "Paris has about two million people."},
    {"type": "ignore", "args": None},
]

CHAT_TURNS = [("hi, I'm Ada", "approve"), ("what's my name?", "approve"), ("tell me a joke", "too silly"),
              ("ok, a fact then", "approve"), ("thanks!", "approve"), ("bye", "approve")]


def in_memory(rt: SimpleNamespace, pattern: str) -> list:
    """``pattern``'s transcript with an in-memory saver and its standard arguments."""
    saver = rt.InMemorySaver()
    if pattern == "chat_with_approval":
        return chat_with_approval(rt, saver, "t", CHAT_TURNS)
    if pattern == "tool_review_inbox":
        return tool_review_inbox(rt, saver, "t", REVIEW_ANSWERS)
    if pattern == "store_memory":
        return store_memory(rt, saver)
    return PATTERNS[pattern](rt, saver, "t")


def main(argv: list[str]) -> None:
    """``patterns.py RUNTIME PATTERN ARGS_JSON``: ARGS_JSON holds ``saver`` ("sqlite:PATH" or
    "postgres:URI") and the pattern's other keyword arguments; prints the transcript as JSON.
    ``patterns.py RUNTIME all`` prints every pattern's in-memory transcript, by name."""
    rt = runtime(argv[0])
    if argv[1] == "all":
        print(json.dumps({name: in_memory(rt, name) for name in PATTERNS}))
        return
    kwargs = json.loads(argv[2])
    kind, _, where = kwargs.pop("saver").partition(":")
    saver = rt.sqlite(where) if kind == "sqlite" else rt.postgres(where)
    transcript = PATTERNS[argv[1]](rt, saver, **kwargs)
    print(json.dumps(transcript))


if __name__ == "__main__":
    main(sys.argv[1:])
