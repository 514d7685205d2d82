"""Loads a card never took before it ended (replaced or closed): carried to the new card, or
back to the fund, and no longer delivered (host_gateway/programs/cardlife.py). A table of its
own: ``loads`` keeps its columns, and a load's row stays as the issuer signed it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "load_supersessions",
        sa.Column("load_id", sa.Integer(), sa.ForeignKey("loads.id"), primary_key=True),
        sa.Column("carried_to", sa.Integer(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("load_supersessions")
