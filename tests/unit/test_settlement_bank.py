"""The last leg: payout file to the simulated bank, its pain.002 and camt.053 back, each payout
reconciled; the journal sums to zero and its giro account equals the bank's statement balance
after every step. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from host_gateway import postings
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import JournalEntry
from host_gateway.settlement import payouts, reconcile
from simulators.bank import bank
from tests.fixtures.gateway import FakeClock, World
from tests.unit.test_gateway_continuity import payable
from tests.unit.test_settlement_payouts import closed_day_with_two_shops, prepare, release
from tests.unit.test_settlement_windows import DAY, NEXT, close

BUDGET = 1_000_000


def world_and_bank(world: World, clock: FakeClock) -> tuple[bank.BankState, str]:
    """Shop A (account open at the bank) sold 70,000; shop B (account unknown there) 140,000;
    the giro account holds the program's budget, in the journal and at the bank."""
    other_id = closed_day_with_two_shops(world, clock)
    with transaction(world.gateway.factory) as session:
        funding = postings.Entry("funding", "giro funding for APBD")
        postings.post(session, world.now, [funding.transfer(postings.GIRO, "fund:APBD", BUDGET)])
    state = bank.new_bank("0011223344", "BPDKIDJ1", "Dinas Sosial Kota Samarinda")
    bank.fund(state, BUDGET, "APBD 2026-S2", world.now)
    state.accounts["1234567890"] = bank.Account("BRINIDJA", "Toko Sembako Makmur")
    prepare(world, "Ani")
    assert assert_books(world).payouts_open == 210_000  # closed: instructed, nothing paid yet
    return state, other_id


def feed(world: World, outputs: list[bank.Output]) -> list[reconcile.ImportResult]:
    results = []
    for output in outputs:
        with transaction(world.gateway.factory) as session:
            if output.name.startswith("pain002"):
                results.append(reconcile.import_status(session, output.data, world.now))
            else:
                results.append(reconcile.import_statement(session, output.data, world.now))
        assert_books(world)
    return results


def assert_books(world: World) -> reconcile.Books:
    with transaction(world.gateway.factory) as session:
        books = reconcile.books(session)
        report = run_check(session, world.now)
    assert report.journal_total == 0 and not report.discrepancies
    assert books.ok, books
    return books


def journal_entries(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(func.count()).select_from(JournalEntry)) or 0)


def test_a_rejected_account_returns_the_payout_to_payable(world: World, clock: FakeClock) -> None:
    state, other_id = world_and_bank(world, clock)
    outputs = bank.submit(state, release(world, "Budi").xml, world.now)
    assert [o.name[:7] for o in outputs] == ["pain002", "camt053"]
    report, statement = feed(world, outputs)
    assert report.rejected == [(f"SSN20261118{other_id}", "AC01 account unknown")]
    assert payable(world, other_id) == 140_000  # back to payable, with the bank's reason
    assert statement.paid == [f"SSN20261118{world.shop_id}"]
    assert statement.unmatched == [("APBD 2026-S2", BUDGET)]
    books = assert_books(world)
    assert books.giro_journal == books.giro_bank == BUDGET - 70_000
    assert state.accounts["1234567890"].balance == 70_000

    state.accounts["9876543210"] = bank.Account("BRINIDJA", "Toko B")  # the shop fixes it
    clock.now += 86_400
    [line] = [s for s in close(world, NEXT).shops if s.payout]
    assert (line.shop_id, line.payout) == (other_id, 140_000)
    with transaction(world.gateway.factory) as session:
        payouts.prepare(session, NEXT, "Ani", world.now)
        data = payouts.release(session, NEXT, "Budi", world.now).xml
    feed(world, bank.submit(state, data, world.now))
    assert payable(world, other_id) == 0
    assert assert_books(world).giro_bank == BUDGET - 210_000


def test_a_duplicate_statement_changes_nothing(world: World, clock: FakeClock) -> None:
    state, _ = world_and_bank(world, clock)
    state.faults["duplicate-statement"] = 1
    outputs = bank.submit(state, release(world, "Budi").xml, world.now)
    assert [o.name for o in outputs][1:] == ["camt053-GIRO-000001.xml", "camt053-GIRO-000001-R.xml"]
    feed(world, outputs[:2])
    before = (journal_entries(world), assert_books(world))
    resent, again = feed(world, [outputs[2], outputs[1]])
    assert resent.duplicate and again.duplicate and not resent.paid
    assert (journal_entries(world), assert_books(world)) == before
    with pytest.raises(GatewayError, match="imported already with different content"):
        changed = outputs[1].data.replace(b"<ElctrncSeqNb>1<", b"<ElctrncSeqNb>9<")
        feed(world, [bank.Output("camt053-changed.xml", changed)])


def test_a_partial_execution_and_a_late_statement_settle_later(
    world: World, clock: FakeClock
) -> None:
    state, other_id = world_and_bank(world, clock)
    state.accounts["9876543210"] = bank.Account("BRINIDJA", "Toko B")
    state.faults.update({"partial": 1, "late-statement": 1})
    outputs = bank.submit(state, release(world, "Budi").xml, world.now)
    assert [o.name[:7] for o in outputs] == ["pain002"]  # the statement is late
    [report] = feed(world, outputs)
    assert report.accepted == [f"SSN20261118{world.shop_id}"] and report.rejected == []
    assert assert_books(world).giro_bank is None  # no statement yet: nothing paid
    later = feed(world, bank.statement(state, world.now))
    assert later[-1].paid == sorted([f"SSN20261118{world.shop_id}", f"SSN20261118{other_id}"])
    assert assert_books(world).giro_bank == BUDGET - 210_000


def test_bad_bank_files_change_nothing(world: World, clock: FakeClock) -> None:
    state, _ = world_and_bank(world, clock)
    before = journal_entries(world)
    with transaction(world.gateway.factory) as session:
        with pytest.raises(GatewayError, match="not well-formed"):
            reconcile.import_statement(session, b"<Document", world.now)
        statement = bank.statement(state, world.now)[-1].data
        with pytest.raises(GatewayError, match=r"not a valid camt\.053\.001\.02.*Sts"):
            reconcile.import_statement(
                session, statement.replace(b"<Sts>BOOK</Sts>", b"<Sts>DONE</Sts>"), world.now
            )
        with pytest.raises(GatewayError, match="never released"):
            reconcile.import_status(
                session,
                bank.submit(state, payouts.render(session, DAY).xml, world.now)[0].data,
                world.now,
            )
    assert journal_entries(world) == before
