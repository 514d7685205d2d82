"""The first journal schema: records, intents, acknowledgements, print jobs, state, documents.

Written as plain SQLite DDL rather than generated from the live metadata: a shipped migration must
never change when the code's table definitions do. Every primary key is NOT NULL explicitly:
SQLite otherwise lets a text or blob primary key be NULL. Triggers make the money tables append-only
inside the database itself, so no code path (ours or a careless one) can rewrite history; only
an attacker who edits the file around SQLite can, and ``verify-ledger`` catches that.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _refuse(name: str, table: str, event: str, when: str, message: str) -> str:
    condition = f" WHEN {when}" if when else ""
    return (
        f"CREATE TRIGGER {name} BEFORE {event} ON {table}{condition} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )


STATEMENTS = [
    # Which terminal and key this journal belongs to; written once.
    """
    CREATE TABLE terminal (
        one INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
        terminal_id TEXT NOT NULL,
        public_key BLOB NOT NULL CHECK (length(public_key) = 32)
    )
    """,
    _refuse("terminal_no_update", "terminal", "UPDATE", "", "terminal identity is fixed"),
    _refuse("terminal_no_delete", "terminal", "DELETE", "", "terminal identity is fixed"),
    # The signed, hash-chained records. ``encoded`` is the record, byte for byte; the other
    # columns are indexes derived from it when it was appended.
    """
    CREATE TABLE records (
        seq INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),
        id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        type TEXT NOT NULL CHECK (type IN ('sale', 'void', 'load', 'block', 'day_close')),
        time INTEGER NOT NULL,
        business_date TEXT NOT NULL,
        card_total INTEGER NOT NULL CHECK (card_total >= 0),
        prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        encoded BLOB NOT NULL
    )
    """,
    "CREATE INDEX records_business_date ON records (business_date, seq)",
    _refuse(
        "records_chain",
        "records",
        "INSERT",
        "NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM records), 0) + 1"
        " OR NEW.prev_hash IS NOT COALESCE("
        "(SELECT hash FROM records WHERE seq = NEW.seq - 1), zeroblob(32))",
        "records: a new record must extend the chain",
    ),
    _refuse("records_no_update", "records", "UPDATE", "", "records are append-only"),
    _refuse("records_no_delete", "records", "DELETE", "", "records are append-only"),
    # Write-ahead intents: committed before the card is touched.
    """
    CREATE TABLE intents (
        id BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
        kind TEXT NOT NULL CHECK (kind IN ('sale', 'void', 'load', 'block')),
        card_number TEXT NOT NULL,
        expected_counter INTEGER NOT NULL CHECK (expected_counter >= 0),
        nonce BLOB NOT NULL UNIQUE CHECK (length(nonce) = 16),
        request BLOB NOT NULL,
        draft BLOB NOT NULL,
        created INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'unresolved', 'completed', 'aborted')),
        reason TEXT,
        record_seq INTEGER UNIQUE REFERENCES records (seq),
        CHECK ((status = 'completed') = (record_seq IS NOT NULL))
    )
    """,
    # At most one unfinished intent per card: a card with one must be recovered first, so a
    # walked-away sale can never turn into a second debit.
    "CREATE UNIQUE INDEX intents_unfinished_card ON intents (card_number)"
    " WHERE status IN ('open', 'unresolved')",
    _refuse(
        "intents_update",
        "intents",
        "UPDATE",
        "OLD.status IN ('completed', 'aborted') OR NEW.status = 'open'"
        " OR NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind"
        " OR NEW.card_number IS NOT OLD.card_number"
        " OR NEW.expected_counter IS NOT OLD.expected_counter"
        " OR NEW.nonce IS NOT OLD.nonce OR NEW.request IS NOT OLD.request"
        " OR NEW.draft IS NOT OLD.draft OR NEW.created IS NOT OLD.created",
        "intents: only an unfinished intent changes, and only its outcome",
    ),
    _refuse("intents_no_delete", "intents", "DELETE", "", "intents are never deleted"),
    # The host's acknowledgements; a record without one is in the outbox.
    """
    CREATE TABLE acks (
        seq INTEGER NOT NULL PRIMARY KEY REFERENCES records (seq),
        outcome TEXT NOT NULL,
        time INTEGER NOT NULL
    )
    """,
    _refuse("acks_no_update", "acks", "UPDATE", "", "acknowledgements are final"),
    _refuse("acks_no_delete", "acks", "DELETE", "", "acknowledgements are final"),
    # Receipt bytes, committed with their record; only the printing outcome changes.
    """
    CREATE TABLE print_jobs (
        job_id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        record_id BLOB REFERENCES records (id),
        kind TEXT NOT NULL,
        data BLOB NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'printed', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error TEXT
    )
    """,
    "CREATE INDEX print_jobs_record ON print_jobs (record_id)",
    "CREATE INDEX print_jobs_unprinted ON print_jobs (job_id) WHERE status != 'printed'",
    _refuse(
        "print_jobs_update",
        "print_jobs",
        "UPDATE",
        "OLD.status = 'printed' OR NEW.job_id IS NOT OLD.job_id"
        " OR NEW.record_id IS NOT OLD.record_id OR NEW.kind IS NOT OLD.kind"
        " OR NEW.data IS NOT OLD.data OR NEW.attempts < OLD.attempts",
        "print jobs: the bytes are fixed and a printed job is final",
    ),
    _refuse("print_jobs_no_delete", "print_jobs", "DELETE", "", "print jobs are never deleted"),
    # Small integer state: outbox floor, last sync. Watermarks only move forward.
    """
    CREATE TABLE state (
        name TEXT NOT NULL PRIMARY KEY,
        value INTEGER NOT NULL
    )
    """,
    "INSERT INTO state (name, value) VALUES ('ack_floor', 0), ('synced_through_seq', 0)",
    _refuse(
        "state_forward_only",
        "state",
        "UPDATE",
        "NEW.name IS NOT OLD.name OR (OLD.name IN ('ack_floor', 'synced_through_seq')"
        " AND NEW.value < OLD.value)",
        "state: watermarks only move forward",
    ),
    _refuse("state_no_delete", "state", "DELETE", "", "state is never deleted"),
    # The current signed documents (catalog, hotlist, config) as received; versions only grow.
    """
    CREATE TABLE documents (
        name TEXT NOT NULL PRIMARY KEY,
        version INTEGER NOT NULL,
        data BLOB NOT NULL,
        stored INTEGER NOT NULL
    )
    """,
    _refuse(
        "documents_newer_only",
        "documents",
        "UPDATE",
        "NEW.name IS NOT OLD.name OR NEW.version <= OLD.version",
        "documents: only a newer version replaces the current one",
    ),
    _refuse("documents_no_delete", "documents", "DELETE", "", "documents are never deleted"),
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the journal is append-only: migrations only go forward")
