"""Signature verification accepts exactly the signatures its signer makes, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.crypto import Domain, SigningKey, is_public_key, verify

ORDER = 2**252 + 27742317777372353535851937790883648493
"""L, the order of the Ed25519 base point."""
IDENTITY = (1).to_bytes(32, "little")
"""The encoding of the neutral point, a public key of small order."""


def test_a_signature_verifies_only_for_its_key_domain_and_message() -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    signature = key.sign(Domain.TERMINAL_RECORD, b"sale 1")
    assert verify(key.public_key, Domain.TERMINAL_RECORD, b"sale 1", signature)
    assert not verify(key.public_key, Domain.TERMINAL_RECORD, b"sale 2", signature)
    assert not verify(key.public_key, Domain.CARD_TRANSACTION, b"sale 1", signature)
    other = SigningKey.from_seed(bytes(32))
    assert not verify(other.public_key, Domain.TERMINAL_RECORD, b"sale 1", signature)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify(key.public_key, Domain.TERMINAL_RECORD, b"sale 1", flipped)


def test_a_signature_has_one_byte_form() -> None:
    """S + L satisfies the same equation as S: accepting it would give a record two valid forms."""
    key = SigningKey.from_seed(bytes(range(32)))
    signature = key.sign(Domain.TERMINAL_RECORD, b"sale 1")
    s = int.from_bytes(signature[32:], "little")
    malleated = signature[:32] + (s + ORDER).to_bytes(32, "little")
    assert not verify(key.public_key, Domain.TERMINAL_RECORD, b"sale 1", malleated)


@pytest.mark.parametrize("message", [b"", b"pay 1000000", b"any message at all"])
def test_a_small_order_key_verifies_nothing(message: bytes) -> None:
    """With the neutral point as public key, R = neutral point and S = 0 satisfy the verification
    equation for every message: a terminal that enrolled such a key could disown any record."""
    universal = IDENTITY + bytes(32)
    assert not verify(IDENTITY, Domain.TERMINAL_RECORD, message, universal)
    assert not verify(IDENTITY, Domain.TERMINAL_REQUEST, message, universal)


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [(b"", b""), (bytes(31), bytes(64)), (bytes(32), bytes(63)), (bytes(33), bytes(64))],
)
def test_malformed_keys_and_signatures_are_simply_invalid(
    public_key: bytes, signature: bytes
) -> None:
    assert not verify(public_key, Domain.TERMINAL_RECORD, b"x", signature)


@given(
    public_key=st.binary(min_size=32, max_size=32),
    signature=st.binary(min_size=64, max_size=64),
    message=st.binary(max_size=64),
)
def test_random_keys_and_signatures_never_raise(
    public_key: bytes, signature: bytes, message: bytes
) -> None:
    assert verify(public_key, Domain.TERMINAL_RECORD, message, signature) is False
    assert is_public_key(public_key) in (True, False)


def test_an_honest_key_is_a_public_key_and_the_neutral_point_is_not() -> None:
    assert is_public_key(SigningKey.generate().public_key)
    assert not is_public_key(IDENTITY)
    assert not is_public_key(bytes(31))
