"""Content-addressed pieces: how a checkpoint stores only what changed since the thread's last one (pure).

A chat thread's state is mostly a list that grows by a message or two per turn. Stored whole, every
checkpoint would copy the whole history (storage growing with the square of the turns, and every
turn re-encoding and re-decoding all of it). Instead, a checkpoint's channels are stored as a small
*manifest* plus *pieces*:

* Every plain ``list`` of at least :data:`MIN_ITEMS` items, found at the top of a channel or inside
  plain dicts (up to :data:`WALK` levels), is stored as pieces: each item is encoded on its own (the
  same serializer, allow-list and limits as any payload) and named by a keyed 12-byte BLAKE2b hash of
  its encoding. Identical items -- the unchanged history every checkpoint of a thread shares, the
  same message in a fork -- are the same piece, stored once per thread.
* The list's item hashes form a tree of node pieces with :data:`FANOUT` children each. Only *full*
  nodes are made, so a node never changes once written; the manifest names the sealed subtrees left
  to right (the digits of the length in base ``FANOUT``: at most ``FANOUT - 1`` per level). A list
  that grew by one item costs one item piece, sometimes a node, and a manifest of a few dozen hashes.
* The manifest is an ordinary stored document: a pieced list is the tagged object
  ``{"__nb__": "pieces", "n": <length>, "r": [[level, hash], ...]}``, which decodes to a
  :class:`~nbflow.serde._decode.PieceRef` until :func:`join` fetches its pieces.

Reading any checkpoint costs its own size: the manifest, one fetch per tree level, one for the
items; there is no chain of deltas to follow. A saver writes a checkpoint's new pieces in the same
transaction as the checkpoint, so no checkpoint ever points to a missing piece.

A turn costs its own work: a :class:`Memo` remembers, for the last value of a thread this process
wrote or read, each item's hash by identity. The next checkpoint re-encodes only items it has not
seen (a list rebuilt by ``add_messages`` keeps the same message objects). Items are matched by
identity: a message replaced (``add_messages`` with the same id, ``model_copy``) is a new item; the
newest :data:`CHECKED` items of a list are also compared field by field, so editing the last message
in place is seen too. An older item changed in place is not: replace it instead.

Encrypted serializers encrypt every item piece; hashes are keyed with a key derived from the
cipher's, so they reveal nothing; node pieces hold only such hashes.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from operator import is_
from typing import Any

from ..errors import DeserializationError
from ._decode import PIECE_FANOUT, PIECE_HASH, PieceOne, PieceRef
from ._encode import Serializer
from .encrypted import EncryptedSerializer
from .inert import LIMITS

__all__ = ["MIN_ITEMS", "WALK", "FANOUT", "HASH", "CHECKED", "Codec", "codec_for", "Memo", "split", "join",
           "refs_in", "reachable", "PieceRef", "PieceOne", "squeeze", "unsqueeze", "ZDICT_1", "PACKED", "DigestMemo",
           "digestible", "has_lists"]

MIN_ITEMS = 4      # shorter lists are stored inline
WALK = 3           # levels of plain dicts searched for lists
FANOUT = PIECE_FANOUT
HASH = PIECE_HASH
CHECKED = 32       # newest items of a list compared field by field, not only by identity
_NODE = b"\x00nbflow-node\x00"  # domain separation: a node's hash can never be an item's
_SPINE = b"\x00nbflow-spine\x00"
SPINE_MIN = 4  # a list's refs go to a piece of their own (shared by the checkpoints that hold that list) from this many


class Codec:
    """How one serializer makes pieces: ``plain`` encodes an item (what its hash is taken of),
    ``store`` turns that into the stored bytes (compressed when that helps, then encrypted by an
    encrypting serializer), ``load`` reads stored bytes back, ``digest`` names plain bytes."""

    __slots__ = ("plain", "store", "load", "_key")

    def __init__(self, plain: Callable[[Any], bytes], store: Callable[[bytes], bytes],
                 load: Callable[[bytes], Any], key: bytes = b"") -> None:
        self.plain = plain
        self.store = store
        self.load = load
        self._key = key

    def digest(self, data: bytes) -> bytes:
        return hashlib.blake2b(data, digest_size=HASH, key=self._key).digest()


PACKED = frozenset(b"yz")  # first bytes of a compressed payload
_Z = b"z"  # zlib-compressed, for long payloads (no JSON document starts with it)
_Y = b"y"  # raw deflate with a 2 kB window, against ZDICT_1: short payloads (small state: ~3 us, not ~80)
_SMALL = 4096
# What the stored form of LangChain messages, tool calls and nbflow's tags repeat, given to zlib as a
# preset dictionary, so a short message compresses well on its own. Part of the stored format:
# never edit it; a new dictionary gets a new prefix.
ZDICT_1 = (
    b'{"source":"update","step":{"source":"fork","step":"replayed_from":"forked_from":{"thread_id":"checkpoint_id":'
    b'"task_index":"replaced":false}{"source":"input","step":,"parents":{},"__nbflow_entrypoint__":"'
    b'{"source":"loop","step":{"__start__":"__end__":{"__nb__":"piece","h":"'
    b'"__previous__":{"__nb__":"pieces","n":,"r":[[0,"[1,"[2,"[3,"[4,"[5,"'
    b'"invalid_tool_calls":[],"usage_metadata":null}}"tool_call_id":"","artifact":null,"status":"success"}}'
    b'"type":"tool_call"},{"name":"","args":{},"id":"call_"input_tokens":,"output_tokens":,"total_tokens":'
    b'"input_token_details":{"cache_read":"output_token_details":{"reasoning":"model_name":"finish_reason":'
    b'"stop"{"__nb__":"tuple","v":[{"__nb__":"dict","v":[{"__nb__":"uuid","v":"{"__nb__":"datetime","v":['
    b'{"__nb__":"pydantic","cls":"langchain_core.documents.base:Document","f":{"id":null,"metadata":{},'
    b'"page_content":"{"__nb__":"pydantic","cls":"langchain_core.messages.system:SystemMessage","f":{'
    b'{"__nb__":"pydantic","cls":"langchain_core.messages.tool:ToolMessage","f":{"content":"'
    b'{"__nb__":"pydantic","cls":"langchain_core.messages.ai:AIMessage","f":{"content":"'
    b'"additional_kwargs":{},"response_metadata":{},"type":"ai","name":null,"id":"run-'
    b'{"__nb__":"pydantic","cls":"langchain_core.messages.human:HumanMessage","f":{"content":"'
    b'"additional_kwargs":{},"response_metadata":{},"type":"human","name":null,"id":"'
)


# A compressor with ZDICT_1 already loaded: each short payload starts from a copy of it (loading the
# dictionary was most of the cost of compressing a short payload). Copying takes the object's lock.
_Y_PRIMED = zlib.compressobj(6, zlib.DEFLATED, -11, 2, zlib.Z_DEFAULT_STRATEGY, ZDICT_1)
# The last few payloads squeezed (plain -> stored): a task's reply is stored as a journal piece, then
# as an item of the history the checkpoint saves, and is compressed once.
_RECENT: dict[bytes, bytes] = {}
_RECENT_MAX = 16


def squeeze(plain: bytes, least: int = 96) -> bytes:
    """``plain`` compressed behind a ``y`` (short: raw deflate against :data:`ZDICT_1`) or a ``z``
    (long: zlib) when that makes it smaller (tried from ``least`` bytes on)."""
    n = len(plain)
    if n < least:
        return plain
    if n < _SMALL:
        out = _RECENT.get(plain)
        if out is not None:
            return out
        c = _Y_PRIMED.copy()
        z, head = c.compress(plain) + c.flush(), _Y
    else:
        z, head = zlib.compress(plain, 6), _Z
    out = head + z if len(z) + 1 < n else plain
    if n < _SMALL and n >= 256:
        if len(_RECENT) >= _RECENT_MAX:
            _RECENT.clear()
        _RECENT[plain] = out
    return out


def unsqueeze(data: bytes, limit: int = LIMITS.size) -> bytes:
    """The plain bytes of a payload :func:`squeeze` made, refusing more than ``limit`` bytes."""
    head = data[:1]
    if head != _Y and head != _Z:
        return data
    d = zlib.decompressobj(-11, zdict=ZDICT_1) if head == _Y else zlib.decompressobj()
    try:
        out = d.decompress(data[1:], limit + 1)
    except zlib.error as e:
        raise DeserializationError(f"a stored payload is damaged: it does not decompress ({e})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise DeserializationError(f"a stored payload decompresses to more than {limit} bytes (the size limit)")
    return out


def codec_for(serializer: Any) -> Codec | None:
    """The piece codec of ``serializer``, or None when it cannot make pieces (a serializer of the
    user's own, or an encrypted one whose cipher does not show its key): then values are stored whole."""
    if isinstance(serializer, Serializer):
        loads = serializer.loads
        limit = serializer.limits.size
        return Codec(serializer.dumps, squeeze, lambda b: loads(unsqueeze(bytes(b), limit)))
    if isinstance(serializer, EncryptedSerializer) and isinstance(serializer.serde, Serializer):
        key = serializer.digest_key
        if key is None:
            return None
        inner, seal, open_ = serializer.serde, serializer.seal, serializer.open
        limit = inner.limits.size
        return Codec(inner.dumps, lambda p: seal(squeeze(p)), lambda b: inner.loads(unsqueeze(open_(b), limit)),
                     hashlib.blake2b(b"nbflow/pieces", key=key, digest_size=32).digest())
    return None


# ------------------------------------------------------------------ change detection
_SAME = object()
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, complex, tuple, frozenset, _dt.datetime,
                        _dt.date, _dt.time, _dt.timedelta, uuid.UUID, decimal.Decimal})


