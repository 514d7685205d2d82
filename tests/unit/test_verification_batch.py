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
from ledger.crypto import Domain, SigningKey, verify
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


def _count_signature_checks(monkeypatch: pytest.MonkeyPatch) -> dict[Domain, int]:
    counts: dict[Domain, int] = {}

    def counting(public_key: bytes, domain: Domain, message: bytes, signature: bytes) -> bool:
        counts[domain] = counts.get(domain, 0) + 1
        return verify(public_key, domain, message, signature)

    monkeypatch.setattr("host_gateway.ingest.verification.verify", counting)
    return counts


def test_a_contiguous_run_needs_one_terminal_signature_and_every_card_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = FakeTerminal()
    key = TerminalKey(terminal.terminal_id, terminal.key.public_key, T0 - 86_400, T0 + 86_400)
    records = [terminal.sell(ISSUER.card(20 + n)) for n in range(6)]
    batch = items(list(reversed(records)))  # the order sent does not matter, the links do
    counts = _count_signature_checks(monkeypatch)
    facts = verify_items(key, ISSUER.anchors, batch)
    assert [f.code for f in facts] == ["ok"] * 6
    assert counts == {Domain.TERMINAL_RECORD: 1, Domain.CARD_TRANSACTION: 6}


def _chain(count: int) -> tuple[TerminalKey, list[Record]]:
    terminal = FakeTerminal()
    key = TerminalKey(terminal.terminal_id, terminal.key.public_key, T0 - 86_400, T0 + 86_400)
    return key, [terminal.sell(ISSUER.card(30 + n)) for n in range(count)]


def test_a_run_whose_last_signature_fails_is_checked_record_by_record() -> None:
    key, records = _chain(5)
    # Same bytes as signed but a signature by another key: records 1-4 still link to it.
    records[4] = records[4].signed_by(SigningKey.generate())
    batch = items(records)
    facts = verify_items(key, ISSUER.anchors, batch)
    assert facts == [_verify_one(key, ISSUER.anchors, i, r, d, verify) for i, r, d in batch]
    assert [(f.code, f.stored) for f in facts] == [("ok", False)] * 4 + [
        ("terminal_signature", False)
    ]


def test_a_bad_record_inside_a_run_is_the_only_one_refused() -> None:
    key, records = _chain(6)
    records[2] = dataclasses.replace(records[2], signature=bytes(64))
    batch = items(records)
    facts = verify_items(key, ISSUER.anchors, batch)
    assert [f.code for f in facts] == ["ok", "ok", "terminal_signature", "ok", "ok", "ok"]
    assert facts == [_verify_one(key, ISSUER.anchors, i, r, d, verify) for i, r, d in batch]
