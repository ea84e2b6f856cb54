"""Tool review like Agent Inbox, in JupyterLab + Chromium (issue 21).

An entrypoint asks with LangGraph's ``HumanInterrupt`` shape (``action_request``,
``config.allow_*``, a markdown ``description``). The run view's form offers
only the allowed actions as buttons (Accept / Edit / Ignore here, no Respond),
draws the description as markdown, and Edit shows the tool's arguments as
fields pre-filled with their values; the edited arguments reach the workflow.
"""

from __future__ import annotations

import pytest

from .jlab import cell_output, open_notebook, run_cell, screenshot, wait_kernel_idle, write_notebook
from .test_lab_extension import RUN_MS, errors

pytestmark = pytest.mark.browser

LIVE = ".nbflow-run:not(.nbflow-static)"
CELLS = ['''\
import nbflow
from nbflow import InMemorySaver, entrypoint, interrupt

@entrypoint(checkpointer=InMemorySaver())
def mailer(to):
    request = {"action_request": {"action": "send_email", "args": {"to": to, "subject": "Hello", "body": "Hi there"}},
               "config": {"allow_accept": True, "allow_edit": True, "allow_respond": False, "allow_ignore": True},
               "description": ("The agent wants to **send an email** to `" + to + "`."
                               "\\n\\n- check the address\\n- check the body")}
    (answer,) = interrupt([request])
    return answer
''', 'nbflow.show(mailer, "ann@example.com", {"configurable": {"thread_id": "mail-1"}})']


def test_agent_inbox_buttons_offer_only_the_allowed_actions(ext_page, ext_lab, tmp_path):
    from playwright.sync_api import expect

    page = ext_page
    write_notebook(ext_lab.root_dir, "agent_inbox.ipynb", CELLS)
    open_notebook(page, ext_lab, "agent_inbox.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    wait_kernel_idle(page, RUN_MS)
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    form = run.locator('form.nbflow-interrupt[data-kind="inbox"]')
    buttons = form.locator(".nbflow-action")
    expect(buttons).to_have_text(["Accept", "Edit", "Ignore"])  # only the allowed ones, Respond is not
    desc = form.locator('[data-testid="nbflow-description"]')
    expect(desc.locator("strong")).to_have_text("send an email")
    expect(desc.locator("code")).to_have_text("ann@example.com")
    expect(desc.locator("li")).to_have_count(2)
    expect(form.locator(".nbflow-form-head")).to_contain_text("Review send_email")

    buttons.filter(has_text="Edit").click()
    expect(buttons.filter(has_text="Edit")).to_have_attribute("aria-pressed", "true")
    to = form.locator('[data-field="to"]')
    body = form.locator('[data-field="body"]')
    expect(to).to_have_value("ann@example.com")  # the tool's arguments, pre-filled
    expect(body).to_have_value("Hi there")
    body.fill("Hi Ann, see you at 10.")
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "agent-inbox-edit.png")
    form.locator('[data-testid="nbflow-submit"]').click()
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    result = run.locator('[data-testid="nbflow-result"]')
    expect(result).to_contain_text('"type": "edit"')
    expect(result).to_contain_text("Hi Ann, see you at 10.")
    assert [e for e in errors(page.nbflow_console) if "nbflow" in e.lower()] == []
