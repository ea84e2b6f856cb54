"""Notebook-wide state: the default checkpointer, the workflows defined here, readable thread ids.

One :class:`Session` per kernel (:func:`session`). It owns

* the **default checkpointer** used by ``%%entrypoint`` workflows that do not
  name one: SQLite at ``.nbflow/checkpoints.sqlite`` under the working
  directory (so a thread paused before a kernel restart can be resumed
  after), overridden by the ``NBFLOW_CHECKPOINTER`` environment variable or
  ``%nbflow checkpointer ...``; the file is only created when first used;
* one saver per checkpointer spec (``memory``, ``sqlite:PATH``,
  ``postgresql://...``), so a
  re-run cell finds its threads again;
* the **workflows** defined through the magics or shown with
  :func:`nbflow.show`; :func:`known_workflows` adds every workflow bound to a
  name in the notebook (what the sidebar and ``nbflow.inbox()`` look at);
* **thread ids** ``NAME-1``, ``NAME-2``, ... unique per checkpointer.

No IPython import at import time: the magics and widgets call into this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import BaseCheckpointSaver, InMemorySaver, SqliteSaver
from ..errors import SpecError

ENV_VAR = "NBFLOW_CHECKPOINTER"
DEFAULT_SPEC = "sqlite:.nbflow/checkpoints.sqlite"


@dataclass(frozen=True)
class Spec:
    """A parsed checkpointer spec: ``text`` as written (a password hidden), ``kind``
    memory|sqlite|postgres, ``path`` made absolute, ``uri`` for postgres."""

    text: str
    kind: str
    path: Path | None = None
    uri: str | None = None

    @property
    def key(self) -> str:
        if self.kind == "postgres":
            return f"postgres:{self.uri}"
        return "memory" if self.kind == "memory" else f"sqlite:{self.path}"


def parse_spec(text: str, cwd: str | os.PathLike | None = None) -> Spec:
    """``memory`` | ``sqlite`` | ``sqlite:PATH`` (relative paths resolve against ``cwd`` now)
    | ``postgresql://user@host:port/db`` (tables set up on first use)."""
    raw = str(text).strip()
    if raw == "memory":
        return Spec("memory", "memory")
    if raw.startswith(("postgresql://", "postgres://")):
        from ..checkpoint.pgdb import check_conninfo, redact_conninfo

        try:
            check_conninfo(raw)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        return Spec(redact_conninfo(raw), "postgres", uri=raw)
    if raw == "sqlite" or raw.startswith("sqlite:"):
        rel = raw[len("sqlite:"):].strip() if raw.startswith("sqlite:") else ""
        rel = rel or DEFAULT_SPEC[len("sqlite:"):]
        path = Path(rel).expanduser()
        if not path.is_absolute():
            path = Path(cwd or os.getcwd()) / path
        return Spec(f"sqlite:{rel}", "sqlite", path)
    raise SpecError(
        f"unknown checkpointer {raw!r}: use 'memory', 'sqlite:PATH' (e.g. sqlite:runs.sqlite) "
        "or 'postgresql://user@host:5432/dbname'"
    )


class Session:
    """The notebook's nbflow state (see the module docstring)."""

    def __init__(self, cwd: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.lock = threading.RLock()
        self.cwd = Path(cwd or os.getcwd())
        override = env.get(ENV_VAR)
        self.default_source = "default"
        if override:
            self.default = parse_spec(override, self.cwd)
            self.default_source = f"${ENV_VAR}"
        else:
            self.default = parse_spec(DEFAULT_SPEC, self.cwd)
        self.savers: dict[str, BaseCheckpointSaver] = {}
        self.spec_text: dict[str, str] = {}
        self.workflows: dict[str, Any] = {}
        self.last_thread: dict[str, str] = {}
        self._issued: dict[int, set[str]] = {}

    # ------------------------------------------------------------------ checkpointers
    def saver_for(self, spec: Spec) -> BaseCheckpointSaver:
        """The one saver of this session for ``spec`` (created, with its folder, on first use)."""
        with self.lock:
            saver = self.savers.get(spec.key)
            if saver is None:
                if spec.kind == "memory":
                    saver = InMemorySaver()
                elif spec.kind == "postgres":
                    from ..checkpoint.postgres import PostgresSaver

                    saver = PostgresSaver.open(spec.uri or "")
                    saver.setup()
                else:
                    assert spec.path is not None
                    spec.path.parent.mkdir(parents=True, exist_ok=True)
                    saver = SqliteSaver(str(spec.path))
                self.savers[spec.key] = saver
                self.spec_text[spec.key] = spec.text
            return saver

    def default_saver(self) -> BaseCheckpointSaver:
        return self.saver_for(self.default)

    def set_default(self, text: str) -> Spec:
        spec = parse_spec(DEFAULT_SPEC if text == "default" else text, os.getcwd())
        with self.lock:
            self.default = spec
            self.default_source = "default" if text == "default" else "%nbflow checkpointer"
        return spec

    def describe_saver(self, saver: Any) -> str:
        for key, s in self.savers.items():
            if s is saver:
                return self.spec_text.get(key, key)
        if saver is None:
            return "none"
        return type(saver).__name__

    # ------------------------------------------------------------------ workflows and threads
    def register(self, wf: Any) -> None:
        with self.lock:
            self.workflows[wf.name] = wf

    def next_thread_id(self, wf: Any) -> str:
        """``NAME-N`` with the smallest N not used in the workflow's checkpointer (nor handed out)."""
        saver = wf.checkpointer
        with self.lock:
            issued = self._issued.setdefault(id(saver), set())
            used = set(issued)
            if saver is not None:
                try:
                    used.update(saver.list_threads())
                except Exception:  # noqa: BLE001 - a saver without listing still gets ids
                    pass
            n = 1
            while f"{wf.name}-{n}" in used:
                n += 1
            tid = f"{wf.name}-{n}"
            issued.add(tid)
            return tid

    def settings_text(self) -> str:
        from .. import __version__

        lines = [f"nbflow {__version__}",
                 f"checkpointer: {self.default.text} ({self.default_source})"]
        with self.lock:
            names = sorted(self.workflows)
        if names:
            lines.append("workflows: " + ", ".join(
                f"{n} ({self.describe_saver(self.workflows[n].checkpointer)})" for n in names))
        else:
            lines.append("workflows: none yet (define one with %%entrypoint NAME)")
        return "\n".join(lines)


_session: Session | None = None
_session_lock = threading.Lock()


def session() -> Session:
    """The kernel's session (created on first use)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = Session()
        return _session


def reset_session(new: Session | None = None) -> Session:
    """Replace the kernel's session (tests, ``%unload_ext``)."""
    global _session
    with _session_lock:
        _session = new or Session()
        return _session


def known_workflows() -> dict[str, Any]:
    """The session's workflows (``%%entrypoint``, shown) and every workflow bound to a name in the notebook.

    The sidebar and ``nbflow.inbox()`` both list the threads of these, so they agree on what waits.
    """
    found = dict(session().workflows)
    try:
        from IPython import get_ipython
    except ImportError:
        return found
    from ..func import Workflow

    ip = get_ipython()
    for value in list(getattr(ip, "user_ns", {}).values()):
        if isinstance(value, Workflow) and value.name not in found:
            found[value.name] = value
    return found


__all__ = ["DEFAULT_SPEC", "ENV_VAR", "Session", "Spec", "SpecError", "known_workflows", "parse_spec",
           "reset_session", "session"]
