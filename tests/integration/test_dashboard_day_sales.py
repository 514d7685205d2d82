"""The dashboard's sales today come from the day totals ingest keeps (host_gateway/day_sales.py):
after sales at two shops, cancellations, loads, a record sent twice in one batch, a retried
batch, a refused void and a day boundary, they equal what the records and the card-signed
movements say (the query the dashboard ran before), on the page too, and ``check`` is clean.
SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from host_gateway import day_sales, shops
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.display import start_of_day
from host_gateway.models import PurseProof, StoredRecord
from host_gateway.web import dashboard
from tests.fixtures.console import sign_in
from tests.fixtures.gateway import FakeClock, World, load_record, void_record

DAY = 86_400


def _from_records(session: Session, now: int) -> tuple[int, int, dict[str, int]]:
    """Sales, cancellations and money per program received today, from the records: the
    dashboard's own query before the day totals."""
    start = start_of_day(now)
    today = and_(
        StoredRecord.received_at >= start,
        StoredRecord.received_at < start + DAY,
        StoredRecord.status == "accepted",
        StoredRecord.type.in_(("sale", "void")),
    )
    counts = dict(
        session.execute(
            select(StoredRecord.type, func.count()).where(today).group_by(StoredRecord.type)
        ).all()
    )
    money = session.execute(
        select(PurseProof.purse_code, func.sum(-PurseProof.delta))
        .join(
            StoredRecord,
            and_(
                PurseProof.card_number == StoredRecord.card_number,
                PurseProof.counter == StoredRecord.card_counter,
            ),
        )
        .where(today)
        .group_by(PurseProof.purse_code)
    )
    amounts = {code: int(total) for code, total in money if total}
    return int(counts.get("sale", 0)), int(counts.get("void", 0)), amounts


def _agree(world: World) -> dashboard.Dashboard:
    with transaction(world.gateway.factory) as session:
        shown = dashboard.load(session, world.now)
        shown_money = {p.program: p.sales_today for p in shown.programs if p.sales_today}
        assert (shown.sales_count, shown.voids_count, shown_money) == _from_records(
            session, world.now
        )
        assert day_sales.disagreements(session) == []
        report = run_check(session, world.now)
    assert report.ok, report
    assert report.journal_total == 0
    return shown


def test_day_totals_equal_the_records(world: World, clock: FakeClock, console: TestClient) -> None:
    first = world.funded_card()
    second = world.funded_card()
    with transaction(world.gateway.factory) as session:
        other_shop = shops.add_shop(session, "e-Warong Sidodadi", "ewarong", world.now).id
    elsewhere = world.enroll(other_shop)

    # Day one: sales with a BZNS load in the same batch, one record sent twice in it.
    bzns = load_record(world.terminal, second, world.authorize(second, 50_000, "BZNS"), world.now)
    batch = [world.terminal.sell(first, time=world.now) for _ in range(3)]
    batch = [batch[0], bzns, batch[1], batch[1], batch[2]]
    report = world.ingest(batch)
    assert [r.status for r in report.results] == ["accepted"] * 5
    assert report.results[3].duplicate
    void, _ = void_record(world.terminal, first, batch[4], world.now)
    assert world.ingest([void]).results[0].status == "accepted"
    again, _ = void_record(world.terminal, first, batch[4], world.now)
    refused = world.ingest([again]).results[0]
    assert (refused.status, refused.code) == ("rejected", "void_twice")
    day_one = _agree(world)
    assert (day_one.sales_count, day_one.voids_count, day_one.sales_today) == (3, 1, 140_000)

    # Day two (after 00:00 WITA): two shops; the first shop's batch is retried whole.
    clock.now = start_of_day(world.now) + DAY + 60
    here = [world.terminal.sell(second, time=world.now) for _ in range(2)]
    there = [elsewhere.sell(first, time=world.now)]
    assert all(r.status == "accepted" for r in world.ingest(here).results)
    assert all(r.status == "accepted" for r in world.ingest(there, elsewhere).results)
    retried = world.ingest(here).results
    assert all(r.duplicate and r.status == "accepted" for r in retried)
    void, _ = void_record(elsewhere, first, there[0], world.now)
    assert world.ingest([void], elsewhere).results[0].status == "accepted"
    day_two = _agree(world)
    assert (day_two.sales_count, day_two.voids_count, day_two.sales_today) == (3, 1, 140_000)

    # What the operator sees.
    assert sign_in(console, "auditor") == 303
    page = console.get("/console/").text
    assert 'id="sales-today">Rp140.000<' in page
    assert "3 transaksi, 1 batal" in page
