"""Widget tests through model state and messages.

A front-end click is simulated by calling the widget's custom-message handler
with the same JSON ``labextension/src`` sends; what the kernel sends back is
recorded by patching the comm.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from waiting import PATIENCE, wait_until

from nbflow import (
    Command,
    InMemorySaver,
    ResumeError,
    entrypoint,
    interrupt,
    task,
)
from nbflow.notebook import protocol
from nbflow.notebook.live import hub
from nbflow.notebook.widgets import STATIC, Inbox, RunView, inbox, show, timeline
from nbflow.testing.helpers import cfg

from .widgetkit import custom, fresh_session, sent  # noqa: F401, F811 - fixtures, found by name

ROOT = Path(__file__).resolve().parents[2]


def click(widget, **content):
    """What the front end sends: {kind, v, ...}."""
    widget._handle_custom_msg({"v": protocol.VERSION, **content}, [])




@task
def draft(topic: str) -> str:
    return f"Essay about {topic}"


def make_review_flow(saver=None):
    @entrypoint(checkpointer=saver or InMemorySaver())
    def review_flow(topic: str) -> dict:
        text = draft(topic).result()
        ok = interrupt({"question": "Approve?", "draft": text})
        return {"draft": text, "approved": ok}

    return review_flow


def open_forms(view):
    return [q["form"] for q in view.state["questions"] if q["state"] == "pending"]


def last_state(log, widget):
    """The front end's view of the state: the newest state sent in a snapshot or batch."""
    states = [c["state"] for c in custom(log, widget) if c["kind"] in ("snapshot", "batch") and "state" in c]
    return states[-1]


def front_rows(log, widget):
    """Rebuild the rows as the front end does: a snapshot replaces, a batch upserts by key."""
    rows: dict[str, dict] = {}
    seq = -1
    for c in custom(log, widget):
        if c["kind"] == "snapshot":
            rows = {r["key"]: r for r in c["rows"]}
            seq = c["seq"]
        elif c["kind"] == "batch" and c["seq"] > seq:
            rows.update({r["key"]: r for r in c["rows"]})
            seq = c["seq"]
    return rows


def wait_for(predicate, timeout=PATIENCE):
    wait_until(predicate, timeout)


# ---------------------------------------------------------------------------- run view
def test_show_returns_a_view_that_is_running_at_once(sent):
    """Code that polls view.status right after show() must see the run as started, never "idle"."""
    release = threading.Event()

    @task
    def slow(x: int) -> int:
        release.wait(60)
        return x

    @entrypoint(checkpointer=InMemorySaver())
    def starts(x: int) -> int:
        return slow(x).result()

    try:
        hub().flush()  # the flusher just ran, so it waits a whole interval before it could update the view
        view = show(starts, 1)
        assert view.status == "running"
    finally:
        release.set()
    assert view.wait(30) == "done" and view.status == "done"


def test_run_view_live_then_form_submit_resumes_same_view(sent):
    wf = make_review_flow()
    view = show(wf, "cats")
    assert view.thread_id == "review_flow-1"
    assert view.wait(PATIENCE) == "interrupted"
    assert view.status == "interrupted" and view.state["done"] == 1 and view.state["total"] == 1
    (form,) = open_forms(view)
    assert form["kind"] == "text" and form["display"]["type"] == "fields"
    # a (re)rendered front end asks for the state
    click(view, kind="snapshot_request")
    snap = custom(sent, view, "snapshot")[-1]
    assert [r["name"] for r in snap["rows"]] == ["draft"] and snap["state"]["status"] == "interrupted"
    assert snap["v"] == protocol.VERSION
    # the user types an answer and presses submit
    click(view, kind="resume", id=form["id"], value="yes")
    assert view.wait(PATIENCE) == "done"
    assert view.value == {"draft": "Essay about cats", "approved": "yes"}
    assert open_forms(view) == [] and "approved" in view.state["result"]
    (q,) = view.state["questions"]
    assert (q["state"], q["answer"], q["origin"]) == ("answered", "'yes'", "a run view")
    # one row per call position: the replayed draft folded into its row
    rows = front_rows(sent, view)
    assert [(r["name"], r["state"], r["replayed"]) for r in rows.values()] == [("draft", "ok", True)]
    assert last_state(sent, view)["status"] == "done"
    bundle, _ = view._repr_mimebundle_()
    assert bundle["text/plain"].splitlines()[0] == "review_flow · thread review_flow-1 · done · 1/1 tasks"
    assert 'data-status="done"' in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert view._repr_html_() == bundle["text/html"] and repr(view) == bundle["text/plain"]


