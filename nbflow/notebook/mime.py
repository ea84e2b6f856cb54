"""The versioned nbflow MIME bundle: what a notebook keeps of a view so it can be drawn without a kernel.

A run view's display data carries, next to the widget view and ``text/plain``,
one ``application/vnd.nbflow.view+json`` entry: the thread's last state and
rows (a :class:`SavedView`), plus the Python that reattaches a live view.
JupyterLab's nbflow extension renders it read-only when the live widget is
unavailable (the kernel is gone, the notebook was reopened) and offers
*Reattach*; other front ends ignore the type. Pure: no IPython, no widgets.

The payload is versioned: a front end that knows an older ``version`` shows
the ``text/plain`` fallback instead of guessing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MIME_TYPE = "application/vnd.nbflow.view+json"
VERSION = 1
MAX_ROWS = 500  # a saved view keeps the last rows only; the note says how many were left out

# The row fields a saved view draws (everything else is live-only detail).
_ROW_FIELDS = ("key", "kind", "name", "depth", "state", "preview", "error", "duration", "cached", "replayed", "usage")


@dataclass(frozen=True)
class SavedView:
    """One view's saved state, as the ``application/vnd.nbflow.view+json`` payload."""

    version: int
    kind: str            # "run" (the only kind saved so far)
    workflow: str
    thread_id: str | None
    config: dict
    state: dict          # protocol.RunState
    rows: list[dict]     # protocol.Row, trimmed to _ROW_FIELDS
    rows_omitted: int
    reattach: str        # Python that shows a live view of the same thread


def reattach_code(workflow: str, config: dict, turn: int | None = None) -> str:
    """``nbflow.show(NAME, config=...)``: the workflow by its notebook name (``%%entrypoint NAME`` binds it);
    with ``turn``, the view of that invocation of the thread (a turn a newer one has followed)."""
    target = workflow if workflow.isidentifier() else f"nbflow.notebook.session.session().workflows[{workflow!r}]"
    extra = f", turn={turn!r}" if turn is not None else ""
    return f"import nbflow\nnbflow.show({target}, config={config!r}{extra})"


def saved_run(workflow: str, config: dict, state: dict, rows: list[dict]) -> SavedView:
    kept = rows[-MAX_ROWS:]
    return SavedView(
        version=VERSION, kind="run", workflow=workflow, thread_id=state.get("thread_id"),
        config=dict(config), state=dict(state), rows=[{k: r.get(k) for k in _ROW_FIELDS} for r in kept],
        rows_omitted=len(rows) - len(kept),
        reattach=reattach_code(workflow, dict(config), state.get("invocation") if state.get("moved_on") else None),
    )


def run_bundle(live: Any, state: dict | None = None, rows: list[dict] | None = None) -> dict[str, dict]:
    """The MIME entry for a run view of ``live`` (a :class:`~.live.Live`), to merge into its display data:
    the thread's current state, or ``state`` and ``rows`` (a view kept on an earlier invocation)."""
    if state is None or rows is None:
        _seq, state, rows = live.snapshot()
    name = str(state.get("workflow") or getattr(live.workflow, "name", "workflow"))
    return {MIME_TYPE: asdict(saved_run(name, live.config, state, rows))}
