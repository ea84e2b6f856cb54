"""nbflow's JupyterLab extension in a real JupyterLab + Debian Chromium.

The server here is this module's own, with the prebuilt extension (nbflow/labextension,
built by `make js`) in its data dir, whatever the venv holds. Screenshots land in
test-artifacts/ (look at them).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import nbformat
import pytest

from nbflow.notebook.mime import MIME_TYPE

from .a11y import ACCESSIBLE_NAME, low_contrast
from .jlab import (
    cell_output,
    left_tab,
    main_menu,
    notebook_panel,
    open_notebook,
    palette,
    run_cell,
    screenshot,
    select_cell,
    set_theme_named,
    wait_kernel_idle,
    write_notebook,
)
from .lab import LabServer, save_artifact

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "nbflow" / "labextension"
RUN_MS = 60_000
LIVE = ".nbflow-run:not(.nbflow-static)"
SAVED = ".nbflow-saved"


def set_theme(page, dark: bool) -> None:
    """Settings > Theme > JupyterLab Dark/Light, as a person would (nothing to do when already there)."""
    want = "false" if dark else "true"
    if page.evaluate("document.body.dataset.jpThemeLight") == want:
        return
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
    page.get_by_role("menuitem", name="JupyterLab Dark" if dark else "JupyterLab Light", exact=True).click()
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{want}'", timeout=RUN_MS)
    page.wait_for_timeout(1000)


def errors(console: list[str]) -> list[str]:
    return [line for line in console if line.startswith(("[error]", "[pageerror]"))]








def api(lab: LabServer, method: str, path: str):
    req = urllib.request.Request(lab.url(path), method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def shut_down_kernel_of(lab: LabServer, name: str) -> None:
    for s in api(lab, "GET", "api/sessions"):
        if s["path"].endswith(name):
            api(lab, "DELETE", f"api/sessions/{s['id']}")


def test_the_extension_loads_without_console_errors(ext_page, ext_lab):
    write_notebook(ext_lab.root_dir, "empty.ipynb", ["1 + 1"])
    open_notebook(ext_page, ext_lab, "empty.ipynb")
    run_cell(ext_page, 0)
    wait_kernel_idle(ext_page, RUN_MS)
    listing = urllib.request.urlopen(ext_lab.url("lab/api/extensions"), timeout=30).read().decode()
    assert '"name": "nbflow"' in listing or '"name":"nbflow"' in listing
    assert errors(ext_page.nbflow_console) == []


CELLS = [
    "%load_ext nbflow\nimport nbflow\nfrom nbflow import interrupt",
    '%%entrypoint review\nreturn {"topic": inputs, "answer": interrupt({"question": f"Like {inputs}?"})}',
    'v = nbflow.show(review, "cats", config={"configurable": {"thread_id": "saved-1"}})\nv.wait()\nv',
]


def test_a_saved_notebook_reopened_without_its_kernel_shows_its_views_and_reattaches(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    path = write_notebook(ext_lab.root_dir, "saved_views.ipynb", CELLS)
    open_notebook(page, ext_lab, "saved_views.ipynb")
    for i in range(3):
        run_cell(page, i)
    wait_kernel_idle(page, RUN_MS)
    live = cell_output(page, 2).locator(LIVE)
    expect(live).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    expect(cell_output(page, 2).locator(SAVED)).to_have_count(0)  # the live widget is drawn, not the saved view
    page.keyboard.press("Control+s")
    saved: list = []
    for _ in range(100):  # the save lands on disk a little later
        saved = [o for o in nbformat.read(path, 4).cells[2].outputs if MIME_TYPE in o.get("data", {})]
        if saved:
            break
        page.wait_for_timeout(200)
    assert saved and saved[0]["data"][MIME_TYPE]["state"]["status"] == "interrupted"

    # The kernel goes away; the notebook is opened again (a new kernel that knows nothing).
    shut_down_kernel_of(ext_lab, "saved_views.ipynb")
    open_notebook(page, ext_lab, "saved_views.ipynb")
    view = cell_output(page, 2).locator(SAVED)
    expect(view).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    expect(view).to_contain_text("review")
    expect(view.locator(".nbflow-saved-questions")).to_have_text("Waiting for an answer: Like cats?")
    # No tasks ran: the header says no "0/0 tasks", only what is true (time active, waiting since when).
    expect(view.locator('[data-testid="nbflow-saved-count"]')).to_have_text(
        re.compile(r"^active \d+\.\d\d s · waiting since .*\d:\d\d"))
    expect(view.locator(".nbflow-saved-head")).not_to_contain_text("0/0")
    expect(view.locator('[data-testid="nbflow-saved-status"]')).to_have_text("waiting for input")
    expect(notebook_panel(page).get_by_text("model not found")).to_have_count(0)
    expect(cell_output(page, 2).locator(".nbflow-twin")).to_be_hidden()  # the saved view stands in for its twin
    screenshot(page, tmp_path, "ext-saved-view.png")

    # Reattach before the workflow exists in this kernel: a plain message says what to do.
    reattach = view.get_by_role("button", name=re.compile("Reattach"))
    reattach.click()
    expect(view).to_have_attribute("data-reattach", "error", timeout=RUN_MS)
    expect(view.locator(".nbflow-saved-note")).to_contain_text("Run the cell that defines the workflow first")

    # Define it again, Reattach: the live view of the same thread, answerable.
    run_cell(page, 0)
    run_cell(page, 1)
    wait_kernel_idle(page, RUN_MS)
    reattach.click()
    live = cell_output(page, 2).locator(LIVE)
    expect(live).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    live.locator('[data-testid="nbflow-answer"]').fill("very much")
    live.locator('[data-testid="nbflow-submit"]').click()
    expect(live).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(live.locator('[data-testid="nbflow-result"]')).to_contain_text("very much")
    screenshot(page, tmp_path, "ext-reattached.png")
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower() or "model not found" in e] == []


def test_saved_views_in_the_dark_theme(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    open_notebook(page, ext_lab, "saved_views.ipynb")
    view = cell_output(page, 2).locator(SAVED)
    expect(view).to_be_visible(timeout=RUN_MS)
    assert low_contrast(view) == []  # light
    set_theme(page, dark=True)
    assert low_contrast(view) == []
    view.scroll_into_view_if_needed()
    shot = screenshot(page, tmp_path, "ext-saved-view-dark.png")
    assert shot.stat().st_size > 10_000
    color = view.evaluate("el => getComputedStyle(el).backgroundColor")
    assert color not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), color
    set_theme(page, dark=False)


SIDEBAR = "#nbflow-workflows"
# The two workflows the sidebar and command tests run: one that asks, one with many short tasks.
WORKFLOWS = '''@entrypoint(checkpointer=InMemorySaver())
def review(topic):
    return {"topic": topic, "answer": interrupt({"question": f"Like {topic}?"})}

@task
def step(i):
    time.sleep(0.05)
    return i

@entrypoint(checkpointer=InMemorySaver())
def crunch(n):
    return [step(i).result() for i in range(n)]'''

SIDEBAR_CELLS = [
    "%load_ext nbflow\nimport time\nimport nbflow\nfrom nbflow import InMemorySaver, entrypoint, interrupt, task",
    WORKFLOWS + '''

nbflow.show(review, "cats", config={"configurable": {"thread_id": "r1"}}).wait()
nbflow.show(review, "dogs", config={"configurable": {"thread_id": "r2"}}).wait()
run = nbflow.show(crunch, 5000, config={"configurable": {"thread_id": "c1"}})''',
]


PILL_COLOURS = "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]"


def open_sidebar(page):
    tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='nbflow-workflows']")
    tab.click()
    page.locator(SIDEBAR).wait_for(state="visible")
    return page.locator(SIDEBAR)


def test_the_sidebar_lists_answers_stops_and_opens_a_timeline(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    write_notebook(ext_lab.root_dir, "sidebar.ipynb", ["1 + 1", *SIDEBAR_CELLS])
    open_notebook(page, ext_lab, "sidebar.ipynb")
    sb = open_sidebar(page)
    run_cell(page, 0)
    wait_kernel_idle(page, RUN_MS)
    # No nbflow in the kernel yet: the sidebar says so, and how to load it.
    expect(sb).to_have_attribute("data-state", "unloaded", timeout=RUN_MS)
    expect(sb.locator(".nbflow-sb-notice")).to_contain_text("%load_ext nbflow")
    screenshot(page, tmp_path, "ext-sidebar-unloaded.png")

    run_cell(page, 1)
    run_cell(page, 2)
    wait_kernel_idle(page, RUN_MS)
    expect(sb).to_have_attribute("data-state", "ready", timeout=RUN_MS)
    threads = sb.locator(".nbflow-sb-thread")
    expect(threads).to_have_count(3, timeout=RUN_MS)  # two workflows: review r1, r2 and crunch c1
    r1 = sb.locator(".nbflow-sb-thread[data-key='review/r1']")
    expect(r1).to_have_attribute("data-status", "interrupted")
    # The question in words (its string), as the run view's form heads it; never "{'question': ...}".
    expect(r1.locator("form.nbflow-interrupt .nbflow-form-head")).to_have_text("Like cats?")
    expect(sb).not_to_contain_text("{'question'")
    c1 = sb.locator(".nbflow-sb-thread[data-key='crunch/c1']")
    expect(c1).to_have_attribute("data-status", "running")
    expect(sb.locator(".nbflow-sb-summary")).to_contain_text("3 threads")
    screenshot(page, tmp_path, "ext-sidebar.png")

    # Answer a question right in the sidebar, with the run view's own form.
    r1.locator('[data-testid="nbflow-answer"]').fill("purr")
    r1.locator('[data-testid="nbflow-submit"]').click()
    expect(r1).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(r1.locator("form.nbflow-interrupt")).to_have_count(0)
    # Issue 21 point 5: every row says when its thread last did something (never "—" for a thread that ran).
    times = sb.locator(".nbflow-sb-time")
    expect(times).to_have_count(3)
    for i in range(3):
        expect(times.nth(i)).to_have_text(re.compile(r"\d+ (s|min|h) ago$"))
        assert times.nth(i).get_attribute("datetime")
    # Issue 19: each row says what the thread holds in its checkpointer (checkpoints, journal, pieces).
    sizes = sb.locator('[data-testid="nbflow-sb-size"]')
    expect(sizes).to_have_count(3)
    for i in range(3):
        expect(sizes.nth(i)).to_have_text(re.compile(r"^\d+(\.\d)? (B|kB|MB)$"))

    # Stop the running one: "stopped" in the run view's grey pill, and Continue in place of Stop.
    c1.get_by_role("button", name=re.compile("Stop crunch")).click()
    expect(c1).to_have_attribute("data-status", "stopped", timeout=RUN_MS)
    expect(c1.locator('[data-testid="nbflow-sb-stop"]')).to_have_count(0)
    pill = c1.locator('[data-testid="nbflow-sb-status"]')
    expect(pill).to_have_text("stopped")
    assert pill.evaluate(PILL_COLOURS) == ["rgb(97, 97, 97)", "rgb(255, 255, 255)"]  # the run view's grey
    screenshot(page, tmp_path, "ext-sidebar-stopped.png")
    c1.get_by_role("button", name=re.compile("Continue crunch thread c1")).click()
    expect(c1).to_have_attribute("data-status", "running", timeout=RUN_MS)
    c1.get_by_role("button", name=re.compile("Stop crunch")).click()
    expect(c1).to_have_attribute("data-status", "stopped", timeout=RUN_MS)

    # Open a thread's timeline in the main area.
    sb.locator(".nbflow-sb-thread[data-key='review/r2'] [data-testid='nbflow-sb-open']").click()
    tab = page.locator(".lm-TabBar-tab", has_text="Timeline · review/r2")
    expect(tab).to_be_visible(timeout=RUN_MS)
    expect(page.locator(".nbflow-main .nbflow-timeline")).to_be_visible(timeout=RUN_MS)
    # the sidebar model's selection: that thread is marked as the current one, and only it
    expect(sb.locator(".nbflow-sb-thread[aria-current='true']")).to_have_attribute("data-key", "review/r2")
    screenshot(page, tmp_path, "ext-sidebar-timeline.png")
    # Issue 21 point 5: opening the timeline ran no cell: the notebook's execution counter did not move.
    select_cell(page, 0)
    run_cell(page, 0)
    wait_kernel_idle(page, RUN_MS)
    expect(notebook_panel(page).locator(".jp-CodeCell").nth(0).locator(".jp-InputPrompt")).to_have_text("[4]:")

    # Dark theme.
    set_theme(page, dark=True)
    screenshot(page, tmp_path, "ext-sidebar-dark.png")
    set_theme(page, dark=False)
    assert errors(page.nbflow_console) == []


def test_sidebar_with_1000_threads_and_100_questions_measured(ext_page, ext_lab, tmp_path):
    """Figures for bench/ (nothing asserted on time): the list's render and one live update in the browser."""
    from playwright.sync_api import expect

    from .lab import save_artifact

    page = ext_page
    write_notebook(ext_lab.root_dir, "sidebar_bench.ipynb", [
        '''%load_ext nbflow
from nbflow import InMemorySaver, entrypoint, interrupt, task

@task
def double(x):
    return 2 * x

@entrypoint(checkpointer=InMemorySaver())
def flow(i):
    y = double(i).result()
    return {"y": y, "answer": interrupt({"question": f"ok {i}?"})} if i < 100 else {"y": y}

for i in range(1000):
    flow.invoke(i, {"configurable": {"thread_id": f"t{i}"}})''',
    ])
    open_notebook(page, ext_lab, "sidebar_bench.ipynb")
    sb = open_sidebar(page)
    run_cell(page, 0)
    wait_kernel_idle(page, RUN_MS)
    threads = sb.locator(".nbflow-sb-thread")
    expect(threads).to_have_count(1000, timeout=RUN_MS)
    list_ms = float(sb.get_attribute("data-last-update-ms"))
    first = sb.locator(".nbflow-sb-thread[data-key='flow/t0']")
    first.locator('[data-testid="nbflow-answer"]').fill("yes")
    first.locator('[data-testid="nbflow-submit"]').click()
    expect(first).to_have_attribute("data-status", "done", timeout=RUN_MS)
    update_ms = float(sb.get_attribute("data-last-update-ms"))
    expect(sb.locator(".nbflow-sb-summary")).to_contain_text("1000 threads · 0 running · 99 questions waiting")
    out = tmp_path / "lab-sidebar-bench.json"
    out.write_text(json.dumps({"threads": 1000, "waiting": 100, "browser_list_render_ms": list_ms,
                               "browser_live_update_ms": update_ms}, indent=2))
    save_artifact(out)
    print(f"sidebar: list render {list_ms:.1f} ms, live update {update_ms:.1f} ms")
    assert errors(page.nbflow_console) == []


