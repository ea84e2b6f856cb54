"""The wheel as a user gets it: `pip install "nbflow-<version>-py3-none-any.whl[lab]"` in a brand-new venv.

`make wheel-check` (run by .ci/run) builds dist/ with tests/build_dist.py (a clean copy of the tree,
`python -m build`, the Jupyter builder hook running the Node build) and runs this module with
NBFLOW_WHEEL_DIST naming that folder. Without the variable the module is skipped (plain `make test`
builds no wheel); with it every check must pass, and a missing Chromium fails instead of skipping.

The user's venv lives under pytest's tmp dir, never in .venv. Its processes get the environment of a
user's shell with that venv activated: its bin/ alone on PATH (so no node, no npm), no PYTHONPATH,
no user site-packages, a scratch working directory, Jupyter's config and data dirs in tmp. pip
installs the dependencies from the package index (pip's cache helps).

Checked there: the install needs no build and no Node; `import nbflow` comes from the venv's
site-packages; `jupyter labextension list` shows nbflow enabled and OK; the extension's files are
installed as files of the venv; a JupyterLab started from the venv's `jupyter`, in Debian's Chromium,
shows the Workflows sidebar with no console error and renders a `%%entrypoint` run view (the widgets'
bundle from the wheel). And on dist/ itself: the wheel holds no node_modules, tests or TypeScript
sources; the sdist carries the sources and the built extension, and a wheel built from it with no
Node on PATH holds the same files.

Measured (test-artifacts/wheel-check.json, printed by `make wheel-check`): the wheel's size, the build
times from dist/build.json, the venv's creation and install times.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from .conftest import lab_page
from .jlab import cell_output, open_notebook, run_cell, screenshot, wait_kernel_idle
from .lab import ARTIFACTS, LabServer, chromium_path

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
DIST_VAR = "NBFLOW_WHEEL_DIST"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
NODE_TOOLS = ("node", "nodejs", "npm", "npx", "yarn")  # (JupyterLab's jlpm runs on node: useless without it)
EXT = "share/jupyter/labextensions/nbflow"
RUN_MS = 90_000
SIDEBAR_TAB = ".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='nbflow-workflows']"
MEASURED: dict[str, object] = {}


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path
    build: dict  # dist/build.json (tests/build_dist.py's BuildReport)


@dataclass(frozen=True)
class UserVenv:
    prefix: Path
    env: dict[str, str]  # a shell with the venv activated
    cwd: Path            # a scratch folder, not the source tree
    install_log: str

    def bin(self, name: str) -> Path:
        return self.prefix / "bin" / name

    def run(self, *cmd: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)


def _save_measures() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "wheel-check.json").write_text(json.dumps(MEASURED, indent=1) + "\n")


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder} (make wheel), found {[p.name for p in found]}"
    return found[0]


@pytest.fixture(scope="module")
def dist() -> Dist:
    where = os.environ.get(DIST_VAR)
    if not where:
        pytest.skip(f"needs a built wheel: `make wheel-check` runs this module ({DIST_VAR} unset)")
    if chromium_path() is None:
        pytest.fail("Debian's Chromium not found at /usr/bin/chromium (apt-get install chromium); "
                    "make wheel-check needs it")
    folder = Path(where)
    build = json.loads((folder / "build.json").read_text())
    MEASURED.update(build=build)
    _save_measures()
    return Dist(wheel=_one(folder, f"nbflow-{VERSION}-py3-none-any.whl"),
                sdist=_one(folder, f"nbflow-{VERSION}.tar.gz"), build=build)


def user_shell_env(prefix: Path, scratch: Path) -> dict[str, str]:
    """The environment of a user's shell with the venv at ``prefix`` activated, nothing from this tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER", "CONDA", "JPY_", "NBFLOW_"))}
    env.update(PATH=str(prefix / "bin"), VIRTUAL_ENV=str(prefix), PYTHONNOUSERSITE="1",
               JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"), JUPYTER_DATA_DIR=str(scratch / "jupyter-data"),
               JUPYTER_RUNTIME_DIR=str(scratch / "jupyter-runtime"), IPYTHONDIR=str(scratch / "ipython"))
    return env


