"""Unfinished card operations are settled only by what the card itself says (M3).

Each case here once ended with money on one side only: the card debited and the journal empty
(an intent aborted on a guess, or never looked at again because the card had become unusable).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from drivers.card.protocol import BlockRequest, Ins
from ledger import canonical
from ledger.record import RecordType
from ledger.wire import HOTLIST_KIND
from simulators.card.applet import Outcome as CardAnswer
from simulators.card.card import Fault
from simulators.card.state import LOG_SIZE
from terminal.basket import ScannedItem
from terminal.journal import IntentStatus
from terminal.sale import Status, balance_inquiry, sell
from tests.factories import T0
from tests.fixtures.card import PIN, TODAY, debit_request
from tests.fixtures.sale import OIL, RICE_5KG, Counter
from tests.unit.test_sale_engine import assert_card_matches_journal, sale_records

RICE_AND_OIL = [ScannedItem(RICE_5KG), ScannedItem(OIL, 2)]
PAID = 101_400
"""What RICE_AND_OIL takes from the card."""


def test_a_torn_debit_stays_unresolved_once_the_card_log_has_rolled_past_it(
    counter: Counter,
) -> None:
    number = counter.issue()
    start = counter.balances(number)
    counter.present(number).arm(Fault.DURING, Ins.DEBIT)  # applied, then the card is pulled
    torn = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert torn.status is Status.UNRESOLVED
    assert sum(start.values()) - sum(counter.balances(number).values()) == PAID
    (intent,) = counter.home.journal.open_intents()

    # The holder then pays elsewhere more often than the card's log remembers.
    counter.present(number)
    elsewhere = counter.session()
    elsewhere.read_card(TODAY)
    for _ in range(LOG_SIZE + 1):
        elsewhere.verify_pin(PIN)
        elsewhere.debit(debit_request((("APBD", 10),), (), terminal_id="SMD-0002"))

    counter.present(number)
    back = balance_inquiry(counter.till, counter.session(), PIN)
    assert [(r.result, r.reason) for r in back.resolutions] == [("unresolved", "log_rolled_over")]
    # Nobody can tell any more whether it ran: the terminal must not call it "never ran".
    settled = counter.home.journal.intent(intent.id)
    assert settled is not None and settled.status is IntentStatus.UNRESOLVED
    assert counter.home.journal.open_intents() != []


def test_a_garbled_answer_to_an_applied_debit_is_settled_from_the_card_log(
    counter: Counter,
) -> None:
    number = counter.issue()
    start = counter.balances(number)
    card = counter.present(number)
    answer = card.applet.process

    def garbled(command: bytes) -> CardAnswer:
        out = answer(command)
        if command[1] == Ins.DEBIT and out.response.endswith(b"\x90\x00"):
            return dataclasses.replace(out, response=out.response[:20] + b"\x90\x00")
        return out

    card.applet.process = garbled  # type: ignore[method-assign,assignment]
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    # The card did debit: the cashier must not hear "refused" (nothing moved).
    assert (outcome.status, outcome.reason) == (Status.UNRESOLVED, "card_answer_garbled")
    assert "KARTU YANG SAMA" in (outcome.message or "")
    assert sum(start.values()) - sum(counter.balances(number).values()) == PAID

    card.applet.process = answer  # type: ignore[method-assign]
    counter.present(number)
    again = balance_inquiry(counter.till, counter.session(), PIN)
    assert [r.result for r in again.resolutions] == ["completed"]
    assert len(sale_records(counter)) == 1
    assert_card_matches_journal(counter, number, start)


def test_a_debit_torn_before_the_card_was_blocked_elsewhere_still_reaches_the_journal(
    counter: Counter,
) -> None:
    number = counter.issue()
    start = counter.balances(number)
    counter.present(number).arm(Fault.DURING, Ins.DEBIT)
    assert sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k").status is (
        Status.UNRESOLVED
    )
    counter.present(number)  # another terminal carries out the issuer's block order
    elsewhere = counter.session()
    elsewhere.read_card(TODAY)
    order = counter.issuer.block_order(number, 1, dt.date(2026, 11, 18))
    elsewhere.block(BlockRequest(order, "SMD-0002", T0))

    counter.present(number)
    refused = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert refused.reason == "card_blocked"
    assert [r.result for r in refused.resolutions] == ["completed"]
    assert counter.home.journal.open_intents() == []
    assert_card_matches_journal(counter, number, start)


def test_a_torn_block_order_is_recorded_when_the_card_comes_back(counter: Counter) -> None:
    number = counter.issue()
    order = counter.issuer.block_order(number, 3, dt.date(2026, 11, 18))
    entry = {"card": number, "reason": 3, "block_order": order.encode()}
    hotlist = {"version": 1, "entries": [entry]}
    counter.home.journal.put_document(HOTLIST_KIND, 1, canonical.encode(hotlist), time=T0)
    counter.present(number).arm(Fault.DURING, Ins.BLOCK)  # blocked, then the card is pulled
    first = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert first.reason == "card_hotlisted"
    assert counter.home.journal.records() == []

    counter.present(number)
    again = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert again.reason == "card_blocked"
    assert [r.result for r in again.resolutions] == ["completed"]
    assert [r.type for r in counter.home.journal.records()] == [RecordType.BLOCK]
    assert counter.home.journal.open_intents() == []