def _snap(x: Any) -> Any:
    """What :func:`_unchanged` compares ``x`` with later: a shallow copy of its contents."""
    t = type(x)
    if t in _IMMUTABLE:
        return _SAME
    if t is dict:
        return dict(x)
    if t is list:
        return tuple(x)
    d = getattr(x, "__dict__", None)
    if type(d) is dict:
        return dict(d)
    return None  # unknown: never taken as unchanged


def _unchanged(x: Any, s: Any) -> bool:
    if s is _SAME:
        return True
    if s is None:
        return False
    t = type(x)
    if t is dict:
        return x == s  # identical values compare equal at C speed
    if t is list:
        return len(x) == len(s) and all(map(is_, x, s))
    return x.__dict__ == s


def _verified(xs: Sequence[Any], hs: Sequence[bytes], items: dict[int, tuple[Any, bytes, Any]]) -> bool:
    """Whether each of ``xs`` is the very item hashed ``hs[i]`` in ``items`` and unchanged since: the
    newest items of a list seen before, checked in one pass (False sends the caller the slow way)."""
    get = items.get
    for x, h in zip(xs, hs, strict=True):
        e = get(id(x))
        if e is None or e[0] is not x or e[1] != h or not _unchanged(x, e[2]):
            return False
    return True


class Memo:
    """What this process knows of one thread's last stored value (see the module docstring).

    ``checkpoint_id``: the checkpoint it describes; ``value``: its channels, as written or decoded;
    ``items``: ``id(item) -> (item, hash, snapshot)``; ``lists``: ``id(list) -> _Listed``;
    ``known``: every piece hash reachable from it (stored for sure: pruning keeps the newest checkpoint).
    """

    __slots__ = ("checkpoint_id", "value", "items", "lists", "known", "dicts")

    def __init__(self) -> None:
        self.checkpoint_id: str | None = None
        self.value: Any = None
        self.items: dict[int, tuple[Any, bytes, Any]] = {}
        self.lists: dict[int, _Listed] = {}
        self.known: set[bytes] = set()
        self.dicts: list[tuple[dict, dict]] = []

    def fresh(self) -> bool:
        """Whether :attr:`value` still holds what was stored (nobody changed it in place since)."""
        for d, s in self.dicts:
            if not _unchanged(d, s):
                return False
        items = self.items
        for e in self.lists.values():
            lst = e.list
            if len(lst) != len(e.snap) or not all(map(is_, lst, e.snap)):
                return False
            for x in lst[-CHECKED:]:
                it = items.get(id(x))
                if it is None or not _unchanged(x, it[2]):
                    return False
        return True


