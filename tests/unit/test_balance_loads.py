"""A balance inquiry tops the card up: pending loads are applied once, then shown."""

from __future__ import annotations

from ledger.record import RecordType
from terminal.sale import Status, balance_inquiry
from tests.fixtures.card import PIN
from tests.fixtures.sale import Counter


def test_balance_inquiry_applies_pending_loads_once(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 10_000})
    counter.offer_load(number, 2, "APBD", 200_000)
    counter.present(number)
    outcome = balance_inquiry(counter.till, counter.session(), PIN)
    assert outcome.status is Status.COMPLETED, outcome
    assert [r.result for r in outcome.resolutions] == ["completed"]
    assert {b.code: b.balance for b in outcome.balances} == {"APBD": 210_000}
    assert counter.balances(number) == {"APBD": 210_000}
    counter.present(number)
    again = balance_inquiry(counter.till, counter.session(), PIN)
    assert again.resolutions == ()
    assert counter.balances(number) == {"APBD": 210_000}
    assert [r.type for r in counter.home.journal.records()] == [RecordType.LOAD]


def test_wrong_pin_still_keeps_the_applied_load(counter: Counter) -> None:
    """The load needs no PIN (it only adds); the refusal is about the PIN alone."""
    number = counter.issue(loads={"APBD": 10_000})
    counter.offer_load(number, 2, "APBD", 5_000)
    counter.present(number)
    outcome = balance_inquiry(counter.till, counter.session(), "999999")
    assert outcome.status is Status.REFUSED
    assert outcome.reason == "wrong_pin"
    assert [r.result for r in outcome.resolutions] == ["completed"]
    assert counter.balances(number) == {"APBD": 15_000}
