"""What views do to threads: start, resume, attach (the one path every widget goes through).

A view never runs a workflow or reads the saver itself: it calls these
functions, which start the run through the runtime (so the tap hears it and
every view of the thread updates) and return the thread's :class:`~.live.Live`.

* :func:`start` runs ``workflow`` on ``input`` (a new invocation, or a
  ``Command``) on a background thread; errors found before the run starts
  raise here and change nothing.
* :func:`resume` answers pending questions by id, recording where the answer
  came from (``origin``), so a form answered elsewhere can say so.
* :func:`answer` decodes a front-end ``resume`` message into a value.
* :func:`attach` returns the Live of an existing thread without running anything.
* :func:`stop` stops the thread's running invocation (``Workflow.stop``);
  :func:`continue_` continues a stopped one (``invoke(None, config)``).
* :func:`graph` is the Mermaid picture of what the thread's current invocation ran.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..types import Command
from .forms import AnswerError, decode_answer
from .live import Live, hub


def attach(workflow: Any, thread_id: str) -> Live:
    return hub().live(workflow, thread_id)


def live_for(workflow: Any, config: Mapping | None) -> Live:
    """The Live a run of ``workflow`` with ``config`` will feed (private when there is no thread)."""
    thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
    if workflow.checkpointer is None or thread_id is None:
        return hub().private(workflow)
    return hub().live(workflow, str(thread_id))


def start(workflow: Any, input: Any, config: Mapping | None, live: Live | None = None) -> Live:
    """Run ``workflow`` on ``input`` in the background; returns the thread's Live at once."""
    h = hub()
    live = live or live_for(workflow, config)
    private = live.key[0] == "private"
    prev = h.starting(live)
    try:
        if private:  # no thread: the view folds this run's own events
            events = workflow.stream_events(input, dict(config or {}))
        else:  # the tap feeds the thread's model; the stream only has to be drained (fewest items)
            events = workflow.stream(input, dict(config or {}), stream_mode="values")
    except BaseException:
        h.restore(live, prev)
        raise
    consumer = threading.Thread(target=_drain, args=(h, live, events, private), daemon=True,
                                name=f"nbflow-view-{workflow.name}")
    live.consumer = consumer
    consumer.start()
    return live


def _drain(h: Any, live: Live, events: Any, fold: bool) -> None:
    try:
        for event in events:
            if fold:
                h.fold(live, event)
    except BaseException as exc:  # noqa: BLE001 - shown in the view
        if fold or live.model.status == "running":  # a tap-fed run already reported its RunError
            h.failed(live, exc)
    finally:
        # Every tap delivery of this run happened before its stream ended.
        if live.model.status == "running" and live.consumer is threading.current_thread():
            h.failed(live, RuntimeError("the run ended without a result"))


def stop(live: Live) -> bool:
    """Stop the invocation running on ``live``'s thread; False when nothing was running there."""
    if live.model.thread_id is None:
        raise RuntimeError(f"{live.model.workflow}: a run without a thread (no checkpointer) cannot be stopped")
    return bool(live.workflow.stop(live.config))


def continue_(live: Live) -> Live:
    """Continue the thread's stopped invocation from its last finished task (``invoke(None, config)``)."""
    with live.lock:
        status = live.model.status
    if status != "stopped":
        raise RuntimeError(f"{live.model.workflow}: thread {live.model.thread_id} is {status}, not stopped; "
                           "there is nothing to continue")
    return start(live.workflow, None, live.config, live)


GRAPH_LIMIT = 400  # task calls; a bigger picture is not drawn (the text is still there to copy)


def graph(live: Live) -> tuple[str, str]:
    """``(mermaid, note)``: ``Workflow.get_graph_mermaid`` of the thread's current invocation, or ``""``
    and a note saying why there is nothing to draw."""
    if live.model.thread_id is None:
        return "", "Nothing recorded to draw: this run has no checkpointer (no thread)."
    with live.lock:
        status, total = live.model.status, live.model.total
    if status == "idle":
        return "", "Nothing has run on this thread yet."
    if status == "running" and total > GRAPH_LIMIT:  # reading a big history twice a second would slow the run
        return "", f"{total:,} task calls so far: the Mermaid text is made when the run stops."
    text = live.workflow.get_graph_mermaid(live.config)
    note = f"{total:,} task calls: too many to draw here; the Mermaid text is below." if total > GRAPH_LIMIT else ""
    return text, note


def pending(live: Live) -> dict:
    with live.lock:
        return dict(live.model.pending)


def resume(live: Live, answers: Mapping[str, Any], origin: str) -> Live:
    """Answer pending questions ``{interrupt_id: value}`` (a subset is fine) and continue the thread."""
    with live.lock:
        open_ = dict(live.model.pending)
        status = live.model.status
    if status == "running":
        raise RuntimeError(f"{live.model.workflow}: thread {live.model.thread_id} is running; "
                           "wait for it to stop before answering")
    if not open_:
        raise AnswerError("this question was already answered (nothing is waiting for an answer)")
    unknown = [k for k in answers if k not in open_]
    if unknown:
        raise AnswerError(f"question {unknown[0]} is not waiting for an answer any more "
                          f"(it was answered elsewhere or superseded)")
    if not answers:
        raise AnswerError("no answer given")
    value = dict(answers) if len(open_) > 1 else next(iter(answers.values()))
    with live.lock:
        live.model.origin_hint = origin
    config = live.config if live.model.thread_id is not None else {}
    return start(live.workflow, Command(resume=value), config, live)


def resume_value(live: Live, value: Any, origin: str) -> Live:
    """``value`` answers the single open question, or is ``{interrupt_id: value}``."""
    open_ = pending(live)
    if isinstance(value, Mapping) and value and all(isinstance(k, str) and k in open_ for k in value):
        return resume(live, dict(value), origin)
    if len(open_) == 1:
        return resume(live, {next(iter(open_)): value}, origin)
    if not open_:
        raise RuntimeError(f"{live.model.workflow}: nothing to answer, the thread is {live.model.status}")
    raise ValueError(f"{len(open_)} questions are waiting; answer with {{interrupt_id: value}} "
                     f"(ids: {', '.join(sorted(open_))})")


def answer(live: Live, msg: Mapping) -> tuple[str, Any]:
    """``(interrupt_id, value)`` from a front-end answer ``{id, value}`` / ``{id, option}``."""
    iid = msg.get("id")
    intr = pending(live).get(iid)
    if intr is None:
        raise AnswerError("this question was already answered elsewhere")
    return str(iid), decode_answer(intr, msg)


__all__ = ["GRAPH_LIMIT", "answer", "attach", "continue_", "graph", "live_for", "pending", "resume", "resume_value",
           "start", "stop"]
