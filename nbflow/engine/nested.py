"""An entrypoint invoked inside another run: journaled in its parent like a task.

The child shares the parent's thread and saver (unless it has its own) and writes its
checkpoints under the namespace ``name:task_id``; its result is recorded in the parent's
journal, so a replay serves it instead of running it again. :class:`~nbflow.engine.run.RunHost`
calls :func:`begin` and :func:`done`; this module never imports it (the child is made by
``parent.spawn``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import GraphInterrupt
from ..kinds import RunStatus, WriteKind
from ..replay import task_id_for, with_digest
from ..serde import summarize
from . import steps
from .parts import Ending, RunHost
from .scope import Scope

_INTERRUPTED, _RESULT = RunStatus.INTERRUPTED.value, WriteKind.RESULT.value


@dataclass(frozen=True, slots=True)
class NestedCall:
    """An entrypoint called inside a run: already recorded (``value``) or to run (``child``)."""

    parent: RunHost
    wf: Any
    input: Any
    task_id: str
    path: str
    wave: int
    child: RunHost | None
    value: Any = None
    started: float = field(default_factory=time.time)
    digest: str = ""

    def finish(self, outcome: Ending) -> Any:
        return done(self.parent, self, outcome)


def begin(parent: RunHost, scope: Scope, wf: Any, input: Any, context: Any) -> NestedCall:
    """Serve the call from the parent's journal, or prepare the child run that makes it."""
    path = scope.next_path()
    tid = task_id_for(parent.plan.checkpoint_id, parent.ctx.ns_str, path)
    digest = steps.call_digest(parent, (input,), {}) if parent.ctx.check_args and wf.check_args else ""
    rec = parent.plan.journal.lookup(tid, wf.name, path, digest)
    if rec is not None:
        value = steps.serve_recorded(parent, rec, tid, wf.name, path, input, scope.waits)
        return NestedCall(parent, wf, input, tid, path, scope.waits, None, value, digest=digest)
    child = parent.spawn(wf, input, saver=wf.checkpointer or parent.ctx.saver,
                         context=context if context is not None else parent.ctx.context,
                         ns=(*parent.ctx.ns, f"{wf.name}:{tid}"),
                         callbacks=scope.trace.children if scope.trace is not None else None)
    return NestedCall(parent, wf, input, tid, path, scope.waits, child, digest=digest)


def done(parent: RunHost, call: NestedCall, outcome: Ending) -> Any:
    """The child ended: an interrupt goes up to the parent's caller, a value is journaled."""
    if outcome.status == _INTERRUPTED:
        raise GraphInterrupt(outcome.interrupts)
    value = outcome.value
    if parent.ctx.saver is not None:
        payload = parent.ctx.dumps(value)
        parent.rec.put([parent.rec.write(call.task_id, call.wf.name, call.path, _RESULT, payload,
                                        call.started, time.time(), with_digest(summarize(call.input, 80), call.digest),
                                        call.wave)])
        parent.plan.journal.record(call.task_id, call.wf.name, call.path, _RESULT, payload, value, call.digest)
    return value


__all__ = ["NestedCall", "begin", "done"]
