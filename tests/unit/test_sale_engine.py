"""The sale engine in-process: what the cashier sees and what the money must be, card and
journal agreeing after every kind of interruption."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace
from typing import Any, cast

from drivers.card.protocol import Ins
from ledger import canonical
from ledger.bodies import DayCloseBody, SaleBody, VoidBody
from ledger.cardproofs import DebitProof, VoidProof
from ledger.documents import SignedDocument
from ledger.record import RecordType
from ledger.verify import verify_chain
from ledger.wire import HOTLIST_KIND
from simulators.card.applet import Outcome
from simulators.card.card import Fault
from terminal.basket import ScannedItem
from terminal.config import RiskLimits
from terminal.journal import IntentStatus
from terminal.sale import Status, balance_inquiry, close_day, mark_interrupted, sell, void_sale
from tests.factories import T0
from tests.fixtures.card import PIN
from tests.fixtures.sale import (
    NOODLES,
    OIL,
    RICE_5KG,
    SUGAR,
    SUPERVISOR_PIN,
    Counter,
)

RICE_AND_OIL = [ScannedItem(RICE_5KG), ScannedItem(OIL, 2)]


def sale_records(counter: Counter) -> list[SaleBody]:
    return [
        SaleBody.from_value(r.body)
        for r in counter.home.journal.records()
        if r.type is RecordType.SALE
    ]


def assert_card_matches_journal(counter: Counter, number: str, start: dict[str, int]) -> None:
    """M3: what left the card is exactly what the journal's sales (minus voids) say."""
    spent: dict[str, int] = {}
    for record in counter.home.journal.records():
        if record.type is RecordType.SALE:
            proof = DebitProof.decode(SaleBody.from_value(record.body).card_proof)
            for p in proof.purses:
                spent[p.code] = spent.get(p.code, 0) - p.amount
        if record.type is RecordType.VOID:
            undo = VoidProof.decode(VoidBody.from_value(record.body).card_proof)
            for p in undo.purses:
                spent[p.code] = spent.get(p.code, 0) + p.amount
    now = counter.balances(number)
    assert {code: now[code] - start[code] for code in start} == {
        code: spent.get(code, 0) for code in start
    }
    report = verify_chain(
        counter.home.journal.records(), counter.home.key.public_key, counter.anchors
    )
    assert report.ok, report.reason


def test_sale_debits_the_card_and_commits_a_signed_record_with_receipts(counter: Counter) -> None:
    number = counter.issue()
    start = counter.balances(number)
    counter.present(number)
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="kasir-1")
    assert outcome.status is Status.COMPLETED, outcome
    # APBD (expires 2026-12-31) and BZNS (same expiry): BZNS first by code order on a tie.
    assert outcome.card_total == 70_000 + 2 * 15_700
    assert outcome.card == "**** **** **** " + number[-4:]
    after = counter.balances(number)
    assert sum(start.values()) - sum(after.values()) == 101_400
    assert {b.code: b.balance for b in outcome.balances} == after
    record = counter.home.journal.record(outcome.record_id)  # type: ignore[arg-type]
    assert record is not None and record.seq == 1
    jobs = counter.home.journal.jobs_for_record(record.id)
    assert [j.kind.value for j in jobs] == ["sale-customer", "sale-shop"]
    assert_card_matches_journal(counter, number, start)


def test_refused_lines_are_named_and_nothing_moves_when_nothing_is_payable(
    counter: Counter,
) -> None:
    number = counter.issue(loads={"APBD": 50_000})
    counter.present(number)
    outcome = sell(
        counter.till,
        counter.session(),
        [ScannedItem(NOODLES), ScannedItem("12345"), ScannedItem(SUGAR, 3)],
        PIN,
        cashier="kasir-1",
    )
    assert outcome.status is Status.COMPLETED
    refused = {r.gtin: str(r.reason) for r in outcome.refused_lines}
    assert refused == {
        NOODLES: "not_eligible",
        "12345": "not_in_catalog",
        SUGAR: "insufficient_balance",
    }
    assert outcome.card_total == 2 * 17_500
    counter.present(number)
    nothing = sell(counter.till, counter.session(), [ScannedItem(NOODLES)], PIN, cashier="k")
    assert (nothing.status, nothing.reason) == (Status.REFUSED, "nothing_to_charge")
    assert counter.home.journal.open_intents() == []


