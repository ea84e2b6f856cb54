"""The process-wide event tap: every change to every thread, for whoever listens.

Runs publish their events (:mod:`nbflow.events`) to their own stream *and*,
when somebody listens, here; edits made outside a run (``update_state``,
``fork``) publish a :class:`ThreadEdited`. The notebook layer subscribes once
per kernel and folds what it hears into one live model per (saver, thread), so
a change made anywhere -- a view's form, the inbox, plain ``wf.invoke(...)`` in
another cell -- reaches every view of that thread.

Design notes
------------
* **Free when nobody listens.** A run asks :func:`listening` once, when it is
  built; with no listener it gets no extra sink and builds no extra events.
* **Listeners run inline**, on whatever thread produced the event (a worker,
  an event loop, the caller). They must be quick and must not block: fold,
  wake a flusher, return.
* **A listener that raises is removed and logged**, never allowed to break a
  run (as trio's instrumentation does).
* The listener list is replaced whole on every change (copy on write), so
  :func:`publish` reads it without taking a lock.
* **Live tokens.** A listener subscribed with ``messages=True`` (the notebook's views) makes every
  run started while it listens stream ``messages`` as well: chat models called in tasks stream
  token by token, as under ``stream_mode="messages"`` (:func:`wants_messages`).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("nbflow.tap")


@dataclass(frozen=True, slots=True)
class ThreadEdited:
    """A thread changed outside a run: ``update_state`` or ``fork`` wrote ``checkpoint_id``, or
    ``stop`` was asked of the invocation running under ``checkpoint_id``."""

    ns: tuple[str, ...]
    kind: str  # "update_state" | "fork" | "stop"
    checkpoint_id: str
    source_thread: str | None = None  # fork: the thread the branch was taken from


@dataclass(frozen=True, slots=True)
class TapEvent:
    """One event as the tap delivers it: which thread it belongs to, and the event itself.

    ``run`` numbers the invocations of this process (1, 2, ...), so a listener
    can tell two runs of one thread apart; it is 0 for :class:`ThreadEdited`.
    """

    saver: Any  # the thread's BaseCheckpointSaver, or None for a workflow without one
    thread_id: str | None
    workflow: str
    run: int
    event: Any


Listener = Callable[[TapEvent], None]

_listeners: tuple[Listener, ...] = ()
_message_listeners: tuple[Listener, ...] = ()
_lock = threading.Lock()
_run_ids = itertools.count(1).__next__


def listening() -> bool:
    """True when at least one listener is subscribed."""
    return bool(_listeners)


def wants_messages() -> bool:
    """True when a listener asked for live tokens (runs then stream ``messages`` too)."""
    return bool(_message_listeners)


def subscribe(listener: Listener, *, messages: bool = False) -> Callable[[], None]:
    """Call ``listener(TapEvent)`` for every event from now on; returns the unsubscribe function.

    ``messages=True``: runs stream their chat models' tokens (:class:`~nbflow.events.Message` events) too.
    """
    global _listeners, _message_listeners
    with _lock:
        _listeners = (*_listeners, listener)
        if messages:
            _message_listeners = (*_message_listeners, listener)
    return lambda: unsubscribe(listener)


def unsubscribe(listener: Listener) -> None:
    global _listeners, _message_listeners
    with _lock:
        _listeners = tuple(fn for fn in _listeners if fn is not listener)
        _message_listeners = tuple(fn for fn in _message_listeners if fn is not listener)


def publish(item: TapEvent) -> None:
    """Deliver ``item`` to every listener; one that raises is dropped and logged."""
    for fn in _listeners:
        try:
            fn(item)
        except Exception:
            log.exception("nbflow tap listener %r raised; it has been removed", fn)
            unsubscribe(fn)


def run_sink(saver: Any, thread_id: str | None, workflow: str,
             inner: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
    """The sink a new run should use: ``inner`` alone when nobody listens, else ``inner`` plus the tap."""
    if not _listeners:
        return inner
    run = _run_ids()

    def sink(event: Any) -> None:
        if inner is not None:
            inner(event)
        publish(TapEvent(saver, thread_id, workflow, run, event))

    return sink


def edited(saver: Any, thread_id: str | None, workflow: str, event: ThreadEdited) -> None:
    """Announce an edit made outside a run (cheap no-op when nobody listens)."""
    if _listeners:
        publish(TapEvent(saver, thread_id, workflow, 0, event))


__all__ = ["TapEvent", "ThreadEdited", "Listener", "listening", "wants_messages", "subscribe", "unsubscribe", "publish",
           "run_sink", "edited"]
