"""The print queue: prints the receipt bytes the journal committed with each record, in front of
their holder first, the rest in the background; never a second unmarked copy, never a printer
fault reaching the sale.

Rules (docs/printing.md, "What must hold"):

- Write-ahead: before a job's first byte goes to the printer, the journal commits that the job
  was sent. A job so marked may be on paper (whole, torn, or unknown after a crash), so every
  later attempt prints it marked SALINAN with the time: one unmarked original per copy at most.
- A job is marked printed only when the printer confirmed it; a confirmed job is never sent
  again, even if recording that failed. One job at a time holds the printer
  (:class:`~terminal.receipts.printlock.PrinterLock`), and re-reads its state under it.
- Foreground (:meth:`PrintQueue.print_foreground`, :meth:`PrintQueue.reprint`): an operation
  prints only its own jobs, within a time bound, and background printing steps aside meanwhile.
- Background (:meth:`PrintQueue.print_now`, :meth:`PrintQueue.run_due`, the worker): every
  waiting job oldest first, with backoff after a failure, except a holder's paper (customer
  copy, void and balance slips, reprints): that waits for an explicit reprint, or, under
  :attr:`HeldPolicy.HEADER`, prints with a header naming its own transaction.
- No method raises (Ctrl-C aside): errors come back in a :class:`QueueReport`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers.printer.errors import PrinterBusyError, PrinterError
from terminal.backoff import Backoff, printer_backoff
from terminal.receipts.compose import mark_held, mark_reprint
from terminal.receipts.config import ReceiptConfig
from terminal.receipts.jobs import JobKind, JobStatus, PrintJob, ReceiptStore
from terminal.receipts.printlock import PrinterLock
from terminal.receipts.reports import PrintOutcome, QueueReport, failure_message
from terminal.receipts.strings import ReceiptStrings, strings_for

if TYPE_CHECKING:
    from drivers.printer.printer import ReceiptPrinter

log = logging.getLogger(__name__)

REPRINT_SOURCES = (
    JobKind.SALE_CUSTOMER,
    JobKind.VOID,
    JobKind.DAY_CLOSE,
    JobKind.BALANCE,
    JobKind.SALE_SHOP,
)
"""Which stored job a reprint copies, first found wins: the holder's paper first."""

FOREGROUND_SECONDS = 10.0
"""How long an operation may print in front of its holder before its receipt waits."""
RECORDING_RESERVE = 0.1
"""Of the foreground's time, what is kept back from the printer for recording the outcome and
telling the cashier, so the whole foreground ends within its bound."""


class HeldPolicy(enum.StrEnum):
    """What the background does with a holder's paper that missed its own sale."""

    HOLD = "hold"
    """Never print it unasked: it waits for a reprint (the default)."""
    HEADER = "header"
    """Print it when the printer can, under a header naming its own transaction."""


