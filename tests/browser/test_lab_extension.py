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
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from nbflow.notebook.mime import MIME_TYPE

from .conftest import ACTION_TIMEOUT_MS, NAV_TIMEOUT_MS
from .jlab import notebook_panel, open_notebook, screenshot, wait_kernel_idle
from .lab import LabServer, copy_notebooks

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "nbflow" / "labextension"
RUN_MS = 60_000
LIVE = ".nbflow-run:not(.nbflow-static)"
SAVED = ".nbflow-saved"


@pytest.fixture(scope="module")
def ext_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    if not (BUILT / "package.json").exists():
        msg = "nbflow/labextension is not built (make js)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    home = tmp_path_factory.mktemp("ext-lab-home")
    (home / "jupyter-data" / "labextensions").mkdir(parents=True)
    (home / "jupyter-data" / "labextensions" / "nbflow").symlink_to(BUILT, target_is_directory=True)
    root = copy_notebooks(tmp_path_factory.mktemp("ext-lab") / "notebooks")
    server = LabServer(root_dir=root, home=home)
    with server:
        yield server


@pytest.fixture
def ext_page(chromium, ext_lab: LabServer, request: pytest.FixtureRequest):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAV_TIMEOUT_MS)
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    pg.nbflow_console = console  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print("---- browser console ----")
            print("\n".join(console[-80:]))
            print(ext_lab.log_tail())
        context.close()


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


def write_notebook(root: Path, name: str, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, root / name)
    return root / name


def run_cell(page, index: int) -> None:
    cell = notebook_panel(page).locator(".jp-Notebook .jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def output_of(page, index: int):
    return notebook_panel(page).locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea")


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
    live = output_of(page, 2).locator(LIVE)
    expect(live).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    expect(output_of(page, 2).locator(SAVED)).to_have_count(0)  # the live widget is drawn, not the saved view
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
    view = output_of(page, 2).locator(SAVED)
    expect(view).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    expect(view).to_contain_text("review")
    expect(view).to_contain_text("Like cats?")
    expect(notebook_panel(page).get_by_text("model not found")).to_have_count(0)
    expect(output_of(page, 2).locator(".nbflow-twin")).to_be_hidden()  # the saved view stands in for its twin
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
    live = output_of(page, 2).locator(LIVE)
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
    view = output_of(page, 2).locator(SAVED)
    expect(view).to_be_visible(timeout=RUN_MS)
    set_theme(page, dark=True)
    view.scroll_into_view_if_needed()
    shot = screenshot(page, tmp_path, "ext-saved-view-dark.png")
    assert shot.stat().st_size > 10_000
    color = view.evaluate("el => getComputedStyle(el).backgroundColor")
    assert color not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), color
    set_theme(page, dark=False)


SIDEBAR = "#nbflow-workflows"
SIDEBAR_CELLS = [
    "%load_ext nbflow\nimport time\nimport nbflow\nfrom nbflow import InMemorySaver, entrypoint, interrupt, task",
    '''saver = InMemorySaver()

@entrypoint(checkpointer=saver)
def review(topic):
    return {"topic": topic, "answer": interrupt({"question": f"Like {topic}?"})}

@task
def step(i):
    time.sleep(0.05)
    return i

@entrypoint(checkpointer=InMemorySaver())
def crunch(n):
    return [step(i).result() for i in range(n)]

nbflow.show(review, "cats", config={"configurable": {"thread_id": "r1"}}).wait()
nbflow.show(review, "dogs", config={"configurable": {"thread_id": "r2"}}).wait()
run = nbflow.show(crunch, 5000, config={"configurable": {"thread_id": "c1"}})''',
]


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
    expect(r1.locator("form.nbflow-interrupt")).to_contain_text("Like cats?")
    c1 = sb.locator(".nbflow-sb-thread[data-key='crunch/c1']")
    expect(c1).to_have_attribute("data-status", "running")
    expect(sb.locator(".nbflow-sb-summary")).to_contain_text("3 threads")
    screenshot(page, tmp_path, "ext-sidebar.png")

    # Answer a question right in the sidebar, with the run view's own form.
    r1.locator('[data-testid="nbflow-answer"]').fill("purr")
    r1.locator('[data-testid="nbflow-submit"]').click()
    expect(r1).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(r1.locator("form.nbflow-interrupt")).to_have_count(0)

    # Stop the running one.
    c1.get_by_role("button", name=re.compile("Stop crunch")).click()
    expect(c1).not_to_have_attribute("data-status", "running", timeout=RUN_MS)
    expect(c1.locator('[data-testid="nbflow-sb-stop"]')).to_have_count(0)

    # Open a thread's timeline in the main area.
    sb.locator(".nbflow-sb-thread[data-key='review/r2'] [data-testid='nbflow-sb-open']").click()
    tab = page.locator(".lm-TabBar-tab", has_text="Timeline · review/r2")
    expect(tab).to_be_visible(timeout=RUN_MS)
    expect(page.locator(".nbflow-main .nbflow-timeline")).to_be_visible(timeout=RUN_MS)
    screenshot(page, tmp_path, "ext-sidebar-timeline.png")

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
