"""Print jobs get a write-ahead mark: ``first_sent``, committed before the first byte of a job
goes to the printer and never changed afterwards.

A job with the mark may already be on paper (whole, torn, or its fate unknown after a crash), so
every later attempt prints it marked as a copy; see docs/printing.md ("one unmarked original").

Revision ID: 0002_print_write_ahead
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0002_print_write_ahead"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

STATEMENTS = [
    "ALTER TABLE print_jobs ADD COLUMN first_sent INTEGER",
    "DROP TRIGGER print_jobs_update",
    "CREATE TRIGGER print_jobs_update BEFORE UPDATE ON print_jobs WHEN"
    " OLD.status = 'printed' OR NEW.job_id IS NOT OLD.job_id"
    " OR NEW.record_id IS NOT OLD.record_id OR NEW.kind IS NOT OLD.kind"
    " OR NEW.data IS NOT OLD.data OR NEW.attempts < OLD.attempts"
    " OR (OLD.first_sent IS NOT NULL AND NEW.first_sent IS NOT OLD.first_sent)"
    " BEGIN SELECT RAISE(ABORT, 'print jobs: the bytes and the sent mark are fixed"
    " and a printed job is final'); END",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the journal is append-only: migrations only go forward")
