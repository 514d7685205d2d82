"""The host sees every counter (S5): balance continuity across counter gaps, unexplained credit
held from the shop before the gap, evidence read from card logs, money moved exactly once.

Runs on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import select

from host_gateway import gaps, intents, postings, settings, shops
from host_gateway.check import CheckReport, run_check
from host_gateway.cli import main as gateway_main
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.evidence import EvidenceIntake, EvidenceResult
from host_gateway.models import Account, Card, CardTransaction, Event
from ledger.bodies import SaleBody
from ledger.cardproofs import DebitProof
from ledger.crypto import SigningKey
from ledger.record import Record
from tests.factories import RICE_5KG, FakeCard, FakeTerminal
from tests.fixtures.gateway import OIL_1L, World, load_record, void_record

HOUR = 3600


def other_shop(world: World) -> tuple[FakeTerminal, str]:
    """A terminal at a second shop."""
    with transaction(world.gateway.factory) as session:
        shop = shops.add_shop(session, "e-Warong Harapan", "ewarong", world.now).id
    return world.enroll(shop), shop


def proof_of(sale: Record) -> DebitProof:
    return DebitProof.decode(SaleBody.from_value(sale.body).card_proof)


def evidence(world: World, terminal: FakeTerminal, *messages: bytes) -> list[EvidenceResult]:
    with transaction(world.gateway.factory) as session:
        intake = EvidenceIntake(session, world.gateway.keys, terminal.terminal_id, world.now)
        return intake.submit(list(messages))


def balance(world: World, account: str) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(Account.balance).where(Account.code == account)) or 0)


def payable(world: World, shop: str) -> int:
    return -balance(world, postings.shop(shop))


def check(world: World, now: int | None = None) -> CheckReport:
    with transaction(world.gateway.factory) as session:
        return run_check(session, world.now if now is None else now)


def held(world: World) -> dict[str, int]:
    with transaction(world.gateway.factory) as session:
        return gaps.held_by_shop(session)


def events(world: World, code: str) -> list[Event]:
    with transaction(world.gateway.factory) as session:
        return list(session.scalars(select(Event).where(Event.code == code).order_by(Event.id)))


def assert_books_match_card(world: World, card: FakeCard) -> None:
    """The journal is whole, nothing is unexplained, and every shadow balance is the card's."""
    report = check(world)
    assert report.ok, report
    for code, amount in card.balances.items():
        assert -balance(world, postings.purse(card.number, code)) == amount


def check_command(world: World) -> int:
    url = world.gateway.engine.url.render_as_string(hide_password=False)
    return gateway_main(["check", "--db", url, "--json"])