# ---------------------------------------------------------------------------- commands, settings, themes, keyboard
COMMAND_CELLS = [
    SIDEBAR_CELLS[0] + "\n\n" + WORKFLOWS,
    'nbflow.show(review, "cats", config={"configurable": {"thread_id": "r1"}})',
    'nbflow.show(crunch, 5000, config={"configurable": {"thread_id": "c1"}})',
    'nbflow.show(crunch, 5000, config={"configurable": {"thread_id": "c2"}})',
]


def test_commands_from_the_palette_and_the_main_menu(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    write_notebook(ext_lab.root_dir, "commands.ipynb", COMMAND_CELLS)
    open_notebook(page, ext_lab, "commands.ipynb")
    for i in range(4):
        run_cell(page, i)
    wait_kernel_idle(page, RUN_MS)
    for i, status in ((1, "interrupted"), (2, "running"), (3, "running")):
        expect(cell_output(page, i).locator(LIVE)).to_have_attribute("data-status", status, timeout=RUN_MS)
    sb = page.locator(SIDEBAR)

    # Open the inbox: the Workflows sidebar comes to the front (the file browser was there).
    left_tab(page, "filebrowser").click()
    expect(sb).to_be_hidden()
    palette(page, "nbflow: Open the Workflows Inbox")
    expect(sb).to_be_visible()
    expect(sb.locator(".nbflow-sb-thread")).to_have_count(3, timeout=RUN_MS)
    left_tab(page, "filebrowser").click()
    expect(sb).to_be_hidden()
    main_menu(page, "nbflow:open-inbox")
    expect(sb).to_be_visible()

    # Without an nbflow view in the focused cell, the thread commands are off.
    select_cell(page, 0)
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^nbflow$")).click()
    expect(page.locator("#nbflow-menu .lm-Menu-item[data-command='nbflow:stop-focused']")).to_have_class(
        re.compile("lm-mod-disabled"))
    page.keyboard.press("Escape")

    # Stop the running workflow of the focused cell: from the palette (c1), from the menu (c2).
    select_cell(page, 2)
    palette(page, "nbflow: Stop the Running Workflow of the Focused Cell")
    expect(cell_output(page, 2).locator(LIVE)).to_have_attribute("data-status", "stopped", timeout=RUN_MS)
    expect(cell_output(page, 3).locator(LIVE)).to_have_attribute("data-status", "running")
    select_cell(page, 3)
    main_menu(page, "nbflow:stop-focused")
    expect(cell_output(page, 3).locator(LIVE)).to_have_attribute("data-status", "stopped", timeout=RUN_MS)
    expect(sb.locator(".nbflow-sb-thread[data-key='crunch/c2']")).to_have_attribute("data-status", "stopped",
                                                                                   timeout=RUN_MS)
    # The sidebar labels and colours "stopped" exactly as the run view does.
    run_pill = cell_output(page, 3).locator(f"{LIVE} .nbflow-status")
    sb_pill = sb.locator(".nbflow-sb-thread[data-key='crunch/c2'] [data-testid='nbflow-sb-status']")
    expect(sb_pill).to_have_text("stopped")
    expect(run_pill).to_have_text(re.compile("stopped", re.I))
    assert sb_pill.evaluate(PILL_COLOURS) == run_pill.evaluate(PILL_COLOURS)

    # Show the timeline of the focused cell's thread: from the palette (r1), from the menu (c1).
    select_cell(page, 1)
    palette(page, "nbflow: Show the Timeline of the Focused Cell's Thread")
    expect(page.locator(".lm-TabBar-tab", has_text="Timeline · review/r1")).to_be_visible(timeout=RUN_MS)
    timeline = page.locator(".nbflow-main .nbflow-timeline").first
    expect(timeline.locator(".nbflow-asked")).to_have_text("Like cats?", timeout=RUN_MS)  # its text, not a repr
    select_cell(page, 2)
    main_menu(page, "nbflow:show-timeline")
    expect(page.locator(".lm-TabBar-tab", has_text="Timeline · crunch/c1")).to_be_visible(timeout=RUN_MS)
    expect(page.locator(".nbflow-main .nbflow-timeline")).to_have_count(2, timeout=RUN_MS)
    screenshot(page, tmp_path, "ext-commands.png")
    assert errors(page.nbflow_console) == []


# A notebook with a live run view (cell 1) and, in cell 2, a view saved by an earlier session: the real
# display data of a real run (tasks, a question answered, then more tasks), as the notebook file keeps it.
SAVED_SESSION = r'''
import sys
import nbformat
import nbflow
from nbflow import Command, InMemorySaver, entrypoint, interrupt, task

@task
def step(i):
    return i * 2

@entrypoint(checkpointer=InMemorySaver())
def staged(n):
    done = [step(i).result() for i in range(n)]
    ok = interrupt({"question": f"keep {n}?"})
    return {"done": done, "ok": ok, "last": step(100).result()}

cfg = {"configurable": {"thread_id": "s0"}}
nbflow.show(staged, 3, config=cfg).wait()
v = nbflow.show(staged, Command(resume="yes"), config=cfg)
assert v.wait() == "done"
(data, meta), twin = v._display_bundles(*v._fallbacks())
nb = nbformat.read(sys.argv[1], 4)
nb.cells[2].outputs = [nbformat.v4.new_output("display_data", data=data, metadata=meta),
                       nbformat.v4.new_output("display_data", data=twin)]
nbformat.write(nb, sys.argv[1])
'''

VIEW_CELLS = [
    "%load_ext nbflow\nimport nbflow\nfrom nbflow import InMemorySaver, entrypoint, interrupt, task\n\n"
    "@task\ndef step(i):\n    return i * 2\n\n"
    "@entrypoint(checkpointer=InMemorySaver())\ndef staged(n):\n    done = [step(i).result() for i in range(n)]\n"
    '    ok = interrupt({"question": f"keep {n}?"})\n    return {"done": done, "ok": ok, "last": step(100).result()}',
    'nbflow.show(staged, 3, config={"configurable": {"thread_id": "s1"}})',
    '# saved by an earlier session\nnbflow.show(staged, config={"configurable": {"thread_id": "s0"}})',
]


def views_notebook(root: Path, name: str) -> Path:
    import subprocess
    import sys

    path = write_notebook(root, name, VIEW_CELLS)
    subprocess.run([sys.executable, "-c", SAVED_SESSION, str(path)], check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return path


def open_views_notebook(page, lab: LabServer, name: str):
    from playwright.sync_api import expect

    views_notebook(lab.root_dir, name)
    open_notebook(page, lab, name)
    run_cell(page, 0)
    run_cell(page, 1)
    wait_kernel_idle(page, RUN_MS)
    expect(cell_output(page, 1).locator(LIVE)).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    saved = cell_output(page, 2).locator(SAVED)
    expect(saved).to_have_attribute("data-status", "done", timeout=RUN_MS)
    return saved


def set_nbflow_settings(page, time_format: str, collapse: bool) -> None:
    """Settings > Settings Editor > nbflow, then the form's two fields (saved as they change)."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-item[data-command='settingeditor:open']").click()
    page.locator(".jp-PluginList").get_by_text("nbflow", exact=True).click()
    page.locator("select[id$='nbflow:sidebar_timeFormat']").select_option(label=time_format)
    box = page.locator("input[type=checkbox][id$='nbflow:sidebar_collapseReplayed']")
    box.check() if collapse else box.uncheck()


def test_settings_change_the_views(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    saved = open_views_notebook(page, ext_lab, "settings.ipynb")
    # The saved header says what is true: all 4 task calls ran, no "0/0".
    expect(saved.locator('[data-testid="nbflow-saved-count"]')).to_have_text(re.compile(r"^4 tasks · active "))
    rows = saved.locator(".nbflow-saved-row")
    expect(rows).to_have_count(4)
    expect(saved.locator('.nbflow-saved-row[data-replayed="true"]')).to_have_count(3)
    expect(saved.locator('[data-testid="nbflow-saved-collapsed"]')).to_be_hidden()
    sb = open_sidebar(page)
    time_el = sb.locator(".nbflow-sb-thread[data-key='staged/s1'] .nbflow-sb-time")
    expect(time_el).to_have_text(re.compile(r" ago$"), timeout=RUN_MS)

    # Settings > Settings Editor > nbflow: absolute times, replayed rows collapsed.
    set_nbflow_settings(page, "absolute", collapse=True)
    expect(time_el).to_have_attribute("data-format", "absolute", timeout=RUN_MS)
    expect(time_el).not_to_have_text(re.compile("ago"))
    expect(time_el).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
    page.locator(".lm-TabBar-tab", has_text="settings.ipynb").click()
    expect(saved.locator('.nbflow-saved-row[data-replayed="true"]').first).to_be_hidden()
    expect(saved.locator('.nbflow-saved-row[data-replayed="false"]')).to_be_visible()
    expect(saved.locator('[data-testid="nbflow-saved-collapsed"]')).to_have_text(
        re.compile(r"^3 rows read back from the checkpoint hidden"))
    screenshot(page, tmp_path, "ext-settings-collapsed.png")

    # Back to the defaults, through the editor again.
    set_nbflow_settings(page, "relative", collapse=False)
    expect(time_el).to_have_text(re.compile(r" ago$"), timeout=RUN_MS)
    page.locator(".lm-TabBar-tab", has_text="settings.ipynb").click()
    expect(saved.locator('.nbflow-saved-row[data-replayed="true"]')).to_have_count(3)
    expect(saved.locator('.nbflow-saved-row[data-replayed="true"]').first).to_be_visible()
    assert errors(page.nbflow_console) == []


def tab_to(page, target, presses: int = 12) -> None:
    """Press Tab (from the sidebar's Refresh button) until ``target`` has the focus."""
    page.locator(SIDEBAR).get_by_role("button", name="Refresh the list of threads").focus()
    for _ in range(presses):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def test_the_sidebar_by_keyboard_with_labels_for_screen_readers(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    write_notebook(ext_lab.root_dir, "keyboard.ipynb", COMMAND_CELLS[:3])
    open_notebook(page, ext_lab, "keyboard.ipynb")
    for i in range(3):
        run_cell(page, i)
    wait_kernel_idle(page, RUN_MS)
    sb = open_sidebar(page)
    expect(sb.locator(".nbflow-sb-thread")).to_have_count(2, timeout=RUN_MS)
    expect(sb.locator(".nbflow-sb-thread[data-key='crunch/c1']")).to_have_attribute("data-status", "running")

    # Tab from the Refresh button through everything the sidebar has; each stop has a name.
    sb.get_by_role("button", name="Refresh the list of threads").focus()
    stops = [page.evaluate(f"({ACCESSIBLE_NAME})(document.activeElement)")]
    for _ in range(12):
        page.keyboard.press("Tab")
        stop = page.evaluate(f"({ACCESSIBLE_NAME})(document.activeElement)")
        if not stop[3]:
            break  # focus left the sidebar
        stops.append(stop)
    names = [name for _tag, _role, name, _inside in stops]
    assert all(names), stops
    r1 = ["review thread r1, waiting for input, asks: Like cats?. Open its timeline", "Your answer",
          "Answer is a value (number, list, object), not text", "Send"]
    c1 = ["crunch thread c1, running. Open its timeline", "Stop crunch thread c1 (Workflow.stop)"]
    assert names[0] == "Refresh the list of threads" and sorted(names[1:]) == sorted(r1 + c1), stops
    for row in (r1, c1):  # each thread's controls in reading order (threads are ordered by activity)
        assert [names.index(n) for n in row] == sorted(names.index(n) for n in row), stops

    # What a screen reader reads: a named region, list, items, a named form per question.
    tree = sb.aria_snapshot()
    for line in ('region "nbflow workflows"', 'list "Threads"', 'listitem "review thread r1, waiting for input"',
                 'group "Questions of review thread r1"', 'form "Answer review thread r1: Like cats?"',
                 'textbox "Your answer"', 'button "Stop crunch thread c1 (Workflow.stop)"'):
        assert line in tree, tree
    (tmp_path / "sidebar-aria.yaml").write_text(tree)

    # And it works by keyboard alone: answer with Ctrl+Enter, stop with Enter.
    tab_to(page, sb.get_by_role("button", name=re.compile("^review thread r1")))
    page.keyboard.press("Tab")
    page.keyboard.type("purr")
    page.keyboard.press("Control+Enter")
    r1 = sb.locator(".nbflow-sb-thread[data-key='review/r1']")
    expect(r1).to_have_attribute("data-status", "done", timeout=RUN_MS)
    tab_to(page, sb.get_by_role("button", name="Stop crunch thread c1 (Workflow.stop)"))
    page.keyboard.press("Enter")
    expect(sb.locator(".nbflow-sb-thread[data-key='crunch/c1']")).to_have_attribute("data-status", "stopped",
                                                                                   timeout=RUN_MS)
    assert errors(page.nbflow_console) == []


def test_high_contrast_theme_screenshots(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    saved = open_views_notebook(page, ext_lab, "contrast.ipynb")
    live = cell_output(page, 1).locator(LIVE)
    sb = open_sidebar(page)
    expect(sb.locator(".nbflow-sb-thread")).to_have_count(1, timeout=RUN_MS)
    set_theme_named(page, "JupyterLab Dark High Contrast")
    try:
        # A keyboard focus ring on the thread's button (Tab from Refresh: :focus-visible, as a person sees it).
        sb.get_by_role("button", name="Refresh the list of threads").focus()
        page.keyboard.press("Tab")
        ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert ring == "solid", ring
        screenshot(page, tmp_path, "ext-hc-page.png")
        parts = (("ext-hc-sidebar.png", sb), ("ext-hc-run-view.png", live), ("ext-hc-saved-view.png", saved))
        for name, target in parts:
            shot = tmp_path / name
            target.screenshot(path=str(shot))
            save_artifact(shot)
        # Every text the three views show reads at WCAG AA (4.5:1) on its background, here, in dark and in light.
        assert low_contrast(sb, live, saved) == []
        set_theme_named(page, "JupyterLab Dark")
        assert low_contrast(sb, live, saved) == []
        set_theme_named(page, "JupyterLab Light")
        assert low_contrast(sb, live, saved) == []
    finally:
        set_theme_named(page, "JupyterLab Light")
    assert errors(page.nbflow_console) == []
