"""Which workflow code is running, and ids that come out the same when it replays.

The engine keeps the :class:`~nbflow.engine.scope.Scope` of the code running
in a context (the entrypoint body or one task) in :data:`CURRENT`; it is
defined here, below every layer, so that a low module such as
:mod:`nbflow.compat.messages` can ask for a *replay-stable* id without importing the
engine.

Why ids must be replay-stable: when an invocation resumes (after an
``interrupt()``, an error or a crash), its entrypoint body runs again from the
top and the recorded task results are served instead of re-running the tasks.
Code that assigns fresh random ids on every run -- ``add_messages`` giving a
``uuid4`` to every message without one, as LangGraph's does -- would hand the
model task "different arguments" on each replay, and nbflow's argument check
(``NonDeterminismError``) would fire on the most common agent code there is.
:func:`stable_id` instead derives the id from the running code's task id
(itself a hash of the invocation's input checkpoint, namespace and call
position) and a per-code counter: the same code path on the same input gives
the same ids, a new invocation or another position gives new ones. Outside a
run it is a random ``uuid4``, as in LangGraph. Either way it is a UUID string.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

CURRENT: ContextVar[Any] = ContextVar("nbflow_scope", default=None)
"""The engine's ``Scope`` of the workflow code running in this context, or None outside a run."""

_NAMESPACE = uuid.UUID("6f1c3a52-3b0e-5d8e-9a0f-5e2b8c4d7a10")


def stable_id() -> str:
    """A UUID string: deterministic under replay inside a run (see the module docstring), random outside."""
    scope = CURRENT.get()
    if scope is None:
        return str(uuid.uuid4())
    n = scope.ids
    scope.ids = n + 1
    return str(uuid.uuid5(_NAMESPACE, f"{scope.task_id}#{n}"))


__all__ = ["CURRENT", "stable_id"]
