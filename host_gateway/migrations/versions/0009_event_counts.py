"""Events carry a count: refusals of unauthenticated requests are summarized, not one row each.

A flood of forged or unsigned requests wrote one event row per request under the write lock.
The gateway now counts them in memory and writes one row per code a minute with its ``count``
(host_gateway.events); every other event is one occurrence (the default 1).

Revision ID: 0009
Revises: 0006 (it follows settlement's, one line of history)
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("count", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("count")