def test_many_task_calls_arrive_as_few_batches_and_rebuild_exactly(sent):
    @task
    def one(i: int) -> int:
        return i

    @entrypoint(checkpointer=InMemorySaver())
    def many(n: int) -> int:
        return sum(one(i).result() for i in range(n))

    view = show(many, 2000)
    assert view.wait(PATIENCE) == "done"
    msgs = custom(sent, view)
    seqs = [m["seq"] for m in msgs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    rows = front_rows(sent, view)
    assert len(rows) == 2000 and all(r["state"] == "ok" for r in rows.values())
    assert rows == {r["key"]: r for r in view.rows}
    assert len(msgs) < 200, f"{len(msgs)} comm messages for 2000 task calls"
    assert last_state(sent, view)["done"] == 2000


def test_snapshot_then_batches_in_order(sent):
    gate = threading.Event()

    @task
    def first() -> str:
        return "first"

    @task
    def second() -> str:
        gate.wait(PATIENCE)
        return "second"

    @entrypoint(checkpointer=InMemorySaver())
    def slow(n: int) -> int:
        first().result()
        second().result()
        return n

    view = show(slow, 1)
    wait_for(lambda: any(r["name"] == "second" for r in view.rows))
    click(view, kind="snapshot_request")
    gate.set()
    view.wait(PATIENCE)
    msgs = custom(sent, view)
    i = max(k for k, m in enumerate(msgs) if m["kind"] == "snapshot")
    later = [m for m in msgs[i + 1:] if m["kind"] == "batch"]
    assert all(b["seq"] > msgs[i]["seq"] for b in later)
    rows = front_rows(sent, view)
    assert [r["state"] for r in rows.values()] == ["ok", "ok"]


def test_schema_form_validation_errors_go_back_to_the_form(sent):
    pydantic = pytest.importorskip("pydantic")

    class Review(pydantic.BaseModel):
        approved: bool
        score: int = pydantic.Field(ge=1, le=5)

    @entrypoint(checkpointer=InMemorySaver())
    def rate(topic: str) -> dict:
        r = interrupt(f"Rate {topic}", response_schema=Review)
        return {"approved": r.approved, "score": r.score}

    view = show(rate, "cats")
    assert view.wait(PATIENCE) == "interrupted"
    (form,) = open_forms(view)
    assert form["kind"] == "schema" and {f["name"] for f in form["fields"]} == {"approved", "score"}
    click(view, kind="resume", id=form["id"], value={"approved": True, "score": 9})
    (err,) = custom(sent, view, "resume_error")
    assert err["id"] == form["id"] and err["errors"][0]["field"] == "score"
    assert view.status == "interrupted" and open_forms(view) == [form]  # nothing was sent
    with pytest.raises(ValueError):
        view.resume({"approved": True, "score": 0})
    assert view.status == "interrupted"
    click(view, kind="resume", id=form["id"], value={"approved": True, "score": 4})
    assert view.wait(PATIENCE) == "done" and view.value == {"approved": True, "score": 4}


def test_options_and_inbox_forms_resume_with_the_right_values(sent):
    @entrypoint(checkpointer=InMemorySaver())
    def pick(_: int) -> dict:
        color = interrupt(["red", "green", "blue"])
        review = interrupt([{"action_request": {"action": "send", "args": {"to": "x"}},
                             "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True,
                                        "allow_ignore": False},
                             "description": "Send it?"}])
        return {"color": color, "review": review}

    view = show(pick, 0)
    view.wait(PATIENCE)
    (form,) = open_forms(view)
    assert form["kind"] == "options"
    click(view, kind="resume", id=form["id"], option=2)
    assert view.wait(PATIENCE) == "interrupted"
    (form,) = open_forms(view)
    assert form["kind"] == "inbox" and form["actions"] == ["accept", "edit", "response"]
    click(view, kind="resume", id=form["id"], value={"type": "ignore", "args": None})
    assert custom(sent, view, "resume_error")[-1]["message"].startswith("the answer must be one of")
    click(view, kind="resume", id=form["id"], value={"type": "edit", "args": {"to": "y"}})
    assert view.wait(PATIENCE) == "done"
    edited = {"type": "edit", "args": {"action": "send", "args": {"to": "y"}}}
    assert view.value == {"color": "blue", "review": [edited]}


def _two_questions():
    @task
    def ask(q: str) -> str:
        return interrupt(q)

    @entrypoint(checkpointer=InMemorySaver())
    def two(_: int) -> list:
        a, b = ask("first?"), ask("second?")
        return [a.result(), b.result()]

    return two


def test_several_open_questions_are_answered_one_by_one(sent):
    view = show(_two_questions(), 0)
    assert view.wait(PATIENCE) == "interrupted"
    assert len(open_forms(view)) == 2
    with pytest.raises(ValueError, match="2 questions are waiting"):
        view.resume("ambiguous")
    first = next(f for f in open_forms(view) if "first" in f["display"]["text"])
    click(view, kind="resume", id=first["id"], value="A")
    assert view.wait(PATIENCE) == "interrupted"
    (second,) = open_forms(view)
    assert "second" in second["display"]["text"]
    # the answered one stays, read-only, with its answer
    assert [(q["state"], q["answer"]) for q in view.state["questions"] if q["id"] == first["id"]] == \
        [("answered", "'A'")]
    click(view, kind="resume", id=second["id"], value="B")
    assert view.wait(PATIENCE) == "done" and view.value == ["A", "B"]
    click(view, kind="resume", id=second["id"], value="again")
    assert custom(sent, view, "resume_error")[-1]["message"] == "this question was already answered elsewhere"


def test_send_all_answers_every_open_question_in_one_resume(sent):
    view = show(_two_questions(), 0)
    assert view.wait(PATIENCE) == "interrupted"
    a, b = sorted(open_forms(view), key=lambda f: f["display"]["text"])
    click(view, kind="resume_all", answers=[{"id": a["id"], "value": "A"}, {"id": b["id"], "value": "B"}])
    assert view.wait(PATIENCE) == "done" and view.value == ["A", "B"]
    assert {q["state"] for q in view.state["questions"]} == {"answered"}


