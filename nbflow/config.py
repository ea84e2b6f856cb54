"""What a config points at, and the names of the channels a checkpoint holds. Pure.

Both the run engine and the history readers start from a user's ``config``
dict and from a checkpoint's channels; this module is the one place that
parses the former (:func:`parse_config` → :class:`Target`) and names the
latter (:data:`START`, :data:`END`, :data:`PREVIOUS`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, overload

from .errors import ConfigError
from .serde import TAG, default_serializer, vetted

START: Final = "__start__"        # the invocation's input
END: Final = "__end__"            # the value the entrypoint returned
PREVIOUS: Final = "__previous__"  # the next run's ``previous``, when it differs from END
# Parameters the engine fills in when an entrypoint or task declares them.
INJECTABLE: Final = ("config", "previous", "runtime", "store", "writer")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Marks an argument that was not given (where ``None`` is a meaningful value)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a config points at."""

    thread_id: str | None
    checkpoint_ns: str
    checkpoint_id: str | None

    @property
    def thread(self) -> str:
        """The thread id of a config parsed with ``needs_thread=True`` (where it cannot be missing)."""
        if self.thread_id is None:
            raise ConfigError("this call needs a thread id: pass {'configurable': {'thread_id': ...}}")
        return self.thread_id


def parse_config(config: Mapping[str, Any] | None, *, needs_thread: bool, who: str) -> Target:
    """Read thread id, namespace and checkpoint id out of ``config``, or say what is wrong with it."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"{who}: config must be a dict like {{'configurable': {{'thread_id': '1'}}}}, "
                          f"got {type(config).__name__}")
    conf = config.get("configurable") or {}
    if not isinstance(conf, Mapping):
        raise ConfigError(f"{who}: config['configurable'] must be a dict, got {type(conf).__name__}")
    thread_id = conf.get("thread_id")
    if needs_thread and thread_id in (None, ""):
        raise ConfigError(
            f"{who} has a checkpointer, so each call needs a thread id. Pass a config such as "
            "{'configurable': {'thread_id': 'my-thread'}} "
            f"(got {dict(config)!r})."
        )
    if thread_id is not None and not isinstance(thread_id, (str, int, uuid.UUID)):  # UUID: as LangGraph
        raise ConfigError(f"{who}: thread_id must be a str, int or uuid.UUID, got {type(thread_id).__name__}")
    return Target(
        None if thread_id is None else str(thread_id),
        str(conf.get("checkpoint_ns") or ""),
        conf.get("checkpoint_id") or None,
    )


@overload
def config_for(thread_id: str, ns: str, checkpoint_id: str) -> dict: ...


@overload
def config_for(thread_id: str, ns: str, checkpoint_id: None) -> None: ...


@overload
def config_for(thread_id: str, ns: str, checkpoint_id: str | None) -> dict | None: ...


def config_for(thread_id: str, ns: str, checkpoint_id: str | None) -> dict | None:
    """The config that points at one checkpoint (None for no checkpoint)."""
    if checkpoint_id is None:
        return None
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}


def result_channels(value: Any, save: Any) -> dict:
    """Channels of a finished state. ``previous`` is not stored twice when it is the value."""
    return {END: value} if save is value else {END: value, PREVIOUS: save}


def previous_of(channels: Mapping[str, Any]) -> Any:
    """What the next run's ``previous`` is: the saved value, which defaults to the returned one."""
    return channels[PREVIOUS] if PREVIOUS in channels else channels.get(END)


def serializer_of(saver: Any) -> Any:
    """The serializer a saver asks for (its ``serde`` attribute), else nbflow's default one.

    The first call in a process also imports the classes nbflow vouches for (:mod:`nbflow.serde.vetted`), so a
    thread of LangChain messages loads in a new process with nothing imported by hand.
    """
    vetted.load()
    return getattr(saver, "serde", None) or default_serializer


