"""Thread views in a real JupyterLab + Debian Chromium: every view follows its thread, forms keep input.

Each test writes a small notebook, runs its cells one by one as a person would
(click the cell, Shift+Enter), acts in the widgets and checks the DOM; the
screenshots land in test-artifacts/ (look at them: light and dark theme, no
boxes for glyphs).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from .jlab import cell_output, left_tab, open_notebook, run_cell, screenshot, wait_kernel_idle, write_notebook

pytestmark = pytest.mark.browser

RUN_MS = 60_000
LIVE = ".jp-OutputArea-output .nbflow-run:not(.nbflow-static)"

SETUP = '''%load_ext nbflow
import time
import nbflow
from nbflow import Command, InMemorySaver, entrypoint, interrupt, task
saver = InMemorySaver()

@entrypoint(checkpointer=saver)
def review(topic):
    return {"topic": topic, "answer": interrupt({"question": f"Like {topic}?"})}

@task
def ask(q):
    return interrupt(q)

@entrypoint(checkpointer=saver)
def three(_):
    futures = [ask("first?"), ask("second?"), ask("third?")]
    return [f.result() for f in futures]
'''


# True once the dark theme is applied to Lab's chrome and to nbflow's views (computed colours, not attributes).
DARK_APPLIED = """() => {
  const lum = (el) => {
    if (!el) return 1;
    const m = getComputedStyle(el).backgroundColor.match(/[0-9.]+/g);
    if (!m || (m.length > 3 && Number(m[3]) === 0)) return 1;
    const [r, g, b] = m.map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  };
  return lum(document.querySelector('.lm-MenuBar')) < 0.35 && lum(document.querySelector('.jp-FileBrowser')) < 0.35
    && lum(document.querySelector('.jp-Notebook')) < 0.35;
}"""








def test_inbox_and_code_in_another_cell_reach_every_view(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "threads.ipynb", [
        SETUP,
        'v1 = nbflow.show(review, "cats", config={"configurable": {"thread_id": "r1"}})\nv1.wait()\nv1',
        "nbflow.inbox(review)",
        'v2 = nbflow.show(review, "dogs", config={"configurable": {"thread_id": "r2"}})\nv2.wait()\nv2',
        'nbflow.show(review, config={"configurable": {"thread_id": "r2"}})',
        'review.invoke(Command(resume="yes, from code"), {"configurable": {"thread_id": "r2"}})["answer"]',
    ])
    open_notebook(page, lab, "threads.ipynb")
    for i in range(5):
        run_cell(page, i)
    wait_kernel_idle(page, RUN_MS)
    v1 = cell_output(page, 1).locator(LIVE)
    inbox = cell_output(page, 2).locator(".nbflow-inbox")
    expect(v1).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    item = inbox.locator('.nbflow-inbox-item[data-thread-id="r1"]')
    expect(item).to_have_attribute("data-state", "waiting", timeout=RUN_MS)

    # Answer in the inbox: the run view above follows, its form turns read-only and says where the answer came from.
    answer = item.locator('[data-testid="nbflow-answer"]')
    answer.click()
    answer.press_sequentially("answered in the inbox", delay=5)
    item.locator('[data-testid="nbflow-submit"]').click()
    expect(v1).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(v1.locator('[data-testid="nbflow-answered"]')).to_contain_text("the inbox")
    expect(v1.locator('[data-testid="nbflow-result"]')).to_contain_text("answered in the inbox")
    expect(item).to_have_attribute("data-state", "done", timeout=RUN_MS)
    expect(item.locator('[data-testid="nbflow-inbox-result"]')).to_contain_text("answered in the inbox")
    v1.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "threads-inbox-answered.png")

    # Two views of thread r2; plain code in another cell answers: both views update.
    views = [cell_output(page, 3).locator(LIVE), cell_output(page, 4).locator(LIVE)]
    for v in views:
        expect(v).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    t0 = time.monotonic()
    run_cell(page, 5)
    for v in views:
        expect(v).to_have_attribute("data-status", "done", timeout=RUN_MS)
        expect(v.locator('[data-testid="nbflow-answered"]')).to_contain_text("code")
        expect(v.locator('[data-testid="nbflow-result"]')).to_contain_text("yes, from code")
    print(f"answer from another cell reached both views in {time.monotonic() - t0:.2f} s (incl. cell execution)")
    # the inbox picked up r2 too, and shows it answered
    expect(inbox.locator('.nbflow-inbox-item[data-thread-id="r2"]')).to_have_attribute("data-state", "done",
                                                                                        timeout=RUN_MS)
    views[1].scroll_into_view_if_needed()
    screenshot(page, tmp_path, "threads-answered-from-code.png")


def test_parallel_forms_keep_typed_text_and_send_all(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "parallel.ipynb", [
        SETUP,
        'v = nbflow.show(three, 0, config={"configurable": {"thread_id": "p1"}})\nv.wait()\nv',
    ])
    open_notebook(page, lab, "parallel.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    forms = run.locator("form.nbflow-interrupt")
    expect(forms).to_have_count(3)
    expect(run.locator('[data-testid="nbflow-send-all"]')).to_be_visible()
    expect(run.locator(".nbflow-hint").first).to_contain_text("Ctrl+Enter sends")

    def form_asking(q):
        return run.locator("form.nbflow-interrupt", has_text=q)

    second = form_asking("second?").locator('[data-testid="nbflow-answer"]')
    second.click()
    second.press_sequentially("half-typed second", delay=5)
    first = form_asking("first?").locator('[data-testid="nbflow-answer"]')
    first.click()
    first.press_sequentially("A", delay=5)
    first.press("Control+Enter")  # send the first one only
    expect(form_asking("first?").locator('[data-testid="nbflow-answered"]')).to_be_visible(timeout=RUN_MS)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    # the other forms were not rebuilt: the half-typed text is still there
    expect(second).to_have_value("half-typed second")
    second.press_sequentially(" (done)", delay=5)
    third = form_asking("third?").locator('[data-testid="nbflow-answer"]')
    third.fill("C")
    screenshot(page, tmp_path, "parallel-forms-kept.png")
    run.locator('[data-testid="nbflow-send-all"]').click()
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("half-typed second (done)")
    expect(run.locator('[data-testid="nbflow-answered"]')).to_have_count(3)
    expect(run.locator(".nbflow-progress-text")).to_have_text("3/3 tasks")
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "parallel-send-all-done.png")


def painted(page) -> None:
    """Wait until the browser has drawn two more frames (what was scrolled into view is on screen)."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


