"""The tutorial set: only the notebooks in notebooks/tutorials.txt are collected, and their saved outputs are portable.

nbval itself (``--nbval`` in addopts) re-runs each listed tutorial and compares its outputs;
these tests check what surrounds that: the manifest, the collection hook in
notebooks/conftest.py, and that no saved output embeds a machine-specific path.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"

# notebooks/conftest.py under its own module name (``conftest`` is tests/conftest.py here)
_spec = importlib.util.spec_from_file_location("nbflow_tutorials_conftest", NOTEBOOKS / "conftest.py")
_hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_hook)

TUTORIALS = _hook.tutorial_names(NOTEBOOKS / "tutorials.txt")


def test_manifest_lists_existing_numbered_notebooks():
    assert TUTORIALS, "notebooks/tutorials.txt lists no tutorial"
    assert len(set(TUTORIALS)) == len(TUTORIALS), f"duplicates in tutorials.txt: {TUTORIALS}"
    for name in TUTORIALS:
        assert (NOTEBOOKS / name).is_file(), f"tutorials.txt lists {name}, which is not in notebooks/"
        assert name[:2].isdigit() and name.endswith(".ipynb"), name
    assert TUTORIALS == sorted(TUTORIALS), "keep tutorials.txt in reading (numeric) order"


def _collect(project: Path, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=project, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # addopts' -q plus ours prints one "path: N" line per collected file
    return {m.group(1) for m in re.finditer(r"^(\S+\.ipynb)(?:::\S+|: \d+)$", proc.stdout, re.MULTILINE)}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repo's pytest set-up and tutorials, plus a user's own notebooks."""
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    (tmp_path / "notebooks").mkdir()
    for name in ("conftest.py", "tutorials.txt", "nbval_sanitize.cfg", *TUTORIALS):
        shutil.copy(NOTEBOOKS / name, tmp_path / "notebooks" / name)
    mine = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(mine, tmp_path / "notebooks" / "my_experiment.ipynb")
    nbformat.write(mine, tmp_path / "notebooks" / "09_my_numbered_draft.ipynb")
    (tmp_path / "notebooks" / "scratch").mkdir()
    nbformat.write(mine, tmp_path / "notebooks" / "scratch" / "03_workflows.ipynb")
    return tmp_path


def test_a_users_own_notebooks_are_not_collected(project: Path):
    collected = _collect(project, "notebooks")
    assert collected == {f"notebooks/{name}" for name in TUTORIALS}


def test_a_notebook_named_on_the_command_line_is_still_checked(project: Path):
    collected = _collect(project, "notebooks/my_experiment.ipynb")
    assert collected == {"notebooks/my_experiment.ipynb"}


@pytest.mark.parametrize("name", TUTORIALS)
def test_saved_outputs_hold_no_machine_specific_paths(name: str):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    leaks = (str(REPO), str(Path.home()), "/tmp/", "/work/")
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            text = str(output.get("text", "")) + str(output.get("data", {})) + str(output.get("traceback", ""))
            for leak in leaks:
                assert leak not in text, f"{name} cell {index} prints the machine path {leak!r}"


def _coverage_rows() -> list[tuple[str, str]]:
    text = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    section = text.split("## Seed coverage", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        separator = bool(cells[-1]) and set(cells[-1]) <= {"-", " "}
        if line.startswith("|") and len(cells) == 2 and not separator:
            if cells != ["seed section / example", "notebook and cell"] and cells != ["topic", "notebook and cell"]:
                rows.append((cells[0], cells[1]))
    return rows


def test_seed_coverage_table_has_no_empty_row_and_points_at_real_cells():
    rows = _coverage_rows()
    assert len(rows) > 60, "the seed-coverage table in notebooks/README.md looks truncated"
    code_cells = {}
    for name in TUTORIALS:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code_cells[name[:2]] = sum(1 for c in nb.cells if c.cell_type == "code")
    for seed, where in rows:
        assert where, f"no notebook for seed row {seed!r}"
        assert re.search(r"\b0\d\b|pending: issue \d+|n/a|every ", where), f"row {seed!r}: {where!r}"
        # every "NN ... In [k]" reference names an existing notebook with at least k code cells
        for number, rest in re.findall(r"\b(0\d)\b([^;]*)", where):
            assert number in code_cells, f"row {seed!r} names notebook {number}, which is not a tutorial"
            for k in re.findall(r"In \[(\d+)\]", rest):
                assert int(k) <= code_cells[number], f"row {seed!r}: notebook {number} has no In [{k}]"
