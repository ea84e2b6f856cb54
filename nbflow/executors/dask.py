"""Tasks on a Dask ``distributed`` cluster: :class:`DaskExecutor`.

``DaskExecutor(client)`` is a :class:`~nbflow.executors.base.RemoteExecutor`:
the job of a task call -- journal, retries, recording, events -- runs as a
coroutine on the caller's event loop (or nbflow's background loop), and each
*attempt* of the task's function is one ``client.submit`` on the cluster,
awaited without holding a thread. Results come back to the caller, which
checkpoints them exactly as for a local task::

    from distributed import Client
    from nbflow.executors.dask import DaskExecutor

    dask = DaskExecutor(Client("tcp://scheduler:8786"))

    @task(executor=dask, retry_policy=RetryPolicy(max_attempts=3))
    def score(doc): ...

    @entrypoint(checkpointer=SqliteSaver("runs.db"), executor=dask)   # every task, unless it says otherwise
    def pipeline(docs): ...

Failure handling is split on purpose:

* a **worker process lost** mid-task (killed, out of memory) is Dask's job: its
  scheduler runs the task again on another worker, up to
  ``distributed.scheduler.allowed-failures`` times (default 3); past that Dask
  gives up (``distributed.KilledWorker``) and the attempt fails with
  :class:`~nbflow.errors.ExecutorLostError` naming the task, the thread, and
  what to do (raise the workers' ``memory_limit`` or make the task smaller, then
  ``invoke(None, config)``); a ``RetryPolicy`` whose ``retry_on`` accepts it
  tries once more, the default one does not (the workers would die again);
* an **exception raised by the task** is nbflow's: the task's ``RetryPolicy``
  decides, and each failed attempt is visible in the run's stream. Dask's own
  ``retries=`` is left at 0 unless you pass ``retries=`` here.

The picklability of functions, arguments and results is cloudpickle's (Dask's):
what cannot be sent raises :class:`~nbflow.errors.SerializationError` naming the task.

``distributed`` is imported only when this module is (``pip install 'nbflow[dask]'``).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import itertools
import pickle
import threading
import uuid
import weakref
from collections.abc import Callable
from contextvars import Context
from typing import Any

from ..errors import ExecutorLostError, SerializationError
from .base import Job, JobFuture
from .eventloop import EVENT_LOOP, background_loop, running_loop

try:
    import distributed
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("DaskExecutor needs Dask's distributed scheduler: pip install 'nbflow[dask]'") from e


class DaskExecutor:
    """Run tasks' function calls on the Dask cluster of ``client`` (a ``distributed.Client``).

    ``retries`` -- Dask's own re-runs of a task that *raised* (default 0: leave that to nbflow's
    ``RetryPolicy``, which records each attempt); a lost worker is retried by Dask's scheduler
    whatever this says. ``submit_options`` go to every ``client.submit`` (``resources=``,
    ``workers=``, ``priority=``...).
    """

    runs_coroutines = True

    def __init__(self, client: distributed.Client, *, retries: int = 0, **submit_options: Any) -> None:
        if not isinstance(client, distributed.Client):
            raise TypeError(f"DaskExecutor needs a distributed.Client, got {type(client).__module__}."
                            f"{type(client).__qualname__}")
        if client.asynchronous:
            raise TypeError("DaskExecutor needs a synchronous distributed.Client (Client(address)), "
                            "not one created with asynchronous=True")
        self.client = client
        self.retries = retries
        self.submit_options = submit_options
        self._results: _Collector | None = None
        self._inbox: collections.deque[tuple[JobFuture, Job, Context]] = collections.deque()
        self._woken = False
        self._keys = itertools.count().__next__
        self._prefix = uuid.uuid4().hex[:12]  # keys unique across executors and processes, without urandom per task

    def submit(self, future: JobFuture, job: Job, context: Context) -> None:
        """The job itself stays here: a coroutine on the caller's loop (or nbflow's background loop).

        From sync code, jobs submitted in a burst (a fan-out) wake the background loop once, not once each.
        """
        if running_loop() is not None:
            EVENT_LOOP.submit(future, job, context)
            return
        future.expect_task()
        self._inbox.append((future, job, context))
        if not self._woken:
            self._woken = True
            background_loop().call_soon_threadsafe(self._start_jobs)

    def _start_jobs(self) -> None:
        self._woken = False  # before draining: a job submitted from now on wakes the loop again
        inbox, loop = self._inbox, background_loop()
        while inbox:
            future, job, context = inbox.popleft()
            future.attach_task(loop.create_task(job(), context=context))

    async def ship(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """``fn(*args)`` on the cluster, awaited here; cancelling the await cancels it there."""
        client = self.client
        try:
            dfut = client.submit(fn, *args, key=f"{name}-{self._prefix}-{self._keys()}", pure=False,
                                 retries=self.retries, **self.submit_options)
        except Exception as e:
            cause = _pickling_cause(e)
            if cause is None:
                raise
            raise SerializationError(
                f"task {name!r} cannot be sent to the Dask cluster: its function or arguments do not pickle "
                f"({cause}). Pass plain data (or objects cloudpickle can send) as arguments, define the "
                "function so cloudpickle can send it, or run this task locally."
            ) from e
        waiting = self._collector().expect(dfut)
        try:
            return await asyncio.wrap_future(waiting)
        except distributed.KilledWorker as e:
            raise _killed(name, dfut.key, e) from e
        except asyncio.CancelledError:
            loop: Any = client.loop  # the client's tornado IOLoop, running on its own thread
            loop.add_callback(_cancel, client, dfut)
            raise
        except Exception as e:
            # only Dask's own failure to send the value back; a task's error passes through untouched
            cause = _pickling_cause(e) if isinstance(e, pickle.PickleError) or "Could not serialize" in str(e) \
                else None
            if cause is None:
                raise
            raise SerializationError(f"task {name!r} ran on the Dask cluster, but what it returned could not be "
                                     f"sent back ({cause}). Return plain data, or objects cloudpickle can send."
                                     ) from e
        finally:
            # Drop the cluster's copy now: the value lives on in the caller's checkpoint, and a key nobody
            # holds is never recomputed by Dask when the worker that had it is lost.
            dfut.release()

    def _collector(self) -> _Collector:
        collector = self._results
        if collector is None or collector.stopped:
            collector = self._results = collector_for(self.client)
        return collector

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client.scheduler.address if self.client.scheduler else None!r})"


def _closed(key: Any, status: str, client: Any = None) -> ExecutorLostError:
    where = ""
    with contextlib.suppress(Exception):
        where = f" at {client.scheduler.address}" if client is not None and client.scheduler else ""
    lost = client is not None and client.status not in ("running",)
    why = (f"the client lost its scheduler{where} (killed, or unreachable)" if lost else
           "it was cancelled on the cluster or its client was closed")
    return ExecutorLostError(
        f"Dask task {key!r} ended as {status!r} without a result: {why}. Finished tasks are checkpointed: "
        "with a working cluster (a new Client and DaskExecutor for the workflow), `invoke(None, config)` "
        "continues the run, reusing every finished result.")


def _killed(name: str, key: Any, exc: BaseException) -> ExecutorLostError:
    """Dask gave up on a task whose workers kept dying while they ran it (KilledWorker)."""
    worker = getattr(exc, "last_worker", None)
    last = f"; the last one was {getattr(worker, 'address', worker)}" if worker is not None else ""
    return ExecutorLostError(
        f"task {name!r} (Dask key {key!r}) was never finished: every Dask worker that ran it died "
        f"(distributed.scheduler.allowed-failures times{last}), most often because the task needs more memory "
        "than a worker's memory_limit and the nanny killed it. Give the workers a larger memory_limit, or make "
        "the task use less memory (smaller pieces of work); every finished task is checkpointed, so "
        "`invoke(None, config)` then continues the run, reusing their results.")


def _pickling_cause(exc: BaseException) -> str | None:
    """The most telling pickling failure behind ``exc`` ("cannot pickle '_thread.lock' object"), or None."""
    found: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
        if isinstance(e, pickle.PickleError) or "pickl" in text.lower() or "serializ" in text.lower():
            found.append(text.replace("object of type Landed", "the task's return value"))
        e = e.__cause__ or e.__context__
    if not found:
        return None
    telling = [t for t in found if "cannot pickle" in t.lower() and "same object" not in t]
    return telling[0] if telling else found[0]


_collectors: weakref.WeakKeyDictionary[distributed.Client, _Collector] = weakref.WeakKeyDictionary()
_collectors_lock = threading.Lock()
IDLE_CHECK = 1.0  # seconds an idle collector waits before checking that its client is still open


def collector_for(client: distributed.Client) -> _Collector:
    """The result collector of ``client`` (one per client, shared by its executors; a new one once it stopped)."""
    with _collectors_lock:
        collector = _collectors.get(client)
        if collector is None or collector.stopped:
            collector = _collectors[client] = _Collector(client)
        return collector


class _Collector:
    """Fetches finished tasks' values in batches (one ``gather`` per batch, as plain Dask code would).

    One daemon thread per client follows a ``distributed.as_completed`` of every
    future in flight; each batch that finishes together is gathered with one call
    and handed to the ``concurrent.futures.Future`` its task awaits. Errors carry
    the task's own exception (with its remote traceback); ``KilledWorker`` when
    Dask gave up on a task whose workers kept dying. The thread ends once its client
    is closed (or garbage) and nothing is in flight.
    """

    def __init__(self, client: distributed.Client) -> None:
        self.client_ref = weakref.ref(client)
        self.pending: dict[Any, concurrent.futures.Future] = {}
        self.completed = distributed.as_completed(loop=client.loop)
        self.wakeup = threading.Event()
        self.stopped = False
        threading.Thread(target=self._follow, name="nbflow-dask-results", daemon=True).start()

    def expect(self, dfut: distributed.Future) -> concurrent.futures.Future:
        waiting: concurrent.futures.Future = concurrent.futures.Future()
        self.pending[dfut.key] = waiting
        self.completed.add(dfut)
        self.wakeup.set()
        if self.stopped:  # stopped meanwhile: nobody would settle it
            self._settle(dfut.key, error=_closed(dfut.key, "closed"))
        return waiting

    def _follow(self) -> None:
        while True:
            if not self.wakeup.wait(IDLE_CHECK):
                client = self.client_ref()
                if client is None or client.status in ("closing", "closed"):
                    self.stopped = True
                    for key in list(self.pending):
                        self._settle(key, error=_closed(key, "closed"))
                    return
                continue
            self.wakeup.clear()  # before draining: a future added from now on sets it again
            for batch in self.completed.batches():
                try:
                    self._deliver(batch)
                except Exception as e:  # noqa: BLE001 - never let the follower die; fail that batch's tasks
                    for dfut in batch:
                        self._settle(dfut.key, error=e)

    def _deliver(self, batch: list[distributed.Future]) -> None:
        done = [f for f in batch if f.status == "finished"]
        client = self.client_ref()
        if done and client is None:  # the client is gone: its values cannot be fetched any more
            for dfut in done:
                self._settle(dfut.key, error=_closed(dfut.key, "closed"))
        elif done and client is not None:
            try:
                values = client.gather(done, direct=True)  # from the workers, not via the scheduler
            except Exception:  # noqa: BLE001 - one value that cannot be fetched: fetch them one by one
                values = None
            for i, dfut in enumerate(done):
                if values is not None:
                    self._settle(dfut.key, value=values[i])
                    continue
                try:
                    self._settle(dfut.key, value=dfut.result())
                except Exception as e:  # noqa: BLE001 - handed to the task
                    self._settle(dfut.key, error=e)
        for dfut in batch:
            if dfut.status == "finished":
                continue
            if dfut.status == "error":
                exc = dfut.exception()
                tb = dfut.traceback()
                self._settle(dfut.key, error=exc.with_traceback(tb) if tb is not None else exc)
            else:  # cancelled (the task was stopped or timed out here) or lost
                self._settle(dfut.key, error=_closed(dfut.key, str(dfut.status), client))

    def _settle(self, key: Any, value: Any = None, error: BaseException | None = None) -> None:
        waiting = self.pending.pop(key, None)
        if waiting is None or waiting.done():
            return
        try:
            if error is not None:
                waiting.set_exception(error)
            else:
                waiting.set_result(value)
        except concurrent.futures.InvalidStateError:  # its task was cancelled meanwhile
            pass


async def _cancel(client: distributed.Client, dfut: distributed.Future) -> None:
    try:
        await client.cancel([dfut], asynchronous=True)
    except Exception:  # noqa: BLE001 - the client may be closing; the work is abandoned either way
        pass


__all__ = ["DaskExecutor"]
