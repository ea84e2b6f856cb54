"""Every code example of the behaviour spec (shared/seeds) runs on nbflow with the documented output.

Imports are the documents' own, pointed at nbflow. Where a document's printed
output contradicts its own code, the test follows the code and says so.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Optional

import pytest

from nbflow import (
    CachePolicy,
    Command,
    EmptyInputError,
    InMemoryCache,
    InMemorySaver,
    InMemoryStore,
    MemorySaver,
    RetryPolicy,
    Runtime,
    StreamWriter,
    add_messages,
    entrypoint,
    get_stream_writer,
    interrupt,
    task,
)


def test_pipeline_fetch_summarize():
    @task
    def fetch(url: str) -> str:
        return f"content of {url}"

    @task
    def summarize(text: str) -> str:
        return f"summary: {text[:20]}"

    @entrypoint(checkpointer=InMemorySaver())
    def pipeline(urls: list[str]) -> list[str]:
        pages = [fetch(u) for u in urls]
        summaries = [summarize(p.result()) for p in pages]
        return [s.result() for s in summaries]

    cfg = {"configurable": {"thread_id": "run-1"}}
    assert pipeline.invoke(["a", "b"], cfg) == ["summary: content of a", "summary: content of b"]

    # Default stream mode is 'updates'.
    chunks = list(pipeline.stream(["a", "b"], {"configurable": {"thread_id": "run-2"}}))
    assert chunks[-1] == {"pipeline": ["summary: content of a", "summary: content of b"]}
    assert sorted(map(str, chunks[:4])) == sorted(map(str, [
        {"fetch": "content of a"}, {"fetch": "content of b"},
        {"summarize": "summary: content of a"}, {"summarize": "summary: content of b"}]))
    # Several modes: (mode, chunk) pairs.
    pairs = list(pipeline.stream(["a", "b"], {"configurable": {"thread_id": "run-3"}},
                                 stream_mode=["updates", "messages"]))
    assert all(mode in ("updates", "messages") for mode, _ in pairs)
    assert pairs[-1] == ("updates", {"pipeline": ["summary: content of a", "summary: content of b"]})


def test_task_options_from_reference():
    @task(name="fetch_page", retry_policy=RetryPolicy(max_attempts=3), cache_policy=CachePolicy(ttl=300))
    def fetch(url: str) -> str:
        return url

    assert fetch.name == "fetch_page"


def test_entrypoint_final_counter():
    @entrypoint(checkpointer=InMemorySaver())
    def counter(number: int, *, previous: Any = None) -> entrypoint.final[int, int]:
        previous = previous or 0
        return entrypoint.final(value=previous, save=2 * number)

    cfg = {"configurable": {"thread_id": "t"}}
    assert counter.invoke(3, cfg) == 0
    assert counter.invoke(1, cfg) == 6
    assert counter.invoke(7, cfg) == 2


def test_review_flow_interrupt_and_resume():
    @task
    def draft(topic: str) -> str:
        return f"Essay about {topic}"

    @entrypoint(checkpointer=InMemorySaver())
    def review_flow(topic: str) -> dict:
        essay = draft(topic).result()
        edit = interrupt({"question": "Edit this?", "essay": essay})
        return {"essay": essay, "edit": edit}

    cfg = {"configurable": {"thread_id": "r1"}}
    first = list(review_flow.stream("cats", cfg))
    assert first[0] == {"draft": "Essay about cats"}
    (intr,) = first[-1]["__interrupt__"]
    assert intr.value == {"question": "Edit this?", "essay": "Essay about cats"}
    assert repr(intr).startswith("Interrupt(value={'question': 'Edit this?'")
    second = list(review_flow.stream(Command(resume="Shorter, please."), cfg))
    assert second == [{"review_flow": {"essay": "Essay about cats", "edit": "Shorter, please."}}]


def test_runtime_stream_writer_custom():
    @entrypoint(checkpointer=InMemorySaver())
    def emit(inp: dict, runtime: Runtime) -> dict:
        runtime.stream_writer({"phase": "start"})
        runtime.stream_writer({"phase": "done"})
        return {"ok": True}

    cfg = {"configurable": {"thread_id": "e"}}
    assert list(emit.stream({}, cfg, stream_mode="custom")) == [{"phase": "start"}, {"phase": "done"}]


def test_max_score_without_checkpointer():
    @task
    def score(item: str) -> float:
        return len(item) / 10.0

    @entrypoint()
    def max_score(items: list[str]) -> float:
        futures = [score(i) for i in items]
        return max(f.result() for f in futures)

    assert max_score.invoke(["a", "abcd", "ab"]) == 0.4


def test_assisted_write():
    @task
    def draft(topic: str) -> str:
        return f"draft on {topic}"

    @task
    def revise(text: str, corrections: str) -> str:
        return f"{text} ({corrections})"

    @entrypoint(checkpointer=InMemorySaver())
    def assisted_write(topic: str) -> dict:
        draft_text = draft(topic).result()
        corrections = interrupt({"draft": draft_text})
        final = revise(draft_text, corrections).result()
        return {"draft": draft_text, "final": final}

    cfg = {"configurable": {"thread_id": "aw"}}
    out = list(assisted_write.stream("owls", cfg))
    assert out[-1]["__interrupt__"][0].value == {"draft": "draft on owls"}
    out = list(assisted_write.stream(Command(resume="more detail"), cfg))
    assert out[-1] == {"assisted_write": {"draft": "draft on owls", "final": "draft on owls (more detail)"}}


def test_hit_counter_with_previous():
    @entrypoint(checkpointer=InMemorySaver())
    def hit(inp: None = None, *, previous: int | None = None) -> entrypoint.final[int, int]:
        previous = previous or 0
        nxt = previous + 1
        return entrypoint.final(value=nxt, save=nxt)

    cfg = {"configurable": {"thread_id": "h"}}
    # LangGraph: None means "continue this thread", so a new thread needs an input ...
    with pytest.raises(EmptyInputError, match="pass an input|Pass an input"):
        hit.invoke(None, cfg)
    assert [hit.invoke({}, cfg) for _ in range(3)] == [1, 2, 3]
    # ... and on a finished thread None returns the last value, running nothing
    assert hit.invoke(None, cfg) == 3 and hit.invoke({}, cfg) == 4


def test_remember_store():
    store = InMemoryStore()

    @entrypoint(checkpointer=InMemorySaver(), store=store)
    def remember(inp: dict, runtime: Runtime) -> dict:
        uid = inp["user_id"]
        assert runtime.store is not None
        runtime.store.put(("mem", uid), "latest", {"text": inp["text"]})
        return {"saved": True}

    assert remember.invoke({"user_id": "u1", "text": "hi"}, {"configurable": {"thread_id": "m"}}) == {"saved": True}
    assert store.get(("mem", "u1"), "latest").value == {"text": "hi"}


def test_review_workflow_reference_example():
    calls = []

    @task
    def compose_essay(topic: str) -> str:
        calls.append(topic)
        time.sleep(0.2)  # the document sleeps 1.0 s; shortened, same behaviour
        return f"An essay about {topic}"

    @entrypoint(checkpointer=InMemorySaver())
    def review_workflow(topic: str) -> dict:
        essay_future = compose_essay(topic)
        essay = essay_future.result()
        human_review = interrupt({"question": "Please provide a review", "essay": essay})
        return {"essay": essay, "review": human_review}

    config = {"configurable": {"thread_id": "some_thread"}}
    first = list(review_workflow.stream("cats", config))
    assert first[0] == {"compose_essay": "An essay about cats"}
    assert "__interrupt__" in first[1]
    second = list(review_workflow.stream(Command(resume="This essay is great."), config))
    assert second == [{"review_workflow": {"essay": "An essay about cats", "review": "This essay is great."}}]
    assert calls == ["cats"]  # not re-executed on resume


def test_my_workflow_previous_optional():
    @entrypoint(checkpointer=InMemorySaver())
    def my_workflow(input_data: str, previous: Optional[str] = None) -> str:
        return "world"

    assert my_workflow.invoke("hello", {"configurable": {"thread_id": "some_thread"}}) == "world"


def test_add_one_sync_and_async():
    @task
    def add_one_task(a: int) -> int:
        return a + 1

    @entrypoint()
    def add_one(numbers: list[int]) -> list[int]:
        futures = [add_one_task(n) for n in numbers]
        return [f.result() for f in futures]

    assert add_one.invoke([1, 2, 3]) == [2, 3, 4]

    @task
    async def add_one_atask(a: int) -> int:
        return a + 1

    @entrypoint()
    async def add_one_async(numbers: list[int]) -> list[int]:
        futures = [add_one_atask(n) for n in numbers]
        return asyncio.gather(*futures)  # as in the reference: the awaitable is resolved

    assert asyncio.run(add_one_async.ainvoke([1, 2, 3])) == [2, 3, 4]


def test_concepts_essay_workflow():
    @task
    def write_essay(topic: str) -> str:
        time.sleep(0.05)
        return f"An essay about topic: {topic}"

    @entrypoint(checkpointer=InMemorySaver())
    def workflow(topic: str) -> dict:
        essay = write_essay("cat").result()
        is_approved = interrupt({"essay": essay, "action": "Please approve/reject the essay"})
        return {"essay": essay, "is_approved": is_approved}

    config = {"configurable": {"thread_id": "essay"}}
    items = list(workflow.stream("cat", config))
    assert items[0] == {"write_essay": "An essay about topic: cat"}
    (intr,) = items[1]["__interrupt__"]
    assert intr.value == {"essay": "An essay about topic: cat", "action": "Please approve/reject the essay"}
    assert len(intr.id) == 32
    # The document prints is_approved False after resuming with True; its code returns the answer.
    assert list(workflow.stream(Command(resume=True), config)) == [
        {"workflow": {"essay": "An essay about topic: cat", "is_approved": True}}]


def test_dict_input_and_parallel_graph():
    checkpointer = InMemorySaver()

    @entrypoint(checkpointer=checkpointer)
    def my_workflow(inputs: dict) -> int:
        return inputs["value"] + inputs["another_value"]

    assert my_workflow.invoke({"value": 1, "another_value": 2}, {"configurable": {"thread_id": "d"}}) == 3

    @task
    def add_one(number: int) -> int:
        return number + 1

    @entrypoint(checkpointer=checkpointer)
    def graph(numbers: list[int]) -> list[str]:
        futures = [add_one(i) for i in numbers]
        return [f.result() for f in futures]

    assert graph.invoke([1, 2, 3], {"configurable": {"thread_id": "p"}}) == [2, 3, 4]


def test_call_other_entrypoints():
    checkpointer = InMemorySaver()

    @entrypoint()  # Will automatically use the checkpointer from the parent entrypoint
    def some_other_workflow(inputs: dict) -> int:
        return inputs["value"]

    @entrypoint(checkpointer=checkpointer)
    def my_workflow(inputs: dict) -> int:
        value = some_other_workflow.invoke({"value": 1})
        return value

    assert my_workflow.invoke({}, {"configurable": {"thread_id": "n"}}) == 1


def test_streaming_custom_and_updates():
    checkpointer = InMemorySaver()

    @entrypoint(checkpointer=checkpointer)
    def main(inputs: dict) -> int:
        writer = get_stream_writer()
        writer("Started processing")
        result = inputs["x"] * 2
        writer(f"Result is {result}")
        return result

    config = {"configurable": {"thread_id": "abc"}}
    got = [f"{mode}: {chunk}" for mode, chunk in main.stream({"x": 5}, stream_mode=["custom", "updates"], config=config)]
    # The document prints output of a different program (add_one/add_two, hello/world);
    # this is what the code shown actually streams.
    assert got == ["custom: Started processing", "custom: Result is 10", "updates: {'main': 10}"]


def test_stream_writer_parameter():
    checkpointer = InMemorySaver()

    @entrypoint(checkpointer=checkpointer)
    async def main(inputs: dict, writer: StreamWriter) -> int:
        writer("hello")
        return 1

    got = list(main.stream({}, {"configurable": {"thread_id": "w"}}, stream_mode="custom"))
    assert got == ["hello"]


def test_retry_policy_example():
    attempts = 0
    retry_policy = RetryPolicy(retry_on=ValueError, initial_interval=0.01, jitter=False)

    @task(retry_policy=retry_policy)
    def get_info():
        nonlocal attempts
        attempts += 1
        if attempts < 2:
            raise ValueError("Failure")
        return "OK"

    checkpointer = InMemorySaver()

    @entrypoint(checkpointer=checkpointer)
    def main(inputs, writer):
        return get_info().result()

    config = {"configurable": {"thread_id": "1"}}
    assert main.invoke({"any_input": "foobar"}, config=config) == "OK"
    assert attempts == 2


def test_caching_tasks_example():
    runs = []

    @task(cache_policy=CachePolicy(ttl=120))
    def slow_add(x: int) -> int:
        runs.append(x)
        time.sleep(0.05)
        return x * 2

    @entrypoint(cache=InMemoryCache())
    def main(inputs: dict) -> dict[str, int]:
        result1 = slow_add(inputs["x"]).result()
        result2 = slow_add(inputs["x"]).result()
        return {"result1": result1, "result2": result2}

    assert list(main.stream({"x": 5}, stream_mode="updates")) == [
        {"slow_add": 10},
        {"slow_add": 10, "__metadata__": {"cached": True}},
        {"main": {"result1": 10, "result2": 10}},
    ]
    assert runs == [5]


def test_resuming_after_an_error():
    attempts = 0
    slow_runs = 0

    @task()
    def get_info():
        nonlocal attempts
        attempts += 1
        if attempts < 2:
            raise ValueError("Failure")
        return "OK"

    checkpointer = InMemorySaver()

    @task
    def slow_task():
        nonlocal slow_runs
        slow_runs += 1
        time.sleep(0.05)
        return "Ran slow task."

    @entrypoint(checkpointer=checkpointer)
    def main(inputs, writer: StreamWriter):
        slow_task_result = slow_task().result()
        get_info().result()
        return slow_task_result

    config = {"configurable": {"thread_id": "1"}}
    with pytest.raises(ValueError, match="Failure"):
        main.invoke({"any_input": "foobar"}, config=config)
    assert main.invoke(None, config=config) == "Ran slow task."
    assert slow_runs == 1


def test_human_in_the_loop_steps():
    @task
    def step_1(input_query):
        return f"{input_query} bar"

    @task
    def human_feedback(input_query):
        feedback = interrupt(f"Please provide feedback: {input_query}")
        return f"{input_query} {feedback}"

    @task
    def step_3(input_query):
        return f"{input_query} qux"

    checkpointer = InMemorySaver()

    @entrypoint(checkpointer=checkpointer)
    def graph(input_query):
        result_1 = step_1(input_query).result()
        result_2 = human_feedback(result_1).result()
        result_3 = step_3(result_2).result()
        return result_3

    config = {"configurable": {"thread_id": "1"}}
    events = list(graph.stream("foo", config))
    assert events[0] == {"step_1": "foo bar"}
    assert events[1]["__interrupt__"][0].value == "Please provide feedback: foo bar"
    events = list(graph.stream(Command(resume="baz"), config))
    assert events == [{"human_feedback": "foo bar baz"}, {"step_3": "foo bar baz qux"}, {"graph": "foo bar baz qux"}]


def test_accumulate_final():
    checkpointer = InMemorySaver()

    @entrypoint(checkpointer=checkpointer)
    def accumulate(n: int, *, previous: Optional[int]) -> entrypoint.final[int, int]:
        previous = previous or 0
        total = previous + n
        return entrypoint.final(value=previous, save=total)

    config = {"configurable": {"thread_id": "my-thread"}}
    assert [accumulate.invoke(i, config=config) for i in (1, 2, 3)] == [0, 1, 3]


def test_memory_saver_alias():
    assert MemorySaver is InMemorySaver


def test_chatbot_example_with_fake_model():
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, BaseMessage

    model = GenericFakeChatModel(messages=iter([AIMessage("Hi Bob!"), AIMessage("Your name is Bob.")]))

    @task
    def call_model(messages: list[BaseMessage]):
        response = model.invoke(messages)
        return response

    checkpointer = InMemorySaver()

    @entrypoint(checkpointer=checkpointer)
    def workflow(inputs: list[BaseMessage], *, previous: list[BaseMessage]):
        if previous:
            inputs = add_messages(previous, inputs)
        response = call_model(inputs).result()
        return entrypoint.final(value=response, save=add_messages(inputs, response))

    config = {"configurable": {"thread_id": "1"}}
    out1 = list(workflow.stream([{"role": "user", "content": "hi! I'm bob"}], config, stream_mode="values"))
    assert out1[-1].content == "Hi Bob!"
    out2 = list(workflow.stream([{"role": "user", "content": "what's my name?"}], config, stream_mode="values"))
    assert out2[-1].content == "Your name is Bob."
    saved = workflow.get_state(config)
    history = list(workflow.get_state_history(config))
    assert saved.values.content == "Your name is Bob."
    assert len(history) == 4  # two invocations, each an input and a loop checkpoint
