"""A run killed with its kernel is offered Continue after reopening (issue 21): JupyterLab + Chromium.

A workflow on an SQLite checkpointer blocks inside a task (while a flag file
exists); the notebook is saved mid-run and its kernel killed, which kills
the run with it (the test kills the kernel process with SIGKILL, as a crash would; a graceful shutdown reads the same
since issue 21: test_lab_view_truth.py). Reopened, the saved view says the run was going when it was
saved; Reattach (in a new kernel) shows "Stopped without finishing: process N
on host H (kernel K) is gone" with the time of its last sign of life and a
Continue button, and Continue finishes the run from its checkpointed task.
"""

from __future__ import annotations

import os
import re
import signal

import pytest

from .jlab import cell_output, open_notebook, run_cell, screenshot, wait_kernel_idle, write_notebook
from .test_lab_extension import RUN_MS, SAVED, errors, open_sidebar, shut_down_kernel_of

pytestmark = pytest.mark.browser

LIVE = ".nbflow-run:not(.nbflow-static)"
SETUP = '''\
%load_ext nbflow
import os, time
import nbflow
from nbflow import SqliteSaver, entrypoint, task

with open("kernel.pid", "w") as f:  # the test kills this kernel with SIGKILL, as a crash would
    f.write(str(os.getpid()))

@task
def quick(x):
    return x + 1

@task
def slow(x):
    while os.path.exists("block.flag"):  # the test removes it once this kernel is gone
        time.sleep(0.05)
    return x * 10

@entrypoint(checkpointer=SqliteSaver("liveness.sqlite"))
def job(x):
    return slow(quick(x).result()).result()
'''
RUN = 'nbflow.show(job, 1, config={"configurable": {"thread_id": "killed-1"}})'


def test_a_run_killed_with_its_kernel_is_offered_continue(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    flag = ext_lab.root_dir / "block.flag"
    flag.write_text("")
    write_notebook(ext_lab.root_dir, "liveness.ipynb", [SETUP, RUN])
    open_notebook(page, ext_lab, "liveness.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    live = cell_output(page, 1).locator(LIVE)
    expect(live).to_have_attribute("data-status", "running", timeout=RUN_MS)
    expect(live.locator('.nbflow-entry[data-state="running"]')).to_contain_text("slow", timeout=RUN_MS)
    expect(live).to_have_attribute("data-liveness", "here")
    # A notebook saved mid-run keeps the run as it is then (refreshed while it runs), not as the cell began it.
    twin = cell_output(page, 1).locator(".nbflow-twin")
    expect(twin).to_contain_text("1/2 tasks", timeout=RUN_MS)
    page.keyboard.press("Control+s")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=RUN_MS)

    # The kernel dies (kill -9: nothing of it runs any more, as in a crash or an OOM kill) with the run in it.
    os.kill(int((ext_lab.root_dir / "kernel.pid").read_text()), signal.SIGKILL)
    shut_down_kernel_of(ext_lab, "liveness.ipynb")
    flag.unlink()
    open_notebook(page, ext_lab, "liveness.ipynb")
    saved = cell_output(page, 1).locator(SAVED)
    expect(saved).to_be_visible(timeout=RUN_MS)
    expect(saved.locator('[data-testid="nbflow-saved-count"]')).to_contain_text("1/2")
    expect(saved.locator('[data-testid="nbflow-saved-status"]')).to_have_text("running when saved")
    run_cell(page, 0)  # the new kernel knows the workflow; Reattach shows the thread as it is
    wait_kernel_idle(page, RUN_MS)
    saved.get_by_role("button", name="Reattach").click()
    live = cell_output(page, 1).locator(LIVE)
    expect(live).to_have_attribute("data-status", "stopped", timeout=RUN_MS)
    expect(live).to_have_attribute("data-liveness", "gone")
    lead = live.locator('[data-testid="nbflow-stopped-lead"]')
    expect(lead).to_contain_text("Stopped without finishing: process")
    expect(lead).to_contain_text("is gone (last sign of life")
    expect(live.locator('[data-testid="nbflow-stop"]')).to_be_hidden()
    live.scroll_into_view_if_needed()
    # The Workflows sidebar says the same: stopped because its process is gone, with Continue.
    sb = open_sidebar(page)
    row = sb.locator(".nbflow-sb-thread[data-key='job/killed-1']")
    expect(row.locator('[data-testid="nbflow-sb-status"]')).to_have_text("stopped (process gone)", timeout=RUN_MS)
    expect(row.locator('[data-testid="nbflow-sb-status"]')).to_have_attribute("title", re.compile("is gone"))
    expect(row.locator('[data-testid="nbflow-sb-continue"]')).to_be_visible()
    screenshot(page, tmp_path, "liveness-gone.png")
    live.locator('[data-testid="nbflow-continue"]').click()
    expect(live).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(live.locator('[data-testid="nbflow-result"]')).to_contain_text("20")
    expect(live.get_by_text("Stopped without finishing")).to_be_hidden()
    screenshot(page, tmp_path, "liveness-continued.png")
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower()] == []