def test_run_error_shows_the_exception_once_with_a_traceback():
    @entrypoint(checkpointer=InMemorySaver())
    def broken(x: int) -> int:
        return 1 // x

    view = show(broken, 0)
    assert view.wait(PATIENCE) == "error"
    st = view.state
    assert st["error"] == "ZeroDivisionError: integer division or modulo by zero"
    assert "return 1 // x" in st["traceback"] and "return 1 // x" in st["error_where"]
    assert view.transcript.count("ZeroDivisionError") == 1
    with pytest.raises(Exception, match="no pending interrupt"):
        show(broken, Command(resume=1), cfg("broken-1"))
    assert view.status == "error"  # a refused start changes nothing
    with pytest.raises(TypeError):
        show(lambda x: x, 1)


def test_messages_stream_into_their_task_row():
    """Issue 20: a chat model streaming inside a task grows that task's row; its result then replaces the stream."""
    import threading

    pytest.importorskip("langchain_core")
    from nbflow.testing.models import fake_chat_model

    gate = threading.Event()
    model = fake_chat_model(["Hello there, general Kenobi"], gate=gate)

    @task
    def chat(prompt: str) -> str:
        return model.invoke(prompt).content

    @entrypoint()
    def talk(prompt: str) -> str:
        return chat(prompt).result()

    view = show(talk, "hi")
    try:
        row = wait_until(lambda: next((r for r in view.rows if r.get("stream") == "Hello there,"), None),
                         what="the half-streamed answer in the task row")  # the model waits at the gate
        assert row["state"] == "running" and row["name"] == "chat"
    finally:
        gate.set()
    assert view.wait(PATIENCE) == "done"
    assert [r["kind"] for r in view.rows] == ["task"]  # no separate message row
    (row,) = view.rows
    assert row["stream"] == "" and row["preview"] == "'Hello there, general Kenobi'"
    assert row["usage"]["output_tokens"] == 4 and view.state["usage"]["calls"] == 1


def test_attach_after_the_fact_and_method_resume():
    saver = InMemorySaver()
    wf = make_review_flow(saver)
    wf.invoke("owls", cfg("t1"))
    view = show(wf, config=cfg("t1"))
    assert view.status == "interrupted" and len(open_forms(view)) == 1
    view.resume("sure")
    assert view.wait(PATIENCE) == "done" and view.value["approved"] == "sure"
    with pytest.raises(RuntimeError, match="nothing to answer"):
        view.resume("again")


def test_thread_ids_are_readable_and_unique_per_checkpointer():
    saver = InMemorySaver()
    wf = make_review_flow(saver)
    wf.invoke("x", cfg("review_flow-1"))
    v = show(wf, "y")
    assert v.thread_id == "review_flow-2"
    assert show(wf, "z").thread_id == "review_flow-3"
    assert show(make_review_flow(), "w").thread_id == "review_flow-1"  # another checkpointer


# ---------------------------------------------------------------------------- one thread, many views
def test_every_view_of_a_thread_follows_a_change_made_anywhere(sent):
    saver = InMemorySaver()
    wf = make_review_flow(saver)
    a = show(wf, "cats", cfg("shared"))
    assert a.wait(PATIENCE) == "interrupted"
    b = show(wf, config=cfg("shared"))
    assert b.live is a.live  # one model per (saver, thread)
    # plain code in another cell answers: both views follow, the form turns read-only with its origin
    wf.invoke(Command(resume="from code"), cfg("shared"))
    for v in (a, b):
        wait_for(lambda v=v: last_state(sent, v)["status"] == "done")
        (q,) = last_state(sent, v)["questions"]
        assert q["state"] == "answered" and q["origin"].startswith("code")
    wait_for(lambda: last_state(sent, a)["questions"][0]["answer"] == "'from code'")
    # a new invocation from code: the view that follows the thread shows the new run; the view that
    # show(wf, "cats", ...) made keeps its own invocation (issue 21: each turn keeps its view)
    wf.invoke("dogs", cfg("shared"))
    wait_for(lambda: last_state(sent, b)["status"] == "interrupted")
    assert "Essay about dogs" in b.transcript
    wait_for(lambda: last_state(sent, a).get("moved_on"))
    assert "Essay about cats" in a.transcript and "dogs" not in a.transcript
    # update_state reaches the view that follows the thread too (reloaded from the saver)
    before = len(custom(sent, b))
    wf.update_state(cfg("shared"), {"draft": "edited"})
    wait_for(lambda: len(custom(sent, b)) > before)


def test_a_form_answered_in_another_view_is_refused_with_a_clear_message(sent):
    wf = make_review_flow()
    a = show(wf, "cats", cfg("two-views"))
    a.wait(PATIENCE)
    b = show(wf, config=cfg("two-views"))
    (form,) = open_forms(b)
    click(a, kind="resume", id=form["id"], value="first")
    a.wait(PATIENCE)
    click(b, kind="resume", id=form["id"], value="second")
    assert "answered elsewhere" in custom(sent, b, "resume_error")[-1]["message"]
    assert b.value["approved"] == "first"



# ---------------------------------------------------------------------------- a resume answers what it names
LOADED = 30.0  # seconds: generous, for a loaded machine


def _three_names(saver):
    @task
    def ask(i: int) -> str:
        return interrupt({"question": f"Name for item {i}?"})

    @entrypoint(checkpointer=saver)
    def names(n: int) -> list:
        futures = [ask(i) for i in range(n)]
        return [f.result() for f in futures]

    return names