ANSWER_FROM_CODE = '''
import pathlib, threading

def answer(view, *questions):
    """What a person types in another cell: invoke(Command(resume={interrupt_id: ...})) for some questions."""
    ids = {i.value: i.id for i in view.interrupts}
    out = three.invoke(Command(resume={ids[q]: f"{q} from code" for q in questions}), view.config)
    return sorted(i.value for i in out["__interrupt__"]) if "__interrupt__" in out else out

def answer_when(path, view, *questions):
    """The same, once the file `path` exists (the test creates it while a sidebar form has the focus)."""
    def wait_then_answer():
        while not pathlib.Path(path).exists():
            time.sleep(0.05)
        answer(view, *questions)
    threading.Thread(target=wait_then_answer, daemon=True).start()

answer_when("go-a1", a1, "third?")
print(answer(a2, "second?", "third?"), answer(a3, "first?", "second?", "third?"))
'''


def test_an_answer_from_code_closes_only_the_forms_it_answers(page, lab, lab_root, tmp_path):
    """Three threads, each asking three questions at once; text typed into the forms of the first two
    questions (run views and the Workflows sidebar); then code in another cell answers 1, 2 and all 3 of
    them with invoke(Command(resume={id: ...})): exactly those forms close, the others keep their text
    (each its own) and still send, a sidebar form being typed in keeps the focus; "Send all" shows while
    two or more questions are open."""
    from playwright.sync_api import expect

    (lab_root / "go-a1").unlink(missing_ok=True)
    write_notebook(lab_root, "partial.ipynb", [
        SETUP,
        *(f'a{n} = nbflow.show(three, 0, config={{"configurable": {{"thread_id": "a{n}"}}}})\na{n}.wait()\na{n}'
          for n in (1, 2, 3)),
        ANSWER_FROM_CODE,
    ])
    open_notebook(page, lab, "partial.ipynb")
    for i in range(4):
        run_cell(page, i)
    wait_kernel_idle(page, RUN_MS)
    views = {n: cell_output(page, n).locator(LIVE) for n in (1, 2, 3)}

    def form(n, question):
        return views[n].locator("form.nbflow-interrupt", has_text=question)

    def field(n, question):
        return form(n, question).locator('[data-testid="nbflow-answer"]')

    def check(n, answered, status):
        v = views[n]
        expect(v).to_have_attribute("data-status", status, timeout=RUN_MS)
        expect(v.locator('[data-testid="nbflow-answered"]')).to_have_count(len(answered), timeout=RUN_MS)
        for q in answered:
            expect(form(n, q).locator('[data-testid="nbflow-answered"]')).to_contain_text(f"{q} from code")
            expect(form(n, q).locator('[data-testid="nbflow-answered"]')).to_contain_text("code (invoke")
        for q in ("first?", "second?"):
            if q not in answered:
                expect(field(n, q)).to_have_value(f"typed {q} in view {n}")
                expect(field(n, q)).to_be_editable()
                expect(form(n, q).locator('[data-testid="nbflow-submit"]')).to_be_enabled()
        # "Send all" is offered while two or more questions are open
        send_all = v.locator('[data-testid="nbflow-send-all"]')
        if len(answered) <= 1:
            expect(send_all).to_be_visible()
        else:
            expect(send_all).to_be_hidden()

    for n, v in views.items():
        expect(v).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
        expect(v.locator("form.nbflow-interrupt")).to_have_count(3)
        for q in ("first?", "second?"):
            field(n, q).click()
            field(n, q).press_sequentially(f"typed {q} in view {n}", delay=5)

    run_cell(page, 4)  # another cell answers a2's second and third question and all of a3's
    wait_kernel_idle(page, RUN_MS)
    expect(cell_output(page, 4)).to_contain_text("['first?'] ['first? from code', 'second? from code', "
                                                 "'third? from code']", timeout=RUN_MS)
    check(2, ["second?", "third?"], "interrupted")
    check(3, ["first?", "second?", "third?"], "done")
    expect(views[3].locator('[data-testid="nbflow-result"]')).to_contain_text("first? from code")
    check(1, [], "interrupted")

    # The Workflows sidebar: a1's three questions; text typed into two forms, the focus left in the first.
    left_tab(page, "nbflow-workflows").click()
    sb = page.locator("#nbflow-workflows .nbflow-sb-thread[data-key='three/a1']")
    expect(sb.locator("form.nbflow-interrupt")).to_have_count(3, timeout=RUN_MS)

    def sb_field(question):
        return sb.locator("form.nbflow-interrupt", has_text=question).locator('[data-testid="nbflow-answer"]')

    for q in ("second?", "first?"):
        sb_field(q).click()
        sb_field(q).press_sequentially(f"sidebar {q}", delay=5)
    (lab_root / "go-a1").touch()  # the cell's thread now answers a1's third question from code
    check(1, ["third?"], "interrupted")
    # the sidebar row was redrawn without the answered form: each form kept its own text, and typing
    # goes on where it was
    expect(sb.locator("form.nbflow-interrupt")).to_have_count(2, timeout=RUN_MS)
    page.keyboard.type(" and more", delay=5)
    expect(sb_field("first?")).to_have_value("sidebar first? and more")
    expect(sb_field("second?")).to_have_value("sidebar second?")
    views[1].scroll_into_view_if_needed()
    painted(page)
    screenshot(page, tmp_path, "partial-answer-from-code.png")

    # the forms left open still answer: Send all in a1, the one form of a2
    field(1, "second?").press_sequentially(" (more)", delay=5)
    views[1].locator('[data-testid="nbflow-send-all"]').click()
    expect(views[1]).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(views[1].locator('[data-testid="nbflow-result"]')).to_contain_text("typed second? in view 1 (more)")
    expect(views[1].locator('[data-testid="nbflow-result"]')).to_contain_text("third? from code")
    form(2, "first?").locator('[data-testid="nbflow-submit"]').click()
    expect(views[2]).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(views[2].locator('[data-testid="nbflow-result"]')).to_contain_text("typed first? in view 2")
    expect(views[2].locator(".nbflow-progress-text")).to_have_text("3/3 tasks")
    views[2].scroll_into_view_if_needed()
    painted(page)
    screenshot(page, tmp_path, "partial-answer-then-forms.png")


