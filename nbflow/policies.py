"""Retry and cache policies for tasks and entrypoints (pure; no I/O, no state).

This module owns:

* :class:`RetryPolicy` -- LangGraph's retry configuration, same fields, same
  defaults, same ``NamedTuple`` shape, so ``RetryPolicy(max_attempts=5)``
  written for ``langgraph.types`` works unchanged.
* :class:`CachePolicy` -- LangGraph's task-cache configuration
  (``key_func`` and ``ttl`` in seconds).
* the pure decisions the engine needs around them: which exceptions are worth
  retrying (:func:`default_retry_on`, :func:`should_retry`,
  :func:`select_policy`), how long to wait (:func:`retry_delay`), and how to
  turn the user's ``retry_policy=`` argument into a tuple
  (:func:`normalize_retry`).
* :func:`default_cache_key`, the default ``CachePolicy.key_func``.

Nothing here sleeps, reads clocks or touches the cache; the engine does that.
"""

from __future__ import annotations

import hashlib
import math
import random as _random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from nbflow.errors import ConfigError, PolicyTypeError

__all__ = [
    "RetryPolicy",
    "TimeoutPolicy",
    "coerce_timeout",
    "sync_timeout_unsupported",
    "CachePolicy",
    "PolicyTypeError",
    "default_retry_on",
    "should_retry",
    "select_policy",
    "retry_delay",
    "normalize_retry",
    "default_cache_key",
]


# Exceptions that signal a bug or bad input rather than a transient failure.
# ConnectionError is an OSError but is checked (and retried) before this list.
_NEVER_RETRY: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    ArithmeticError,
    ImportError,
    LookupError,
    NameError,
    SyntaxError,
    RuntimeError,
    ReferenceError,
    StopIteration,
    StopAsyncIteration,
    OSError,
)

# (top-level module, class name) of the HTTP status errors of httpx / requests.
_HTTP_STATUS_ERRORS = {("httpx", "HTTPStatusError"), ("requests", "HTTPError")}


def _http_status_error(exc: BaseException) -> bool:
    """True when ``exc`` is an ``httpx.HTTPStatusError`` / ``requests.HTTPError``.

    Detected through the class hierarchy's module and class names, so neither
    library is imported (or needs to be installed).
    """
    for cls in type(exc).__mro__:
        top = (getattr(cls, "__module__", "") or "").split(".", 1)[0]
        if (top, cls.__name__) in _HTTP_STATUS_ERRORS:
            return True
    return False


def default_retry_on(exc: BaseException) -> bool:
    """LangGraph's default rule: is ``exc`` likely transient?

    * ``ConnectionError`` (and subclasses): retry.
    * ``httpx.HTTPStatusError`` / ``requests.HTTPError``: retry only on a 5xx
      status code (a ``requests`` error without a response is retried).
    * ``ValueError``, ``TypeError``, ``ArithmeticError``, ``ImportError``,
      ``LookupError``, ``NameError``, ``SyntaxError``, ``RuntimeError``,
      ``ReferenceError``, ``StopIteration``, ``StopAsyncIteration``, ``OSError``
      (and subclasses): do not retry -- these are bugs or bad input.
    * anything else: retry.
    """
    if isinstance(exc, ConnectionError):
        return True
    if _http_status_error(exc):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if not isinstance(status, int):
            return True
        return 500 <= status < 600
    return not isinstance(exc, _NEVER_RETRY)


class RetryPolicy(NamedTuple):
    """How a failing task is retried (LangGraph's ``RetryPolicy``).

    ``max_attempts`` counts every attempt, the first one included; intervals
    are in seconds. ``retry_on`` is an exception class, a sequence of classes,
    or a callable ``exc -> bool``.
    """

    initial_interval: float = 0.5
    """Seconds to wait before the first retry."""
    backoff_factor: float = 2.0
    """Multiplier applied to the interval after each retry."""
    max_interval: float = 128.0
    """Upper bound, in seconds, of the (jitter-free) interval."""
    max_attempts: int = 3
    """Attempts in total, the first one included."""
    jitter: bool = True
    """Add a random ``[0, 1)`` seconds to every wait."""
    retry_on: (
        type[BaseException] | Sequence[type[BaseException]] | Callable[[BaseException], bool]
    ) = default_retry_on
    """Which exceptions to retry."""


