"""A PIN-blocked holder at the counter: the issuer's unblock order is applied when the card is
presented (written ahead, relayed, recorded with the card's receipt), and the holder pays with
their own PIN. Orders that are not for this card, not the issuer's, too old, or meet a
hotlisted card never reach it."""

from __future__ import annotations

import datetime as dt

from drivers.card.protocol import Ins
from ledger import canonical
from ledger.cardproofs import PinUnblockOrder
from ledger.record import RecordType
from ledger.verify import VerifiedPinUnblock, verify_chain
from ledger.wire import HOTLIST_KIND
from simulators.card.applet import Outcome
from simulators.card.card import Fault
from simulators.card.issuance import IssuerKeys
from simulators.card.store import CardStore
from terminal.basket import ScannedItem
from terminal.documents import store_pin_unblocks
from terminal.host_requests import HostCard
from terminal.sale import Status, sell
from tests.factories import T0, card_number
from tests.fixtures.card import PIN
from tests.fixtures.sale import OIL, Counter

TODAY = dt.date(2026, 11, 18)
OIL_ONLY = [ScannedItem(OIL)]


def pin_blocked_card(counter: Counter) -> str:
    number = counter.issue()
    store = CardStore(counter.cards[number])
    store.save(store.load().replace(pin_tries_left=0))
    return number


def hold(counter: Counter, *orders: PinUnblockOrder) -> None:
    """The orders as the terminal holds them after a sync."""
    journal, keys = counter.home.journal, counter.home.config.authority_keys
    store_pin_unblocks(journal, keys, [o.encode() for o in orders], T0)


def types(counter: Counter) -> list[RecordType]:
    return [r.type for r in counter.home.journal.records()]


def test_the_order_is_applied_and_the_holder_pays_with_their_pin(counter: Counter) -> None:
    number = pin_blocked_card(counter)
    hold(counter, counter.issuer.unblock_order(number, 1, TODAY))
    counter.present(number)
    outcome = sell(counter.till, counter.session(), OIL_ONLY, PIN, cashier="k")
    assert outcome.status is Status.COMPLETED, outcome
    assert [(r.kind, r.result) for r in outcome.resolutions] == [("pin_unblock", "completed")]
    assert types(counter) == [RecordType.PIN_UNBLOCK, RecordType.SALE]
    report = verify_chain(
        counter.home.journal.records(), counter.home.key.public_key, counter.anchors, keep=True
    )
    assert report.ok, report.reason
    unblocked = report.verified[0]
    assert isinstance(unblocked, VerifiedPinUnblock) and unblocked.receipt.unblock_seq == 1
    # Presented again, the card is no longer PIN-blocked: the order is not sent twice.
    counter.present(number)
    again = sell(counter.till, counter.session(), OIL_ONLY, PIN, cashier="k")
    assert again.status is Status.COMPLETED and again.resolutions == ()


def test_orders_that_must_not_reach_the_card(counter: Counter) -> None:
    number = pin_blocked_card(counter)
    forged = IssuerKeys(counter.issuer.ca, counter.issuer.ca)  # the CA is not the authority
    hold(
        counter,
        counter.issuer.unblock_order(card_number(9), 1, TODAY),  # another card
        counter.issuer.unblock_order(number, 2, dt.date(2026, 9, 1)),  # expired 2026-10-01
    )
    card = counter.present(number)
    sent: list[int] = []
    answer = card.applet.process

    def record_ins(raw: bytes) -> Outcome:
        sent.append(raw[1])
        return answer(raw)

    card.applet.process = record_ins  # type: ignore[method-assign]
    counter.till.ask_host = lambda *_: HostCard(
        pin_unblocks=(forged.unblock_order(number, 3, TODAY).encode(),)
    )
    outcome = sell(counter.till, counter.session(), OIL_ONLY, PIN, cashier="k")
    assert outcome.reason == "pin_blocked"
    assert Ins.UNBLOCK_PIN not in sent
    assert counter.home.journal.records() == []
    assert CardStore(counter.cards[number]).load().pin_tries_left == 0


def test_a_hotlisted_card_is_blocked_not_unblocked(counter: Counter) -> None:
    number = pin_blocked_card(counter)
    hold(counter, counter.issuer.unblock_order(number, 1, TODAY))
    block = counter.issuer.block_order(number, 3, TODAY)
    hotlist = {
        "version": 1,
        "entries": [{"card": number, "reason": 3, "block_order": block.encode()}],
    }
    counter.home.journal.put_document(HOTLIST_KIND, 1, canonical.encode(hotlist), time=T0)
    counter.present(number)
    outcome = sell(counter.till, counter.session(), OIL_ONLY, PIN, cashier="k")
    assert outcome.reason == "card_hotlisted"
    assert types(counter) == [RecordType.BLOCK]
    assert CardStore(counter.cards[number]).load().pin_tries_left == 0


def test_a_torn_unblock_is_settled_when_the_card_comes_back(counter: Counter) -> None:
    number = pin_blocked_card(counter)
    hold(counter, counter.issuer.unblock_order(number, 1, TODAY))
    card = counter.present(number)
    card.arm(Fault.DURING, Ins.UNBLOCK_PIN)
    first = sell(counter.till, counter.session(), OIL_ONLY, PIN, cashier="k")
    assert first.status is not Status.COMPLETED
    assert counter.home.journal.records() == []
    (intent,) = counter.home.journal.open_intents()
    assert CardStore(counter.cards[number]).load().pin_tries_left == 3  # applied, answer lost
    counter.present(number)
    again = sell(counter.till, counter.session(), OIL_ONLY, PIN, cashier="k")
    assert again.status is Status.COMPLETED, again
    assert [(r.kind, r.result) for r in again.resolutions] == [("pin_unblock", "completed")]
    assert types(counter) == [RecordType.PIN_UNBLOCK, RecordType.SALE]
    assert counter.home.journal.open_intents() == []
    assert intent.kind == "pin_unblock"


def test_the_hosts_answer_for_the_presented_card_is_enough(counter: Counter) -> None:
    """Online, the order the host signed minutes ago reaches the card before any sync."""
    number = pin_blocked_card(counter)
    order = counter.issuer.unblock_order(number, 1, TODAY)
    counter.till.ask_host = lambda *_: HostCard(pin_unblocks=(order.encode(),))
    counter.present(number)
    outcome = sell(counter.till, counter.session(), OIL_ONLY, PIN, cashier="k")
    assert outcome.status is Status.COMPLETED, outcome
    assert types(counter) == [RecordType.PIN_UNBLOCK, RecordType.SALE]