def test_wrong_pin_costs_a_try_and_writes_nothing(counter: Counter) -> None:
    number = counter.issue()
    counter.present(number)
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, "000000", cashier="k")
    assert (outcome.status, outcome.reason) == (Status.REFUSED, "wrong_pin")
    assert "2" in (outcome.message or "")
    assert counter.home.journal.records() == []
    assert counter.home.journal.open_intents() == []


def test_card_torn_after_debit_is_finished_when_presented_again(counter: Counter) -> None:
    number = counter.issue()
    start = counter.balances(number)
    card = counter.present(number)
    card.arm(Fault.DURING, Ins.DEBIT)
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert (outcome.status, outcome.reason) == (Status.UNRESOLVED, "card_removed")
    assert "KARTU YANG SAMA" in (outcome.message or "")
    assert counter.home.journal.records() == []  # not yet: the proof is only on the card
    counter.present(number)
    again = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert again.status is Status.COMPLETED
    assert [r.result for r in again.resolutions] == ["completed"]
    assert len(sale_records(counter)) == 2
    assert_card_matches_journal(counter, number, start)


def test_card_torn_before_debit_is_aborted_when_presented_again(counter: Counter) -> None:
    number = counter.issue()
    start = counter.balances(number)
    card = counter.present(number)
    card.arm(Fault.BEFORE, Ins.DEBIT)
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert outcome.status is Status.UNRESOLVED
    counter.present(number)
    info = balance_inquiry(counter.till, counter.session(), PIN)
    assert [r.result for r in info.resolutions] == ["aborted"]
    assert counter.balances(number) == start
    assert counter.home.journal.records() == []


def test_restart_marks_interrupted_intents_and_card_settles_them(counter: Counter) -> None:
    number = counter.issue()
    start = counter.balances(number)
    card = counter.present(number)
    card.arm(Fault.DURING, Ins.DEBIT)
    sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert mark_interrupted(counter.home.journal) == 0  # already unresolved, not open
    (intent,) = counter.home.journal.open_intents()
    assert intent.status is IntentStatus.UNRESOLVED
    counter.present(number)
    balance_inquiry(counter.till, counter.session(), PIN)
    assert counter.home.journal.open_intents() == []
    assert_card_matches_journal(counter, number, start)


def test_offline_limits_refuse_with_the_reason(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 1_000_000})
    oil = 15_700

    def buy(bottles: int, at: int) -> tuple[Status, str | None]:
        counter.clock.now = at
        counter.present(number)
        result = sell(
            counter.till, counter.session(), [ScannedItem(OIL, bottles)], PIN, cashier="k"
        )
        return result.status, result.reason

    assert buy(1, T0 + 73 * 3600) == (Status.REFUSED, "offline_hours_limit")
    # Just synced (within 15 minutes): the per-sale cap does not apply.
    assert buy(20, T0 + 600) == (Status.COMPLETED, None)
    # An hour without sync is offline: one sale may take at most Rp300,000.
    assert buy(20, T0 + 3600) == (Status.REFUSED, "offline_sale_limit")
    assert buy(19, T0 + 3600) == (Status.COMPLETED, None)
    assert counter.home.journal.offline_state().card_total_since_sync == 39 * oil
    # The host's config document (as a sync stores it) lowers the cumulative limit: the next
    # sale follows it, whichever process synced.
    content = {
        "risk": {"max_offline_sale": 300_000, "max_offline_total": 700_000,
                 "max_offline_hours": 72},
        "sync_interval_seconds": 60,
        "allow_cash_split": True,
    }  # fmt: skip
    document = SignedDocument.sign("config", 2, T0, content, counter.issuer.authority)
    counter.home.journal.put_document("config", 2, document.encode(), time=T0 + 3650)
    counter.till.refresh()  # as every operation does first
    assert counter.till.limits == RiskLimits(300_000, 700_000, 72)
    assert buy(10, T0 + 3700) == (Status.REFUSED, "offline_total_limit")
    journal = counter.home.journal
    journal.mark_synced(T0 + 3800)  # a sync that uploaded nothing clears nothing
    assert buy(10, T0 + 3900) == (Status.REFUSED, "offline_total_limit")
    uploaded = journal.unacknowledged()
    journal.acknowledge([r.id for r in uploaded], ["accepted"] * len(uploaded), time=T0 + 3950)
    journal.mark_synced(T0 + 3950)
    assert buy(10, T0 + 4000) == (Status.COMPLETED, None)


