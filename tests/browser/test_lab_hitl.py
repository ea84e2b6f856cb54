"""Human in the loop in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

The test opens ``notebooks/02_human_in_the_loop.ipynb`` in JupyterLab, runs
all cells from the Run menu, waits for the run view's interrupt form, types an
answer into it, presses Send and checks that the run view shows the final
result containing that answer.

The notebook answers its question from code in the cells tagged
``answer-from-code`` (that is what ``pytest --nbval`` runs). The browser gets a
copy without those cells and without saved outputs, so "Run All" stops with
the form pending, exactly as a person would see it.

DOM hooks (the widget's agreed contract): run view ``.nbflow-run[data-status]``
(the live widget; the static HTML fallback also has ``.nbflow-static``),
interrupt form ``form.nbflow-interrupt[data-interrupt-id]``, text answer
``[data-testid=nbflow-answer]``, submit ``[data-testid=nbflow-submit]``,
validation message ``.nbflow-error``, result ``[data-testid=nbflow-result]``.
"""

from __future__ import annotations

import pytest

from .jlab import open_notebook, run_all_cells, screenshot, wait_kernel_idle
from .lab import NOTEBOOKS, clean_copy

pytestmark = pytest.mark.browser

NOTEBOOK = "02_human_in_the_loop.ipynb"
ANSWER_TAG = "answer-from-code"
ANSWER = "Mention the whiskers, typed in Chromium."
RUN_MS = 90_000  # kernel start + every cell up to the question, on a busy 2-core CI machine


def test_answer_an_interrupt_by_typing_in_the_form(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    removed = clean_copy(NOTEBOOKS / NOTEBOOK, lab_root / NOTEBOOK, drop_tag=ANSWER_TAG)
    assert removed >= 1, f"{NOTEBOOK} has no cell tagged {ANSWER_TAG!r}; Run All would answer the form itself"

    panel = open_notebook(page, lab, NOTEBOOK)
    run_all_cells(page)

    # The live run view (not the static HTML fallback), paused at the question.
    run = panel.locator(".jp-OutputArea-output .nbflow-run:not(.nbflow-static)")
    expect(run).to_have_count(1, timeout=RUN_MS)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    form = run.locator("form.nbflow-interrupt[data-interrupt-id]")
    expect(form).to_have_count(1)
    expect(form).to_be_visible()
    assert form.get_attribute("data-interrupt-id"), "the form does not name its interrupt"
    expect(run).to_contain_text("Any feedback on this draft?")
    wait_kernel_idle(page, RUN_MS)  # every cell has run: nothing else will answer

    answer = form.locator('[data-testid="nbflow-answer"]')
    submit = form.locator('[data-testid="nbflow-submit"]')

    # A bad answer is refused in the form and the run keeps waiting: with the
    # JSON toggle on, text that is not JSON gets a validation message.
    json_toggle = form.locator('[data-testid="nbflow-json"]')
    json_toggle.check()
    answer.fill("{not json")
    submit.click()
    expect(form.locator(".nbflow-error")).to_be_visible()
    expect(run).to_have_attribute("data-status", "interrupted")
    json_toggle.uncheck()
    answer.fill("")

    # Type the answer as a person would (key by key: JupyterLab's command-mode
    # shortcuts must not swallow the keys), then press Send.
    answer.click()
    answer.press_sequentially(ANSWER, delay=5)
    expect(answer).to_have_value(ANSWER)
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "lab-hitl-form.png")
    submit.click()

    # The run resumes in the kernel and finishes; the view shows the result.
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    result = run.locator('[data-testid="nbflow-result"]')
    expect(result).to_be_visible()
    expect(result).to_contain_text(f"Revised after feedback: {ANSWER}")
    # the answered form stays, read-only, showing the answer and where it came from
    expect(run.locator("form.nbflow-interrupt:not(.nbflow-answered)")).to_have_count(0)
    expect(run.locator('[data-testid="nbflow-answered"]')).to_contain_text("from a run view")
    expect(run.locator(".nbflow-error")).to_have_count(0)
    result.scroll_into_view_if_needed()
    shot = screenshot(page, tmp_path, "lab-hitl-done.png")
    assert shot.stat().st_size > 10_000
