"""Settlement: closed business-day windows, the journal entries each one settled, per shop what
it owed, held and paid, shop bank accounts, the giro parent account, payout instructions and
their items, imported bank files.

Revision ID: 0006
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_windows",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("business_date", sa.Date(), nullable=False, unique=True),
        sa.Column("cutoff", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=False),
        sa.Column("suspense", sa.Text(), nullable=False),
    )
    op.create_table(
        "settlement_entries",
        sa.Column("entry_id", sa.LargeBinary(16), primary_key=True),
        sa.Column("window_id", sa.Integer(), nullable=False),
    )
    op.create_table(
        "settlement_shops",
        sa.Column("window_id", sa.Integer(), primary_key=True),
        sa.Column("shop_id", sa.String(20), primary_key=True),
        sa.Column("owed", sa.BigInteger(), nullable=False),
        sa.Column("by_program", sa.Text(), nullable=False),
        sa.Column("payable", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("payout", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_table(
        "shop_bank_accounts",
        sa.Column("shop_id", sa.String(20), primary_key=True),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("account_number", sa.String(34), nullable=False),
        sa.Column("holder_name", sa.String(70), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "giro_account",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("account_number", sa.String(34), nullable=False),
        sa.Column("holder_name", sa.String(70), nullable=False),
    )
    op.create_table(
        "payouts",
        sa.Column("window_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.String(35), nullable=False, unique=True),
        sa.Column("prepared_by", sa.String(64), nullable=False),
        sa.Column("prepared_at", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("giro_bic", sa.String(11), nullable=False),
        sa.Column("giro_account", sa.String(34), nullable=False),
        sa.Column("giro_name", sa.String(70), nullable=False),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "payout_items",
        sa.Column("end_to_end_id", sa.String(35), primary_key=True),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.String(20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("account_number", sa.String(34), nullable=False),
        sa.Column("holder_name", sa.String(70), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_payout_items_window_id", "payout_items", ["window_id"], unique=False)
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("closing_balance", sa.BigInteger(), nullable=True),
        sa.Column("imported_at", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "bank_statements",
        "payout_items",
        "payouts",
        "giro_account",
        "shop_bank_accounts",
        "settlement_shops",
        "settlement_entries",
        "settlement_windows",
    ):
        op.drop_table(table)
