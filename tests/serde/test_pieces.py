"""nbflow.serde.pieces without I/O: split / join round trips under every kind of change a thread's value
goes through (hypothesis), the tree's shape, damaged and hostile pieces, compression limits, digests."""

from __future__ import annotations

import copy
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbflow.errors import DeserializationError
from nbflow.serde import Serializer, default_serializer
from nbflow.serde import pieces as P
from nbflow.serde.inert import Limits

CODEC = P.codec_for(default_serializer)


class Store:
    """A thread's pieces in a dict, written only once the 'checkpoint' is committed."""

    def __init__(self) -> None:
        self.pieces: dict[bytes, bytes] = {}
        self.fetches = 0

    def fetch(self, hashes):
        self.fetches += 1
        return {h: self.pieces[h] for h in hashes if h in self.pieces}


def write(store: Store, value, memo):
    doc, new, memo = P.split(value, CODEC, memo)
    blob = default_serializer.dumps(doc)
    store.pieces.update(new)
    return blob, memo


def read(store: Store, blob):
    return P.join(default_serializer.loads(blob), CODEC, store.fetch, "a test checkpoint")[0]


item = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "tool"]),
                              "content": st.text(max_size=40)})
ops = st.lists(st.tuples(st.sampled_from(["append", "extend", "replace", "edit-last", "remove", "new-list",
                                          "nested", "same"]),
                         st.integers(0, 1000), item), max_size=30)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_every_stored_value_reads_back_exactly(steps):
    store, memo = Store(), None
    history: list = []
    written = []
    for op, n, it in steps:
        if op == "append":
            history = [*history, dict(it)]
        elif op == "extend":
            history = history + [dict(it) for _ in range(n % 7)]
        elif op == "replace" and history:
            history = list(history)
            history[n % len(history)] = dict(it)
        elif op == "edit-last" and history:  # in place, among the newest items: must be seen
            history[-1 - n % min(len(history), P.CHECKED)]["content"] = it["content"] + "!"
        elif op == "remove" and history:
            history = history[:n % len(history)] + history[n % len(history) + 1:]
        elif op == "new-list":
            history = [dict(x) for x in history]
        value = {"__previous__": history, "__end__": history[-1] if history else None,
                 "state": {"messages": history, "n": n}} if op == "nested" else {"__previous__": history}
        blob, memo = write(store, value, memo)
        written.append((blob, copy.deepcopy(value)))
        # what the memo takes as stored is exactly what this checkpoint reaches (kept incrementally as lists grow)
        full = set()
        for e in memo.lists.values():
            full |= set(e.hashes) | set(e.nodes) | ({e.ref.spine} if e.ref.spine is not None else set())
        assert memo.known == full
        assert memo.known <= set(store.pieces)
    for blob, expected in written:  # every checkpoint, the old ones too
        assert read(store, blob) == expected


def test_a_grown_list_adds_its_items_and_a_few_nodes():
    store, memo = Store(), None
    history = [{"i": i} for i in range(500)]
    _, memo = write(store, {"h": history}, memo)
    before = len(store.pieces)
    history = [*history, {"i": 500}]
    doc, new, memo = P.split({"h": history}, CODEC, memo)
    assert 1 <= len(new) <= 1 + 4  # the item, and the nodes it completes
    ref = doc["h"]
    assert sum(P.FANOUT ** lvl for lvl, _ in ref.refs) == 501
    assert len(ref.refs) <= (P.FANOUT - 1) * 5  # a digit per level
    assert before > 500


def test_reading_costs_one_fetch_per_tree_level_and_one_for_the_items():
    store = Store()
    blob, _ = write(store, {"h": [{"i": i} for i in range(1000)]}, None)
    store.fetches = 0
    assert len(read(store, blob)["h"]) == 1000
    assert store.fetches <= 6  # log4(1000) levels of nodes, then the items


def test_damaged_and_missing_pieces_are_clear_errors():
    store = Store()
    blob, _ = write(store, {"h": [{"i": i} for i in range(20)]}, None)
    node = next(h for h, d in store.pieces.items() if len(d) == P.FANOUT * P.HASH and d[:1] not in b"{y")
    store.pieces[node] = b"short"
    with pytest.raises(DeserializationError, match="damaged piece"):
        read(store, blob)
    del store.pieces[node]
    with pytest.raises(DeserializationError, match="missing"):
        read(store, blob)


def test_a_forged_manifest_is_refused():
    for doc in ({"__nb__": "pieces", "n": 5, "r": [[0, "AAAA"]]},  # a hash of the wrong size
                {"__nb__": "pieces", "n": 3, "r": [[1, "A" * 16]]},  # 4 items claimed as 3
                {"__nb__": "pieces", "n": 1, "r": "x"},
                {"__nb__": "piece", "h": 3}):
        with pytest.raises(DeserializationError):
            default_serializer.loads(default_serializer.dumps(0).replace(b"0", __import__("json").dumps(doc).encode()))


def test_pieces_obey_the_inert_rule():
    store = Store()
    blob, _ = write(store, {"h": [{"i": i} for i in range(8)]}, None)
    h = next(iter(k for k, v in store.pieces.items() if v.startswith(b"{")))
    store.pieces[h] = b'{"__nb__":"dataclass","cls":"os:system","f":{}}'
    with pytest.raises(DeserializationError, match="os:system"):
        read(store, blob)


def test_compression_round_trips_and_refuses_a_bomb():
    text = b'{"content":"' + b"hello world " * 200 + b'"}'
    packed = P.squeeze(text)
    assert packed[:1] == b"y" and len(packed) < len(text) / 5
    assert P.unsqueeze(packed) == text
    assert P.squeeze(b"[1,2]") == b"[1,2]"  # short: left as it is
    bomb = b"z" + zlib.compress(b"[" + b" " * 10_000_000 + b"]")
    with pytest.raises(DeserializationError, match="size limit"):
        P.unsqueeze(bomb, limit=1_000_000)
    with pytest.raises(DeserializationError, match="damaged"):
        P.unsqueeze(b"ynot zlib at all")
    codec = P.codec_for(Serializer(limits=Limits(size=1000)))
    c = zlib.compressobj(6, zlib.DEFLATED, -11, 2, zlib.Z_DEFAULT_STRATEGY, P.ZDICT_1)
    with pytest.raises(DeserializationError, match="size limit"):  # the serializer's own limit applies
        codec.load(b"y" + c.compress(b'"' + b"a" * 5000 + b'"') + c.flush())


def test_argument_digests_follow_the_items():
    dmemo = P.DigestMemo()
    history = [{"i": i} for i in range(50)]
    a = P.digestible(((history,), {}), CODEC, None, dmemo, lambda v: v)
    b = P.digestible((([dict(x) for x in history],), {}), CODEC, None, P.DigestMemo(), lambda v: v)
    assert a == b  # equal lists digest alike, whatever their objects
    history[-1]["i"] = -1  # an item changed in place among the newest
    c = P.digestible(((history,), {}), CODEC, None, dmemo, lambda v: v)
    assert c != a
    grown = [*history, {"i": 50}]
    d = P.digestible(((grown,), {}), CODEC, None, dmemo, lambda v: v)
    assert d != c and d == P.digestible((([dict(x) for x in grown],), {}), CODEC, None, P.DigestMemo(), lambda v: v)
