"""Render the tutorials and the README into a small static HTML site (``make docs``).

Each tutorial listed in notebooks/tutorials.txt becomes one page, rendered by
nbconvert from its saved outputs (nothing is executed); README.md becomes
readme.html; index.html links them all, with each tutorial's title and the
summary from its first cell. Live widgets are not stored in the notebooks, so
each view shows its static HTML fallback.

    python docs/build.py [--out DIR]      # default: docs/_site (gitignored)
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
DEFAULT_OUT = REPO / "docs" / "_site"


def tutorials() -> list[Path]:
    """The notebooks listed in notebooks/tutorials.txt, in order."""
    lines = (NOTEBOOKS / "tutorials.txt").read_text(encoding="utf-8").splitlines()
    return [NOTEBOOKS / s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def page_name(notebook: Path) -> str:
    return notebook.stem + ".html"


def _link_notebooks(markdown: str) -> str:
    """Turn mentions of notebooks/NN_name.ipynb (and bare NN_name.ipynb) into links to their pages."""
    names = {nb.name: page_name(nb) for nb in tutorials()}

    def link(match: re.Match) -> str:
        name = match.group(2)
        return f"[`{match.group(1)}{name}`]({names[name]})" if name in names else match.group(0)

    return re.sub(r"`(notebooks/)?(\d\d_[\w]+\.ipynb)`", link, markdown)


def _summary(nb) -> tuple[str, str]:
    """(title, one-line summary) from a notebook's first markdown cell."""
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    lines = [s.strip() for s in first.splitlines()]
    title = next((s.lstrip("# ").strip() for s in lines if s.startswith("#")), "untitled")
    body = [s for s in lines if s and not s.startswith("#")]
    text = " ".join(body)
    text = re.sub(r"\*\*What you will learn:\*\*\s*", "", text)
    summary = re.split(r"(?<=\.)\s", text, maxsplit=1)[0] if text else ""
    return title, summary


def _markdown_page(markdown: str, title: str, exporter: HTMLExporter) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)],
                                  metadata={"title": title})
    body, _ = exporter.from_notebook_node(nb)
    return body


def build(out: Path = DEFAULT_OUT) -> list[Path]:
    """Write the site into ``out`` (emptied first); return the pages written."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    written = []
    rows = []
    for path in tutorials():
        nb = nbformat.read(path, as_version=4)
        nb.metadata["title"] = _summary(nb)[0]
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _link_notebooks(cell.source)
        body, _ = exporter.from_notebook_node(nb)
        target = out / page_name(path)
        target.write_text(body, encoding="utf-8")
        written.append(target)
        title, summary = _summary(nb)
        rows.append(f"| [{title}]({target.name}) | {summary} |")

    readme = _link_notebooks((REPO / "README.md").read_text(encoding="utf-8"))
    target = out / "readme.html"
    target.write_text(_markdown_page(readme, "nbflow README", exporter), encoding="utf-8")
    written.append(target)

    index = "\n".join([
        "# nbflow documentation",
        "",
        "LangGraph's Functional API, native to Jupyter. Start with the [README](readme.html) "
        "(set-up, the API in brief, the notebook layer), then follow the tutorials in order. "
        "Each page is the tutorial notebook with the outputs it had when it was last run; "
        "open it with `make lab` to run it yourself.",
        "",
        "| tutorial | what it teaches |",
        "| --- | --- |",
        *rows,
    ])
    target = out / "index.html"
    target.write_text(_markdown_page(index, "nbflow documentation", exporter), encoding="utf-8")
    written.append(target)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (emptied first)")
    args = parser.parse_args(argv)
    pages = build(args.out.resolve())
    print(f"wrote {len(pages)} pages to {args.out}: open {html.escape(str(args.out / 'index.html'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
