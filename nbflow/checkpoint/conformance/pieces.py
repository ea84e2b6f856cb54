"""The saver contract for long threads: checkpoints stored as manifests plus shared pieces.

Mixed into :class:`~nbflow.checkpoint.conformance.contract.SaverContract`, so every saver proves it:
a list that grows stores only its new items; every checkpoint (the newest, an old one, one read
back cold as a new process would) gives exactly the value saved; identical items are one piece;
pruning keeps exactly what the remaining checkpoints need; deleting a thread drops its pieces;
a missing piece is a clear error; encrypted savers encrypt pieces. Saver-level only (no engine):
the run loop's side is in ``tests/checkpoint/test_long_threads.py``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ...errors import DeserializationError
from ...serde import default_serializer
from ...serde.encrypted import EncryptedSerializer
from .. import values
from ..base import RESULT, BaseCheckpointSaver, CheckpointRecord, WriteRecord, new_checkpoint_id

PREVIOUS, END = "__previous__", "__end__"


def message(i: int) -> dict:
    return {"role": "user" if i % 2 == 0 else "assistant", "id": f"m{i}",
            "content": f"message {i}: " + "lorem ipsum dolor sit amet " * 8}


def turn(saver: BaseCheckpointSaver, tid: str, channels: dict, parent: str | None = None,
         source: str = "loop", ns: str = "") -> CheckpointRecord:
    """Store ``channels`` as the thread's next checkpoint, as the engine does."""
    dumped = values.dump(saver, tid, ns, channels)
    rec = CheckpointRecord(tid, ns, new_checkpoint_id(), parent, time.time(), 0, source, dumped.blob,
                           b'{"source":"%s"}' % source.encode(), dumped.pieces)
    saver.put_checkpoint(rec)
    values.adopt(saver, rec, dumped)
    return rec


def grow(saver: BaseCheckpointSaver, tid: str, turns: int) -> list[tuple[CheckpointRecord, list]]:
    """A chat thread: two messages a turn, each turn's history a new list holding the old items."""
    history: list = []
    out = []
    parent = None
    for i in range(turns):
        history = [*history, message(2 * i), message(2 * i + 1)]
        rec = turn(saver, tid, {END: history[-1], PREVIOUS: history}, parent)
        parent = rec.checkpoint_id
        out.append((rec, list(history)))
    return out


def _cold(saver: BaseCheckpointSaver, rec: CheckpointRecord) -> Any:
    values.forget(saver)
    got = saver.get_checkpoint(rec.thread_id, rec.checkpoint_ns, rec.checkpoint_id)
    assert got is not None, f"checkpoint {rec.checkpoint_id} is gone"
    return values.load(saver, got)


