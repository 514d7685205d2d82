"""Held sales released to their shop by two operators (host_gateway/releases.py), and an index
of the held sales they review.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

HELD_SALES = "type = 'sale' AND status <> 'accepted'"


def upgrade() -> None:
    op.create_table(
        "held_releases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.LargeBinary(16), nullable=False, unique=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.String(20), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", sa.BigInteger(), nullable=True),
    )
    op.create_index(
        "ix_records_held",
        "records",
        ["terminal_time"],
        sqlite_where=sa.text(HELD_SALES),
        postgresql_where=sa.text(HELD_SALES),
    )


def downgrade() -> None:
    op.drop_index("ix_records_held", table_name="records")
    op.drop_table("held_releases")
