"""The host verifies a batch in two passes (every check first with the signature checks written
down, then all signatures together); these tests prove each record's outcome is exactly what
checking it alone, the plain way, gives, whatever mix of genuine and forged records a batch has."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_gateway.ingest.verification import Facts, TerminalKey, _verify_one, verify_items
from ledger.bodies import SaleBody
from ledger.crypto import SigningKey, verify
from ledger.record import Record
from tests.factories import T0, FakeCard, FakeTerminal, Issuer

ISSUER = Issuer()
TERMINAL = FakeTerminal()
KEY = TerminalKey(TERMINAL.terminal_id, TERMINAL.key.public_key, T0 - 86_400, T0 + 86_400)


def genuine() -> Record:
    return TERMINAL.sell(ISSUER.card(7))


def forged_terminal_signature() -> Record:
    return genuine().signed_by(SigningKey.generate())


def altered_amount() -> Record:
    sale = genuine()
    body = SaleBody.from_value(sale.body)
    line = dataclasses.replace(body.lines[0], quantity=2, paid=(("APBD", 140_000),))
    altered = dataclasses.replace(body, lines=(line,)).to_value()
    return dataclasses.replace(sale, body=altered).signed_by(TERMINAL.key)


def proof_by_another_card_key() -> Record:
    card = ISSUER.card(8)
    impostor = FakeCard(card.certificate, SigningKey.generate(), dict(card.balances))
    return TERMINAL.sell(impostor)


def card_of_another_issuer() -> Record:
    return TERMINAL.sell(Issuer().card(9))


def garbage() -> Record:
    sale = genuine()
    return dataclasses.replace(sale, signature=bytes(64))


KINDS = [
    genuine,
    forged_terminal_signature,
    altered_amount,
    proof_by_another_card_key,
    card_of_another_issuer,
    garbage,
]


def items(records: list[Record]) -> list[tuple[int, bytes, bytes]]:
    return [(index, r.id.bytes, r.encode()) for index, r in enumerate(records)]


def one_by_one(batch: list[tuple[int, bytes, bytes]]) -> list[Facts]:
    return [_verify_one(KEY, ISSUER.anchors, i, rid, data, verify) for i, rid, data in batch]


def test_every_kind_of_record_in_one_batch_gets_its_own_outcome() -> None:
    batch = [*items([kind() for kind in KINDS]), (len(KINDS), bytes(16), b"\xa0\xa0")]
    facts = verify_items(KEY, ISSUER.anchors, batch)
    assert facts == one_by_one(batch)
    assert [(f.ok, f.code, f.stored) for f in facts] == [
        (True, "ok", False),
        (False, "terminal_signature", False),
        (False, "basket_mismatch", True),
        (False, "card_signature", True),
        (False, "card_not_issued", True),
        (False, "terminal_signature", False),
        (False, "malformed", False),
    ]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(KINDS), min_size=1, max_size=8))
def test_any_mix_verifies_as_each_record_alone(kinds: list[Callable[[], Record]]) -> None:
    batch = items([kind() for kind in kinds])
    assert verify_items(KEY, ISSUER.anchors, batch) == one_by_one(batch)


def test_a_check_that_only_a_bad_signature_would_have_spared_does_not_break_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def surprised(record: Record, body: SaleBody) -> bytes:
        raise KeyError("a check met bytes it did not expect")

    monkeypatch.setattr("ledger.verify._basket_digest", surprised)
    batch = items([proof_by_another_card_key(), forged_terminal_signature()])
    assert [f.code for f in verify_items(KEY, ISSUER.anchors, batch)] == [
        "card_signature",
        "terminal_signature",
    ]
