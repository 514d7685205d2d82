"""The shared binary and canonical formats refuse what they must and round-trip what they can."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.card.apdu import CommandAPDU, ResponseAPDU
from drivers.card.protocol import CardInfo, pin_block, pin_from_block
from ledger import canonical
from ledger.binary import FormatError
from ledger.cardnumber import is_valid_card_number, luhn_check_digit, mask_card_number
from ledger.cardproofs import DebitProof, PurseMovement, decode_card_transaction
from ledger.crypto import Domain, SigningKey, verify

CARD = "606001000000001" + luhn_check_digit("606001000000001")


def test_luhn_and_mask() -> None:
    assert is_valid_card_number(CARD)
    wrong = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    assert not is_valid_card_number(wrong)
    assert mask_card_number(CARD) == "**** **** **** " + CARD[-4:]


def test_canonical_refuses_floats_and_noncanonical_bytes() -> None:
    with pytest.raises(FormatError):
        canonical.encode({"amount": 1.5})
    assert canonical.decode(canonical.encode({"b": 1, "a": [b"x"]})) == {"a": [b"x"], "b": 1}
    with pytest.raises(FormatError):
        canonical.decode(bytes.fromhex("1817"))  # 23 encoded in two bytes


def test_signature_is_bound_to_its_domain() -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    sig = key.sign(Domain.TERMINAL_RECORD, b"msg")
    assert verify(key.public_key, Domain.TERMINAL_RECORD, b"msg", sig)
    assert not verify(key.public_key, Domain.CARD_TRANSACTION, b"msg", sig)


def test_debit_proof_roundtrip_and_tamper() -> None:
    key = SigningKey.from_seed(bytes(32))
    proof = DebitProof(
        card_number=CARD,
        counter=7,
        terminal_id="SMD-0001",
        nonce=bytes(16),
        time=1_790_000_000,
        basket_digest=bytes(32),
        purses=(PurseMovement("APBD", 14_000, 186_000),),
        quantities=(),
    ).signed_by(key)
    raw = proof.encode()
    assert decode_card_transaction(raw) == proof
    tampered = bytearray(raw)
    tampered[40] ^= 1
    assert not DebitProof.decode(bytes(tampered)).verify(key.public_key)


def test_pin_block_roundtrip() -> None:
    assert pin_from_block(pin_block("123456")) == "123456"
    with pytest.raises(FormatError):
        pin_block("12a4")


@given(st.binary(max_size=300))
def test_parsers_refuse_garbage_cleanly(data: bytes) -> None:
    for parse in (CardInfo.decode, decode_card_transaction, CommandAPDU.decode, canonical.decode):
        with contextlib.suppress(FormatError):
            parse(data)
    with contextlib.suppress(FormatError):
        ResponseAPDU.decode(data)


def test_dates_must_exist() -> None:
    from ledger.binary import decode_date

    assert decode_date(20261231) == dt.date(2026, 12, 31)
    with pytest.raises(FormatError):
        decode_date(20260231)
