"""The last leg: payout file to the simulated bank, its pain.002 and camt.053 back, each payout
reconciled; the journal sums to zero and its giro account equals the bank's statement balance
after every step. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from host_gateway import postings
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import JournalEntry
from host_gateway.settlement import bankfiles, payouts, reconcile
from host_gateway.settlement.models import BankStatement, PayoutItem
from simulators.bank import bank, messages
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


def money_state(world: World) -> tuple[list[tuple[str, str]], int, int]:
    """Each payout's status, the journal's entry count, what the payout account holds."""
    with transaction(world.gateway.factory) as session:
        items = session.execute(
            select(PayoutItem.end_to_end_id, PayoutItem.status).order_by(PayoutItem.end_to_end_id)
        ).all()
    return [(i, s) for i, s in items], journal_entries(world), assert_books(world).payout_account


XXE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE Document [<!ENTITY leak SYSTEM "file:///etc/hostname">]>\n'
)

# Each a pain.002.001.03 the schema refuses; every one of them was read before (nothing checked
# the parts the host does not use, nor anything in a DTD).
BAD_PAIN002 = {
    "a mandatory element missing": (
        (b"<OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>", b""),
        r"OrgnlGrpInfAndSts/OrgnlMsgNmId is missing",
    ),
    "an element of another namespace": (
        (b"</CreDtTm>", b'</CreDtTm><x:Note xmlns:x="urn:example:evil">paid</x:Note>'),
        r"GrpHdr does not allow \{urn:example:evil\}Note",
    ),
    "the whole file in another namespace": (
        (b"pain.002.001.03", b"pain.002.001.02"),
        r"not urn:iso:std:iso:20022:tech:xsd:pain\.002\.001\.03",
    ),
    "an unknown element": (
        (b"<TxSts>RJCT</TxSts>", b"<TxSts>RJCT</TxSts><Paid>true</Paid>"),
        r"TxInfAndSts does not allow .*Paid",
    ),
    "elements out of order": (
        (b"<TxSts>RJCT</TxSts>", b"<TxSts>RJCT</TxSts><OrgnlInstrId>X</OrgnlInstrId>"),
        r"TxInfAndSts does not allow .*OrgnlInstrId",
    ),
    "a transaction status outside TransactionIndividualStatus3Code": (
        (b"<TxSts>RJCT</TxSts>", b"<TxSts>PAID</TxSts>"),
        r"TxSts 'PAID' is not a valid TxSts",
    ),
    "a group status outside TransactionGroupStatus3Code": (
        (b"<GrpSts>PART</GrpSts>", b"<GrpSts>DONE</GrpSts>"),
        r"GrpSts 'DONE' is not a valid GrpSts",
    ),
    "a reason code longer than ExternalStatusReason1Code": (
        (b"<Cd>AC01</Cd>", b"<Cd>AC01X</Cd>"),
        r"Cd 'AC01X' is not a valid Cd",
    ),
    "a creation time that is no ISODateTime": (
        (b"<CreDtTm>", b"<CreDtTm>yesterday"),
        r"CreDtTm .* is not a valid CreDtTm",
    ),
    "an attribute": (
        (b"<TxSts>", b'<TxSts paid="yes">'),
        r"TxSts has attributes",
    ),
    "an external entity (XXE)": (
        (b"<AddtlInf>", b"<AddtlInf>&leak;"),
        r"DOCTYPE .* not allowed",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PAIN002))
def test_a_pain002_the_schema_refuses_changes_nothing(
    world: World, clock: FakeClock, case: str
) -> None:
    state, other_id = world_and_bank(world, clock)
    good = bank.submit(state, release(world, "Budi").xml, world.now)[0].data
    (old, new), error = BAD_PAIN002[case]
    assert old in good
    bad = good.replace(old, new, 1)
    if case.startswith("an external entity"):
        bad = XXE + bad.split(b"\n", 1)[1]
    before = money_state(world)
    assert before[0] == [
        (f"SSN20261118{world.shop_id}", "released"),
        (f"SSN20261118{other_id}", "released"),
    ]
    with (
        pytest.raises(GatewayError, match=error) as refused,
        transaction(world.gateway.factory) as session,
    ):
        reconcile.import_file(session, bad, world.now)
    assert refused.value.code == "invalid_file"
    assert money_state(world) == before  # nothing paid, rejected, accepted or posted
    assert payable(world, other_id) == 0
    with transaction(world.gateway.factory) as session:  # and not remembered as imported
        assert session.scalar(select(func.count()).select_from(BankStatement)) == 0

    [report] = feed(world, [bank.Output("pain002-good.xml", good)])  # the bank's own still works
    assert report.rejected == [(f"SSN20261118{other_id}", "AC01 account unknown")]
    assert report.accepted == [f"SSN20261118{world.shop_id}"]
    assert payable(world, other_id) == 140_000


def test_the_simulated_bank_writes_every_status_a_pain002_allows(
    world: World, clock: FakeClock
) -> None:
    """The simulator's report passes the check for settled, rejected (with and without the
    reason's text) and pending transfers; every transaction status code of the schema is read."""
    when = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)
    statuses = [
        messages.Status("E1", "ACSC"),
        messages.Status("E2", "RJCT", "AC04", "account closed"),
        messages.Status("E3", "RJCT", "AM04"),
        messages.Status("E4", "PDNG"),
    ]
    report = bankfiles.read_pain002(messages.pain002("M1", "O1", when, statuses))
    assert [(s.end_to_end_id, s.status, s.reason) for s in report.statuses] == [
        ("E1", "ACSC", ""),
        ("E2", "RJCT", "AC04 account closed"),
        ("E3", "RJCT", "AM04"),
        ("E4", "PDNG", ""),
    ]
    for code in bankfiles.STATUSES:
        data = messages.pain002("M1", "O1", when, [messages.Status("E1", code)])
        assert bankfiles.read_pain002(data).statuses[0].status == code
