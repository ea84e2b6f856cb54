"""Which executors and clock a run uses: defaults, and :func:`using` to replace them.

A run reads the plugs current where it is built (a nested run inherits its
parent's), so ``with using(clock=fake): wf.invoke(...)`` -- or a test fixture
that calls :func:`use` -- affects exactly the runs started under it, on
whatever thread their tasks then run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace

from ..executors.base import SYSTEM_CLOCK, Clock, Executor
from ..executors.eventloop import EVENT_LOOP
from ..executors.local import LOCAL


@dataclass(frozen=True, slots=True)
class Plugs:
    """``executor`` runs sync tasks, ``loop_executor`` async ones; ``clock`` times retries and timeouts."""

    executor: Executor = LOCAL
    loop_executor: Executor = EVENT_LOOP
    clock: Clock = SYSTEM_CLOCK

    def __post_init__(self) -> None:
        for name, want in (("executor", False), ("loop_executor", True)):
            ex = getattr(self, name)
            if not isinstance(ex, Executor):
                raise TypeError(f"{name} must implement nbflow.executors.Executor (runs_coroutines, submit), "
                                f"got {type(ex).__qualname__}")
            if bool(ex.runs_coroutines) is not want:
                raise TypeError(f"{name} must be an executor with runs_coroutines={want}, got {ex!r}")
        if not isinstance(self.clock, Clock):
            raise TypeError(f"clock must implement nbflow.executors.Clock (monotonic, sleep, asleep), "
                            f"got {type(self.clock).__qualname__}")


DEFAULT_PLUGS = Plugs()
_plugs: ContextVar[Plugs] = ContextVar("nbflow_plugs", default=DEFAULT_PLUGS)


def current_plugs() -> Plugs:
    return _plugs.get()


def use(*, executor: Executor | None = None, loop_executor: Executor | None = None,
        clock: Clock | None = None) -> Token[Plugs]:
    """Replace some plugs for runs built in this context from now on; undo with ``reset(token)``."""
    changes = {k: v for k, v in (("executor", executor), ("loop_executor", loop_executor), ("clock", clock))
               if v is not None}
    return _plugs.set(replace(_plugs.get(), **changes))  # type: ignore[arg-type]


def reset(token: Token[Plugs]) -> None:
    _plugs.reset(token)


@contextmanager
def using(*, executor: Executor | None = None, loop_executor: Executor | None = None,
          clock: Clock | None = None) -> Iterator[Plugs]:
    """``with using(clock=...):`` runs built inside use these plugs."""
    token = use(executor=executor, loop_executor=loop_executor, clock=clock)
    try:
        yield _plugs.get()
    finally:
        reset(token)


__all__ = ["Plugs", "DEFAULT_PLUGS", "current_plugs", "use", "reset", "using"]