def _marks(state):
    """{question text: (state, answer, origin)} of a RunState."""
    return {q["text"]: (q["state"], q["answer"], q["origin"]) for q in state["questions"]}


@pytest.mark.parametrize("answered", [1, 2, 3])
def test_a_resume_from_code_marks_answered_exactly_the_interrupts_it_names(sent, answered):
    """invoke(Command(resume={id: ...})) from another cell with 1, 2 or all 3 of the open ids: those
    questions turn answered (with their answers) in the run view, inbox, sidebar, timeline and saved
    view; the others stay open and are still answered from the view's forms."""
    from nbflow.notebook.comm import thread_item
    from nbflow.notebook.mime import MIME_TYPE
    from nbflow.notebook.thread import ORIGIN_CODE

    wf = _three_names(InMemorySaver())
    view = show(wf, 3, cfg("names"))
    assert view.wait(LOADED) == "interrupted"
    click(view, kind="snapshot_request")
    box, tl = inbox(wf), timeline(wf, cfg("names"))
    ids = {q["text"]: q["id"] for q in view.state["questions"]}
    texts = [f"Name for item {i}?" for i in range(3)]
    done, still = texts[:answered], texts[answered:]

    out = wf.invoke(Command(resume={ids[t]: f"name {t[-2]}" for t in done}), cfg("names"))
    if still:
        assert [i.id for i in out["__interrupt__"]] == [ids[t] for t in still]
    status = "interrupted" if still else "done"
    want = {**{t: ("answered", f"'name {t[-2]}'", ORIGIN_CODE) for t in done},
            **dict.fromkeys(still, ("pending", "", ""))}
    # the front end's state (the newest snapshot/batch sent) and the model agree
    wait_for(lambda: last_state(sent, view)["status"] == status and _marks(last_state(sent, view)) == want, LOADED)
    assert _marks(view.state) == want and len(view.interrupts) == len(still)
    # the inbox
    wait_for(lambda: box.data[0]["state"] == ("waiting" if still else "done"), LOADED)
    assert _marks(box.data[0]) == want
    assert [len(i["interrupts"]) for i in box.items] == ([len(still)] if still else [])
    # the sidebar lists the open questions only
    assert [q["summary"] for q in thread_item(view.live, "memory", None)["questions"]] == still
    # the timeline (from the saver)
    wait_for(lambda: tl.data["invocations"][-1]["status"] == status, LOADED)
    (inv,) = tl.data["invocations"]
    assert [(a["text"], a["answered"]) for a in inv["asked"]] == [(t, t in done) for t in texts]
    assert inv["pending"] == [ids[t] for t in still]
    # the saved view and its text fallback
    (bundle, _meta), _twin = view._display_bundles(*view._fallbacks())
    assert _marks(bundle[MIME_TYPE]["state"]) == want
    lines = bundle["text/plain"].splitlines()
    assert sum("(answered from code" in line for line in lines) == answered
    assert [line for line in lines if line.startswith("  ? {") and "↳" not in line] == \
        [f"  ? {{'question': '{t}'}}" for t in still]
    if not still:
        assert view.value == ["name 0", "name 1", "name 2"]
        return
    # the forms of the others are still answered from the view ("Send all" with what is still open)
    click(view, kind="resume_all", answers=[{"id": ids[t], "value": f"form {t[-2]}"} for t in still])
    assert view.wait(LOADED) == "done"
    assert view.value == [f"name {t[-2]}" if t in done else f"form {t[-2]}" for t in texts]
    assert {t: m[2] for t, m in _marks(view.state).items()} == {t: ORIGIN_CODE if t in done else "a run view"
                                                                 for t in texts}


@pytest.mark.parametrize(("call", "value"), [("invoke", "c"), ("stream", ["x", "y"])])
def test_a_single_value_or_a_list_answers_the_one_question_left(sent, call, value):
    from nbflow.notebook.thread import ORIGIN_CODE

    wf = _three_names(InMemorySaver())
    view = show(wf, 3, cfg("one-left"))
    assert view.wait(LOADED) == "interrupted"
    ids = [q["id"] for q in view.state["questions"]]

    def resume(answer):
        out = getattr(wf, call)(Command(resume=answer), cfg("one-left"))
        return list(out) if call == "stream" else out

    hub().flush()
    seq = view.live.model.seq
    # a single value is refused while three are open: nothing changes
    with pytest.raises(ResumeError, match="3 pending interrupts"):
        resume(value)
    hub().flush()
    assert view.live.model.seq == seq and [q["state"] for q in view.state["questions"]] == ["pending"] * 3
    resume({ids[0]: "a", ids[1]: "b"})
    two_answered = ["answered", "answered", "pending"]
    wait_for(lambda: [q["state"] for q in last_state(sent, view)["questions"]] == two_answered, LOADED)
    resume(value)
    wait_for(lambda: last_state(sent, view)["status"] == "done", LOADED)
    assert view.value == ["a", "b", value]
    assert _marks(last_state(sent, view))["Name for item 2?"] == ("answered", repr(value), ORIGIN_CODE)


