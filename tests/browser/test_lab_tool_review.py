"""Reviewing an agent's tool call in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

The test opens ``notebooks/08_reviewing_tool_calls.ipynb`` without its cells
tagged ``answer-from-code`` (those answer the question from code under nbval),
runs all cells from the Run menu and waits for section 5's run view to pause
at ``review_tool_call``'s question. The run view draws the question's
``Review`` schema (``action`` + ``data``) like Agent Inbox: Accept / Edit /
Respond / Ignore buttons, the tool's arguments as fields. The test first sends
an empty response (refused in the form, the run keeps waiting), then edits the
tool call's city to London and sends it; the agent resumes
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

    # Issue 21: the tool-call review schema (Review: action + data) is drawn like Agent Inbox: one button per
    # action, the question as the description, the tool's arguments as fields pre-filled with its values.
    buttons = form.locator(".nbflow-action")
    expect(buttons).to_have_text(["Accept", "Edit", "Respond", "Ignore"])
    expect(form.locator(".nbflow-form-head")).to_have_text("Review get_weather from agent")
    expect(form.locator('[data-testid="nbflow-description"]')).to_have_text("Is this correct?")
    submit = form.locator('[data-testid="nbflow-submit"]')

    # Respond with nothing written is refused in the form; the run keeps waiting.
    buttons.filter(has_text="Respond").click()
    submit.click()
    expect(form.locator(".nbflow-error")).to_contain_text("write a response first")
    expect(run).to_have_attribute("data-status", "interrupted")

    # Edit the tool call's arguments and send.
    buttons.filter(has_text="Edit").click()
    city = form.locator('[data-field="city"]')
    expect(city).to_have_value("Pariss")  # the model's misspelt argument, pre-filled
    city.fill("London")
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
