"""The nbflow exception tree.

Every error nbflow raises on purpose derives from :class:`NbflowError`, and
also from the built-in exception a Python user would expect (``TypeError`` for
a value of the wrong type, ``ValueError`` for bad input, ``RuntimeError`` for
calling things in the wrong place), so both ``except NbflowError`` and the
ordinary ``except ValueError`` work.

    BaseException
    ├── GraphInterrupt            control flow: a run pauses at interrupt()
    │   (NodeInterrupt is the same class: LangGraph's deprecated name for raising one directly)
    ├── RunStopped                control flow: Workflow.stop() ended a running invocation
    └── Exception
        └── NbflowError
            ├── SerializationError        (TypeError)   a value cannot be stored
            ├── DeserializationError      (ValueError)  stored data is refused
            ├── LimitExceeded             (ValueError)  a payload over a limit of nbflow.serde.inert.Limits
            ├── ConfigError               (ValueError)  missing thread_id, bad option
            │   ├── PolicyTypeError       (TypeError)   a retry/cache/timeout policy field of the wrong type
            │   ├── SchemaTypeError       (TypeError)   a response schema neither a pydantic model nor a dict
            │   ├── UnsafeSchemaError                   a JSON schema that would fetch, or backtrack forever
            │   ├── SpecError                           a checkpointer spec (``%nbflow checkpointer ...``)
            │   ├── PriceTableError                     a bad entry given to nbflow.set_prices()
            │   └── OtelUnavailableError  (ImportError) OpenTelemetry export asked for without nbflow[otel]
            ├── InvalidStreamModeError    (ValueError)
            ├── CheckpointNotFoundError   (ValueError)  unknown checkpoint_id
            ├── EmptyInputError           (ValueError)  invoke(None, config) on a thread with nothing to continue
            ├── ResumeError               (ValueError)  Command(resume=...) that fits nothing
            │   └── ResumeValidationError               resume value fails response_schema
            │       └── (pydantic.ValidationError too, when the schema is a pydantic model:
            │            see pydantic_resume_error)
            ├── AnswerError               (ValueError)  a front-end answer that fits no form
            ├── RequestError              (ValueError)  a front-end message that does not match its type
            ├── StoreValueError           (ValueError)  a bad value passed to the long-term store
            │   └── InvalidNamespaceError               a namespace that breaks LangGraph's rules
            │       └── NamespaceTypeError (TypeError)  ... or is not a tuple of str
            ├── StoreTypeError            (TypeError)   a store argument of the wrong type
            ├── CacheKeyError             (TypeError)   a cache key or TTL of the wrong shape
            ├── NonDeterminismError       (RuntimeError) replay saw a different task or arguments
            ├── TaskContextError          (RuntimeError) task/interrupt called outside a run
            ├── CheckpointerRequiredError  (RuntimeError) interrupt/update_state without saver
            ├── SaverError                (RuntimeError) a checkpointer's storage failed: names the
            │   │                                          database, the thread(s) and what to do
            │   └── SaverConnectionError  (ConnectionError) its server cannot be reached
            ├── PostgresUnavailable       (RuntimeError) the tests' temporary PostgreSQL cannot start
            ├── ExecutorLostError         (RuntimeError) the cluster running a task went away (a Dask
            │                                          scheduler lost), or every worker running it died
            │                                          (over its memory limit): its result never arrived
            ├── GraphDrained                            RunControl.request_drain() before the run began
            └── NodeTimeoutError                        a task/entrypoint attempt ran out of time

Every class is defined in this module; the modules that raise one also name it (``nbflow.store.StoreTypeError``,
``nbflow.checkpoint.base.SaverError``, ...), for the import paths users already have.

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


class _PairsAndErrors(list):
    """``ResumeValidationError.errors`` (a list of ``(location, message)`` pairs) that, called as
    ``errors()``, answers pydantic's ``ValidationError.errors()``: one object serves both readers."""

    def __init__(self, pairs: list, pydantic_errors: Any) -> None:
        super().__init__(pairs)
        self._pydantic_errors = pydantic_errors

    def __call__(self, **kwargs: Any) -> Any:
        return self._pydantic_errors(**kwargs)


_pydantic_resume_cls: Any = None


