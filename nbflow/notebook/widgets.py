"""The notebook widgets (anywidget): ``show`` and its run view (:mod:`.run_view`), plus ``timeline``
(:mod:`.timeline_view`) and ``inbox`` (:mod:`.inbox_view`), re-exported; the plumbing they share is in
:mod:`.widget_base`.

Each widget forwards a pure view-model (:mod:`.views`, :mod:`.forms`) to
the front end bundled from ``labextension/`` (``static/widget.js`` and
``static/widget.css``); one bundle serves all three, picking the view from
the ``_kind`` trait. Wire format: :mod:`.protocol`.

Threading: a run executes in the background and the cell that started it
returns at once, so the kernel stays responsive and a submitted form is
handled right away; ``view.wait()`` blocks until the run is no longer
``running``. Every button is also a method: ``view.resume(value)``,
``timeline.replay(i)`` / ``timeline.fork(i, k, value=...)``,
``inbox.resume(thread_id, value)``.

Without a widget front end (terminal IPython, nbconvert to HTML, GitHub)
the views show a deterministic ``text/plain`` transcript and a static
``text/html`` rendering instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..types import Command
from . import actions
from .inbox_view import Inbox, inbox
from .live import Live, hub
from .run_view import RunView
from .session import session
from .thread import ThreadModel
from .timeline_view import Timeline, TimelineView, timeline
from .widget_base import ATTACH, STATIC, _check_workflow


def _with_thread(workflow: Any, config: Mapping | None) -> dict:
    config = dict(config or {})
    conf = dict(config.get("configurable") or {})
    if workflow.checkpointer is not None and not conf.get("thread_id"):
        conf["thread_id"] = session().next_thread_id(workflow)
    if conf:
        config["configurable"] = conf
    return config


def show(workflow: Any, input: Any = ATTACH, config: Mapping | None = None, *, turn: int | None = None) -> RunView:
    """Run ``workflow`` on ``input`` and return a live :class:`RunView` of that invocation (the cell returns at once).

    The view follows the invocation through its questions, resumes and result and then stays on it: a
    newer turn on the thread gets its own view, and a saved notebook keeps each turn's.

    Without ``config``, a workflow with a checkpointer gets a new readable
    thread id (``NAME-1``, ``NAME-2``, ...). Without ``input``, the view
    attaches to the thread in ``config`` and shows its current state, e.g. to
    answer a question asked before a kernel restart; ``turn=N`` (with no input)
    shows the thread's N-th invocation as it ended (what a saved turn view reattaches to). Errors found before the
    run starts (a bad config, a resume that fits nothing) raise here.
    """
    _check_workflow(workflow)
    sess = session()
    sess.register(workflow)
    config = _with_thread(workflow, config)
    thread_id = (config.get("configurable") or {}).get("thread_id")
    if thread_id is not None:
        sess.last_thread[workflow.name] = str(thread_id)
    if input is ATTACH:
        if workflow.checkpointer is None or thread_id is None:
            raise ValueError("show(workflow) without an input attaches to an existing thread: pass "
                             "config={'configurable': {'thread_id': ...}} of a workflow with a checkpointer")
        live = actions.attach(workflow, str(thread_id))
        if turn is not None:
            return _turn_view(workflow, live, int(turn))
        return RunView(live)
    live = actions.live_for(workflow, config)
    with live.lock:  # a new input starts the thread's next invocation; a resume or None continues this one
        own = live.model.invocation + (0 if input is None or isinstance(input, Command) else 1)
    view = RunView(live, own=own if live.thread_id is not None else None)
    actions.start(workflow, input, config, live)
    hub().sync_status(live, view)  # "running" from the moment show() returns, not when the flusher next runs
    return view


def _turn_view(workflow: Any, live: Live, turn: int) -> RunView:
    """A view of invocation ``turn`` (1-based, state edits not counted) of ``live``'s thread: the newest one
    follows the thread; an older one is built from the stored records and kept, as a turn view is."""
    invs = workflow.get_invocations(live.config)
    runs = [i for i in invs if i.status != "update"]
    if not 1 <= turn <= len(runs):
        raise ValueError(f"thread {live.thread_id!r} of {workflow.name} has turns 1..{len(runs)}, not {turn}")
    if turn == len(runs):
        return RunView(live, own=turn)
    cut = invs.index(runs[turn - 1]) + 1
    model = ThreadModel(workflow.name, live.thread_id)
    model.load(invs[:cut])  # the thread as it was when that turn ended
    view = RunView(live, own=turn)
    live.subscribers.discard(view)
    view._kept = model.kept()
    view.status = view._kept[0]["status"]
    return view



__all__ = ["ATTACH", "STATIC", "Inbox", "RunView", "Timeline", "TimelineView", "inbox", "show", "timeline"]
