"""PIN-unblock orders applied at the counter: records and intents of type ``pin_unblock``.

SQLite cannot change a CHECK in place, so ``records`` and ``intents`` are rebuilt with their
indexes and triggers. ``records`` has children (acks, print jobs, intents) that name it, and
renaming it would rewrite their references: its rows are copied aside, the table dropped and
created again under its own name, and the rows put back, with foreign keys deferred to the
commit (by then every child has its parent again; a journal that lost one fails, unchanged).

Revision ID: 0004_pin_unblock
Revises: 0003_card_evidence
"""

from __future__ import annotations

from alembic import op

revision = "0004_pin_unblock"
down_revision = "0003_card_evidence"
branch_labels = None
depends_on = None

_FINAL = "('completed', 'aborted', 'settled_at_host')"
_KINDS = "('sale', 'void', 'load', 'block', 'pin_unblock')"

STATEMENTS = [
    "PRAGMA defer_foreign_keys = ON",
    "CREATE TEMP TABLE records_old AS SELECT * FROM records",
    "DROP TABLE records",
    f"""
    CREATE TABLE records (
        seq INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),
        id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        type TEXT NOT NULL CHECK (type IN {_KINDS[:-1]}, 'day_close')),
        time INTEGER NOT NULL,
        business_date TEXT NOT NULL,
        card_total INTEGER NOT NULL CHECK (card_total >= 0),
        prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        encoded BLOB NOT NULL
    )
    """,
    "INSERT INTO records SELECT seq, id, type, time, business_date, card_total, prev_hash,"
    " hash, encoded FROM records_old",
    "DROP TABLE temp.records_old",
    "CREATE INDEX records_business_date ON records (business_date, seq)",
    "CREATE TRIGGER records_chain BEFORE INSERT ON records WHEN"
    " NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM records), 0) + 1"
    " OR NEW.prev_hash IS NOT COALESCE("
    "(SELECT hash FROM records WHERE seq = NEW.seq - 1), zeroblob(32))"
    " BEGIN SELECT RAISE(ABORT, 'records: a new record must extend the chain'); END",
    "CREATE TRIGGER records_no_update BEFORE UPDATE ON records"
    " BEGIN SELECT RAISE(ABORT, 'records are append-only'); END",
    "CREATE TRIGGER records_no_delete BEFORE DELETE ON records"
    " BEGIN SELECT RAISE(ABORT, 'records are append-only'); END",
    f"""
    CREATE TABLE intents_new (
        id BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
        kind TEXT NOT NULL CHECK (kind IN {_KINDS}),
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
