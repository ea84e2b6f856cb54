"""Start a private JupyterLab server for the browser tests, and always stop it.

The server runs ``python -m jupyterlab`` from the interpreter running pytest,
bound to 127.0.0.1 on a free port, with a random token, and with every
Jupyter/IPython directory (config, data, runtime, settings, workspaces,
IPython profile) pointed into a temporary folder so it neither reads nor
writes the user's own settings. Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``); never a downloaded build."""
    for candidate in (os.environ.get("NBFLOW_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


@dataclass
class LabServer:
    """One JupyterLab process; use as a context manager."""

    root_dir: Path
    home: Path  # scratch folder for config/runtime/data dirs, the log and the checkpoint db
    startup_timeout: float = 90.0
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    proc: subprocess.Popen | None = None
    # Another install's Lab (e.g. ``[venv/bin/jupyter, "lab"]``, a user's venv) and the environment it
    # starts from instead of this process's; by default this interpreter's ``python -m jupyterlab``.
    command: list[str] | None = None
    base_env: dict[str, str] | None = None
    # Lab extensions switched off for this server (its page_config), e.g. ("nbflow",).
    disabled_extensions: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "jupyterlab.log"

    @property
    def checkpoint_db(self) -> Path:
        return self.home / "c.sqlite"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{sep}token={self.token}"

    # ------------------------------------------------------------------ env

    def _env(self) -> dict[str, str]:
        cfg = self.home / "jupyter-config"
        settings = cfg / "lab" / "user-settings"
        # No news feed, no update check, no PyPI-backed extension manager: the
        # server never reaches out, and no toast covers the page.
        _write_json(cfg / "jupyter_server_config.json", {
            "LabApp": {
                "news_url": None,
                "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                "extension_manager": "readonly",
            },
        })
        _write_json(settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
                    {"fetchNews": "false", "checkForUpdates": False})
        if self.disabled_extensions:  # as `jupyter labextension disable NAME` would record it
            _write_json(cfg / "labconfig" / "page_config.json",
                        {"disabledExtensions": {name: True for name in self.disabled_extensions}})
        env = dict(os.environ if self.base_env is None else self.base_env)
        for var in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JPY_SESSION_NAME"):
            env.pop(var, None)
        env.update(
            JUPYTER_CONFIG_DIR=str(cfg),
            JUPYTER_DATA_DIR=str(self.home / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "jupyter-runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "lab-workspaces"),
            IPYTHONDIR=str(self.home / "ipython"),
            NBFLOW_CHECKPOINTER=f"sqlite:{self.checkpoint_db}",
            PYTHONUNBUFFERED="1",
        )
        return env

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "LabServer":
        self.home.mkdir(parents=True, exist_ok=True)
        cmd = [
            *(self.command or [sys.executable, "-m", "jupyterlab"]),
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.open_browser=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                cmd, cwd=self.root_dir, env=self._env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: we can stop it and its kernels together
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode} before answering.\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as resp:
                    if resp.status == 200:
                        json.load(resp)
                        return
            except (urllib.error.URLError, ConnectionError, OSError, ValueError) as exc:
                last_error = exc
            time.sleep(0.25)
        raise TimeoutError(f"JupyterLab did not answer within {self.startup_timeout:.0f}s "
                           f"(last error: {last_error!r}).\n{self.log_tail()}")

    def stop(self) -> None:
        """Shut the server (and its kernels) down; escalate to SIGTERM, then SIGKILL."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:  # polite: the server shuts its kernels down too
            req = urllib.request.Request(self.url("api/shutdown"), method="POST", data=b"")
            urllib.request.urlopen(req, timeout=5).close()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        for sig, grace in ((None, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if sig is not None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # Kernels run in their own sessions; the polite shutdown stops them. If the
        # server had to be killed, stop any kernel still using our runtime dir.
        _kill_orphan_kernels(self.home / "jupyter-runtime")

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no JupyterLab log)"
        return "---- JupyterLab log (tail) ----\n" + "\n".join(lines[-n:])

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if pytest dies (Linux), so no server outlives a killed run."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _kill_orphan_kernels(runtime_dir: Path) -> None:
    """SIGKILL processes whose command line names a connection file in ``runtime_dir``."""
    marker = str(runtime_dir)
    proc_root = Path("/proc")
    if not proc_root.is_dir():
        return
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and "kernel" in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def copy_notebooks(dest: Path) -> Path:
    """A scratch copy of ``notebooks/`` (without checkpoints or caches)."""
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".nbflow", "*.sqlite*")
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, dest, ignore=ignore)
    else:
        dest.mkdir(parents=True)
    return dest


def clean_copy(src: Path, dest: Path, drop_tag: str | None = None) -> int:
    """Write ``src`` to ``dest`` without outputs, execution counts or widget state.

    With ``drop_tag``, cells carrying that tag are left out; returns how many.
    """
    import nbformat

    nb = nbformat.read(src, as_version=4)
    before = len(nb.cells)
    if drop_tag is not None:
        nb.cells = [c for c in nb.cells if drop_tag not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dest)
    return before - len(nb.cells)


def save_artifact(src: Path, name: str | None = None) -> Path:
    """Copy a file into ``test-artifacts/`` at the repo root (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    dest = ARTIFACTS / (name or src.name)
    shutil.copyfile(src, dest)
    return dest