class _Listed:
    """A list as stored: the list, its items then, its ref, its item hashes, and its node hashes level
    by level (``levels[0]``: the nodes over the items); ``reach``: every piece hash it is stored as
    (items, nodes, spine), made when first asked for (:meth:`reachable`) and never changed after."""

    __slots__ = ("list", "snap", "ref", "hashes", "levels", "reach")

    def __init__(self, lst: list, snap: tuple, ref: PieceRef, hashes: list, levels: list[list[bytes]],
                 reach: set[bytes] | None = None) -> None:
        self.list, self.snap, self.ref, self.hashes, self.levels = lst, snap, ref, hashes, levels
        self.reach = reach

    @property
    def nodes(self) -> list[bytes]:
        return [h for level in self.levels for h in level]

    def reachable(self) -> set[bytes]:
        if self.reach is None:
            reach = set(self.hashes)
            reach.update(self.nodes)
            if self.ref.spine is not None:
                reach.add(self.ref.spine)
            self.reach = reach
        return self.reach

    def grown(self, base: _Listed) -> None:
        """Make :attr:`reach` from ``base``'s: this list is ``base``'s items, unchanged, then more (so
        ``base``'s sealed nodes are this one's first nodes, level by level): a copy and the new hashes."""
        reach = base.reachable().copy()
        if base.ref.spine is not None:
            reach.discard(base.ref.spine)
        reach.update(self.hashes[len(base.hashes):])
        for lvl, level in enumerate(self.levels):
            reach.update(level[len(base.levels[lvl]) if lvl < len(base.levels) else 0:])
        if self.ref.spine is not None:
            reach.add(self.ref.spine)
        self.reach = reach


