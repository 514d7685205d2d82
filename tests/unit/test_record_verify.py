"""A record built the way a terminal builds it verifies; each kind of tampering is named."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.bodies import SaleBody
from ledger.record import Record
from ledger.verify import VerificationError, VerifiedSale, verify_chain, verify_record
from tests.factories import FakeTerminal, Issuer


def test_valid_sale_verifies() -> None:
    issuer, terminal = Issuer(), FakeTerminal()
    card = issuer.card()
    record = terminal.sell(card)
    decoded = Record.decode(record.encode())
    assert decoded == record
    verified = verify_record(decoded, terminal.key.public_key, issuer.anchors)
    assert isinstance(verified, VerifiedSale)
    assert verified.proof.total == 70_000


def test_altered_amount_is_refused() -> None:
    issuer, terminal = Issuer(), FakeTerminal()
    record = terminal.sell(issuer.card())
    body = SaleBody.from_value(record.body)
    line = dataclasses.replace(
        body.lines[0], shelf_price=80_000, het=80_000, unit_price=80_000, paid=(("APBD", 80_000),)
    )
    forged = dataclasses.replace(record, body=dataclasses.replace(body, lines=(line,)).to_value())
    forged = forged.signed_by(terminal.key)  # even the shop's own key cannot make it valid
    with pytest.raises(VerificationError) as err:
        verify_record(forged, terminal.key.public_key, issuer.anchors)
    assert err.value.code == "basket_mismatch"


def test_card_from_another_issuer_is_refused() -> None:
    ours, theirs, terminal = Issuer(), Issuer(), FakeTerminal()
    record = terminal.sell(theirs.card())
    with pytest.raises(VerificationError) as err:
        verify_record(record, terminal.key.public_key, ours.anchors)
    assert err.value.code == "card_not_issued"


def test_chain_names_first_bad_record() -> None:
    issuer, terminal = Issuer(), FakeTerminal()
    card = issuer.card()
    card.balances["APBD"] = 1_000_000
    for _ in range(5):
        terminal.sell(card)
    records = list(terminal.records)
    assert verify_chain(records, terminal.key.public_key, issuer.anchors).ok
    removed = records[:2] + records[3:]
    report = verify_chain(removed, terminal.key.public_key, issuer.anchors)
    assert report.first_bad_seq == 3
    swapped = [records[0], records[2], records[1], *records[3:]]
    assert verify_chain(swapped, terminal.key.public_key, issuer.anchors).first_bad_seq == 2
