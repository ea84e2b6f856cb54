"""Fixtures of the fault suite: ``record`` (a row of the fault table, written to
``test-artifacts/faults.json`` when the session ends) and ``tmpfs`` (a size-limited filesystem the
test mounts, as root). The shared workflow and checks are in faultkit.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from .faultkit import add_row, can_mount, write_table


@pytest.fixture
def record():
    """``record(fault, saver, survived, lost, duplicated, recover_s)``: one row of the fault table."""
    return add_row


def pytest_sessionfinish(session, exitstatus):
    write_table()


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size)`` mounts a tmpfs of ``size`` bytes at a new directory and returns its path;
    unmounted after the test. Skips (saying why) where mounting is not allowed."""
    why = can_mount()
    if why:
        pytest.skip(why)
    mounted: list[Path] = []

    def mount(size: int, name: str = "disk") -> Path:
        where = tmp_path / name
        where.mkdir()
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): {res.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
