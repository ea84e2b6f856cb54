"""Plumbing checks: JupyterLab + Debian's Chromium + Playwright open and run notebooks."""

from __future__ import annotations

import nbformat
import pytest

from .jlab import open_notebook, run_all_cells, screenshot, wait_kernel_idle
from .lab import NOTEBOOKS, clean_copy

pytestmark = pytest.mark.browser


def test_open_notebook_and_run_a_cell(page, lab, lab_root, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import nbflow\nprint('answer', 6 * 7, nbflow.__version__)")]
    nbformat.write(nb, lab_root / "smoke.ipynb")

    panel = open_notebook(page, lab, "smoke.ipynb")
    run_all_cells(page)
    out = panel.locator(".jp-Cell .jp-OutputArea-output").first
    out.wait_for(timeout=60_000)
    wait_kernel_idle(page, 60_000)
    assert "answer 42" in out.inner_text()
    screenshot(page, tmp_path, "lab-smoke.png")


def test_quickstart_runs_all_cells_in_lab(page, lab, lab_root, tmp_path):
    """01_quickstart.ipynb runs top to bottom in JupyterLab; its run view renders live and ends done."""
    from playwright.sync_api import expect

    clean_copy(NOTEBOOKS / "01_quickstart.ipynb", lab_root / "01_quickstart.ipynb")
    panel = open_notebook(page, lab, "01_quickstart.ipynb")
    run_all_cells(page)
    run = panel.locator(".jp-OutputArea-output .nbflow-run:not(.nbflow-static)")
    expect(run).to_have_count(1, timeout=90_000)
    expect(run).to_have_attribute("data-status", "done", timeout=90_000)
    expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("VIEW!")
    wait_kernel_idle(page, 90_000)
    # Every code cell ran (has an execution count) and none raised.
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
    assert prompts and all(p.strip() not in ("[ ]:", "[*]:") for p in prompts), prompts
    expect(panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    expect(panel.locator(".jp-OutputArea-output .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")) \
        .to_have_count(0)
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "lab-quickstart.png")
