"""What the host asks of a terminal: the card-log entries it is missing, and the card messages
that settle a stuck intent (docs/card-protocol.md, "the host sees every counter")."""

from __future__ import annotations

import datetime as dt

from drivers.card.protocol import Ins, VoidRequest
from drivers.card.session import CardSession
from ledger.cardproofs import DebitProof, VoidProof, decode_card_transaction
from ledger.record import RecordType
from simulators.card.card import Fault
from simulators.card.issuance import IssuerKeys
from simulators.card.state import LOG_SIZE
from terminal.basket import ScannedItem
from terminal.host_requests import HostCard, store_resolutions, store_wanted
from terminal.journal import IntentStatus
from terminal.sale import Status, balance_inquiry, sell, void_sale
from terminal.sale.evidence import settle_from_host
from tests.factories import T0
from tests.fixtures.card import PIN, TODAY, debit_request
from tests.fixtures.sale import OIL, RICE_5KG, SUPERVISOR_PIN, Counter

RICE_AND_OIL = [ScannedItem(RICE_5KG), ScannedItem(OIL, 2)]


def _hidden_cancellation(counter: Counter, number: str) -> tuple[DebitProof, VoidProof]:
    """Another shop sold and cancelled at once, and never told the host of the cancellation."""
    other = _with_pin_elsewhere(counter, number)
    debit = other.debit(debit_request((("APBD", 50_000),), (), terminal_id="SMD-0009"))
    void = other.void(VoidRequest("SMD-0009", bytes(16), T0, debit.counter), debit)
    return debit, void


def test_a_sale_reads_the_entries_the_host_misses_after_the_receipt(counter: Counter) -> None:
    number = counter.issue()
    _debit, void = _hidden_cancellation(counter, number)
    store_wanted(
        counter.home.journal, [{"card_number": number, "counters": [void.counter, 1, 999]}], T0
    )
    counter.present(number)
    sale = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert sale.status is Status.COMPLETED
    assert sale.details["evidence_read"] == 2  # counter 999 is not on the card yet
    queued = counter.home.journal.pending_evidence(10)
    messages = [decode_card_transaction(raw) for _, raw in queued]
    assert [(type(m).__name__, m.counter) for m in messages] == [
        ("LoadReceipt", 1),
        ("VoidProof", void.counter),
    ]
    assert messages[1] == void  # the card's own signed bytes, for the host to verify
    # Read twice (the next sale of the same card), queued once.
    counter.present(number)
    sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert len(counter.home.journal.pending_evidence(10)) == 2
    counter.home.journal.mark_evidence_sent([(queued[0][0], "stored")], T0)
    assert [entry for entry, _ in counter.home.journal.pending_evidence(10)] == [queued[1][0]]


def test_without_the_pin_the_log_is_not_read(counter: Counter) -> None:
    number = counter.issue()
    store_wanted(counter.home.journal, [{"card_number": number, "counters": [1, 2]}], T0)
    counter.present(number)
    wrong = balance_inquiry(counter.till, counter.session(), "999999")
    assert wrong.reason == "wrong_pin"
    counter.present(number)
    refused = sell(counter.till, counter.session(), RICE_AND_OIL, "999999", cashier="k")
    assert refused.status is Status.REFUSED
    assert counter.home.journal.pending_evidence(10) == []


def _with_pin_elsewhere(counter: Counter, number: str) -> CardSession:
    """The card at another terminal, its holder's PIN typed."""
    counter.present(number)
    session = counter.session()
    session.read_card(TODAY)
    session.verify_pin(PIN)
    return session


def _stuck_sale(counter: Counter, number: str) -> None:
    counter.present(number).arm(Fault.DURING, Ins.DEBIT)
    torn = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert torn.status is Status.UNRESOLVED


def test_a_message_that_is_not_the_cards_settles_nothing(counter: Counter) -> None:
    number = counter.issue()
    _stuck_sale(counter, number)
    (intent,) = counter.home.journal.open_intents()
    reader = _with_pin_elsewhere(counter, number)
    tampered = bytearray(reader.get_transaction(intent.expected_counter).encode())
    tampered[-1] ^= 1  # neither the host nor a man in the middle can forge the card's word
    store_resolutions(
        counter.home.journal, [{"intent_id": str(intent.id), "card_message": bytes(tampered)}], T0
    )
    assert settle_from_host(counter.till) == []
    still = counter.home.journal.intent(intent.id)
    assert still is not None and still.status is IntentStatus.UNRESOLVED
    assert counter.home.journal.records() == []


