"""The executor contract: every :class:`~nbflow.executors.Executor` passes these tests.

Use it from a test file of your own::

    import pytest
    from nbflow.testing.executors import ExecutorContract

    class TestMyExecutor(ExecutorContract):
        @pytest.fixture
        def executor(self):
            return MyExecutor()

The first group checks the protocol itself (``submit`` does not wait, runs
the job in the given context, without being asked, many at once); the second
runs real workflows through the engine with the executor plugged in (fan-out,
retries through an injected clock, interrupt and resume, recorded errors), so
every feature is shown to work the same whichever executor ran the task.

A :class:`~nbflow.executors.base.RemoteExecutor` (a cluster) is plugged in as
the entrypoint's ``executor=``, and the engine tests observe what task code did
through :class:`Marks` -- lines appended to a file -- so they hold whether the
task ran in this process or in a worker process on the same machine.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..checkpoint.memory import InMemorySaver
from ..engine.plugs import using
from ..engine.scope import interrupt
from ..executors.base import Executor, JobFuture, RemoteExecutor
from ..func import entrypoint, task
from ..policies import RetryPolicy
from ..types import Command
from .helpers import RecordingClock

WAIT = 10.0  # seconds a contract test waits before calling an executor stuck
_probe: contextvars.ContextVar[str] = contextvars.ContextVar("nbflow_executor_probe", default="unset")


def _job(executor: Executor, body: Callable[[], Any], future: JobFuture) -> Callable[[], Any]:
    """A job of the kind ``executor`` takes, settling ``future`` with ``body()``."""
    def settle() -> None:
        try:
            future.set_result(body())
        except BaseException as exc:  # noqa: BLE001 - handed to the future
            future.set_exception(exc)

    if executor.runs_coroutines:
        async def ajob() -> None:
            settle()
        return ajob
    return settle


class CountingExecutor:
    """Wraps an executor and counts the jobs it was given (to prove the engine used it)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.runs_coroutines = inner.runs_coroutines
        self.submitted = 0
        self._lock = threading.Lock()

    def submit(self, future: JobFuture, job: Callable[[], Any], context: contextvars.Context) -> None:
        with self._lock:
            self.submitted += 1
        self.inner.submit(future, job, context)


