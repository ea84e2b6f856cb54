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
class Env:
    """An environment a pipeline runs in: its own counters, log and clock."""

    def __init__(self):
        self.tries = 0
        self.log: list[str] = []
        self.clock = RecordingClock()


def _body(env):
    env.tries += 1
    if env.tries < 3:
        raise ConnectionError("again")
    return 20


async def _abody(env):
    return _body(env)


def _after(env):
    env.log.append("after")


async def _aafter(env):
    _after(env)


def _pipeline(F):
    """The same composition for both flavours (only the leaf functions differ in kind)."""
    body, after = (_abody, _aafter) if F is Pending else (_body, _after)
    return (F.call(body)
            .ensure(F.call(after))
            .retry(lambda env, exc, n: 0.5 * n if isinstance(exc, ConnectionError) else None, lambda env: env.clock)
            .map(lambda env, v: v + 1)
            .then(lambda env, get: get() * 2)
            .first(lambda env: env.log.append("first")))


def test_immediate_and_pending_compose_the_same_way():
    for F in (Immediate, Pending):
        work = _pipeline(F)
        for _ in range(2):  # built once, run with as many environments as needed
            env = Env()
            assert run_blocking(work, env) == 42
            assert env.clock.slept == [0.5, 1.0] and env.tries == 3
            assert env.log == ["first", "after", "after", "after"]


def test_then_sees_errors_and_values_are_constant():
    for F in (Immediate, Pending):
        work = F.value(1).map(lambda env, v: v / 0).then(lambda env, get: _describe(get))
        assert run_blocking(work) == "ZeroDivisionError"
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

        def unsettled(env):
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
