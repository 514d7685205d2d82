"""A card's history is found through ``ix_records_card`` (migration 0014), not by reading every
record: the index is there after the migrations on SQLite and on month-partitioned PostgreSQL
(on every partition, also one created later), and the very query ``cardview.history`` sends is
planned on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event, inspect, text

from host_gateway import cardview, partitions
from host_gateway.db import transaction
from tests.fixtures.gateway import World

INDEX = "ix_records_card"


@contextmanager
def _statements(world: World) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the gateway's engine sends meanwhile, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    engine = world.gateway.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _history_query(world: World, number: str) -> tuple[str, Any]:
    """The records query of a card's history, as the code sends it."""
    with _statements(world) as sent, transaction(world.gateway.factory) as session:
        past = cardview.history(session, number)
    assert len(past["records"]) == 3
    [found] = [(s, p) for s, p in sent if "FROM records" in s]
    return found


def _plan_indexes(connection: Connection, statement: str, parameters: Any) -> set[str]:
    """The indexes a PostgreSQL plan of ``statement`` scans records with (a partition's index
    named by the partitioned index it belongs to); a sequential scan of records is ``seq``."""
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    cursor = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
    raw = cursor.scalar()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        relation = str(node.get("Relation Name", ""))
        if relation.startswith("records"):
            name = node.get("Index Name")
            if name is None:
                found.add("seq")
            elif "card_number" not in str(node.get("Index Cond", "")):
                found.add(f"{name} (no card condition)")
            else:
                parent = connection.scalar(
                    text(
                        "SELECT p.relname FROM pg_inherits i JOIN pg_class p"
                        " ON p.oid = i.inhparent WHERE i.inhrelid = CAST(:n AS regclass)"
                    ),
                    {"n": name},
                )
                found.add(parent or name)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _cards_history(world: World) -> str:
    card = world.funded_card()
    world.ingest([world.terminal.sell(card), world.terminal.sell(card)])
    other = world.funded_card()
    world.ingest([world.terminal.sell(other)])
    return card.number


def test_a_card_s_history_is_read_through_its_index(world: World) -> None:
    number = _cards_history(world)
    statement, parameters = _history_query(world, number)
    engine = world.gateway.engine
    with engine.connect() as connection:
        indexes = {
            ix["name"]: ix["column_names"] for ix in inspect(connection).get_indexes("records")
        }
        assert indexes[INDEX] == ["card_number", "card_counter"]
        if engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            details = " ".join(str(row[-1]) for row in plan)
            assert f"USING INDEX {INDEX} (card_number=?)" in details, details
            return
        assert partitions.is_partitioned(connection)
        assert _plan_indexes(connection, statement, parameters) == {INDEX}


def test_a_month_partition_created_later_has_the_index(pg_schema_url: str) -> None:
    from tests.fixtures.gateway import FakeClock, open_gateway

    clock = FakeClock()
    gateway = open_gateway(pg_schema_url, clock)
    try:
        with transaction(gateway.factory) as session:
            far = partitions.month_start(2031, 1)
            created = partitions.ensure(session.connection(), far, 0, far)
        assert "records_2031_01" in created
        with gateway.engine.connect() as connection:
            attached = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_inherits i"
                    " JOIN pg_class ix ON ix.oid = i.inhrelid"
                    " JOIN pg_index x ON x.indexrelid = ix.oid"
                    " WHERE i.inhparent = CAST(:parent AS regclass)"
                    " AND x.indrelid = CAST('records_2031_01' AS regclass)"
                ),
                {"parent": INDEX},
            )
        assert attached == 1
    finally:
        gateway.close()


@contextmanager
def _driver_statements(world: World) -> Iterator[list[str]]:
    """Every statement SQLite runs meanwhile, with its values in (ingest's hot SQL goes straight
    to the driver, past SQLAlchemy's events)."""
    sent: list[str] = []
    engine = world.gateway.engine

    def checkout(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.set_trace_callback(sent.append)

    def checkin(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield sent
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


def test_ingest_finds_a_card_s_counter_by_card_and_counter(sqlite_world: World) -> None:
    # A (card, time) index looked as good as the primary key to SQLite for joining a card's
    # counter to its record, and ingest then read all of the card's records for every sale:
    # catching up 10,000 records of one card took 27 s instead of 2.
    world = sqlite_world
    card = world.funded_card()
    world.ingest([world.terminal.sell(card) for _ in range(3)])
    with _driver_statements(world) as sent:
        world.ingest([world.terminal.sell(card), world.terminal.sell(card)])
    reads = [s for s in sent if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert any("card_transactions" in s for s in reads), "the time rules' look-up was seen"
    card_only = []
    with world.gateway.engine.connect() as connection:
        for statement in reads:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement)
            card_only += [
                str(r[-1]) for r in plan if str(r[-1]).endswith(f"{INDEX} (card_number=?)")
            ]
    assert card_only == [], "a card's records read by card alone, inside ingest"
