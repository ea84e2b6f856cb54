"""The widgets need no JupyterLab extension: with nbflow's Lab extension switched off (as
`jupyter labextension disable nbflow` does; VS Code loads no Lab plugins either), `%load_ext nbflow`
and a `%%entrypoint` still give a live run view whose form answers the question, through anywidget alone.
"""

from __future__ import annotations

import pytest

from .conftest import lab_page
from .jlab import open_notebook, run_all_cells, screenshot, wait_kernel_idle, write_notebook
from .lab import LabServer

pytestmark = pytest.mark.browser

RUN_MS = 90_000


# Runs after every DOM change (a microtask, once the code that changed the DOM has finished): counts
# the renderings of run views and the moments one of them showed an empty header.
BLANK_WATCH = """() => {
  window.__nbflowBlank = 0;
  window.__nbflowRenders = 0;
  const seen = new WeakSet();
  new MutationObserver(() => {
    for (const r of document.querySelectorAll(".nbflow-run:not(.nbflow-static)")) {
      if (!seen.has(r)) { seen.add(r); window.__nbflowRenders++; }
      const name = r.querySelector(".nbflow-name");
      if (name && name.textContent === "") window.__nbflowBlank++;
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


@pytest.fixture(scope="module")
def plain_lab(tmp_path_factory: pytest.TempPathFactory):
    from .conftest import _need_chromium

    _need_chromium()
    root = tmp_path_factory.mktemp("plain-lab")
    server = LabServer(root_dir=root, home=tmp_path_factory.mktemp("plain-lab-home"),
                       disabled_extensions=("nbflow",))
    with server:
        yield server


def test_run_view_and_its_form_work_with_the_lab_extension_switched_off(chromium, plain_lab, tmp_path, request):
    from playwright.sync_api import expect

    write_notebook(plain_lab.root_dir, "plain.ipynb", [
        "%load_ext nbflow\nfrom nbflow import interrupt",
        '%%entrypoint review --run "cats"\n'
        'answer = interrupt({"question": f"Like {inputs}?"})\n'
        'return f"{inputs}: {answer}"',
    ])
    with lab_page(chromium, plain_lab, request) as page:
        panel = open_notebook(page, plain_lab, "plain.ipynb")
        # the extension is really off: no Workflows sidebar, no nbflow menu
        expect(page.locator(".jp-SideBar .lm-TabBar-tab[data-id='nbflow-workflows']")).to_have_count(0)
        expect(page.locator(".lm-MenuBar-item", has_text="nbflow")).to_have_count(0)
        run_all_cells(page)
        run = panel.locator(".jp-OutputArea-output .nbflow-run:not(.nbflow-static)")
        expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
        wait_kernel_idle(page, RUN_MS)
        form = run.locator("form.nbflow-interrupt[data-interrupt-id]")
        expect(form).to_contain_text("Like cats?")
        # From now on, count every moment a live run view shows no workflow name (an empty view).
        page.evaluate(BLANK_WATCH)
        answer = form.locator('[data-testid="nbflow-answer"]')
        answer.click()
        answer.press_sequentially("very much", delay=5)
        form.locator('[data-testid="nbflow-submit"]').click()
        expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
        expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("cats: very much")
        wait_kernel_idle(page, RUN_MS)
        page.wait_for_timeout(1000)
        # When the thread settles the kernel refreshes the output (update_display): the new rendering
        # starts from what the view showed, never from an empty view while the kernel answers.
        assert page.evaluate("window.__nbflowRenders") >= 2, "the output was not rendered again: nothing checked"
        assert page.evaluate("window.__nbflowBlank") == 0, "a run view was shown empty"
        page.wait_for_timeout(1500)  # the view stays as it is once the thread has settled
        expect(run).to_have_attribute("data-status", "done")
        expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("cats: very much")
        screenshot(page, tmp_path, "lab-without-extension.png")
        assert [line for line in page.nbflow_console if line.startswith("[pageerror]")] == []
