"""Pure view-model tests: events → log entries, ops, transcripts; interrupts → forms; invocations → timeline.

No widgets, no IPython, no I/O beyond in-memory runs.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from enum import Enum

import pytest

from nbflow import (
    CachePolicy,
    Command,
    InMemoryCache,
    InMemorySaver,
    Interrupt,
    entrypoint,
    get_stream_writer,
    interrupt,
    task,
)
from nbflow import events as ev
from nbflow.notebook import forms, protocol
from nbflow.notebook.views import (
    RunModel,
    static_html,
    timeline_model,
    timeline_transcript,
    transcript,
)


def run_model(wf, input, config=None) -> RunModel:
    model = RunModel(wf.name, (config or {}).get("configurable", {}).get("thread_id"))
    for event in wf.stream_events(input, config):
        model.apply(event)
    return model


def cfg(tid: str) -> dict:
    return {"configurable": {"thread_id": tid}}


# ---------------------------------------------------------------------------- events → model
def test_synthetic_events_build_log_header_and_forms():
    m = RunModel("flow", "t1")
    m.apply(ev.RunStart((), "flow", "t1", "cats", False, ts=100.0))
    m.apply(ev.TaskStart((), "id1", "draft", "0", ("cats",), 0, 100.5))
    m.apply(ev.Custom((), {"progress": 1}))
    m.apply(ev.TaskEnd((), "id1", "draft", "0", "Essay about cats", None, (), False, False, 100.5, 101.5, 0))
    m.apply(ev.RunInterrupted((), "flow", (Interrupt({"question": "ok?"}, "i1"),), ts=102.0))
    kinds = [e["kind"] for e in m.entries]
    assert kinds == ["run", "task", "custom", "interrupt"]
    task_entry = m.entries[1]
    assert task_entry["state"] == "ok" and task_entry["duration"] == pytest.approx(1.0)
    assert task_entry["preview"] == "'Essay about cats'"
    h = m.header()
    assert (h["status"], h["tasks_done"], h["tasks_started"], h["custom"]) == ("interrupted", 1, 1, 1)
    assert [f["id"] for f in m.forms] == ["i1"]
    assert transcript(m) == (
        "flow · thread t1 · interrupted\n"
        "  ✓ draft → 'Essay about cats'\n"
        "  ? interrupt: {'question': 'ok?'}"
    )


def test_ops_coalesce_until_taken():
    m = RunModel("flow")
    m.apply(ev.TaskStart((), "a", "step", "0", (), 0, 1.0))
    m.apply(ev.TaskEnd((), "a", "step", "0", 42, None, (), False, False, 1.0, 2.0, 0))
    ops = m.take_ops()
    assert [o["op"] for o in ops] == ["append"]  # the patch went into the unsent entry
    assert ops[0]["entry"]["state"] == "ok" and ops[0]["entry"]["preview"] == "42"
    assert m.take_ops() == [] and m.seq == 1
    # after sending: changes become patch / text ops, coalesced per entry
    m.apply(ev.TaskStart((), "b", "slow", "1", (), 0, 3.0))
    m.take_ops()
    m.apply(ev.TaskEnd((), "b", "slow", "1", "x", None, (), True, False, 3.0, 3.0, 0))
    m.apply(ev.Message((), _Chunk("Hel", "m1"), {"langgraph_node": "chat"}))
    ops = m.take_ops()
    assert [o["op"] for o in ops] == ["patch", "append"]
    assert ops[0]["set"]["cached"] is True
    m.apply(ev.Message((), _Chunk("lo ", "m1"), {}))
    m.apply(ev.Message((), _Chunk("world", "m1"), {}))
    ops = m.take_ops()
    assert ops == [{"op": "text", "id": 2, "text": "lo world"}]
    assert m.entries[2]["text"] == "Hello world" and m.entries[2]["node"] == "chat"


def test_sent_entries_are_copies():
    m = RunModel("flow")
    m.apply(ev.TaskStart((), "a", "step", "0", (), 0, 1.0))
    (op,) = m.take_ops()
    m.apply(ev.TaskEnd((), "a", "step", "0", 1, None, (), False, False, 1.0, 2.0, 0))
    assert op["entry"]["state"] == "running"  # the sender's copy does not change under it


class _Chunk:
    def __init__(self, content, id):
        self.content, self.id = content, id


def test_snapshot_limits_entries():
    m = RunModel("flow")
    for i in range(30):
        m.apply(ev.Custom((), i))
    m.take_ops()
    snap = m.snapshot(limit=10)
    assert snap["omitted"] == 20 and len(snap["entries"]) == 10 and snap["entries"][0]["text"] == "20"
    assert snap["seq"] == m.seq


# ---------------------------------------------------------------------------- real runs
@task
def draft(topic: str) -> str:
    return f"Essay about {topic}"


def _review_flow():
    @entrypoint(checkpointer=InMemorySaver())
    def review_flow(topic: str) -> dict:
        text = draft(topic).result()
        get_stream_writer()({"drafted": len(text)})
        ok = interrupt({"question": "Approve?", "draft": text})
        return {"draft": text, "approved": ok}

    return review_flow


def test_real_run_transcript_is_deterministic():
    wf = _review_flow()
    texts = []
    for tid in ("a", "b"):
        m = run_model(wf, "cats", cfg(tid))
        texts.append(transcript(m).replace(f"thread {tid}", "thread T"))
        assert m.status == "interrupted" and m.custom_count == 1
    assert texts[0] == texts[1] == (
        "review_flow · thread T · interrupted\n"
        "  ✓ draft → 'Essay about cats'\n"
        "  ? interrupt: {'question': 'Approve?', 'draft': 'Essay about cats'}"
    )


def test_resume_in_same_model_shows_answer_and_replay_once():
    wf = _review_flow()
    m = run_model(wf, "cats", cfg("t"))
    (intr,) = m.pending
    m.answered({intr.id: "yes"})
    assert m.status == "running" and m.forms == []
    for event in wf.stream_events(Command(resume="yes"), cfg("t")):
        m.apply(event)
    assert m.status == "done"
    replayed = [e for e in m.entries if e["kind"] == "task" and e.get("replayed")]
    assert len(replayed) == 1
    assert m.header()["tasks_done"] == 1  # a replayed task is not new work
    assert transcript(m) == (
        "review_flow · thread t · done\n"
        "  ✓ draft → 'Essay about cats'\n"
        "  ? interrupt: {'question': 'Approve?', 'draft': 'Essay about cats'}\n"
        "  ↳ answer: 'yes'\n"
        "  = {'draft': 'Essay about cats', 'approved': 'yes'}"
    )
    html = static_html(m)
    assert 'data-status="done"' in html and 'data-testid="nbflow-result"' in html
    assert "&#x27;Essay about cats&#x27;" in html  # escaped


def test_cached_and_error_tasks():
    calls = []

    @task(cache_policy=CachePolicy())
    def expensive(x: int) -> int:
        calls.append(x)
        return x * 2

    @task
    def boom(x: int) -> int:
        raise ValueError(f"bad {x}")

    @entrypoint(checkpointer=InMemorySaver(), cache=InMemoryCache())
    def flow(x: int) -> int:
        y = expensive(x).result()
        if x < 0:
            return boom(y).result()
        return y

    run_model(flow, 2, cfg("1"))
    m = run_model(flow, 2, cfg("2"))
    assert calls == [2]
    assert "  ✓ expensive (cached) → 4" in transcript(m).splitlines()
    m = run_model(flow, -1, cfg("3"))
    assert m.status == "error" and m.error == "ValueError: bad -2"
    lines = transcript(m).splitlines()
    assert "  ✗ boom: ValueError: bad -2" in lines and lines[-1] == "  ✗ error: ValueError: bad -2"


def test_parallel_tasks_are_listed_by_call_position():
    m = RunModel("f")
    m.apply(ev.TaskStart((), "b", "second", "1", (), 0, 1.0))
    m.apply(ev.TaskStart((), "c", "sub", "0.0", (), 0, 1.0))
    m.apply(ev.TaskStart((), "a", "first", "0", (), 0, 1.0))
    m.apply(ev.TaskEnd((), "a", "first", "0", 1, None, (), False, False, 1.0, 2.0, 0))
    assert transcript(m).splitlines()[1:] == ["  ✓ first → 1", "    … sub", "  … second"]


def test_nested_workflow_events():
    @entrypoint()
    def inner(x: int) -> int:
        return draft(str(x)).result().count("a")

    @task
    def call_inner(x: int) -> int:
        return inner.invoke(x)

    @entrypoint(checkpointer=InMemorySaver())
    def outer(x: int) -> int:
        return call_inner(x).result()

    m = run_model(outer, 3, cfg("n"))
    assert m.status == "done" and m.value == 2
    lines = transcript(m).splitlines()
    assert lines[0] == "outer · thread n · done" and lines[-1] == "  = 2"
    assert any("draft" in line for line in lines)


def test_load_invocation_attaches_to_stored_thread():
    wf = _review_flow()
    run_model(wf, "dogs", cfg("t"))
    (inv,) = wf.get_invocations(cfg("t"))
    m = RunModel(wf.name, "t")
    m.load_invocation(inv)
    assert m.status == "interrupted" and len(m.forms) == 1
    assert transcript(m).splitlines()[1:] == [
        "  ✓ draft (replayed) → 'Essay about dogs'",
        "  ? interrupt: {'question': 'Approve?', 'draft': 'Essay about dogs'}",
    ]


# ---------------------------------------------------------------------------- forms
def _intr(value, schema=None, iid="i1"):
    js = forms.schema_fields  # noqa: F841 - keep the import used
    return Interrupt(value, iid, schema, schema if isinstance(schema, dict) else None, "ask")


def test_text_form_and_value_views():
    spec = forms.form_spec(_intr("What is your name?"))
    assert spec["kind"] == "text" and spec["display"] == {"type": "text", "text": "What is your name?", "long": False}
    spec = forms.form_spec(_intr({"question": "Approve?", "draft": "line 1\nline 2"}))
    assert spec["kind"] == "text"
    assert spec["display"]["type"] == "fields"
    assert spec["display"]["fields"][1] == {"label": "draft", "text": "line 1\nline 2", "long": True}
    assert forms.decode_answer(_intr("q"), {"value": {"a": 1}}) == {"a": 1}
    with pytest.raises(forms.AnswerError):
        forms.decode_answer(_intr("q"), {})


def test_options_forms_return_the_original_objects():
    marker = object()
    spec = forms.form_spec(_intr(["yes", "no", 3]))
    assert spec["kind"] == "options" and [o["label"] for o in spec["options"]] == ["yes", "no", "3"]
    assert forms.decode_answer(_intr(["yes", "no", 3]), {"option": 2}) == 3
    value = {"question": "Which?", "options": [{"label": "A", "value": marker}, {"label": "B", "value": 2}]}
    spec = forms.form_spec(_intr(value))
    assert spec["kind"] == "options" and spec["display"]["fields"][0]["label"] == "question"
    assert forms.decode_answer(_intr(value), {"option": 0}) is marker
    with pytest.raises(forms.AnswerError):
        forms.decode_answer(_intr(value), {"option": 5})


def _inbox_request(**config):
    return {"action_request": {"action": "send_email", "args": {"to": "a@b.c", "body": "Hi", "retries": 2}},
            "config": {"allow_accept": False, "allow_edit": False, "allow_respond": False, "allow_ignore": False,
                       **config},
            "description": "Send this email?"}


def test_agent_inbox_form_and_answers():
    req = _inbox_request(allow_accept=True, allow_edit=True, allow_ignore=True)
    spec = forms.form_spec(_intr(req))
    assert spec["kind"] == "inbox" and spec["actions"] == ["accept", "edit", "ignore"]
    assert spec["action"] == "send_email" and spec["description"] == "Send this email?"
    assert [(f["name"], f["type"], f["default"]) for f in spec["fields"]] == [
        ("to", "string", "a@b.c"), ("body", "string", "Hi"), ("retries", "integer", 2)]
    intr = _intr(req)
    assert forms.decode_answer(intr, {"value": {"type": "accept"}}) == {"type": "accept", "args": req["action_request"]}
    assert forms.decode_answer(intr, {"value": {"type": "edit", "args": {"to": "x@y.z"}}}) == {
        "type": "edit", "args": {"action": "send_email", "args": {"to": "x@y.z"}}}
    assert forms.decode_answer(intr, {"value": {"type": "ignore", "args": None}}) == {"type": "ignore", "args": None}
    with pytest.raises(forms.AnswerError):  # not allowed by config
        forms.decode_answer(intr, {"value": {"type": "response", "args": "no"}})
    wrapped = _intr([_inbox_request(allow_respond=True)])
    assert forms.form_spec(wrapped)["wrap"] is True
    assert forms.decode_answer(wrapped, {"value": {"type": "response", "args": "later"}}) == [
        {"type": "response", "args": "later"}]


class Color(Enum):
    RED = "red"
    BLUE = "blue"


def test_schema_form_from_pydantic_model():
    pydantic = pytest.importorskip("pydantic")

    class Review(pydantic.BaseModel):
        approved: bool
        score: int = pydantic.Field(ge=1, le=5, description="1 to 5")
        color: Color = Color.RED
        comment: str | None = None
        tags: list[str] = []

    js = Review.model_json_schema()
    spec = forms.form_spec(Interrupt("Review the draft", "i1", Review, js, "review"))
    assert spec["kind"] == "schema" and spec["object"] is True
    by_name = {f["name"]: f for f in spec["fields"]}
    assert by_name["approved"]["type"] == "boolean" and by_name["approved"]["required"]
    assert by_name["score"]["type"] == "integer"
    assert (by_name["score"]["minimum"], by_name["score"]["maximum"]) == (1, 5)
    assert by_name["score"]["description"] == "1 to 5"
    assert by_name["color"]["type"] == "enum" and by_name["color"]["enum"] == ["red", "blue"]
    assert by_name["color"]["default"] == "red"
    assert by_name["comment"]["type"] == "string" and by_name["comment"]["nullable"]
    assert by_name["tags"]["type"] == "json"
    assert spec["display"] == {"type": "text", "text": "Review the draft", "long": False}


def test_schema_form_for_a_non_object_schema():
    schema = {"type": "integer", "minimum": 0}
    spec = forms.form_spec(Interrupt("How many?", "i", schema, schema))
    assert spec["object"] is False and spec["fields"][0]["name"] == "value" and spec["fields"][0]["minimum"] == 0


def test_errors_by_field():
    assert forms.errors_by_field([(("score",), "too big"), ((), "bad"), (("a", 0, "b"), "x")]) == [
        {"field": "score", "message": "too big"}, {"field": "", "message": "bad"},
        {"field": "a", "message": "0.b: x"}]


def test_jsonable_and_pretty():
    assert forms.jsonable({"a": (1, 2.5, float("nan")), 3: {1, 2}}) == {"a": [1, 2.5, "nan"], "3": "{1, 2}"}
    assert forms.pretty({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}'
    assert forms.pretty("x" * 30_000).endswith("…")


# ---------------------------------------------------------------------------- timeline
def test_timeline_parallel_tasks_overlap_and_fork_indices():
    barrier = threading.Barrier(2, timeout=5)

    @task
    def left(x):
        barrier.wait()
        time.sleep(0.05)
        return x + 1

    @task
    def right(x):
        barrier.wait()
        time.sleep(0.05)
        return x + 2

    @task
    def total(a, b):
        return a + b

    @entrypoint(checkpointer=InMemorySaver())
    def fan(x: int) -> int:
        a, b = left(x), right(x)
        return total(a.result(), b.result()).result()

    fan.invoke(1, cfg("t"))
    fan.invoke(10, cfg("t"))
    data = timeline_model("fan", "t", fan.get_invocations(cfg("t")))
    assert [i["status"] for i in data["invocations"]] == ["done", "done"]
    t = data["invocations"][0]["tasks"]
    assert [r["name"] for r in t] == ["left", "right", "total"]
    assert [r["fork"] for r in t] == [0, 1, 2]
    lft, rgt, tot = t
    assert lft["offset"] < rgt["offset"] + rgt["duration"] and rgt["offset"] < lft["offset"] + lft["duration"]
    assert tot["offset"] >= max(lft["offset"] + lft["duration"], rgt["offset"] + rgt["duration"]) - 0.01
    assert data["invocations"][0]["span"] >= tot["offset"] + tot["duration"] - 1e-9
    assert timeline_transcript(data) == (
        "fan · thread t · 2 invocations\n"
        "  #0 done · input 1\n"
        "      ✓ left → 2\n"
        "      ✓ right → 3\n"
        "      ✓ total → 5\n"
        "      = 5\n"
        "  #1 done · input 10\n"
        "      ✓ left → 11\n"
        "      ✓ right → 12\n"
        "      ✓ total → 23\n"
        "      = 23"
    )


def test_timeline_of_a_fork_marks_reused_results():
    @task
    def one(x):
        return x + 1

    @task
    def two(y):
        return y * 2

    @entrypoint(checkpointer=InMemorySaver())
    def chain(x: int) -> int:
        return two(one(x).result()).result()

    chain.invoke(1, cfg("t"))
    time.sleep(0.05)
    (inv,) = chain.get_invocations(cfg("t"))
    chain.invoke(None, chain.fork(inv.config, task_index=1, value=10))
    data = timeline_model("chain", "t", chain.get_invocations(cfg("t")))
    forked = data["invocations"][1]
    assert forked["forked_from"]["task_index"] == 1
    assert [(r["name"], r["reused"], r["offset"], r["duration"]) for r in forked["tasks"]][0] == ("one", True, 0.0, 0.0)
    assert [r["name"] for r in forked["tasks"]] == ["one", "two"]  # the replay marker is folded in
    assert timeline_transcript(data).splitlines()[-4:] == [
        "  #1 done · input 1 · forked", "      ✓ one (reused) → 10", "      ✓ two → 20", "      = 20"]


def test_timeline_questions_and_answers():
    wf = _review_flow()
    wf.invoke("cats", cfg("t"))
    wf.invoke(Command(resume="no"), cfg("t"))
    data = timeline_model(wf.name, "t", wf.get_invocations(cfg("t")))
    (inv,) = data["invocations"]
    assert inv["asked"][0]["answered"] and inv["asked"][0]["answer"] == "'no'"
    assert inv["value"].startswith("{\n")


# ---------------------------------------------------------------------------- layering
def test_protocol_message_kinds():
    assert protocol.message("batch", seq=1, ops=[]) == {"kind": "batch", "v": protocol.VERSION, "seq": 1, "ops": []}
    with pytest.raises(ValueError):
        protocol.message("nope")


def test_views_import_no_jupyter_and_runtime_never_imports_notebook():
    code = (
        "import sys, nbflow\n"
        "from nbflow import entrypoint\n"
        "assert 'nbflow.notebook' not in sys.modules\n"
        "import nbflow.notebook.views, nbflow.notebook.forms, nbflow.notebook.runner, nbflow.notebook.session\n"
        "bad = [m for m in ('IPython', 'ipywidgets', 'anywidget', 'ipykernel') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