@pytest.fixture(scope="module")
def user_venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> UserVenv:
    base = tmp_path_factory.mktemp("wheel-user")
    prefix, cwd = base / "venv", base / "work"
    cwd.mkdir()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(prefix)], check=True, timeout=300)
    venv_s = time.perf_counter() - started
    env = user_shell_env(prefix, base)
    for tool in NODE_TOOLS:  # the point of a prebuilt extension: nothing here could run a Node build
        assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} is reachable on the user's PATH"

    started = time.perf_counter()
    proc = subprocess.run([str(prefix / "bin" / "python"), "-m", "pip", "install", f"{dist.wheel}[lab]"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    install_s = time.perf_counter() - started
    log = proc.stdout + proc.stderr
    (base / "pip-install.log").write_text(log)
    assert proc.returncode == 0, f"pip install of the wheel failed:\n{log[-4000:]}"
    MEASURED.update(venv_seconds=round(venv_s, 2), install_seconds=round(install_s, 2),
                    venv_bytes=sum(p.stat().st_size for p in prefix.rglob("*") if p.is_file() and not p.is_symlink()))
    _save_measures()
    return UserVenv(prefix=prefix, env=env, cwd=cwd, install_log=log)


# ----------------------------------------------------------------------------- dist/


def test_the_wheel_holds_the_package_and_the_prebuilt_extension_and_no_sources_or_tests(dist: Dist):
    names = zipfile.ZipFile(dist.wheel).namelist()
    MEASURED.update(wheel_bytes=dist.wheel.stat().st_size, wheel_files=len(names))
    _save_measures()
    data = f"nbflow-{VERSION}.data/data/{EXT}/"
    assert f"{data}package.json" in names
    assert f"{data}install.json" in names
    assert any(re.fullmatch(re.escape(data) + r"static/remoteEntry\.[0-9a-f]+\.js", n) for n in names), names
    assert f"{data}static/style.js" in names
    assert f"{data}schemas/nbflow/sidebar.json" in names
    assert "nbflow/notebook/static/widget.js" in names and "nbflow/notebook/static/widget.css" in names
    assert not [n for n in names if "node_modules" in n]
    assert not [n for n in names if n.startswith(("tests/", "labextension/", "notebooks/", "bench/", "docs/"))]
    assert not [n for n in names if n.endswith((".ts", ".tsx", ".map", ".tsbuildinfo"))]
    assert not [n for n in names if n.startswith("nbflow/labextension/")], "the extension belongs in data/, once"
    # It is this tree's package: every module in it is the tree's file, byte for byte.
    wheel = zipfile.ZipFile(dist.wheel)
    modules = [n for n in names if n.startswith("nbflow/") and n.endswith(".py")]
    tree = sorted(str(p.relative_to(REPO)) for p in (REPO / "nbflow").rglob("*.py") if "__pycache__" not in p.parts)
    assert sorted(modules) == tree
    assert [n for n in modules if wheel.read(n) != (REPO / n).read_bytes()] == []


def test_the_sdist_carries_the_sources_and_the_built_extension(dist: Dist):
    with tarfile.open(dist.sdist) as tar:
        names = [m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name]
    MEASURED.update(sdist_bytes=dist.sdist.stat().st_size)
    _save_measures()
    for need in ("pyproject.toml", "install.json", "labextension/package.json", "labextension/package-lock.json",
                 "labextension/src/widget/index.ts", "labextension/src/lab/index.ts", "labextension/schema/sidebar.json",
                 "nbflow/__init__.py", "nbflow/labextension/package.json", "nbflow/labextension/static/style.js",
                 "nbflow/notebook/static/widget.js", "nbflow/notebook/static/widget.css"):
        assert need in names, need
    assert not [n for n in names if "node_modules" in n or n.startswith((".venv/", "dist/", "build/"))]


def test_a_wheel_built_from_the_sdist_needs_no_node_and_holds_the_same_files(dist: Dist, tmp_path: Path):
    """What pip does for a user who gets the sdist: the built extension inside it is used as it is."""
    path = os.path.dirname(sys.executable)  # this venv's bin: python and pip, no node
    for tool in NODE_TOOLS:
        assert shutil.which(tool, path=path) is None, tool
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "SKIP_JUPYTER", "HATCH_JUPYTER"))}
    env["PATH"] = path
    out = tmp_path / "from-sdist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(dist.sdist)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    rebuilt = zipfile.ZipFile(_one(out, "nbflow-*.whl"))
    original = zipfile.ZipFile(dist.wheel)
    assert sorted(rebuilt.namelist()) == sorted(original.namelist())
    ext = [n for n in original.namelist() if f"/{EXT}/" in n]
    assert ext and [n for n in ext if rebuilt.read(n) != original.read(n)] == []


# ----------------------------------------------------------------------------- the user's venv


def test_pip_installed_the_wheel_without_building_anything(user_venv: UserVenv):
    log = user_venv.install_log
    assert "Successfully installed" in log and f"nbflow-{VERSION}" in log, log[-2000:]
    assert "Building wheel for nbflow" not in log, log[-2000:]


def test_nbflow_imports_from_the_venvs_site_packages(user_venv: UserVenv):
    code = ("import json, sys, nbflow, nbflow.notebook; "
            "print(json.dumps({'file': nbflow.__file__, 'version': nbflow.__version__, 'path': sys.path}))")
    proc = user_venv.run(str(user_venv.bin("python")), "-c", code)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    where = Path(seen["file"]).resolve()
    assert where.is_relative_to(user_venv.prefix.resolve()) and "site-packages" in where.parts, where
    assert not where.is_relative_to(REPO), where
    assert not [p for p in seen["path"] if p and Path(p).resolve().is_relative_to(REPO)], seen["path"]
    assert seen["version"] == VERSION
    assert (where.parent / "notebook" / "static" / "widget.js").stat().st_size > 10_000


