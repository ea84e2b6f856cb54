"""Reviewing an agent's tool call in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

The test opens ``notebooks/08_reviewing_tool_calls.ipynb`` without its cells
tagged ``answer-from-code`` (those answer the question from code under nbval),
runs all cells from the Run menu and waits for section 5's run view to pause
at ``review_tool_call``'s question. The run view renders the question's
``Review`` schema as a form: a drop-down for ``action`` and a JSON box for
``data``. The test first sends bad JSON (refused in the form, the run keeps
waiting), then edits the tool call to London and sends it; the agent resumes
in the kernel, calls the tool with the edited arguments and the run view shows
the model's final answer built from London's weather.

DOM hooks: run view ``.nbflow-run[data-status]``, interrupt form
``form.nbflow-interrupt[data-interrupt-id]``, schema fields
``[data-field=<name>]``, submit ``[data-testid=nbflow-submit]``, validation
message ``.nbflow-error``, result ``[data-testid=nbflow-result]``, the answered
form's line ``[data-testid=nbflow-answered]`` (labextension/src/forms.ts).
"""

from __future__ import annotations

import pytest

from .jlab import open_notebook, run_all_cells, screenshot, wait_kernel_idle
from .lab import NOTEBOOKS, clean_copy

pytestmark = pytest.mark.browser

NOTEBOOK = "08_reviewing_tool_calls.ipynb"
ANSWER_TAG = "answer-from-code"
RUN_MS = 90_000  # kernel start + every cell up to the question, on a busy 2-core CI machine


def test_edit_a_tool_call_in_the_run_views_form(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    removed = clean_copy(NOTEBOOKS / NOTEBOOK, lab_root / NOTEBOOK, drop_tag=ANSWER_TAG)
    assert removed >= 1, f"{NOTEBOOK} has no cell tagged {ANSWER_TAG!r}; Run All would answer the form itself"

    panel = open_notebook(page, lab, NOTEBOOK)
    run_all_cells(page)

    # Section 5's live run view (not a static fallback), paused at the review question.
    run = panel.locator(".jp-OutputArea-output .nbflow-run:not(.nbflow-static)")
    expect(run).to_have_count(1, timeout=RUN_MS)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    form = run.locator("form.nbflow-interrupt[data-interrupt-id]")
    expect(form).to_have_count(1)
    expect(form).to_be_visible()
    expect(run).to_contain_text("Is this correct?")
    expect(run).to_contain_text("Pariss")  # the model's misspelt tool argument, shown to the reviewer
    wait_kernel_idle(page, RUN_MS)  # every cell has run: nothing else will answer

    action = form.locator('select[data-field="action"]')
    data = form.locator('[data-field="data"]')
    submit = form.locator('[data-testid="nbflow-submit"]')
    expect(action).to_be_visible()
    expect(data).to_be_visible()
    # Issue 21 point 5: the typed form says who asks, and its optional Data box starts empty (not "null").
    expect(form.locator(".nbflow-form-head")).to_have_text("Review from agent")
    expect(data).to_have_value("")
    labels = [o.strip() for o in action.locator("option").all_inner_texts()]
    assert {"accept", "edit", "respond", "ignore"} <= set(labels), labels

    # Bad JSON in `data` is refused in the form; the run keeps waiting.
    action.select_option(label="edit")
    data.fill('{"city": London}')
    submit.click()
    expect(form.locator(".nbflow-error")).to_be_visible()
    expect(run).to_have_attribute("data-status", "interrupted")

    # Edit the tool call's arguments and send.
    data.fill('{"city": "London"}')
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "lab-tool-review-form.png")
    submit.click()

    # The agent resumes, runs get_weather on London and answers; the view shows it.
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    result = run.locator('[data-testid="nbflow-result"]')
    expect(result).to_be_visible()
    expect(result).to_contain_text("Here is what I found: light rain, 16 °C.")
    expect(run).to_contain_text("light rain, 16 °C")
    expect(run.locator("form.nbflow-interrupt:not(.nbflow-answered)")).to_have_count(0)
    answered = run.locator('[data-testid="nbflow-answered"]')
    expect(answered).to_contain_text("edit")
    expect(answered).to_contain_text("London")
    expect(run.locator(".nbflow-error")).to_have_count(0)
    result.scroll_into_view_if_needed()
    shot = screenshot(page, tmp_path, "lab-tool-review-done.png")
    assert shot.stat().st_size > 10_000
