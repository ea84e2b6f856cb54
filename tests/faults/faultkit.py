"""What the fault cases share (imported by the tests; the fixtures are in this folder's conftest.py):
a workflow that counts its task executions, the checks every case makes, and the table of outcomes
(``test-artifacts/faults.json``, summed up in docs/scaling.md, "When things fail").

Every case injects a real fault into real components (a SQLite file, a PostgreSQL server, a Dask
cluster, the notebook comm) and checks that no committed result is lost, none is applied twice, and
the user got either automatic recovery or one nbflow exception naming the thread, the checkpointer
and what to do, after which ``invoke(None, config)`` continues from the last committed task.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbflow import entrypoint, task
from nbflow.errors import NbflowError, SaverError

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "test-artifacts" / "faults.json"


class Flow:
    """A chain (or a fan-out) of ``n`` ``step`` tasks on ``saver``; ``inject`` runs once, inside step ``at``
    (before it returns, so its result's commit meets the fault). ``ran`` counts executions per step."""

    def __init__(self, saver: Any, *, n: int = 6, at: int = 3, fan_out: bool = False,
                 inject: Callable[[], None] | None = None, thread: str = "t-fault", payload: int = 0,
                 executor: Any = None) -> None:
        self.n, self.at, self.inject, self.thread = n, at, inject, thread
        self.ran: collections.Counter[int] = collections.Counter()
        self.injected = threading.Event()
        self._lock = threading.Lock()
        pad = "x" * payload

        @task(executor=executor) if executor is not None else task
        def step(i: int) -> str:
            with self._lock:
                self.ran[i] += 1
                fire = i == self.at and self.inject is not None and not self.injected.is_set()
                if fire:
                    self.injected.set()
            if fire:
                self.inject()  # type: ignore[misc]
            return f"r{i}{pad}"

        if fan_out:
            @entrypoint(checkpointer=saver)
            def flow(n: int) -> list:
                return [len(f.result()) for f in [step(i) for i in range(n)]]
        else:
            @entrypoint(checkpointer=saver)
            def flow(n: int) -> list:
                return [len(step(i).result()) for i in range(n)]

        self.step, self.workflow = step, flow
        self.expected = [len(f"r{i}{pad}") for i in range(n)]

    @property
    def config(self) -> dict:
        return {"configurable": {"thread_id": self.thread}}

    def run(self) -> Any:
        return self.workflow.invoke(self.n, self.config)

    def resume(self) -> Any:
        return self.workflow.invoke(None, self.config)


def committed(saver: Any, thread: str) -> collections.Counter[str]:
    """RESULT rows of ``step`` per call position, as a reader of the database sees them."""
    return collections.Counter(w.path for w in saver.list_writes(thread) if w.kind == "result" and w.name == "step")


def check_error(err: BaseException, thread: str, *names: str) -> str:
    """One nbflow exception, naming the thread, the checkpointer (each of ``names``) and what to do."""
    assert isinstance(err, NbflowError), f"not an nbflow exception: {type(err).__module__}.{type(err).__name__}: {err}"
    msg = str(err)
    assert repr(thread) in msg, f"the error does not name thread {thread!r}: {msg}"
    for name in names:
        assert name in msg, f"the error does not name {name!r}: {msg}"
    assert "invoke(None, config)" in msg or "retry" in msg, f"the error does not say what to do: {msg}"
    if isinstance(err, SaverError):  # raised out of a run: it says where the run stopped
        assert "stopped after" in msg or "did not start" in msg, f"the error does not say where the run stopped: {msg}"
    return msg


def check_books(flow: Flow, before: collections.Counter[str], after: collections.Counter[str]) -> tuple[int, int]:
    """(lost, duplicated): results committed before the fault and gone after recovery; steps with more
    than one committed result, or committed and then executed again."""
    lost = sum(1 for path in before if after[path] == 0)
    dup_rows = sum(c - 1 for c in after.values() if c > 1)
    rerun = sum(1 for path in before if flow.ran[int(path)] > 1)
    assert lost == 0, f"committed results lost: before {dict(before)}, after {dict(after)}"
    assert dup_rows == 0, f"results committed twice: {dict(after)}"
    assert rerun == 0, f"committed steps executed again: {dict(flow.ran)} (committed before: {sorted(before)})"
    assert set(after) == {str(i) for i in range(flow.n)}, f"not every step committed: {dict(after)}"
    return lost, dup_rows


TABLE: list[dict] = []  # this session's rows; written by conftest.py's pytest_sessionfinish


def add_row(fault: str, saver: str, survived: str, lost: int = 0, duplicated: int = 0,
            recover_s: float | None = None) -> None:
    TABLE.append({"fault": fault, "saver": saver, "survived": survived, "rows_lost": lost,
                  "rows_duplicated": duplicated, "recover_s": None if recover_s is None else round(recover_s, 2)})


def write_table() -> None:
    """Merge this session's rows into ``test-artifacts/faults.json`` (a row per fault and saver)."""
    if not TABLE:
        return
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else []
    keys = {(r["fault"], r["saver"]) for r in TABLE}
    rows = [r for r in old if (r["fault"], r["saver"]) not in keys] + TABLE
    ARTIFACT.write_text(json.dumps(rows, indent=1))


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.start


# ---------------------------------------------------------------- filesystems the tests mount (root only)
def can_mount() -> str | None:
    """None when this process can mount a tmpfs, else why not (the reason a test is skipped)."""
    if os.geteuid() != 0:
        return "mounting a size-limited or read-only filesystem needs root (run the fault suite as root, as CI does)"
    if shutil.which("mount") is None:
        return "no mount command on this machine"
    return None
