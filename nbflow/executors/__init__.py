"""Where task code runs: the :class:`Executor` and :class:`Clock` plug points and the two built-in executors."""

from .base import SYSTEM_CLOCK, Clock, Executor, JobFuture, SystemClock
from .eventloop import EVENT_LOOP, EventLoopExecutor, run_coroutine_blocking
from .local import LOCAL, LocalExecutor

__all__ = ["Executor", "Clock", "SystemClock", "SYSTEM_CLOCK", "JobFuture", "LocalExecutor", "LOCAL",
           "EventLoopExecutor", "EVENT_LOOP", "run_coroutine_blocking"]
