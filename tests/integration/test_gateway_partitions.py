"""Month partitions on PostgreSQL (migration 0007, host_gateway/partitions.py): a database that
already holds records is partitioned without losing one, sales go on across a month boundary
into the next month's partition, a month not yet created is caught by the default partition
and moved out by `partitions ensure`, the keys of exactly-once still hold across months, and
the way back to 0005 gives the old tables with their unique indexes."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, Engine, text

from host_gateway import day_sales, distribution, loads, partitions
from host_gateway.check import run_check
from host_gateway.cli import main as gateway_main
from host_gateway.db import (
    bulk_insert,
    downgrade,
    make_engine,
    migrate,
    session_factory,
    transaction,
)
from host_gateway.gateway import Gateway
from host_gateway.ingest.clock import CardTimeline
from host_gateway.models import RecordId
from host_gateway.pki import create_issuer_keys
from ledger.cardproofs import LoadAuthorization
from ledger.record import Record
from tests.factories import T0, FakeCard
from tests.fixtures.gateway import OIL_1L, PASSPHRASE, FakeClock, World, load_record, void_record

DECEMBER = partitions.month_start(2026, 12)
JUNE_2027 = partitions.month_start(2027, 6)


def _world_at_0005(url: str, clock: FakeClock) -> World:
    engine = make_engine(url)
    try:
        migrate(engine, "0005")
        with transaction(session_factory(engine)) as session:
            keys = create_issuer_keys(session, PASSPHRASE, clock.now)
            distribution.publish_config(session, keys, distribution.DEFAULT_CONFIG, clock.now)
    finally:
        engine.dispose()
    gateway = Gateway.open(url, PASSPHRASE, workers=0, clock=clock, run_migrations=False)
    return World(gateway).setup()


def _funded_card(world: World) -> FakeCard:
    """A card with an applied load that lasts into 2028 (the test sells into mid-2027)."""
    card = world.card()
    with transaction(world.gateway.factory) as session:
        load = loads.create_load(
            session,
            world.gateway.keys,
            card_number=card.number,
            program="APBD",
            amount=10_000_000,
            expiry=dt.date(2028, 12, 31),
            now=world.now,
        )
        authorization = LoadAuthorization.decode(load.authorization)
    report = world.ingest([load_record(world.terminal, card, authorization, world.now)])
    assert report.results[0].status == "accepted", report.results[0]
    return card


def _sell(world: World, cards: list[FakeCard], rounds: int) -> list[Record]:
    """``rounds`` sales on every card, stamped with the host's clock, in one batch."""
    sales = [
        world.terminal.sell(card, (OIL_1L,), time=world.now)
        for _ in range(rounds)
        for card in cards
    ]
    report = world.ingest(sales)
    assert [r.status for r in report.results] == ["accepted"] * len(sales), report.results
    return sales


def _snapshot(connection: Connection) -> dict[str, object]:
    """Everything the money depends on, to compare before and after."""
    return {
        "records": sorted(
            connection.execute(
                text("SELECT terminal_id, id, seq, content_hash, status, received_at FROM records")
            ).all()
        ),
        "entries": sorted(connection.execute(text("SELECT id, at, kind FROM journal_entries"))),
        "lines": sorted(
            connection.execute(text("SELECT id, entry_id, account, amount FROM journal_lines"))
        ),
        "accounts": sorted(connection.execute(text("SELECT code, balance FROM accounts"))),
    }


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def _books_clean(world: World) -> None:
    with transaction(world.gateway.factory) as session:
        report = run_check(session, world.now)
    assert report.ok, report
    assert report.journal_total == 0