def _timeout_seconds(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, timedelta)):
        raise ConfigError(f"{field} must be a number of seconds or a timedelta, got {value!r}")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds > 0 or math.isinf(seconds):
        raise ConfigError(f"{field} must be greater than 0 (and finite), got {value!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class TimeoutPolicy:
    """How long one attempt of an async task or entrypoint may take (LangGraph's ``TimeoutPolicy``).

    ``run_timeout`` is a hard wall-clock cap per attempt, never refreshed.
    ``idle_timeout`` is the longest an attempt may go without progress:
    ``runtime.heartbeat()`` always counts as progress; with
    ``refresh_on="auto"`` (the default) so do a ``custom`` stream chunk and a
    task call made by the attempt. When a limit fires the attempt is cancelled
    and :class:`~nbflow.errors.NodeTimeoutError` raised; a retry policy then
    decides whether to try again. Seconds or a ``timedelta``.
    """

    run_timeout: float | timedelta | None = None
    idle_timeout: float | timedelta | None = None
    refresh_on: Literal["auto", "heartbeat"] = "auto"

    @classmethod
    def coerce(cls, value: float | timedelta | TimeoutPolicy | None) -> TimeoutPolicy | None:
        """Seconds, a ``timedelta`` (a run timeout) or a policy, as a policy in float seconds; None if unset."""
        if value is None:
            return None
        if not isinstance(value, TimeoutPolicy):
            value = cls(run_timeout=value)
        if value.refresh_on not in ("auto", "heartbeat"):
            raise ConfigError(f"refresh_on must be 'auto' or 'heartbeat', got {value.refresh_on!r}")
        run = _timeout_seconds(value.run_timeout, "run_timeout")
        idle = _timeout_seconds(value.idle_timeout, "idle_timeout")
        if run is None and idle is None:
            return None
        return cls(run_timeout=run, idle_timeout=idle, refresh_on=value.refresh_on)


def coerce_timeout(value: Any, who: str) -> TimeoutPolicy | None:
    """``timeout=`` of ``who`` as a validated policy (errors name ``who``)."""
    if (value is not None and not isinstance(value, (int, float, timedelta, TimeoutPolicy))) \
            or isinstance(value, bool):
        raise ConfigError(f"{who}: timeout must be seconds, a timedelta or a TimeoutPolicy, got {value!r}")
    try:
        return TimeoutPolicy.coerce(value)
    except ConfigError as e:
        raise ConfigError(f"{who}: {e}") from None


def sync_timeout_unsupported(name: str, kind: str) -> ConfigError:
    """The error for ``timeout=`` on a sync function (it cannot be cancelled in-process)."""
    return ConfigError(
        f"Node timeouts are only supported for async nodes because sync Python execution cannot be safely "
        f"cancelled in-process. {kind} {name!r} is sync: make it `async def`, or drop timeout=."
    )


def _is_exc_class(x: Any) -> bool:
    return isinstance(x, type) and issubclass(x, BaseException)


def should_retry(policy: RetryPolicy, exc: BaseException) -> bool:
    """Does ``policy.retry_on`` accept ``exc``?

    Says nothing about attempts left; the caller compares its attempt count
    with ``policy.max_attempts``. A ``retry_on`` of the wrong type raises
    :class:`PolicyTypeError`.
    """
    retry_on = policy.retry_on
    if _is_exc_class(retry_on):
        return isinstance(exc, retry_on)  # type: ignore[arg-type]
    if isinstance(retry_on, Sequence) and not isinstance(retry_on, (str, bytes)):
        classes = tuple(retry_on)
        bad = [c for c in classes if not _is_exc_class(c)]
        if bad:
            raise PolicyTypeError(
                f"RetryPolicy.retry_on sequence must hold exception classes, got {bad[0]!r}"
            )
        return isinstance(exc, classes)
    if callable(retry_on):
        return bool(retry_on(exc))
    raise PolicyTypeError(
        "RetryPolicy.retry_on must be an exception class, a sequence of exception "
        f"classes or a callable exc -> bool, got {retry_on!r}"
    )


def select_policy(policies: Sequence[RetryPolicy], exc: BaseException) -> RetryPolicy | None:
    """The first policy (ordered fallbacks) whose ``retry_on`` accepts ``exc``, else None."""
    for policy in policies:
        if should_retry(policy, exc):
            return policy
    return None


def retry_delay(
    policy: RetryPolicy,
    attempt: int,
    random: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry).

    ``min(max_interval, initial_interval * backoff_factor ** (attempt - 1))``,
    plus ``random()`` (a value in ``[0, 1)`` seconds) when ``policy.jitter``.
    Jitter is added after the ``max_interval`` cap, as LangGraph does.
    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ConfigError(f"retry attempt must be an int >= 1, got {attempt!r}")
    try:
        base = policy.initial_interval * policy.backoff_factor ** (attempt - 1)
    except OverflowError:
        base = math.inf
    delay = min(policy.max_interval, base)
    if policy.jitter:
        delay += random()
    return delay


def _check_policy(policy: RetryPolicy) -> RetryPolicy:
    def number(name: str) -> float:
        value = getattr(policy, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PolicyTypeError(f"RetryPolicy.{name} must be a number, got {value!r}")
        if not value >= 0 or value == math.inf:
            raise ConfigError(f"RetryPolicy.{name} must be a finite number >= 0, got {value!r}")
        return value

    number("initial_interval")
    number("backoff_factor")
    number("max_interval")
    attempts = policy.max_attempts
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise PolicyTypeError(f"RetryPolicy.max_attempts must be an int, got {attempts!r}")
    if attempts < 1:
        raise ConfigError(f"RetryPolicy.max_attempts must be >= 1, got {attempts!r}")
    retry_on = policy.retry_on
    if not (_is_exc_class(retry_on) or callable(retry_on) or isinstance(retry_on, Sequence)):
        raise PolicyTypeError(
            "RetryPolicy.retry_on must be an exception class, a sequence of exception "
            f"classes or a callable exc -> bool, got {retry_on!r}"
        )
    if isinstance(retry_on, Sequence) and not _is_exc_class(retry_on):
        bad = [c for c in retry_on if not _is_exc_class(c)]
        if bad or isinstance(retry_on, (str, bytes)):
            raise PolicyTypeError(
                f"RetryPolicy.retry_on sequence must hold exception classes, got {retry_on!r}"
            )
    return policy


def normalize_retry(x: RetryPolicy | Sequence[RetryPolicy] | None) -> tuple[RetryPolicy, ...]:
    """The user's ``retry_policy=`` argument as a tuple of validated policies.

    ``None`` gives ``()``, one policy gives ``(policy,)``, a sequence keeps its
    order (the first matching policy wins, see :func:`select_policy`).
    """
    if x is None:
        return ()
    if isinstance(x, RetryPolicy):  # before Sequence: a NamedTuple is a tuple
        return (_check_policy(x),)
    if isinstance(x, Sequence) and not isinstance(x, (str, bytes)):
        out = []
        for item in x:
            if not isinstance(item, RetryPolicy):
                raise PolicyTypeError(f"retry_policy entries must be RetryPolicy, got {item!r}")
            out.append(_check_policy(item))
        return tuple(out)
    raise PolicyTypeError(
        f"retry_policy must be None, a RetryPolicy or a sequence of them, got {x!r}"
    )


def _canonical(obj: Any) -> Any:
    """Plain dicts (at any depth in plain lists/tuples/dicts) with their keys sorted.

    Equal dicts built in a different order then encode to the same bytes.
    Keys that cannot be compared with each other are ordered by type name and
    ``repr``. Other objects (dataclasses, subclasses of dict...) are left as is.
    """
    kind = type(obj)
    if kind is dict:
        items = [(k, _canonical(v)) for k, v in obj.items()]
        try:
            items.sort(key=lambda kv: kv[0])
        except TypeError:
            items.sort(key=lambda kv: (type(kv[0]).__name__, repr(kv[0])))
        return dict(items)
    if kind is list:
        return [_canonical(v) for v in obj]
    if kind is tuple:
        return tuple(_canonical(v) for v in obj)
    return obj


def default_cache_key(*args: Any, **kwargs: Any) -> str:
    """A stable hex digest (SHA-256) of a task's arguments.

    The arguments are encoded with ``nbflow.serde.dumps((args, sorted kwargs
    items))``, plain dicts inside them having their keys sorted first, so
    neither keyword order nor dict insertion order changes the key. Equal
    arguments give the same key across processes as long as the serializer's
    encoding is stable.

    A non-serializable argument (an open file, a lock, a lambda...) makes
    ``serde.dumps`` raise :class:`nbflow.errors.SerializationError` (a
    ``TypeError``), which propagates unchanged: such a task needs its own
    ``CachePolicy(key_func=...)``.
    """
    from nbflow import serde  # lazy: keeps importing this module cheap

    payload = serde.dumps(_canonical((args, sorted(kwargs.items()))))
    return hashlib.sha256(payload).hexdigest()


KeyFuncT = TypeVar("KeyFuncT", bound=Callable[..., Any])


@dataclass(frozen=True, kw_only=True)
class CachePolicy(Generic[KeyFuncT]):
    """Cache a task's result (LangGraph's ``CachePolicy``).

    ``key_func`` maps the task's arguments to a cache key (``str`` or
    ``bytes``); ``ttl`` is the lifetime in seconds, ``None`` for no expiry.
    """

    key_func: KeyFuncT = default_cache_key  # type: ignore[assignment]
    ttl: int | None = None

    def __post_init__(self) -> None:
        if not callable(self.key_func):
            raise PolicyTypeError(f"CachePolicy.key_func must be callable, got {self.key_func!r}")
        ttl = self.ttl
        if ttl is None:
            return
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
            raise PolicyTypeError(f"CachePolicy.ttl must be seconds (int) or None, got {ttl!r}")
        if not ttl >= 0 or ttl == math.inf:
            raise ConfigError(f"CachePolicy.ttl must be a finite number >= 0, got {ttl!r}")