def test_schema_form_errors_failed_run_and_dark_theme(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "errors.ipynb", [
        SETUP + '''
import pydantic

class Rating(pydantic.BaseModel):
    approved: bool
    score: int = pydantic.Field(ge=1, le=5, description="1 (poor) to 5 (great)")

@entrypoint(checkpointer=saver)
def rate(topic):
    r = interrupt(f"Rate {topic}", response_schema=Rating)
    return {"score": r.score}

def parse(x):
    return int(x)

@entrypoint(checkpointer=saver)
def broken(x):
    return parse(x)
''',
        'r = nbflow.show(rate, "cats")\nr.wait()\nr',
        'nbflow.show(broken, "not a number")',
    ])
    open_notebook(page, lab, "errors.ipynb")
    for i in range(3):
        run_cell(page, i)
    wait_kernel_idle(page, RUN_MS)
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    form = run.locator("form.nbflow-interrupt")
    assert form.get_attribute("novalidate") is not None
    score = form.locator('[data-field="score"]')
    score.fill("9")
    form.locator('[data-testid="nbflow-submit"]').click()
    err = form.locator(".nbflow-field-integer .nbflow-error")
    expect(err).to_contain_text("must be ≤ 5")
    screenshot(page, tmp_path, "schema-form-error.png")
    score.fill("4")
    expect(err).to_have_count(0)  # cleared on edit
    form.locator('[data-field="approved"]').check()
    form.locator('[data-testid="nbflow-submit"]').click()
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)

    failed = cell_output(page, 2).locator(LIVE)
    expect(failed).to_have_attribute("data-status", "error", timeout=RUN_MS)
    expect(failed.locator('[data-testid="nbflow-error"]')).to_have_count(1)
    expect(failed.locator('[data-testid="nbflow-error"]')).to_contain_text("ValueError: invalid literal")
    expect(failed.locator(".nbflow-error-where")).to_contain_text("return int(x)")
    failed.locator(".nbflow-traceback summary").click()
    expect(failed.locator(".nbflow-traceback pre")).to_contain_text("Traceback")
    failed.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "failed-run-traceback.png")

    # Dark theme: Settings > Theme > JupyterLab Dark.
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
    page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=RUN_MS)
    # The attribute flips before the theme's CSS is in: wait until Lab's own chrome (menu bar, file
    # browser) and the widget are drawn dark, then let one more frame pass.
    page.wait_for_function(DARK_APPLIED, timeout=RUN_MS)
    page.wait_for_timeout(300)
    failed.evaluate("el => el.scrollIntoView({block: 'start'})")
    failed.locator(".nbflow-traceback summary").wait_for()
    shot_failed = screenshot(page, tmp_path, "dark-failed-run.png")
    run.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(200)
    shot_done = screenshot(page, tmp_path, "dark-schema-done.png")
    assert shot_failed.read_bytes() != shot_done.read_bytes(), "the two dark screenshots show the same thing"
    dark = page.evaluate("""() => ({menu: getComputedStyle(document.querySelector('.lm-MenuBar')).backgroundColor,
                                    status: getComputedStyle(document.querySelector('.nbflow-status')).color})""")
    print("dark theme colours:", dark)
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
    page.get_by_role("menuitem", name="JupyterLab Light", exact=True).click()
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=RUN_MS)


