"""The versioned nbflow MIME entry a run view's display data carries (nbflow/notebook/mime.py).

It is what a saved notebook keeps of a view, so JupyterLab's nbflow extension can
draw it without a kernel; the real browser test is tests/browser/test_lab_extension.py.
"""

from __future__ import annotations

import json

import pytest

from nbflow import InMemorySaver, entrypoint, interrupt, task
from nbflow.notebook import mime
from nbflow.notebook.widgets import show

from .widgetkit import fresh_session  # noqa: F401, F811 - fixtures, found by name

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def displayed(monkeypatch):
    calls: list[tuple[str, dict, dict]] = []
    import IPython.display as d

    monkeypatch.setattr(d, "display", lambda data, **kw: calls.append(("display", data, kw)))
    monkeypatch.setattr(d, "update_display", lambda data, **kw: calls.append(("update", data, kw)))
    return calls


@task
def draft(topic: str) -> str:
    return f"Essay about {topic}"


def make_flow():
    @entrypoint(checkpointer=InMemorySaver())
    def essay(topic: str) -> dict:
        text = draft(topic).result()
        return {"draft": text, "ok": interrupt({"question": "Approve?", "draft": text})}

    return essay


def widget_outputs(calls, view):
    return [c for c in calls if c[2].get("display_id") == view._display_id]


def test_a_run_view_carries_its_last_state_in_the_nbflow_mime_entry(displayed):
    wf = make_flow()
    view = show(wf, "cats", config={"configurable": {"thread_id": "t-1"}})
    view._ipython_display_()
    view.wait(60)
    first = widget_outputs(displayed, view)[0][1]
    assert WIDGET_MIME in first and mime.MIME_TYPE in first
    view.resume("yes")
    view.wait(60)
    last = widget_outputs(displayed, view)[-1]
    assert last[0] == "update"
    saved = last[1][mime.MIME_TYPE]
    json.dumps(saved)  # plain JSON: it goes into the .ipynb file
    assert saved["version"] == mime.VERSION == 1 and saved["kind"] == "run"
    assert saved["workflow"] == "essay" and saved["thread_id"] == "t-1"
    assert saved["config"] == {"configurable": {"thread_id": "t-1"}}
    assert saved["state"]["status"] == "done" and saved["state"]["has_result"]
    assert [r["name"] for r in saved["rows"] if r["kind"] == "task"] == ["draft"]
    assert set(saved["rows"][0]) == set(mime._ROW_FIELDS)
    assert saved["reattach"] == "import nbflow\nnbflow.show(essay, config={'configurable': {'thread_id': 't-1'}})"


def test_a_waiting_run_saves_its_question(displayed):
    view = show(make_flow(), "dogs", config={"configurable": {"thread_id": "t-2"}})
    view._ipython_display_()
    view.wait(60)
    saved = widget_outputs(displayed, view)[-1][1][mime.MIME_TYPE]
    assert saved["state"]["status"] == "interrupted"
    (q,) = saved["state"]["questions"]
    assert q["state"] == "pending" and "Approve?" in q["summary"]


def test_reattach_code_names_a_workflow_that_is_not_an_identifier():
    code = mime.reattach_code("my flow", {"configurable": {"thread_id": "x"}})
    assert "session().workflows['my flow']" in code and "nbflow.show(" in code


def test_long_threads_keep_the_last_rows_only():
    n = mime.MAX_ROWS + 7
    rows = [{"key": str(i), "kind": "task", "name": f"t{i}", "state": "ok", "extra": 1} for i in range(n)]
    saved = mime.saved_run("wf", {}, {"thread_id": None, "status": "done"}, rows)
    assert len(saved.rows) == mime.MAX_ROWS and saved.rows_omitted == 7
    assert saved.rows[0]["name"] == "t7" and "extra" not in saved.rows[0]