# ------------------------------------------------------------------ writing
def split(value: Any, codec: Codec, old: Memo | None) -> tuple[Any, dict[bytes, bytes], Memo]:
    """``value`` with its long lists replaced by :class:`PieceRef`, the pieces not yet stored
    (hash -> stored bytes), and the memo to adopt once they are committed.

    Raises what ``codec.plain`` raises (:class:`~nbflow.errors.SerializationError`) for an item that
    cannot be stored.
    """
    old_lists = old.lists if old is not None else {}
    known = old.known if old is not None else set()
    memo = Memo()
    if old is not None and len(old.items) < 4 * (sum(len(e.snap) for e in old_lists.values()) + 64):
        memo.items = old.items  # shared, only added to: an entry counts only if its piece is known stored
    elif old is not None:  # many items dropped since: keep only the live ones
        memo.items = {id(x): old.items[id(x)] for e in old_lists.values() for x in e.list if id(x) in old.items}
    pieces: dict[bytes, bytes] = {}
    items, lists = memo.items, memo.lists

    def item_hash(x: Any, checked: bool) -> bytes:
        e = items.get(id(x))
        if e is not None and e[0] is x and (not checked or _unchanged(x, e[2])) and (e[1] in known or e[1] in pieces):
            return e[1]
        plain = codec.plain(x)
        h = codec.digest(plain)
        if h not in known and h not in pieces:
            pieces[h] = codec.store(plain)
        items[id(x)] = (x, h, _snap(x))
        return h

    def piece_list(v: list) -> PieceRef:
        n = len(v)
        snap = tuple(v)
        hit = lists.get(id(v)) or old_lists.get(id(v))
        # the same list as last time: the newest items are compared, the rest taken by identity
        if hit is not None and hit.list is v and len(hit.snap) == n and all(map(is_, snap, hit.snap)) and (
                _verified(snap[-CHECKED:], hit.hashes[-CHECKED:], items)
                or [item_hash(x, True) for x in snap[-CHECKED:]] == list(hit.hashes[-CHECKED:])):
            lists[id(v)] = hit
            return hit.ref
        base = _longest_prefix(snap, old_lists.values())
        m = len(base.snap) if base is not None else 0
        first = n - CHECKED
        hashes = (list(base.hashes) if base is not None else []) + [
            item_hash(x, i >= first) for i, x in enumerate(snap[m:], m)]
        same = m
        if base is not None and m > first and not _verified(snap[max(first, 0):m], base.hashes[max(first, 0):m],
                                                            items):
            # items of the base list among the newest changed: find the first that did
            for i in range(max(first, 0), m):
                hashes[i] = item_hash(snap[i], True)
                if hashes[i] != base.hashes[i]:
                    same = min(same, i)
        ref, levels = _tree(hashes, codec, known, pieces, base.levels if base is not None else None, same)
        ref = _spined(ref, codec, known, pieces)
        listed = lists[id(v)] = _Listed(v, snap, ref, hashes, levels)
        if base is not None and same == m and m > 0:
            listed.grown(base)  # the common case, a list that grew: its pieces are the base's and the new ones
        return ref

    def find(v: Any, depth: int) -> None:  # first the lists, so any value they hold can be named
        t = type(v)
        if t is list and len(v) >= MIN_ITEMS:
            if id(v) not in lists:
                piece_list(v)
        elif t is dict and depth < WALK:
            memo.dicts.append((v, dict(v)))
            for x in v.values():
                find(x, depth + 1)

    find(value, 0)
    # every piece hash the value is stored as (read-only from now on: a list's set may be shared)
    reaches = [e.reachable() for e in lists.values()]
    memo.known = known_now = reaches[0] if len(reaches) == 1 else set().union(*reaches)

    def walk(v: Any, depth: int) -> Any:
        t = type(v)
        if t is list and len(v) >= MIN_ITEMS:
            return lists[id(v)].ref
        if depth > 0 and t not in _IMMUTABLE:
            # a value some list here also holds (the reply in the history): named, not copied
            e = items.get(id(v))
            if e is not None and e[0] is v and e[1] in known_now and _unchanged(v, e[2]):
                return PieceOne(e[1])
        if t is dict and depth < WALK:
            return {k: walk(x, depth + 1) for k, x in v.items()}
        return v

    doc = walk(value, 0)
    memo.value = value
    return doc, pieces, memo