def test_kernel_restart_disables_forms_and_says_how_to_reattach(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "restart.ipynb", [
        SETUP,
        'v = nbflow.show(review, "owls", config={"configurable": {"thread_id": "k1"}})\nv.wait()\nv',
    ])
    open_notebook(page, lab, "restart.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "interrupted", timeout=RUN_MS)
    run.locator('[data-testid="nbflow-answer"]').fill("typed before the restart")
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Kernel$")).click()
    page.locator(".lm-Menu-item[data-command='kernelmenu:restart']").click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    expect(run).to_have_attribute("data-kernel", "gone", timeout=RUN_MS)
    banner = run.locator(".nbflow-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("re-run the cell")
    expect(banner).to_contain_text('thread_id": "k1"')
    expect(run.locator('[data-testid="nbflow-submit"]')).to_be_disabled()
    expect(run.locator('[data-testid="nbflow-answer"]')).to_be_disabled()
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "kernel-restarted.png")


def test_saved_mid_run_then_settled_exports_the_final_status(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "saved.ipynb", [
        SETUP + '''
@task
def slow(x):
    time.sleep(6)
    return x * 2

@entrypoint(checkpointer=saver)
def slowflow(x):
    return {"doubled": slow(x).result()}
''',
        "nbflow.show(slowflow, 21)",
    ])
    open_notebook(page, lab, "saved.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "running", timeout=RUN_MS)
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    time.sleep(1.5)
    mid = (lab_root / "saved.ipynb").read_text()
    assert 'data-status=\\"running\\"' in mid, "the notebook was not saved mid-run"
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    time.sleep(0.5)
    page.keyboard.press("Control+s")
    deadline = time.time() + 20
    while time.time() < deadline and 'data-status=\\"done\\"' not in (lab_root / "saved.ipynb").read_text():
        time.sleep(0.3)
    out = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--output-dir",
                          str(tmp_path), str(lab_root / "saved.ipynb")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "saved.html").read_text()
    assert 'data-status="done"' in html
    assert re.search(r'data-testid="nbflow-result">\{\s*(&quot;|")doubled(&quot;|"): 42\s*\}</pre>', html), html[-3000:]
    assert 'data-status="running"' not in html
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "saved-then-settled.png")


