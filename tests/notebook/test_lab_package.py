"""The prebuilt JupyterLab extension: built by `make js`, shipped in the wheel, listed by JupyterLab.

`make js` builds labextension/ into nbflow/labextension (JupyterLab's builder) and links it
into the venv; the wheel maps that folder to share/jupyter/labextensions/nbflow (pyproject).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "nbflow" / "labextension"
IN_ENV = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "nbflow"


def _need_build() -> None:
    if not (BUILT / "package.json").exists():
        msg = "nbflow/labextension is not built (make js)"
        if os.environ.get("CI"):
            pytest.fail(msg + "; CI's make test builds it")
        pytest.skip(msg)


def test_the_wheel_ships_the_prebuilt_extension_where_jupyterlab_looks():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = meta["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["shared-data"]["nbflow/labextension"] == "share/jupyter/labextensions/nbflow"
    hook = meta["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
    assert "nbflow/labextension/package.json" in hook["ensured-targets"]
    assert "hatch-jupyter-builder" in " ".join(meta["build-system"]["requires"])
    assert any(dep.startswith("jupyterlab") for dep in meta["project"]["optional-dependencies"]["lab"])


def test_the_built_extension_is_a_federated_extension_named_nbflow():
    _need_build()
    pkg = json.loads((BUILT / "package.json").read_text())
    assert pkg["name"] == "nbflow"
    load = pkg["jupyterlab"]["_build"]["load"]
    assert (BUILT / load).exists(), load
    assert pkg["jupyterlab"]["_build"].get("style")


def test_jupyter_labextension_list_shows_nbflow_enabled_and_ok(tmp_path):
    """In the venv `make install`/`make js` set up; on a machine where the venv was made otherwise,
    the same build is listed from a data dir that holds it."""
    _need_build()
    env = dict(os.environ)
    if not IN_ENV.exists():
        data = tmp_path / "data" / "labextensions"
        data.mkdir(parents=True)
        (data / "nbflow").symlink_to(BUILT, target_is_directory=True)
        env["JUPYTER_PATH"] = str(tmp_path / "data")
    out = subprocess.run([sys.executable, "-m", "jupyterlab.labextensions", "list"], capture_output=True,
                         text=True, env=env, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    line = next((ln for ln in text.splitlines() if ln.strip().startswith("nbflow ")), None)
    assert line is not None, text
    assert "enabled" in line and "OK" in line, line
