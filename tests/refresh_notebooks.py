"""Re-execute the tutorials in notebooks/ and save their outputs (``make notebooks``).

``pytest --nbval`` (part of ``make test``) re-runs every notebook and compares
each cell's output with the saved one, so run this after changing a tutorial
or anything its outputs show. Each notebook runs in a fresh kernel of this
interpreter, in its own folder, with ``NBFLOW_CHECKPOINTER`` unset. Widget
state is not stored in the file (it would embed the widget's JavaScript for
every view); the views' text/plain and text/html fallbacks are saved as usual.

    python tests/refresh_notebooks.py [NOTEBOOK.ipynb ...]   # default: notebooks/[0-9]*.ipynb
"""

from __future__ import annotations

import os
import sys
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
    nbformat.validate(nb)
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def main(argv: list[str]) -> int:
    os.environ.pop("NBFLOW_CHECKPOINTER", None)
    paths = [Path(a).resolve() for a in argv] or sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
    for path in paths:
        refresh(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
