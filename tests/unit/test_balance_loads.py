"""A balance inquiry tops the card up: pending loads are applied once, then shown."""

from __future__ import annotations

from drivers.card.protocol import Ins
from ledger.record import RecordType
from simulators.card.card import Fault
from terminal.basket import ScannedItem
from terminal.sale import Status, balance_inquiry, sell
from tests.fixtures.card import PIN
from tests.fixtures.sale import SUGAR, Counter


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


def test_load_torn_during_a_sale_says_present_again_not_refused(counter: Counter) -> None:
    """The card took the aid but left before answering: the cashier must hear "present the same
    card again", never "refused / reader error", and the next presentation settles the load."""
    number = counter.issue(loads={"APBD": 10_000})
    counter.offer_load(number, 2, "APBD", 5_000)
    counter.present(number).arm(Fault.DURING, Ins.LOAD)
    outcome = sell(counter.till, counter.session(), [ScannedItem(SUGAR)], PIN, cashier="kasir")
    assert outcome.status is Status.UNRESOLVED, outcome
    assert outcome.reason == "load_torn"
    assert "KARTU YANG SAMA" in (outcome.message or "")
    assert counter.balances(number) == {"APBD": 15_000}  # the card was credited
    counter.present(number)
    again = balance_inquiry(counter.till, counter.session(), PIN)
    assert [(r.kind, r.result) for r in again.resolutions] == [("load", "completed")]
    assert {b.code: b.balance for b in again.balances} == {"APBD": 15_000}
    assert [r.type for r in counter.home.journal.records()] == [RecordType.LOAD]


def test_reader_error_is_one_language(counter: Counter) -> None:
    """The device's own (English) words stay out of the Indonesian sentence."""
    number = counter.issue(loads={"APBD": 10_000})
    counter.present(number)
    session = counter.session()
    counter.reader.remove()
    outcome = balance_inquiry(counter.till, session, PIN)
    assert outcome.status is Status.REFUSED
    assert (
        outcome.message
        == "Pembaca kartu bermasalah. Periksa kabel pembaca, lalu tempelkan kartu lagi."
    )
    assert outcome.details["detail"]
