"""The documented import path of :mod:`nbflow.serde.inert`'s limits (``nbflow.inert.Limits``), kept for users."""

from .serde.inert import LIMITS, Limits

__all__ = ["Limits", "LIMITS"]
