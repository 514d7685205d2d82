"""The day's sales per shop and program, kept by ingest for the dashboard, filled here from the
records already held (host_gateway/day_sales.py).

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None

_DAY = "(r.received_at + 28800) / 86400 * 86400 - 28800"
"""00:00 WITA of the receive day, in integer arithmetic both databases share (no summer time)."""

_ACCEPTED = "r.status = 'accepted' AND r.type IN ('sale', 'void')"


def upgrade() -> None:
    op.create_table(
        "day_sales",
        sa.Column("day", sa.BigInteger(), primary_key=True),
        sa.Column("shop_id", sa.String(20), primary_key=True),
        sa.Column("sales", sa.BigInteger(), nullable=False),
        sa.Column("voids", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "day_program_sales",
        sa.Column("day", sa.BigInteger(), primary_key=True),
        sa.Column("shop_id", sa.String(20), primary_key=True),
        sa.Column("purse_code", sa.String(4), primary_key=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
    )
    # The same figures the dashboard computed from the records (one pass each; on PostgreSQL
    # the partitioned records table reads like any other).
    op.execute(
        "INSERT INTO day_sales (day, shop_id, sales, voids)"
        f" SELECT {_DAY}, t.shop_id,"
        " SUM(CASE WHEN r.type = 'sale' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN r.type = 'void' THEN 1 ELSE 0 END)"
        " FROM records r JOIN terminals t ON t.id = r.terminal_id"
        f" WHERE {_ACCEPTED} GROUP BY {_DAY}, t.shop_id"
    )
    op.execute(
        "INSERT INTO day_program_sales (day, shop_id, purse_code, amount)"
        f" SELECT {_DAY}, t.shop_id, p.purse_code, SUM(-p.delta)"
        " FROM records r JOIN terminals t ON t.id = r.terminal_id"
        " JOIN purse_proofs p ON p.card_number = r.card_number AND p.counter = r.card_counter"
        f" WHERE {_ACCEPTED} GROUP BY {_DAY}, t.shop_id, p.purse_code"
    )


def downgrade() -> None:
    op.drop_table("day_program_sales")
    op.drop_table("day_sales")
