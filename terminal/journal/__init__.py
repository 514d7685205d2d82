"""The terminal's durable journal: write-ahead intents, signed hash-chained records, the outbox
of records the host has not acknowledged, receipt print jobs, sync state and current documents.

SQLAlchemy 2 on SQLite (WAL, ``synchronous=FULL``, foreign keys on); the schema is created and
upgraded by the Alembic migrations packaged in ``migrations/`` when a journal is opened. Nothing
here touches a database at import time.
"""

from terminal.journal.audit import AuditReport, BadRecord
from terminal.journal.checks import RecordRefusedError
from terminal.journal.journal import FAULT_POINTS, Journal, PrintJobs
from terminal.journal.models import (
    Acknowledgement,
    FaultHook,
    Intent,
    IntentKind,
    IntentStateError,
    IntentStatus,
    JournalCounts,
    JournalError,
    OfflineState,
    Outgoing,
    StaleDocumentError,
    StoredDocument,
)

__all__ = [
    "FAULT_POINTS",
    "Acknowledgement",
    "AuditReport",
    "BadRecord",
    "FaultHook",
    "Intent",
    "IntentKind",
    "IntentStateError",
    "IntentStatus",
    "Journal",
    "JournalCounts",
    "JournalError",
    "OfflineState",
    "Outgoing",
    "PrintJobs",
    "RecordRefusedError",
    "StaleDocumentError",
    "StoredDocument",
]
