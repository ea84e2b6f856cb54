"""The saver contract as an importable pytest suite.

Every checkpointer (memory, SQLite, PostgreSQL, any new one) proves itself by
subclassing :class:`SaverContract` in a test module and providing one fixture,
``saver_factory``: a zero-argument callable returning a fresh, empty saver
(closed by the fixture at teardown)::

    import pytest
    from nbflow.checkpoint.conformance import SaverContract

    class TestMySaver(SaverContract):
        @pytest.fixture
        def saver_factory(self, tmp_path):
            made = []
            def make():
                made.append(MySaver(tmp_path / f"{len(made)}.db"))
                return made[-1]
            yield make
            for s in made:
                s.close()

Every test method takes ``checkpointer`` (one fresh saver) or
``saver_factory`` itself. The suite pins what the run loop, history and the
notebook layer rely on: latest-by-id, namespaces, ``before``/``limit`` paging,
write ``seq`` order (insertion order, also across batches and checkpoints),
``list_threads`` activity order, ``delete_thread``, independence of savers,
and many threads writing at once (group commit) losing and reordering nothing.

This module imports pytest: import it from tests only.
"""

from __future__ import annotations

import threading
import time

import pytest

from ..base import (
    ERROR,
    INTERRUPT,
    RESULT,
    RESUME,
    ROOT,
    BaseCheckpointSaver,
    CheckpointRecord,
    WriteRecord,
    new_checkpoint_id,
)
from ..memory import InMemorySaver, MemorySaver
from .pieces import PiecesContract

__all__ = ["SaverContract", "ckpt", "wr", "chain", "strip_seq"]


def ckpt(
    thread_id: str = "t1",
    checkpoint_ns: str = "",
    checkpoint_id: str | None = None,
    *,
    parent_id: str | None = None,
    step: int = 0,
    source: str = "loop",
    channels: bytes = b'{"x": 1}',
) -> CheckpointRecord:
    return CheckpointRecord(
        thread_id=thread_id,
        checkpoint_ns=checkpoint_ns,
        checkpoint_id=checkpoint_id or new_checkpoint_id(),
        parent_id=parent_id,
        created_at=time.time(),
        step=step,
        source=source,
        channels=channels,
        metadata=b'{"step": %d}' % step,
    )


def wr(
    cp: CheckpointRecord,
    task_id: str = "task-a",
    *,
    kind: str = RESULT,
    payload: bytes = b"1",
    name: str = "f",
    path: str = "0",
) -> WriteRecord:
    return WriteRecord(
        thread_id=cp.thread_id,
        checkpoint_ns=cp.checkpoint_ns,
        checkpoint_id=cp.checkpoint_id,
        task_id=task_id,
        name=name,
        path=path,
        kind=kind,
        payload=payload,
        started_at=1.5,
        ended_at=2.25,
        summary=f"{name}(...)",
    )


def chain(saver: BaseCheckpointSaver, n: int, thread_id: str = "t1", ns: str = "") -> list[CheckpointRecord]:
    """Put ``n`` checkpoints, each the child of the previous; return them oldest first."""
    out: list[CheckpointRecord] = []
    parent = None
    for i in range(n):
        cp = ckpt(thread_id, ns, parent_id=parent, step=i, source="input" if i == 0 else "loop")
        saver.put_checkpoint(cp)
        out.append(cp)
        parent = cp.checkpoint_id
    return out


def strip_seq(w: WriteRecord) -> tuple:
    return (w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.name, w.path, w.kind,
            w.payload, w.started_at, w.ended_at, w.summary)