def pydantic_resume_error(exc: Any, message: str, errors: list[tuple[tuple[Any, ...], str]]) -> ResumeValidationError:
    """A :class:`ResumeValidationError` that is also a ``pydantic.ValidationError`` (``exc``'s data).

    LangGraph lets pydantic's own error out of an invalid resume against a pydantic ``response_schema``,
    so code migrated from it catches ``except ValidationError:``; nbflow's error keeps its clear message,
    its ``errors`` pairs and the "the interrupt stays pending" guarantee, and ``except ValidationError``,
    ``.errors()``, ``.error_count()`` and ``.title`` work on it too. The class is built on first use
    (pydantic is optional); it is the only exception class not written out in this module.
    """
    global _pydantic_resume_cls
    if _pydantic_resume_cls is None:
        from pydantic_core import ValidationError as PydanticValidationError

        class PydanticResumeValidationError(ResumeValidationError, PydanticValidationError):  # type: ignore[misc]
            __module__ = __name__

            def __init__(self, *args: Any, **kwargs: Any) -> None:  # state comes from from_exception_data
                pass

            def __str__(self) -> str:  # nbflow's one-line message, not pydantic's multi-line one
                return str(self.args[0]) if self.args else ""

        _pydantic_resume_cls = PydanticResumeValidationError
    err = _pydantic_resume_cls.from_exception_data(exc.title, exc.errors(), hide_input=False)
    err.args = (message,)
    err.errors = _PairsAndErrors(errors, err.errors)
    return err


class StoreValueError(NbflowError, ValueError):
    """A bad value passed to the store (filter, limit, ttl...)."""


class StoreTypeError(NbflowError, TypeError):
    """A store argument of the wrong type (key not a str, value not a dict...)."""


class InvalidNamespaceError(StoreValueError):
    """A namespace breaks LangGraph's rules (same name as LangGraph's error)."""


class NamespaceTypeError(InvalidNamespaceError, TypeError):
    """A namespace that is not a tuple of str."""


class PolicyTypeError(ConfigError, TypeError):
    """A policy (or one of its fields) has the wrong type.

    It is both a :class:`~nbflow.errors.ConfigError` (so ``ValueError``) and a
    ``TypeError``, which is what LangGraph raises for a bad ``retry_on``.
    """


class LimitExceeded(NbflowError, ValueError):
    """Internal: a document over a limit; ``limit`` names it."""

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit = limit


class SchemaTypeError(ConfigError, TypeError):
    """A response schema that is neither a pydantic model class nor a dict."""


class UnsafeSchemaError(ConfigError):
    """A JSON schema whose ``$ref`` points outside the document (it would be fetched or opened)."""


class CacheKeyError(NbflowError, TypeError):
    """A cache key is not a ``(tuple[str, ...], str)`` pair, or a TTL is not a number."""


class SaverError(NbflowError, RuntimeError):
    """A checkpointer's storage failed (a statement refused, tables missing).

    The message names the database (never its password) and what to do.
    """


class SaverConnectionError(SaverError, ConnectionError):
    """The checkpointer's database server cannot be reached."""


class PostgresUnavailable(NbflowError, RuntimeError):
    """The temporary server could not be installed-found, initialised or started."""


class SpecError(ConfigError):
    """A checkpointer spec that is neither ``memory``, ``sqlite:PATH`` nor ``postgresql://...``."""


class PriceTableError(ConfigError):
    """A price table entry given to ``nbflow.set_prices()`` that is not ``{model: {"input": usd, ...}}``."""


class OtelUnavailableError(ConfigError, ImportError):
    """OpenTelemetry export was asked for, but the SDK is not installed (``pip install 'nbflow[otel]'``)."""


class AnswerError(NbflowError, ValueError):
    """A front-end answer that does not fit its form (a bad option index, a wrong action)."""


class RequestError(NbflowError, ValueError):
    """A front-end message (the sidebar's) that does not match its type in ``nbflow.notebook.protocol``;
    ``errors`` names the fields, and the reply carries them."""

    def __init__(self, message: str, errors: list[Any]) -> None:
        super().__init__(message)
        self.errors = errors


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
    """A remote executor lost a task: its cluster's scheduler went away, its client was closed, or
    every worker that ran it died (Dask's ``KilledWorker``: most often over its ``memory_limit``).

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
    "LimitExceeded",
    "ConfigError",
    "PolicyTypeError",
    "SchemaTypeError",
    "UnsafeSchemaError",
    "SpecError",
    "PriceTableError",
    "OtelUnavailableError",
    "InvalidStreamModeError",
    "CheckpointNotFoundError",
    "EmptyInputError",
    "ResumeError",
    "ResumeValidationError", "pydantic_resume_error",
    "AnswerError",
    "RequestError",
    "StoreValueError",
    "InvalidNamespaceError",
    "NamespaceTypeError",
    "StoreTypeError",
    "CacheKeyError",
    "NonDeterminismError",
    "TaskContextError",
    "CheckpointerRequiredError",
    "SaverError",
    "SaverConnectionError",
    "PostgresUnavailable",
    "NodeTimeoutError",
    "ExecutorLostError",
    "GraphDrained",
    "GraphInterrupt",
    "NodeInterrupt",
    "RunStopped",
]
