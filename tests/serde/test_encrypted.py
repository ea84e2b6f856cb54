"""EncryptedSerializer: AES at rest, keys from the environment, tampering refused, savers storing what it makes."""

from __future__ import annotations

import sqlite3

import pytest

from nbflow import entrypoint, task
from nbflow.checkpoint import CheckpointRecord, InMemorySaver, SqliteSaver
from nbflow.checkpoint.base import new_checkpoint_id
from nbflow.encrypted import MAGIC, EncryptedSerializer
from nbflow.errors import ConfigError, DeserializationError
from nbflow.serde import default_serializer
from nbflow.testing.helpers import cfg

KEY = b"0123456789abcdef"




def test_encrypted_serializer_round_trips_and_hides_plaintext():
    serde = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    value = {"secret": "hunter2", "n": (1, 2)}
    blob = serde.dumps(value)
    assert blob.startswith(MAGIC) and b"hunter2" not in blob
    assert serde.loads(blob) == value
    assert serde.dumps(value) != blob  # a fresh nonce per payload
    # Payloads written before encryption was turned on still read.
    assert serde.loads(default_serializer.dumps(value)) == value


def test_encrypted_serializer_key_from_environment(monkeypatch):
    monkeypatch.setenv("LANGGRAPH_AES_KEY", KEY.decode())
    from_env = EncryptedSerializer.from_pycryptodome_aes()
    explicit = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    assert explicit.loads(from_env.dumps([1, "a"])) == [1, "a"]
    monkeypatch.delenv("LANGGRAPH_AES_KEY")
    with pytest.raises(ConfigError, match="LANGGRAPH_AES_KEY"):
        EncryptedSerializer.from_pycryptodome_aes()
    with pytest.raises(ConfigError, match="16, 24 or 32"):
        EncryptedSerializer.from_pycryptodome_aes(key=b"short")


def test_encrypted_serializer_wrong_key_or_tampering_is_a_clear_error():
    blob = EncryptedSerializer.from_pycryptodome_aes(key=KEY).dumps("data")
    other = EncryptedSerializer.from_pycryptodome_aes(key=b"x" * 32)
    with pytest.raises(DeserializationError, match="another key"):
        other.loads(blob)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DeserializationError):
        EncryptedSerializer.from_pycryptodome_aes(key=KEY).loads(tampered)


def test_savers_take_a_serde_and_store_what_it_makes(tmp_path):
    serde = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    assert InMemorySaver(serde=serde).serde is serde
    assert InMemorySaver().serde is default_serializer
    path = tmp_path / "enc.sqlite"
    with SqliteSaver(path, serde=serde) as saver:
        assert saver.serde is serde
        rec = CheckpointRecord("t", "", new_checkpoint_id(), None, 0.0, 0, "input",
                               saver.serde.dumps({"__start__": "top secret"}), saver.serde.dumps({}))
        saver.put_checkpoint(rec)
    raw = sqlite3.connect(path).execute("SELECT channels FROM checkpoints").fetchone()[0]
    assert b"top secret" not in raw
    assert serde.loads(raw) == {"__start__": "top secret"}


def test_workflow_checkpoints_are_encrypted_at_rest(tmp_path):
    serde = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
    path = tmp_path / "enc.sqlite"
    with SqliteSaver(path, serde=serde) as saver:
        @task
        def shout(s: str) -> str:
            return s.upper() + "-RESULT"

        @entrypoint(checkpointer=saver)
        def wf(s: str) -> str:
            return shout(s).result()

        assert wf.invoke("plaintext-input", cfg("t")) == "PLAINTEXT-INPUT-RESULT"
        assert wf.get_state(cfg("t")).values == "PLAINTEXT-INPUT-RESULT"
    db = sqlite3.connect(path)
    blobs = [r[0] for r in db.execute("SELECT channels FROM checkpoints UNION ALL SELECT payload FROM writes")]
    assert blobs and not any(b"PLAINTEXT" in bytes(b) or b"plaintext" in bytes(b) for b in blobs)
