"""What the journal stores and returns: intents, acknowledgements, documents, counts, errors."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.record import RecordType


class JournalError(Exception):
    """A journal operation that did not happen; the journal is exactly as it was before."""


class IntentStateError(JournalError):
    """The intent cannot take this step (unknown, already finished, or its card is busy)."""


class StaleDocumentError(JournalError):
    """A document not newer than the one already held; the current one stays."""


class IntentKind(enum.StrEnum):
    """A card operation that moves value or changes the card, so it needs a write-ahead intent."""

    SALE = "sale"
    VOID = "void"
    LOAD = "load"
    BLOCK = "block"
    PIN_UNBLOCK = "pin_unblock"

    @property
    def record_type(self) -> RecordType:
        return RecordType(self.value)


class IntentStatus(enum.StrEnum):
    OPEN = "open"
    """Committed; the command may or may not have reached the card."""
    UNRESOLVED = "unresolved"
    """The card left before answering; resolved only when that card is read again."""
    COMPLETED = "completed"
    ABORTED = "aborted"
    """The card never applied the command: nothing moved."""
    SETTLED_AT_HOST = "settled_at_host"
    """No card log could tell any more; an operator settled it at the host from the card's
    balances (docs/api.md): the host holds the money's record, this terminal holds none."""

    @property
    def finished(self) -> bool:
        return self in (IntentStatus.COMPLETED, IntentStatus.ABORTED, IntentStatus.SETTLED_AT_HOST)


@dataclass(frozen=True)
class Intent:
    """The card command the terminal is about to send, made durable before it is sent."""

    id: uuid.UUID
    kind: IntentKind
    card_number: str
    expected_counter: int
    """The card's transaction counter after the command: counter at SELECT + 1."""
    nonce: bytes
    """The terminal's 16 random bytes; the card signs them into its proof."""
    request: bytes
    """The encoded command (DebitRequest, VoidRequest, ...) exactly as it goes to the card."""
    draft: Mapping[str, Any]
    """The record body to complete once the card answers (canonical value, proof still empty)."""
    created: int
    status: IntentStatus = IntentStatus.OPEN
    reason: str | None = None
    """Why it was aborted or left unresolved (for the cashier and the operator)."""
    record_seq: int | None = None
    """The completed record's sequence number."""


@dataclass(frozen=True)
class Acknowledgement:
    """The host's answer for one uploaded record; the record left the outbox."""

    seq: int
    outcome: str
    time: int


@dataclass(frozen=True)
class Outgoing:
    """A record as the sync client uploads it: the bytes the journal stored, not decoded again
    (the journal checked them when it appended the record; the host checks them all anyway)."""

    id: uuid.UUID
    seq: int
    encoded: bytes


@dataclass(frozen=True)
class StoredDocument:
    name: str
    version: int
    data: bytes
    stored: int


@dataclass(frozen=True)
class OfflineState:
    """What the offline risk limits are checked against, all derived from the journal."""

    last_sync_time: int | None
    """Unix seconds of the last successful sync; None if the terminal never synced."""
    synced_through_seq: int
    """Every record up to this sequence number was acknowledged by the host at that sync."""
    sales_since_sync: int
    card_total_since_sync: int
    """Rupiah debited from cards by sales after ``synced_through_seq``."""
    last_record_time_since_sync: int | None = None
    """Latest terminal-clock time of the records after ``synced_through_seq`` (None if none):
    with ``last_sync_time``, the latest time the terminal has seen (its clock must not read
    earlier)."""


@dataclass(frozen=True)
class JournalCounts:
    records: int
    outbox: int
    open_intents: int
    unresolved_intents: int
    pending_print_jobs: int


FaultHook = Callable[[str], None]
"""Called with the name of each step of a write (tests kill the process there)."""
