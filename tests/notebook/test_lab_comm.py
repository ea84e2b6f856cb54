"""The Workflows sidebar's comm (nbflow/notebook/comm.py), through IPython's own shell, without a browser.

`%load_ext nbflow` registers the ``nbflow.lab`` target; the test opens a comm on it as
JupyterLab would and sends the sidebar's requests; what the kernel sends back is read from
the comm's published messages.
"""

from __future__ import annotations

import json
import threading
import time

import comm
import pytest

from nbflow.notebook import comm as sidebar_comm
from nbflow.notebook import protocol
from nbflow.notebook.live import reset_hub
from nbflow.notebook.session import Session, reset_session


def start_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing import globalipapp

    globalipapp.start_ipython()
    return InteractiveShell.instance()


@pytest.fixture
def sent(monkeypatch):
    log: list[tuple[str, str, dict]] = []
    lock = threading.Lock()

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        with lock:
            log.append((self.comm_id, msg_type, json.loads(json.dumps(data or {}))))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)
    return log


@pytest.fixture
def ip(tmp_path, monkeypatch, sent):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBFLOW_CHECKPOINTER", raising=False)
    reset_session(Session(tmp_path))
    shell = start_ipython()
    from nbflow.func import Workflow

    # Workflows another test module left in the shared shell would be listed too: set them aside meanwhile.
    aside = {k: v for k, v in shell.user_ns.items() if isinstance(v, Workflow)}
    for k in aside:
        del shell.user_ns[k]
    before = set(shell.user_ns)
    shell.run_line_magic("load_ext", "nbflow")
    shell.run_cell("import threading, nbflow\nfrom nbflow import task, interrupt, entrypoint, InMemorySaver\n"
                   "release = threading.Event()")
    yield shell
    shell.user_ns["release"].set()
    shell.run_line_magic("unload_ext", "nbflow")
    for name in set(shell.user_ns) - before:
        shell.user_ns.pop(name, None)
    shell.user_ns.update(aside)
    reset_session(Session(tmp_path))
    reset_hub()


def open_sidebar():
    """What JupyterLab does: open a comm on the target `%load_ext nbflow` registered."""
    manager = comm.get_comm_manager()
    assert sidebar_comm.TARGET in manager.targets, "%load_ext nbflow registers the sidebar's comm target"
    c = comm.create_comm(target_name=sidebar_comm.TARGET)
    manager.targets[sidebar_comm.TARGET](c, {"content": {"data": {}}})
    return c


def request(c, **data):
    c.handle_msg({"content": {"comm_id": c.comm_id, "data": {"v": 1, **data}}})


def replies(sent, c, kind=None):
    """What the kernel sent on comm ``c`` (of ``kind``), each checked against its type in nbflow.notebook.protocol."""
    out = [d.get("data", d) for cid, t, d in sent if cid == c.comm_id and t == "comm_msg"]
    for m in out:
        assert protocol.problems(m, "SidebarToFrontend") == [], m
    return [m for m in out if kind is None or m.get("kind") == kind]


