"""Ingest: what the host accepts, what it refuses and why, and what the money looks like after.

Every test runs on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from drivers.card.protocol import BlockRequest, CardState
from host_gateway import events, postings
from host_gateway.cards import hotlist_card
from host_gateway.check import counter_gaps, run_check
from host_gateway.db import transaction
from host_gateway.fastsql import _placeholders
from host_gateway.models import Account, Card, JournalLine, StoredRecord
from ledger.bodies import BlockBody, DayCloseBody, SaleBody
from ledger.cardproofs import BlockOrder, BlockReceipt, DebitProof
from ledger.crypto import SigningKey
from ledger.record import Record, RecordType
from ledger.verify import business_date
from simulators.card import operations
from simulators.card.state import CardData
from tests.factories import RICE_5KG, T0, FakeCard, FakeTerminal, Issuer
from tests.fixtures.gateway import OIL_1L, World, load_record, void_record


def block_record(
    world: World,
    card: FakeCard,
    terminal: FakeTerminal | None = None,
    certificate: bytes | None = None,
) -> Record:
    """Hotlist ``card`` with a block order and record the card's block receipt."""
    terminal = terminal or world.terminal
    with transaction(world.gateway.factory) as session:
        entry = hotlist_card(session, world.gateway.keys, card.number, 1, "hilang", world.now)
    assert entry.block_order is not None
    receipt = card.block(BlockOrder.decode(entry.block_order), terminal.terminal_id, T0)
    body = BlockBody(
        card.number,
        certificate or card.certificate.encode(),
        entry.block_order,
        receipt.encode(),
    )
    return terminal.append(RecordType.BLOCK, body.to_value())


def balance(world: World, account: str) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(Account.balance).where(Account.code == account)) or 0)


def counts(world: World) -> dict[str, int]:
    with transaction(world.gateway.factory) as session:
        return events.counts(session)


def journal_lines(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(func.count()).select_from(JournalLine)) or 0)


def test_load_then_sale_posts_balanced_and_shadow_matches_card(world: World) -> None:
    card = world.card()
    authorization = world.authorize(card, 200_000)
    assert balance(world, postings.pending("APBD")) == -200_000
    load = load_record(world.terminal, card, authorization)
    sale = world.terminal.sell(card, (RICE_5KG, OIL_1L))
    report = world.ingest([load, sale])
    assert [r.status for r in report.results] == ["accepted", "accepted"]
    assert report.contiguous_seq == 2 and report.gaps == []
    assert balance(world, postings.purse(card.number, "APBD")) == -(200_000 - 85_700)
    assert card.balances["APBD"] == 200_000 - 85_700
    assert balance(world, postings.shop(world.shop_id)) == -85_700
    assert balance(world, postings.pending("APBD")) == 0
    with transaction(world.gateway.factory) as session:
        report_check = run_check(session)
    assert report_check.ok, report_check.discrepancies
    assert report_check.purses_checked == 1


def test_retried_batch_changes_nothing_and_returns_stored_outcomes(world: World) -> None:
    card = world.funded_card()
    sales = [world.terminal.sell(card) for _ in range(3)]
    first = world.ingest(sales)
    lines = journal_lines(world)
    again = world.ingest(sales)
    assert [r.status for r in again.results] == ["accepted"] * 3
    assert all(r.duplicate and r.stored for r in again.results)
    assert journal_lines(world) == lines
    assert [r.id for r in again.results] == [r.id for r in first.results]
    assert counts(world)["replayed_records"] == 1
    assert balance(world, postings.shop(world.shop_id)) == -210_000


