"""Run LangGraph 1.2.22's own Functional-API tests against nbflow.

``python tests/compat/harness.py [pytest args...]`` (what ``make compat`` runs):

1. fetches LangGraph's published sdist with pip into ``.cache/compat/dist``
   (outside git; checked against a pinned SHA-256),
2. extracts its ``tests/`` folder to ``.cache/compat/langgraph-1.2.22/upstream``,
3. selects the Functional-API tests (:mod:`compat_select`) and writes trimmed
   copies, their helper modules and snapshots to ``.../run/tests`` plus
   ``.../run/selection.json`` (kept and excluded tests, with reasons),
4. runs pytest there in a subprocess whose ``langgraph`` imports are answered
   by nbflow (:mod:`compat_alias`, installed by the plugin :mod:`compat_plugin`, which
   also provides LangGraph's fixture names and applies ``known_failures.txt``).

The exit status is pytest's: 0 when every case passes or is a listed known
failure that still fails. Nothing of LangGraph is kept in the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import compat_select as select_tests  # noqa: E402

VERSION = "1.2.22"
SDIST = f"langgraph-{VERSION}.tar.gz"
SDIST_SHA256 = "32700dc34b5cf9ebb397258c2e56392f017d4dbc51c9591339225c3c1b7b5126"
CACHE = Path(os.environ.get("NBFLOW_COMPAT_CACHE", REPO / ".cache" / "compat"))
PER_TEST_TIMEOUT = 60  # seconds; a hang fails its test instead of the whole session

_PYTEST_INI = """\
[pytest]
# Written by nbflow's compat harness.
addopts = -p no:cacheprovider --snapshot-warn-unused --timeout={timeout} -p compat_plugin
"""


class CompatSetupError(RuntimeError):
    """The sdist could not be fetched or does not match the pinned hash."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_sdist(cache: Path = CACHE) -> Path:
    dist = cache / "dist"
    target = dist / SDIST
    if not target.exists():
        dist.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", f"langgraph=={VERSION}", "-d", str(dist),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not target.exists():
            raise CompatSetupError(
                f"could not download LangGraph {VERSION}'s sdist with pip "
                f"(exit {proc.returncode}):\n{proc.stderr[-2000:]}"
            )
    digest = _sha256(target)
    if digest != SDIST_SHA256:
        target.unlink()
        raise CompatSetupError(
            f"{target} has SHA-256 {digest}, expected {SDIST_SHA256}; deleted it, run again"
        )
    return target


def extract_tests(sdist: Path, cache: Path = CACHE) -> Path:
    root = cache / f"langgraph-{VERSION}"
    upstream = root / "upstream"
    stamp = upstream / ".extracted"
    if stamp.exists():
        return upstream / "tests"
    shutil.rmtree(upstream, ignore_errors=True)
    prefix = f"langgraph-{VERSION}/tests/"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
        for m in members:
            m.name = m.name[len(f"langgraph-{VERSION}/"):]
        tar.extractall(upstream, members=members, filter="data")
    stamp.touch()
    return upstream / "tests"


def generate(upstream_tests: Path, cache: Path = CACHE) -> Path:
    """Write the run tree; return its root (the pytest rootdir)."""
    run = cache / f"langgraph-{VERSION}" / "run"
    shutil.rmtree(run, ignore_errors=True)
    tests = run / "tests"
    tests.mkdir(parents=True)
    # Helper modules the tests import as ``tests.x`` (never their conftests:
    # the fixtures come from compat_plugin).
    for path in upstream_tests.glob("*.py"):
        if not path.name.startswith(("test_", "conftest")):
            shutil.copy2(path, tests / path.name)
    if (upstream_tests / "__snapshots__").is_dir():
        shutil.copytree(upstream_tests / "__snapshots__", tests / "__snapshots__")
    selection = {"langgraph": VERSION, "files": {}}
    for name in select_tests.FILES:
        sel = select_tests.select_file(name, (upstream_tests / name).read_text())
        selection["files"][name] = {
            "selected": [s.qualname for s in sel.selected],
            "excluded": [asdict(e) for e in sel.excluded],
        }
        if sel.selected:
            (tests / name).write_text(select_tests.trim_module(sel))
    (run / "selection.json").write_text(json.dumps(selection, indent=2))
    (run / "pytest.ini").write_text(_PYTEST_INI.format(timeout=PER_TEST_TIMEOUT))
    return run


def prepare(cache: Path = CACHE) -> Path:
    return generate(extract_tests(fetch_sdist(cache), cache), cache)


def run(pytest_args: list[str], cache: Path = CACHE) -> int:
    run_dir = prepare(cache)
    env = dict(os.environ)
    # The run tree first (its ``tests`` package), then the plugin, then nbflow.
    env["PYTHONPATH"] = os.pathsep.join([str(run_dir), str(HERE), str(REPO)])
    env.setdefault("NBFLOW_COMPAT_REPORT", str(run_dir / "report.json"))
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "-c", str(run_dir / "pytest.ini"),
           "--rootdir", str(run_dir), "tests", *pytest_args]
    return subprocess.call(cmd, cwd=run_dir, env=env)


if __name__ == "__main__":
    try:
        sys.exit(run(sys.argv[1:]))
    except CompatSetupError as exc:
        print(f"compat: {exc}", file=sys.stderr)
        sys.exit(2)
