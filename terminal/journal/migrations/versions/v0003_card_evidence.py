"""Card-log evidence for the host, and intents an operator settled at the host.

``evidence`` keeps the card-signed messages a terminal read from a card's log because the host
is missing them (docs/card-protocol.md, "the host sees every counter") until the host has
decided on each. An intent whose card log rolled past it can only be settled by an operator at
the host from the continuity of the card's balances: it ends ``settled_at_host``, a final state
like ``completed`` and ``aborted`` (SQLite cannot change a CHECK in place, so the table is
rebuilt with its index and triggers).

Revision ID: 0003_card_evidence
Revises: 0002_print_write_ahead
"""

from __future__ import annotations

from alembic import op

revision = "0003_card_evidence"
down_revision = "0002_print_write_ahead"
branch_labels = None
depends_on = None

_FINAL = "('completed', 'aborted', 'settled_at_host')"

STATEMENTS = [
    """
    CREATE TABLE evidence (
        entry_id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        card_number TEXT NOT NULL,
        counter INTEGER NOT NULL CHECK (counter > 0),
        message BLOB NOT NULL UNIQUE,
        fetched INTEGER NOT NULL,
        sent INTEGER,
        outcome TEXT
    )
    """,
    "CREATE INDEX evidence_unsent ON evidence (entry_id) WHERE sent IS NULL",
    "CREATE TRIGGER evidence_update BEFORE UPDATE ON evidence WHEN OLD.sent IS NOT NULL"
    " OR NEW.message IS NOT OLD.message OR NEW.card_number IS NOT OLD.card_number"
    " OR NEW.counter IS NOT OLD.counter OR NEW.entry_id IS NOT OLD.entry_id"
    " BEGIN SELECT RAISE(ABORT, 'evidence: the message is fixed and a sent entry is final'); END",
    "CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence"
    " BEGIN SELECT RAISE(ABORT, 'evidence is never deleted'); END",
    """
    CREATE TABLE intents_new (
        id BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
        kind TEXT NOT NULL CHECK (kind IN ('sale', 'void', 'load', 'block')),
        card_number TEXT NOT NULL,
        expected_counter INTEGER NOT NULL CHECK (expected_counter >= 0),
        nonce BLOB NOT NULL UNIQUE CHECK (length(nonce) = 16),
        request BLOB NOT NULL,
        draft BLOB NOT NULL,
        created INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'unresolved', 'completed', 'aborted', 'settled_at_host')),
        reason TEXT,
        record_seq INTEGER UNIQUE REFERENCES records (seq),
        CHECK ((status = 'completed') = (record_seq IS NOT NULL))
    )
    """,
    "INSERT INTO intents_new SELECT id, kind, card_number, expected_counter, nonce, request,"
    " draft, created, status, reason, record_seq FROM intents",
    "DROP TABLE intents",
    "ALTER TABLE intents_new RENAME TO intents",
    "CREATE UNIQUE INDEX intents_unfinished_card ON intents (card_number)"
    " WHERE status IN ('open', 'unresolved')",
    "CREATE TRIGGER intents_update BEFORE UPDATE ON intents WHEN"
    f" OLD.status IN {_FINAL} OR NEW.status = 'open'"
    " OR NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind"
    " OR NEW.card_number IS NOT OLD.card_number"
    " OR NEW.expected_counter IS NOT OLD.expected_counter"
    " OR NEW.nonce IS NOT OLD.nonce OR NEW.request IS NOT OLD.request"
    " OR NEW.draft IS NOT OLD.draft OR NEW.created IS NOT OLD.created"
    " BEGIN SELECT RAISE(ABORT, 'intents: only an unfinished intent changes, and only its"
    " outcome'); END",
    "CREATE TRIGGER intents_no_delete BEFORE DELETE ON intents"
    " BEGIN SELECT RAISE(ABORT, 'intents are never deleted'); END",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the journal is append-only: migrations only go forward")
