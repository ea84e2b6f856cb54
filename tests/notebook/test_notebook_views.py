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
from nbflow.notebook.thread import ORIGIN_CODE, ThreadModel, run_state
from nbflow.notebook.views import (
    static_html,
    timeline_model,
    timeline_transcript,
    transcript,
)
from nbflow.testing.helpers import cfg


def fold(wf, input, config=None, model: ThreadModel | None = None) -> ThreadModel:
    model = model or ThreadModel(wf.name, (config or {}).get("configurable", {}).get("thread_id"))
    for event in wf.stream_events(input, config):
        model.apply(event)
    return model


def rows(m: ThreadModel) -> list[dict]:
    return sorted(m.rows.values(), key=lambda r: (r["key"].split("|")[0],
                                                  tuple(int(p) for p in r["key"].split("|")[1].split(".")
                                                        if p.isdigit())))


def tx(m: ThreadModel) -> str:
    return transcript(run_state(m), rows(m))




class _Chunk:
    def __init__(self, content, id):
        self.content, self.id = content, id


# ---------------------------------------------------------------------------- events → thread model
def test_synthetic_events_build_rows_state_and_questions():
    m = ThreadModel("flow", "t1")
    m.apply(ev.RunStart((), "flow", "t1", "cats", False, ts=100.0))
    m.apply(ev.TaskStart((), "id1", "draft", "0", ("cats",), 0, 100.5))
    m.apply(ev.Custom((), {"progress": 1}))
    m.apply(ev.TaskEnd((), "id1", "draft", "0", "Essay about cats", None, (), False, False, 100.5, 101.5, 0))
    m.apply(ev.RunInterrupted((), "flow", (Interrupt({"question": "ok?"}, "i1"),), ts=102.0))
    (row,) = m.rows.values()
    assert row["state"] == "ok" and row["duration"] == pytest.approx(1.0) and row["preview"] == "'Essay about cats'"
    st = run_state(m)
    assert (st["status"], st["done"], st["total"], st["events"]) == ("interrupted", 1, 1, 1)
    assert st["active_s"] == pytest.approx(2.0) and st["since"] == 102.0
    assert [(q["id"], q["state"], q["form"]["kind"]) for q in st["questions"]] == [("i1", "pending", "text")]
    assert tx(m) == (
        "flow · thread t1 · waiting for input · 1/1 tasks\n"
        "  ✓ draft → 'Essay about cats'\n"
        "  ? {'question': 'ok?'}"
    )


def test_changes_are_taken_once_and_rows_are_copies():
    m = ThreadModel("flow", None)
    m.apply(ev.TaskStart((), "a", "step", "0", (), 0, 1.0))
    reset, sent, changed = m.take_changes()
    assert reset and changed and [r["key"] for r in sent] == ["|0"]
    m.apply(ev.TaskEnd((), "a", "step", "0", 42, None, (), False, False, 1.0, 2.0, 0))
    assert sent[0]["state"] == "running"  # the sender's copy does not change under it
    reset, sent, changed = m.take_changes()
    assert not reset and [(r["key"], r["state"], r["preview"]) for r in sent] == [("|0", "ok", "42")]
    assert m.take_changes() == (False, [], False)
    m.apply(ev.Message((), _Chunk("Hel", "m1"), {"langgraph_node": "chat"}))
    m.apply(ev.Message((), _Chunk("lo", "m1"), {}))
    _reset, sent, _changed = m.take_changes()
    assert [(r["kind"], r["text"], r["name"]) for r in sent] == [("message", "Hello", "chat")]


def test_active_and_waiting_time_are_apart():
    m = ThreadModel("flow", "t")
    m.apply(ev.RunStart((), "flow", "t", 1, False, ts=10.0))
    m.apply(ev.RunInterrupted((), "flow", (Interrupt("ok?", "i1"),), ts=12.0))
    m.origin_hint = "the inbox"
    m.apply(ev.RunStart((), "flow", "t", 1, True, ts=112.0, answers={"i1": "yes"}))  # a human thought for 100 s
    m.apply(ev.RunEnd((), "flow", "done", ts=113.0))
    st = run_state(m)
    assert st["active_s"] == pytest.approx(3.0) and st["waiting_s"] == pytest.approx(100.0)
    assert st["since"] is None
    (q,) = st["questions"]
    assert (q["state"], q["answer"], q["origin"]) == ("answered", "'yes'", "the inbox")