def test_timeline_branches_fork_to_a_new_thread_and_compare(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "timeline.ipynb", [
        SETUP + '''
@task
def step(x):
    return x * 10

@task
def finish(y):
    return y + 1

@entrypoint(checkpointer=saver)
def flow(x):
    return finish(step(x).result()).result()

flow.invoke(2, {"configurable": {"thread_id": "tl"}})
''',
        'nbflow.timeline(flow, {"configurable": {"thread_id": "tl"}})',
    ])
    open_notebook(page, lab, "timeline.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    tl = cell_output(page, 1).locator(".nbflow-timeline")
    expect(tl.locator(".nbflow-inv")).to_have_count(1, timeout=RUN_MS)
    tl.locator('[data-testid="nbflow-replay"]').click()  # re-run #0 from its input: a branch on this thread
    expect(tl.locator(".nbflow-inv")).to_have_count(2, timeout=RUN_MS)
    second = tl.locator('.nbflow-inv[data-index="1"]')
    expect(second).to_contain_text("branch from #0")
    expect(second).to_contain_text("head")
    # Fork #1 at its first task with a new result: a NEW thread, shown in a run view under the timeline.
    second.locator(".nbflow-inv-head").click()
    tl.locator('.nbflow-inv[data-index="1"] [data-testid="nbflow-fork-open"]').first.click()
    tl.locator('[data-testid="nbflow-fork-value"]').fill("100")
    tl.locator('[data-testid="nbflow-fork"]').click()
    runs = cell_output(page, 1).locator(LIVE)
    # Issue 21 point 5: the fork's run view is added (newest first); the re-run's view of this thread stays.
    expect(runs).to_have_count(2, timeout=RUN_MS)
    run = runs.first
    expect(runs.nth(1)).to_have_attribute("data-thread-id", "tl")
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(run.locator(".nbflow-thread")).to_have_text(re.compile(r"thread flow-\d+"))
    expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("101")
    expect(tl.locator(".nbflow-inv")).to_have_count(2)  # this thread did not change
    # Compare the two invocations of the thread: differences highlighted.
    tl.locator('.nbflow-inv[data-index="0"] [data-testid="nbflow-compare-pick"]').check()
    tl.locator('.nbflow-inv[data-index="1"] [data-testid="nbflow-compare-pick"]').check()
    table = tl.locator('[data-testid="nbflow-compare"]')
    expect(table).to_be_visible(timeout=RUN_MS)
    expect(table.locator("tr", has_text="return value")).to_have_attribute("data-same", "true")
    tl.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "timeline-branches-compare.png")
    # The selected invocation: each task with its input and output, and the state at its checkpoint.
    details = tl.locator('.nbflow-inv[data-index="1"] .nbflow-details')
    expect(details.locator('[data-testid="nbflow-task-input"]').first).to_have_text("(2,)")
    expect(details.locator('[data-testid="nbflow-task-output"]').first).to_have_text("20")
    body = details.locator('[data-testid="nbflow-state-body"]')
    expect(body).to_have_text("21", timeout=RUN_MS)
    details.locator('[data-testid="nbflow-state-json"]').click()
    expect(details.locator('[data-testid="nbflow-state"]')).to_have_attribute("data-format", "json")
    # Compare this invocation with the fork on the new thread: the differing rows are highlighted.
    fork_thread = run.locator(".nbflow-thread").text_content().replace("thread ", "")
    details.locator('[data-testid="nbflow-compare-thread"]').select_option(fork_thread)
    details.locator('[data-testid="nbflow-compare-thread-go"]').click()
    expect(table).to_contain_text(f"thread {fork_thread} #0", timeout=RUN_MS)
    expect(table.locator("tr", has_text="step (call 0)")).to_have_attribute("data-same", "false")
    expect(table.locator("tr", has_text="return value")).to_have_attribute("data-same", "false")
    expect(table.locator("tr", has_text="input")).to_have_attribute("data-same", "true")
    table.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "timeline-compare-two-threads.png")