def test_void_returns_the_money_once_with_supervisor_pin(counter: Counter) -> None:
    """A cancellation runs in the card session of the sale, before the holder leaves."""
    number = counter.issue()
    start = counter.balances(number)
    counter.present(number)
    session = counter.session()
    sale = sell(counter.till, session, RICE_AND_OIL, PIN, cashier="k")
    assert sale.record_id is not None

    def cancel(pin: str, reason: str = "salah input") -> Outcome:
        assert sale.record_id is not None
        return void_sale(
            counter.till, session, sale.record_id, pin, supervisor="spv", reason=reason
        )

    assert cancel("0000").reason == "supervisor_pin"
    void = cancel(SUPERVISOR_PIN)
    assert void.status is Status.COMPLETED, void
    assert counter.balances(number) == start
    assert {b.code: b.balance for b in void.balances} == start
    assert cancel(SUPERVISOR_PIN, "lagi").reason == "void_already"
    assert counter.balances(number) == start
    assert_card_matches_journal(counter, number, start)


def test_a_void_gets_its_own_time_to_print_in_front_of_its_holder(counter: Counter) -> None:
    """The supervisor may take a while to come and type the PIN: the void slip's foreground
    printing bound counts from the void, not from the sale before it."""
    number = counter.issue()
    counter.present(number)
    session = counter.session()
    sale = sell(counter.till, session, RICE_AND_OIL, PIN, cashier="k")
    assert sale.record_id is not None
    counter.till.print_queue = cast(Any, SimpleNamespace(foreground_seconds=10.0))
    counter.till._operation_started = time.monotonic() - 9.5  # the supervisor took 9.5 s
    assert (counter.till.print_seconds_left() or 0) <= 1
    void = void_sale(
        counter.till, session, sale.record_id, SUPERVISOR_PIN, supervisor="spv", reason="salah"
    )
    assert void.status is Status.COMPLETED
    assert (counter.till.print_seconds_left() or 0) > 9


def test_a_sale_cannot_be_voided_once_the_card_session_ended(counter: Counter) -> None:
    """v1 voided any logged debit of the same terminal, in any later session: a keyless credit.
    Now the card re-presented (even at once, even with the holder's PIN) cannot be credited."""
    number = counter.issue()
    counter.present(number)
    sale = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert sale.record_id is not None
    after_sale = counter.balances(number)
    counter.present(number)
    again = counter.session()
    sell(counter.till, again, [ScannedItem(OIL)], PIN, cashier="k")  # a second sale, new session
    late = void_sale(
        counter.till, again, sale.record_id, SUPERVISOR_PIN, supervisor="spv", reason="besok"
    )
    assert late.status is Status.REFUSED and late.reason == "void_session_over"
    assert counter.balances(number)["APBD"] == after_sale["APBD"] - 15_700
    assert [r.type for r in counter.home.journal.records()] == [RecordType.SALE, RecordType.SALE]


def test_hotlisted_card_is_blocked_by_the_issuer_order(counter: Counter) -> None:
    number = counter.issue()
    order = counter.issuer.block_order(number, 3, dt.date(2026, 11, 18))
    hotlist = {
        "version": 1,
        "entries": [{"card": number, "reason": 3, "block_order": order.encode()}],
    }
    counter.home.journal.put_document(HOTLIST_KIND, 1, canonical.encode(hotlist), time=T0)
    counter.present(number)
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert outcome.reason == "card_hotlisted"
    assert [r.type for r in counter.home.journal.records()] == [RecordType.BLOCK]
    counter.present(number)
    after = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert after.reason == "card_blocked"


