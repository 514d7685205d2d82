"""Drop the journal's secondary indexes: written for every posted line, read by no query.

Every accepted record posts one entry and at least two lines, so each of these indexes cost a
B-tree insert per line (per entry) on the ingest path, which is CPU-bound. Nothing looks lines
up by account or by entry, or entries by record: ``ssn-gateway check`` reads the whole journal
(sums per entry and per account), which a sequential scan serves as well. An operator view that
needs such a lookup adds its index back in its own migration.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_journal_lines_account", table_name="journal_lines")
    op.drop_index("ix_journal_lines_entry_id", table_name="journal_lines")
    op.drop_index("ix_journal_entries_record_id", table_name="journal_entries")


def downgrade() -> None:
    op.create_index("ix_journal_entries_record_id", "journal_entries", ["record_id"])
    op.create_index("ix_journal_lines_entry_id", "journal_lines", ["entry_id"])
    op.create_index("ix_journal_lines_account", "journal_lines", ["account"])