def test_a_database_with_records_is_partitioned_and_sales_go_on_across_months(
    pg_schema_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(T0 - 600)
    world = _world_at_0005(pg_schema_url, clock)
    engine = world.gateway.engine
    try:
        clock.now = T0
        with monkeypatch.context() as before_0011:  # ingest kept no day totals then
            before_0011.setattr(day_sales, "add", lambda *args: None)
            # nor PIN-unblock orders (0010): none to date a card by
            before_0011.setattr(CardTimeline, "_fetch_unblocks", lambda *args: None)
            cards = [_funded_card(world) for _ in range(3)]
            november = _sell(world, cards, 4)
            sale = world.terminal.sell(cards[0], (OIL_1L,), time=world.now)
            void, _ = void_record(world.terminal, cards[0], sale, world.now)
            assert [r.status for r in world.ingest([sale, void]).results] == ["accepted"] * 2
        with engine.connect() as connection:
            before = _snapshot(connection)
        assert len(before["records"]) == 3 + len(november) + 2  # type: ignore[arg-type]

        migrate(engine)

        with engine.connect() as connection:
            assert _snapshot(connection) == before  # every row kept, byte for byte
        held = len(before["records"])  # type: ignore[arg-type]
        assert _count(engine, "records_2026_11") == held
        assert _count(engine, "record_ids") == held
        assert _count(engine, "journal_entries_2026_11") == _count(engine, "journal_entries")
        assert _count(engine, "records_default") == 0
        assert _count(engine, "day_sales") == 1  # 0011 filled the day totals (check compares)
        _books_clean(world)

        # A retried batch is answered from storage: nothing posted twice.
        again = world.ingest(november)
        assert all(r.duplicate and r.status == "accepted" for r in again.results)

        # Across the month boundary: the last minute of November and the first of December.
        clock.now = DECEMBER - 60
        _sell(world, cards, 1)
        clock.now = DECEMBER + 60
        december = _sell(world, cards, 2)
        assert _count(engine, "records_2026_12") == len(december)
        assert _count(engine, "journal_entries_2026_12") == len(december)
        assert _count(engine, "journal_lines_2026_12") == 2 * len(december)
        voided_again, _ = void_record(world.terminal, cards[0], sale, world.now)
        refused = world.ingest([voided_again]).results[0]
        assert (refused.status, refused.code) == ("rejected", "void_twice")

        # A month nobody created: the default partition keeps the sale; ensure moves it out.
        clock.now = JUNE_2027 + 3600
        june = _sell(world, cards[:1], 1)
        assert _count(engine, "records_default") == len(june)
        with transaction(world.gateway.factory) as session:
            created = partitions.ensure(session.connection(), world.now, 0)
        assert "records_2027_06" in created
        assert _count(engine, "records_default") == 0
        assert _count(engine, "records_2027_06") == len(june)
        assert _count(engine, "journal_entries_2027_06") == len(june)
        assert _cli(pg_schema_url, "partitions", "ensure", "--months", "0")["created"] == []
        _books_clean(world)
        total = _count(engine, "records")
        assert _count(engine, "record_ids") == total

        # The database keeps the key across months: the same record id in another month's
        # partition is refused by record_ids, whatever the application does.
        with pytest.raises(UniqueViolation), transaction(world.gateway.factory) as session:
            rows = partitions.record_ids(
                [
                    {
                        "terminal_id": world.terminal.terminal_id,
                        "id": november[0].id.bytes,
                        "seq": 10_000,
                        "in_chain": False,
                        "voids_record": None,
                        "status": "rejected",
                        "received_at": DECEMBER + 120,
                    }
                ]
            )
            bulk_insert(session, RecordId, rows)

        # And back: plain tables, unique indexes again, every row still there.
        with engine.connect() as connection:
            after = _snapshot(connection)
        downgrade(engine, "0005")
        with engine.connect() as connection:
            assert _snapshot(connection) == after
            unique = connection.execute(
                text(
                    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " WHERE i.indrelid = 'records'::regclass AND i.indisunique"
                    " ORDER BY c.relname"
                )
            ).scalars()
            assert list(unique) == ["ix_records_chain", "ix_records_voids", "records_pkey"]
            assert connection.scalar(text("SELECT to_regclass('record_ids')")) is None
        migrate(engine)
        assert _count(engine, "records") == total == _count(engine, "record_ids")
        _books_clean(world)
    finally:
        world.gateway.close()


def _cli(url: str, *args: str) -> dict[str, object]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert gateway_main([*args, "--db", url, "--json"]) == 0
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_sqlite_has_no_partitions(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            assert partitions.ensure(connection, T0) == []
            assert (
                connection.scalar(
                    text("SELECT count(*) FROM sqlite_master WHERE name = 'record_ids'")
                )
                == 0
            )
    finally:
        engine.dispose()
    assert _cli(sqlite_url, "partitions", "ensure") == {"partitioned": False, "created": []}
