"""Runs know whether their process is alive: a run in another live process vs one whose process died.

A second, real process ("kernel A") runs a workflow on a shared checkpointer
(an SQLite file, or PostgreSQL) and blocks inside a task; this process ("kernel
B") attaches a view to the same thread. While A is alive and renews its lease
the run reads "running elsewhere" (never dead, no Stop offered); once A is
killed (kill -9: nothing of it runs any more) the run reads "stopped without
finishing", naming A's process and the time of its last sign of life, and the
view's Continue (``invoke(None, config)``) finishes it here from its
checkpointed tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from waiting import PATIENCE, wait_until

from nbflow import SqliteSaver, entrypoint, task
from nbflow.checkpoint import leases
from nbflow.checkpoint.leases import Lease, verdict
from nbflow.notebook import protocol
from nbflow.notebook.comm import thread_item
from nbflow.notebook.live import hub, reset_hub
from nbflow.notebook.widgets import show

from .widgetkit import fresh_session  # noqa: F401 - fixtures, found by name

REPO_ROOT = Path(__file__).resolve().parents[2]

KERNEL_A = """
    import sys
    from nbflow import SqliteSaver, entrypoint, task
    spec = sys.argv[1]
    if spec.startswith("postgresql"):
        from nbflow.checkpoint.postgres import PostgresSaver
        saver = PostgresSaver.open(spec)
        saver.setup()
    else:
        saver = SqliteSaver(spec)

    @task
    def quick(x):
        return x + 1

    @task
    def slow(x):
        print("started", flush=True)
        sys.stdin.readline()  # the test releases it (a line) or kills the process
        return x * 10

    @entrypoint(checkpointer=saver)
    def job(x):
        return slow(quick(x).result()).result()

    print("result", job.invoke(1, {"configurable": {"thread_id": "j"}}), flush=True)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def spec(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite")
    return request.getfixturevalue("postgres_schemas").uri()


def _saver(spec: str):
    if spec.startswith("postgresql"):
        from nbflow.checkpoint.postgres import PostgresSaver

        saver = PostgresSaver.open(spec)
        saver.setup()
        return saver
    return SqliteSaver(spec)


def _job(saver):
    @task
    def quick(x):
        return x + 1

    @task
    def slow(x):
        return x * 10

    @entrypoint(checkpointer=saver)
    def job(x):
        return slow(quick(x).result()).result()

    return job


def _kernel_a(spec: str, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KERNEL_A), spec], env=env, cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # blocks until slow() runs in kernel A (or A fails)
    assert line.strip() == "started", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def test_a_run_in_another_live_process_reads_running_elsewhere(spec, tmp_path):
    proc = _kernel_a(spec, tmp_path)
    saver = _saver(spec)
    try:
        job = _job(saver)
        view = show(job, config={"configurable": {"thread_id": "j"}})
        state = view.state
        assert state["status"] == "running"
        assert state["liveness"]["state"] == "elsewhere"
        assert f"process {proc.pid}" in state["liveness"]["owner"]
        assert "running elsewhere" in view.transcript
        assert job.liveness({"configurable": {"thread_id": "j"}})["state"] == "elsewhere"
        item = thread_item(view.live, "shared", None)  # the sidebar's row: running elsewhere, no Stop
        assert item["status"] == "running" and item["liveness"] == "elsewhere" and str(proc.pid) in item["note"]
        proc.stdin.write("\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=PATIENCE)
        assert "result 20" in out, err
        reset_hub()  # a new kernel looking at the thread: done, nothing about liveness
        again = show(job, config={"configurable": {"thread_id": "j"}})
        assert again.state["status"] == "done" and again.state["liveness"] is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        saver.close()


def test_a_view_of_a_run_elsewhere_follows_it_to_its_end(spec, tmp_path):
    """Issue 21: a view showing "running elsewhere" notices that the other process finished (it polls the
    thread's records while the run is elsewhere) and shows the finished run without anybody pressing anything."""
    from nbflow.notebook.widgets import timeline

    proc = _kernel_a(spec, tmp_path)
    saver = _saver(spec)
    try:
        job = _job(saver)
        config = {"configurable": {"thread_id": "j"}}
        view = show(job, config=config)
        tl = timeline(job, config)
        assert view.state["liveness"]["state"] == "elsewhere"
        assert hub().elsewhere.watching(view.live)
        proc.stdin.write("\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=PATIENCE)
        assert "result 20" in out, err
        wait_until(lambda: view.state["status"] == "done", what="the view following the run to its end")
        assert view.state["liveness"] is None and "20" in view.state["result"]
        assert view.state["done"] == view.state["total"] == 2
        wait_until(lambda: tl.data["invocations"][-1]["status"] == "done", what="the timeline following it")
        wait_until(lambda: not hub().elsewhere.watching(view.live), what="the thread no longer polled")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        saver.close()


def test_a_run_whose_process_died_is_offered_continue(spec, tmp_path):
    proc = _kernel_a(spec, tmp_path)
    proc.kill()  # kill -9 while slow() runs: quick is checkpointed, slow never finishes
    proc.wait()
    saver = _saver(spec)
    try:
        job = _job(saver)
        view = show(job, config={"configurable": {"thread_id": "j"}})
        state = view.state
        assert state["status"] == "stopped"
        lv = state["liveness"]
        assert lv["state"] == "gone" and f"process {proc.pid}" in lv["owner"]
        assert lv["since"] is not None and lv["since"] <= time.time()
        assert "stopped without finishing" in view.transcript and "is gone" in view.transcript
        assert job.liveness({"configurable": {"thread_id": "j"}})["state"] == "gone"
        item = thread_item(view.live, "shared", None)  # the sidebar's row: Continue, and why
        assert item["status"] == "stopped" and item["liveness"] == "gone"
        assert "stopped without finishing" in item["note"]
        # the Continue button: invoke(None, config) here; quick comes from the checkpoint, slow runs again
        view._handle_custom_msg({"v": protocol.VERSION, "kind": "continue"}, [])
        assert view.wait(PATIENCE) == "done"
        assert view.value == 20 and view.state["liveness"] is None
        assert job.liveness({"configurable": {"thread_id": "j"}}) is None
    finally:
        saver.close()


def test_verdicts():
    now = time.time()
    me = json.loads(leases.owner_here("r", now))
    other_host = Lease("t", "", json.dumps({**me, "host": "elsewhere.example", "pid": 1}), now - 1)
    assert verdict(other_host, now, False)[0] == "elsewhere"
    assert verdict(Lease("t", "", other_host.owner, now - leases.EXPIRES_AFTER - 1), now, False)[0] == "gone"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert verdict(Lease("t", "", json.dumps({**me, "pid": dead.pid}), now), now, False)[0] == "gone"
    assert verdict(Lease("t", "", json.dumps({**me, "pid": os.getppid()}), now), now, False)[0] == "elsewhere"
    assert verdict(None, now, False)[0] == "gone" and verdict(None, now, True)[0] == "here"


def test_sidebar_rows_say_when_a_thread_last_did_something():
    """Issue 21 point 5: the sidebar said "0 s ago" for every thread, then "—": the time is the thread's
    recorded activity (its newest run's last task or end), not when the sidebar looked."""
    from nbflow import InMemorySaver

    job = _job(InMemorySaver())
    job.invoke(1, {"configurable": {"thread_id": "a"}})
    between = time.time()
    job.invoke(2, {"configurable": {"thread_id": "b"}})
    reset_hub()
    looked = time.time()
    la = thread_item(hub().live(job, "a"), "memory", None)["last_activity"]
    lb = thread_item(hub().live(job, "b"), "memory", None)["last_activity"]
    assert la is not None and lb is not None
    assert la <= between <= lb <= looked


KERNEL_RUN = '''
%load_ext nbflow
import atexit, threading
import nbflow
from nbflow import SqliteSaver, entrypoint, task

exiting = threading.Event()

def at_exit():  # as the kernel exits, the task fails (in a real kernel: IPython clears the notebook's names)
    exiting.set()
    view.wait(30)  # until the run has concluded, whatever it recorded

atexit.register(at_exit)

@task
def quick(x):
    return x + 1

@task
def slow(x):
    open("started", "w").close()
    while not exiting.wait(0.02):
        pass
    raise NameError("name 'os' is not defined")  # what a task meets once IPython cleared the names

@entrypoint(checkpointer=SqliteSaver("shutdown.sqlite"))
def job(x):
    return slow(quick(x).result()).result()

view = nbflow.show(job, 1, config={"configurable": {"thread_id": "k"}})
'''


def test_a_kernel_shut_down_mid_run_reads_stopped_not_failed(tmp_path):
    """Issue 21: a graceful kernel shutdown (Jupyter's shutdown request) while a task runs is not the code's
    failure (IPython clears the notebook's names as the kernel exits, so the task raises NameError): the
    run is recorded as unfinished, reads "stopped without finishing" (its process is gone) and Continue
    finishes it."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    try:
        kc.start_channels()
        kc.wait_for_ready(PATIENCE)
        kc.execute(KERNEL_RUN)
        wait_until(lambda: (tmp_path / "started").exists(), what="the task running in the kernel")
        km.shutdown_kernel(now=False)  # the shutdown request, as JupyterLab's Shut Down Kernel sends it
    finally:
        kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    saver = SqliteSaver(str(tmp_path / "shutdown.sqlite"))
    try:
        job = _job(saver)
        config = {"configurable": {"thread_id": "k"}}
        inv = job.get_invocations(config)[-1]
        assert inv.status == "running" and inv.error is None, (inv.status, inv.error)
        assert [(t.name, t.outcome) for t in inv.tasks] == [("quick", "ok")]  # no task recorded as failed
        assert job.liveness(config)["state"] == "gone"
        view = show(job, config=config)
        assert view.state["status"] == "stopped" and view.state["liveness"]["state"] == "gone"
        assert not view.state["error"]
        assert "stopped without finishing" in view.transcript.lower()
        assert job.invoke(None, config) == 20  # Continue
    finally:
        saver.close()
