"""The sidebar's comm (nbflow/notebook/comm.py) under a hostile or broken front end: malformed
messages (not a dict, no content, data of the wrong type, a kind that is not a string, arguments of
the wrong type or pointing nowhere) and a flood of 10,000 of them. Each gets exactly one ``error``
reply, nothing is raised into the kernel's comm machinery, and the sidebar still answers a real
request afterwards. The comm is the ``comm`` package's own (what ipykernel uses), the workflow real.
"""

from __future__ import annotations

import itertools
import json
import threading

import comm
import pytest
from .faultkit import Stopwatch
from waiting import PATIENCE, wait_until

from nbflow import InMemorySaver, entrypoint, interrupt
from nbflow.notebook import comm as sidebar_comm
from nbflow.notebook import protocol as widget_protocol
from nbflow.notebook.live import reset_hub
from nbflow.notebook.session import Session, reset_session, session

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def sidebar(tmp_path, monkeypatch):
    log: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        with lock:
            log.append((msg_type, json.loads(json.dumps(data or {}))))  # what would go on the wire

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)
    reset_session(Session(tmp_path))

    @entrypoint(checkpointer=InMemorySaver())
    def asks(x: int) -> int:
        return interrupt({"question": "ok?", "x": x})

    asks.invoke(1, {"configurable": {"thread_id": "t1"}})
    session().workflows["asks"] = asks
    c = comm.create_comm(target_name=sidebar_comm.TARGET)
    sidebar_comm.Sidebar(c)
    yield c, log
    reset_session(Session(tmp_path))
    reset_hub()


def _replies(log, kind=None):
    """The sidebar's replies (not the ``thread`` updates it pushes whenever a listed thread changes, which a
    run left over from another test may send at any moment)."""
    return [d for t, d in log if t == "comm_msg" and (kind is None or d.get("kind") == kind)
            and (kind == "thread" or d.get("kind") != "thread")]


def _wrap(data):
    return {"content": {"comm_id": "x", "data": data}}


MALFORMED = [
    None, [], "list", 5, {"content": None}, {"content": "x"}, {"content": {"data": "list"}},
    {"content": {"data": [1, 2]}}, {"content": {"data": 7}},
    _wrap({"kind": 5}), _wrap({"kind": ["list"]}), _wrap({"kind": {"a": 1}}), _wrap({"kind": None}),
    _wrap({"kind": "delete_everything"}), _wrap({"kind": "answer"}),
    _wrap({"kind": "answer", "workflow": 5, "thread_id": [1]}),
    _wrap({"kind": "answer", "workflow": "asks", "thread_id": "t1"}),
    _wrap({"kind": "answer", "workflow": "asks", "thread_id": "t1", "id": {"x": 1}, "value": [1]}),
    _wrap({"kind": "answer", "workflow": "asks", "thread_id": "t1", "id": "nope", "value": "yes"}),
    _wrap({"kind": "answer", "workflow": "asks", "thread_id": {"deep": [[[]]]}, "id": None}),
    _wrap({"kind": "stop", "workflow": "asks", "thread_id": "t1"}),
    _wrap({"kind": "stop", "workflow": "nope", "thread_id": "t1"}),
    _wrap({"kind": "continue", "workflow": "asks", "thread_id": "t1"}),
    _wrap({"kind": "timeline", "workflow": "asks", "thread_id": 7}),
    _wrap({"kind": "timeline", "workflow": "x" * 100_000, "thread_id": "t"}),
]


def test_malformed_messages_each_get_one_error_reply(sidebar):
    c, log = sidebar
    for i, msg in enumerate(MALFORMED):
        c.handle_msg(msg)  # an exception escaping here would reach ipykernel's comm manager
        replies = _replies(log)
        assert len(replies) == i + 1, f"message {i} ({str(msg)[:80]}) got {len(replies) - i} replies"
        assert replies[-1]["kind"] == "error" and replies[-1]["message"], replies[-1]
        assert len(json.dumps(replies[-1])) < 5000  # an error reply does not echo a huge request
    c.handle_msg(_wrap({"v": 1, "kind": "list"}))
    (threads,) = _replies(log, "threads")
    assert "t1" in [t["thread_id"] for t in threads["threads"]]  # (threads of other tests' workflows may be listed)


