"""Plumbing check: JupyterLab + Debian's Chromium + Playwright can open and run a notebook."""

from __future__ import annotations

import nbformat
import pytest

from .jlab import open_notebook, run_all_cells, screenshot, wait_kernel_idle

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