def has_lists(value: Any, depth: int = 0) -> bool:
    """Whether :func:`split` would store any list of ``value`` as pieces."""
    t = type(value)
    if t is list:
        return len(value) >= MIN_ITEMS
    if t is dict and depth < WALK:
        for x in value.values():
            if has_lists(x, depth + 1):
                return True
    return False


def _spined(ref: PieceRef, codec: Codec, known: set[bytes], pieces: dict[bytes, bytes]) -> PieceRef:
    """``ref`` with its refs in a spine piece when they are many (see :data:`SPINE_MIN`)."""
    if len(ref.refs) < SPINE_MIN:
        return ref
    data = b"".join(bytes([lvl]) + h for lvl, h in ref.refs)
    h = codec.digest(_SPINE + data)
    if h not in known and h not in pieces:
        pieces[h] = data
    return PieceRef(ref.n, ref.refs, h)


def _read_spines(refs: list[PieceRef], fetch: Fetch, where: str, cache: dict | None = None) -> None:
    """Fill in the refs of each :class:`PieceRef` that keeps them in a spine piece (one fetch for all)."""
    todo = [r for r in refs if r.spine is not None and not r.refs]
    if not todo:
        return
    cache = {} if cache is None else cache
    need = sorted({r.spine for r in todo if r.spine is not None and ("spine", r.spine) not in cache})
    got = fetch(need) if need else {}
    for r in todo:
        key = ("spine", r.spine)
        if key not in cache:
            data = got.get(r.spine)  # type: ignore[arg-type]
            if data is None:
                raise DeserializationError(f"{where} points to a piece that is missing (spine {r.spine.hex()}); "  # type: ignore[union-attr]
                                           "the database was changed by something other than nbflow")
            cache[key] = _parse_spine(bytes(data), where)
        r.refs = cache[key]
        if sum(FANOUT ** lvl for lvl, _ in r.refs) != r.n:
            raise DeserializationError(f"{where} has a damaged list of pieces (its spine counts another length "
                                       f"than {r.n})")