def test_a_stuck_sale_whose_log_rolled_over_is_settled_by_the_hosts_card_message(
    counter: Counter,
) -> None:
    number = counter.issue()
    _stuck_sale(counter, number)
    (intent,) = counter.home.journal.open_intents()
    elsewhere = _with_pin_elsewhere(counter, number)
    proof = elsewhere.get_transaction(intent.expected_counter)  # read before it rolls out
    for _ in range(LOG_SIZE + 1):
        elsewhere.verify_pin(PIN)
        elsewhere.debit(debit_request((("APBD", 10),), (), terminal_id="SMD-0002"))
    store_resolutions(
        counter.home.journal, [{"intent_id": str(intent.id), "card_message": proof.encode()}], T0
    )
    counter.present(number)
    back = balance_inquiry(counter.till, counter.session(), PIN)
    assert back.status is Status.COMPLETED
    assert ("sale", "completed") in [(r.kind, r.result) for r in back.resolutions]
    records = counter.home.journal.records()
    assert [r.type for r in records] == [RecordType.SALE]
    assert counter.home.journal.open_intents() == []


def test_the_hosts_message_of_another_transaction_means_never_ran(counter: Counter) -> None:
    number = counter.issue()
    counter.present(number).arm(Fault.BEFORE, Ins.DEBIT)  # never reached the card
    torn = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert torn.status is Status.UNRESOLVED
    (intent,) = counter.home.journal.open_intents()
    elsewhere = _with_pin_elsewhere(counter, number)
    other = elsewhere.debit(debit_request((("APBD", 10),), (), terminal_id="SMD-0002"))
    assert other.counter == intent.expected_counter
    store_resolutions(
        counter.home.journal, [{"intent_id": str(intent.id), "card_message": other.encode()}], T0
    )
    counter.present(number)
    counter.till.refresh()
    back = balance_inquiry(counter.till, counter.session(), PIN)
    assert ("sale", "aborted") in [(r.kind, r.result) for r in back.resolutions]
    settled = counter.home.journal.intent(intent.id)
    assert settled is not None and settled.status is IntentStatus.ABORTED


def test_an_intent_settled_at_the_host_frees_the_card(counter: Counter) -> None:
    number = counter.issue()
    _stuck_sale(counter, number)
    (intent,) = counter.home.journal.open_intents()
    for _ in range(LOG_SIZE + 1):  # the log rolls past it: no card can tell any more
        elsewhere = _with_pin_elsewhere(counter, number)
        elsewhere.debit(debit_request((("APBD", 10),), (), terminal_id="SMD-0002"))
    counter.present(number)
    stuck = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert stuck.reason == "card_busy"
    store_resolutions(
        counter.home.journal, [{"intent_id": str(intent.id), "settled_at_host": True}], T0
    )
    counter.present(number)
    sold = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert sold.status is Status.COMPLETED
    assert next((r.kind, r.result) for r in sold.resolutions) == ("sale", "settled_at_host")
    done = counter.home.journal.intent(intent.id)
    assert done is not None and done.status is IntentStatus.SETTLED_AT_HOST


def test_a_cancelled_sale_at_this_counter_is_not_wanted_evidence(counter: Counter) -> None:
    number = counter.issue()
    counter.present(number)
    session = counter.session()
    sale = sell(counter.till, session, RICE_AND_OIL, PIN, cashier="k")
    assert sale.record_id is not None
    void_sale(counter.till, session, sale.record_id, SUPERVISOR_PIN, supervisor="s", reason="x")
    assert counter.home.journal.pending_evidence(10) == []


def test_online_the_presented_cards_loads_and_wanted_counters_come_from_the_host(
    counter: Counter,
) -> None:
    """Terminals no longer download the whole city's pending loads: a card this terminal has
    never served gets its load when presented online."""
    number = counter.issue(loads={"APBD": 10_000})
    load = counter.issuer.authorize_load(
        number, 2, "APBD", 200_000, dt.date(2026, 12, 31), dt.date(2026, 11, 18)
    )
    forged = IssuerKeys.generate().authorize_load(
        number, 3, "APBD", 9_000_000, dt.date(2026, 12, 31), dt.date(2026, 11, 18)
    )
    asked: list[tuple[str, int]] = []

    def ask(card_number: str, card_counter: int) -> HostCard:
        asked.append((card_number, card_counter))
        return HostCard((load.encode(),), (1,))

    counter.till.ask_host = ask
    counter.present(number)
    sale = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert sale.status is Status.COMPLETED
    assert asked == [(number, 1)]  # the card's own counter: the host asks for what it lacks
    assert counter.balances(number) == {"APBD": 10_000 + 200_000 - 15_700}
    assert sale.details["evidence_read"] == 1  # counter 1, asked for just now
    counter.till.ask_host = lambda *_: HostCard((forged.encode(),), ())
    counter.present(number)
    sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert counter.balances(number) == {"APBD": 10_000 + 200_000 - 2 * 15_700}  # not the forgery
    # Offline (no sync for days): the host is not asked, the sale does not wait for it.
    counter.clock.now = T0 + 30 * 86_400
    asked.clear()
    counter.till.ask_host = ask
    counter.present(number)
    balance_inquiry(counter.till, counter.session(), PIN)
    assert asked == []
