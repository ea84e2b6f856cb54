"""Tasks on a Dask cluster (DaskExecutor): placement, the engine's features, errors, and failures.

Everything runs on a real ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)``
(one per module). What task code did is observed through files it writes
(:class:`~nbflow.testing.executors.Marks`), which count executions across processes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from .dask_workflows import chain, local_cluster

from nbflow import entrypoint, get_config, get_store, get_stream_writer, interrupt, tap, task
from nbflow.cache import InMemoryCache
from nbflow.checkpoint.memory import InMemorySaver
from nbflow.checkpoint.sqlite import SqliteSaver
from nbflow.errors import ConfigError, NodeTimeoutError, SerializationError, TaskContextError
from nbflow.executors import EVENT_LOOP, LOCAL
from nbflow.executors.dask import DaskExecutor
from nbflow.policies import CachePolicy, RetryPolicy
from nbflow.testing.executors import Marks
from nbflow.testing.helpers import cfg
from nbflow.types import Command

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def client():
    with local_cluster() as c:
        yield c


@pytest.fixture
def dask(client):
    return DaskExecutor(client)




def worker_pids(client) -> set[int]:
    return set(client.run(os.getpid).values())


# ---------------------------------------------------------------------- where tasks run
def test_per_task_executor_runs_the_call_on_a_worker_process(client, dask):
    @task(executor=dask)
    def remote_pid(i: int) -> int:
        return os.getpid()

    @task
    def local_pid(i: int) -> int:
        return os.getpid()

    @entrypoint(checkpointer=InMemorySaver())
    def wf(n: int) -> dict:
        remote = [remote_pid(i) for i in range(n)]
        return {"remote": [f.result() for f in remote], "local": local_pid(0).result()}

    out = wf.invoke(6, cfg("placement"))
    assert set(out["remote"]) <= worker_pids(client) and os.getpid() not in out["remote"]
    assert out["local"] == os.getpid()
    assert [t.outcome for t in wf.get_task_history(cfg("placement"))] == ["ok"] * 7


def test_entrypoint_default_applies_to_every_task_unless_a_task_says_otherwise(client, dask):
    @task
    def anywhere(i: int) -> int:
        return os.getpid()

    @task(executor=LOCAL)
    def here(i: int) -> int:
        return os.getpid()

    @task
    async def async_anywhere(i: int) -> int:  # an async function runs to completion on the worker
        await asyncio.sleep(0)
        return os.getpid()

    @entrypoint(checkpointer=InMemorySaver(), executor=dask)
    def wf(_: int) -> list:
        return [anywhere(0).result(), here(0).result(), async_anywhere(0).result()]

    remote, local, remote_async = wf.invoke(0, cfg("default"))
    assert remote in worker_pids(client) and remote_async in worker_pids(client) and local == os.getpid()


def test_executor_flavour_is_checked_at_decoration():
    with pytest.raises(TypeError, match="'bad' is an async function.*EventLoopExecutor"):
        @task(executor=LOCAL)
        async def bad(x): ...
    with pytest.raises(TypeError, match="'bad2' is a sync function.*LocalExecutor"):
        @task(executor=EVENT_LOOP)
        def bad2(x): ...
    with pytest.raises(TypeError, match="must be an nbflow executor"):
        entrypoint(executor="tcp://scheduler:8786")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the engine's features, unchanged
def test_results_are_checkpointed_on_the_caller_and_replayed_not_rerun(tmp_path, dask):
    marks = Marks(tmp_path)

    @task(executor=dask)
    def heavy(x: int) -> int:
        marks.add(f"heavy {x}")
        return x * x

    @entrypoint(checkpointer=SqliteSaver(str(tmp_path / "runs.db")))
    def wf(x: int) -> dict:
        squares = [heavy(i).result() for i in range(x)]
        ok = interrupt({"squares": squares})  # the body pauses after the remote tasks finished
        return {"squares": squares, "ok": ok}

    first = wf.invoke(3, cfg("replay"))
    assert first["__interrupt__"][0].value == {"squares": [0, 1, 4]}
    assert wf.invoke(Command(resume=True), cfg("replay")) == {"squares": [0, 1, 4], "ok": True}
    assert sorted(marks.lines()) == ["heavy 0", "heavy 1", "heavy 2"]  # replayed from the checkpoint
    history = wf.get_task_history(cfg("replay"))
    assert [(t.name, t.outcome) for t in history if t.outcome == "ok"] == [("heavy", "ok")] * 3


def _streamed(wf, thread: str) -> list:
    out = []
    for mode, chunk in wf.stream(3, cfg(thread), stream_mode=["updates", "tasks", "custom"]):
        if mode == "tasks":  # ids and timings differ between runs; the shape must not
            chunk = {k: v for k, v in chunk.items() if k in ("name", "input", "result", "error", "interrupts")}
        out.append((mode, chunk))
    return out


def test_streams_and_stream_writer_look_the_same_as_for_local_tasks(dask):
    def build(executor):
        @task(executor=executor)
        def step(i: int) -> int:
            get_stream_writer()({"progress": i})
            return i + 100

        @entrypoint(checkpointer=InMemorySaver())
        def wf(n: int) -> list:
            return [step(i).result() for i in range(n)]
        return wf

    local, remote = _streamed(build(LOCAL), "s-local"), _streamed(build(dask), "s-dask")
    assert remote == local
    assert ("custom", {"progress": 2}) in remote and ("updates", {"step": 102}) in remote


def test_the_tap_hears_remote_tasks(dask):
    heard: list = []
    unsubscribe = tap.subscribe(heard.append)

    @task(executor=dask)
    def step(i: int) -> int:
        return i

    @entrypoint(checkpointer=InMemorySaver())
    def wf(n: int) -> int:
        return sum(step(i).result() for i in range(n))
    try:
        assert wf.invoke(4, cfg("tapped")) == 6
    finally:
        unsubscribe()
    ends = [e.event for e in heard if type(e.event).__name__ == "TaskEnd" and e.thread_id == "tapped"]
    assert sorted(e.result for e in ends) == [0, 1, 2, 3]


def test_remote_interrupts_pause_and_resume_like_local_ones(tmp_path, dask):
    runs = Marks(tmp_path)

    @task(executor=dask)
    def review(doc: str) -> dict:
        runs.add(doc)
        first = interrupt(f"approve {doc}?")
        second = interrupt(f"why {first}?")
        return {"doc": doc, "first": first, "second": second, "thread": get_config()["configurable"]["thread_id"]}

    @entrypoint(checkpointer=InMemorySaver())
    def wf(doc: str) -> dict:
        return review(doc).result()

    c = cfg("ask-remote")
    assert [i.value for i in wf.invoke("d1", c)["__interrupt__"]] == ["approve d1?"]
    assert [i.value for i in wf.invoke(Command(resume="yes"), c)["__interrupt__"]] == ["why yes?"]
    assert wf.invoke(Command(resume="because"), c) == {"doc": "d1", "first": "yes", "second": "because",
                                                       "thread": "ask-remote"}
    assert runs.lines() == ["d1"] * 3  # the task re-runs from the top with its recorded answers, as locally
    assert [t.outcome for t in wf.get_task_history(c)] == ["interrupted", "interrupted", "ok"]


def test_a_remote_task_calling_a_task_gets_a_clear_error(dask):
    @task
    def inner(x: int) -> int:
        return x

    @task(executor=dask)
    def outer(x: int) -> int:
        return inner(x).result()

    @task(executor=dask)
    def reads_store(x: int) -> int:
        return get_store()

    @entrypoint(checkpointer=InMemorySaver())
    def wf(which: str) -> int:
        return (outer if which == "outer" else reads_store)(1).result()

    with pytest.raises(TaskContextError, match="task 'outer' runs on a remote executor.*calling another task "
                                                "\\('inner'\\).*Call that task from the entrypoint"):
        wf.invoke("outer", cfg("nested"))
    with pytest.raises(TaskContextError, match="task 'reads_store' runs on a remote executor.*get_store"):
        wf.invoke("store", cfg("store"))

    @task(executor=dask)
    def wants_runtime(x: int, runtime=None) -> int:
        return x

    @task(executor=dask)
    def wants_config_and_writer(x: int, config=None, writer=None) -> str:
        writer("hello")
        return config["configurable"]["thread_id"]

    @entrypoint(checkpointer=InMemorySaver())
    def injected(which: str) -> object:
        return (wants_runtime if which == "runtime" else wants_config_and_writer)(1).result()

    with pytest.raises(TaskContextError, match="task 'wants_runtime' runs on a remote executor.*runtime"):
        injected.invoke("runtime", cfg("runtime"))
    assert list(injected.stream("config", cfg("inj"), stream_mode=["custom", "updates"]))[:2] == [
        ("custom", "hello"), ("updates", {"wants_config_and_writer": "inj"})]


def test_what_does_not_pickle_is_a_serialization_error_naming_the_task(dask):
    lock = threading.Lock()

    @task(executor=dask)
    def takes(x) -> int:
        return 1

    @task(executor=dask)
    def returns(x: int):
        return threading.Lock()

    @entrypoint()
    def sends(_: int) -> int:
        return takes(lock).result()

    @entrypoint()
    def receives(_: int) -> int:
        return returns(1).result()

    with pytest.raises(SerializationError, match="task 'takes' cannot be sent to the Dask cluster.*"
                                                 "cannot pickle '_thread.lock' object"):
        sends.invoke(0)
    with pytest.raises(SerializationError, match="task 'returns' ran on the Dask cluster, but what it returned"):
        receives.invoke(0)


def test_retry_policy_caching_and_errors_work_through_the_cluster(tmp_path, dask):
    calls = Marks(tmp_path, "calls")
    cached = Marks(tmp_path, "cached")

    @task(executor=dask, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.01, jitter=False))
    def flaky(x: int) -> int:
        if calls.add("flaky") < 3:
            raise ConnectionError("worker-side hiccup")
        return x

    @task(executor=dask, cache_policy=CachePolicy())
    def expensive(x: int) -> int:
        cached.add(str(x))
        return x * 2

    @task(executor=dask)
    def broken(x: int) -> int:
        raise ValueError(f"bad value {x}")

    @entrypoint(checkpointer=InMemorySaver(), cache=InMemoryCache())
    def wf(x: int) -> list:
        if x < 0:
            return [broken(x).result()]
        return [flaky(x).result(), expensive(x).result(), expensive(x).result()]

    assert wf.invoke(5, cfg("retry")) == [5, 10, 10]
    assert calls.lines() == ["flaky"] * 3 and cached.lines() == ["5"]
    with pytest.raises(ValueError, match="bad value -1"):  # the task's own exception, raised on the caller
        wf.invoke(-1, cfg("broken"))
    assert [t.outcome for t in wf.get_task_history(cfg("broken"))] == ["error"]


def test_a_sync_remote_task_may_have_a_timeout_and_is_cancelled_on_the_cluster(tmp_path, client, dask):
    marks = Marks(tmp_path)

    @task(executor=dask, timeout=0.5)
    def slow(x: int) -> int:
        marks.add("started")
        time.sleep(3)
        marks.add("finished")
        return x

    @entrypoint(checkpointer=InMemorySaver())
    def wf(x: int) -> int:
        return slow(x).result()

    with pytest.raises(NodeTimeoutError):
        wf.invoke(1, cfg("timeout"))
    assert marks.has("started") and not marks.has("finished")

    def slow_keys(dask_scheduler) -> list:
        return [str(k) for k in dask_scheduler.tasks if str(k).startswith("slow-")]
    deadline = time.monotonic() + 10
    while client.run_on_scheduler(slow_keys) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.run_on_scheduler(slow_keys) == []  # released on the cluster (the worker thread runs on)
    with pytest.raises(ConfigError, match="Task 'local_slow' is sync"):  # not without a remote executor
        @task(timeout=0.5)
        def local_slow(x): ...


# ---------------------------------------------------------------------- failures
def test_a_killed_worker_process_reruns_the_task_and_loses_nothing_finished(tmp_path, client, dask):
    marks = Marks(tmp_path)

    @task(executor=dask)
    def quick(i: int) -> int:
        marks.add(f"quick {i}")
        return i

    @task(executor=dask)
    def victim(i: int) -> int:
        marks.add(f"victim start {os.getpid()}")
        if len([m for m in marks.lines() if m.startswith("victim start")]) == 1:
            time.sleep(30)  # the first attempt is killed while it sleeps
        marks.add("victim done")
        return i

    @entrypoint(checkpointer=SqliteSaver(str(tmp_path / "runs.db")))
    def wf(n: int) -> list:
        done = [quick(i).result() for i in range(n)]
        return [*done, victim(n).result()]

    result: list = []
    runner = threading.Thread(target=lambda: result.append(wf.invoke(3, cfg("killed-worker"))))
    runner.start()
    deadline = time.monotonic() + 30
    while not any(m.startswith("victim start") for m in marks.lines()):
        assert time.monotonic() < deadline, "the victim task never started"
        time.sleep(0.02)
    pid = int(next(m for m in marks.lines() if m.startswith("victim start")).split()[-1])
    assert pid in worker_pids(client)
    os.kill(pid, signal.SIGKILL)  # the worker process dies mid-task; its nanny starts a new one
    runner.join(60)
    assert result == [[0, 1, 2, 3]]
    starts = [m for m in marks.lines() if m.startswith("victim start")]
    assert len(starts) == 2 and int(starts[1].split()[-1]) != pid  # re-run by Dask's scheduler elsewhere
    assert sorted(m for m in marks.lines() if m.startswith("quick")) == ["quick 0", "quick 1", "quick 2"]
    assert [t.outcome for t in wf.get_task_history(cfg("killed-worker"))] == ["ok"] * 4  # one attempt recorded
    client.wait_for_workers(2, timeout=60)


def test_a_killed_driver_resumes_from_a_new_process_without_rerunning_finished_tasks(tmp_path, client, dask):
    db, marks_dir, n = str(tmp_path / "runs.db"), str(tmp_path / "marks"), 6
    os.makedirs(marks_dir)
    marks = Marks(marks_dir)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    driver = subprocess.Popen([sys.executable, str(HERE / "dask_workflows.py"), client.scheduler.address, db,
                               marks_dir, str(n)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marks.has("done 2"):
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the driver made no progress"
            time.sleep(0.01)
        os.kill(driver.pid, signal.SIGKILL)  # the driver dies mid-run, with task 3 on the cluster
    finally:
        driver.wait(30)
    before = chain(SqliteSaver(db), dask, marks_dir)
    finished = {t.path for t in before.get_task_history(cfg("driver")) if t.outcome == "ok"}
    assert {"0", "1"} <= finished and len(finished) < n

    resumed = subprocess.run(  # a new process on the same SQLite file: invoke(None, config)
        [sys.executable, "-c", RESUME, client.scheduler.address, db, marks_dir],
        env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == str(sum(range(n)))
    runs = marks.lines()
    for i in range(n):
        count = runs.count(f"run {i}")
        if str(i) in finished:
            assert count == 1, f"finished task {i} ran {count} times"
        else:
            assert count >= 1 and runs.count(f"done {i}") >= 1


RESUME = """
import sys
from distributed import Client
from dask_workflows import chain
from nbflow.checkpoint.sqlite import SqliteSaver
from nbflow.executors.dask import DaskExecutor
with Client(sys.argv[1]) as client:
    wf = chain(SqliteSaver(sys.argv[2]), DaskExecutor(client), sys.argv[3])
    print(wf.invoke(None, {"configurable": {"thread_id": "driver"}}))