def test_the_saved_fallbacks_are_refreshed_under_the_display_id(monkeypatch):
    calls = []
    import IPython.display as d

    monkeypatch.setattr(d, "display", lambda data, **kw: calls.append(("display", data, kw)))
    monkeypatch.setattr(d, "update_display", lambda data, **kw: calls.append(("update", data, kw)))
    wf = make_review_flow()
    view = show(wf, "cats")
    view._ipython_display_()
    view.wait(PATIENCE)
    view.resume("yes")
    view.wait(PATIENCE)
    ids = {c[2]["display_id"] for c in calls}
    assert ids == {view._display_id, view._display_id + "-static"} and calls[0][0] == "display"
    updates = [c for c in calls if c[0] == "update"]
    widget = [c[1] for c in updates if c[2]["display_id"] == view._display_id][-1]
    twin = [c[1] for c in updates if c[2]["display_id"] != view._display_id][-1]
    assert "done" in widget["text/plain"].splitlines()[0] and "application/vnd.jupyter.widget-view+json" in widget
    assert 'data-status="done"' in twin["text/html"] and "nbflow-twin" in twin["text/html"]


# ---------------------------------------------------------------------------- timeline
def test_timeline_replay_and_fork(sent):
    calls = []

    @task
    def step(x: int) -> int:
        calls.append(x)
        return x * 10

    @task
    def finish(y: int) -> int:
        return y + 1

    @entrypoint(checkpointer=InMemorySaver())
    def flow(x: int) -> int:
        return finish(step(x).result()).result()

    flow.invoke(2, cfg("t"))
    tl = timeline(flow, cfg("t"))
    assert [i["status"] for i in tl.data["invocations"]] == ["done"]
    assert repr(tl).splitlines()[0] == "flow · thread t · 1 invocation"
    bundle, _ = tl._repr_mimebundle_()
    assert bundle["text/plain"] == repr(tl) and "application/vnd.jupyter.widget-view+json" in bundle
    run = tl.replay(0)
    assert run.wait(PATIENCE) == "done" and run.value == 21 and calls == [2, 2]
    assert tl.runs.children == (run,)
    wait_for(lambda: len(tl.data["invocations"]) == 2)
    # Fork from task #0 with an edited value goes to a NEW thread: step is not run, finish runs on the new value
    forked = tl.fork(0, 0, value=100)
    assert forked.wait(PATIENCE) == "done" and forked.value == 101 and calls == [2, 2]
    assert forked.thread_id != "t" and forked.thread_id.startswith("flow-")
    assert len(tl.data["invocations"]) == 2  # this thread is unchanged
    same = tl.fork(0, 0, value=7, same_thread=True)
    assert same.wait(PATIENCE) == "done" and same.thread_id == "t"
    wait_for(lambda: len(tl.data["invocations"]) == 3)
    assert tl.data["invocations"][-1]["forked_from"]
    # the same through the front end's buttons
    click(tl.core, kind="fork", invocation=0, task=1)  # re-run "finish" only, on a new thread
    tl.runs.children[0].wait(PATIENCE)
    assert tl.runs.children[0].value == 21 and calls == [2, 2]
    click(tl.core, kind="replay", index=99)
    assert "invocation index" in custom(sent, tl.core, "action_error")[-1]["message"]
    click(tl.core, kind="refresh")
    # the replay is a branch of #0; the same-thread fork too; the newest is the head
    invs = tl.data["invocations"]
    assert invs[1]["branch_of"] == 0 and invs[2]["branch_of"] == 0 and invs[-1]["head"]
    click(tl.core, kind="compare", left=0, right=2)
    (cmp,) = custom(sent, tl.core, "comparison")
    by = {r["what"]: r for r in cmp["rows"]}
    assert by["finish (call 1)"] == {"what": "finish (call 1)", "left": "21", "right": "8", "same": False}
    assert by["return value"]["left"] == "21" and not by["return value"]["same"]


# ---------------------------------------------------------------------------- inbox
def test_inbox_skips_an_unreadable_thread_and_lists_the_others(sent, tmp_path, caplog):
    import sqlite3

    from nbflow import SqliteSaver

    db = tmp_path / "some-bad.sqlite"
    saver = SqliteSaver(db)
    wf = make_review_flow(saver)
    wf.invoke("a", cfg("good"))
    wf.invoke("b", cfg("bad"))
    with sqlite3.connect(db) as raw:  # damage one thread's checkpoint behind the saver's back
        raw.execute("UPDATE checkpoints SET channels = ? WHERE thread_id = 'bad'", (b"\x00not json",))
    box = inbox([wf])
    assert "thread 'bad' of 'review_flow' was skipped" in caplog.text
    assert [i["thread_id"] for i in box.items] == ["good"]
    assert list(box.skipped) == [("review_flow", "bad")] and "bad" in box.skipped[("review_flow", "bad")]
    saver.close()


