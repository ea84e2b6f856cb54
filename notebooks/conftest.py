"""pytest collects only the tutorials listed in ``tutorials.txt`` from this folder.

``--nbval`` (in pyproject's addopts) turns every ``.ipynb`` under the test paths
into a test, which would include a user's own notebooks saved next to the
tutorials. This hook skips any notebook below ``notebooks/`` that the manifest
does not list, unless it was named explicitly on the command line
(``pytest notebooks/my_experiment.ipynb`` still checks it).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "tutorials.txt"


def tutorial_names(manifest: Path = MANIFEST) -> list[str]:
    """The notebook names listed in the manifest, in order."""
    names = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line)
    return names


def _named_on_command_line(path: Path, config) -> bool:
    root = Path(config.invocation_params.dir)
    for arg in config.args:
        target = Path(arg.split("::", 1)[0])
        target = (root / target).resolve() if not target.is_absolute() else target.resolve()
        if target == path:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config):
    path = Path(collection_path).resolve()
    if path.suffix != ".ipynb" or not path.is_relative_to(HERE):
        return None
    if path.relative_to(HERE).as_posix() in tutorial_names():
        return None
    if _named_on_command_line(path, config):
        return None
    return True


def pytest_collection_modifyitems(items):
    """A view's saved nbflow MIME entry holds run times: nbval does not compare it (the text/plain twin is)."""
    from nbflow.notebook.mime import MIME_TYPE

    for item in items:
        parent = getattr(item, "parent", None)
        skip = getattr(parent, "skip_compare", None)
        if isinstance(skip, tuple) and MIME_TYPE not in skip:
            parent.skip_compare = (*skip, MIME_TYPE)
