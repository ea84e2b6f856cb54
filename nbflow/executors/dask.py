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
  ``distributed.scheduler.allowed-failures`` times (default 3); past that the
  attempt fails with ``distributed.KilledWorker``, which the task's nbflow
  ``RetryPolicy`` then retries or not like any other error;
* an **exception raised by the task** is nbflow's: the task's ``RetryPolicy``
  decides, and each failed attempt is visible in the run's stream. Dask's own
  ``retries=`` is left at 0 unless you pass ``retries=`` here.

The picklability of functions, arguments and results is cloudpickle's (Dask's):
what cannot be sent raises :class:`~nbflow.errors.SerializationError` naming the task.

``distributed`` is imported only when this module is (``pip install 'nbflow[dask]'``).
"""

from __future__ import annotations

import asyncio
import pickle
import uuid
from collections.abc import Callable
from contextvars import Context
from typing import Any

from ..errors import SerializationError
from .base import Job, JobFuture
from .eventloop import EVENT_LOOP

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

    def submit(self, future: JobFuture, job: Job, context: Context) -> None:
        """The job itself stays here: a coroutine on the caller's loop (or nbflow's background loop)."""
        EVENT_LOOP.submit(future, job, context)

    async def ship(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """``fn(*args)`` on the cluster, awaited here; cancelling the await cancels it there."""
        client = self.client
        try:
            dfut = client.submit(fn, *args, key=f"{name}-{uuid.uuid4().hex}", pure=False, retries=self.retries,
                                 **self.submit_options)
        except Exception as e:
            cause = _pickling_cause(e)
            if cause is None:
                raise
            raise SerializationError(
                f"task {name!r} cannot be sent to the Dask cluster: its function or arguments do not pickle "
                f"({cause}). Pass plain data (or objects cloudpickle can send) as arguments, define the "
                "function so cloudpickle can send it, or run this task locally."
            ) from e
        waiting = asyncio.run_coroutine_threadsafe(_gather(client, dfut), client.loop.asyncio_loop)
        try:
            return await asyncio.wrap_future(waiting)
        except asyncio.CancelledError:
            waiting.cancel()
            client.loop.add_callback(_cancel, client, dfut)
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

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client.scheduler.address if self.client.scheduler else None!r})"


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


async def _gather(client: distributed.Client, dfut: distributed.Future) -> Any:
    """On the client's loop: wait for ``dfut`` and fetch its value (raising the task's error)."""
    return await client.gather(dfut, asynchronous=True)


async def _cancel(client: distributed.Client, dfut: distributed.Future) -> None:
    try:
        await client.cancel([dfut], asynchronous=True)
    except Exception:  # noqa: BLE001 - the client may be closing; the work is abandoned either way
        pass


__all__ = ["DaskExecutor"]