def _parse_spine(data: bytes, where: str) -> tuple[tuple[int, bytes], ...]:
    step = HASH + 1
    if len(data) % step:
        raise DeserializationError(f"{where} has a damaged piece (a spine of {len(data)} bytes)")
    out = []
    for i in range(0, len(data), step):
        lvl = data[i]
        if lvl > 40:
            raise DeserializationError(f"{where} has a damaged piece (a spine names level {lvl})")
        out.append((lvl, data[i + 1:i + step]))
    return tuple(out)


def _longest_prefix(snap: tuple, candidates: Iterable[_Listed]) -> _Listed | None:
    """The list stored last time that ``snap`` starts with (by identity), longest first."""
    best = None
    for e in candidates:
        m = len(e.snap)
        if m <= len(snap) and (best is None or m > len(best.snap)) and all(map(is_, e.snap, snap)):
            best = e
    return best


def _tree(hashes: list[bytes], codec: Codec, known: set[bytes], pieces: dict[bytes, bytes],
          base: list[list[bytes]] | None = None, same: int = 0) -> tuple[PieceRef, list[list[bytes]]]:
    """The sealed subtrees over ``hashes`` (see the module docstring) and the node hashes level by
    level; new node pieces go to ``pieces``. The first ``same`` hashes are those of the list ``base``
    was made for, so its nodes over them are taken as they are."""
    below = hashes
    levels: list[list[bytes]] = []
    while len(below) >= FANOUT:
        full = len(below) // FANOUT
        k = min(full, same // FANOUT) if base is not None and len(base) > len(levels) else 0
        above = base[len(levels)][:k] if k else []  # type: ignore[index]
        for i in range(k * FANOUT, full * FANOUT, FANOUT):
            data = b"".join(below[i:i + FANOUT])
            h = codec.digest(_NODE + data)
            if h not in known and h not in pieces:
                pieces[h] = data
            above.append(h)
        levels.append(above)
        below, same = above, k
    refs: list[tuple[int, bytes]] = []
    chain = [hashes, *levels]
    for lvl in range(len(chain) - 1, -1, -1):
        covered = len(chain[lvl + 1]) * FANOUT if lvl + 1 < len(chain) else 0
        refs.extend((lvl, h) for h in chain[lvl][covered:])
    return PieceRef(len(hashes), tuple(refs)), levels


# ------------------------------------------------------------------ reading
_SUBTREES = ("subtrees",)  # key of the expanded subtrees in a join's ``decoded`` cache
def refs_in(doc: Any) -> list[Any]:
    """Every :class:`PieceRef` and :class:`PieceOne` in a decoded manifest (where :func:`split` puts them)."""
    out: list[Any] = []

    def walk(v: Any, depth: int) -> None:
        if type(v) is PieceRef or type(v) is PieceOne:
            out.append(v)
        elif type(v) is dict and depth < WALK:
            for x in v.values():
                walk(x, depth + 1)

    walk(doc, 0)
    return out


Fetch = Callable[[list[bytes]], dict[bytes, bytes]]


def _expand(refs: list[PieceRef], fetch: Fetch, where: str,
            sub: dict[tuple[int, bytes], list[bytes]] | None = None) -> tuple[list[list[bytes]], set[bytes]]:
    """Item hashes of each ref, fetching node pieces one tree level at a time, and the node hashes
    fetched. ``sub`` (``(level, hash) -> item hashes``) caches subtrees across calls: a history
    listing expands each node once, however many checkpoints share it."""
    sub = {} if sub is None else sub
    children: dict[tuple[int, bytes], list[bytes]] = {}
    need = {(lvl, h) for r in refs for lvl, h in r.refs if lvl > 0 and (lvl, h) not in sub}
    while need:
        got = fetch(sorted({h for _, h in need}))
        nxt: set[tuple[int, bytes]] = set()
        for lvl, h in need:
            data = got.get(h)
            if data is None:
                raise DeserializationError(f"{where} points to a piece that is missing (node {h.hex()}); "
                                           "the database was changed by something other than nbflow")
            data = bytes(data)
            if len(data) != FANOUT * HASH:
                raise DeserializationError(f"{where} has a damaged piece (node {h.hex()} holds "
                                           f"{len(data)} bytes, expected {FANOUT * HASH})")
            kids = [data[j:j + HASH] for j in range(0, len(data), HASH)]
            children[(lvl, h)] = kids
            if lvl > 1:
                nxt.update((lvl - 1, k) for k in kids if (lvl - 1, k) not in sub and (lvl - 1, k) not in children)
        need = nxt

    def items(lvl: int, h: bytes) -> list[bytes]:
        if lvl == 0:
            return [h]
        got = sub.get((lvl, h))
        if got is None:
            got = []
            for k in children[(lvl, h)]:
                got.extend(items(lvl - 1, k))
            sub[(lvl, h)] = got
        return got

    out = []
    for r in refs:
        hs: list[bytes] = []
        for lvl, h in r.refs:
            hs.extend(items(lvl, h))
        out.append(hs)
    return out, {h for _, h in children}


def join(doc: Any, codec: Codec, fetch: Fetch, where: str,
         decoded: dict[Any, Any] | None = None, memo: bool = True) -> tuple[Any, Memo | None]:
    """The value a manifest stands for, its pieces fetched with ``fetch`` (hashes -> stored bytes),
    and (``memo=True``) a :class:`Memo` of it. ``decoded``, when given, is shared by several joins
    (a history listing): each piece is decoded, and each node expanded, once; items are shared."""
    m = Memo() if memo else None
    found = refs_in(doc)
    ones: list[PieceOne] = [r for r in found if type(r) is PieceOne]
    refs: list[PieceRef] = [r for r in found if type(r) is PieceRef]
    built: dict[int, Any] = {}
    if found:
        cache: dict[Any, Any] = {} if decoded is None else decoded
        sub = cache.setdefault(_SUBTREES, {})
        _read_spines(refs, fetch, where, cache)
        hashes, _ = _expand(refs, fetch, where, sub)
        need = sorted({h for hs in hashes for h in hs if h not in cache} | {r.h for r in ones if r.h not in cache})
        if need:
            got = fetch(need)
            for h in need:
                data = got.get(h)
                if data is None:
                    raise DeserializationError(f"{where} points to a piece that is missing (item {h.hex()}); "
                                               "the database was changed by something other than nbflow")
                cache[h] = codec.load(data)
        for r, hs in zip(refs, hashes, strict=True):
            if len(hs) != r.n:
                raise DeserializationError(f"{where} has a damaged list of pieces ({len(hs)} items, expected {r.n})")
            lst = [cache[h] for h in hs]
            built[id(r)] = lst
            if m is not None:
                for x, h in zip(lst, hs, strict=True):
                    m.items[id(x)] = (x, h, _snap(x))
                listed = _Listed(lst, tuple(lst), r, hs, _levels_of(hs, codec))
                m.lists[id(lst)] = listed
                m.known.update(hs)
                m.known.update(listed.nodes)
                if r.spine is not None:
                    m.known.add(r.spine)
        for one in ones:
            built[id(one)] = cache[one.h]
            if m is not None:
                m.known.add(one.h)

    def walk(v: Any, depth: int) -> Any:
        if type(v) is PieceRef or type(v) is PieceOne:
            return built[id(v)]
        if type(v) is dict and depth < WALK:
            out = {k: walk(x, depth + 1) for k, x in v.items()}
            if m is not None:
                m.dicts.append((out, dict(out)))
            return out
        return v

    value = walk(doc, 0)
    if m is not None:
        m.value = value
    return value, m


def _levels_of(hashes: list[bytes], codec: Codec) -> list[list[bytes]]:
    """The node levels over ``hashes`` (as :func:`_tree` makes them), for a list read back; computed
    (nodes are content hashes) once per thread read, so the next write reuses them."""
    return _tree(hashes, codec, set(), {})[1]


def reachable(doc: Any, fetch: Fetch, where: str) -> set[bytes]:
    """Every piece hash a decoded manifest needs (nodes and items), without decoding any item."""
    found = refs_in(doc)
    if not found:
        return set()
    refs = [r for r in found if type(r) is PieceRef]
    _read_spines(refs, fetch, where)
    hashes, nodes = _expand(refs, fetch, where)
    return set().union(*hashes, nodes, (r.h for r in found if type(r) is PieceOne),
                       (r.spine for r in refs if r.spine is not None))


# ------------------------------------------------------------------ argument digests
_CONTAINERS = frozenset({dict, list, tuple, set, frozenset})


class DigestMemo:
    """What the argument digests of one thread remember between calls: the lists last digested
    (``(list, items then, item hashes)``) and item hashes by identity."""

    __slots__ = ("lists", "items")

    def __init__(self) -> None:
        self.lists: list[tuple[list, tuple, list[bytes]]] = []
        self.items: dict[int, tuple[Any, bytes, Any]] = {}


def digestible(value: Any, codec: Codec, memo: Memo | None, dmemo: DigestMemo,
               canon: Callable[[Any], Any]) -> Any:
    """``value`` (a call's ``(args, kwargs)``) with each long list replaced by a text naming its items'
    hashes, so digesting a call whose list argument grew by one item costs that item, not the list.
    Items are hashed as :func:`split` hashes them (the same memo, the same change detection)."""
    items = memo.items if memo is not None else {}
    cache = dmemo.items
    if len(cache) > 8192:
        cache.clear()
    done: list[tuple[list, tuple, list[bytes]]] = []

    def ih(x: Any, checked: bool) -> bytes:
        if type(x) not in _CONTAINERS:
            e = items.get(id(x))
            if e is not None and e[0] is x and (not checked or _unchanged(x, e[2])):
                return e[1]
        c = cache.get(id(x))
        if c is not None and c[0] is x and (not checked or _unchanged(x, c[2])):
            return c[1]
        h = codec.digest(codec.plain(canon(x)))
        cache[id(x)] = (x, h, _snap(x))
        return h

    def walk(v: Any, depth: int) -> Any:
        t = type(v)
        if t is list and len(v) >= MIN_ITEMS:
            snap = tuple(v)
            n = len(snap)
            first = n - CHECKED
            base = None
            for lst, s, hs in dmemo.lists:
                m = len(s)
                if m <= n and (base is None or m > len(base[1])) and all(map(is_, s, snap)):
                    base = (lst, s, hs)
            m = len(base[1]) if base is not None else 0
            hashes = (list(base[2][:max(min(m, first), 0)]) if base is not None else [])
            if base is not None and m > len(hashes) and _verified(snap[len(hashes):m], base[2][len(hashes):m], items):
                hashes = list(base[2][:m])  # the newest items of the base, unchanged (checked in one pass)
            hashes += [ih(x, i >= first) for i, x in enumerate(snap[len(hashes):], len(hashes))]
            done.append((v, snap, hashes))
            return f"\x00nbflow-pieces:{n}:" + hashlib.blake2b(b"".join(hashes), digest_size=16).hexdigest()
        if (t is tuple or t is list) and depth < WALK:
            return t(walk(x, depth + 1) for x in v)
        if t is dict and depth < WALK:
            return {k: walk(x, depth + 1) for k, x in v.items()}
        return v

    out = walk(value, 0)
    if done:
        dmemo.lists = done[-4:]
    return out