def wait_for(pred, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out")


TWO_WORKFLOWS = '''
saver = InMemorySaver()

@entrypoint(checkpointer=saver)
def review(topic):
    return {"topic": topic, "answer": interrupt({"question": f"Like {topic}?"})}

@task
def step(i):
    release.wait(0.05)
    return i

@entrypoint(checkpointer=InMemorySaver())
def crunch(x):  # many short tasks: a stop lands between two of them
    return [step(i).result() for i in range(2000)]

a = nbflow.show(review, "cats", config={"configurable": {"thread_id": "r1"}}); a.wait(60)
b = nbflow.show(review, "dogs", config={"configurable": {"thread_id": "r2"}}); b.wait(60)
c = nbflow.show(crunch, 1, config={"configurable": {"thread_id": "c1"}})
'''


def test_the_sidebar_lists_threads_of_two_workflows_with_their_questions(ip, sent):
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    c = open_sidebar()
    request(c, kind="list")
    (msg,) = replies(sent, c, "threads")
    assert msg["v"] == 1 and msg["workflows"] == ["crunch", "review"]
    by_key = {t["key"]: t for t in msg["threads"]}
    assert set(by_key) == {"review/r1", "review/r2", "crunch/c1"}
    r1 = by_key["review/r1"]
    assert r1["status"] == "interrupted" and r1["checkpointer"] and r1["last_activity"] is not None
    (q,) = r1["questions"]
    assert q["summary"] == "Like cats?" and q["form"]  # the question's text, not the dict's repr
    assert by_key["crunch/c1"]["status"] == "running" and by_key["crunch/c1"]["questions"] == []
    # waiting threads first
    assert [t["key"] for t in msg["threads"]][:2] in (["review/r1", "review/r2"], ["review/r2", "review/r1"])


def test_answering_from_the_sidebar_continues_the_thread_and_every_view_hears_it(ip, sent):
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    c = open_sidebar()
    request(c, kind="list")
    r1 = next(t for t in replies(sent, c, "threads")[0]["threads"] if t["key"] == "review/r1")
    request(c, kind="answer", workflow="review", thread_id="r1", id=r1["questions"][0]["id"], value="yes")
    assert replies(sent, c, "ok")[-1]["request"] == "answer"
    view = ip.user_ns["a"]
    assert view.wait(60) == "done" and view.value == {"topic": "cats", "answer": "yes"}
    wait_for(lambda: any(m["thread"]["key"] == "review/r1" and m["thread"]["status"] == "done"
                         for m in replies(sent, c, "thread")))
    answered = [q for q in view.state["questions"] if q["state"] == "answered"]
    assert answered and answered[0]["origin"] == "the Workflows sidebar"


def test_a_wrong_answer_and_an_unknown_workflow_get_clear_errors(ip, sent):
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    c = open_sidebar()
    request(c, kind="answer", workflow="review", thread_id="r1", id="nope", value="x")
    err = replies(sent, c, "error")[-1]
    assert err["request"] == "answer" and "already answered" in err["message"] and err["key"] == "review/r1"
    request(c, kind="stop", workflow="ghost", thread_id="t")
    assert "no workflow 'ghost'" in replies(sent, c, "error")[-1]["message"]
    request(c, kind="dance")
    assert "unknown sidebar request 'dance'" in replies(sent, c, "error")[-1]["message"]


def test_a_malformed_request_gets_an_error_naming_the_field(ip, sent):
    """Requests are checked against their types in nbflow.notebook.protocol before anything runs."""
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    c = open_sidebar()

    def error_for(**data):
        before = len(replies(sent, c, "error"))
        request(c, **data)
        errors = replies(sent, c, "error")
        assert len(errors) == before + 1, "one error reply"
        return errors[-1]

    err = error_for(kind="answer", workflow="review", id="q", value="yes")
    assert err["request"] == "answer" and err["id"] == "q"
    assert err["errors"] == [{"field": "thread_id", "message": "is missing"}]
    assert err["message"] == "malformed sidebar request 'answer': thread_id is missing"
    err = error_for(kind="stop", workflow="crunch", thread_id=3)
    assert err["errors"] == [{"field": "thread_id", "message": "must be a string, not an integer"}]
    err = error_for(kind="answer", workflow="review", thread_id="r1", id="q", option="first")
    assert err["errors"][0]["field"] == "option" and "must be an integer" in err["message"]
    err = error_for(kind="list", v=7)
    assert err["errors"] == [{"field": "v", "message": "must be 1"}] and "reload the page" in err["message"]
    err = error_for(workflow="review", thread_id="r1")
    assert err["request"] is None and err["errors"][0]["field"] == "kind"
    assert "expected list, answer, stop, continue, timeline or prices" in err["message"]
    c.handle_msg({"content": {"comm_id": c.comm_id, "data": ["list"]}})
    assert replies(sent, c, "error")[-1]["message"] == "malformed sidebar request: a message is a JSON object, " \
        "not an array"
    # nothing ran: the thread still waits, and a well-formed request still works
    request(c, kind="list")
    r1 = next(t for t in replies(sent, c, "threads")[-1]["threads"] if t["key"] == "review/r1")
    assert r1["status"] == "interrupted" and len(r1["questions"]) == 1


def test_stop_from_the_sidebar_stops_the_running_thread(ip, sent):
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    c = open_sidebar()
    request(c, kind="list")
    request(c, kind="stop", workflow="crunch", thread_id="c1")
    assert replies(sent, c, "ok")[-1]["request"] == "stop"
    view = ip.user_ns["c"]
    assert view.wait(60) != "running"
    wait_for(lambda: any(m["thread"]["key"] == "crunch/c1" and m["thread"]["status"] != "running"
                         for m in replies(sent, c, "thread")))
    request(c, kind="stop", workflow="crunch", thread_id="c1")
    assert "not running" in replies(sent, c, "error")[-1]["message"]
    wait_for(lambda: replies(sent, c, "thread")[-1]["thread"]["status"] == "stopped")

    # Continue from the sidebar: the same thread runs again from its last finished task.
    request(c, kind="continue", workflow="crunch", thread_id="c1")
    assert replies(sent, c, "ok")[-1]["request"] == "continue"
    wait_for(lambda: replies(sent, c, "thread")[-1]["thread"]["status"] == "running")
    request(c, kind="stop", workflow="crunch", thread_id="c1")
    wait_for(lambda: replies(sent, c, "thread")[-1]["thread"]["status"] == "stopped")
    request(c, kind="continue", workflow="review", thread_id="r1")
    assert "is interrupted, not stopped" in replies(sent, c, "error")[-1]["message"]


def test_a_question_is_summarised_as_human_text_never_a_python_repr():
    from nbflow.notebook.forms import question_text

    inbox = {"action_request": {"action": "send_email", "args": {"to": "a@b"}}, "config": {"allow_accept": True},
             "description": "Send this email?"}
    assert question_text({"question": "ok 3?"}) == "ok 3?"
    assert question_text({"prompt": "Pick one", "options": ["a", "b"]}) == "Pick one"
    assert question_text("Continue?\n(y/n)") == "Continue? (y/n)"
    assert question_text({"draft": "x", "n": 2}) == '{"draft": "x", "n": 2}'
    assert question_text({"send": "Sure, here is more."}) == "send: Sure, here is more."  # not raw JSON
    assert question_text([1, None, True]) == "[1, null, true]"
    assert question_text(inbox) == "Send this email?"
    assert question_text([dict(inbox, description=None)]) == "Review send_email"
    assert question_text({"question": "x" * 500}, limit=40) == "x" * 39 + "…"


def test_a_thread_that_starts_waiting_elsewhere_is_pushed(ip, sent):
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    c = open_sidebar()
    request(c, kind="list")
    ip.run_cell('review.invoke("owls", {"configurable": {"thread_id": "r3"}})').raise_error()
    wait_for(lambda: any(m["thread"]["key"] == "review/r3" and m["thread"]["questions"]
                         for m in replies(sent, c, "thread")))


def test_a_thread_that_starts_running_after_the_listing_is_pushed_while_it_runs(ip, sent):
    c = open_sidebar()
    request(c, kind="list")
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    wait_for(lambda: any(m["thread"]["key"] == "crunch/c1" and m["thread"]["status"] == "running"
                         for m in replies(sent, c, "thread")))
    request(c, kind="stop", workflow="crunch", thread_id="c1")
    wait_for(lambda: replies(sent, c, "thread")[-1]["thread"]["status"] == "stopped")


def test_timeline_request_returns_the_code_that_shows_it(ip, sent):
    ip.run_cell(TWO_WORKFLOWS).raise_error()
    c = open_sidebar()
    request(c, kind="timeline", workflow="review", thread_id="r2")
    code = replies(sent, c, "timeline_code")[-1]["code"]
    assert code == "import nbflow\nnbflow.timeline(review, {'configurable': {'thread_id': 'r2'}})"
    ip.run_cell(code).raise_error()


def test_workflows_bound_to_a_name_in_the_notebook_are_listed_too(ip, sent):
    ip.run_cell('@entrypoint(checkpointer=InMemorySaver())\ndef plain(x):\n    return x\n'
                'plain.invoke(1, {"configurable": {"thread_id": "p1"}})').raise_error()
    c = open_sidebar()
    request(c, kind="list")
    (msg,) = replies(sent, c, "threads")
    assert "plain" in msg["workflows"] and [t["key"] for t in msg["threads"]] == ["plain/p1"]


SHARED_SAVER = '''
shared = nbflow.SqliteSaver("shared.sqlite")

@entrypoint(checkpointer=shared)
def alpha(x):
    return x

@entrypoint(checkpointer=shared)
def beta(x):
    return interrupt("go on?") if x else x

alpha.invoke(1, {"configurable": {"thread_id": "a1"}})
beta.invoke(1, {"configurable": {"thread_id": "b1"}})
beta.invoke(0, {"configurable": {"thread_id": "b2"}})
'''


def test_workflows_sharing_a_checkpointer_list_each_thread_once_under_its_own(ip, sent):
    """One checkpointer for every workflow of a notebook is the default: a finished thread of
    one workflow must not be listed under another, not even by a kernel that never ran it."""
    ip.run_cell(SHARED_SAVER).raise_error()
    for fresh_kernel in (False, True):
        if fresh_kernel:  # the thread models are built again from the file alone
            reset_hub()
        c = open_sidebar()
        request(c, kind="list")
        (msg,) = replies(sent, c, "threads")
        listed = sorted((t["workflow"], t["thread_id"], t["status"]) for t in msg["threads"])
        assert listed == [("alpha", "a1", "done"), ("beta", "b1", "interrupted"), ("beta", "b2", "done")]


def test_the_lab_prices_setting_sets_default_prices_and_code_wins(ip, sent):
    """Issue 20: JupyterLab's "Model prices" setting reaches the kernel as defaults; nbflow.set_prices() wins."""
    import nbflow
    from nbflow.observe import prices

    nbflow.set_prices({"gpt-x": {"input": 1.0, "output": 1.0}}, replace=True)
    try:
        c = open_sidebar()
        request(c, kind="prices", prices={"gpt-x": {"input": 9.0, "output": 9.0},
                                          "claude-*": {"input": 3, "output": 15}})
        assert replies(sent, c, "ok")[-1]["request"] == "prices"
        assert prices.cost_of("claude-3", 1_000_000, 0) == 3.0      # from the setting
        assert prices.cost_of("gpt-x", 1_000_000, 0) == 1.0         # set in code: kept
        request(c, kind="prices", prices={"bad": {"input": -1}})    # refused with a message, nothing changed
        (err,) = replies(sent, c, "error")
        assert err["request"] == "prices" and "non-negative" in err["message"]
        assert prices.cost_of("claude-3", 1_000_000, 0) == 3.0
        request(c, kind="prices", prices={})                         # the setting cleared
        assert prices.cost_of("claude-3", 1_000_000, 0) is None
    finally:
        nbflow.set_prices({}, replace=True)
        prices.set_default_prices({})
