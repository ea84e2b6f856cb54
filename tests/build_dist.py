"""Build the wheel and the sdist of this source tree as a release would, into dist/ (`make wheel`).

The build starts from a clean copy of the tree (``--work``, build/wheel-src): the files git tracks
or would track (.gitignore applies), so no node_modules, no earlier front-end build and no .venv go
in. ``python -m build`` then builds in pip-isolated environments (hatchling, hatch-jupyter-builder
and jupyterlab, from pyproject's build-system), and the wheel's Jupyter builder hook runs the Node
build there (``npm install``, ``npm run build``: the widgets' bundle and the prebuilt JupyterLab
extension, neither of them in git). So Node and npm are needed here; where the wheel is installed,
neither is. The sdist is built next from the same copy and carries that front-end build (pyproject:
sdist artifacts), so a wheel built from the sdist needs no Node either.

Writes ``<out>/build.json`` (a :class:`BuildReport`): the files made, their sizes, how long each
step took. tests/browser/test_wheel_install.py (`make wheel-check`) installs and checks what this
builds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILT_EXTENSION = Path("nbflow") / "labextension"  # what the hook builds (gitignored in the tree)
REPORT = "build.json"


class BuildError(RuntimeError):
    """A step of the release build failed; the message says which and what to do."""


@dataclass(frozen=True)
class BuildReport:
    wheel: str
    wheel_bytes: int
    sdist: str
    sdist_bytes: int
    source_files: int
    copy_seconds: float
    wheel_seconds: float  # includes the hook's npm install + npm run build
    sdist_seconds: float
    node_build_ran: bool  # the hook built nbflow/labextension and the widgets' bundle (the copy had neither)


# Without git (a tree that is not a checkout): every file except these folders of build output,
# caches and environments (.gitignore's main entries; hatch applies .gitignore itself when it packs).
NOT_SOURCE_DIRS = {".git", ".venv", "node_modules", "dist", "build", "test-artifacts", ".pytest_cache",
                   ".hypothesis", ".mypy_cache", ".ruff_cache", "__pycache__", ".nbflow", ".cache", "_site"}
BUILT_BUNDLE = [Path("nbflow") / "notebook" / "static" / name for name in ("widget.js", "widget.css", "build.json")]
NOT_SOURCE_PATHS = {BUILT_EXTENSION, Path("labextension") / "lib"}


def source_files(repo: Path) -> list[Path]:
    """The tree's files as git sees them (tracked, or untracked and not ignored), deleted ones left out."""
    out = None
    if shutil.which("git") is not None and (repo / ".git").exists():
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=repo, capture_output=True, check=False)
    if out is None or out.returncode != 0:
        print(f"make wheel: {repo} is not a git checkout; copying it without its build output", file=sys.stderr)
        return _files_without_build_output(repo)
    names = sorted({n for n in out.stdout.decode().split("\0") if n})
    return [Path(n) for n in names if (repo / n).is_file()]


def _files_without_build_output(repo: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(repo):
        here = Path(folder).relative_to(repo)
        dirs[:] = sorted(d for d in dirs if d not in NOT_SOURCE_DIRS and here / d not in NOT_SOURCE_PATHS)
        found.extend(here / f for f in sorted(files)
                     if f != ".git" and not f.endswith((".stamp", ".tsbuildinfo", ".pyc"))
                     and here / f not in BUILT_BUNDLE)
    return found


def copy_tree(repo: Path, work: Path) -> int:
    if work.exists():
        shutil.rmtree(work)
    files = source_files(repo)
    for rel in files:
        dest = work / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, dest)
    return len(files)


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    # The hook must run: nothing inherited may tell it to skip.
    for var in ("SKIP_JUPYTER_BUILDER", "HATCH_JUPYTER_BUILDER_SKIP_NPM", "PYTHONPATH"):
        env.pop(var, None)
    # npm takes what its cache holds without asking the registry again (as pip reuses its cache).
    env.setdefault("npm_config_prefer_offline", "true")
    env.setdefault("npm_config_audit", "false")
    env.setdefault("npm_config_fund", "false")
    return env


def _run_build(kind: str, work: Path, out: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "build", f"--{kind}", "--outdir", str(out), str(work)],
                          env=_build_env(), check=False)
    if proc.returncode != 0:
        raise BuildError(f"`python -m build --{kind}` failed (exit {proc.returncode}); its output is above")
    return time.perf_counter() - started


def _one(out: Path, pattern: str) -> Path:
    found = sorted(out.glob(pattern))
    if len(found) != 1:
        raise BuildError(f"expected one {pattern} in {out}, found {[p.name for p in found]}")
    return found[0]


def build(out: Path, work: Path) -> BuildReport:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise BuildError(f"make wheel needs {tool} (the Jupyter builder hook runs npm): "
                             "apt-get install nodejs npm. Installing the wheel does not need it.")
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("nbflow-*.whl"), *out.glob("nbflow-*.tar.gz"), out / REPORT]:
        old.unlink(missing_ok=True)

    started = time.perf_counter()
    count = copy_tree(REPO, work)
    copy_s = time.perf_counter() - started
    for built in (BUILT_EXTENSION, *BUILT_BUNDLE):
        if (work / built).exists():
            raise BuildError(f"{built} is in the clean copy: it must stay gitignored (it is build output)")

    wheel_s = _run_build("wheel", work, out)
    node_build_ran = (work / BUILT_EXTENSION / "package.json").is_file() and (work / BUILT_BUNDLE[0]).is_file()
    sdist_s = _run_build("sdist", work, out)

    # The copy's node_modules (~400 MB) is not kept; npm's cache makes the next install quick.
    shutil.rmtree(work / "labextension" / "node_modules", ignore_errors=True)
    wheel, sdist = _one(out, "nbflow-*.whl"), _one(out, "nbflow-*.tar.gz")
    report = BuildReport(wheel=wheel.name, wheel_bytes=wheel.stat().st_size, sdist=sdist.name,
                         sdist_bytes=sdist.stat().st_size, source_files=count, copy_seconds=round(copy_s, 2),
                         wheel_seconds=round(wheel_s, 2), sdist_seconds=round(sdist_s, 2),
                         node_build_ran=node_build_ran)
    (out / REPORT).write_text(json.dumps(asdict(report), indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="where the wheel and sdist go")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "wheel-src",
                        help="the clean copy of the tree the build runs in (replaced)")
    args = parser.parse_args(argv)
    try:
        report = build(args.out.resolve(), args.work.resolve())
    except BuildError as exc:
        print(f"make wheel: {exc}", file=sys.stderr)
        return 1
    print(f"\nmake wheel: {args.out}/{report.wheel} ({report.wheel_bytes / 1024:.0f} KiB) and {report.sdist} "
          f"({report.sdist_bytes / 1024:.0f} KiB); copy {report.copy_seconds:.1f} s, wheel "
          f"{report.wheel_seconds:.1f} s (Node build {'ran' if report.node_build_ran else 'DID NOT RUN'}), "
          f"sdist {report.sdist_seconds:.1f} s")
    return 0 if report.node_build_ran else 1


if __name__ == "__main__":
    sys.exit(main())