def test_a_resume_answers_exactly_the_questions_its_run_start_names():
    m = ThreadModel("flow", "t")
    m.apply(ev.RunStart((), "flow", "t", 1, False, ts=10.0))
    asked = tuple(Interrupt(f"q{i}?", f"i{i}") for i in range(3))
    m.apply(ev.RunInterrupted((), "flow", asked, ts=12.0))
    m.apply(ev.RunStart((), "flow", "t", 1, True, ts=20.0, answers={"i1": "one"}))  # plain code: no origin hint
    assert [(q["id"], q["state"], q["answer"], q["origin"]) for q in run_state(m)["questions"]] == [
        ("i0", "pending", "", ""), ("i1", "answered", "'one'", ORIGIN_CODE), ("i2", "pending", "", "")]
    assert set(m.pending) == {"i0", "i2"}
    m.apply(ev.RunInterrupted((), "flow", (asked[0], asked[2]), ts=21.0))
    # a resume that answers nothing (a retry, a continue after a stop) marks nothing
    m.apply(ev.RunStart((), "flow", "t", 1, True, ts=30.0))
    assert [q["state"] for q in run_state(m)["questions"]] == ["pending", "answered", "pending"]
    assert set(m.pending) == {"i0", "i2"}


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
        m = fold(wf, "cats", cfg(tid))
        texts.append(tx(m).replace(f"thread {tid}", "thread T"))
        assert m.status == "interrupted" and m.events == 1
    assert texts[0] == texts[1] == (
        "review_flow · thread T · waiting for input · 1/1 tasks\n"
        "  ✓ draft → 'Essay about cats'\n"
        "  ? {'question': 'Approve?', 'draft': 'Essay about cats'}"
    )


def test_resume_folds_into_the_same_rows_and_the_answer_is_kept():
    wf = _review_flow()
    m = fold(wf, "cats", cfg("t"))
    m.origin_hint = "a run view"
    fold(wf, Command(resume="yes"), cfg("t"), m)
    assert m.status == "done"
    assert len(m.rows) == 1 and next(iter(m.rows.values()))["replayed"]
    st = run_state(m)
    assert (st["done"], st["total"]) == (1, 1)  # one row per call position, not one per execution
    assert tx(m) == (
        "review_flow · thread t · done · 1/1 tasks\n"
        "  ✓ draft (from checkpoint) → 'Essay about cats'\n"
        "  ? {'question': 'Approve?', 'draft': 'Essay about cats'} ↳ 'yes' (answered from a run view)\n"
        "  = {'draft': 'Essay about cats', 'approved': 'yes'}"
    )
    html = static_html(st, rows(m))
    assert 'data-status="done"' in html and 'data-testid="nbflow-result"' in html
    assert "&#x27;Essay about cats&#x27;" in html  # escaped


def test_an_answer_from_plain_code_shows_with_its_value():
    wf = _review_flow()
    m = fold(wf, "cats", cfg("t"))
    fold(wf, Command(resume="from code"), cfg("t"), m)
    (q,) = m.questions.values()
    assert (q["state"], q["origin"], q["answer"]) == ("answered", ORIGIN_CODE, "'from code'")


def test_a_new_invocation_resets_rows_and_supersedes_open_questions():
    wf = _review_flow()
    m = fold(wf, "cats", cfg("t"))
    m.take_changes()
    fold(wf, "dogs", cfg("t"), m)
    assert m.invocation == 2 and m.reset
    states = sorted(q["state"] for q in m.questions.values())
    assert states == ["pending", "superseded"]
    assert "'Essay about dogs'" in tx(m) and "(superseded)" in tx(m)


