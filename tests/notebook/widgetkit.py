"""What the notebook-layer tests share: a fresh session per test, the comm messages widgets send, and their
custom messages by kind. Test modules use them with ``from .widgetkit import fresh_session, sent, custom``
(the fixtures are found by name; ``fresh_session`` is autouse where imported)."""

from __future__ import annotations

import json
import threading

import comm
import pytest

from nbflow.notebook.live import reset_hub
from nbflow.notebook.session import Session, reset_session


@pytest.fixture(autouse=True)
def fresh_session(tmp_path, monkeypatch):
    """A new notebook session in ``tmp_path`` (no NBFLOW_CHECKPOINTER), and nobody left listening to the tap."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBFLOW_CHECKPOINTER", raising=False)
    yield reset_session(Session(tmp_path))
    reset_session(Session(tmp_path))
    reset_hub()  # unsubscribe from the tap: other tests expect nobody listening


@pytest.fixture
def sent(monkeypatch):
    """Every comm message, as (comm_id, data) pairs, in order."""
    log: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        if msg_type == "comm_msg":
            with lock:
                log.append((self.comm_id, json.loads(json.dumps(data))))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)
    return log


def custom(log, widget, kind=None):
    """The custom messages ``widget`` sent (of ``kind``, when given)."""
    out = [d["content"] for cid, d in log if cid == widget.comm.comm_id and d.get("method") == "custom"]
    return [c for c in out if kind is None or c["kind"] == kind]