def test_inbox_lists_waiting_threads_and_answers_in_place(sent):
    saver = InMemorySaver()
    wf = make_review_flow(saver)

    @entrypoint(checkpointer=saver)
    def other(x: int) -> int:
        return x

    wf.invoke("a", cfg("t-old"))
    time.sleep(0.01)
    wf.invoke("b", cfg("t-new"))
    other.invoke(1, cfg("t-other"))
    box = inbox([wf, other])
    assert isinstance(box, Inbox)
    assert [i["thread_id"] for i in box.items] == ["t-new", "t-old"]  # newest first
    assert [d["key"] for d in box.data] == ["review_flow/t-new", "review_flow/t-old"]
    assert repr(box).splitlines()[0] == "nbflow inbox · 2 threads waiting for input"
    form = box.data[0]["questions"][0]["form"]
    click(box, kind="resume", thread_id="t-new", workflow="review_flow", id=form["id"], value="ok")
    box.wait(PATIENCE)
    assert [i["thread_id"] for i in box.items] == ["t-old"]
    # the answered item is kept, collapsed, with its answer and then its result
    done = next(d for d in box.data if d["thread_id"] == "t-new")
    assert done["state"] == "done" and done["questions"][0]["answer"] == "'ok'"
    assert done["questions"][0]["origin"] == "the inbox" and "approved" in done["result"]
    assert box.resume("t-old", "fine") is None
    box.wait(PATIENCE)
    assert box.items == [] and repr(box).splitlines()[0] == "nbflow inbox · nothing is waiting for input"
    click(box, kind="resume", thread_id="t-gone", id="x", value=1)
    assert "no thread 't-gone' is in this inbox" in custom(sent, box, "resume_error")[-1]["message"]


def test_inbox_item_updates_in_place_when_asked_again():
    @entrypoint(checkpointer=InMemorySaver())
    def twice(_: int) -> list:
        return [interrupt("one?"), interrupt("two?")]

    twice.invoke(0, cfg("t"))
    box = inbox(twice)
    assert [q["summary"] for q in box.data[0]["questions"]] == ["'one?'"]
    box.resume("t", 1)
    box.wait(PATIENCE)
    qs = box.data[0]["questions"]
    assert [(q["summary"], q["state"]) for q in qs] == [("'one?'", "answered"), ("'two?'", "pending")]
    assert box.data[0]["state"] == "waiting"
    box.resume("t", 2)
    box.wait(PATIENCE)
    assert box.items == []


# ---------------------------------------------------------------------------- front end assets
def test_protocol_kinds_are_handled_by_the_front_end():
    src = ROOT / "labextension" / "src"

    def text(*folders: str) -> str:
        return "\n".join(p.read_text() for f in folders for p in (src / f).rglob("*.ts")
                         if not p.name.startswith("protocol"))

    widgets, lab = text("core", "widget"), text("lab")
    for kind in protocol.TO_FRONTEND + protocol.TO_KERNEL:
        assert f'"{kind}"' in widgets, kind
    for kind in protocol.SIDEBAR_TO_FRONTEND + protocol.SIDEBAR_TO_KERNEL:
        assert f'"{kind}"' in lab, kind


def test_built_bundle_has_the_dom_hooks_and_theme_css():
    js = (STATIC / "widget.js").read_text()
    css = (STATIC / "widget.css").read_text()
    for hook in ("nbflow-run", "data-status", "nbflow-interrupt", "data-interrupt-id", "nbflow-answer",
                 "data-field", "nbflow-submit", "nbflow-error", "nbflow-result", "snapshot_request"):
        assert hook in js, hook
    assert "export" in js and "render" in js
    assert "var(--jp-" in css
    assert RunView._esm is not None and "nbflow-run" in str(RunView._esm)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build_info() -> dict:
    info = STATIC / "build.json"
    if not info.exists():
        pytest.fail("nbflow/notebook/static/ has no built bundle: run `make js` (the bundle is built, not in git)")
    return json.loads(info.read_text())


def test_built_bundle_matches_its_sources():
    """The built static/ files (not in git: `make js` and the wheel build make them) match the sources today.

    The build records in static/build.json the sha256 of every source esbuild bundled (and of its own
    config) and of each file it wrote: a source edited since, or an output changed by hand, fails here.
    """
    info = _build_info()
    labext = ROOT / "labextension"
    assert {"src/widget/index.ts", "src/protocol.gen.ts", "style/widget.css"} <= set(info["inputs"])
    stale = [name for name, digest in info["inputs"].items()
             if not (labext / name).exists() or _sha256(labext / name) != digest]
    assert not stale, f"the widgets' bundle is older than {stale}: run `make js`"
    assert set(info["outputs"]) == {"widget.js", "widget.css"}
    changed = [name for name, digest in info["outputs"].items() if _sha256(STATIC / name) != digest]
    assert not changed, f"{changed} differ from what the last build wrote: run `make js`"


def test_the_bundle_rebuilds_the_same_from_the_sources(tmp_path):
    """What `npm run build` makes from labextension/ today is, byte for byte, the bundle in static/."""
    if shutil.which("node") is None or not (ROOT / "labextension" / "node_modules" / ".bin" / "esbuild").exists():
        pytest.skip("node or labextension/node_modules is not installed (make js)")
    info = _build_info()
    subprocess.run(["node", "esbuild.config.mjs", "--outdir", str(tmp_path)], cwd=ROOT / "labextension", check=True,
                   capture_output=True)
    for name in ("widget.js", "widget.css"):
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), f"{name}: run `make js`"
    assert json.loads((tmp_path / "build.json").read_text())["inputs"] == info["inputs"]


# ---------------------------------------------------------------------------- kernel restart
_FIRST = """
import os, nbflow.notebook as nb
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "nbflow.notebook")
ip.run_cell('''
from nbflow import task, interrupt
@task
def draft(topic):
    with open("draft-calls.txt", "a") as f:
        f.write("x")
    return "Essay about " + topic
''')
r = ip.run_cell('''%%entrypoint review_flow --run "cats"
text = draft(inputs).result()
ok = interrupt({"question": "Approve?", "draft": text})
return {"draft": text, "approved": ok}
''')
view = r.result
print(view.wait(120), view.thread_id)
"""