def test_cached_and_failed_tasks_error_once_with_a_traceback_at_the_users_line():
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

    fold(flow, 2, cfg("1"))
    m = fold(flow, 2, cfg("2"))
    assert calls == [2]
    assert "  ✓ expensive (cached) → 4" in tx(m).splitlines()
    m = fold(flow, -1, cfg("3"))
    st = run_state(m)
    assert st["status"] == "error" and st["error"] == "ValueError: bad -2"
    assert "raise ValueError" in st["traceback"] and "Traceback" in st["traceback"]
    assert st["error_where"].startswith("test_notebook_views.py, line ") and "raise ValueError" in st["error_where"]
    lines = tx(m).splitlines()
    assert "  ✗ boom: ValueError: bad -2" in lines
    assert lines[-2] == "  ✗ ValueError: bad -2" and lines[-1].startswith("    at test_notebook_views.py")


def test_parallel_tasks_are_listed_by_call_position():
    m = ThreadModel("f", None)
    m.apply(ev.TaskStart((), "b", "second", "1", (), 0, 1.0))
    m.apply(ev.TaskStart((), "c", "sub", "0.0", (), 0, 1.0))
    m.apply(ev.TaskStart((), "a", "first", "0", (), 0, 1.0))
    m.apply(ev.TaskEnd((), "a", "first", "0", 1, None, (), False, False, 1.0, 2.0, 0))
    _reset, sent, _ = m.take_changes()
    assert [r["name"] for r in sent] == ["first", "sub", "second"]
    assert tx(m).splitlines()[1:] == ["  ✓ first → 1", "    … sub", "  … second"]


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

    m = fold(outer, 3, cfg("n"))
    assert m.status == "done" and m.value == 2
    lines = tx(m).splitlines()
    assert lines[0].startswith("outer · thread n · done") and lines[-1] == "  = 2"
    assert any("draft" in line for line in lines)


def test_load_builds_the_current_state_from_stored_invocations():
    wf = _review_flow()
    fold(wf, "dogs", cfg("t"))
    m = ThreadModel(wf.name, "t")
    m.load(wf.get_invocations(cfg("t")))
    assert m.status == "interrupted" and len(m.pending) == 1
    assert tx(m).splitlines()[1:] == [
        "  ✓ draft → 'Essay about dogs'",
        "  ? {'question': 'Approve?', 'draft': 'Essay about dogs'}",
    ]
    wf.invoke(Command(resume="ok"), cfg("t"))
    m.load(wf.get_invocations(cfg("t")))
    assert m.status == "done" and len(m.rows) == 1
    (q,) = m.questions.values()
    assert q["state"] == "answered" and q["answer"] == "'ok'"


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
    barrier = threading.Barrier(2, timeout=60)

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
        "  #1 done · input 10 · head\n"
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
        "  #1 done · input 1 · forked · branch from #0 · head", "      ✓ one (reused) → 10", "      ✓ two → 20",
        "      = 20"]


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
    assert protocol.message("batch", seq=1, rows=[]) == {"kind": "batch", "v": protocol.VERSION, "seq": 1, "rows": []}
    with pytest.raises(ValueError):
        protocol.message("nope")


