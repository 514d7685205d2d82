"""PIN-unblock orders: the issuer-signed orders an operator asks for a PIN-blocked holder, open
until a terminal's record brings the card's receipt.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pin_unblocks",
        sa.Column("card_number", sa.String(16), sa.ForeignKey("cards.number"), primary_key=True),
        sa.Column("unblock_seq", sa.BigInteger(), primary_key=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("order", sa.LargeBinary(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.BigInteger(), nullable=True),
        sa.Column("applied_terminal", sa.String(8), nullable=True),
        sa.Column("applied_record", sa.LargeBinary(16), nullable=True),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("pin_unblocks")