_SECOND = _FIRST.split("r = ip.run_cell")[0] + """
ip.run_cell('''%%entrypoint review_flow
text = draft(inputs).result()
ok = interrupt({"question": "Approve?", "draft": text})
return {"draft": text, "approved": ok}
''')
view = nb.show(ip.user_ns["review_flow"], config={"configurable": {"thread_id": "review_flow-1"}})
print(view.status)
view.resume("yes")
print(view.wait(120), view.value)
print(open("draft-calls.txt").read())
"""


def test_resume_after_kernel_restart_from_the_sqlite_default(tmp_path):
    def run(code):
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, check=False, env={**os.environ, "NBFLOW_CHECKPOINTER": ""})
        assert out.returncode == 0, out.stderr
        return out.stdout.split("\n")

    first = run(_FIRST)
    assert "interrupted review_flow-1" in first
    assert (tmp_path / ".nbflow" / "checkpoints.sqlite").is_file()
    second = run(_SECOND)
    assert "interrupted" in second
    assert "done {'draft': 'Essay about cats', 'approved': 'yes'}" in second
    assert "x" in second  # draft ran once, before the restart; the resumed run replayed it


def test_inbox_follows_answers_given_in_a_run_view():
    saver = InMemorySaver()
    wf = make_review_flow(saver)
    box = inbox([wf])
    assert box.items == []
    view = show(wf, "cats", cfg("elsewhere"))
    view.wait(PATIENCE)
    wait_for(lambda: [i["thread_id"] for i in box.items] == ["elsewhere"])  # a new question appears by itself
    view.resume("looks good")
    view.wait(PATIENCE)
    assert view.status == "done"
    wait_for(lambda: box.items == [])  # answered in the run view: no longer waiting, without a refresh
    (item,) = box.data
    assert item["state"] == "done" and item["questions"][0]["origin"] == "code (view.resume)"


def test_a_view_whose_front_end_has_not_asked_yet_gets_whole_snapshots(sent):
    """Comm requests wait while a cell runs; the kernel pushes the whole state meanwhile (≤ 1/s)."""
    wf = make_review_flow()
    wf.invoke("cats", cfg("busy"))
    view = show(wf, config=cfg("busy"))  # no snapshot_request from the front end
    wf.invoke(Command(resume="ok"), cfg("busy"))
    wait_for(lambda: any(c["state"]["status"] == "done" for c in custom(sent, view, "snapshot")))
    snap = [c for c in custom(sent, view, "snapshot") if c["state"]["status"] == "done"][-1]
    assert [r["name"] for r in snap["rows"]] == ["draft"]
    click(view, kind="snapshot_request")  # once it has asked, changes go out as batches again
    assert view._synced


def test_stop_button_stops_the_run_and_continue_finishes_it(sent):
    """Stop while running (a widget message, as the button sends): the view shows "stopped", the abandoned
    task's row and how to continue; Continue (another message) runs invoke(None, config) to the end."""
    started, release = threading.Event(), threading.Event()

    @task
    def quick(x: int) -> int:
        return x + 1

    @task
    def slow(x: int) -> int:
        started.set()
        release.wait(PATIENCE)
        return x * 10

    @entrypoint(checkpointer=InMemorySaver())
    def stoppable(x: int) -> int:
        a = quick(x).result()
        fut = slow(a)
        started.wait(PATIENCE)  # slow runs on a worker thread, so the stop can abandon it
        return fut.result()

    view = show(stoppable, 1, config=cfg("s1"))
    assert started.wait(PATIENCE)
    click(view, kind="snapshot_request")
    click(view, kind="stop")
    assert view.wait(PATIENCE) == "stopped"
    state = view.state
    assert state["status"] == "stopped" and "invoke(None, config)" in state["last_event"]
    rows = {r["name"]: r for r in view.rows}
    assert rows["quick"]["state"] == "ok"
    assert rows["slow"]["state"] == "stopped" and "abandoned" in rows["slow"]["error"]
    wait_for(lambda: last_state(sent, view)["status"] == "stopped")
    wait_for(lambda: {r["name"]: r["state"] for r in front_rows(sent, view).values()}
             == {"quick": "ok", "slow": "stopped"})
    assert "stopped" in view.transcript and "invoke(None, config)" in view.transcript
    assert [i.status for i in stoppable.get_invocations(cfg("s1"))] == ["stopped"]
    # a second Stop has nothing to stop: the view says so instead of failing silently
    click(view, kind="stop")
    assert view.stop() is False
    # Continue: quick comes from the checkpoint, slow runs again, the same rows turn ok.
    release.set()
    started.clear()
    click(view, kind="continue")
    assert view.wait(PATIENCE) == "done"
    assert view.value == 20
    rows = {r["name"]: r for r in view.rows}
    assert rows["quick"]["state"] == "ok" and rows["slow"]["state"] == "ok" and len(rows) == 2
    wait_for(lambda: last_state(sent, view)["status"] == "done")
    assert last_state(sent, view)["last_event"] == ""  # the stop's note is over once the run continued
    # Continue on a finished thread is refused with a message in the view
    click(view, kind="continue")
    errors = custom(sent, view, "action_error")
    assert errors and "not stopped" in errors[-1]["message"]


