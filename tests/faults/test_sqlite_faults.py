"""SQLite under real faults: a full disk, a lock held by another process, a read-only filesystem, the file
deleted or replaced under a running process, a corrupted file (garbage header, truncated).

Each case: one SaverError naming the file, the thread and what to do (never a sqlite3 exception), no
partial checkpoint visible to a new reader, then ``invoke(None, config)`` continues from the last
committed task once the fault is gone: no committed result lost, none executed or committed twice.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from .faultkit import Flow, Stopwatch, check_books, check_error, committed

from nbflow.checkpoint.base import SaverError
from nbflow.checkpoint.sqlite import SqliteSaver

pytestmark = pytest.mark.timeout(120)  # a fault that hangs a run fails here instead of hanging the suite

LOCKER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def _fresh_reader(path) -> SqliteSaver:
    return SqliteSaver(path)


def _no_partial_state(path, flow: Flow) -> None:
    """A new reader sees whole rows only: every committed result decodes, the state reads."""
    with SqliteSaver(path) as reader:
        for w in reader.list_writes(flow.thread):
            if w.kind == "result":
                assert reader.serde.loads(w.payload).startswith("r")
        flow.workflow.get_state(flow.config)  # reads through the workflow's own saver


def _fill(disk) -> None:
    """Fill the filesystem at ``disk`` to the last byte."""
    with open(disk / "filler", "wb") as f:
        chunk = b"\0" * 65536
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
        try:  # the last partial chunk
            for _ in range(65536):
                f.write(b"\0")
                f.flush()
        except OSError:
            pass


def test_disk_full_mid_run(tmpfs, record):
    disk = tmpfs(4 * 1024 * 1024)
    path = disk / "runs.sqlite"
    saver = SqliteSaver(path)
    flow = Flow(saver, inject=lambda: _fill(disk), payload=20_000)
    with pytest.raises(SaverError) as info:
        flow.run()
    check_error(info.value, flow.thread, str(path), "disk", "full")
    before = committed(saver, flow.thread)
    assert sorted(before) == ["0", "1", "2"]  # step 3's result met the full disk
    _no_partial_state(path, flow)
    (disk / "filler").unlink()  # the fault is gone
    clock = Stopwatch()
    assert flow.resume() == flow.expected
    took = clock()
    lost, dup = check_books(flow, before, committed(saver, flow.thread))
    record("disk full (tmpfs size=)", "sqlite", "clear error + invoke(None)", lost, dup, took)
    saver.close()


def test_database_locked_by_another_process_past_the_busy_timeout(tmp_path, record):
    path = tmp_path / "runs.sqlite"
    saver = SqliteSaver(path, busy_timeout=0.5)
    locker: list[subprocess.Popen] = []

    def lock() -> None:
        proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        locker.append(proc)
        assert proc.stdout.readline().strip() == "locked"

    flow = Flow(saver, inject=lock)
    try:
        with pytest.raises(SaverError) as info:
            flow.run()
        check_error(info.value, flow.thread, str(path), "busy_timeout=0.5", "another process")
        before = committed(saver, flow.thread)  # readers are not blocked by a writer in WAL mode
        assert sorted(before) == ["0", "1", "2"]
    finally:
        for proc in locker:
            proc.stdin.close()
            proc.wait(60)
    clock = Stopwatch()
    assert flow.resume() == flow.expected
    took = clock()
    lost, dup = check_books(flow, before, committed(saver, flow.thread))
    record("locked by another process > busy_timeout", "sqlite", "clear error + invoke(None)", lost, dup, took)
    saver.close()


def _crash_at(flow: Flow) -> None:
    """Run ``flow`` until step ``at`` fails once (a stand-in for a kernel that died there)."""

    def crash() -> None:
        raise KeyboardInterrupt("the kernel died here")

    flow.inject = crash
    with pytest.raises(KeyboardInterrupt):
        flow.run()


def test_read_only_filesystem_when_the_saver_opens(tmpfs, record):
    disk = tmpfs(8 * 1024 * 1024)
    path = disk / "runs.sqlite"
    with SqliteSaver(path) as saver:
        _crash_at(Flow(saver))
    view = disk.parent / "readonly"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(disk), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        ro_path = view / "runs.sqlite"
        with pytest.raises(SaverError) as info:
            saver = SqliteSaver(ro_path)
            Flow(saver).resume()
        msg = check_error_or_open(info.value, ro_path)
        assert "read-only" in msg, msg
        subprocess.run(["mount", "-o", "remount,rw,bind", str(view)], check=True)  # the fault is gone
        clock = Stopwatch()
        with SqliteSaver(ro_path) as saver:
            flow = Flow(saver)
            before = committed(saver, flow.thread)
            assert sorted(before) == ["0", "1", "2"]
            flow.ran.update({0: 1, 1: 1, 2: 1})  # ran in the first process
            assert flow.resume() == flow.expected
            took = clock()
            lost, dup = check_books(flow, before, committed(saver, flow.thread))
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)
    record("read-only filesystem at open", "sqlite", "clear error + invoke(None)", lost, dup, took)


def check_error_or_open(err: BaseException, path) -> str:
    """An error raised when the saver opens names the file and says what to do (no thread yet)."""
    assert isinstance(err, SaverError), type(err)
    msg = str(err)
    assert str(path) in msg and ("invoke(None, config)" in msg or "retry" in msg), msg
    return msg


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_file_deleted_or_replaced_under_a_running_process(tmp_path, record, how):
    path = tmp_path / "runs.sqlite"
    backup = tmp_path / "backup.sqlite"
    saver = SqliteSaver(path)

    def pull_the_file() -> None:
        src = sqlite3.connect(path)
        dst = sqlite3.connect(backup)
        src.backup(dst)  # what was committed until now: the copy the user restores
        src.close()
        dst.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{path}{suffix}"):
                os.unlink(f"{path}{suffix}")
        if how == "replaced":
            shutil.copy(backup, path)  # another file, same content, at the same path

    flow = Flow(saver, inject=pull_the_file)
    with pytest.raises(SaverError) as info:
        flow.run()
    msg = check_error(info.value, flow.thread, str(path), f"was {how}")
    assert "Put the database back" in msg
    with SqliteSaver(backup) as reader:
        before = committed(reader, flow.thread)
    assert sorted(before) == ["0", "1", "2"]
    if how == "deleted":
        assert not path.exists()  # nothing was written to the path meanwhile
        shutil.copy(backup, path)  # the fault is gone: the database is back
    else:
        with SqliteSaver(path) as reader:
            assert committed(reader, flow.thread) == before  # no write went to the new file either
    clock = Stopwatch()
    assert flow.resume() == flow.expected  # the saver reopened the path
    took = clock()
    lost, dup = check_books(flow, before, committed(saver, flow.thread))
    record(f"file {how} under a running process", "sqlite", "clear error + invoke(None)", lost, dup, took)
    saver.close()


@pytest.mark.parametrize("damage", ["garbage header", "truncated"])
def test_corrupted_file(tmp_path, record, damage):
    path = tmp_path / "runs.sqlite"
    with SqliteSaver(path) as saver:
        _crash_at(Flow(saver, payload=30_000))  # several pages of committed results
    backup = tmp_path / "backup.sqlite"
    shutil.copy(path, backup)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        if damage == "garbage header":
            f.write(os.urandom(100))
        else:
            f.truncate(size // 2)
    with pytest.raises(SaverError) as info, SqliteSaver(path) as saver:
        Flow(saver, payload=30_000).resume()
    msg = str(info.value)
    assert str(path) in msg and "restore it from a backup" in msg, msg
    assert ("not a SQLite database" if damage == "garbage header" else "corrupted") in msg, msg
    if "'t-fault'" in msg:  # raised while reading the thread (not while opening)
        check_error(info.value, "t-fault", str(path))
    shutil.copy(backup, path)  # the fault is gone
    clock = Stopwatch()
    with SqliteSaver(path) as saver:
        flow = Flow(saver, payload=30_000)
        before = committed(saver, flow.thread)
        flow.ran.update({int(p): 1 for p in before})
        assert flow.resume() == flow.expected
        took = clock()
        lost, dup = check_books(flow, before, committed(saver, flow.thread))
    record(f"corrupted file ({damage})", "sqlite", "clear error + restore + invoke(None)", lost, dup, took)
