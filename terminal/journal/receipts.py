"""Receipt print jobs in the journal (:class:`terminal.receipts.jobs.ReceiptStore`).

A sale's receipts are committed with its record (see ``complete_intent``); the print queue then
prints them and records each attempt here. The bytes never change; a printed job is final; the
write-ahead mark ``first_sent`` (committed before a job's first byte goes out) is never undone.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from terminal.journal.base import JournalBase
from terminal.journal.models import JournalError
from terminal.journal.schema import print_jobs, records
from terminal.receipts.jobs import JobKind, JobStatus, PrintJob

_JOBS = select(
    print_jobs, records.c.seq.label("record_seq"), records.c.time.label("record_time")
).select_from(print_jobs.outerjoin(records, records.c.id == print_jobs.c.record_id))
_UNPRINTED = _JOBS.where(print_jobs.c.status != JobStatus.PRINTED.value).order_by(
    print_jobs.c.job_id
)


class ReceiptsMixin(JournalBase):
    def add_job(self, record_id: uuid.UUID | None, kind: JobKind, data: bytes) -> int:
        """Queue a job outside a record's commit (a reprint, a balance slip); returns its id."""
        with self._writing("queue print job") as conn:
            if record_id is not None:
                known = conn.execute(
                    select(records.c.seq).where(records.c.id == record_id.bytes)
                ).first()
                if known is None:
                    raise JournalError(f"no record {record_id} to print for")
            result = conn.execute(
                print_jobs.insert(),
                {
                    "record_id": None if record_id is None else record_id.bytes,
                    "kind": JobKind(kind).value,
                    "data": bytes(data),
                },
            )
            key = result.inserted_primary_key
            if key is None:
                raise JournalError("print job got no id")
        return int(key[0])

    def pending_jobs(self) -> list[PrintJob]:
        """Jobs not printed yet (pending or failed), oldest first."""
        with self._reading() as conn:
            return [_job(row) for row in conn.execute(_UNPRINTED)]

    def job_ids_for_record(self, record_id: uuid.UUID) -> tuple[int, ...]:
        """The ids of a record's print jobs, in printing order: one indexed read, asked after
        every sale (what the whole jobs would cost a millisecond)."""
        with self._reading_direct() as driver:
            rows = driver.execute(
                "SELECT job_id FROM print_jobs WHERE record_id = ? ORDER BY job_id",
                (record_id.bytes,),
            ).fetchall()
        return tuple(int(row[0]) for row in rows)

    def jobs_for_record(self, record_id: uuid.UUID) -> list[PrintJob]:
        query = _JOBS.where(print_jobs.c.record_id == record_id.bytes).order_by(print_jobs.c.job_id)
        with self._reading() as conn:
            return [_job(row) for row in conn.execute(query)]

    def job(self, job_id: int) -> PrintJob | None:
        with self._reading() as conn:
            row = conn.execute(_JOBS.where(print_jobs.c.job_id == job_id)).first()
        return None if row is None else _job(row)

    def mark_sent(self, job_id: int, time: int) -> None:
        """Write-ahead, committed before the job's first byte goes to the printer: from now on
        the job may be on paper. The first mark stays; a printed job cannot be sent again."""
        with self._writing("mark print job sent") as conn:
            if _status(conn, job_id) == JobStatus.PRINTED:
                raise JournalError(f"print job {job_id} was already printed")
            conn.execute(
                print_jobs.update()
                .where(print_jobs.c.job_id == job_id, print_jobs.c.first_sent.is_(None))
                .values(first_sent=int(time))
            )

    def mark_printed(self, job_id: int) -> None:
        """The printer took the whole job; marking a printed job again changes nothing."""
        with self._writing("mark printed") as conn:
            if _status(conn, job_id) == JobStatus.PRINTED:
                return
            conn.execute(
                print_jobs.update()
                .where(print_jobs.c.job_id == job_id)
                .values(status=JobStatus.PRINTED.value, attempts=print_jobs.c.attempts + 1)
            )

    def mark_failed(self, job_id: int, error: str) -> None:
        """An attempt failed (out of paper, offline); the job stays pending for a retry."""
        with self._writing("mark print failed") as conn:
            if _status(conn, job_id) == JobStatus.PRINTED:
                raise JournalError(f"print job {job_id} was already printed")
            conn.execute(
                print_jobs.update()
                .where(print_jobs.c.job_id == job_id)
                .values(
                    status=JobStatus.FAILED.value,
                    attempts=print_jobs.c.attempts + 1,
                    last_error=error,
                )
            )


def _status(conn: Connection, job_id: int) -> JobStatus:
    status = conn.execute(select(print_jobs.c.status).where(print_jobs.c.job_id == job_id)).scalar()
    if status is None:
        raise JournalError(f"no print job {job_id}")
    return JobStatus(status)


def _job(row: Row[Any]) -> PrintJob:
    return PrintJob(
        job_id=row.job_id,
        record_id=None if row.record_id is None else uuid.UUID(bytes=row.record_id),
        kind=JobKind(row.kind),
        data=row.data,
        status=JobStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        first_sent=row.first_sent,
        record_seq=row.record_seq,
        record_time=row.record_time,
    )
