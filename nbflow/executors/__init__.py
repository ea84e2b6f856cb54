"""Where task code runs: the :class:`Executor` and :class:`Clock` plug points and the two built-in executors.

Tasks on a Dask cluster: :class:`nbflow.executors.dask.DaskExecutor` (imported from its own module, since it
needs ``distributed``: ``pip install 'nbflow[dask]'``), a :class:`RemoteExecutor`.
"""

from .base import SYSTEM_CLOCK, Clock, Executor, JobFuture, RemoteExecutor, SystemClock
from .eventloop import EVENT_LOOP, EventLoopExecutor, run_coroutine_blocking
from .local import LOCAL, LocalExecutor

__all__ = ["Executor", "RemoteExecutor", "Clock", "SystemClock", "SYSTEM_CLOCK", "JobFuture", "LocalExecutor", "LOCAL",
           "EventLoopExecutor", "EVENT_LOOP", "run_coroutine_blocking"]