def test_same_id_other_content_is_a_conflict(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    world.ingest([sale])
    lines = journal_lines(world)
    other = world.terminal.sell(card)
    report = world.ingest_raw([(sale.id.bytes, other.encode())])
    assert report.results[0].status == "conflict"
    assert not report.results[0].stored
    assert journal_lines(world) == lines
    assert counts(world)["record_conflict"] == 1


def test_out_of_order_arrivals_are_accepted_and_gaps_reported(world: World) -> None:
    card = world.funded_card()  # seq 1
    s2, s3, s4 = (world.terminal.sell(card) for _ in range(3))
    report = world.ingest([s4])
    assert report.results[0].status == "accepted"
    assert report.contiguous_seq == 1 and report.gaps == [(2, 3)]
    report = world.ingest([s3, s2])
    assert [r.status for r in report.results] == ["accepted", "accepted"]
    assert report.contiguous_seq == 4 and report.gaps == []


def test_altered_chain_link_is_refused(world: World) -> None:
    card = world.funded_card()
    s2 = world.terminal.sell(card)
    s3 = world.terminal.sell(card)
    forged = dataclasses.replace(s3, prev_hash=bytes(32)).signed_by(world.terminal.key)
    report = world.ingest([s2, forged])
    assert report.results[1].status == "rejected"
    assert report.results[1].code == "chain_broken"


def test_void_returns_value_once(world: World) -> None:
    card = world.funded_card(200_000)
    sale = world.terminal.sell(card)
    void, _ = void_record(world.terminal, card, sale)
    report = world.ingest([sale, void])
    assert [r.status for r in report.results] == ["accepted", "accepted"]
    assert balance(world, postings.shop(world.shop_id)) == 0
    assert balance(world, postings.purse(card.number, "APBD")) == -200_000
    replay = world.terminal.append(void.type, dict(void.body))  # new record, same card proof
    report = world.ingest([replay])
    assert report.results[0].code == "card_proof_replayed"
    assert balance(world, postings.shop(world.shop_id)) == 0
    assert balance(world, postings.purse(card.number, "APBD")) == -200_000


def test_void_before_its_sale_is_deferred_then_accepted(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    void, _ = void_record(world.terminal, card, sale)
    report = world.ingest([void])
    assert report.results[0].status == "deferred"
    assert not report.results[0].stored
    report = world.ingest([sale, void])
    assert [r.status for r in report.results] == ["accepted", "accepted"]


def test_void_with_other_amounts_is_refused(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    other_sale = world.terminal.sell(card, (OIL_1L,))
    void, _ = void_record(world.terminal, card, other_sale)
    body = dict(void.body)
    body["original_id"], body["original_seq"] = sale.id.bytes, sale.seq
    void = dataclasses.replace(void, body=body).signed_by(world.terminal.key)
    report = world.ingest([sale, other_sale, void])
    assert report.results[2].code == "void_mismatch"
    # the card did credit itself: that value is held in suspense, the shop keeps its sales
    assert balance(world, postings.suspense("APBD")) == 15_700
    assert balance(world, postings.shop(world.shop_id)) == -85_700
    with transaction(world.gateway.factory) as session:
        assert run_check(session).ok


def test_catalog_rules(world: World) -> None:
    card = world.funded_card()
    unknown_item = dataclasses.replace(RICE_5KG, gtin="1234567890128")
    wrong_het = dataclasses.replace(
        RICE_5KG, het=72_000, unit_price=72_000, paid=(("APBD", 72_000),)
    )
    records = [world.terminal.sell(card, (unknown_item,)), world.terminal.sell(card, (wrong_het,))]
    report = world.ingest(records)
    assert [r.code for r in report.results] == ["not_in_catalog", "catalog_mismatch"]
    # refused, but the card really paid: the money waits in suspense, not at the shop
    assert balance(world, postings.suspense("APBD")) == -142_000
    assert balance(world, postings.shop(world.shop_id)) == 0


def test_purse_the_card_is_not_entitled_to_is_refused(world: World) -> None:
    card = world.card(programs=("APBD",))
    world.ingest([load_record(world.terminal, card, world.authorize(card))])
    card.balances["BZNS"] = 100_000  # value the host never loaded
    zakat = dataclasses.replace(RICE_5KG, paid=(("BZNS", 70_000),))
    report = world.ingest([world.terminal.sell(card, (zakat,))])
    assert report.results[0].code == "purse_not_eligible"


def test_capped_category_the_card_did_not_count_is_refused(world: World) -> None:
    """The host checks a monthly cap on the card's own signed counter: a terminal that asks the
    card to count nothing would sell past the cap. Uncapped categories need no counter."""
    card = world.funded_card()
    t = world.terminal
    seven = dataclasses.replace(RICE_5KG, quantity=7, paid=(("APBD", 490_000),))  # 35 > 30 kg
    draft = SaleBody(card.number, card.certificate.encode(), b"", 1, (seven,), 0, "kasir-1")
    proof = card.debit(t.terminal_id, T0, draft, quantities=())
    uncounted = t.append(
        RecordType.SALE, dataclasses.replace(draft, card_proof=proof.encode()).to_value()
    )
    oil = t.sell(card, (OIL_1L,))  # category 2 has no cap: the card counts nothing
    assert DebitProof.decode(SaleBody.from_value(oil.body).card_proof).quantities == ()
    results = world.ingest([uncounted, oil]).results
    assert [(r.status, r.code) for r in results] == [
        ("rejected", "quantity_mismatch"),
        ("accepted", "ok"),
    ]
    assert "did not count" in results[0].message
    assert balance(world, postings.suspense("APBD")) == -490_000  # the card did pay
    assert balance(world, postings.shop(world.shop_id)) == -15_700


def test_sale_against_unpublished_catalog_is_refused(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    body = SaleBody.from_value(sale.body)
    assert body.catalog_version == 1
    world.terminal.seq -= 1
    world.terminal.prev = world.terminal.records[-2].hash()
    world.terminal.records.pop()
    card.counter -= 1
    card.balances["APBD"] += 70_000
    draft = dataclasses.replace(body, catalog_version=7, card_proof=b"")
    proof = card.debit(world.terminal.terminal_id, T0, draft, ((1, 5000),))
    record = world.terminal.append(
        sale.type, dataclasses.replace(draft, card_proof=proof.encode()).to_value()
    )
    report = world.ingest([record])
    assert report.results[0].code == "catalog_unknown"


def test_records_are_stored_once_with_host_receive_time(world: World) -> None:
    card = world.funded_card()
    world.gateway.clock.now = T0 + 5_000  # type: ignore[attr-defined]
    sale = world.terminal.sell(card, time=T0 + 100)
    world.ingest([sale])
    with transaction(world.gateway.factory) as session:
        row = session.get_one(StoredRecord, (sale.id.bytes, sale.terminal_id))
        assert (row.terminal_time, row.received_at) == (T0 + 100, T0 + 5_000)
        assert session.scalar(select(func.count()).select_from(StoredRecord)) == 2


def test_block_receipt_blocks_the_card_and_later_sales_wait_in_suspense(world: World) -> None:
    card = world.funded_card()
    block = block_record(world, card)
    after = world.terminal.sell(card)  # only a copy of the card could still pay
    results = world.ingest([block, after]).results
    assert [r.code for r in results] == ["ok", "card_blocked"]
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "blocked"
    assert balance(world, postings.shop(world.shop_id)) == 0
    assert balance(world, postings.suspense("APBD")) == -70_000


@pytest.mark.parametrize("status", ["issuing", "spoiled"])
def test_sale_by_a_card_whose_issuance_never_finished_is_refused(world: World, status: str) -> None:
    """Defence in depth: such a card's number is void even if the card holds a valid
    certificate (no load is ever created for it, so only a forgery could pay)."""
    card = world.funded_card()
    with transaction(world.gateway.factory) as session:
        session.get_one(Card, card.number).status = status
    results = world.ingest([world.terminal.sell(card)]).results
    assert [(r.status, r.code) for r in results] == [("rejected", "card_spoiled")]
    assert "never issued" in results[0].message
    assert balance(world, postings.shop(world.shop_id)) == 0
    assert balance(world, postings.suspense("APBD")) == -70_000


def test_block_receipt_under_a_forged_certificate_is_refused(world: World) -> None:
    card = world.funded_card()
    forged = dataclasses.replace(card.certificate, signature=b"").signed_by(SigningKey.generate())
    assert forged.issuer_key_id == world.gateway.keys.ca.key_id  # claims our CA, is not ours
    block = block_record(world, card, certificate=forged.encode())
    result = world.ingest([block]).results[0]
    assert (result.status, result.code) == ("rejected", "card_not_issued")
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status != "blocked"


def test_fake_card_blocks_like_the_simulated_card() -> None:
    """The simulator card is the truth for block receipts: BLOCK does not move the counter."""
    issuer = Issuer()
    card = issuer.card()
    card.counter = 7
    order = BlockOrder(card.number, 1, dt.date(2026, 11, 1), issuer.authority.key_id)
    order = order.signed_by(issuer.authority)
    data = CardData.blank().replace(
        state=CardState.ACTIVE,
        certificate=card.certificate,
        authority_key=issuer.authority.public_key,
        counter=card.counter,
    )
    _, real = operations.block(data, BlockRequest(order, "SMD-0001", T0), card.key)
    fake = card.block(order, "SMD-0001", T0)
    assert fake == real and fake.counter == card.counter == 7


def test_block_keeps_the_card_counter_and_is_not_a_clone(world: World) -> None:
    """The block receipt names the counter of the card's last debit: not a second transaction
    there. A real copy of the card at that counter is still caught."""
    card = world.funded_card()
    sale = world.terminal.sell(card)
    block = block_record(world, card)
    counter = DebitProof.decode(SaleBody.from_value(sale.body).card_proof).counter
    assert BlockReceipt.decode(BlockBody.from_value(block.body).card_receipt).counter == counter
    results = world.ingest([sale, block]).results
    assert [(r.status, r.code) for r in results] == [("accepted", "ok"), ("accepted", "ok")]
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "blocked"
        assert counter_gaps(session, card.number) == []
        report = run_check(session)
        assert report.ok and report.cloned_cards == [] and report.cards_with_gaps == []
    card.counter -= 1  # a copy of the card signs another debit at that counter
    card.balances["APBD"] += 70_000
    copy = world.terminal.sell(card)
    assert world.ingest([copy]).results[0].code == "card_cloned"
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "cloned"


def test_sale_signed_before_the_block_is_paid_when_it_arrives_after(world: World) -> None:
    """Shop B sold offline before the card was blocked at shop A, whose upload came first. The
    sale's counter is not above the block receipt's (a blocked card signs nothing more), so it
    predates the block: paid, as the hotlist rule pays sales made before the terminal knew."""
    card = world.funded_card()
    shop_b = world.enroll()
    earlier = shop_b.sell(card)
    block = block_record(world, card)
    assert world.ingest([block]).results[0].code == "ok"
    result = world.ingest([earlier], terminal=shop_b).results[0]
    assert (result.status, result.code) == ("accepted", "ok")
    assert balance(world, postings.shop(world.shop_id)) == -70_000
    assert balance(world, postings.suspense("APBD")) == 0
    later = shop_b.sell(card)  # counter above the block's: only a copy of the card signs it
    assert world.ingest([later], terminal=shop_b).results[0].code == "card_blocked"
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "blocked"
        assert run_check(session).ok


def test_day_close_is_kept_and_moves_no_money(world: World) -> None:
    card = world.funded_card()
    world.ingest([world.terminal.sell(card)])
    lines = journal_lines(world)
    close = DayCloseBody(
        business_date=business_date(T0), first_seq=1, last_seq=2, sale_count=1, card_total=70_000,
        cash_total=0, void_count=0, void_total=0, load_count=1, load_total=1_000_000,
        purse_totals={"APBD": 70_000},
    )  # fmt: skip
    result = world.ingest([world.terminal.append(RecordType.DAY_CLOSE, close.to_value())]).results[
        0
    ]
    assert (result.status, result.stored) == ("accepted", True)
    assert journal_lines(world) == lines


def test_card_counter_gaps_are_tracked_until_filled(world: World) -> None:
    """A card used at two shops reaches the host in any order: the missing counter is listed
    (``ssn-gateway cards show``, ``check``) with the debit it shows, and the card's purses are
    still compared (shadow = signed balance less what the gap moved). A fresh gap fails nothing."""
    card = world.funded_card()
    elsewhere = world.enroll()
    first = elsewhere.sell(card)  # counter n+1, at a shop that is still offline
    second = world.terminal.sell(card)  # counter n+2
    assert world.ingest([second]).results[0].status == "accepted"
    missing = DebitProof.decode(SaleBody.from_value(first.body).card_proof).counter
    with transaction(world.gateway.factory) as session:
        assert counter_gaps(session, card.number) == [missing]
        report = run_check(session, world.now)
    assert report.ok, report
    assert card.number in report.cards_with_gaps and report.purses_checked == 1
    assert [(g["missing"], g["fall"], g["credit"]) for g in report.gaps] == [([missing], 70_000, 0)]
    assert [d["amount"] for d in report.unrecorded_debits] == [70_000]
    world.ingest([first], terminal=elsewhere)
    with transaction(world.gateway.factory) as session:
        assert counter_gaps(session, card.number) == []
        report = run_check(session, world.now)
    assert report.ok and report.cards_with_gaps == [] and report.gaps == []
    assert report.unrecorded_debits == []


def test_driver_placeholders_send_lists_in_binary_and_count_parameters() -> None:
    sql = "SELECT 1 FROM t WHERE a = ? AND b IN (SELECT unnest(?::text[]))"
    assert _placeholders(sql, ["x", ["p", "q"]]) == (
        "SELECT 1 FROM t WHERE a = %s AND b IN (SELECT unnest(%b::text[]))"
    )
    with pytest.raises(ValueError, match="2 placeholders for 1 parameters"):
        _placeholders(sql, ["x"])
