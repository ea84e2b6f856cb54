"""What a person does in JupyterLab, as Playwright steps (open, run all, read outputs, palette, menus, themes)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from .lab import LabServer, save_artifact

KERNEL_START_MS = 60_000


def open_notebook(page, lab: LabServer, name: str):
    """Open ``name`` (relative to the server's root) in a fresh workspace, wait for an idle kernel.

    Each call uses a new, reset workspace, so no tab left open by an earlier
    test is restored. Returns the notebook panel's locator.
    """
    workspace = f"t{uuid.uuid4().hex[:12]}"
    page.goto(lab.url(f"lab/workspaces/{workspace}/tree/{name}?reset"), wait_until="domcontentloaded")
    panel = notebook_panel(page)
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible")
    wait_kernel_idle(page, KERNEL_START_MS)
    return panel


def notebook_panel(page):
    """The notebook panel in front (JupyterLab hides the others with lm-mod-hidden)."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def wait_kernel_idle(page, timeout_ms: int) -> None:
    """Wait for the status bar to read "<kernel name> | Idle".

    (The toolbar's execution indicator says "idle" before any kernel exists, so
    it can't tell "ready" from "not started"; the status bar can.)
    """
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"^(?!No Kernel).+ \| Idle$")) \
        .first.wait_for(state="visible", timeout=timeout_ms)


def run_all_cells(page) -> None:
    """Run > Run All Cells, through the menu bar as a person would."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """Save a PNG in the test's tmp_path and a copy in test-artifacts/."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=False)
    save_artifact(path)
    return path


def write_notebook(root: Path, name: str, cells: list[str]) -> Path:
    """A notebook of code cells (no outputs) at ``root / name``, for the server to open."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, root / name)
    return root / name


def run_cell(page, index: int) -> None:
    """Click into code cell ``index`` of the notebook in front and press Shift+Enter."""
    cell = notebook_panel(page).locator(".jp-Notebook .jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def cell_output(page, index: int):
    """The output area of code cell ``index`` of the notebook in front."""
    return notebook_panel(page).locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea")


def palette(page, text: str) -> None:
    """Run a command from the command palette (Ctrl+Shift+C), as a person would: type, Enter."""
    page.keyboard.press("Control+Shift+C")
    box = page.locator(".lm-CommandPalette-input")
    box.wait_for(state="visible")
    box.fill(text)
    page.locator(".lm-CommandPalette-item.lm-mod-active", has_text=text).wait_for(state="visible")
    page.keyboard.press("Enter")


def main_menu(page, command: str) -> None:
    """Click nbflow > <command> in the main menu bar."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^nbflow$")).click()
    page.locator(f"#nbflow-menu .lm-Menu-item[data-command='{command}']").click()


def select_cell(page, index: int) -> None:
    """Make cell `index` the active one (a click on its prompt: no button in its outputs is hit)."""
    notebook_panel(page).locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-InputPrompt").click()


def left_tab(page, widget_id: str):
    """The left sidebar's tab of the widget with this id (click it to show or hide that panel)."""
    return page.locator(f".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='{widget_id}']")


def set_theme_named(page, name: str, timeout_ms: int = 60_000) -> None:
    """Settings > Theme > <name> (e.g. "JupyterLab Dark High Contrast"), as a person would."""
    if page.evaluate("document.body.dataset.jpThemeName") == name:
        return
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
    page.get_by_role("menuitem", name=name, exact=True).click()
    page.wait_for_function(f"document.body.dataset.jpThemeName === {json.dumps(name)}", timeout=timeout_ms)
    page.wait_for_timeout(1000)