def test_an_expired_block_order_is_reported_and_not_sent(counter: Counter) -> None:
    """Past its window (by the terminal's date) a block order proves nothing: the card would
    refuse it. The terminal refuses the card, tells the cashier to sync (the host renews the
    order of a card still hotlisted) and leaves the card as it is."""
    number = counter.issue()
    order = counter.issuer.block_order(number, 3, dt.date(2026, 8, 1))  # valid to 2026-10-30
    hotlist = {
        "version": 1,
        "entries": [{"card": number, "reason": 3, "block_order": order.encode()}],
    }
    counter.home.journal.put_document(HOTLIST_KIND, 1, canonical.encode(hotlist), time=T0)
    card = counter.present(number)
    sent: list[int] = []
    answer = card.applet.process

    def record_ins(raw: bytes) -> Outcome:
        sent.append(raw[1])
        return answer(raw)

    card.applet.process = record_ins  # type: ignore[method-assign]
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert (outcome.status, outcome.reason) == (Status.REFUSED, "card_hotlisted")
    assert outcome.details == {"block_order_expired": "2026-10-30"}
    assert "sinkronkan" in (outcome.message or "")
    assert Ins.BLOCK not in sent
    assert counter.home.journal.records() == []


def test_pending_load_is_applied_before_the_sale(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 10_000})
    counter.offer_load(number, 2, "APBD", 200_000)
    counter.present(number)
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert outcome.status is Status.COMPLETED, outcome
    assert [r.result for r in outcome.resolutions] == ["completed"]
    assert {b.code: b.balance for b in outcome.balances} == {"APBD": 210_000 - 101_400}
    types = [r.type for r in counter.home.journal.records()]
    assert types == [RecordType.LOAD, RecordType.SALE]
    counter.present(number)
    again = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert again.resolutions == ()  # the card already took load 2: never twice


def test_balance_inquiry_shows_caps_left(counter: Counter) -> None:
    number = counter.issue()
    counter.present(number)
    sell(counter.till, counter.session(), [ScannedItem(RICE_5KG)], PIN, cashier="k")
    counter.present(number)
    outcome = balance_inquiry(counter.till, counter.session(), PIN)
    assert outcome.status is Status.COMPLETED
    caps = outcome.details["caps_remaining"]
    assert caps == [{"category": 1, "name": "Beras", "remaining": 5000, "unit": "g"}]


def test_day_close_totals_and_refuses_a_second(counter: Counter) -> None:
    number = counter.issue()
    counter.present(number)
    sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    outcome = close_day(counter.till, None, "kasir-1")
    assert outcome.status is Status.COMPLETED
    assert outcome.details["day_close"]["card_total"] == 101_400
    assert close_day(counter.till, None, "kasir-1").reason == "day_already_closed"


def test_card_refusal_after_intent_aborts_it(counter: Counter) -> None:
    number = counter.issue()
    start = counter.balances(number)
    card = counter.present(number)
    answer = card.applet.process

    def reset_before_debit(raw: bytes) -> Outcome:
        # A card reset between VERIFY and DEBIT loses the PIN: the card refuses (6982 or 6985).
        if raw[1] == Ins.DEBIT:
            card.applet.power_on()
        return answer(raw)

    card.applet.process = reset_before_debit  # type: ignore[method-assign]
    outcome = sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    assert outcome.status is Status.REFUSED, outcome
    assert counter.home.journal.open_intents() == []
    assert counter.home.journal.records() == []
    assert counter.balances(number) == start


def test_clock_set_back_refuses_card_sales_but_not_balance_inquiry(counter: Counter) -> None:
    # The terminal synced at T0 (host time). Its clock battery dies: it reads a month earlier.
    number = counter.issue(loads={"APBD": 1_000_000})
    start = counter.balances(number)
    counter.clock.now = T0 - 30 * 86_400
    counter.present(number)
    sale = sell(counter.till, counter.session(), [ScannedItem(OIL, 20)], PIN, cashier="k")
    assert (sale.status, sale.reason) == (Status.REFUSED, "clock_behind")
    assert sale.message is not None and "Perbaiki jam terminal" in sale.message
    assert counter.balances(number) == start
    assert counter.home.journal.records() == [] and counter.home.journal.open_intents() == []
    counter.present(number)
    balance = balance_inquiry(counter.till, counter.session(), PIN)
    assert balance.status is Status.COMPLETED
    assert {b.code: b.balance for b in balance.balances} == start
    # Two minutes behind the host is honest drift: the sale goes ahead as before.
    counter.clock.now = T0 - 120
    counter.present(number)
    ok = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert ok.status is Status.COMPLETED
    assert sum(start.values()) - sum(counter.balances(number).values()) == 15_700


