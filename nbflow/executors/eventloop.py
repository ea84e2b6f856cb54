"""The event-loop executor for async tasks, and running coroutines from sync code.

* :class:`EventLoopExecutor` -- an async task's job runs as an asyncio task on
  the caller's running loop, or on :func:`background_loop` when the caller is
  sync code.
* :func:`background_loop` -- one daemon thread running an asyncio loop, for
  async work started from sync code.
* :func:`run_coroutine_blocking` -- run a coroutine to completion from sync
  code, also when this thread already runs an event loop (a Jupyter cell).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Coroutine
from contextvars import Context
from typing import Any, TypeVar

from .base import Job, JobFuture

T = TypeVar("T")

_bg_loop: asyncio.AbstractEventLoop | None = None
_bg_lock = threading.Lock()


def background_loop() -> asyncio.AbstractEventLoop:
    """The shared event loop thread for async work started from sync code."""
    global _bg_loop
    if _bg_loop is None:
        with _bg_lock:
            if _bg_loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="nbflow-event-loop", daemon=True).start()
                ready.wait()
                _bg_loop = loop
    return _bg_loop


def running_loop() -> asyncio.AbstractEventLoop | None:
    """This thread's running event loop, or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class EventLoopExecutor:
    """Async task jobs as asyncio tasks: on this thread's loop if there is one, else on the background loop."""

    runs_coroutines = True

    def submit(self, future: JobFuture, job: Job, context: Context) -> None:
        future.expect_task()
        loop = running_loop()
        if loop is not None:
            future.attach_task(loop.create_task(job(), context=context))
            return
        bg = background_loop()
        bg.call_soon_threadsafe(_create_on_loop, bg, future, job, context)

    def __repr__(self) -> str:
        return "EventLoopExecutor()"


def _create_on_loop(loop: asyncio.AbstractEventLoop, future: JobFuture, job: Job, context: Context) -> None:
    future.attach_task(loop.create_task(job(), context=context))


EVENT_LOOP = EventLoopExecutor()

_runners = threading.local()


def run_coroutine_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code and return its result.

    With no loop running in this thread, a per-thread :class:`asyncio.Runner`
    is reused; inside a running loop (Jupyter), the coroutine runs on the
    background loop thread while this thread waits.
    """
    if running_loop() is None:
        runner = getattr(_runners, "runner", None)
        if runner is None:
            runner = _runners.runner = asyncio.Runner()
        return runner.run(coro, context=contextvars.copy_context())
    return asyncio.run_coroutine_threadsafe(coro, background_loop()).result()


__all__ = ["EventLoopExecutor", "EVENT_LOOP", "background_loop", "running_loop", "run_coroutine_blocking"]
