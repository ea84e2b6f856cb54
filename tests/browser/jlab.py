"""What a person does in JupyterLab, as Playwright steps (open, run all, read outputs)."""

from __future__ import annotations

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


def run_cell(page, index: int) -> None:
    """Click into code cell ``index`` of the notebook in front and press Shift+Enter."""
    cell = notebook_panel(page).locator(".jp-Notebook .jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def cell_output(page, index: int):
    """The output area of code cell ``index`` of the notebook in front."""
    return notebook_panel(page).locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea")
