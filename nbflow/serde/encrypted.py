"""``EncryptedSerializer``: checkpoint payloads encrypted at rest (LangGraph's shape).

Wraps a serializer (default: nbflow's strict JSON serializer, so what can be
read back is unchanged) and encrypts every payload it produces::

    serde = EncryptedSerializer.from_pycryptodome_aes()   # key from $LANGGRAPH_AES_KEY
    saver = SqliteSaver("checkpoints.sqlite", serde=serde)

A cipher is any object with ``encrypt(plaintext) -> (cipher_name, ciphertext)``
and ``decrypt(cipher_name, ciphertext) -> plaintext`` (LangGraph's
``CipherProtocol``). Stored format: ``MAGIC`` + one byte giving the length of
the cipher name + the name (ASCII) + the ciphertext. Payloads without ``MAGIC``
are plain serialized data (written before encryption was turned on) and are
read as such, as LangGraph does; a payload that does not decrypt (wrong key,
tampered data) raises :class:`~nbflow.errors.DeserializationError` saying so.

:meth:`EncryptedSerializer.from_pycryptodome_aes` uses AES (EAX mode by
default: authenticated, so tampering is detected) from the optional
``pycryptodome`` package (``pip install nbflow[encryption]``).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Protocol

from ..errors import ConfigError, DeserializationError
from ._encode import default_serializer

__all__ = ["CipherProtocol", "EncryptedSerializer", "PycryptodomeAesCipher", "MAGIC", "KEY_ENV"]

MAGIC = b"\x00nbflow-enc1\x00"
KEY_ENV = "LANGGRAPH_AES_KEY"


class CipherProtocol(Protocol):
    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]: ...

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes: ...


class PycryptodomeAesCipher:
    """AES from pycryptodome; ciphertext = nonce + tag + encrypted bytes."""

    name = "aes"

    def __init__(self, key: bytes, **aes_kwargs: Any) -> None:
        try:
            from Crypto.Cipher import AES
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "EncryptedSerializer.from_pycryptodome_aes needs the pycryptodome package: "
                "pip install 'nbflow[encryption]' (or pycryptodome)"
            ) from exc
        if not isinstance(key, (bytes, bytearray)) or len(key) not in (16, 24, 32):
            got = f"{len(key)} bytes" if isinstance(key, (bytes, bytearray)) else type(key).__name__
            raise ConfigError(f"an AES key must be 16, 24 or 32 bytes long, got {got}")
        self._aes = AES
        self._key = bytes(key)
        self._kwargs = {"mode": AES.MODE_EAX, **aes_kwargs}

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        cipher = self._aes.new(self._key, **self._kwargs)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        return self.name, bytes(cipher.nonce) + tag + ciphertext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != self.name:
            raise ValueError(f"cannot decrypt data encrypted with {ciphername!r} using AES")
        nonce, tag, body = ciphertext[:16], ciphertext[16:32], ciphertext[32:]
        cipher = self._aes.new(self._key, nonce=nonce, **self._kwargs)
        return cipher.decrypt_and_verify(body, tag)


class EncryptedSerializer:
    """A serializer that encrypts what ``serde`` produces with ``cipher``."""

    def __init__(self, cipher: CipherProtocol, serde: Any = None) -> None:
        self.cipher = cipher
        self.serde = default_serializer if serde is None else serde

    @classmethod
    def from_pycryptodome_aes(cls, serde: Any = None, **kwargs: Any) -> EncryptedSerializer:
        """AES-encrypting serializer; the key is ``key=`` or ``$LANGGRAPH_AES_KEY`` (UTF-8).

        Other keyword arguments go to ``Crypto.Cipher.AES.new`` (default ``mode=AES.MODE_EAX``).
        """
        key = kwargs.pop("key", None)
        if key is None:
            env = os.environ.get(KEY_ENV)
            if not env:
                raise ConfigError(
                    f"EncryptedSerializer.from_pycryptodome_aes: no key given and ${KEY_ENV} is "
                    f"not set; set {KEY_ENV} to a 16, 24 or 32 character key or pass key=b'...'"
                )
            key = env.encode()
        elif isinstance(key, str):
            key = key.encode()
        return cls(PycryptodomeAesCipher(key, **kwargs), serde)

    @property
    def digest_key(self) -> bytes | None:
        """A key for the digests nbflow stores next to encrypted data (task arguments, to catch a replay
        that changed them), derived from the cipher's key so a digest reveals nothing; None if the
        cipher does not show its key (``digest_key`` or ``_key`` attribute): then nothing is compared."""
        raw = getattr(self.cipher, "digest_key", None) or getattr(self.cipher, "_key", None)
        if not raw:
            return None
        return hashlib.blake2b(b"nbflow/args-digest", key=bytes(raw)[:64], digest_size=32).digest()

    def dumps(self, obj: Any) -> bytes:
        return self.seal(self.serde.dumps(obj))

    def seal(self, plaintext: bytes) -> bytes:
        """The stored form of bytes the inner serializer made: encrypted, with the cipher's name."""
        name, ciphertext = self.cipher.encrypt(plaintext)
        raw = name.encode("ascii")
        if len(raw) > 255:
            raise ConfigError(f"cipher name {name!r} is longer than 255 bytes")
        return MAGIC + bytes([len(raw)]) + raw + ciphertext

    def loads(self, data: bytes | bytearray | memoryview | str) -> Any:
        if isinstance(data, str) or bytes(data[: len(MAGIC)]) != MAGIC:
            return self.serde.loads(data)  # written before encryption was enabled
        return self.serde.loads(self.open(data))

    def open(self, data: bytes | bytearray | memoryview) -> bytes:
        """The plaintext of stored bytes :meth:`seal` made (unencrypted bytes are returned as they are)."""
        if bytes(data[: len(MAGIC)]) != MAGIC:
            return bytes(data)
        data = bytes(data)
        n = data[len(MAGIC)]
        start = len(MAGIC) + 1
        name = data[start:start + n].decode("ascii", "replace")
        try:
            plaintext = self.cipher.decrypt(name, data[start + n:])
        except (ValueError, KeyError, TypeError) as exc:
            raise DeserializationError(
                f"could not decrypt a checkpoint payload encrypted with {name!r} ({exc}); was it "
                f"written with another key? Use the key it was written with (${KEY_ENV})."
            ) from exc
        return plaintext

    def __repr__(self) -> str:
        return f"<EncryptedSerializer {type(self.cipher).__name__}>"
