"""`make docs`: docs/build.py renders every tutorial and the README into a linked static site."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]


def _tutorials() -> list[str]:
    lines = (REPO / "notebooks" / "tutorials.txt").read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def test_docs_site_builds_with_every_tutorial_and_the_readme(tmp_path: Path):
    out = tmp_path / "site"
    (out / "stale.html").parent.mkdir()
    (out / "stale.html").write_text("left over from an older build")
    proc = subprocess.run([sys.executable, str(REPO / "docs" / "build.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    pages = sorted(p.name for p in out.iterdir())
    expected = sorted([Path(n).stem + ".html" for n in _tutorials()] + ["index.html", "readme.html"])
    assert pages == expected  # the stale page is gone, nothing is missing

    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="readme.html"' in index
    for name in _tutorials():
        assert f'href="{Path(name).stem}.html"' in index, f"index.html does not link {name}"

    # each page carries its notebook's saved outputs (nothing is re-executed)
    for name in _tutorials():
        nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
        printed = [line for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
                   if o.output_type == "stream" for line in o.text.splitlines() if len(line.strip()) > 12]
        page = (out / f"{Path(name).stem}.html").read_text(encoding="utf-8")
        assert printed, f"{name} has no saved printed output"
        sample = printed[0].strip().split()[0]
        assert sample in page or html.escape(sample) in page, f"{name}'s first printed output is missing from its page"

    readme = (out / "readme.html").read_text(encoding="utf-8")
    assert "<h2" in readme and "Tutorials" in readme