class SaverContract(PiecesContract):
    """The contract tests; subclass it and provide a ``saver_factory`` fixture (the long-thread
    guarantees come from :class:`~nbflow.checkpoint.conformance.pieces.PiecesContract`)."""

    @pytest.fixture
    def checkpointer(self, saver_factory) -> BaseCheckpointSaver:
        return saver_factory()



    def test_fixture_gives_a_saver(self, checkpointer):
        assert isinstance(checkpointer, BaseCheckpointSaver)
        assert MemorySaver is InMemorySaver


    def test_empty_saver(self, checkpointer):
        assert checkpointer.get_checkpoint("nope") is None
        assert checkpointer.get_checkpoint("nope", "", new_checkpoint_id()) is None
        assert checkpointer.list_checkpoints("nope") == []
        assert checkpointer.get_writes("nope", "", "x") == []
        assert checkpointer.list_writes("nope") == []
        assert checkpointer.list_threads() == []
        checkpointer.delete_thread("nope")  # no-op


    def test_run_leases(self, checkpointer):
        """A thread's lease (nbflow.checkpoint.leases) is stored per (thread, namespace), replaced by the next
        put (a renewal or another run's), and gone with the thread."""
        from ..leases import Lease

        assert checkpointer.get_lease("t1", "") is None
        checkpointer.put_lease(Lease("t1", "", '{"pid": 1}', 100.0))
        checkpointer.put_lease(Lease("t1", "ns", '{"pid": 2}', 100.0))
        assert checkpointer.get_lease("t1", "") == Lease("t1", "", '{"pid": 1}', 100.0)
        checkpointer.put_lease(Lease("t1", "", '{"pid": 1}', 105.5))  # renewed
        assert checkpointer.get_lease("t1", "").renewed_at == 105.5
        assert checkpointer.get_lease("t1", "ns").owner == '{"pid": 2}'
        assert checkpointer.get_lease("t2", "") is None
        chain(checkpointer, 1)
        checkpointer.delete_thread("t1")
        assert checkpointer.get_lease("t1", "") is None


    def test_checkpoint_and_lease_together(self, checkpointer):
        """A run's input checkpoint and its lease, written by one call (in one transaction where the saver
        has them): both read back; with pieces, the pieces too; the lease replaces an older one."""
        from ..leases import Lease

        checkpointer.put_lease(Lease("t1", "", '{"pid": 1}', 100.0))
        cp = ckpt(source="input", step=-1)
        checkpointer.put_checkpoint_and_lease(cp, Lease("t1", "", '{"pid": 2}', 200.0))
        assert checkpointer.get_checkpoint("t1") == cp
        assert checkpointer.get_lease("t1", "") == Lease("t1", "", '{"pid": 2}', 200.0)
        if getattr(checkpointer, "supports_pieces", False):
            h = bytes(range(12))
            with_pieces = CheckpointRecord(**{**{f: getattr(cp, f) for f in cp.__slots__},
                                              "checkpoint_id": new_checkpoint_id(), "parent_id": cp.checkpoint_id,
                                              "pieces": ((h, b"piece"),)})
            checkpointer.put_checkpoint_and_lease(with_pieces, Lease("t1", "", '{"pid": 3}', 300.0))
            assert checkpointer.get_pieces("t1", [h]) == {h: b"piece"}
            assert checkpointer.get_lease("t1", "").owner == '{"pid": 3}'
            assert checkpointer.get_checkpoint("t1").checkpoint_id == with_pieces.checkpoint_id

    def test_put_and_get_latest(self, checkpointer):
        cps = chain(checkpointer, 3)
        latest = checkpointer.get_checkpoint("t1")
        assert latest == cps[-1]
        assert latest.parent_id == cps[1].checkpoint_id
        assert isinstance(latest.channels, bytes) and isinstance(latest.metadata, bytes)
        assert checkpointer.get_checkpoint("t1", "") == cps[-1]


    def test_get_by_id_and_unknown_id(self, checkpointer):
        cps = chain(checkpointer, 4)
        for cp in cps:
            assert checkpointer.get_checkpoint("t1", "", cp.checkpoint_id) == cp
        assert checkpointer.get_checkpoint("t1", "", new_checkpoint_id()) is None
        assert checkpointer.get_checkpoint("t1", "other-ns", cps[0].checkpoint_id) is None
        assert checkpointer.get_checkpoint("t2", "", cps[0].checkpoint_id) is None


    def test_namespaces_are_separate(self, checkpointer):
        root = chain(checkpointer, 2, "t1", "")
        sub = chain(checkpointer, 3, "t1", "child:1")
        assert checkpointer.get_checkpoint("t1") == root[-1]
        assert checkpointer.get_checkpoint("t1", "child:1") == sub[-1]
        assert checkpointer.list_checkpoints("t1") == root[::-1]
        assert checkpointer.list_checkpoints("t1", "child:1") == sub[::-1]


    def test_latest_is_the_largest_id_whatever_the_insert_order(self, checkpointer):
        ids = [new_checkpoint_id() for _ in range(5)]
        order = [2, 0, 4, 1, 3]
        recs = {i: ckpt("t1", "", ids[i], step=i) for i in range(5)}
        for i in order:
            checkpointer.put_checkpoint(recs[i])
        assert checkpointer.get_checkpoint("t1") == recs[4]
        assert [c.step for c in checkpointer.list_checkpoints("t1")] == [4, 3, 2, 1, 0]


    def test_re_putting_a_checkpoint_replaces_it(self, checkpointer):
        cp = ckpt("t1", step=1)
        checkpointer.put_checkpoint(cp)
        again = CheckpointRecord(**{**{f: getattr(cp, f) for f in cp.__slots__}, "channels": b"new"})
        checkpointer.put_checkpoint(again)
        assert checkpointer.list_checkpoints("t1") == [again]


    def test_list_newest_first_with_before_and_limit(self, checkpointer):
        cps = chain(checkpointer, 10)
        newest_first = cps[::-1]
        assert checkpointer.list_checkpoints("t1") == newest_first
        assert checkpointer.list_checkpoints("t1", limit=3) == newest_first[:3]
        assert checkpointer.list_checkpoints("t1", limit=100) == newest_first
        assert checkpointer.list_checkpoints("t1", limit=0) == []
        # `before` is exclusive
        assert checkpointer.list_checkpoints("t1", before=cps[5].checkpoint_id) == cps[:5][::-1]
        assert checkpointer.list_checkpoints("t1", before=cps[5].checkpoint_id, limit=2) == [cps[4], cps[3]]
        assert checkpointer.list_checkpoints("t1", before=cps[0].checkpoint_id) == []
        # paging with before= walks the whole history exactly once
        seen, cursor = [], None
        while True:
            page = checkpointer.list_checkpoints("t1", before=cursor, limit=3)
            if not page:
                break
            seen.extend(page)
            cursor = page[-1].checkpoint_id
        assert seen == newest_first
        # before= an id the thread does not have still cuts by id order
        later = new_checkpoint_id()
        assert checkpointer.list_checkpoints("t1", before=later) == newest_first
        with pytest.raises(ValueError):
            checkpointer.list_checkpoints("t1", limit=-1)


    def test_writes_order_and_seq(self, checkpointer):
        cp1, cp2 = chain(checkpointer, 2)
        batch = [wr(cp1, "a", payload=b"1"), wr(cp1, "b", payload=b"2", kind=ERROR)]
        checkpointer.put_writes(batch)
        checkpointer.put_write(wr(cp2, "c", payload=b"3"))
        checkpointer.put_writes([])  # no-op
        checkpointer.put_write(wr(cp1, "d", kind=INTERRUPT, payload=b"4"))
        checkpointer.put_write(wr(cp1, ROOT, kind=RESUME, name="", payload=b"5"))

        got = checkpointer.get_writes("t1", "", cp1.checkpoint_id)
        assert [w.task_id for w in got] == ["a", "b", "d", ROOT]
        assert [strip_seq(w) for w in got] == [strip_seq(w) for w in batch] + [
            strip_seq(wr(cp1, "d", kind=INTERRUPT, payload=b"4")),
            strip_seq(wr(cp1, ROOT, kind=RESUME, name="", payload=b"5")),
        ]
        seqs = [w.seq for w in got]
        assert all(s > 0 for s in seqs) and seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert batch[0].seq == 0  # the caller's record is untouched

        (only,) = checkpointer.get_writes("t1", "", cp2.checkpoint_id)
        assert only.task_id == "c" and got[1].seq < only.seq < got[2].seq
        assert checkpointer.get_writes("t1", "", new_checkpoint_id()) == []
        assert checkpointer.get_writes("t1", "other", cp1.checkpoint_id) == []

        everything = checkpointer.list_writes("t1")
        assert [w.task_id for w in everything] == ["a", "b", "c", "d", ROOT]


    def test_list_writes_across_namespaces(self, checkpointer):
        (root,) = chain(checkpointer, 1, "t1", "")
        (sub,) = chain(checkpointer, 1, "t1", "sub:1")
        (other,) = chain(checkpointer, 1, "t2", "")
        checkpointer.put_write(wr(root, "r1"))
        checkpointer.put_write(wr(sub, "s1"))
        checkpointer.put_write(wr(other, "o1"))
        checkpointer.put_writes([wr(root, "r2"), wr(sub, "s2")])
        all_t1 = checkpointer.list_writes("t1")
        assert [w.task_id for w in all_t1] == ["r1", "s1", "r2", "s2"]
        assert [w.seq for w in all_t1] == sorted(w.seq for w in all_t1)
        assert [w.task_id for w in checkpointer.list_writes("t1", "")] == ["r1", "r2"]
        assert [w.task_id for w in checkpointer.list_writes("t1", "sub:1")] == ["s1", "s2"]
        assert [w.task_id for w in checkpointer.list_writes("t2")] == ["o1"]
        assert checkpointer.list_writes("t1", "missing") == []


    def test_list_threads_most_recent_first(self, checkpointer):
        a = ckpt("A")
        checkpointer.put_checkpoint(a)
        checkpointer.put_checkpoint(ckpt("B"))
        checkpointer.put_checkpoint(ckpt("C"))
        assert checkpointer.list_threads() == ["C", "B", "A"]
        checkpointer.put_write(wr(a))  # a journal row counts as activity
        assert checkpointer.list_threads() == ["A", "C", "B"]
        checkpointer.put_checkpoint(ckpt("B"))
        assert checkpointer.list_threads() == ["B", "A", "C"]
        # writes alone do not make a thread
        checkpointer.put_write(wr(ckpt("ghost")))
        assert checkpointer.list_threads() == ["B", "A", "C"]
        checkpointer.put_checkpoint(ckpt("C"))
        assert checkpointer.list_threads() == ["C", "B", "A"]


    def test_delete_thread(self, checkpointer):
        a = chain(checkpointer, 3, "A")
        chain(checkpointer, 2, "A", "sub")
        b = chain(checkpointer, 2, "B")
        checkpointer.put_writes([wr(a[0], "x"), wr(a[2], "y"), wr(b[1], "z")])
        last_seq = max(w.seq for w in checkpointer.list_writes("A"))

        checkpointer.delete_thread("A")
        assert checkpointer.get_checkpoint("A") is None
        assert checkpointer.get_checkpoint("A", "", a[0].checkpoint_id) is None
        assert checkpointer.list_checkpoints("A") == []
        assert checkpointer.list_checkpoints("A", "sub") == []
        assert checkpointer.get_writes("A", "", a[0].checkpoint_id) == []
        assert checkpointer.list_writes("A") == []
        assert checkpointer.list_threads() == ["B"]
        # the other thread is intact
        assert checkpointer.list_checkpoints("B") == b[::-1]
        assert [w.task_id for w in checkpointer.list_writes("B")] == ["z"]
        # the thread id can be reused; seq keeps growing
        (fresh,) = chain(checkpointer, 1, "A")
        checkpointer.put_write(wr(fresh, "n"))
        (n,) = checkpointer.list_writes("A")
        assert n.seq > last_seq
        assert checkpointer.list_threads() == ["A", "B"]


    def test_saver_factory_makes_independent_savers(self, saver_factory, checkpointer):
        other = saver_factory()
        assert other is not checkpointer and type(other) is type(checkpointer)
        chain(checkpointer, 1, "only-here")
        assert other.list_threads() == []
        assert other.get_checkpoint("only-here") is None


    def test_many_threads_concurrently_lose_nothing(self, checkpointer):
        n_workers, n_writes = 8, 150
        errors: list[BaseException] = []
        barrier = threading.Barrier(n_workers + 1)
        stop = threading.Event()

        def worker(i: int) -> None:
            try:
                barrier.wait()
                tid = f"w{i}"
                cp = ckpt(tid)
                checkpointer.put_checkpoint(cp)
                k = 0
                while k < n_writes:
                    if k % 10 == 0:  # mix single rows and batches
                        checkpointer.put_writes([wr(cp, f"{k + j}") for j in range(5)])
                        k += 5
                    else:
                        checkpointer.put_write(wr(cp, f"{k}"))
                        k += 1
                    if k % 50 == 0:
                        checkpointer.put_checkpoint(ckpt(tid, step=k))
            except BaseException as exc:  # noqa: BLE001  # pragma: no cover - reported below
                errors.append(exc)

        def reader() -> None:
            barrier.wait()
            try:
                while not stop.is_set():
                    for tid in checkpointer.list_threads():
                        checkpointer.list_writes(tid)
                        checkpointer.list_checkpoints(tid, limit=5)
            except BaseException as exc:  # noqa: BLE001  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_workers)]
        r = threading.Thread(target=reader)
        for t in threads:
            t.start()
        r.start()
        for t in threads:
            t.join()
        stop.set()
        r.join()
        assert errors == []

        assert sorted(checkpointer.list_threads()) == sorted(f"w{i}" for i in range(n_workers))
        all_seqs: list[int] = []
        for i in range(n_workers):
            writes = checkpointer.list_writes(f"w{i}")
            assert [w.task_id for w in writes] == [str(k) for k in range(n_writes)]
            all_seqs.extend(w.seq for w in writes)
            assert len(checkpointer.list_checkpoints(f"w{i}")) == 1 + n_writes // 50
        assert len(set(all_seqs)) == n_workers * n_writes

    def test_group_commit_returns_only_once_the_callers_rows_are_stored(self, checkpointer):
        """Writers finishing together may share a transaction, but each caller's rows
        are readable when its call returns, kept together and in the caller's order."""
        cp = ckpt("G")
        checkpointer.put_checkpoint(cp)
        n_threads, rounds = 6, 20
        barrier = threading.Barrier(n_threads)
        errors: list[BaseException] = []

        def writer(i: int) -> None:
            try:
                for r in range(rounds):
                    barrier.wait()  # everyone finishes "a task" at the same moment
                    rows = [wr(cp, f"w{i}", path=f"{r}.{k}") for k in range(1 + i % 3)]
                    checkpointer.put_writes(rows)
                    mine = [w.path for w in checkpointer.get_writes("G", "", cp.checkpoint_id)
                            if w.task_id == f"w{i}"]
                    assert mine[-len(rows):] == [w.path for w in rows], (i, r, mine)
            except BaseException as exc:  # noqa: BLE001  # pragma: no cover - reported below
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        writes = checkpointer.get_writes("G", "", cp.checkpoint_id)
        assert len(writes) == rounds * sum(1 + i % 3 for i in range(n_threads))
        seqs = [w.seq for w in writes]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        for i in range(n_threads):
            mine = [w for w in writes if w.task_id == f"w{i}"]
            assert [w.path for w in mine] == [f"{r}.{k}" for r in range(rounds) for k in range(1 + i % 3)]
            # one put_writes call's rows are adjacent in seq order
            positions = {w.seq: n for n, w in enumerate(writes)}
            for r in range(rounds):
                idx = [positions[w.seq] for w in mine if w.path.startswith(f"{r}.")]
                assert idx == list(range(idx[0], idx[0] + len(idx)))

    def test_values_round_trip_exactly(self, checkpointer):
        big = bytes(range(256)) * 4096  # 1 MiB, every byte value
        tid, ns = "thread 'quoted' \"ü\" ; -- 🙂", "child:1|grand:2"
        cp = CheckpointRecord(tid, ns, new_checkpoint_id(), None, 1714000000.123456789, 2**40, "update",
                              big, b"\x00")
        checkpointer.put_checkpoint(cp)
        assert checkpointer.get_checkpoint(tid, ns) == cp
        w = WriteRecord(tid, ns, cp.checkpoint_id, "task:ü", "nämé", "0.1.2", RESULT, b"", None, None, "", 7)
        w2 = WriteRecord(tid, ns, cp.checkpoint_id, ROOT, "", "", RESUME, big, 0.0, 1e-9, "s" * 10_000, 0)
        checkpointer.put_writes([w, w2])
        got = checkpointer.get_writes(tid, ns, cp.checkpoint_id)
        assert [strip_seq(g) for g in got] == [strip_seq(w), strip_seq(w2)]
        assert [g.wave for g in got] == [7, 0]
        assert all(isinstance(g.payload, bytes) for g in got)
        assert checkpointer.list_threads() == [tid]
        assert checkpointer.list_writes(tid, ns) == got
