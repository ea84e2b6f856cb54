"""Front-end cost of a 10,000-row run view, measured in Chromium with performance.now() (a bench, not a test).

The run view records how long applying each snapshot/batch took (``data-update-ms``,
``data-update-max-ms``, ``data-snapshot-ms`` on its root). Figures are printed and saved to
test-artifacts/notebook-bench-browser.txt; nothing is asserted about time (issue 9's target:
< 50 ms per update of a 10,000-row view).
"""

from __future__ import annotations

import os

import pytest

from .jlab import cell_output, open_notebook, run_cell, screenshot, wait_kernel_idle, write_notebook
from .lab import ARTIFACTS
from .test_lab_threads import LIVE

# A bench, so not part of `make test` (a 10,000-task run in a browser takes minutes on a loaded
# machine and asserts no time anyway): `make bench` runs it with NBFLOW_BROWSER_BENCH=1.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.environ.get("NBFLOW_BROWSER_BENCH"),
                       reason="a benchmark: run it with `make bench` (NBFLOW_BROWSER_BENCH=1)"),
]

N = 10_000


def test_front_end_update_of_a_10000_row_view(page, lab, lab_root, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab_root, "bench.ipynb", [
        f'''%load_ext nbflow
import nbflow
from nbflow import InMemorySaver, entrypoint, task

@task
def work(i):
    return i * i

@entrypoint(checkpointer=InMemorySaver())
def many(n):
    return sum(work(i).result() for i in range(n))

v = nbflow.show(many, {N})
v''',
        "v.wait()\nv  # a second view of the same thread: one snapshot of every row",
    ])
    open_notebook(page, lab, "bench.ipynb")
    run_cell(page, 0)
    live = cell_output(page, 0).locator(LIVE)
    expect(live).to_have_attribute("data-status", "done", timeout=180_000)
    run_cell(page, 1)
    wait_kernel_idle(page, 180_000)
    second = cell_output(page, 1).locator(LIVE)
    expect(second).to_have_attribute("data-snapshot-rows", str(N), timeout=60_000)
    # The list is windowed: every row is in the model, only the rows in view (plus an overscan) are drawn.
    expect(live.locator(".nbflow-log")).to_have_attribute("data-rows", str(N))
    drawn = int(live.locator(".nbflow-log").get_attribute("data-drawn"))
    assert 0 < drawn < 200 and live.locator(".nbflow-entry").count() == drawn
    batch_max = float(live.get_attribute("data-update-max-ms"))
    batch_rows = int(live.get_attribute("data-update-rows"))
    snap = float(second.get_attribute("data-snapshot-ms"))
    snap_layout = float(second.get_attribute("data-snapshot-layout-ms") or "nan")
    # Scroll the second view to its middle and to its end: the window follows, the scroll height is the whole list.
    scrolled = second.evaluate('''async el => {
        const box = el.querySelector(".nbflow-log");
        const out = {height: box.scrollHeight};
        for (const [name, frac] of [["middle", 0.5], ["end", 1]]) {
            const t0 = performance.now();
            box.scrollTop = frac * (box.scrollHeight - box.clientHeight);
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            const rows = [...box.querySelectorAll(".nbflow-entry")];
            const r = box.getBoundingClientRect();
            const seen = rows.filter(e => { const b = e.getBoundingClientRect(); return b.bottom > r.top && b.top < r.bottom; });
            out[name] = {ms: performance.now() - t0, first: seen[0]?.querySelector(".nbflow-preview")?.textContent,
                         last: seen[seen.length - 1]?.querySelector(".nbflow-preview")?.textContent};
        }
        return out;
    }''')
    assert scrolled["height"] > N * 20
    assert scrolled["end"]["last"] == repr((N - 1) ** 2), scrolled
    mid = int(scrolled["middle"]["first"])
    assert (N // 2 - 50) ** 2 <= mid <= (N // 2 + 50) ** 2, scrolled
    lines = [f"front end, run view of a {N:,}-task run (Chromium, performance.now())",
             f"  live view: largest batch applied in {batch_max:.1f} ms (up to {batch_rows:,} rows changed in one batch)",
             f"  second view of the thread: snapshot of {N:,} rows applied in {snap:.1f} ms, "
             f"{snap_layout:.1f} ms with its style and layout (target < 50 ms); {drawn} rows drawn",
             f"  scroll to the middle / end and draw the window: {scrolled['middle']['ms']:.1f} / "
             f"{scrolled['end']['ms']:.1f} ms (two animation frames included)"]
    print("\n".join(lines))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "notebook-bench-browser.txt").write_text("\n".join(lines) + "\n")
    second.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "bench-10000-rows.png")
