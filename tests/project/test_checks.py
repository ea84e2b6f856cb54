"""Static checks of nbflow, so `make test` fails when one fails.

* the layer contract (.importlinter, run by import-linter's ``lint-imports``):
  layers import downward only, siblings not at all;
* no import cycle anywhere in nbflow, annotation-only (TYPE_CHECKING) imports included;
* ruff (rules in pyproject.toml) over the paths in LINTED: all of nbflow/;
* mypy over all of nbflow/, every error fatal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINTED = ["nbflow"]
BIN = Path(sys.executable).parent


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def test_layer_contract(tmp_path):
    res = _run([_tool("lint-imports"), "--no-logo", "--no-cache", str(ROOT / ".importlinter")], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def _contract_modules() -> tuple[set[str], set[str]]:
    """(modules named in the top-level contract's layers, containers of the other contracts)."""
    import configparser

    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    named: set[str] = set()
    containers: set[str] = set()
    for section in parser.sections():
        if not section.startswith("importlinter:contract:"):
            continue
        layers = parser[section].get("layers", "")
        if "containers" in parser[section]:
            containers.update(c.strip() for c in parser[section]["containers"].split())
            for c in containers:
                named.update(f"{c}.{m.strip()}" for line in layers.splitlines() for m in line.split("|") if m.strip())
        else:
            named.update(m.strip() for line in layers.splitlines() for m in line.split("|") if m.strip())
    return named, containers


def test_every_module_is_in_the_layer_contract():
    """Each module of nbflow (a package's __init__ aside) is placed by the contract: itself or a package above it."""
    named, _ = _contract_modules()
    missing = []
    for path in sorted((ROOT / "nbflow").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            continue
        module = ".".join(parts)
        if module in ("nbflow.__main__",):
            continue
        prefixes = {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
        if not prefixes & named:
            missing.append(module)
    assert missing == [], f"modules the layer contract (.importlinter) does not place: {missing}"


def test_no_import_cycles():
    import grimp

    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("nbflow", exclude_type_checking_imports=False, cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    # the package root re-exports the public API: an edge into it is a facade edge, not a layer edge
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if d != "nbflow"} for m in graph.modules}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(edges.get(m, ())):
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d):], d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_ruff(tmp_path):
    res = _run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise", *LINTED], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy(tmp_path):
    # All of nbflow/, every error fatal (pyproject has no mypy overrides).
    res = _run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy"), "nbflow"], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_one_exception_tree():
    """Every exception class of nbflow is defined in errors.py, drawn in its docstring, and is an NbflowError
    (but the two control-flow signals); private control-flow helpers (a leading underscore) aside."""
    import importlib
    import inspect
    import pkgutil

    import nbflow
    from nbflow import errors

    outside = []
    for info in pkgutil.walk_packages(nbflow.__path__, "nbflow."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency is missing (e.g. the encryption extra)
            continue
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name
                    and info.name != "nbflow.errors" and not issubclass(obj, Warning) and not name.startswith("_")):
                outside.append(f"{info.name}.{name}")
    assert outside == [], f"exception classes defined outside nbflow/errors.py: {outside}"
    classes = [getattr(errors, n) for n in errors.__all__ if inspect.isclass(getattr(errors, n))]
    for cls in classes:
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} is not drawn in errors.py's tree"
        if not issubclass(cls, (errors.GraphInterrupt, errors.RunStopped)):
            assert issubclass(cls, errors.NbflowError), cls
    defined = {n for n, o in vars(errors).items() if inspect.isclass(o) and issubclass(o, BaseException)
               and o.__module__ == "nbflow.errors" and not n.startswith("_")}
    assert defined <= set(errors.__all__), defined - set(errors.__all__)
