"""Records are keyed by (id, terminal): an id held by one terminal no longer blocks another's.

Record ids are printed on receipts and terminals upload days later. With the id alone as the key,
a dishonest shop could upload a record of its own under another shop's id first, and that shop's
genuine sale was a "conflict" forever. The voided-once index follows: a void names its original
by id within its own terminal. A small index of accepted blocks by card comes along.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACCEPTED_VOIDS = "voids_record IS NOT NULL AND status = 'accepted'"


def _voids_index(columns: list[str]) -> None:
    op.create_index(
        "ix_records_voids",
        "records",
        columns,
        unique=True,
        sqlite_where=sa.text(_ACCEPTED_VOIDS),
        postgresql_where=sa.text(_ACCEPTED_VOIDS),
    )


def _primary_key(columns: list[str]) -> None:
    op.drop_index("ix_records_voids", table_name="records")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("records_pkey", "records", type_="primary")
        op.create_primary_key("records_pkey", "records", columns)
    else:  # SQLite cannot alter a primary key: the table is copied into the new shape
        # SQLAlchemy warns that the copy's declared key differs from the reflected one: that
        # difference is the point of this step.
        with (
            warnings.catch_warnings(),
            op.batch_alter_table("records", recreate="always") as batch,
        ):
            warnings.filterwarnings("ignore", "Table '_alembic_tmp_records' specifies columns")
            batch.create_primary_key("pk_records", columns)


_ACCEPTED_BLOCKS = "type = 'block' AND status = 'accepted'"


def upgrade() -> None:
    _primary_key(["id", "terminal_id"])
    _voids_index(["terminal_id", "voids_record"])
    # Where each card was blocked: a sale signed before its card's block is still paid.
    op.create_index(
        "ix_records_blocks",
        "records",
        ["card_number"],
        sqlite_where=sa.text(_ACCEPTED_BLOCKS),
        postgresql_where=sa.text(_ACCEPTED_BLOCKS),
    )


def downgrade() -> None:
    op.drop_index("ix_records_blocks", table_name="records")
    _primary_key(["id"])
    _voids_index(["voids_record"])