def test_clock_set_back_behind_the_last_sale_refuses_card_sales(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 1_000_000})

    def buy(at: int) -> tuple[Status, str | None]:
        counter.clock.now = at
        counter.present(number)
        result = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
        return result.status, result.reason

    assert buy(T0 + 70 * 3600) == (Status.COMPLETED, None)
    # Set back to an hour after the sync, the terminal would sell 71 more hours offline.
    assert buy(T0 + 3600) == (Status.REFUSED, "clock_behind")
    assert len(sale_records(counter)) == 1


def z_reports(counter: Counter) -> list[DayCloseBody]:
    return [
        DayCloseBody.from_value(r.body)
        for r in counter.home.journal.records()
        if r.type is RecordType.DAY_CLOSE
    ]


def test_sale_recovered_after_its_day_was_closed_is_in_the_next_z_report(
    counter: Counter,
) -> None:
    number = counter.issue()
    start = counter.balances(number)
    card = counter.present(number)
    card.arm(Fault.DURING, Ins.DEBIT)  # the card takes the money, then is pulled away
    torn = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert torn.status is Status.UNRESOLVED
    first = close_day(counter.till, None, "k")  # day 1: the sale is not known yet
    assert (first.status, first.details["day_close"]["card_total"]) == (Status.COMPLETED, 0)
    counter.clock.now = T0 + 86_400  # day 2: the same card comes back
    counter.present(number)
    recovered = balance_inquiry(counter.till, counter.session(), PIN)
    assert [r.result for r in recovered.resolutions] == ["completed"]
    second = close_day(counter.till, None, "k")
    z = second.details["day_close"]
    assert (z["business_date"], z["sale_count"], z["card_total"]) == ("2026-11-19", 1, 15_700)
    taken = sum(start.values()) - sum(counter.balances(number).values())
    assert sum(report.card_total for report in z_reports(counter)) == taken == 15_700


def test_sale_and_void_after_the_day_close_go_into_a_second_close(counter: Counter) -> None:
    number = counter.issue()
    counter.present(number)
    sell(counter.till, counter.session(), RICE_AND_OIL, PIN, cashier="k")
    first = close_day(counter.till, None, "k")
    assert first.details["day_close"]["card_total"] == 101_400
    counter.clock.now = T0 + 600
    counter.present(number)
    session = counter.session()
    mistaken = sell(counter.till, session, RICE_AND_OIL, PIN, cashier="k")
    assert mistaken.record_id is not None
    voided = void_sale(
        counter.till, session, mistaken.record_id, SUPERVISOR_PIN, supervisor="spv", reason="salah"
    )
    assert voided.status is Status.COMPLETED
    late = sell(counter.till, session, [ScannedItem(OIL)], PIN, cashier="k")
    assert late.status is Status.COMPLETED
    second = close_day(counter.till, None, "k")  # same day, closed again: only what is new
    assert second.status is Status.COMPLETED
    z = second.details["day_close"]
    assert (z["business_date"], z["first_seq"], z["last_seq"]) == ("2026-11-18", 3, 5)
    assert (z["sale_count"], z["card_total"], z["void_count"], z["void_total"]) == (
        2,
        117_100,
        1,
        101_400,
    )
    assert close_day(counter.till, None, "k").reason == "day_already_closed"  # nothing new
    assert close_day(counter.till, dt.date(2026, 11, 17), "k").reason == "day_already_closed"
    reports = z_reports(counter)
    assert sum(r.card_total - r.void_total for r in reports) == 101_400 + 15_700
