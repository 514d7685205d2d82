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

    @property
    def for_holder(self) -> bool:
        """Paper the card holder takes away (it may show balances, which are private): printed
        in front of its own holder only, never in the middle of someone else's sale."""
        return self in _FOR_HOLDER


_FOR_HOLDER = frozenset({JobKind.SALE_CUSTOMER, JobKind.REPRINT, JobKind.VOID, JobKind.BALANCE})


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
    first_sent: int | None = None
    """When (unix seconds) the job's bytes first started towards the printer: committed before
    the first byte, so a job with it may be on paper and every later attempt is marked a copy."""
    record_seq: int | None = None
    record_time: int | None = None
    """The sequence number and time of the job's record, for a header naming it."""

    @property
    def sent(self) -> bool:
        return self.first_sent is not None


class ReceiptStore(Protocol):
    def add_job(self, record_id: uuid.UUID | None, kind: JobKind, data: bytes) -> int:
        """Queue bytes for printing; returns the job id."""
        ...

    def pending_jobs(self) -> list[PrintJob]:
        """Jobs not yet printed (pending or failed), oldest first."""
        ...

    def job(self, job_id: int) -> PrintJob | None:
        """One job as it is now (another process may have printed it meanwhile)."""
        ...

    def mark_sent(self, job_id: int, time: int) -> None:
        """Write-ahead: the job's bytes go to the printer next. Durable before it returns; the
        first mark stays."""
        ...

    def mark_printed(self, job_id: int) -> None: ...

    def mark_failed(self, job_id: int, error: str) -> None: ...

    def jobs_for_record(self, record_id: uuid.UUID) -> list[PrintJob]: ...
