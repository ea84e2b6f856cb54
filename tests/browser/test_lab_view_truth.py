"""Issue 21's last view defects, each walked in JupyterLab + Chromium.

* The Graph tab fits its view: a wide graph (a long chain of tasks with long names) is scaled to the
  view's width, never cut off on the right, in a run view and in a run view under a timeline;
  "Actual size" shows it unscaled in a box that scrolls.
* The saved view of a run and the live view reattached to it say the same active and waiting time (both
  read it from the run's stored records, through nbflow.notebook.active), written the same way.
* A view that says "running elsewhere" (a real second process runs the thread on the same SQLite file)
  follows that run to its end by itself: done, with its result, no Reattach, no click.
* A kernel shut down mid-run (JupyterLab's shutdown request, not a kill) leaves a run that reads
  "stopped without finishing" with Continue, never a failed run, in the view and the sidebar.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest

from nbflow.notebook.mime import MIME_TYPE

from .jlab import cell_output, open_notebook, run_cell, screenshot, set_theme_named, wait_kernel_idle, write_notebook
from .test_lab_extension import RUN_MS, SAVED, errors, shut_down_kernel_of

pytestmark = pytest.mark.browser

LIVE = ".nbflow-run:not(.nbflow-static)"

CHAIN = '''\
%load_ext nbflow
import nbflow
from nbflow import InMemorySaver, entrypoint, task

@task
def a_step_with_a_rather_long_descriptive_name(x):
    return x + 1

@entrypoint(checkpointer=InMemorySaver())
def long_chain(n):
    x = 0
    for _ in range(n):
        x = a_step_with_a_rather_long_descriptive_name(x).result()
    return x

cfg = {"configurable": {"thread_id": "chain-1"}}
'''

# The graph's and each scroll box's boxes against the view's: [view, scroll box, svg] rects (left, right).
BOXES = """run => {
  const r = (el) => { const b = el.getBoundingClientRect(); return [b.left, b.right, b.width]; };
  const scroll = run.querySelector('.nbflow-graph-scroll');
  const svg = run.querySelector('[data-testid="nbflow-graph"] svg');
  return {view: r(run), scroll: r(scroll), svg: r(svg), scrollWidth: scroll.scrollWidth,
          clientWidth: scroll.clientWidth, natural: Number(svg.getAttribute('width'))};
}"""


def _graph_fits(run) -> dict:
    from playwright.sync_api import expect

    run.locator('[data-testid="nbflow-tab-graph"]').click()
    graph = run.locator('[data-testid="nbflow-graph"] svg')
    expect(graph.locator('.nbflow-graph-node[data-shape="rect"]')).to_have_count(12, timeout=RUN_MS)
    run.scroll_into_view_if_needed()
    box = run.evaluate(BOXES)
    view_left, view_right, _ = box["view"]
    for part in ("scroll", "svg"):
        left, right, _ = box[part]
        assert view_left - 0.5 <= left and right <= view_right + 0.5, (part, box)
    assert box["scrollWidth"] <= box["clientWidth"] + 1, box  # nothing hidden to the right either
    assert box["natural"] > box["view"][2], box  # the graph is wider than the view: it was scaled to fit
    # "Actual size": unscaled, in a box that scrolls (the box itself still inside the view); then back
    size = run.locator('[data-testid="nbflow-graph-size"]')
    expect(size).to_have_text("Actual size")
    size.click()
    actual = run.evaluate(BOXES)
    assert actual["svg"][2] == pytest.approx(actual["natural"], abs=1) and actual["scrollWidth"] > actual["clientWidth"]
    assert view_left - 0.5 <= actual["scroll"][0] and actual["scroll"][1] <= view_right + 0.5, actual
    expect(size).to_have_text("Fit to width")
    size.click()
    assert run.evaluate(BOXES)["svg"] == box["svg"]
    return box


def test_the_graph_tab_fits_its_view(ext_page, ext_lab, tmp_path):
    page = ext_page
    write_notebook(ext_lab.root_dir, "graph_fit.ipynb", [
        CHAIN, "nbflow.show(long_chain, 12, config=cfg)", "nbflow.timeline(long_chain, cfg)"])
    open_notebook(page, ext_lab, "graph_fit.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    from playwright.sync_api import expect

    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    _graph_fits(run)
    screenshot(page, tmp_path, "graph-fits-run-view.png")
    run_cell(page, 2)
    wait_kernel_idle(page, RUN_MS)
    tl = cell_output(page, 2).locator(".nbflow-timeline")
    expect(tl.locator(".nbflow-inv")).to_have_count(1, timeout=RUN_MS)
    tl.locator('[data-testid="nbflow-replay"]').click()
    under = cell_output(page, 2).locator(LIVE)
    expect(under).to_have_attribute("data-status", "done", timeout=RUN_MS)
    _graph_fits(under)
    screenshot(page, tmp_path, "graph-fits-timeline-run.png")
    for theme, name in (("JupyterLab Dark", "dark"), ("JupyterLab Dark High Contrast", "high-contrast")):
        set_theme_named(page, theme)
        under.scroll_into_view_if_needed()
        screenshot(page, tmp_path, f"graph-fits-timeline-run-{name}.png")
    set_theme_named(page, "JupyterLab Light")
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower()] == []


TIMED = '''\
%load_ext nbflow
import time
import nbflow
from nbflow import SqliteSaver, entrypoint, interrupt, task

@task
def measure(x):
    time.sleep(0.3)  # the work being timed
    return x + 1

@entrypoint(checkpointer=SqliteSaver("timed.sqlite"))
def timed(x):
    a = measure(x).result()
    time.sleep(0.2)  # the entrypoint's own work counts as active too
    verdict = interrupt(f"Keep {a}?")
    return measure(a).result() if verdict == "yes" else a
'''
TIMES = re.compile(r"active ([\d.]+ s)(?: · wait(?:ing|ed) ([\d.]+ s))?")


def test_saved_and_reattached_views_agree_on_active_and_waiting_time(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    path = write_notebook(ext_lab.root_dir, "timed.ipynb", [
        TIMED, 'nbflow.show(timed, 1, config={"configurable": {"thread_id": "timed-1"}})'])
    open_notebook(page, ext_lab, "timed.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    live = cell_output(page, 1).locator(LIVE)
    expect(live).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    live.locator('[data-testid="nbflow-answer"]').fill("yes")
    live.locator('[data-testid="nbflow-submit"]').click()
    expect(live).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(cell_output(page, 1).locator(".nbflow-twin")).to_contain_text("done", timeout=RUN_MS)
    live_text = live.locator(".nbflow-elapsed").text_content()
    page.keyboard.press("Control+s")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=RUN_MS)
    state = next(o for o in nbformat.read(path, 4).cells[1].outputs if MIME_TYPE in o.get("data", {})) \
        ["data"][MIME_TYPE]["state"]
    assert state["status"] == "done"
    # active: two 0.3 s tasks and the body's 0.2 s; waiting: the time the answer took, not the body's work
    assert 0.75 <= state["active_s"] < 3.0 and state["waiting_s"] > 0.0, state

    shut_down_kernel_of(ext_lab, "timed.ipynb")
    open_notebook(page, ext_lab, "timed.ipynb")
    saved = cell_output(page, 1).locator(SAVED)
    expect(saved).to_be_visible(timeout=RUN_MS)
    saved_text = saved.locator('[data-testid="nbflow-saved-count"]').text_content()
    screenshot(page, tmp_path, "times-saved-view.png")
    run_cell(page, 0)
    wait_kernel_idle(page, RUN_MS)
    saved.get_by_role("button", name="Reattach").click()
    again = cell_output(page, 1).locator(LIVE)
    expect(again).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(again.locator(".nbflow-elapsed")).to_contain_text("active", timeout=RUN_MS)
    again_text = again.locator(".nbflow-elapsed").text_content()
    again.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "times-reattached-view.png")
    seen = [TIMES.search(t) for t in (live_text, saved_text, again_text)]
    assert all(seen), (live_text, saved_text, again_text)
    # the same numbers, written the same way, in the live view, its saved view and the reattached view
    assert len({m.groups() for m in seen}) == 1, (live_text, saved_text, again_text)
    assert seen[0].group(2), saved_text  # the wait for the answer is there, apart from the active time
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower()] == []


FAR_JOB = '''\
"""A workflow another process runs (the browser test starts it), on the notebook's SQLite file."""
import sys

