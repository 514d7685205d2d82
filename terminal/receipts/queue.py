"""The print queue: prints the receipt bytes the journal committed with each record, retries
with backoff, reprints on request, and never lets a printer fault reach the sale.

Rules (docs/printing.md):

- A job is marked printed only when the printer confirmed it (status after the job is fine).
  Anything else leaves it pending with the error, and the cashier gets one clear message.
- A job confirmed printed is never sent again, even if recording that in the store failed.
- A job whose bytes went out but was not confirmed (connection dropped mid-job) is printed
  again in full: the paper may show a torn first try, never no receipt.
- Reprint: if the record's receipt never printed, it is simply retried (no SALINAN, no new job);
  otherwise a new REPRINT job carries the stored bytes marked SALINAN.
- No method raises: errors come back in a :class:`QueueReport`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.printer.errors import PrinterError
from drivers.printer.printer import ReceiptPrinter
from ledger.printjobs import JobKind, JobStatus, PrintJob, ReceiptStore
from terminal.receipts.compose import ReceiptConfig, mark_reprint
from terminal.receipts.strings import ReceiptStrings, strings_for

log = logging.getLogger(__name__)

REPRINT_SOURCES = (
    JobKind.SALE_CUSTOMER,
    JobKind.VOID,
    JobKind.DAY_CLOSE,
    JobKind.BALANCE,
    JobKind.SALE_SHOP,
)
"""Which stored job a reprint copies, first found wins: the holder's paper first."""


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before trying a failing printer again: 2, 4, 8 ... up to a minute."""

    first: float = 2.0
    factor: float = 2.0
    limit: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.first * self.factor ** max(failures - 1, 0), self.limit))


@dataclass(frozen=True)
class PrintOutcome:
    job_id: int
    printed: bool
    error_code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class QueueReport:
    """What one run of the queue did, and what to tell the cashier (None: nothing to say)."""

    outcomes: tuple[PrintOutcome, ...] = ()
    pending: int = 0
    message: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    job_id: int | None = None
    """For a reprint: the job that carries it."""

    @property
    def printed(self) -> list[int]:
        return [o.job_id for o in self.outcomes if o.printed]

    @property
    def ok(self) -> bool:
        return self.message is None


class PrintQueue:
    """Drives a :class:`ReceiptStore` (the journal) and a :class:`ReceiptPrinter`."""

    def __init__(
        self,
        store: ReceiptStore,
        printer: ReceiptPrinter,
        *,
        config: ReceiptConfig | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], int] = lambda: int(time.time()),
        on_report: Callable[[QueueReport], None] | None = None,
    ) -> None:
        self.store = store
        self.printer = printer
        self.config = config or ReceiptConfig()
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_report = on_report
        self._lock = threading.RLock()
        self._confirmed: set[int] = set()
        self._failures = 0
        self._next_try = 0.0
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.last_report = QueueReport()

    @property
    def _strings(self) -> ReceiptStrings:
        return strings_for(self.config.language)

    # -- running ------------------------------------------------------------------------------
    def print_now(self) -> QueueReport:
        """Print every pending job now, whatever the backoff (after a sale, or "retry")."""
        with self._lock:
            return self._publish(self._run())

    def run_due(self) -> QueueReport | None:
        """Print pending jobs if the backoff after the last failure has passed (a timer tick)."""
        with self._lock:
            if self._clock() < self._next_try:
                return None
            return self._publish(self._run())

    def seconds_until_retry(self) -> float:
        with self._lock:
            return max(self._next_try - self._clock(), 0.0)

    def _pending(self) -> list[PrintJob] | str:
        try:
            return [j for j in self.store.pending_jobs() if j.status is not JobStatus.PRINTED]
        except Exception as exc:
            log.exception("reading pending print jobs failed")
            return self._strings.queue_store_error.format(error=exc)

    def _run(self) -> QueueReport:
        jobs = self._pending()
        if isinstance(jobs, str):
            return QueueReport(message=jobs)
        outcomes: list[PrintOutcome] = []
        warnings: list[str] = []
        message: str | None = None
        for job in jobs:
            if job.job_id in self._confirmed:
                self._record_printed(job.job_id)  # printed before; only the store lagged
                continue
            try:
                report = self.printer.print_job(job.data)
            except Exception as exc:
                outcome, message = self._failed(job, exc)
                outcomes.append(outcome)
                break  # the printer cannot print now: the rest wait with this one
            self._confirmed.add(job.job_id)
            self._failures = 0
            self._next_try = 0.0
            self._record_printed(job.job_id)
            outcomes.append(PrintOutcome(job.job_id, True))
            warnings.extend(w for w in report.warnings if w not in warnings)
        remaining = self._pending()
        pending = len(remaining) if isinstance(remaining, list) else len(jobs) - len(outcomes)
        return QueueReport(tuple(outcomes), pending, message, tuple(warnings))

    def _failed(self, job: PrintJob, exc: Exception) -> tuple[PrintOutcome, str]:
        if isinstance(exc, PrinterError):
            code, reason = exc.code, exc.cashier_message(self.config.language)
        else:  # a bug below us must still not reach the sale
            log.exception("printing job %s failed unexpectedly", job.job_id)
            code, reason = "internal", f"{type(exc).__name__}: {exc}"
        try:
            self.store.mark_failed(job.job_id, f"{code}: {exc}")
        except Exception:
            log.exception("recording the failure of print job %s failed", job.job_id)
        self._failures += 1
        self._next_try = self._clock() + self.backoff.delay(self._failures)
        message = f"{reason} {self._strings.queue_kept}"
        return PrintOutcome(job.job_id, False, code, str(exc)), message

    def _record_printed(self, job_id: int) -> None:
        try:
            self.store.mark_printed(job_id)
        except Exception:
            log.exception(
                "recording print job %s as printed failed; it will not print again", job_id
            )

    def _publish(self, report: QueueReport) -> QueueReport:
        self.last_report = report
        if self._on_report is not None:
            try:
                self._on_report(report)
            except Exception:
                log.exception("print queue report callback failed")
        return report

    # -- reprint ------------------------------------------------------------------------------
    def reprint(self, record_id: uuid.UUID) -> QueueReport:
        """The cashier's "print again" for one record (see the module rules)."""
        with self._lock:
            try:
                jobs = self.store.jobs_for_record(record_id)
            except Exception as exc:
                log.exception("reading print jobs of %s failed", record_id)
                return self._publish(
                    QueueReport(message=self._strings.queue_store_error.format(error=exc))
                )
            unprinted = [
                j
                for j in jobs
                if j.status is not JobStatus.PRINTED and j.job_id not in self._confirmed
            ]
            if unprinted:
                report = self._run()
                note = None if report.ok else report.message
                return self._publish(
                    QueueReport(
                        report.outcomes, report.pending, note, report.warnings, unprinted[0].job_id
                    )
                )
            source = next((j for kind in REPRINT_SOURCES for j in jobs if j.kind is kind), None)
            if source is None:
                return self._publish(QueueReport(message=self._strings.queue_no_receipt))
            data = mark_reprint(source.data, self._wall_clock(), self.config)
            try:
                job_id = self.store.add_job(record_id, JobKind.REPRINT, data)
            except Exception as exc:
                log.exception("queueing a reprint of %s failed", record_id)
                return self._publish(
                    QueueReport(message=self._strings.queue_store_error.format(error=exc))
                )
            report = self._run()
            return self._publish(
                QueueReport(
                    report.outcomes, report.pending, report.message, report.warnings, job_id
                )
            )

    # -- background worker ---------------------------------------------------------------------
    def kick(self) -> None:
        """Ask the worker to print now (non-blocking; what the sale calls after its commit)."""
        self._kick.set()

    def start(self, tick: float = 1.0) -> None:
        """Run a worker thread: prints on :meth:`kick`, and retries on the backoff schedule."""
        if self._worker is not None:
            return
        self._stop.clear()
        self._worker = threading.Thread(
            target=self._work, args=(tick,), name="print-queue", daemon=True
        )
        self._worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._kick.set()
        if self._worker is not None:
            self._worker.join(timeout)
            self._worker = None

    def _work(self, tick: float) -> None:
        while not self._stop.is_set():
            kicked = self._kick.wait(tick)
            self._kick.clear()
            if self._stop.is_set():
                return
            try:
                if kicked:
                    self.print_now()
                else:
                    self.run_due()
            except Exception:  # pragma: no cover - _run never raises; belt and braces
                log.exception("print queue worker")
