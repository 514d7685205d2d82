"""Month partitions of the journal tables on PostgreSQL (SQLite: none; nothing here runs).

What grows with every sale is partitioned by month (WITA), so settlement, the console and
``check`` read one month without the others, and an old month can be detached and archived:

- ``records`` by the host's receive time (``received_at``): a terminal's clock is a claim, the
  host's is not;
- ``journal_entries`` and ``journal_lines`` by the entry's id, a UUIDv7 whose time is the
  posting's host time (:mod:`host_gateway.postings`): an entry and its lines land in one month
  and the lines need no time column of their own.

A primary key or unique index of a partitioned table must contain the partition key, so the
uniqueness exactly-once ingest relies on across all time (a record id per terminal, one record
per chain position, one void per sale) is kept by the small unpartitioned ``record_ids`` table,
written in the same transaction as ``records`` (migration 0007, docs/scaling.md).

Each table also has a default partition, so a row outside every month (a clock far off, months
not yet created) is still stored: :func:`ensure` moves such rows into their month when it
creates it. ``ssn-gateway partitions ensure`` and ``serve`` create the months ahead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from ledger.verify import WITA

MONTHS_AHEAD = 3
"""Months created beyond the current one at serve start (and by default by the command)."""
ENSURE_LOCK_ID = 0x55534E07
"""Advisory lock: two gateways ensuring at once do not both create a month."""


def month_start(year: int, month: int) -> int:
    """Unix seconds at the start of a WITA month (month may run past 12: it carries)."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return int(dt.datetime(year, month, 1, tzinfo=WITA).timestamp())


def month_of(unix_seconds: int) -> tuple[int, int]:
    day = dt.datetime.fromtimestamp(unix_seconds, WITA)
    return day.year, day.month


def entry_id_floor(unix_seconds: int) -> bytes:
    """The lowest journal entry id posted at ``unix_seconds`` or later (UUIDv7 time order)."""
    return (unix_seconds * 1000 << 80).to_bytes(16, "big")


def _seconds(unix_seconds: int) -> str:
    return str(unix_seconds)


def _entry_id(unix_seconds: int) -> str:
    return f"'\\x{entry_id_floor(unix_seconds).hex()}'::bytea"


@dataclass(frozen=True)
class Partitioned:
    table: str
    column: str
    """The partition key."""
    bound: Callable[[int], str]
    """The key's SQL literal at a month's start (unix seconds)."""


TABLES = (
    Partitioned("records", "received_at", _seconds),
    Partitioned("journal_entries", "id", _entry_id),
    Partitioned("journal_lines", "entry_id", _entry_id),
)
MOVED_UNIQUE_INDEXES = {"ix_records_chain", "ix_records_voids"}
"""Unique on SQLite; on PostgreSQL plain per partition, their uniqueness kept by record_ids."""


def partition_name(table: str, year: int, month: int) -> str:
    return f"{table}_{year:04d}_{month:02d}"


def is_partitioned(connection: Connection) -> bool:
    """Whether this database has the partitioned layout (PostgreSQL from migration 0007 on;
    asked of the database, so code newer than the schema writes what the schema has)."""
    if connection.dialect.name != "postgresql":
        return False
    return connection.scalar(text("SELECT to_regclass('record_ids')")) is not None


def ensure(
    connection: Connection, now: int, months_ahead: int = MONTHS_AHEAD, since: int | None = None
) -> list[str]:
    """Create the month partitions from ``since``'s month (default: ``now``'s) to
    ``months_ahead`` after ``now``'s, those missing; returns the names created. Rows the
    default partition holds for a month created are moved into it, in the caller's
    transaction."""
    if not is_partitioned(connection):
        return []
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ENSURE_LOCK_ID})
    year, month = month_of(now if since is None else min(since, now))
    last_year, last_month = month_of(now)
    count = (last_year - year) * 12 + last_month - month + months_ahead + 1
    created = []
    for step in range(count):
        start, end = month_start(year, month + step), month_start(year, month + step + 1)
        y, m = month_of(start)
        for spec in TABLES:
            name = partition_name(spec.table, y, m)
            if connection.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is None:
                _create(connection, spec, name, start, end)
                created.append(name)
    return created


def _create(connection: Connection, spec: Partitioned, name: str, start: int, end: int) -> None:
    table, column = spec.table, spec.column
    lower, upper = spec.bound(start), spec.bound(end)
    in_range = f"{column} >= {lower} AND {column} < {upper}"
    default = f"{table}_default"
    stray = connection.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_range})"))
    if stray:  # a new partition may not overlap rows the default partition holds
        connection.execute(text(f"CREATE TEMPORARY TABLE moving (LIKE {table})"))
        connection.execute(
            text(
                f"WITH out AS (DELETE FROM {default} WHERE {in_range} RETURNING *)"
                " INSERT INTO moving SELECT * FROM out"
            )
        )
    connection.execute(
        text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({lower}) TO ({upper})")
    )
    if stray:
        connection.execute(text(f"INSERT INTO {table} SELECT * FROM moving"))
        connection.execute(text("DROP TABLE moving"))


def record_ids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``record_ids`` rows of ``records`` rows about to be written (an accepted void names
    its sale; only accepted voids may not repeat)."""
    return [
        {
            "terminal_id": r["terminal_id"],
            "id": r["id"],
            "seq": r["seq"],
            "in_chain": r["in_chain"],
            "voids_record": r["voids_record"] if r["status"] == "accepted" else None,
            "received_at": r["received_at"],
        }
        for r in records
    ]


def compare_filter(dialect: str) -> Callable[..., bool]:
    """For alembic's compare_metadata: what is meant to differ from the models on ``dialect``
    (the partitions themselves, the two record indexes whose uniqueness record_ids keeps on
    PostgreSQL, and record_ids on SQLite)."""
    partition = re.compile(
        "^(" + "|".join(spec.table for spec in TABLES) + r")_(\d{4}_\d{2}|default)$"
    )

    def include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if kind == "table" and dialect == "postgresql":
            return not (reflected and compare_to is None and partition.match(name or ""))
        if kind == "table":
            return not obj.info.get("postgresql_only", False)
        if kind == "index" and dialect == "postgresql":
            return name not in MOVED_UNIQUE_INDEXES
        return True

    return include


def listing(connection: Connection) -> list[dict[str, Any]]:
    """Every partition of the partitioned tables with its bounds and estimated rows."""
    if not is_partitioned(connection):
        return []
    rows = connection.execute(
        text(
            "SELECT parent.relname, child.relname, pg_get_expr(child.relpartbound, child.oid),"
            " child.reltuples::bigint FROM pg_inherits i"
            " JOIN pg_class parent ON parent.oid = i.inhparent"
            " JOIN pg_class child ON child.oid = i.inhrelid"
            " WHERE parent.relname = ANY(:tables) AND pg_table_is_visible(parent.oid)"
            " ORDER BY parent.relname, child.relname"
        ),
        {"tables": [spec.table for spec in TABLES]},
    )
    return [
        {"table": t, "partition": p, "bounds": b, "rows_estimate": max(int(n), 0)}
        for t, p, b, n in rows
    ]
