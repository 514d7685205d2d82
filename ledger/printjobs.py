"""Receipt print jobs as the journal keeps them: the bytes are committed with the sale, printing
happens after and may fail without touching the sale. The print queue (terminal) drives a
:class:`ReceiptStore` (implemented by the terminal journal) and a printer driver."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Protocol


class JobKind(enum.StrEnum):
    SALE_CUSTOMER = "sale-customer"
    SALE_SHOP = "sale-shop"
    REPRINT = "reprint"
    VOID = "void"
    BALANCE = "balance"
    DAY_CLOSE = "day-close"


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    PRINTED = "printed"
    FAILED = "failed"
    """Last attempt failed; still retried (a failed job stays in ``pending_jobs``)."""


@dataclass(frozen=True)
class PrintJob:
    job_id: int
    record_id: uuid.UUID | None
    kind: JobKind
    data: bytes
    """ESC/POS bytes, exactly as composed when the sale committed."""
    status: JobStatus
    attempts: int
    last_error: str | None


class ReceiptStore(Protocol):
    def add_job(self, record_id: uuid.UUID | None, kind: JobKind, data: bytes) -> int:
        """Queue bytes for printing; returns the job id."""
        ...

    def pending_jobs(self) -> list[PrintJob]:
        """Jobs not yet printed (pending or failed), oldest first."""
        ...

    def mark_printed(self, job_id: int) -> None: ...

    def mark_failed(self, job_id: int, error: str) -> None: ...

    def jobs_for_record(self, record_id: uuid.UUID) -> list[PrintJob]: ...
