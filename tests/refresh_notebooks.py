"""Re-execute the tutorials in notebooks/ and save their outputs (``make notebooks``).

``pytest --nbval`` (part of ``make test``) re-runs every notebook and compares
each cell's output with the saved one, so run this after changing a tutorial
or anything its outputs show. Each notebook runs in a fresh kernel of this
interpreter, in its own folder, with ``NBFLOW_CHECKPOINTER`` unset. Widget
state is not stored in the file (it would embed the widget's JavaScript for
every view); the views' text/plain and text/html fallbacks are saved as usual.

Cell metadata that only records when the cells ran (``execution`` timestamps)
is dropped, so a refresh changes the file only where an output changed.

    python tests/refresh_notebooks.py [NOTEBOOK.ipynb ...]   # default: the tutorials in notebooks/tutorials.txt
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def refresh(path: Path, timeout: int = 300) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def tutorials() -> list[Path]:
    """The notebooks listed in notebooks/tutorials.txt, in order."""
    manifest = REPO / "notebooks" / "tutorials.txt"
    names = [line.strip() for line in manifest.read_text(encoding="utf-8").splitlines()]
    return [REPO / "notebooks" / n for n in names if n and not n.startswith("#")]


def main(argv: list[str]) -> int:
    os.environ.pop("NBFLOW_CHECKPOINTER", None)
    paths = [Path(a).resolve() for a in argv] or tutorials()
    for path in paths:
        started = time.perf_counter()
        refresh(path)
        print(f"  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