def test_traceback_names_the_cell_as_ipython_does():
    """A failure in code typed in a cell is located as IPython says it: "Cell In[n], line k" (the cell's
    execution count, the line within the cell), in the view's location line and in its traceback."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing import globalipapp

    globalipapp.start_ipython()  # IPython's test shell, one per process (as tests/test_magics.py uses it)
    ip = InteractiveShell.instance()
    ip.run_cell("import nbflow", store_history=True)
    ip.run_cell("from nbflow import InMemorySaver, entrypoint\n"
                "\n"
                "def parse(x):\n"
                "    return int(x)\n"
                "\n"
                "@entrypoint(checkpointer=InMemorySaver())\n"
                "def parsing(x):\n"
                "    return parse(x)\n", store_history=True)
    count = ip.execution_count - 1  # the cell just run
    result = ip.run_cell("v = nbflow.show(parsing, 'nope')\nv.wait(120)", store_history=True)
    assert result.success
    st = ip.user_ns["v"].state
    assert st["status"] == "error"
    assert st["error_where"] == f"Cell In[{count}], line 4, in parse: return int(x)"
    assert f'File "Cell In[{count}]", line 4, in parse' in st["traceback"]


def test_graph_tab_gets_the_mermaid_picture_of_what_ran(sent):
    @task
    def leaf(i: int) -> int:
        return i * 2

    @task
    def total(xs: list) -> int:
        return sum(xs)

    @entrypoint(checkpointer=InMemorySaver())
    def fan(n: int) -> int:
        futs = [leaf(i) for i in range(n)]
        return total([f.result() for f in futs]).result()

    view = show(fan, 3, config=cfg("g1"))
    assert view.wait(PATIENCE) == "done"
    click(view, kind="graph_request")
    (msg,) = custom(sent, view, "graph")
    assert msg["note"] == ""
    assert msg["mermaid"] == fan.get_graph_mermaid(cfg("g1"))
    assert msg["mermaid"].count('["leaf') == 3 and "return: 6" in msg["mermaid"]
    # a run without a checkpointer has nothing recorded: the tab says so
    private = show(entrypoint()(lambda x: x), 1)
    private.wait(PATIENCE)
    click(private, kind="graph_request")
    (msg,) = custom(sent, private, "graph")
    assert msg["mermaid"] == "" and "no checkpointer" in msg["note"]


def test_timeline_state_at_a_checkpoint_and_compare_with_a_fork_on_another_thread(sent):
    @task
    def step(x: int) -> int:
        return x * 10

    @task
    def finish(y: int) -> dict:
        return {"total": y + 1, "tags": ["a", "b"], "ok": True}

    @entrypoint(checkpointer=InMemorySaver())
    def flow(x: int) -> dict:
        return finish(step(x).result()).result()

    flow.invoke(2, cfg("origin"))
    tl = timeline(flow, cfg("origin"))
    # tasks carry their inputs and outputs
    tasks = tl.data["invocations"][0]["tasks"]
    assert [(t["name"], t["input"], t["result"]) for t in tasks][0] == ("step", "(2,)", "20")
    # the state at the invocation's checkpoint, Pretty and JSON
    click(tl.core, kind="state_request", index=0)
    (st,) = custom(sent, tl.core, "state")
    assert st["index"] == 0 and st["thread_id"] == "origin"
    assert st["pretty"] == "total: 21\ntags:\n  - a\n  - b\nok: yes"
    assert json.loads(st["json"]) == {"total": 21, "tags": ["a", "b"], "ok": True}
    # fork on a NEW thread, then compare the fork with its origin, side by side
    forked = tl.fork(0, 0, value=100)
    assert forked.wait(PATIENCE) == "done"
    tl.refresh()
    assert forked.thread_id in tl.data["threads"]
    click(tl.core, kind="compare", left=0, right=-1, right_thread=forked.thread_id)
    (cmp,) = custom(sent, tl.core, "comparison")
    assert cmp["left_label"] == "#0" and cmp["right_label"] == f"thread {forked.thread_id} #0"
    by = {r["what"]: r for r in cmp["rows"]}
    assert by["step (call 0)"]["left"] == "20" and by["step (call 0)"]["right"] == "100"
    assert not by["return value"]["same"] and "101" in by["return value"]["right"]
    assert by["input"]["same"]
    # a thread that does not exist is refused in the view
    click(tl.core, kind="compare", left=0, right=0, right_thread="nope")
    assert "no thread 'nope'" in custom(sent, tl.core, "action_error")[-1]["message"]


def test_graph_of_a_big_run_is_made_when_it_stops(sent, monkeypatch):
    from nbflow.notebook import actions

    monkeypatch.setattr(actions, "GRAPH_LIMIT", 2)
    gate = threading.Event()

    @task
    def leaf(i: int) -> int:
        return i

    @task
    def hold(x: int) -> int:
        gate.wait(PATIENCE)
        return x

    @entrypoint(checkpointer=InMemorySaver())
    def big(n: int) -> int:
        s = sum(leaf(i).result() for i in range(n))
        return hold(s).result()

    view = show(big, 4, config=cfg("big"))
    wait_for(lambda: view.live.model.total >= 5)
    click(view, kind="graph_request")
    (msg,) = custom(sent, view, "graph")
    assert msg["mermaid"] == "" and "when the run stops" in msg["note"]
    gate.set()
    assert view.wait(PATIENCE) == "done"
    click(view, kind="graph_request")
    msg = custom(sent, view, "graph")[-1]
    assert msg["mermaid"].count('["leaf') == 4 and "too many to draw" in msg["note"]