# Checkpoint metadata: the key naming the entrypoint that wrote a checkpoint (stored, never shown),
# and the config keys LangGraph does not copy into a checkpoint's metadata.
ENTRYPOINT_KEY: Final = "__nbflow_entrypoint__"
_NOT_METADATA: Final = frozenset({"thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map", "langgraph_step",
                                  "langgraph_node", "langgraph_triggers", "langgraph_path",
                                  "langgraph_checkpoint_ns"})


def metadata_from_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a run's config adds to its checkpoints' metadata, as LangGraph does: the plain (str, int,
    float, bool) values of ``config["metadata"]`` and of ``config["configurable"]``, except the
    keys that address the checkpoint and private ones (leading ``__``); NUL characters dropped."""
    out: dict[str, Any] = {}
    if not config:
        return out
    for part in (config.get("metadata"), config.get("configurable")):
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if type(key) is not str or key in out or key in _NOT_METADATA or key.startswith("__"):
                continue
            if isinstance(value, str):
                out[key] = value.replace("\x00", "")
            elif isinstance(value, (int, float, bool)):
                out[key] = value
    return out


def stored_metadata(meta: dict[str, Any], config_metadata: Mapping[str, Any], entrypoint: str) -> dict[str, Any]:
    """``meta`` as a checkpoint stores it: completed with the config's values (``meta``'s own keys
    win, as in LangGraph) and the name of the entrypoint that wrote it, kept out of what users see."""
    for key, value in config_metadata.items():
        meta.setdefault(key, value)
    meta[ENTRYPOINT_KEY] = entrypoint
    return meta


_OWN_KEYS: Final = frozenset({"source", "step", "parents"})  # a checkpoint's own: the config's do not replace them
_TAILS: dict[tuple, bytes] = {}  # (entrypoint, config metadata) -> the stored metadata after "parents"


def root_metadata_bytes(serde: Any, source: str, step: int, config_metadata: Mapping[str, Any],
                        entrypoint: str) -> bytes | None:
    """The stored metadata of a top-level run's checkpoint (``stored_metadata`` of ``{"source": source,
    "step": step, "parents": {}}``, serialized), when nbflow's own serializer writes it and the config's
    values are plain strings, ints and flags: the same bytes, with the part every checkpoint of such a run
    shares encoded once. None otherwise (the caller serializes the dict)."""
    if serde is not default_serializer:
        return None
    try:
        key = (entrypoint, *config_metadata.items())
        tail = _TAILS.get(key)
    except TypeError:  # an unhashable value
        return None
    if tail is None:
        rest = {k: v for k, v in config_metadata.items() if k not in _OWN_KEYS}
        rest[ENTRYPOINT_KEY] = entrypoint  # in the place stored_metadata gives it
        if TAG in rest or any(type(k) is not str or type(v) not in (str, int, bool) for k, v in rest.items()):
            return None  # a tagged or non-plain value: the serializer encodes the dict whole
        tail = default_serializer.dumps(rest)[1:]  # '"key":value,...}' (a dict of plain values is plain JSON)
        if len(_TAILS) > 256:
            _TAILS.clear()
        _TAILS[key] = tail
    return b'{"source":"%s","step":%d,"parents":{},%s' % (source.encode(), step, tail)


def shown_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A stored checkpoint's metadata as users see it (without nbflow's own keys)."""
    if ENTRYPOINT_KEY not in meta:
        return meta if isinstance(meta, dict) else dict(meta)
    return {k: v for k, v in meta.items() if k != ENTRYPOINT_KEY}


def ns_tuple(ns: str) -> tuple[str, ...]:
    """A stored namespace string (``"a:1|b:2"``) as the tuple events carry."""
    return tuple(ns.split("|")) if ns else ()


__all__ = ["START", "END", "PREVIOUS", "INJECTABLE", "MISSING", "Target", "parse_config", "config_for",
           "result_channels", "previous_of", "ns_tuple", "serializer_of", "ENTRYPOINT_KEY", "metadata_from_config",
           "stored_metadata", "root_metadata_bytes", "shown_metadata"]
