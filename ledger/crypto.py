"""Ed25519 signing with domain separation, and private keys encrypted at rest.

Why Ed25519: deterministic signatures (fixed test vectors are possible), 32-byte keys and 64-byte
signatures that fit a short APDU, and no signature malleability (non-canonical S is rejected), so
a signed record has exactly one valid byte form. Every signature covers a domain label first, so
a signature made for one kind of message can never be replayed as another.

Keys, signing and keys at rest use ``cryptography`` (OpenSSL). Verification uses libsodium
(PyNaCl): the host verifies two signatures per record and the terminal one per card answer, and
libsodium takes half OpenSSL's time (75 against 150 us on the 2-core host; the ingest floor in
bench/ingest_bench.py doubled). It is also the stricter verifier: besides a non-canonical S it
refuses small-order and non-canonical public keys and R values, which no honest signer makes.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import nacl.bindings
import nacl.exceptions
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4


class Domain(enum.Enum):
    """What a signature is for; written into the signed bytes."""

    CARD_CERTIFICATE = b"SSN/v1/card-certificate"
    CARD_TRANSACTION = b"SSN/v2/card-transaction"
    ISSUER_AUTHORIZATION = b"SSN/v2/issuer-authorization"
    TERMINAL_CERTIFICATE = b"SSN/v1/terminal-certificate"
    TERMINAL_RECORD = b"SSN/v1/terminal-record"
    TERMINAL_REQUEST = b"SSN/v1/terminal-request"
    SIGNED_DOCUMENT = b"SSN/v1/signed-document"


class KeyFileError(Exception):
    """A key file that cannot be read: wrong passphrase, corrupt or missing."""


def _message(domain: Domain, message: bytes) -> bytes:
    return domain.value + b"\x00" + message


def key_id(public_key: bytes) -> bytes:
    """Short identifier of a public key, carried next to signatures to pick the verifying key."""
    return hashlib.sha256(public_key).digest()[:KEY_ID_SIZE]


class SigningKey:
    """A private key that signs within a domain."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id(self.public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """A key from a fixed 32-byte seed: only for test vectors and simulated cards."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, domain: Domain, message: bytes) -> bytes:
        return self._key.sign(_message(domain, message))

    def to_encrypted_pem(self, passphrase: bytes) -> bytes:
        if not passphrase:
            raise ValueError("a key at rest needs a non-empty passphrase")
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )

    @classmethod
    def from_encrypted_pem(cls, pem: bytes, passphrase: bytes) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except (ValueError, TypeError) as exc:
            raise KeyFileError("cannot decrypt key: wrong passphrase or corrupt key file") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError("key file does not hold an Ed25519 key")
        return cls(key)

    def save(self, path: Path, passphrase: bytes) -> None:
        """Writes the key encrypted, readable by the owner only, replacing atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.to_encrypted_pem(passphrase))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        # The rename is durable only once the directory entry is on disk.
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @classmethod
    def load(cls, path: Path, passphrase: bytes) -> SigningKey:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from exc
        return cls.from_encrypted_pem(pem, passphrase)


SignatureCheck = Callable[[bytes, Domain, bytes, bytes], bool]
"""(public key, domain, message, signature) -> valid: :func:`verify`, or a stand-in that defers
the checks to run them together (host ingest, :mod:`host_gateway.ingest.verification`)."""


def verify(public_key: bytes, domain: Domain, message: bytes, signature: bytes) -> bool:
    """True only for a valid signature; malformed keys or signatures are simply invalid."""
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        signed = bytes(signature) + _message(domain, message)
        nacl.bindings.crypto_sign_open(signed, bytes(public_key))
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        return False
    return True


def is_public_key(raw: bytes) -> bool:
    """Whether these bytes are a key someone can sign with: a canonical curve point of the
    prime-order group. A small-order "key" verifies nothing (see :func:`verify`), so the host
    refuses to certify one rather than issue a card or terminal that no signature can pass."""
    return len(raw) == PUBLIC_KEY_SIZE and nacl.bindings.crypto_core_ed25519_is_valid_point(
        bytes(raw)
    )


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