class PiecesContract:
    """Long-thread guarantees; see the module docstring."""

    def test_a_grown_list_stores_only_its_new_items(self, checkpointer):
        if not getattr(checkpointer, "supports_pieces", False):
            pytest.skip(f"{type(checkpointer).__name__} stores whole values")
        grow(checkpointer, "long", 60)
        early = checkpointer.thread_size("long")
        made = grow_more(checkpointer, "long", 60, 60)
        per_turn_late = (checkpointer.thread_size("long") - early) / made
        item = len(values.dump(BaseStub(), "x", "", {"m": message(1)}).blob)  # type: ignore[arg-type]
        # a turn adds two items, a small manifest and a node now and then, never the history (60+ items)
        assert per_turn_late < 10 * item, (per_turn_late, item)
        hashes = checkpointer.piece_hashes("long")
        assert 240 <= len(hashes) < 240 * 2  # one piece per item, plus the tree's nodes and a spine a turn

    def test_every_checkpoint_reads_back_exactly(self, checkpointer):
        recs = grow(checkpointer, "exact", 40)
        for rec, expected in recs:
            got = values.load(checkpointer, checkpointer.get_checkpoint("exact", "", rec.checkpoint_id))
            assert got == {END: expected[-1], PREVIOUS: expected}
        for rec, expected in recs[::7]:  # as a new process reads it: nothing decoded in memory
            assert _cold(checkpointer, rec) == {END: expected[-1], PREVIOUS: expected}

    def test_a_value_shared_with_the_list_is_the_same_object_when_read(self, checkpointer):
        rec, _ = grow(checkpointer, "shared", 5)[-1]
        got = _cold(checkpointer, rec)
        assert got[END] is got[PREVIOUS][-1]

    def test_a_fork_of_an_old_checkpoint_reads_its_own_value(self, checkpointer):
        recs = grow(checkpointer, "fork", 20)
        old, old_value = recs[5]
        branch = [*old_value, {"role": "user", "id": "b", "content": "a different question"}]
        forked = turn(checkpointer, "fork", {PREVIOUS: branch}, old.checkpoint_id, source="update")
        assert _cold(checkpointer, forked) == {PREVIOUS: branch}
        newest, newest_value = recs[-1]
        assert _cold(checkpointer, newest) == {END: newest_value[-1], PREVIOUS: newest_value}

    def test_identical_items_are_one_piece(self, checkpointer):
        if not getattr(checkpointer, "supports_pieces", False):
            pytest.skip(f"{type(checkpointer).__name__} stores whole values")
        same = [message(1)] * 50 + [dict(message(1)) for _ in range(50)]
        rec = turn(checkpointer, "same", {PREVIOUS: same})
        assert len(checkpointer.piece_hashes("same")) <= 1 + 100 // 4 + 3  # the item and the tree's nodes
        assert _cold(checkpointer, rec) == {PREVIOUS: same}

    def test_an_item_changed_in_place_is_stored_changed(self, checkpointer):
        history = [message(i) for i in range(10)]
        turn(checkpointer, "edit", {PREVIOUS: history})
        history[-1]["content"] = "edited in place"  # the newest items are compared, not only by identity
        history.append(message(10))
        rec = turn(checkpointer, "edit", {PREVIOUS: history})
        assert _cold(checkpointer, rec)[PREVIOUS][-2]["content"] == "edited in place"

    def test_a_live_value_changed_in_place_is_not_taken_for_the_stored_one(self, checkpointer):
        rec = turn(checkpointer, "live", {PREVIOUS: [message(i) for i in range(8)], "n": {"k": 1}})
        live = values.load(checkpointer, rec)
        live["n"]["k"] = 2  # a caller changed what it was given
        assert values.load(checkpointer, rec)["n"] == {"k": 1}

    def test_prune_keeps_what_the_remaining_checkpoints_need(self, checkpointer):
        if not getattr(checkpointer, "supports_pieces", False):
            pytest.skip(f"{type(checkpointer).__name__} stores whole values")
        recs = grow(checkpointer, "prune", 30)
        grow(checkpointer, "other", 3)
        before = len(checkpointer.piece_hashes("prune"))
        out = checkpointer.prune(["prune"], keep_last=4)
        assert out.checkpoints == 26
        assert [r.checkpoint_id for r in checkpointer.list_checkpoints("prune")] == [
            r.checkpoint_id for r, _ in reversed(recs[-4:])]
        for rec, expected in recs[-4:]:
            assert _cold(checkpointer, rec) == {END: expected[-1], PREVIOUS: expected}
        # every item is still in the kept history, so only nodes of the old trees could go
        assert len(checkpointer.piece_hashes("prune")) <= before
        assert out.bytes_after <= out.bytes_before
        # a history that dropped its old items: pruning drops their pieces
        turn(checkpointer, "prune", {PREVIOUS: [message(999)] * 4}, recs[-1][0].checkpoint_id)
        checkpointer.prune(["prune"])  # LangGraph's default: keep the latest
        assert len(checkpointer.list_checkpoints("prune")) == 1
        assert len(checkpointer.piece_hashes("prune")) == 2  # the item, and the node over its 4 copies
        assert _cold(checkpointer, checkpointer.get_checkpoint("prune")) == {PREVIOUS: [message(999)] * 4}
        assert len(checkpointer.list_checkpoints("other")) == 3  # other threads untouched

    def test_prune_delete_strategy_and_delete_thread_drop_pieces(self, checkpointer):
        grow(checkpointer, "gone", 5)
        grow(checkpointer, "kept", 5)
        checkpointer.prune(["gone"], strategy="delete")
        assert checkpointer.get_checkpoint("gone") is None
        checkpointer.delete_thread("kept")
        assert checkpointer.get_checkpoint("kept") is None
        if getattr(checkpointer, "supports_pieces", False):
            assert checkpointer.piece_hashes("gone") == set() == checkpointer.piece_hashes("kept")
        rec, expected = grow(checkpointer, "kept", 5)[-1]  # a thread id used again starts afresh
        assert _cold(checkpointer, rec) == {END: expected[-1], PREVIOUS: expected}

    def test_bad_prune_arguments_are_clear(self, checkpointer):
        from ...errors import ConfigError

        if not hasattr(checkpointer, "prune"):
            pytest.skip("no prune")
        with pytest.raises(ConfigError, match="keep_last"):
            checkpointer.prune(["x"], keep_last=0)
        with pytest.raises(ConfigError, match="strategy"):
            checkpointer.prune(["x"], strategy="everything")

    def test_a_missing_piece_is_a_clear_error(self, checkpointer):
        if not getattr(checkpointer, "supports_pieces", False):
            pytest.skip(f"{type(checkpointer).__name__} stores whole values")
        rec, _ = grow(checkpointer, "hole", 6)[-1]
        victim = sorted(checkpointer.piece_hashes("hole"))[0]
        checkpointer.prune_rows("hole", [], [victim])
        with pytest.raises(DeserializationError, match=r"hole.*missing|missing.*hole"):
            _cold(checkpointer, rec)

    def test_a_long_task_value_is_the_piece_its_list_item_is(self, checkpointer):
        """A model's reply is journaled (the task's result) and saved in the history: stored once."""
        reply = message(7)
        payload = default_serializer.dumps(reply)
        first = turn(checkpointer, "reply", {PREVIOUS: [message(i) for i in range(6)]})
        w = WriteRecord("reply", "", first.checkpoint_id, "task-1", "model", "0", RESULT, payload)
        checkpointer.put_writes([w])
        pieced = getattr(checkpointer, "supports_pieces", False)
        before = checkpointer.piece_hashes("reply") if pieced else set()
        if pieced:
            assert len(before) == 6 + 1 + 1  # the items, a node, the reply
        second = turn(checkpointer, "reply", {PREVIOUS: [message(i) for i in range(6)] + [reply]},
                      first.checkpoint_id)
        if pieced:  # the list's 7th item is that piece: what is new is only the list's spine (its 4 refs)
            assert len(checkpointer.piece_hashes("reply") - before) == 1
        got = checkpointer.get_writes("reply", "", first.checkpoint_id)
        assert [g.payload for g in got] == [payload] and checkpointer.list_writes("reply")[0].payload == payload
        turn(checkpointer, "reply", {PREVIOUS: [message(100)] * 5}, second.checkpoint_id)
        checkpointer.prune(["reply"], keep_last=3) if hasattr(checkpointer, "prune") else None
        assert checkpointer.get_writes("reply", "", first.checkpoint_id)[0].payload == payload  # kept with its row
        if hasattr(checkpointer, "prune"):
            checkpointer.prune(["reply"])  # the row goes, and so does its piece (nothing else holds it)
            assert checkpointer.get_writes("reply", "", first.checkpoint_id) == []
            if getattr(checkpointer, "supports_pieces", False):
                assert len(checkpointer.piece_hashes("reply")) == 2  # message(100) and the node over its copies

    def test_threads_keep_their_own_pieces(self, checkpointer):
        grow(checkpointer, "a", 4)
        b, vb = grow(checkpointer, "b", 4)[-1]  # the very same items
        checkpointer.delete_thread("a")
        assert _cold(checkpointer, b) == {END: vb[-1], PREVIOUS: vb}

    def test_encrypted_pieces(self, checkpointer):
        pytest.importorskip("Crypto")
        had = "serde" in vars(checkpointer)
        plain = getattr(checkpointer, "serde", None)
        checkpointer.serde = EncryptedSerializer.from_pycryptodome_aes(key=b"0123456789abcdef")
        try:
            recs = grow(checkpointer, "secret", 8)
            rec, expected = recs[-1]
            assert _cold(checkpointer, rec) == {END: expected[-1], PREVIOUS: expected}
            if getattr(checkpointer, "supports_pieces", False):
                stored = checkpointer.get_pieces("secret", sorted(checkpointer.piece_hashes("secret")))
                assert stored and not any(b"lorem ipsum" in bytes(v) for v in stored.values())
                assert len(stored) < 16 * 2 + 16  # still one piece per item (and nodes)
        finally:
            if had:
                checkpointer.serde = plain
            else:
                del checkpointer.serde


def grow_more(saver: BaseCheckpointSaver, tid: str, start: int, turns: int) -> int:
    """``turns`` more turns on the thread :func:`grow` made with ``start`` turns."""
    history = [message(i) for i in range(2 * start)]
    parent = saver.get_checkpoint(tid).checkpoint_id  # type: ignore[union-attr]
    for i in range(start, start + turns):
        history = [*history, message(2 * i), message(2 * i + 1)]
        parent = turn(saver, tid, {END: history[-1], PREVIOUS: history}, parent).checkpoint_id
    return turns


class BaseStub:
    """A saver-shaped object that stores whole values (to measure one item's stored size)."""

    supports_pieces = False
