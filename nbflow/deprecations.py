"""The documented import path of :mod:`nbflow.compat.deprecations` (LangGraph's warning classes), kept for users."""

from .compat.deprecations import (
    LangGraphDeprecatedSinceV05,
    LangGraphDeprecatedSinceV10,
    LangGraphDeprecatedSinceV11,
    LangGraphDeprecationWarning,
)

__all__ = ["LangGraphDeprecationWarning", "LangGraphDeprecatedSinceV05", "LangGraphDeprecatedSinceV10",
           "LangGraphDeprecatedSinceV11"]
