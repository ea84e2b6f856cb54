"""Serialisation: the byte format of every value nbflow stores, and the rule that reading it is inert.

* :mod:`nbflow.serde._encode` -- :class:`Serializer` (``dumps`` / ``loads``), the encoders and the format;
* :mod:`nbflow.serde._decode` -- the decoders, each checking its fields before using them;
* :mod:`nbflow.serde.inert` -- the one "stored data is inert" rule, its limits (:class:`~nbflow.serde.inert.Limits`)
  and the lookup primitives (``sys.modules`` and plain ``__dict__`` entries only);
* :mod:`nbflow.serde.preview` -- one-line previews of values (``summarize``);
* :mod:`nbflow.serde.vetted` -- the third-party classes nbflow vouches for (LangChain messages, documents),
  imported from fixed module names when a saver is opened;
* :mod:`nbflow.serde.encrypted` -- :class:`~nbflow.serde.encrypted.EncryptedSerializer` (AES at rest).

This package's namespace is the public serializer API: :class:`Serializer`, :data:`default_serializer`,
:func:`dumps`, :func:`loads`, :func:`register_type`, :func:`register_zone`, :func:`summarize`.
"""

from __future__ import annotations

from ._encode import TAG, Serializer, default_serializer, dumps, loads, register_type, register_zone, summarize

__all__ = ["Serializer", "default_serializer", "dumps", "loads", "register_type", "register_zone", "summarize", "TAG"]
