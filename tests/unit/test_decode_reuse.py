"""Decoded records and card messages reuse their bytes instead of encoding again (host ingest
speed); these tests prove the reused bytes are exactly what encoding would give, and that a
changed copy never carries stale bytes."""

from __future__ import annotations

import dataclasses
import pickle

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_gateway.ingest.verification import Facts
from ledger import canonical
from ledger.binary import FormatError
from ledger.bodies import SaleBody
from ledger.cardproofs import DebitProof
from ledger.crypto import SigningKey
from ledger.record import Record
from ledger.verify import _basket_digest, verify_record
from tests.factories import RICE_5KG, FakeCard, FakeTerminal, Issuer


def make_card() -> FakeCard:
    return Issuer().card()


SEQS = [1, 23, 24, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**40]
"""Every size of CBOR integer, either side of each boundary."""


@pytest.mark.parametrize("seq", SEQS)
def test_signed_bytes_cut_from_the_encoding_equal_a_fresh_encoding(seq: int) -> None:
    terminal = FakeTerminal(seq=seq - 1)
    record = terminal.sell(make_card())
    data = record.encode()
    decoded = Record.decode(data)
    assert decoded.encode() == data
    assert decoded.signed_bytes() == canonical.encode(record.unsigned_value())
    assert decoded.verify_signature(terminal.key.public_key)


def test_a_changed_copy_encodes_afresh() -> None:
    terminal = FakeTerminal()
    decoded = Record.decode(terminal.sell(make_card()).encode())
    resigned = decoded.signed_by(SigningKey.generate())
    assert resigned.encode() != decoded.encode()
    assert Record.decode(resigned.encode()) == resigned
    moved = dataclasses.replace(decoded, seq=decoded.seq + 1)
    assert moved.signed_bytes() == canonical.encode(moved.unsigned_value())
    assert not moved.verify_signature(terminal.key.public_key)


def test_an_altered_signature_or_field_still_fails() -> None:
    terminal = FakeTerminal()
    data = bytearray(terminal.sell(make_card()).encode())
    data[-1] ^= 1  # inside the body's last value, which the signature covers
    assert not Record.decode(bytes(data)).verify_signature(terminal.key.public_key)
    value = cbor2.loads(terminal.sell(make_card()).encode())
    value["sig"] = bytes(64)
    assert not Record.decode(canonical.encode(value)).verify_signature(terminal.key.public_key)


def test_debit_proof_body_is_its_bytes_and_a_copy_drops_them() -> None:
    card: FakeCard = make_card()
    record = FakeTerminal().sell(card)
    raw = SaleBody.from_value(record.body).card_proof
    proof = DebitProof.decode(raw)
    assert proof.body() == raw[:-64] and proof.encode() == raw
    assert proof.verify(card.key.public_key)
    changed = dataclasses.replace(proof, counter=proof.counter + 1)
    assert changed.body() != proof.body()
    assert not changed.verify(card.key.public_key)


def test_facts_cross_processes_whole() -> None:
    facts = Facts(3, b"x" * 16, ok=True, seq=7, type="sale", lines=(("g", 1, 2, 3, ("APBD",)),))
    facts.reject("card_cloned", "seen twice", stored=True)
    assert pickle.loads(pickle.dumps(facts)) == facts


@pytest.mark.parametrize(
    "value",
    [[1.5], {"a": [{"b": 0.5}]}, [cbor2.CBORTag(1, 2)], {"a": cbor2.CBORSimpleValue(99)}],
)
def test_canonical_decode_refuses_floats_and_tags_at_any_depth(value: object) -> None:
    with pytest.raises(FormatError):
        canonical.decode(cbor2.dumps(value, canonical=True))


_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.binary(max_size=300)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=26), inner),
    max_leaves=30,
)


@given(_VALUES)
@settings(max_examples=400, deadline=None)
def test_decode_accepts_exactly_the_canonical_encoding(value: object) -> None:
    data = cbor2.dumps(value, canonical=True)
    assert canonical.decode(data) == value
    plain = cbor2.dumps(value)  # maps in insertion order: canonical only if already sorted
    if plain != data:
        with pytest.raises(FormatError):
            canonical.decode(plain)


@pytest.mark.parametrize("seq", SEQS)
def test_a_record_just_signed_keeps_exactly_its_canonical_encoding(seq: int) -> None:
    record = FakeTerminal(seq=seq - 1).sell(make_card())
    value = record.unsigned_value()
    value["sig"] = record.signature
    assert record.encode() == canonical.encode(value)
    assert Record.decode(record.encode()) == record
    assert not record.decoded
    changed = dataclasses.replace(record, time=record.time + 1)
    assert changed.encode() != record.encode()


@given(st.dictionaries(st.text(max_size=26), st.integers(0, 9), min_size=2))
def test_map_keys_out_of_canonical_order_are_refused(value: dict[str, int]) -> None:
    backwards = dict(reversed(list(cbor2.loads(cbor2.dumps(value, canonical=True)).items())))
    with pytest.raises(FormatError):
        canonical.decode(cbor2.dumps(backwards))


def test_the_basket_digest_of_a_decoded_record_is_the_one_the_card_signed() -> None:
    issuer = Issuer()
    oil = dataclasses.replace(
        RICE_5KG, gtin="8993496110013", name="Minyakita 1 L \u2713", category=2
    )
    for lines in [(RICE_5KG,), (RICE_5KG, oil), (oil, RICE_5KG)]:
        terminal = FakeTerminal()
        record = terminal.sell(issuer.card(), lines)
        decoded = Record.decode(record.encode())
        body = SaleBody.from_value(decoded.body)
        assert decoded.decoded and not record.decoded
        assert _basket_digest(decoded, body) == body.digest() == _basket_digest(record, body)
        assert DebitProof.decode(body.card_proof).basket_digest == body.digest()
        verify_record(decoded, terminal.key.public_key, issuer.anchors)