def test_a_hidden_cancellation_is_held_from_its_shop_until_the_card_log_shows_it(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14's first attack at the host: a shop cancels its sale on the card (the card gives
    the money back) and never uploads the cancellation, so it is paid for the sale. The card's
    next proof, from another shop, shows more on the card than its counters explain."""
    card = world.funded_card()  # counter 1
    hiding, (other, other_shop_id) = world.terminal, other_shop(world)
    sale = hiding.sell(card)  # counter 2
    void, void_proof = void_record(hiding, card, sale)  # counter 3: kept back by the shop
    world.ingest([sale])
    world.ingest([other.sell(card)], terminal=other)  # counter 4
    [event] = events(world, "unexplained_credit")
    assert event.terminal_id == hiding.terminal_id and event.card_number == card.number
    assert f"held from shop {world.shop_id}" in event.message and "Rp70.000" in event.message
    assert held(world) == {world.shop_id: 70_000}
    report = check(world)
    assert not report.ok
    assert report.unexplained_credits == [
        {
            "card": card.number,
            "after_counter": 2,
            "terminal": hiding.terminal_id,
            "shop": world.shop_id,
            "amount": 70_000,
        }
    ]
    assert check_command(world) == 1
    assert "unexplained credit" in capsys.readouterr().err

    results = evidence(world, other, void_proof.encode())  # read from the card's log at B
    assert [(r.result, r.code, r.counter) for r in results] == [("stored", "void_from_log", 3)]
    assert held(world) == {}
    assert len(events(world, "unexplained_credit_released")) == 1
    assert payable(world, world.shop_id) == 0  # the hiding shop loses the sale it cancelled
    assert payable(world, other_shop_id) == 70_000
    assert_books_match_card(world, card)
    assert check_command(world) == 0

    late = world.ingest([void]).results[0]  # the shop uploads its void after all
    assert (late.status, late.code) == ("accepted", "ok")
    assert payable(world, world.shop_id) == 0
    assert_books_match_card(world, card)


@pytest.mark.parametrize("with_void", [True, False])
def test_sync_with_and_without_the_void_record(world: World, with_void: bool) -> None:
    card = world.funded_card()
    other, _ = other_shop(world)
    sale = world.terminal.sell(card)
    void, _ = void_record(world.terminal, card, sale)
    world.ingest([sale, void] if with_void else [sale])
    world.ingest([other.sell(card)], terminal=other)
    if with_void:
        assert held(world) == {} and events(world, "unexplained_credit") == []
        assert payable(world, world.shop_id) == 0
        assert_books_match_card(world, card)
    else:
        assert held(world) == {world.shop_id: 70_000}
        assert payable(world, world.shop_id) == 70_000  # owed, but a payout holds it back
        assert not check(world).ok


def test_a_debit_read_from_a_card_log_waits_in_suspense_until_its_record_moves_it_once(
    world: World,
) -> None:
    card = world.funded_card()
    other, other_shop_id = other_shop(world)
    offline = world.terminal.sell(card)  # counter 2: the shop is still offline
    seen = other.sell(card)  # counter 3
    world.ingest([seen], terminal=other)
    debit = proof_of(offline).encode()
    first, again = evidence(world, other, debit), evidence(world, other, debit)
    assert [(r.result, r.code) for r in first] == [("stored", "debit_unrecorded")]
    assert [(r.result, r.code) for r in again] == [("known", "known")]
    assert balance(world, postings.suspense("APBD")) == -70_000  # held there, not the shop's
    assert payable(world, world.shop_id) == 0
    report = check(world)
    assert report.ok and report.gaps == []
    assert [(d["counter"], d["amount"]) for d in report.unrecorded_debits] == [(2, 70_000)]
    assert_books_match_card(world, card)

    assert world.ingest([offline]).results[0].status == "accepted"  # record after evidence
    assert payable(world, world.shop_id) == 70_000
    assert balance(world, postings.suspense("APBD")) == 0
    assert check(world).unrecorded_debits == []
    assert world.ingest([offline]).results[0].duplicate
    assert [r.result for r in evidence(world, other, debit, proof_of(seen).encode())] == [
        "known",
        "known",  # evidence after record
    ]
    assert payable(world, world.shop_id) == 70_000 and payable(world, other_shop_id) == 70_000
    assert_books_match_card(world, card)
    assert len(events(world, "counter_recorded")) == 1


def test_a_cancellation_read_before_its_sale_arrives_leaves_the_sale_unpaid(world: World) -> None:
    card = world.funded_card()
    other, _ = other_shop(world)
    sale = world.terminal.sell(card)
    void, void_proof = void_record(world.terminal, card, sale)
    world.ingest([other.sell(card)], terminal=other)
    [result] = evidence(world, other, void_proof.encode())
    assert (result.result, result.code) == ("stored", "void_unmatched")
    report = check(world)  # the debit at counter 2 is still in a gap: listed, not yet failed
    assert report.ok and [g["missing"] for g in report.gaps] == [[2]]
    assert [r.status for r in world.ingest([sale, void]).results] == ["accepted", "accepted"]
    assert payable(world, world.shop_id) == 0  # the card cancelled it: nobody is paid
    assert balance(world, postings.suspense("APBD")) == 0
    assert_books_match_card(world, card)


def test_clone_evidence_and_forgeries_are_refused(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    world.ingest([sale])
    other_content = dataclasses.replace(proof_of(sale), nonce=bytes(16)).signed_by(card.key)
    forged = dataclasses.replace(proof_of(sale), counter=9).signed_by(SigningKey.generate())
    results = evidence(world, world.terminal, other_content.encode(), forged.encode(), b"\x01")
    assert [(r.result, r.code) for r in results] == [
        ("refused", "card_cloned"),
        ("refused", "card_signature"),
        ("refused", "malformed"),
    ]
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "cloned"
        assert session.get(CardTransaction, (card.number, 9)) is None


def test_a_rise_explained_by_a_load_the_host_issued_is_no_unexplained_credit(
    world: World,
) -> None:
    card = world.funded_card()
    other, _ = other_shop(world)
    load = load_record(world.terminal, card, world.authorize(card, 50_000))  # not uploaded yet
    world.ingest([other.sell(card)], terminal=other)
    assert events(world, "unexplained_credit") == [] and held(world) == {}
    report = check(world)
    assert report.ok and [g["changes"] for g in report.gaps] == ["APBD:+50000"]
    world.ingest([load])
    assert check(world).gaps == []
    assert_books_match_card(world, card)


def test_balances_that_do_not_follow_between_consecutive_counters_fail_the_check(
    world: World,
) -> None:
    card = world.funded_card()
    world.ingest([world.terminal.sell(card)])
    card.balances["APBD"] += 50_000  # a copy of the card with another history signs the next
    world.ingest([world.terminal.sell(card)])
    assert len(events(world, "card_balance_mismatch")) == 1
    report = check(world)
    assert not report.ok and len(report.mismatches) == 1
    assert held(world) == {world.shop_id: 50_000}


def test_a_torn_debit_whose_log_entry_rolled_out_is_settled_only_when_the_drop_matches(
    world: World,
) -> None:
    """Issue 14's second blind spot: a debit torn at one terminal, then 17 sales at another
    shop push it out of the card's 16-entry log. The host reports the debit no journal holds,
    alerts once the gap is older than the setting, and an operator settles the terminal's
    stuck intent only when the balances fell by exactly what it asked."""
    card = world.funded_card()
    torn_at, (other, _) = world.terminal, other_shop(world)
    draft = SaleBody(card.number, card.certificate.encode(), b"", 1, (RICE_5KG,), 0, "kasir-1")
    torn = card.debit(torn_at.terminal_id, world.now, draft, ((1, 5_000),))  # counter 2
    world.ingest([other.sell(card, lines=(OIL_1L,)) for _ in range(17)], terminal=other)
    report = check(world)
    assert report.ok  # a fresh gap is listed, not failed
    assert [(g["missing"], g["fall"]) for g in report.gaps] == [([2], 70_000)]
    assert [d["amount"] for d in report.unrecorded_debits] == [70_000]
    late = check(world, world.now + 49 * HOUR)
    assert not late.ok and [g["missing"] for g in late.aged_gaps] == [[2]]
    assert len(events(world, "card_gap_aged")) == 1

    wrong, right = uuid.uuid4(), uuid.uuid4()
    reported = [
        intents.Reported(wrong, card.number, "sale", torn.nonce, 2, {"APBD": 50_000}),
        intents.Reported(right, card.number, "sale", torn.nonce, 2, {"APBD": 70_000}),
    ]
    with transaction(world.gateway.factory) as session:
        results = intents.report(session, torn_at.terminal_id, reported, [], world.now)
        assert [r.result for r in results] == ["stored", "stored"]
        again = intents.report(session, torn_at.terminal_id, reported[:1], [], world.now)
        assert [r.result for r in again] == ["known"]
        [listed] = [i for i in intents.listing(session) if i["intent_id"] == str(right)]
        assert listed["gap"]["drop"] == {"APBD": 70_000} and listed["host_holds"] is None
    with transaction(world.gateway.factory) as session, pytest.raises(GatewayError) as refused:
        intents.settle(session, str(wrong), "Budi", "kartu hilang dari log", world.now)
    assert "fell by {'APBD': 70000}" in refused.value.message
    with transaction(world.gateway.factory) as session:
        intents.settle(session, str(right), "Budi", "kartu hilang dari log", world.now)
        resolutions = intents.resolutions(session, torn_at.terminal_id)
    assert [(r.intent_id, r.settled_at_host) for r in resolutions] == [(str(right), True)]
    assert payable(world, world.shop_id) == 0  # booked to suspense, not to the shop
    assert balance(world, postings.suspense("APBD")) == -70_000
    assert check(world, world.now + 49 * HOUR).ok
    assert_books_match_card(world, card)

    # Should the card's message surface after all, it replaces the settlement: money once.
    assert [r.result for r in evidence(world, other, torn.encode())] == ["stored"]
    assert balance(world, postings.suspense("APBD")) == -70_000
    assert_books_match_card(world, card)


def test_the_host_answers_an_intent_with_the_card_message_it_holds(world: World) -> None:
    card = world.funded_card()
    other, _ = other_shop(world)
    sale = other.sell(card)  # the card went on to another shop before this terminal recovered
    world.ingest([sale], terminal=other)
    intent = intents.Reported(uuid.uuid4(), card.number, "sale", bytes(16), 2, {"APBD": 70_000})
    with transaction(world.gateway.factory) as session:
        intents.report(session, world.terminal.terminal_id, [intent], [], world.now)
        [answer] = intents.resolutions(session, world.terminal.terminal_id)
    assert answer.card_message == SaleBody.from_value(sale.body).card_proof
    with transaction(world.gateway.factory) as session:  # the terminal closed it
        intents.report(session, world.terminal.terminal_id, [], [intent.intent_id], world.now)
        assert intents.resolutions(session, world.terminal.terminal_id) == []


def test_gap_alert_hours_is_a_host_setting(world: World) -> None:
    card = world.funded_card()
    other, _ = other_shop(world)
    world.terminal.sell(card)  # never uploaded
    world.ingest([other.sell(card)], terminal=other)
    assert check(world, world.now + 2 * HOUR).ok
    with transaction(world.gateway.factory) as session:
        settings.set_value(session, settings.GAP_ALERT_HOURS, 1)
        with pytest.raises(GatewayError):
            settings.set_value(session, settings.GAP_ALERT_HOURS, 0)
    assert not check(world, world.now + 2 * HOUR).ok
