"""The nbflow exception tree.

Every error nbflow raises on purpose derives from :class:`NbflowError`, and
also from the built-in exception a Python user would expect (``TypeError`` for
a value of the wrong type, ``ValueError`` for bad input, ``RuntimeError`` for
calling things in the wrong place), so both ``except NbflowError`` and the
ordinary ``except ValueError`` work.

    BaseException
    ├── GraphInterrupt            control flow: a run pauses at interrupt()
    ├── RunStopped                control flow: Workflow.stop() ended a running invocation
    └── Exception
        └── NbflowError
            ├── SerializationError        (TypeError)   a value cannot be stored
            ├── DeserializationError      (ValueError)  stored data is refused
            ├── ConfigError               (ValueError)  missing thread_id, bad option
            ├── InvalidStreamModeError    (ValueError)
            ├── CheckpointNotFoundError   (ValueError)  unknown checkpoint_id
            ├── EmptyInputError           (ValueError)  invoke(None, config) on a thread with nothing to continue
            ├── ResumeError               (ValueError)  Command(resume=...) that fits nothing
            │   └── ResumeValidationError               resume value fails response_schema
            ├── NonDeterminismError       (RuntimeError) replay saw a different task
            ├── TaskContextError          (RuntimeError) task/interrupt called outside a run
            ├── CheckpointerRequiredError  (RuntimeError) interrupt/update_state without saver
            ├── SaverError                (RuntimeError) a checkpointer's storage failed: names the
            │   │                                          database, the thread(s) and what to do
            │   │                                          (defined in nbflow/checkpoint/base.py)
            │   └── SaverConnectionError  (ConnectionError) its server cannot be reached
            ├── ExecutorLostError         (RuntimeError) the cluster running a task went away (a Dask
            │                                          scheduler lost): its result never arrived
            ├── GraphDrained                            RunControl.request_drain() before the run began
            └── NodeTimeoutError                        a task/entrypoint attempt ran out of time

``GraphInterrupt`` derives from ``BaseException`` so that a user's
``except Exception:`` inside a workflow cannot swallow a pause.
"""

from __future__ import annotations

from typing import Any


class NbflowError(Exception):
    """Base class of every error raised by nbflow itself."""


class SerializationError(NbflowError, TypeError):
    """A value cannot be encoded by the checkpoint serializer."""


class DeserializationError(NbflowError, ValueError):
    """Stored data names a type the serializer refuses to revive, or is corrupt."""


class ConfigError(NbflowError, ValueError):
    """The ``config`` passed to a call is missing something or holds a bad value."""


class InvalidStreamModeError(NbflowError, ValueError):
    """An unknown ``stream_mode``."""


class CheckpointNotFoundError(NbflowError, ValueError):
    """A ``checkpoint_id`` that the thread does not have."""


class EmptyInputError(NbflowError, ValueError):
    """``invoke(None, config)`` ("continue this thread") on a thread with no checkpoint (LangGraph's name)."""


class ResumeError(NbflowError, ValueError):
    """A ``Command(resume=...)`` that does not match the pending interrupts."""


class ResumeValidationError(ResumeError):
    """A resume value does not satisfy the interrupt's ``response_schema``.

    ``errors`` lists ``(location, message)`` pairs, location being a tuple of
    keys/indices into the submitted value. The interrupt stays pending.
    """

    def __init__(self, message: str, errors: list[tuple[tuple[Any, ...], str]] | None = None):
        super().__init__(message)
        self.errors = list(errors or [])


class NonDeterminismError(NbflowError, RuntimeError):
    """On replay, the workflow called a different task than the one recorded."""


class TaskContextError(NbflowError, RuntimeError):
    """A task, ``interrupt()`` or a run-scoped helper was used outside a run."""


class CheckpointerRequiredError(NbflowError, RuntimeError):
    """The operation needs a checkpointer and the entrypoint has none."""


class NodeTimeoutError(NbflowError):
    """An attempt of a task or entrypoint exceeded its ``run_timeout`` or ``idle_timeout``.

    Not a built-in ``TimeoutError`` (an ``OSError``), so the default retry
    policy retries it, as LangGraph's does. ``kind`` (``"run"`` or ``"idle"``)
    and ``timeout`` say which limit fired; ``elapsed`` is how long the attempt ran.
    """

    def __init__(self, node: str, elapsed: float, *, kind: str, idle_timeout: float | None = None,
                 run_timeout: float | None = None) -> None:
        if kind == "idle":
            if idle_timeout is None:
                raise ValueError("idle_timeout is required when kind='idle'")
            message = (f"Node '{node}' exceeded its idle timeout of {idle_timeout:.3f}s without making progress "
                       f"(elapsed: {elapsed:.3f}s).")
            self.timeout = idle_timeout
        elif kind == "run":
            if run_timeout is None:
                raise ValueError("run_timeout is required when kind='run'")
            message = f"Node '{node}' exceeded its run timeout of {run_timeout:.3f}s (elapsed: {elapsed:.3f}s)."
            self.timeout = run_timeout
        else:
            raise ValueError(f"kind must be 'idle' or 'run', got {kind!r}")
        super().__init__(message)
        self.node = node
        self.elapsed = elapsed
        self.kind = kind
        self.idle_timeout = idle_timeout
        self.run_timeout = run_timeout

    def __reduce__(self) -> Any:
        return (_node_timeout, (self.node, self.elapsed, self.kind, self.idle_timeout, self.run_timeout))


def _node_timeout(node: str, elapsed: float, kind: str, idle: float | None, run: float | None) -> NodeTimeoutError:
    return NodeTimeoutError(node, elapsed, kind=kind, idle_timeout=idle, run_timeout=run)


class ExecutorLostError(NbflowError, RuntimeError):
    """A remote executor lost a task: its cluster's scheduler went away, or its client was closed.

    The message names the task, the cluster and (once the run adds it) the thread; every
    task that finished before is checkpointed, so ``invoke(None, config)`` with a working
    executor continues, reusing their results.
    """


class GraphInterrupt(BaseException):
    """Raised by :func:`nbflow.interrupt` to pause the run. Not an error.

    ``interrupts`` holds the :class:`nbflow.Interrupt` objects raised.
    """

    def __init__(self, interrupts: tuple[Any, ...] = ()):
        super().__init__(interrupts)
        self.interrupts = tuple(interrupts)


class GraphDrained(NbflowError):
    """The run stopped before its body because ``RunControl.request_drain()`` was called.

    Its input is checkpointed: ``invoke(None, config)`` runs it later.
    """

    def __init__(self, reason: str = "shutdown") -> None:
        self.reason = reason
        super().__init__(f"Graph drained: {reason}")


class RunStopped(BaseException):
    """A running invocation was stopped from outside (:meth:`nbflow.Workflow.stop`).

    Raised to the code that ran it (``invoke``/``stream``) and to whatever
    waits on its tasks. Its finished tasks stay checkpointed; continue it with
    ``invoke(None, config)``. A ``BaseException``, like :class:`GraphInterrupt`,
    so that ``except Exception:`` in a workflow cannot swallow a stop.
    """


# LangGraph's name for the same signal.
NodeInterrupt = GraphInterrupt

__all__ = [
    "NbflowError",
    "SerializationError",
    "DeserializationError",
    "ConfigError",
    "InvalidStreamModeError",
    "CheckpointNotFoundError",
    "ResumeError",
    "ResumeValidationError",
    "NonDeterminismError",
    "TaskContextError",
    "CheckpointerRequiredError",
    "NodeTimeoutError",
    "ExecutorLostError",
    "GraphDrained",
    "GraphInterrupt",
    "RunStopped",
]