def test_views_import_no_jupyter_and_runtime_never_imports_notebook():
    code = (
        "import sys, nbflow\n"
        "from nbflow import entrypoint\n"
        "assert 'nbflow.notebook' not in sys.modules\n"
        "import nbflow.notebook.views, nbflow.notebook.forms, nbflow.notebook.thread, nbflow.notebook.live, nbflow.notebook.actions, nbflow.notebook.protocol, nbflow.notebook.session\n"
        "bad = [m for m in ('IPython', 'ipywidgets', 'anywidget', 'ipykernel') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_timeline_is_the_checkpoint_tree_without_waiting_time():
    wf = _review_flow()
    t0 = time.monotonic()
    wf.invoke("cats", cfg("t"))
    t1 = time.monotonic()
    time.sleep(0.3)  # the human thinks
    t2 = time.monotonic()
    wf.invoke(Command(resume="yes"), cfg("t"))
    active = (t1 - t0) + (time.monotonic() - t2)  # however slow the machine: the time the runs took
    (first,) = wf.get_invocations(cfg("t"))
    wf.invoke("dogs", first.config)  # re-run from the first input: a branch, left waiting
    wf.invoke("owls", cfg("t"))      # a new invocation: the dogs question is abandoned
    data = timeline_model(wf.name, "t", wf.get_invocations(cfg("t")))
    a, b, c = data["invocations"]
    assert a["waiting"] >= 0.29 and a["span"] <= active + 0.01  # the axis leaves out the human's time
    assert b["branch_of"] == 0 and b["status"] == "superseded" and b["asked"][0]["superseded"]
    assert b["pending"] == [] and not b["head"]
    assert c["head"] and c["status"] == "interrupted" and c["pending"]
    text = timeline_transcript(data)
    assert "#1 superseded · input 'dogs' · branch from #0" in text and "(superseded)" in text


def test_compare_two_invocations_highlights_differences():
    from nbflow.notebook.views import compare_invocations

    wf = _review_flow()
    for tid, topic, answer in (("a", "cats", "yes"), ("b", "dogs", "yes")):
        wf.invoke(topic, cfg(tid))
        wf.invoke(Command(resume=answer), cfg(tid))
    left = timeline_model(wf.name, "a", wf.get_invocations(cfg("a")))["invocations"][0]
    right = timeline_model(wf.name, "b", wf.get_invocations(cfg("b")))["invocations"][0]
    rows = compare_invocations(left, right)
    by = {r["what"]: r for r in rows}
    assert not by["input"]["same"] and by["input"]["left"] == "'cats'"
    assert not by["draft (call 0)"]["same"]
    answers = [r for r in rows if r["what"].startswith("answer to")]
    assert len(answers) == 1 and answers[0]["same"] and answers[0]["left"] == "'yes'"
    assert not by["return value"]["same"]


def test_a_stop_folds_into_the_thread_model_in_either_order():
    """RunHalted settles the model (abandoned rows marked); the tap's ThreadEdited("stop") may come
    before or after it and never leaves "stopping…" on a stopped thread."""
    from nbflow import events as ev
    from nbflow.errors import RunStopped
    from nbflow.notebook.thread import ABANDONED, STOPPED_NOTE, ThreadModel, run_state

    for edit_first in (True, False):
        m = ThreadModel("wf", "t")
        m.apply(ev.RunStart((), "wf", "t", 1, False, ts=10.0))
        m.apply(ev.TaskStart((), "a1", "quick", "0", (1,), 0, 10.0))
        if edit_first:
            m.edited("stop")
            assert m.last_event == "stopping…"
        m.apply(ev.RunHalted((), "wf", ts=12.0))
        if not edit_first:
            m.edited("stop")
        st = run_state(m)
        assert st["status"] == "stopped" and st["last_event"] == STOPPED_NOTE
        assert st["active_s"] == 2.0
        assert [(r["name"], r["state"], r["error"]) for r in m.rows.values()] == [("quick", "stopped", ABANDONED)]
    # a task whose future was halted by the stop reports RunStopped: its row is abandoned, not failed
    m = ThreadModel("wf", "t")
    m.apply(ev.RunStart((), "wf", "t", 1, False, ts=10.0))
    m.apply(ev.TaskStart((), "a1", "slow", "0", (1,), 0, 10.0))
    m.apply(ev.TaskEnd((), "a1", "slow", "0", None, RunStopped("stopped"), (), False, False, 10.0, 11.0, 0))
    assert m.rows["|0"]["state"] == "stopped" and m.status == "running"


def test_a_form_never_hands_the_browser_a_pattern_that_could_hang_it():
    from nbflow.notebook.forms import field_spec

    safe = field_spec("zip", {"type": "string", "pattern": r"^\d{5}$"}, True, {})
    slow = field_spec("name", {"type": "string", "pattern": r"^(\w+\s?)+$"}, True, {})
    assert safe["pattern"] == r"^\d{5}$" and "pattern" not in slow
