"""Initial schema: PKI, shops and terminals, cards, records, distribution, journal, events.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "card_transactions",
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("proof_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("record_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("card_number", "counter"),
    )
    op.create_table(
        "cards",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("nik_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "documents",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("published", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "version"),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=True),
        sa.Column("record_id", sa.LargeBinary(length=16), nullable=True),
        sa.Column("card_number", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_events_at"), "events", ["at"], unique=False)
    op.create_index(op.f("ix_events_code"), "events", ["code"], unique=False)
    op.create_table(
        "hotlist",
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("block_order", sa.LargeBinary(), nullable=True),
        sa.Column("added", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index(op.f("ix_hotlist_card_number"), "hotlist", ["card_number"], unique=False)
    op.create_table(
        "hotlist_fetches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_hotlist_fetches_terminal_id"), "hotlist_fetches", ["terminal_id"], unique=False
    )
    op.create_table(
        "issuer_keys",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.LargeBinary(length=4), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("encrypted_pem", sa.LargeBinary(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("role"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.LargeBinary(length=16), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_journal_entries_record_id"), "journal_entries", ["record_id"], unique=False
    )
    op.create_table(
        "journal_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_journal_lines_account"), "journal_lines", ["account"], unique=False)
    op.create_index(op.f("ix_journal_lines_entry_id"), "journal_lines", ["entry_id"], unique=False)
    op.create_table(
        "programs",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "purse_proofs",
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("purse_code", sa.String(length=4), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("card_number", "purse_code", "counter"),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("terminal_time", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("in_chain", sa.Boolean(), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=True),
        sa.Column("card_counter", sa.BigInteger(), nullable=True),
        sa.Column("voids_record", sa.LargeBinary(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_records_chain",
        "records",
        ["terminal_id", "seq"],
        unique=True,
        sqlite_where=sa.text("in_chain"),
        postgresql_where=sa.text("in_chain"),
    )
    op.create_index("ix_records_terminal_seq", "records", ["terminal_id", "seq"], unique=False)
    op.create_index(
        "ix_records_voids",
        "records",
        ["voids_record"],
        unique=True,
        sqlite_where=sa.text("voids_record IS NOT NULL AND status = 'accepted'"),
        postgresql_where=sa.text("voids_record IS NOT NULL AND status = 'accepted'"),
    )
    op.create_table(
        "request_nonces",
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=16), nullable=False),
        sa.Column("seen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "nonce"),
    )
    op.create_index(op.f("ix_request_nonces_seen"), "request_nonces", ["seen"], unique=False)
    op.create_table(
        "sealed_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "shops",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "card_programs",
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("program_code", sa.String(length=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_number"],
            ["cards.number"],
        ),
        sa.ForeignKeyConstraint(
            ["program_code"],
            ["programs.code"],
        ),
        sa.PrimaryKeyConstraint("card_number", "program_code"),
    )
    op.create_table(
        "enrollment_codes",
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=20), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("terminal_id", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
        ),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_table(
        "loads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("load_seq", sa.BigInteger(), nullable=False),
        sa.Column("purse_code", sa.String(length=4), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("authorization", sa.LargeBinary(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("applied_record", sa.LargeBinary(length=16), nullable=True),
        sa.Column("applied_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["card_number"],
            ["cards.number"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_loads_card_seq", "loads", ["card_number", "load_seq"], unique=True)
    op.create_index(op.f("ix_loads_version"), "loads", ["version"], unique=False)
    op.create_table(
        "terminals",
        sa.Column("id", sa.String(length=8), nullable=False),
        sa.Column("shop_id", sa.String(length=20), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("last_seen", sa.BigInteger(), nullable=True),
        sa.Column("last_skew", sa.Integer(), nullable=True),
        sa.Column("contiguous_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_key"),
    )


def downgrade() -> None:
    op.drop_table("terminals")
    op.drop_index(op.f("ix_loads_version"), table_name="loads")
    op.drop_index("ix_loads_card_seq", table_name="loads")
    op.drop_table("loads")
    op.drop_table("enrollment_codes")
    op.drop_table("card_programs")
    op.drop_table("shops")
    op.drop_table("sealed_secrets")
    op.drop_index(op.f("ix_request_nonces_seen"), table_name="request_nonces")
    op.drop_table("request_nonces")
    op.drop_index(
        "ix_records_voids",
        table_name="records",
        sqlite_where=sa.text("voids_record IS NOT NULL AND status = 'accepted'"),
        postgresql_where=sa.text("voids_record IS NOT NULL AND status = 'accepted'"),
    )
    op.drop_index("ix_records_terminal_seq", table_name="records")
    op.drop_index(
        "ix_records_chain",
        table_name="records",
        sqlite_where=sa.text("in_chain"),
        postgresql_where=sa.text("in_chain"),
    )
    op.drop_table("records")
    op.drop_table("purse_proofs")
    op.drop_table("programs")
    op.drop_index(op.f("ix_journal_lines_entry_id"), table_name="journal_lines")
    op.drop_index(op.f("ix_journal_lines_account"), table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index(op.f("ix_journal_entries_record_id"), table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("issuer_keys")
    op.drop_index(op.f("ix_hotlist_fetches_terminal_id"), table_name="hotlist_fetches")
    op.drop_table("hotlist_fetches")
    op.drop_index(op.f("ix_hotlist_card_number"), table_name="hotlist")
    op.drop_table("hotlist")
    op.drop_index(op.f("ix_events_code"), table_name="events")
    op.drop_index(op.f("ix_events_at"), table_name="events")
    op.drop_table("events")
    op.drop_table("documents")
    op.drop_table("counters")
    op.drop_table("cards")
    op.drop_table("card_transactions")
    op.drop_table("accounts")