def test_stop_while_running_then_continue(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "stop.ipynb", [
        SETUP + '''
import threading
started, gate = threading.Event(), threading.Event()

@task
def quick(x):
    return x + 1

@task
def slow(x):
    started.set()
    gate.wait(60)
    return x * 10

@entrypoint(checkpointer=saver)
def stoppable(x):
    a = quick(x).result()
    fut = slow(a)
    started.wait(60)  # slow runs on a worker thread, so a stop can abandon it
    return fut.result()
''',
        'nbflow.show(stoppable, 1, config={"configurable": {"thread_id": "st"}})',
        "gate.set()",
    ])
    open_notebook(page, lab, "stop.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "running", timeout=RUN_MS)
    expect(run.locator('.nbflow-entry[data-state="running"]')).to_have_count(1, timeout=RUN_MS)
    stop = run.locator('[data-testid="nbflow-stop"]')
    expect(stop).to_be_visible()
    stop.click()
    expect(run).to_have_attribute("data-status", "stopped", timeout=RUN_MS)
    expect(run.locator(".nbflow-status-text")).to_have_text("stopped")
    expect(run.locator(".nbflow-status-icon .nbflow-icon-stopped")).to_have_count(1)
    expect(stop).to_be_hidden()
    abandoned = run.locator('.nbflow-entry[data-state="stopped"]')
    expect(abandoned).to_have_count(1)
    expect(abandoned).to_contain_text("slow")
    expect(abandoned).to_contain_text("abandoned")
    expect(run.locator('.nbflow-entry[data-state="ok"]')).to_contain_text("quick")
    note = run.locator('[data-testid="nbflow-stopped"]')
    expect(note).to_be_visible()
    expect(note).to_contain_text("invoke(None, config)")
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "run-stopped.png")
    # Continue: the abandoned task runs again, this time to the end.
    run_cell(page, 2)
    wait_kernel_idle(page, RUN_MS)
    note.locator('[data-testid="nbflow-continue"]').click()
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("20")
    expect(run.locator(".nbflow-progress-text")).to_have_text("2/2 tasks")
    expect(note).to_be_hidden()
    # issue 21 point 5: the stop's note does not stay under the continued run
    expect(run.get_by_text("stopped by Workflow.stop()")).to_have_count(0)
    screenshot(page, tmp_path, "run-continued.png")