from nbflow import SqliteSaver, entrypoint, task

@task
def quick(x):
    return x + 1

@task
def slow(x):
    print("started", flush=True)
    sys.stdin.readline()  # the test releases it with a line
    return x * 10

@entrypoint(checkpointer=SqliteSaver("elsewhere.sqlite"))
def far(x):
    return slow(quick(x).result()).result()

if __name__ == "__main__":
    print("result", far.invoke(1, {"configurable": {"thread_id": "far-1"}}), flush=True)
'''


def test_a_view_running_elsewhere_follows_the_other_process_to_its_end(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    from .test_lab_extension import open_sidebar

    page = ext_page
    (ext_lab.root_dir / "far_job.py").write_text(FAR_JOB)
    write_notebook(ext_lab.root_dir, "elsewhere.ipynb", [
        "%load_ext nbflow\nimport nbflow\nfrom far_job import far",
        'nbflow.show(far, config={"configurable": {"thread_id": "far-1"}})'])
    other = subprocess.Popen([sys.executable, "far_job.py"], cwd=ext_lab.root_dir, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = other.stdout.readline()  # blocks until slow() runs in the other process
        assert line.strip() == "started", (line, other.stderr.read() if other.poll() is not None else "")
        open_notebook(page, ext_lab, "elsewhere.ipynb")
        sb = open_sidebar(page)
        run_cell(page, 0)
        run_cell(page, 1)
        view = cell_output(page, 1).locator(LIVE)
        expect(view).to_have_attribute("data-liveness", "elsewhere", timeout=RUN_MS)
        expect(view).to_have_attribute("data-status", "running")
        expect(view).to_contain_text(f"process {other.pid}")
        row = sb.locator(".nbflow-sb-thread[data-key='far/far-1']")
        expect(row).to_have_attribute("data-status", "running", timeout=RUN_MS)
        view.scroll_into_view_if_needed()
        screenshot(page, tmp_path, "elsewhere-running.png")
        other.stdin.write("\n")
        other.stdin.flush()
        out, err = other.communicate(timeout=RUN_MS / 1000)
        assert "result 20" in out, err
        # nobody touches anything: the view, and the sidebar, follow the other process's run to its end
        expect(view).to_have_attribute("data-status", "done", timeout=RUN_MS)
        expect(view).not_to_have_attribute("data-liveness", "elsewhere")
        expect(view.locator('[data-testid="nbflow-result"]')).to_contain_text("20")
        expect(view.locator(".nbflow-progress-text")).to_have_text("2/2 tasks")
        expect(view).not_to_contain_text("running elsewhere")
        expect(row).to_have_attribute("data-status", "done", timeout=RUN_MS)
        screenshot(page, tmp_path, "elsewhere-finished.png")
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower()] == []


SHUTDOWN = '''\
%load_ext nbflow
import atexit, os, threading
import nbflow
from nbflow import SqliteSaver, entrypoint, task