def test_a_flood_of_10000_messages_leaves_the_sidebar_responsive(sidebar, record):
    c, log = sidebar
    clock = Stopwatch()
    for msg in itertools.islice(itertools.cycle(MALFORMED), 10_000):
        c.handle_msg(msg)
    took = clock()
    errors = _replies(log, "error")
    assert len(errors) == 10_000 and len(_replies(log)) == 10_000
    assert took < PATIENCE, f"10,000 bad requests took {took:.1f} s"
    c.handle_msg(_wrap({"v": 1, "kind": "list"}))
    assert _replies(log)[-1]["kind"] == "threads"
    # and a real answer still works: the thread finishes
    form_id = next(t for t in _replies(log)[-1]["threads"] if t["thread_id"] == "t1")["questions"][0]["id"]
    start = len(_replies(log))
    c.handle_msg(_wrap({"v": 1, "kind": "answer", "workflow": "asks", "thread_id": "t1", "id": form_id,
                        "value": "yes"}))
    # the resumed run pushes "thread" updates from its own thread: look for the request's own reply
    kinds = [r["kind"] for r in _replies(log)[start:]]
    assert "ok" in kinds and "error" not in kinds, kinds
    wait_until(lambda: session().workflows["asks"].get_state({"configurable": {"thread_id": "t1"}}).values
               == "yes", what="the answered thread finishing")
    record("10,000 malformed comm messages", "notebook comm", "error reply each, kernel responsive", 0, 0, took)


# ---------------------------------------------------------------- the widgets' comm (run view, timeline, inbox)
V = widget_protocol.VERSION
WIDGET_MALFORMED = [
    None, 7, "resume", [], {}, {"v": V}, {"kind": 3, "v": V}, {"kind": "nope", "v": V},
    {"kind": "resume", "v": V}, {"kind": "resume", "v": V, "id": 5}, {"kind": "resume_all", "v": V, "answers": 5},
    {"kind": "resume_all", "v": V, "answers": [7]}, {"kind": "replay", "v": V, "index": "x"},
    {"kind": "fork", "v": V, "invocation": 0}, {"kind": "compare", "v": V, "left": 0},
    {"kind": "state_request", "v": V, "index": None}, {"kind": "snapshot_request", "v": 99},
    {"kind": "snapshot_request"},
]


@pytest.fixture
def widget_log(tmp_path, monkeypatch):
    log: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        with lock:
            log.append((self.comm_id, json.loads(json.dumps(data or {}))))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)
    reset_session(Session(tmp_path))
    yield log
    reset_session(Session(tmp_path))
    reset_hub()


def _custom(log, widget):
    return [d["content"] for cid, d in log if cid == widget.comm.comm_id and d.get("method") == "custom"]


def test_widgets_answer_each_malformed_message_once_and_stay_usable(widget_log):
    """10,000 malformed messages to a run view, a timeline and an inbox: each gets one action_error naming what is
    wrong, none reaches a handler or raises into the kernel, and a real answer afterwards finishes the run."""
    import nbflow

    @entrypoint(checkpointer=InMemorySaver())
    def asks(x: int) -> int:
        return interrupt({"question": "ok?", "x": x})

    cfg = {"configurable": {"thread_id": "w1"}}
    view = nbflow.show(asks, 1, cfg)
    assert view.wait(PATIENCE) == "interrupted"
    timeline = nbflow.timeline(asks, cfg)
    inbox = nbflow.inbox(asks)
    for widget, sender in ((view, view), (timeline, timeline.core), (inbox, inbox)):
        before = len(_custom(widget_log, sender))
        clock = Stopwatch()
        for msg in itertools.islice(itertools.cycle(WIDGET_MALFORMED), 10_000 // 3):
            sender._handle_custom_msg(msg, [])  # an exception escaping here would reach ipywidgets' comm handler
        took = clock()
        replies = _custom(widget_log, sender)[before:]
        assert len(replies) == 10_000 // 3 and {r["kind"] for r in replies} == {"action_error"}, replies[:3]
        assert all(r["message"] and len(r["message"]) <= 2000 for r in replies)
        assert took < PATIENCE
    assert any(f"v: must be {V}" in r["message"] for r in _custom(widget_log, view) if r["kind"] == "action_error")
    (question,) = view.state["questions"]
    view._handle_custom_msg({"kind": "resume", "v": V, "id": question["id"], "value": "yes"}, [])
    assert view.wait(PATIENCE) == "done" and view.value == "yes"
