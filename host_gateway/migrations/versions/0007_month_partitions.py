"""Month partitions of records and the journal on PostgreSQL; SQLite: nothing changes.

``records`` is range-partitioned by month on the host's receive time, ``journal_entries`` and
``journal_lines`` on the entry id (a UUIDv7 whose time is the posting's time), each with a
default partition for rows outside every month (host_gateway/partitions.py, docs/scaling.md).
Done on a database that holds data: each table is renamed aside, an empty partitioned table of
the same columns takes its name with the same indexes, the months from its oldest row to three
ahead are created, the rows are copied over and the old table is dropped, in one transaction.

A unique index of a partitioned table must contain the partition key, so the keys that exactly
once rests on across all time move to a small unpartitioned table, ``record_ids``: one row per
record with (terminal, id) as its primary key, one in-chain record per (terminal, seq) and one
accepted void per (terminal, sale). On the partitioned ``records`` those two indexes stay, not
unique, for the lookups they serve.

Revision ID: 0007
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import re
import time

import sqlalchemy as sa
from alembic import op

from host_gateway import partitions

revision = "0007"
down_revision = "0010"
branch_labels = None
depends_on = None

PRIMARY_KEYS = {
    "records": ["id", "terminal_id"],
    "journal_entries": ["id"],
    "journal_lines": ["id"],
}
"""The primary keys before this revision; partitioned, each also holds the partition key."""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _create_record_ids()
    since = int(time.time())
    for spec in partitions.TABLES:
        oldest = _oldest(spec)
        since = min(since, oldest) if oldest is not None else since
        key = PRIMARY_KEYS[spec.table]
        key = key if spec.column in key else [*key, spec.column]
        _rebuild(spec.table, f"PARTITION BY RANGE ({spec.column})", key, False)
        op.execute(f"CREATE TABLE {spec.table}_default PARTITION OF {spec.table} DEFAULT")
    partitions.ensure(bind, int(time.time()), partitions.MONTHS_AHEAD, since)
    for spec in partitions.TABLES:
        _copy_and_drop(spec.table)
    _fill_record_ids()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("record_ids")
    for spec in partitions.TABLES:
        _rebuild(spec.table, "", PRIMARY_KEYS[spec.table], True)
        _copy_and_drop(spec.table)


def _oldest(spec: partitions.Partitioned) -> int | None:
    """Unix seconds of the table's oldest partition key."""
    query = f"SELECT {spec.column} FROM {spec.table} ORDER BY {spec.column} LIMIT 1"
    value = op.get_bind().scalar(sa.text(query))
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return int.from_bytes(bytes(value)[:6], "big") // 1000  # a UUIDv7's milliseconds


def _rebuild(table: str, partitioning: str, key: list[str], unique_again: bool) -> None:
    """Put ``table`` aside as ``{table}_old`` and create an empty one of the same columns,
    defaults, indexes and sequences under its name, partitioned as said."""
    bind = op.get_bind()
    old = f"{table}_old"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    indexes = bind.execute(
        sa.text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary"
        ),
        {"t": old},
    ).all()
    for name, _, _ in indexes:
        op.execute(f"DROP INDEX {name}")
    op.execute(f"ALTER TABLE {old} DROP CONSTRAINT {table}_pkey")
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) {partitioning}")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({', '.join(key)})")
    for name, definition, unique in indexes:
        if unique and name not in partitions.MOVED_UNIQUE_INDEXES:
            raise RuntimeError(f"unique index {name} of {table}: its guarantee has no home")
        sql = re.sub(r" ON (ONLY )?\S+ USING ", f" ON {table} USING ", definition)
        if unique:
            sql = sql.replace("CREATE UNIQUE INDEX", "CREATE INDEX", 1)
        elif unique_again and name in partitions.MOVED_UNIQUE_INDEXES:
            sql = sql.replace("CREATE INDEX", "CREATE UNIQUE INDEX", 1)
        op.execute(sql)
    for (column,) in bind.execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = :t"
        ),
        {"t": old},
    ):
        sequence = bind.scalar(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": old, "c": column}
        )
        if sequence is not None:  # the id sequence goes on with the new table
            op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{column}")


def _copy_and_drop(table: str) -> None:
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}_old")
    op.execute(f"DROP TABLE {table}_old")


def _create_record_ids() -> None:
    op.create_table(
        "record_ids",
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("in_chain", sa.Boolean(), nullable=False),
        sa.Column("voids_record", sa.LargeBinary(length=16), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "id"),
    )


def _fill_record_ids() -> None:
    op.execute(
        "INSERT INTO record_ids (terminal_id, id, seq, in_chain, voids_record, received_at)"
        " SELECT terminal_id, id, seq, in_chain,"
        " CASE WHEN status = 'accepted' THEN voids_record END, received_at FROM records"
    )
    op.create_index(
        "ix_record_ids_chain",
        "record_ids",
        ["terminal_id", "seq"],
        unique=True,
        postgresql_where=sa.text("in_chain"),
    )
    op.create_index(
        "ix_record_ids_voids",
        "record_ids",
        ["terminal_id", "voids_record"],
        unique=True,
        postgresql_where=sa.text("voids_record IS NOT NULL"),
    )