@dataclass(frozen=True)
class _Run:
    """Which jobs a run prints and how."""

    foreground: bool
    deadline: float | None = None
    """:func:`time.monotonic` instant the whole run must end by (foreground)."""
    header: bool = False
    """Print a holder's paper under a header naming its transaction."""


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
        lock: PrinterLock | None = None,
        held: HeldPolicy = HeldPolicy.HOLD,
        foreground_seconds: float = FOREGROUND_SECONDS,
    ) -> None:
        self.store = store
        self.printer = printer
        self.config = config or ReceiptConfig()
        self.backoff = backoff or printer_backoff()
        self.lock = lock or PrinterLock()
        self.held_policy = held
        self.foreground_seconds = foreground_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self.on_report = on_report
        self._state = threading.Lock()
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

    # -- in front of the holder ----------------------------------------------------------------
    def serving(self) -> contextlib.AbstractContextManager[None]:
        """Around an operation done in front of its holder: background printing pauses, so it
        neither takes the holder's receipt nor holds up its printing."""
        return self.lock.foreground()

    def print_foreground(self, job_ids: Sequence[int], seconds: float | None = None) -> QueueReport:
        """Print these jobs (one operation's receipts) now, within ``seconds`` (default: the
        queue's foreground bound); what does not make it waits, as the report says."""
        with self.lock.foreground():
            return self._publish(self._foreground(job_ids, seconds))

    def _foreground(self, job_ids: Sequence[int], seconds: float | None = None) -> QueueReport:
        limit = self.foreground_seconds if seconds is None else seconds
        reserve = min(RECORDING_RESERVE, limit / 10)
        run = _Run(foreground=True, deadline=time.monotonic() + limit - reserve)
        jobs = self._read(lambda: [j for j in map(self.store.job, job_ids) if j is not None])
        if isinstance(jobs, str):
            return QueueReport(message=jobs)
        return self._run(jobs, run)

    def reprint(self, record_id: uuid.UUID) -> QueueReport:
        """The cashier's "print again" for one record, in front of its holder: a receipt of it
        that has not printed is printed (marked SALINAN if it may be on paper already);
        otherwise a new SALINAN job of the holder's copy is added and printed."""
        with self.lock.foreground():
            return self._publish(self._reprint(record_id))

    def _reprint(self, record_id: uuid.UUID) -> QueueReport:
        jobs = self._read(lambda: self.store.jobs_for_record(record_id))
        if isinstance(jobs, str):
            return QueueReport(message=jobs)
        waiting = [j.job_id for j in jobs if not self._is_printed(j)]
        if not waiting:
            source = next((j for kind in REPRINT_SOURCES for j in jobs if j.kind is kind), None)
            if source is None:
                return QueueReport(message=self._strings.queue_no_receipt)
            data = mark_reprint(source.data, self._wall_clock(), self.config)
            try:
                waiting = [self.store.add_job(record_id, JobKind.REPRINT, data)]
            except Exception as exc:
                log.exception("queueing a reprint of %s failed", record_id)
                return QueueReport(message=self._strings.queue_store_error.format(error=exc))
        return dataclasses.replace(self._foreground(waiting), job_id=waiting[0])

    def interrupted(self, job_ids: Sequence[int]) -> str:
        """What to tell the cashier when printing these jobs was stopped (Ctrl-C): what may be
        on paper and what happens to the rest, like any other failure."""
        jobs = self._read(lambda: [j for j in map(self.store.job, job_ids) if j is not None])
        if isinstance(jobs, str):
            return jobs
        left = [j for j in jobs if not self._is_printed(j)]
        reason = self._strings.queue_interrupted
        if not left:
            return f"{reason} {self._strings.queue_printed}"
        sent = any(j.sent for j in left)
        stopped = PrintOutcome(left[0].job_id, False, "interrupted", sent=sent, reason=reason)
        return self._failure_message(stopped, left, _Run(foreground=True))

    def print_held(self) -> QueueReport:
        """Print every held holder's paper now, each under a header naming its transaction (the
        cashier asked for it; nobody takes it for the sale at the counter)."""
        with self.lock.foreground():
            jobs = self._read(self._held_jobs)
            if isinstance(jobs, str):
                return self._publish(QueueReport(message=jobs))
            return self._publish(self._run(jobs, _Run(foreground=True, header=True)))

    # -- in the background ---------------------------------------------------------------------
    def print_now(self) -> QueueReport:
        """Print what waits for the background now, whatever the backoff ("retry")."""
        return self._publish(self._background())

    def run_due(self) -> QueueReport | None:
        """Print what waits if the backoff after the last failure has passed (a timer tick)."""
        if self.seconds_until_retry() > 0:
            return None
        return self._publish(self._background())

    def seconds_until_retry(self) -> float:
        with self._state:
            return max(self._next_try - self._clock(), 0.0)

    def held_jobs(self) -> list[PrintJob]:
        """Holder's paper waiting for a reprint (empty under :attr:`HeldPolicy.HEADER`, where
        the background prints it)."""
        if self.held_policy is HeldPolicy.HEADER:
            return []
        jobs = self._read(self._held_jobs)
        return [] if isinstance(jobs, str) else jobs

    def _held_jobs(self) -> list[PrintJob]:
        return [
            j for j in self.store.pending_jobs() if j.kind.for_holder and not self._is_printed(j)
        ]

    def _background(self) -> QueueReport:
        header = self.held_policy is HeldPolicy.HEADER
        jobs = self._read(self.store.pending_jobs)
        if isinstance(jobs, str):
            return QueueReport(message=jobs)
        due = [j for j in jobs if header or not j.kind.for_holder]
        return self._run(due, _Run(foreground=False, header=header))

    # -- one run -------------------------------------------------------------------------------
    def _read(self, read: Callable[[], list[PrintJob]]) -> list[PrintJob] | str:
        """The store's answer, or the cashier's message when it cannot be read."""
        try:
            return read()
        except Exception as exc:
            log.exception("reading print jobs failed")
            return self._strings.queue_store_error.format(error=exc)

    def _is_printed(self, job: PrintJob) -> bool:
        with self._state:
            return job.status is JobStatus.PRINTED or job.job_id in self._confirmed

    def _run(self, jobs: list[PrintJob], run: _Run) -> QueueReport:
        outcomes: list[PrintOutcome] = []
        warnings: list[str] = []
        message: str | None = None
        for index, job in enumerate(jobs):
            if self._is_printed(job):
                self._catch_up(job)
                outcomes.append(PrintOutcome(job.job_id, True))
                continue
            if not run.foreground and self.lock.foreground_active():
                break  # a holder is being served: the background waits its turn
            outcome, job_warnings = self._attempt(job, run)
            outcomes.append(outcome)
            warnings.extend(w for w in job_warnings if w not in warnings)
            if not outcome.printed:
                message = self._failure_message(outcome, jobs[index:], run)
                break  # the printer cannot print now: the rest wait with this one
        pending = self._read(self.store.pending_jobs)
        waiting = (
            [] if isinstance(pending, str) else [j for j in pending if not self._is_printed(j)]
        )
        held: tuple[int, ...] = ()
        if self.held_policy is HeldPolicy.HOLD:
            held = tuple(j.job_id for j in waiting if j.kind.for_holder)
        return QueueReport(tuple(outcomes), len(waiting), message, tuple(warnings), None, held)

    def _attempt(self, job: PrintJob, run: _Run) -> tuple[PrintOutcome, tuple[str, ...]]:
        """One job, holding the printer: re-read, write-ahead mark, print, record."""
        wait_until = run.deadline
        if run.foreground and wait_until is None:
            wait_until = time.monotonic() + self.foreground_seconds
        with self.lock.hold(wait_until) as held:
            if not held:
                return self._busy(job), ()
            try:
                current = self.store.job(job.job_id) or job
            except Exception as exc:
                return self._failed(job, exc, sent=False), ()
            if self._is_printed(current):  # another sender printed it meanwhile
                self._catch_up(current)
                return PrintOutcome(job.job_id, True), ()
            data = self._bytes_for(current, run.header)
            sent = False

            def write_ahead() -> None:
                nonlocal sent
                self.store.mark_sent(current.job_id, self._wall_clock())
                sent = True

            try:
                report = self.printer.print_job(
                    data, deadline=run.deadline, before_send=write_ahead
                )
            except Exception as exc:
                return self._failed(current, exc, sent), ()
            with self._state:
                self._confirmed.add(job.job_id)
                self._failures = 0
                self._next_try = 0.0
            self._record_printed(job.job_id)
            return PrintOutcome(job.job_id, True, sent=True), report.warnings

    def _busy(self, job: PrintJob) -> PrintOutcome:
        """Another sender has the printer: nothing was tried, nothing is recorded."""
        busy = PrinterBusyError("another sender holds the printer")
        reason = busy.cashier_message(self.config.language)
        return PrintOutcome(job.job_id, False, busy.code, str(busy), reason=reason)

    def _bytes_for(self, job: PrintJob, header: bool) -> bytes:
        """The job's bytes as this attempt prints them: marked SALINAN once it may be on paper
        (a reprint job carries its mark already); under a header away from its holder."""
        data = job.data
        if job.sent and job.kind is not JobKind.REPRINT:
            data = mark_reprint(data, self._wall_clock(), self.config)
        if header and job.kind.for_holder:
            data = mark_held(data, job.record_seq, job.record_time, self.config)
        return data

    def _failed(self, job: PrintJob, exc: Exception, sent: bool) -> PrintOutcome:
        if isinstance(exc, PrinterError):
            code, reason = exc.code, exc.cashier_message(self.config.language)
        else:  # a bug below us, or the store refusing the mark, must still not reach the sale
            log.exception("printing job %s failed unexpectedly", job.job_id)
            code, reason = "internal", f"{type(exc).__name__}: {exc}"
        try:
            self.store.mark_failed(job.job_id, f"{code}: {exc}")
        except Exception:
            log.exception("recording the failure of print job %s failed", job.job_id)
        with self._state:
            self._failures += 1
            self._next_try = self._clock() + self.backoff.delay(self._failures - 1)
        return PrintOutcome(job.job_id, False, code, str(exc), sent, reason)

    def _failure_message(self, outcome: PrintOutcome, left: list[PrintJob], run: _Run) -> str:
        holding = self.held_policy is HeldPolicy.HOLD and not run.header
        return failure_message(
            outcome,
            left,
            self._strings,
            foreground=run.foreground,
            holding=holding,
            service=self.lock.worker_running(),
        )

    def _catch_up(self, job: PrintJob) -> None:
        """A job this process saw confirmed, which the store does not show printed yet."""
        if job.status is not JobStatus.PRINTED:
            self._record_printed(job.job_id)

    def _record_printed(self, job_id: int) -> None:
        try:
            self.store.mark_printed(job_id)
        except Exception:
            log.exception(
                "recording print job %s as printed failed; it will not print again", job_id
            )

    def _publish(self, report: QueueReport) -> QueueReport:
        self.last_report = report
        if self.on_report is not None:
            try:
                self.on_report(report)
            except Exception:
                log.exception("print queue report callback failed")
        return report

    # -- the print service ---------------------------------------------------------------------
    def kick(self) -> None:
        """Ask the worker to print now (non-blocking)."""
        self._kick.set()

    def watch(self, stop: threading.Event, tick: float = 1.0) -> bool:
        """Be the terminal's print service until ``stop``: print what waits on every kick and,
        on the backoff schedule, every ``tick``. False at once if another service runs."""
        with self.lock.worker() as mine:
            if not mine:
                return False
            while not stop.is_set():
                kicked = self._kick.wait(tick)
                self._kick.clear()
                if stop.is_set():
                    break
                try:
                    self.print_now() if kicked else self.run_due()
                except Exception:  # pragma: no cover - a run never raises; belt and braces
                    log.exception("print service")
        return True

    def start(self, tick: float = 1.0) -> None:
        """Run :meth:`watch` in a thread (the cashier app's own print service)."""
        if self._worker is not None:
            return
        self._stop.clear()
        self._worker = threading.Thread(
            target=self.watch, args=(self._stop, tick), name="print-queue", daemon=True
        )
        self._worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._kick.set()
        if self._worker is not None:
            self._worker.join(timeout)
            self._worker = None
