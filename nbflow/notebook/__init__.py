"""nbflow in Jupyter: ``%load_ext nbflow``, run views, interrupt forms, timeline, inbox.

Modules, from pure to I/O (each imports only those above it):

* :mod:`.protocol` -- the widget wire format: message kinds and typed payloads,
  exported as the JSON schema the TypeScript types are generated from;
* :mod:`.forms`    -- interrupt → form spec, front-end answer → resume value;
* :mod:`.thread`   -- one thread's current state folded from stored records and
  run events (rows per call position, questions, timings), pure;
* :mod:`.views`    -- projections: static text/html fallbacks, the timeline tree,
  comparisons, inbox text (pure, no Jupyter imports);
* :mod:`.conversation` -- chat messages as a conversation (roles, markdown, tool calls with
  their results), and one-line summaries of them (pure);
* :mod:`.session`  -- the notebook's default checkpointer, workflows, thread ids;
* :mod:`.live`     -- one live model per (saver, thread) fed by :mod:`nbflow.tap`,
  and the flusher that pushes changes to every view of a thread;
* :mod:`.actions`  -- start / resume / attach: the one path views act through;
* :mod:`.widget_base` -- what every widget shares: the bundle, messages, answering forms;
* :mod:`.inbox_view`  -- the inbox widget;
* :mod:`.run_view`   -- the run view widget (a thread's state, or one invocation's);
* :mod:`.timeline_view` -- the timeline widget;
* :mod:`.widgets`  -- ``show`` and the widgets re-exported with ``timeline`` / ``inbox``;
* :mod:`.magics`   -- ``%%entrypoint`` and ``%nbflow``.

The front end is bundled from ``labextension/`` into ``static/``. The
runtime (everything outside this package) never imports it.

The package itself imports nothing heavy: IPython and the widget libraries
load with :mod:`.magics` / :mod:`.widgets`, on first use of what needs them,
so the pure modules can be imported (and tested) without Jupyter.
"""

from __future__ import annotations

from typing import Any

_WIDGETS = ("show", "timeline", "inbox", "RunView", "Timeline", "Inbox")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbflow`` (or ``nbflow.notebook``): the magics and the ``%%entrypoint`` transformer."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    if name in _WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'nbflow.notebook' has no attribute {name!r}")


__all__ = [
    "Inbox",
    "RunView",
    "Timeline",
    "inbox",
    "load_ipython_extension",
    "show",
    "timeline",
    "unload_ipython_extension",
]

