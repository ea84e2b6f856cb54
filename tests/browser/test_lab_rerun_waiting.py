"""Re-run from this input on an invocation that waits for an answer (issue 21 point 4): JupyterLab + Chromium.

A workflow asks a question with ``interrupt()``; it is invoked from code and waits. The timeline's
"Re-run from this input (asks again)" on invocation #0 runs it again, asking the question again: the run
view under the timeline shows that question as a form that can be answered (never "Answered … from
code"), the sidebar and the inbox count exactly the questions ``get_state`` reports, the answer sent
through the form finishes the run, and afterwards ``get_state`` reports no interrupt and the
sidebar no waiting question. The timeline's active time of the re-run counts only the time its
tasks ran, not the time the thread waited before the re-run.
"""

from __future__ import annotations

import re
import time

import pytest

from .jlab import cell_output, open_notebook, run_cell, screenshot, wait_kernel_idle, write_notebook
from .test_lab_extension import RUN_MS, errors, open_sidebar

pytestmark = pytest.mark.browser

LIVE = ".nbflow-run:not(.nbflow-static)"
SETUP = '''\
%load_ext nbflow
import nbflow
from nbflow import InMemorySaver, entrypoint, interrupt, task

@task
def draft(topic):
    return f"a note on {topic}"

@entrypoint(checkpointer=InMemorySaver())
def publish(topic):
    text = draft(topic).result()
    verdict = interrupt({"question": f"Publish {text}?"})
    return {"text": text, "verdict": verdict}

cfg = {"configurable": {"thread_id": "rw-1"}}
publish.invoke("owls", cfg)
'''
TIMELINE = "nbflow.timeline(publish, cfg)"
CHECK = '''\
snap = publish.get_state(cfg)
print("INTERRUPTS", len(snap.interrupts), "VALUES", snap.values)
'''


def test_rerun_of_a_waiting_invocation_asks_a_question_one_can_answer(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    write_notebook(ext_lab.root_dir, "rerun_waiting.ipynb", [SETUP, TIMELINE, CHECK, "nbflow.inbox()"])
    open_notebook(page, ext_lab, "rerun_waiting.ipynb")
    sb = open_sidebar(page)
    run_cell(page, 0)
    invoked_at = time.monotonic()
    run_cell(page, 1)
    wait_kernel_idle(page, RUN_MS)
    tl = cell_output(page, 1).locator(".nbflow-timeline")
    expect(tl.locator(".nbflow-inv")).to_have_count(1, timeout=RUN_MS)
    row = sb.locator(".nbflow-sb-thread[data-key='publish/rw-1']")
    expect(row).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    expect(sb.locator(".nbflow-sb-summary")).to_contain_text("1 question waiting")

    replay = tl.locator('.nbflow-inv[data-index="0"] [data-testid="nbflow-replay"]')
    expect(replay).to_have_text("Re-run from this input (asks again)")  # the head runs again in place: no new branch
    replay.click()
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_count(1, timeout=RUN_MS)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    form = run.locator("form.nbflow-interrupt")
    expect(form).to_have_count(1)
    expect(form).to_contain_text("Publish a note on owls?")
    # never the dead form of the defect: an answer line instead of a field, a disabled Send
    expect(run.locator('[data-testid="nbflow-answered"]')).to_have_count(0)
    expect(run.locator('[data-testid="nbflow-superseded"]')).to_have_count(0)
    expect(form.locator('[data-testid="nbflow-answer"]')).to_be_editable()
    expect(form.locator('[data-testid="nbflow-submit"]')).to_be_enabled()
    # the sidebar and the inbox agree with get_state: one question waits, answerable there too
    run_cell(page, 2)
    wait_kernel_idle(page, RUN_MS)
    expect(cell_output(page, 2)).to_contain_text("INTERRUPTS 1")
    expect(sb.locator(".nbflow-sb-summary")).to_contain_text("1 question waiting", timeout=RUN_MS)
    expect(row).to_have_attribute("data-status", "interrupted")
    expect(row.locator("form.nbflow-interrupt")).to_have_count(1)
    run_cell(page, 3)
    wait_kernel_idle(page, RUN_MS)
    inbox = cell_output(page, 3).locator(".nbflow-inbox")
    expect(inbox.locator(".nbflow-inbox-item")).to_have_count(1, timeout=RUN_MS)
    expect(inbox.locator("form.nbflow-interrupt")).to_have_count(1)
    # the re-run's active time is its tasks' time, not the wait before the click
    # (a waiting invocation has made no checkpoint of its own yet: the re-run runs it again in place)
    expect(tl.locator(".nbflow-inv")).to_have_count(1)
    first = tl.locator('.nbflow-inv[data-index="0"]')
    first.locator(".nbflow-inv-head").click()
    axis = first.locator(".nbflow-axis-end")
    expect(axis).to_contain_text("active")
    active = re.search(r"^([\d.]+) (ms|s) active", axis.text_content())
    assert active and (active.group(2) == "ms" or float(active.group(1)) < 1.0), axis.text_content()
    assert "waiting for answers" in axis.text_content()  # the idle stretch is told apart, not drawn
    print(f"re-run {time.monotonic() - invoked_at:.1f} s after the first run; timeline: {axis.text_content()!r}")
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "rerun-waiting-form.png")

    form.locator('[data-testid="nbflow-answer"]').fill("yes")
    form.locator('[data-testid="nbflow-submit"]').click()
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("yes")
    run_cell(page, 2)
    wait_kernel_idle(page, RUN_MS)
    expect(cell_output(page, 2)).to_contain_text("INTERRUPTS 0")
    expect(cell_output(page, 2)).to_contain_text("'verdict': 'yes'")
    expect(row).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(sb.locator(".nbflow-sb-summary")).to_contain_text("0 questions waiting")
    expect(row.locator("form.nbflow-interrupt")).to_have_count(0)
    item = inbox.locator(".nbflow-inbox-item")  # an answered thread stays in the inbox, collapsed
    expect(item).to_have_attribute("data-state", "done", timeout=RUN_MS)
    expect(inbox.locator('.nbflow-inbox-item[data-state="waiting"]')).to_have_count(0)
    expect(inbox.locator('[data-testid="nbflow-answer"]:visible')).to_have_count(0)  # no field left to answer
    expect(run.locator('[data-testid="nbflow-answered"]')).to_contain_text("from a run view")
    screenshot(page, tmp_path, "rerun-waiting-answered.png")
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower()] == []
