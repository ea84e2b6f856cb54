"""Active and waiting time have one source: a run's stored records (issue 21 point 5).

The live view of a run (once it settles), its saved bundle, a view rebuilt from the records in a new
kernel (Reattach) and the timeline all show the same numbers, read by ``nbflow.notebook.active`` from
the run's interrupt and resume rows, which carry when the run began and stopped waiting.
"""

from __future__ import annotations

import time

from waiting import PATIENCE

from nbflow import Command, SqliteSaver, entrypoint, interrupt, task
from nbflow.notebook.live import reset_hub
from nbflow.notebook.mime import MIME_TYPE
from nbflow.notebook.widgets import show, timeline

from .widgetkit import fresh_session, sent  # noqa: F401 - fixtures, found by name


def test_live_saved_reattached_and_timeline_times_agree(sent, tmp_path):  # noqa: F811
    @task
    def work(x):
        time.sleep(0.2)  # the work being timed
        return x + 1

    @entrypoint(checkpointer=SqliteSaver(str(tmp_path / "t.sqlite")))
    def wf(x):
        a = work(x).result()
        time.sleep(0.1)  # the body's own work is active time, not waiting
        ok = interrupt("ok?")
        return work(a).result() if ok else a

    config = {"configurable": {"thread_id": "t"}}
    view = show(wf, 1, config)
    assert view.wait(PATIENCE) == "interrupted"
    assert show(wf, Command(resume=True), config).wait(PATIENCE) == "done"
    assert view.wait(PATIENCE) == "done"
    live = (view.state["active_s"], view.state["waiting_s"])
    (bundle, _meta), _twin = view._display_bundles(*view._fallbacks())
    saved = (bundle[MIME_TYPE]["state"]["active_s"], bundle[MIME_TYPE]["state"]["waiting_s"])
    inv = wf.get_invocations(config)[-1]
    (asked_at, answered_at), = inv.waits  # the stamped wait: from the question to the answer
    assert answered_at > asked_at
    reset_hub()  # a new kernel: Reattach rebuilds the view from the records
    again = show(wf, config=config)
    reattached = (again.state["active_s"], again.state["waiting_s"])
    row = timeline(wf, config).data["invocations"][-1]
    assert live == saved == reattached, (live, saved, reattached)
    assert abs(row["span"] - live[0]) < 1e-3 and abs(row["waiting"] - live[1]) < 1e-3, (row["span"], row["waiting"])
    assert 0.5 <= live[0] < 0.5 + 2.0  # two 0.2 s tasks and the body's 0.1 s
    assert answered_at - asked_at <= live[1] < answered_at - asked_at + 0.2
