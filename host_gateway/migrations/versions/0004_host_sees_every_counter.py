"""The host sees every counter: every purse's balance at every counter, evidence from card logs,
counter gaps with what they hold, cards each terminal served, stuck intents, host settings,
refunds approved after the card session.

Card protocol v2 signs every purse's balance after each transaction, so the host keeps them all
with the transaction's own movement (``purse_proofs.delta``) and checks continuity across
counters it never saw. ``purse_proofs`` is keyed (card, counter, purse) so a counter's balances
are one index range. Rows written before this revision carried only the purses a transaction
moved; their movement is inferred from the previous counter where it is held.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _purse_proofs_key(columns: list[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("purse_proofs_pkey", "purse_proofs", type_="primary")
        op.create_primary_key("purse_proofs_pkey", "purse_proofs", columns)
        return
    with (  # SQLite cannot alter a primary key: the table is copied into the new shape
        warnings.catch_warnings(),
        op.batch_alter_table("purse_proofs", recreate="always") as batch,
    ):
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_purse_proofs' specifies columns")
        batch.create_primary_key("pk_purse_proofs", columns)


_INFER_DELTA = """
UPDATE purse_proofs SET delta = balance_after - COALESCE(
    (SELECT p.balance_after FROM purse_proofs p WHERE p.card_number = purse_proofs.card_number
     AND p.purse_code = purse_proofs.purse_code AND p.counter = purse_proofs.counter - 1),
    CASE WHEN purse_proofs.counter = 1 THEN 0 ELSE purse_proofs.balance_after END)
"""


def upgrade() -> None:
    op.add_column(
        "card_transactions",
        sa.Column("source", sa.String(length=8), server_default="record", nullable=False),
    )
    op.add_column(
        "purse_proofs", sa.Column("delta", sa.BigInteger(), server_default="0", nullable=False)
    )
    _purse_proofs_key(["card_number", "counter", "purse_code"])
    op.execute(_INFER_DELTA)
    op.create_table(
        "card_evidence",
        sa.Column("id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("recorded_by", sa.LargeBinary(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_card_evidence_counter", "card_evidence", ["card_number", "counter"], unique=True
    )
    op.create_table(
        "card_gaps",
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("after_counter", sa.BigInteger(), nullable=False),
        sa.Column("before_counter", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("fall", sa.BigInteger(), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=True),
        sa.Column("shop_id", sa.String(length=20), nullable=True),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("alerted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("card_number", "after_counter", "before_counter"),
    )
    op.create_table(
        "terminal_cards",
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("added_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "card_number"),
    )
    # Cards served before this revision: their loads were already sent to every terminal.
    op.execute(
        "INSERT INTO terminal_cards (terminal_id, card_number, added_version)"
        " SELECT DISTINCT terminal_id, card_number, 0 FROM records WHERE card_number IS NOT NULL"
    )
    op.create_table(
        "stuck_intents",
        sa.Column("id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=16), nullable=False),
        sa.Column("expected_counter", sa.BigInteger(), nullable=False),
        sa.Column("amounts", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", sa.BigInteger(), nullable=True),
        sa.Column("settled_by", sa.String(length=64), nullable=True),
        sa.Column("settle_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_stuck_intents_terminal_id"), "stuck_intents", ["terminal_id"])
    op.create_table(
        "gateway_settings",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("shop_id", sa.String(length=20), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("card_counter", sa.BigInteger(), nullable=False),
        sa.Column("amounts", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_refunds_record_id"), "refunds", ["record_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_refunds_record_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_table("gateway_settings")
    op.drop_index(op.f("ix_stuck_intents_terminal_id"), table_name="stuck_intents")
    op.drop_table("stuck_intents")
    op.drop_table("terminal_cards")
    op.drop_table("card_gaps")
    op.drop_index("ix_card_evidence_counter", table_name="card_evidence")
    op.drop_table("card_evidence")
    _purse_proofs_key(["card_number", "purse_code", "counter"])
    with op.batch_alter_table("purse_proofs") as batch:
        batch.drop_column("delta")
    with op.batch_alter_table("card_transactions") as batch:
        batch.drop_column("source")
