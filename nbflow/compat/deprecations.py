"""LangGraph's deprecation warning classes, and the one helper that emits them.

Code written for LangGraph filters or asserts on these classes
(``pytest.warns(LangGraphDeprecatedSinceV05, match=...)``), so nbflow raises
the same classes with the same messages for the same deprecated arguments:

* ``@task(retry=...)`` / ``@entrypoint(retry=...)`` -- since 0.5: use ``retry_policy``;
* ``@entrypoint(config_schema=...)`` -- since 1.0: use ``context_schema``;
* ``Workflow.config_schema()`` -- since 1.0: use ``get_context_jsonschema()``.

All are :class:`DeprecationWarning` subclasses. ``str(warning)`` appends the
version it was deprecated in and the one it is expected to be removed in.
"""

from __future__ import annotations

import warnings

__all__ = [
    "LangGraphDeprecationWarning",
    "LangGraphDeprecatedSinceV05",
    "LangGraphDeprecatedSinceV10",
    "LangGraphDeprecatedSinceV11",
    "warn_renamed_argument",
    "warn_deprecated_argument",
    "warn_config_schema_method",
]


class LangGraphDeprecationWarning(DeprecationWarning):
    """A deprecation of LangGraph's API, kept by nbflow; carries ``since`` and ``expected_removal``."""

    def __init__(self, message: str, *args: object, since: tuple[int, int],
                 expected_removal: tuple[int, int] | None = None) -> None:
        super().__init__(message, *args)
        self.message = message.rstrip(".")
        self.since = since
        self.expected_removal = expected_removal or (since[0] + 1, 0)

    def __str__(self) -> str:
        (s0, s1), (r0, r1) = self.since, self.expected_removal
        return f"{self.message}. Deprecated in LangGraph V{s0}.{s1} to be removed in V{r0}.{r1}."


class LangGraphDeprecatedSinceV05(LangGraphDeprecationWarning):
    """Deprecated since LangGraph 0.5 (removal expected in 2.0)."""

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args, since=(0, 5), expected_removal=(2, 0))


class LangGraphDeprecatedSinceV10(LangGraphDeprecationWarning):
    """Deprecated since LangGraph 1.0 (removal expected in 2.0)."""

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args, since=(1, 0), expected_removal=(2, 0))


class LangGraphDeprecatedSinceV11(LangGraphDeprecationWarning):
    """Deprecated since LangGraph 1.1 (removal expected in 3.0)."""

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args, since=(1, 1), expected_removal=(3, 0))


_SINCE = {"0.5": LangGraphDeprecatedSinceV05, "0.6": LangGraphDeprecatedSinceV10,
          "1.0": LangGraphDeprecatedSinceV10, "1.1": LangGraphDeprecatedSinceV11}


def warn_renamed_argument(old: str, new: str, since: str, *, stacklevel: int = 3) -> None:
    """Warn that keyword argument ``old`` is deprecated in favour of ``new`` (LangGraph's wording)."""
    category = _SINCE.get(since, LangGraphDeprecatedSinceV10)
    warnings.warn(f"`{old}` is deprecated and will be removed. Please use `{new}` instead.",
                  category, stacklevel=stacklevel + 1)


def warn_deprecated_argument(old: str, new: str, *, stacklevel: int = 3) -> None:
    """``old`` is deprecated since 1.0 in favour of ``new`` (e.g. ``checkpoint_during`` → ``durability``)."""
    warnings.warn(f"`{old}` is deprecated and will be removed. Please use `{new}` instead.",
                  LangGraphDeprecatedSinceV10, stacklevel=stacklevel + 1)


def warn_config_schema_method(*, stacklevel: int = 2) -> None:
    warnings.warn(
        "`config_schema` is deprecated. Use `get_context_jsonschema` for the relevant schema instead.",
        LangGraphDeprecatedSinceV10, stacklevel=stacklevel + 1,
    )