def test_jupyter_labextension_list_shows_nbflow_enabled_and_ok(user_venv: UserVenv):
    proc = user_venv.run(str(user_venv.bin("jupyter")), "labextension", "list", timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert proc.returncode == 0, text
    # Listed under the venv's own labextensions folder, not under some other data dir.
    section, found = None, None
    for line in text.splitlines():
        if line.startswith("/"):
            section = Path(line.strip())
        elif line.strip().startswith("nbflow "):
            found = (section, line.strip())
    assert found is not None, text
    section, line = found
    assert section == user_venv.prefix / "share" / "jupyter" / "labextensions", text
    assert re.fullmatch(rf"nbflow v{re.escape(VERSION)} enabled OK \(python, nbflow\)", line), line


def test_the_extensions_files_are_installed_in_the_venv(user_venv: UserVenv):
    ext = user_venv.prefix / EXT
    pkg = json.loads((ext / "package.json").read_text())
    assert (pkg["name"], pkg["version"]) == ("nbflow", VERSION)
    load = ext / pkg["jupyterlab"]["_build"]["load"]
    assert re.fullmatch(r"remoteEntry\.[0-9a-f]+\.js", load.name) and load.stat().st_size > 1000, load
    assert pkg["jupyterlab"]["_build"].get("style") and (ext / "static" / "style.js").is_file()
    assert json.loads((ext / "schemas" / "nbflow" / "sidebar.json").read_text())
    assert json.loads((ext / "install.json").read_text())["packageName"] == "nbflow"
    # Real files of the venv: no link back into a build tree.
    assert not [p for p in [ext, *ext.rglob("*")] if p.is_symlink()]


# ----------------------------------------------------------------------------- JupyterLab from the venv


@pytest.fixture(scope="module")
def user_lab(user_venv: UserVenv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer(root_dir=tmp_path_factory.mktemp("wheel-lab-root"),
                       home=tmp_path_factory.mktemp("wheel-lab-home"),
                       command=[str(user_venv.bin("jupyter")), "lab"], base_env=user_venv.env)
    with server:
        yield server


@pytest.fixture
def user_page(chromium, user_lab: LabServer, request: pytest.FixtureRequest):
    with lab_page(chromium, user_lab, request) as pg:
        yield pg


CELLS = [
    "%load_ext nbflow\nimport sys, nbflow\nprint('nbflow from', nbflow.__file__)\nprint('prefix', sys.prefix)",
    '%%entrypoint greet --run "wheel"\nreturn f"hello from the {inputs}"',
]


def test_lab_from_the_venv_shows_the_workflows_sidebar_and_renders_a_run_view(
        user_page, user_lab: LabServer, user_venv: UserVenv, tmp_path: Path):
    from playwright.sync_api import expect

    page = user_page
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nbformat.write(nb, user_lab.root_dir / "wheel.ipynb")
    open_notebook(page, user_lab, "wheel.ipynb")

    # The extension's sidebar icon is in Lab's left bar; it opens the Workflows panel.
    tab = page.locator(SIDEBAR_TAB)
    expect(tab).to_be_visible(timeout=RUN_MS)
    expect(tab.locator("svg")).not_to_have_count(0)
    tab.click()
    sidebar = page.locator("#nbflow-workflows")
    expect(sidebar).to_be_visible()

    # The kernel is the venv's python, importing the wheel's nbflow.
    run_cell(page, 0)
    wait_kernel_idle(page, RUN_MS)
    out = cell_output(page, 0)
    expect(out).to_contain_text(f"prefix {user_venv.prefix}", timeout=RUN_MS)
    expect(out).to_contain_text(f"nbflow from {user_venv.prefix}")
    expect(sidebar).to_have_attribute("data-state", "ready", timeout=RUN_MS)  # the extension reached the kernel

    # A %%entrypoint cell's live run view: the widgets' bundle the wheel installed.
    run_cell(page, 1)
    run = cell_output(page, 1).locator(".nbflow-run:not(.nbflow-static)")
    expect(run).to_have_attribute("data-status", "done", timeout=RUN_MS)
    expect(run.locator('[data-testid="nbflow-result"]')).to_contain_text("hello from the wheel")
    wait_kernel_idle(page, RUN_MS)
    expect(sidebar.locator(".nbflow-sb-thread")).not_to_have_count(0, timeout=RUN_MS)
    screenshot(page, tmp_path, "wheel-lab.png")

    extensions = json.loads(_get(user_lab, "lab/api/extensions"))
    mine = [e for e in extensions if e.get("name") == "nbflow"]
    assert mine and mine[0].get("enabled", True), extensions
    assert [line for line in page.nbflow_console if line.startswith(("[error]", "[pageerror]"))] == []


def _get(lab: LabServer, path: str) -> str:
    with urllib.request.urlopen(lab.url(path), timeout=30) as resp:
        return resp.read().decode()
