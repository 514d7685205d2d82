"""Encrypting personal data at rest (S4): a random data key, wrapped by the operator passphrase.

The data key never touches disk in clear: it is sealed with AES-256-GCM under a key derived from
the passphrase by scrypt. Values (NIK) are sealed with the data key and a random nonce; the
associated data binds each ciphertext to its purpose and row, so it cannot be moved to another.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

NONCE_SIZE = 12


class SealError(Exception):
    """Ciphertext that does not open: wrong passphrase or tampered data."""


def _wrapping_key(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase)


def wrap_key(data_key: bytes, passphrase: bytes) -> tuple[bytes, bytes]:
    """(salt, sealed) for storing a data key under a passphrase."""
    salt = os.urandom(16)
    return salt, seal(_wrapping_key(passphrase, salt), data_key, b"data-key")


def unwrap_key(salt: bytes, sealed: bytes, passphrase: bytes) -> bytes:
    try:
        return unseal(_wrapping_key(passphrase, salt), sealed, b"data-key")
    except SealError as exc:
        raise SealError("cannot open the data key: wrong passphrase") from exc


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def unseal(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], associated)
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed value does not open") from exc
