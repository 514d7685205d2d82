"""An index of records by card and counter: a card's history (the console's card page,
``ssn-gateway cards show`` and ``records list --card``) read every record of the host without it.
By counter, not by time: a (card, time) index looked as good as the primary key to SQLite for
joining a card's counter to its record (ingest's time rules), and it read all of the card's
records for each sale. Sorting one card's records by time costs little.

On PostgreSQL ``records`` is partitioned by month (0007): an index created on the partitioned
table is created on every partition, and on every partition created later
(host_gateway/partitions.py) by PostgreSQL itself. A new index, not a column: databases built
at an older revision keep working with today's code.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_card", "records", ["card_number", "card_counter"])


def downgrade() -> None:
    op.drop_index("ix_records_card", table_name="records")