class CountingRemoteExecutor(CountingExecutor):
    """A :class:`CountingExecutor` for a remote executor: also counts the attempts it shipped."""

    def __init__(self, inner: RemoteExecutor) -> None:
        super().__init__(inner)
        self.remote = inner
        self.shipped = 0

    def ship(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        with self._lock:
            self.shipped += 1
        return self.remote.ship(name, fn, args)


class Marks:
    """What task code did, as lines appended to a file: readable from any process on this machine."""

    def __init__(self, folder: Path | str, name: str = "marks") -> None:
        self.path = str(Path(folder) / f"{name}.log")

    def add(self, line: str) -> int:
        """Append ``line``; returns how many lines there are now (as far as this writer can tell)."""
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return len(self.lines())

    def lines(self) -> list[str]:
        if not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as f:
            return f.read().splitlines()

    def has(self, line: str) -> bool:
        return line in self.lines()

    def wait(self, line: str, timeout: float = WAIT) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.has(line):
                return True
            time.sleep(0.002)
        return False


class ExecutorContract:
    """Subclass with an ``executor`` fixture returning the executor under test."""

    @pytest.fixture
    def executor(self) -> Executor:  # pragma: no cover - replaced by the subclass
        raise NotImplementedError("define an `executor` fixture returning the executor under test")

    # ------------------------------------------------------------------ the protocol
    def test_implements_the_protocol(self, executor: Executor) -> None:
        assert isinstance(executor, Executor)
        assert isinstance(executor.runs_coroutines, bool)

    def test_submit_returns_before_the_job_finishes(self, executor: Executor) -> None:
        release = threading.Event()
        fut = JobFuture()
        executor.submit(fut, _job(executor, lambda: release.wait(WAIT), fut), contextvars.copy_context())
        assert not fut.done()
        release.set()
        assert fut.result(WAIT) is True

    def test_job_runs_in_the_given_context(self, executor: Executor) -> None:
        ctx = contextvars.copy_context()
        ctx.run(_probe.set, "from-the-caller")
        fut = JobFuture()
        executor.submit(fut, _job(executor, _probe.get, fut), ctx)
        assert fut.result(WAIT) == "from-the-caller"
        assert _probe.get() == "unset"  # the caller's own context is untouched

    def test_job_runs_without_anyone_asking_for_it(self, executor: Executor) -> None:
        ran = threading.Event()
        fut = JobFuture()
        executor.submit(fut, _job(executor, ran.set, fut), contextvars.copy_context())
        assert ran.wait(WAIT), "the job never ran although nobody waited for its future"

    def test_many_jobs_run_at_the_same_time(self, executor: Executor) -> None:
        n = 16
        barrier = threading.Barrier(n, timeout=WAIT)
        futs = [JobFuture() for _ in range(n)]
        if executor.runs_coroutines:
            # coroutine jobs share a loop: they run together by awaiting, not by blocking a thread
            arrived: list[int] = []

            def make(i: int) -> Callable[[], Any]:
                async def ajob() -> None:
                    arrived.append(i)
                    while len(arrived) < n:
                        await asyncio.sleep(0.001)
                    futs[i].set_result(i)
                return ajob
            for i in range(n):
                executor.submit(futs[i], make(i), contextvars.copy_context())
        else:
            def meet(i: int) -> int:
                barrier.wait()
                return i
            for i in range(n):
                executor.submit(futs[i], _job(executor, functools.partial(meet, i), futs[i]),
                                contextvars.copy_context())
        assert sorted(f.result(WAIT) for f in futs) == list(range(n))

    def test_future_is_awaitable_and_carries_errors(self, executor: Executor) -> None:
        ok, bad = JobFuture(), JobFuture()
        executor.submit(ok, _job(executor, lambda: 42, ok), contextvars.copy_context())

        def boom() -> None:
            raise KeyError("boom")
        executor.submit(bad, _job(executor, boom, bad), contextvars.copy_context())

        async def both() -> tuple[Any, BaseException | None]:
            value = await ok
            try:
                await bad
            except KeyError as e:
                return value, e
            return value, None
        value, err = asyncio.run(both())
        assert value == 42 and isinstance(err, KeyError)

    def test_a_halted_future_is_finished_at_once_and_its_job_settles_nothing(self, executor: Executor) -> None:
        started, release = threading.Event(), threading.Event()
        fut = JobFuture()

        def body() -> str:
            started.set()
            release.wait(WAIT)
            return "late"
        job = _job(executor, body, fut)
        if executor.runs_coroutines:
            async def ajob() -> None:  # a coroutine job waits cooperatively, so it can be cancelled
                started.set()
                try:
                    while not release.is_set():
                        await asyncio.sleep(0.001)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise
                fut.settle_result("late")
            cancelled = threading.Event()
            job = ajob
        executor.submit(fut, job, contextvars.copy_context())
        assert started.wait(WAIT)
        assert fut.halt(KeyError("stopped"))
        with pytest.raises(KeyError):
            fut.result(0)
        if executor.runs_coroutines:
            assert cancelled.wait(WAIT), "halt() did not cancel the coroutine job"
        release.set()
        assert not fut.halt(KeyError("twice"))

    # ------------------------------------------------------------------ through the engine
    def _flavoured(self, executor: Executor, fn: Callable[..., Any]) -> Any:
        if not executor.runs_coroutines or isinstance(executor, RemoteExecutor):
            return fn  # a remote executor ships plain functions

        async def afn(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)
        afn.__name__ = fn.__name__
        return afn

    def _plug(self, executor: Executor, clock: Any = None) -> tuple[Any, Any, dict[str, Any]]:
        """(the counting wrapper, the context to run under, the ``@entrypoint`` keyword arguments)."""
        if isinstance(executor, RemoteExecutor):
            remote = CountingRemoteExecutor(executor)
            return remote, using(clock=clock), {"executor": remote}
        counted = CountingExecutor(executor)
        if executor.runs_coroutines:
            return counted, using(loop_executor=counted, clock=clock), {}
        return counted, using(executor=counted, clock=clock), {}

    def test_workflow_fan_out_runs_on_the_executor(self, executor: Executor) -> None:
        double = task(self._flavoured(executor, lambda x: 2 * x), name="double")
        counted, plug, on_entry = self._plug(executor)

        @entrypoint(checkpointer=InMemorySaver(), **on_entry)
        def fan(n: int) -> list:
            futs = [double(i) for i in range(n)]
            return [f.result() for f in futs]

        with plug:
            assert fan.invoke(10, {"configurable": {"thread_id": "fan"}}) == [2 * i for i in range(10)]
        assert counted.submitted == 10
        if isinstance(counted, CountingRemoteExecutor):
            assert counted.shipped == 10  # each attempt really went to the remote side
        assert [t.outcome for t in fan.get_task_history({"configurable": {"thread_id": "fan"}})] == ["ok"] * 10

    def test_workflow_retries_wait_through_the_clock(self, executor: Executor, tmp_path: Path) -> None:
        calls = Marks(tmp_path)

        def flaky(x: int) -> int:
            if calls.add(f"call {x}") < 3:
                raise ConnectionError("try again")
            return x + 1
        step = task(self._flavoured(executor, flaky), name="flaky",
                    retry_policy=RetryPolicy(initial_interval=0.5, backoff_factor=2.0, jitter=False))
        clock = RecordingClock()
        counted, plug, on_entry = self._plug(executor, clock)

        @entrypoint(**on_entry)
        def wf(x: int) -> int:
            return step(x).result()

        with plug:
            assert wf.invoke(1) == 2
        assert calls.lines() == ["call 1"] * 3 and clock.slept == [0.5, 1.0] and counted.submitted == 1

    def test_workflow_interrupt_resume_and_errors(self, executor: Executor, tmp_path: Path) -> None:
        ran = Marks(tmp_path)

        def ask(q: str) -> str:
            ran.add(q)
            return str(interrupt(q))

        def fail(_: int) -> int:
            raise ValueError("bad input")
        asker = task(self._flavoured(executor, ask), name="ask")
        failer = task(self._flavoured(executor, fail), name="fail")
        _, plug, on_entry = self._plug(executor)

        @entrypoint(checkpointer=InMemorySaver(), **on_entry)
        def wf(x: str) -> str:
            answer = asker(x).result()
            if answer == "fail":
                return str(failer(0).result())
            return answer

        cfg = {"configurable": {"thread_id": "ask"}}
        with plug:
            out = wf.invoke("name?", cfg)
            assert [i.value for i in out["__interrupt__"]] == ["name?"]
            assert wf.invoke(Command(resume="Ada"), cfg) == "Ada"
            cfg2 = {"configurable": {"thread_id": "fails"}}
            wf.invoke("q", cfg2)
            with pytest.raises(ValueError, match="bad input"):
                wf.invoke(Command(resume="fail"), cfg2)
        assert ran.lines() == ["name?", "name?", "q", "q"]
        outcomes = [t.outcome for t in wf.get_task_history(cfg2)]
        assert outcomes == ["interrupted", "ok", "error"]

    def test_workflow_stop_and_continue(self, executor: Executor, tmp_path: Path) -> None:
        calls = Marks(tmp_path, "calls")
        signals = Marks(tmp_path, "signals")

        def work(i: int) -> int:
            if calls.add(str(i)) == 2 and i == 1:
                signals.add("started")
                signals.wait("release")
            return i * 10
        if executor.runs_coroutines and not isinstance(executor, RemoteExecutor):
            async def awork(i: int) -> int:
                if calls.add(str(i)) == 2 and i == 1:
                    signals.add("started")
                    while not signals.has("release"):
                        await asyncio.sleep(0.002)
                return i * 10
            step = task(awork, name="work")
        else:
            step = task(work, name="work")
        _, plug, on_entry = self._plug(executor)

        @entrypoint(checkpointer=InMemorySaver(), **on_entry)
        def wf(n: int) -> list:
            first = step(0).result()
            fut = step(1)
            signals.wait("started")
            return [first, fut.result()]

        cfg = {"configurable": {"thread_id": "stop"}}
        errors: list[BaseException] = []

        def run() -> None:
            try:
                wf.invoke(2, cfg)
            except BaseException as e:  # noqa: BLE001 - inspected below
                errors.append(e)
        with plug:
            caller = threading.Thread(target=run)
            caller.start()
            assert signals.wait("started")
            assert wf.stop(cfg)
            caller.join(WAIT)
            signals.add("release")
            assert [type(e).__name__ for e in errors] == ["RunStopped"]
            assert [(t.path, t.outcome) for t in wf.get_task_history(cfg)] == [("0", "ok")]
            assert wf.invoke(None, cfg) == [0, 10]
        assert calls.lines() == ["0", "1", "1"]


__all__ = ["ExecutorContract", "CountingExecutor", "CountingRemoteExecutor", "Marks", "RecordingClock"]
