"""The engine's building blocks: kinds and positions, config, the sync/async outcome, plugs, saver serializers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nbflow import InMemorySaver, RetryPolicy, entrypoint, task
from nbflow.checkpoint import base as ckpt
from nbflow.config import MISSING, parse_config
from nbflow.engine.outcome import Immediate, Pending, flavour, run_async, run_blocking
from nbflow.engine.plugs import Plugs, current_plugs, using
from nbflow.errors import ConfigError
from nbflow.executors import LOCAL, SYSTEM_CLOCK
from nbflow.kinds import Position, RunStatus, Source, TaskOutcome, WriteKind
from nbflow.serde import default_serializer
from nbflow.testing.executors import RecordingClock


# ---------------------------------------------------------------- kinds
def test_write_kinds_are_the_stored_ones():
    assert [k.value for k in WriteKind] == list(ckpt.WRITE_KINDS)


def test_position_parses_orders_and_prints():
    assert Position.parse("1.0.2").parts == (1, 0, 2) and str(Position.parse("1.0.2")) == "1.0.2"
    assert Position.parse("") == Position() and Position().depth == 0
    assert sorted(map(Position.parse, ["10", "2", "2.1", "1"])) == [Position((1,)), Position((2,)),
                                                                   Position((2, 1)), Position((10,))]
    assert Position.parse("3").child(4) == Position((3, 4))
    with pytest.raises(ValueError, match="'a.1' is not a task position"):
        Position.parse("a.1")


def test_task_outcome_of_each_write_kind():
    assert {k: TaskOutcome.of_write(k) for k in ("result", "cached", "error", "interrupt", "replayed")} == {
        "result": "ok", "cached": "cached", "error": "error", "interrupt": "interrupted", "replayed": "replayed"}
    assert Source.FORK.unfinished and not Source.LOOP.unfinished
    assert RunStatus.DONE == "done"


def test_history_stores_plain_strings():
    @task
    def one() -> int:
        return 1

    @entrypoint(checkpointer=InMemorySaver())
    def wf(_: int) -> int:
        return one().result()

    cfg = {"configurable": {"thread_id": "plain"}}
    wf.invoke(0, cfg)
    inv = wf.get_invocations(cfg)[0]
    assert type(inv.status) is str and type(inv.tasks[0].outcome) is str and type(inv.source) is str
    assert [type(s.metadata["source"]) for s in wf.get_state_history(cfg)] == [str, str]


# ---------------------------------------------------------------- config
def test_parse_config_and_missing():
    t = parse_config({"configurable": {"thread_id": 7, "checkpoint_id": "c"}}, needs_thread=True, who="x")
    assert (t.thread, t.checkpoint_ns, t.checkpoint_id) == ("7", "", "c")
    with pytest.raises(ConfigError, match="needs a thread id"):
        parse_config({}, needs_thread=False, who="x").thread
    assert repr(MISSING) == "MISSING"


# ---------------------------------------------------------------- outcome
def test_immediate_and_pending_compose_the_same_way():
    def pipeline(F, log):
        clock = RecordingClock()
        tries = []

        def attempt():
            def body():
                tries.append(1)
                if len(tries) < 3:
                    raise ConnectionError("again")
                return 20
            if F is Pending:
                async def abody():
                    return body()
                return F.call(abody)
            return F.call(body)

        work = (F.retry(attempt, lambda exc, n: 0.5 * n if isinstance(exc, ConnectionError) else None, clock)
                .ensure(F.call(lambda: log.append("after")) if F is Immediate
                        else F.call(lambda: _async(log.append, "after")))
                .then(lambda get: get() + 1)
                .bind(lambda v: F.value(v * 2)))
        return work, clock, tries

    for F in (Immediate, Pending):
        log: list[str] = []
        work, clock, tries = pipeline(F, log)
        assert not tries and not log  # nothing happens until run
        value = run_blocking(work)
        assert value == 42 and clock.slept == [0.5, 1.0] and len(tries) == 3 and log == ["after"]


async def _async(fn, *args):
    return fn(*args)


def test_then_sees_errors_and_defer_builds_late():
    for F in (Immediate, Pending):
        built = []

        def build(F=F):
            built.append(1)
            return F.value(1)
        work = F.defer(build).then(lambda get: get() / 0).then(lambda get: _describe(get))
        assert not built
        assert run_blocking(work) == "ZeroDivisionError"
        assert built == [1]
    assert flavour(True) is Pending and flavour(False) is Immediate
    assert asyncio.run(run_async(Immediate.value(5))) == 5 and asyncio.run(run_async(Pending.value(6))) == 6


def _describe(get):
    try:
        return get()
    except Exception as e:
        return type(e).__name__


def test_settle_all_waits_for_late_additions():
    for F in (Immediate, Pending):
        from nbflow.engine.scope import TaskFuture
        futs = [TaskFuture(), TaskFuture()]
        batches = [list(futs)]

        def unsettled():
            return [f for f in batches.pop(0) if not f.done()] if batches else []

        def settle_later():
            for i, f in enumerate(futs):
                f.set_result(i)
        threading.Timer(0.05, settle_later).start()
        run_blocking(F.settle_all(unsettled))
        assert all(f.done() for f in futs)


# ---------------------------------------------------------------- plugs
def test_plugs_validate_and_scope():
    with pytest.raises(TypeError, match="must implement nbflow.executors.Executor"):
        Plugs(executor=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="runs_coroutines=True"):
        Plugs(loop_executor=LOCAL)
    with pytest.raises(TypeError, match="clock must implement"):
        Plugs(clock=object())  # type: ignore[arg-type]
    clock = RecordingClock()
    with using(clock=clock) as plugs:
        assert plugs.clock is clock and current_plugs().executor is LOCAL
    assert current_plugs().clock is SYSTEM_CLOCK


def test_entrypoint_retry_waits_through_the_plugged_clock():
    attempts = []

    @entrypoint(retry_policy=RetryPolicy(initial_interval=2.0, jitter=False, retry_on=KeyError))
    def wf(_: int) -> int:
        attempts.append(1)
        if len(attempts) < 2:
            raise KeyError("once")
        return len(attempts)

    clock = RecordingClock()
    with using(clock=clock):
        assert wf.invoke(0) == 2
    assert clock.slept == [2.0]


# ---------------------------------------------------------------- serializer per saver
class CountingSerializer:
    def __init__(self):
        self.dumped = 0
        self.loaded = 0

    def dumps(self, value):
        self.dumped += 1
        return default_serializer.dumps(value)

    def loads(self, data):
        self.loaded += 1
        return default_serializer.loads(data)


class SaverWithSerde(InMemorySaver):
    def __init__(self, serde):
        super().__init__()
        self.serde = serde


def test_a_savers_serializer_is_used_for_runs_and_history():
    serde = CountingSerializer()
    saver = SaverWithSerde(serde)

    @task
    def double(x: int) -> int:
        return 2 * x

    @entrypoint(checkpointer=saver)
    def wf(x: int) -> int:
        return double(x).result()

    cfg = {"configurable": {"thread_id": "serde"}}
    assert wf.invoke(3, cfg) == 6
    written = serde.dumped
    assert written >= 3  # input checkpoint, task result, final checkpoint
    assert wf.get_state(cfg).values == 6 and serde.loaded > 0
    assert [t.result_summary for t in wf.get_task_history(cfg)] == ["6"]
