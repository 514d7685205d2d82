"""The journal's tables as SQLAlchemy Core objects, for queries only.

The schema itself is created and changed by the migrations in ``migrations/versions`` (run on
open); a test checks that these definitions and the migrated database agree.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, MetaData, Table, Text

SCHEMA_REVISION = "0004_pin_unblock"
"""The newest migration; a journal at this revision opens without loading Alembic at all."""

metadata = MetaData()

terminal = Table(
    "terminal",
    metadata,
    Column("one", Integer, primary_key=True),
    Column("terminal_id", Text, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("id", LargeBinary, nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("time", Integer, nullable=False),
    Column("business_date", Text, nullable=False),
    Column("card_total", Integer, nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("encoded", LargeBinary, nullable=False),
    Index("records_business_date", "business_date", "seq"),
)

intents = Table(
    "intents",
    metadata,
    Column("id", LargeBinary, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("card_number", Text, nullable=False),
    Column("expected_counter", Integer, nullable=False),
    Column("nonce", LargeBinary, nullable=False, unique=True),
    Column("request", LargeBinary, nullable=False),
    Column("draft", LargeBinary, nullable=False),
    Column("created", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("reason", Text),
    Column("record_seq", Integer, ForeignKey("records.seq"), unique=True),
    Index(
        "intents_unfinished_card",
        "card_number",
        unique=True,
        sqlite_where=Column("status").in_(["open", "unresolved"]),
    ),
)

acks = Table(
    "acks",
    metadata,
    Column("seq", Integer, ForeignKey("records.seq"), primary_key=True, autoincrement=False),
    Column("outcome", Text, nullable=False),
    Column("time", Integer, nullable=False),
)

print_jobs = Table(
    "print_jobs",
    metadata,
    Column("job_id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", LargeBinary, ForeignKey("records.id")),
    Column("kind", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("first_sent", Integer),
    Index("print_jobs_record", "record_id"),
    Index("print_jobs_unprinted", "job_id", sqlite_where=Column("status") != "printed"),
    sqlite_autoincrement=True,
)

state = Table(
    "state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Integer, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("name", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("stored", Integer, nullable=False),
)

evidence = Table(
    "evidence",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=True),
    Column("card_number", Text, nullable=False),
    Column("counter", Integer, nullable=False),
    Column("message", LargeBinary, nullable=False, unique=True),
    Column("fetched", Integer, nullable=False),
    Column("sent", Integer),
    Column("outcome", Text),
    Index("evidence_unsent", "entry_id", sqlite_where=Column("sent").is_(None)),
)

APPEND_ONLY_TRIGGERS = (
    "terminal_no_update",
    "terminal_no_delete",
    "records_chain",
    "records_no_update",
    "records_no_delete",
    "intents_update",
    "intents_no_delete",
    "evidence_update",
    "evidence_no_delete",
    "acks_no_update",
    "acks_no_delete",
    "print_jobs_update",
    "print_jobs_no_delete",
    "state_forward_only",
    "state_no_delete",
    "documents_newer_only",
    "documents_no_delete",
)
"""Triggers that keep history immutable; ``verify-ledger`` reports any that went missing."""
