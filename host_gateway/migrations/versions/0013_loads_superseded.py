"""A pending load of a card that ended (replaced or closed) before it took it: carried to the new
card, or back to the fund, and no longer delivered (host_gateway/programs/cardlife.py).

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
    op.add_column("loads", sa.Column("superseded_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("loads", "superseded_by")