exiting = threading.Event()
views = []

def at_exit():  # as the kernel exits the task fails, as it does when IPython clears the notebook's names
    exiting.set()
    for v in views:
        v.wait(30)

atexit.register(at_exit)

@task
def quick(x):
    return x + 1

@task
def slow(x):
    if os.path.exists("block.flag"):
        open("started.flag", "w").close()
        while not exiting.wait(0.02):
            pass
        raise NameError("name 'os' is not defined")
    return x * 10

@entrypoint(checkpointer=SqliteSaver("shutdown.sqlite"))
def job(x):
    return slow(quick(x).result()).result()

cfg = {"configurable": {"thread_id": "shut-1"}}
'''


def test_a_kernel_shut_down_mid_run_reads_stopped_with_continue_not_failed(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    from .test_lab_extension import open_sidebar

    page = ext_page
    root = ext_lab.root_dir
    (root / "block.flag").write_text("")
    write_notebook(root, "shutdown.ipynb", [SHUTDOWN, "views.append(nbflow.show(job, 1, config=cfg))\nviews[-1]",
                                            "nbflow.show(job, config=cfg)"])
    open_notebook(page, ext_lab, "shutdown.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    live = cell_output(page, 1).locator(LIVE)
    expect(live.locator('.nbflow-entry[data-state="running"]')).to_contain_text("slow", timeout=RUN_MS)
    assert (root / "started.flag").exists()
    shut_down_kernel_of(ext_lab, "shutdown.ipynb")  # Jupyter's shutdown request: the kernel exits cleanly
    (root / "block.flag").unlink()
    open_notebook(page, ext_lab, "shutdown.ipynb")
    run_cell(page, 0)
    run_cell(page, 2)
    view = cell_output(page, 2).locator(LIVE)
    expect(view).to_have_attribute("data-status", "stopped", timeout=RUN_MS)
    expect(view).to_have_attribute("data-liveness", "gone")
    expect(view.locator('[data-testid="nbflow-stopped-lead"]')).to_contain_text("Stopped without finishing")
    expect(view.locator(".nbflow-error")).to_have_count(0)
    expect(view).not_to_contain_text("NameError")
    sb = open_sidebar(page)
    row = sb.locator(".nbflow-sb-thread[data-key='job/shut-1']")
    expect(row.locator('[data-testid="nbflow-sb-status"]')).to_have_text("stopped (process gone)", timeout=RUN_MS)
    expect(row.locator('[data-testid="nbflow-sb-continue"]')).to_be_visible()
    view.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "shutdown-stopped-continue.png")
    view.locator('[data-testid="nbflow-continue"]').click()
    expect(view).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(view.locator('[data-testid="nbflow-result"]')).to_contain_text("20")
    expect(row).to_have_attribute("data-status", "done", timeout=RUN_MS)
    screenshot(page, tmp_path, "shutdown-continued.png")
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower()] == []