def test_graph_tab_draws_what_ran_live(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "graph.ipynb", [
        SETUP + '''
import threading
gate = threading.Event()

@task
def leaf(i):
    return i * 2

@task
def total(xs):
    gate.wait(60)
    return sum(xs)

@entrypoint(checkpointer=saver)
def fan(n):
    futs = [leaf(i) for i in range(n)]
    return total([f.result() for f in futs]).result()
''',
        'nbflow.show(fan, 3, config={"configurable": {"thread_id": "g"}})',
        "gate.set()",
    ])
    open_notebook(page, lab, "graph.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    run = cell_output(page, 1).locator(LIVE)
    expect(run).to_have_attribute("data-status", "running", timeout=RUN_MS)
    expect(run.locator('.nbflow-entry[data-state="ok"]')).to_have_count(3, timeout=RUN_MS)
    run.locator('[data-testid="nbflow-tab-graph"]').click()
    graph = run.locator('[data-testid="nbflow-graph"] svg')
    expect(run.locator(".nbflow-log")).to_be_hidden()
    # while running: the fan-out wave of three leaves, drawn in one column after the start
    expect(graph.locator('.nbflow-graph-node[data-shape="rect"]')).to_have_count(3, timeout=RUN_MS)
    expect(graph.locator('.nbflow-graph-node[data-id="finish"]')).to_contain_text("running")
    xs = {graph.locator(f'.nbflow-graph-node[data-id="t{i}"] rect').get_attribute("x") for i in range(3)}
    assert len(xs) == 1, xs
    run.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "graph-running.png")
    run_cell(page, 2)  # let the fan-in finish: the open tab follows
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(graph.locator('.nbflow-graph-node[data-shape="rect"]')).to_have_count(4, timeout=RUN_MS)
    expect(graph.locator('.nbflow-graph-node[data-id="finish"]')).to_contain_text("return: 6")
    expect(graph.locator(".nbflow-graph-edge")).to_have_count(3 + 3 + 1)  # start→leaves, leaves→total, total→finish
    assert "flowchart" in run.locator('[data-testid="nbflow-mermaid"]').text_content()
    screenshot(page, tmp_path, "graph-done.png")
    run.locator('[data-testid="nbflow-tab-tasks"]').click()
    expect(run.locator(".nbflow-entry")).to_have_count(4)


def test_inbox_filter_by_workflow_and_jump_to_the_run_view(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "inboxjump.ipynb", [
        SETUP,
        'a = nbflow.show(review, "owls", config={"configurable": {"thread_id": "j1"}})\na.wait()\na',
        'b = nbflow.show(three, 0, config={"configurable": {"thread_id": "j2"}})\nb.wait()\nb',
        'print("\\n".join(f"line {i}" for i in range(60)))  # pushes the run views out of sight',
        "nbflow.inbox()",
    ])
    open_notebook(page, lab, "inboxjump.ipynb")
    for i in range(5):
        run_cell(page, i)
    wait_kernel_idle(page, RUN_MS)
    inbox = cell_output(page, 4).locator(".nbflow-inbox")
    items = inbox.locator(".nbflow-inbox-item")
    expect(items).to_have_count(2, timeout=RUN_MS)
    flt = inbox.locator('[data-testid="nbflow-inbox-filter"]')
    expect(flt).to_be_visible()
    flt.select_option("review")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-thread-id", "j1")
    flt.select_option("three")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-thread-id", "j2")
    expect(inbox.locator(".nbflow-header")).to_contain_text("1 waiting for input")
    flt.select_option("")
    expect(items).to_have_count(2)
    # Jump: the run view of j1, far above, scrolls into sight and is outlined for a moment.
    inbox.scroll_into_view_if_needed()
    view = cell_output(page, 1).locator(LIVE)
    expect(view).not_to_be_in_viewport()
    inbox.locator('.nbflow-inbox-item[data-thread-id="j1"] [data-testid="nbflow-jump"]').click()
    expect(view).to_be_in_viewport(timeout=5_000)
    expect(view).to_have_class(re.compile(r"nbflow-flash"))
    screenshot(page, tmp_path, "inbox-jumped-to-run-view.png")