"""


def test_the_notebook_view_of_a_dask_run_is_the_view_of_a_local_run(dask):
    from nbflow.notebook.thread import ThreadModel, run_state
    from nbflow.notebook.views import transcript

    def build(executor):
        @task(executor=executor)
        def draft(topic: str) -> str:
            get_stream_writer()(f"drafting {topic}")
            return f"Essay about {topic}"

        @task(executor=executor)
        def review(text: str) -> str:
            return interrupt({"question": "Approve?", "draft": text})

        @entrypoint(checkpointer=InMemorySaver())
        def review_flow(topic: str) -> dict:
            text = draft(topic).result()
            return {"draft": text, "approved": review(text).result()}
        return review_flow

    def view(wf, thread: str) -> str:
        model = ThreadModel(wf.name, thread)
        for event in wf.stream_events("cats", cfg(thread)):
            model.apply(event)
        assert model.status == "interrupted"
        for event in wf.stream_events(Command(resume="yes"), cfg(thread)):
            model.apply(event)
        assert model.status == "done"
        rows = sorted(model.rows.values(), key=lambda r: r["key"])
        return transcript(run_state(model), rows).replace(f"thread {thread}", "thread T")

    assert view(build(dask), "v-dask") == view(build(LOCAL), "v-local")


def test_an_async_entrypoint_awaits_remote_tasks_on_its_own_loop(client, dask):
    @task(executor=dask)
    def square(x: int) -> tuple:
        return x * x, os.getpid()

    @entrypoint(checkpointer=InMemorySaver())
    async def wf(n: int) -> list:
        return list(await asyncio.gather(*(square(i) for i in range(n))))

    out = asyncio.run(wf.ainvoke(4, cfg("async-entry")))
    assert [v for v, _ in out] == [0, 1, 4, 9] and {p for _, p in out} <= worker_pids(client)


def test_one_result_thread_per_client_which_ends_when_the_client_closes(client):
    from distributed import Client

    with Client(client.scheduler.address) as other:
        first, second = DaskExecutor(other), DaskExecutor(other)

        @task
        def inc(x: int) -> int:
            return x + 1

        def build(executor):
            @entrypoint(executor=executor)
            def wf(x: int) -> int:
                return inc(x).result()
            return wf

        assert build(first).invoke(1) == 2 and build(second).invoke(2) == 3
        collector = first._results
        assert collector is not None and collector is second._results
    deadline = time.monotonic() + 10
    while not collector.stopped and time.monotonic() < deadline:
        time.sleep(0.05)
    assert collector.stopped  # its thread has ended with the client
