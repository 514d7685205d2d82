"""The print queue's rules, with a scripted printer and clock: backoff, never twice once
confirmed, store failures, reprint semantics, and no exception ever reaching the sale."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from drivers.printer.errors import (
    PrinterDisconnectedError,
    PrinterError,
    PrinterNotReadyError,
    PrinterUnreachableError,
)
from drivers.printer.printer import JobReport
from drivers.printer.status import PrinterStatus
from ledger.printjobs import JobKind, JobStatus
from terminal.receipts.compose import ReceiptConfig
from terminal.receipts.model import Language
from terminal.receipts.queue import Backoff, PrintQueue, QueueReport
from tests.fixtures.printer import MemoryReceiptStore

OK = PrinterStatus(True, False, False, False, b"\x12\x12\x12")
RECORD = uuid.UUID("01932c4e-8a10-7c3e-9d2a-5b6f7e8d9c0a")


class ScriptedPrinter:
    """Prints (records the bytes) unless ``fail`` holds an error to raise."""

    def __init__(self) -> None:
        self.printed: list[bytes] = []
        self.fail: Exception | None = None
        self.attempts = 0

    def print_job(self, data: bytes) -> JobReport:
        self.attempts += 1
        if self.fail is not None:
            raise self.fail
        self.printed.append(data)
        return JobReport(OK, OK, len(data), True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    store: MemoryReceiptStore, printer: ScriptedPrinter, clock: Callable[[], float] | None = None
) -> PrintQueue:
    return PrintQueue(
        store,
        printer,
        backoff=Backoff(first=2, factor=2, limit=10),
        clock=clock or Clock(),
        wall_clock=lambda: 1_795_003_600,
    )


def sale(store: MemoryReceiptStore) -> None:
    store.add_job(RECORD, JobKind.SALE_CUSTOMER, b"\x1b@customer\n\x1dVB\x00")
    store.add_job(RECORD, JobKind.SALE_SHOP, b"\x1b@shop\n\x1dVB\x00")


def test_backoff_doubles_up_to_its_limit_and_retry_now_ignores_it(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer, clock = ScriptedPrinter(), Clock()
    queue = make(receipt_store, printer, clock)
    sale(receipt_store)
    printer.fail = PrinterUnreachableError("refused")

    delays = []
    for _ in range(5):
        assert not queue.print_now().ok
        delays.append(queue.seconds_until_retry())
    assert delays == [2, 4, 8, 10, 10]
    assert queue.run_due() is None, "not due yet: the printer is left alone"
    assert printer.attempts == 5
    clock.now += 10
    printer.fail = None
    report = queue.run_due()
    assert report is not None and report.printed == [1, 2]
    assert queue.seconds_until_retry() == 0


def test_a_failure_stops_the_run_and_later_jobs_wait_their_turn(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    sale(receipt_store)
    printer.fail = PrinterNotReadyError(PrinterStatus(True, False, True, False), "before")
    report = queue.print_now()
    assert [o.job_id for o in report.outcomes] == [1] and report.pending == 2
    assert report.message == (
        "Kertas printer habis. Pasang gulungan kertas baru. Transaksi tetap tersimpan; "
        "struk dicetak otomatis saat printer siap."
    )
    job = receipt_store.jobs[1]
    assert job.status is JobStatus.FAILED and job.attempts == 1
    assert job.last_error == "not_ready: printer not ready before the job: paper_end"
    assert receipt_store.jobs[2].attempts == 0


def test_a_confirmed_job_never_prints_twice_even_if_the_store_lags(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    sale(receipt_store)
    receipt_store.fail_mark_printed = True

    first = queue.print_now()
    second = queue.print_now()

    assert first.printed == [1, 2] and second.printed == []
    assert len(printer.printed) == 2
    receipt_store.fail_mark_printed = False
    queue.print_now()
    assert receipt_store.pending_jobs() == [], "the store catches up without printing again"
    assert len(printer.printed) == 2


def test_nothing_raises_into_the_sale(receipt_store: MemoryReceiptStore) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    sale(receipt_store)
    printer.fail = RuntimeError("driver bug")
    report = queue.print_now()
    assert report.outcomes[0].error_code == "internal" and report.message
    receipt_store.fail_reads = True
    assert "Antrian struk tidak dapat dibaca" in str(queue.print_now().message)
    assert "Antrian struk tidak dapat dibaca" in str(queue.reprint(RECORD).message)


def test_english_messages_by_config(receipt_store: MemoryReceiptStore) -> None:
    printer = ScriptedPrinter()
    queue = PrintQueue(receipt_store, printer, config=ReceiptConfig(language=Language.ENGLISH))
    sale(receipt_store)
    printer.fail = PrinterDisconnectedError("reset")
    assert queue.print_now().message == (
        "The connection to the printer was lost while printing. The sale is saved; "
        "the receipt prints by itself when the printer is ready."
    )


def test_reprint_of_an_unprinted_receipt_retries_it_without_a_copy_mark(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    sale(receipt_store)
    printer.fail = PrinterUnreachableError("refused")
    queue.print_now()
    printer.fail = None

    report = queue.reprint(RECORD)

    assert report.ok and report.printed == [1, 2] and report.job_id == 1
    assert len(receipt_store.jobs) == 2, "no new job: the original prints once"
    assert all(b"SALINAN" not in data for data in printer.printed)


def test_reprint_of_a_printed_receipt_is_a_new_salinan_job(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    sale(receipt_store)
    queue.print_now()

    report = queue.reprint(RECORD)

    assert report.printed == [3] and report.job_id == 3
    job = receipt_store.jobs[3]
    assert job.kind is JobKind.REPRINT and job.record_id == RECORD
    assert b"SALINAN" in job.data and b"customer" in job.data and b"shop" not in job.data
    assert job.data.count(b"\x1dV") == 1, "one paper, one cut"
    assert queue.reprint(uuid.uuid4()).message == "Tidak ada struk untuk transaksi ini."


def test_reprint_while_the_printer_is_down_keeps_one_reprint_job(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    sale(receipt_store)
    queue.print_now()
    printer.fail = PrinterUnreachableError("refused")
    assert not queue.reprint(RECORD).ok
    assert not queue.reprint(RECORD).ok, "asking again while it is pending adds nothing"
    assert len(receipt_store.jobs) == 3
    printer.fail = None
    assert queue.print_now().printed == [3]


def test_worker_prints_when_kicked_and_reports(receipt_store: MemoryReceiptStore) -> None:
    printer = ScriptedPrinter()
    seen = threading.Event()

    def on_report(report: QueueReport) -> None:
        if report.printed:
            seen.set()

    queue = PrintQueue(receipt_store, printer, on_report=on_report)
    queue.start(tick=60)
    try:
        sale(receipt_store)
        queue.kick()
        assert seen.wait(10)
    finally:
        queue.stop()
    assert queue.last_report.printed == [1, 2]


def test_printer_errors_carry_codes_and_both_languages() -> None:
    error: PrinterError = PrinterUnreachableError("tcp://x: refused")
    assert error.code == "unreachable" and str(error) == "tcp://x: refused"
    assert error.cashier_message("en").startswith("Cannot reach the printer")
    assert error.cashier_message().startswith("Printer tidak dapat dihubungi")
