"""Programs' terms, recipients (NIK sealed, found by keyed hash), card lives, aid batches.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_terms",
        sa.Column("program_code", sa.String(4), sa.ForeignKey("programs.code"), primary_key=True),
        sa.Column("funder_kind", sa.String(16), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("benefit", sa.BigInteger(), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("load_day", sa.Integer(), nullable=False),
        sa.Column("expiry_periods", sa.Integer(), nullable=False),
        sa.Column("eligibility", sa.String(16), nullable=False),
        sa.Column("households_allowed", sa.Boolean(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "recipients",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("nik_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("nik_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("kk_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("kelurahan", sa.String(40), nullable=False),
        sa.Column("kecamatan", sa.String(40), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("card_number", sa.String(16), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_recipients_kk_hash", "recipients", ["kk_hash"])
    op.create_table(
        "recipient_programs",
        sa.Column("recipient_id", sa.Integer(), sa.ForeignKey("recipients.id"), primary_key=True),
        sa.Column("program_code", sa.String(4), sa.ForeignKey("programs.code"), primary_key=True),
    )
    op.create_table(
        "card_lives",
        sa.Column("card_number", sa.String(16), sa.ForeignKey("cards.number"), primary_key=True),
        sa.Column("recipient_id", sa.Integer(), sa.ForeignKey("recipients.id"), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.Column("replaced_by", sa.String(16), nullable=True),
    )
    op.create_index("ix_card_lives_recipient_id", "card_lives", ["recipient_id"])
    op.create_table(
        "aid_batches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("program_code", sa.String(4), sa.ForeignKey("programs.code"), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("load_date", sa.Date(), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("cards", sa.Integer(), nullable=False),
        sa.Column("prepared_by", sa.String(64), nullable=False),
        sa.Column("prepared_at", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_aid_batches_period", "aid_batches", ["program_code", "period"], unique=True)
    op.create_table(
        "aid_lines",
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("aid_batches.id"), primary_key=True),
        sa.Column("card_number", sa.String(16), primary_key=True),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("load_seq", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    for table in ("aid_lines", "aid_batches", "card_lives", "recipient_programs"):
        op.drop_table(table)
    op.drop_index("ix_recipients_kk_hash", "recipients")
    op.drop_table("recipients")
    op.drop_table("program_terms")
