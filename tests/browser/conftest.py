"""Fixtures for the real-browser tests: one JupyterLab server and one Chromium for this package.

Package scope, not session scope, on purpose: while Playwright's sync API is
open it leaves an asyncio loop marked "running" in the main thread, which
breaks ``asyncio.run()`` in any test that would run after it. Package-scoped
fixtures are torn down as soon as the last test in tests/browser/ is done.

The tests need Debian's Chromium (``apt-get install chromium``; ``.ci/run``
installs it). Playwright never downloads a browser here. Without Chromium the
tests are skipped on a developer machine, but fail under CI (``CI`` set), so a
missing install step can't hide behind a skip.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import pytest

from .lab import CHROMIUM_ARGS, LabServer, chromium_path, copy_notebooks

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

NAV_TIMEOUT_MS = 60_000
ACTION_TIMEOUT_MS = 30_000


def _need_chromium() -> str:
    path = chromium_path()
    if path is None:
        msg = "Debian's Chromium not found at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg + "; CI must install it (.ci/run DEBIAN_PACKAGES)")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="package")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's root_dir: a scratch copy of notebooks/ that tests may add files to."""
    return copy_notebooks(tmp_path_factory.mktemp("lab") / "notebooks")


@pytest.fixture(scope="package")
def lab(lab_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    _need_chromium()
    server = LabServer(root_dir=lab_root, home=tmp_path_factory.mktemp("lab-home"))
    with server:
        yield server


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    executable = _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                     headless=True, timeout=NAV_TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def lab_page(chromium, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context and page on ``lab``; the page's console is kept (``page.nbflow_console``)
    and, when the test fails, printed with a screenshot and the server's log."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAV_TIMEOUT_MS)
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    pg.nbflow_console = console  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                from .lab import ARTIFACTS
                ARTIFACTS.mkdir(exist_ok=True)
                pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), timeout=10_000)
            except Exception as exc:  # the report below matters more than the picture
                console.append(f"(failure screenshot not taken: {exc!r})")
            print("---- browser console ----")
            print("\n".join(console[-80:]))
            print(lab.log_tail())
        context.close()


@pytest.fixture
def page(chromium, lab: LabServer, request: pytest.FixtureRequest):
    """A fresh page on the package's JupyterLab (see :func:`lab_page`)."""
    with lab_page(chromium, lab, request) as pg:
        yield pg


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# ---------------------------------------------------------------------------- with nbflow's Lab extension
BUILT = Path(__file__).resolve().parents[2] / "nbflow" / "labextension"


@pytest.fixture(scope="module")
def ext_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server for one test module, with this tree's prebuilt Lab extension (``make js``) in its
    data dir, whatever the venv holds."""
    if not (BUILT / "package.json").exists():
        msg = "nbflow/labextension is not built (make js)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    home = tmp_path_factory.mktemp("ext-lab-home")
    (home / "jupyter-data" / "labextensions").mkdir(parents=True)
    (home / "jupyter-data" / "labextensions" / "nbflow").symlink_to(BUILT, target_is_directory=True)
    root = copy_notebooks(tmp_path_factory.mktemp("ext-lab") / "notebooks")
    server = LabServer(root_dir=root, home=home)
    with pytest.MonkeyPatch.context() as mp:
        # In a venv Jupyter looks in the venv's share/jupyter before JUPYTER_DATA_DIR: this tree's build must win
        # over whatever the venv holds (another checkout's build, an installed wheel).
        mp.setenv("JUPYTER_PREFER_ENV_PATH", "0")
        server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ext_page(chromium, ext_lab: LabServer, request: pytest.FixtureRequest):
    """A fresh page on the module's :func:`ext_lab` server (see :func:`lab_page`)."""
    with lab_page(chromium, ext_lab, request) as pg:
        yield pg
