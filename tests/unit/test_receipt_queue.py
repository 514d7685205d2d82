"""The print queue's rules, with a scripted printer and clock: the write-ahead mark before the
first byte, SALINAN on every attempt after it, the holder's paper only in front of its holder,
backoff, never twice once confirmed, store failures, reprint, and no exception reaching the
sale."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from drivers.printer.errors import (
    PrinterDisconnectedError,
    PrinterError,
    PrinterNotReadyError,
    PrinterUnreachableError,
)
from drivers.printer.printer import JobReport
from drivers.printer.status import PrinterStatus
from terminal.backoff import Backoff
from terminal.receipts.config import ReceiptConfig
from terminal.receipts.jobs import JobKind, JobStatus
from terminal.receipts.model import Language
from terminal.receipts.printlock import PrinterLock
from terminal.receipts.queue import HeldPolicy, PrintQueue
from terminal.receipts.reports import QueueReport
from tests.fixtures.printer import MemoryReceiptStore

OK = PrinterStatus(True, False, False, False, b"\x12\x12\x12")
PAPER_END = PrinterStatus(True, False, True, False)
RECORD = uuid.UUID("01932c4e-8a10-7c3e-9d2a-5b6f7e8d9c0a")
EARLIER = uuid.UUID("01932c4e-0000-7c3e-9d2a-5b6f7e8d9c0a")
NOT_PRINTED = "Struk belum tercetak."
MAYBE = "Struk mungkin sudah (sebagian) tercetak; cetakan berikutnya bertanda SALINAN."


class ScriptedPrinter:
    """Prints (keeps the bytes) unless told to fail before the bytes (nothing on paper) or
    after them (the paper may be out, the printer never said so)."""

    def __init__(self, store: MemoryReceiptStore | None = None) -> None:
        self.store = store
        self.papers: list[bytes] = []
        """Every job whose bytes went out, confirmed or not."""
        self.fail_before: Exception | None = None
        self.fail_after: Exception | None = None
        self.attempts = 0
        self.marked_before_bytes: list[bool] = []

    @property
    def printed(self) -> list[bytes]:
        return self.papers

    def print_job(
        self,
        data: bytes,
        *,
        deadline: float | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> JobReport:
        self.attempts += 1
        if self.fail_before is not None:
            raise self.fail_before
        if before_send is not None:
            before_send()
        if self.store is not None:
            self.marked_before_bytes.append(len(self.store.events) == len(self.papers) + 1)
        self.papers.append(data)
        if self.fail_after is not None:
            raise self.fail_after
        return JobReport(OK, OK, len(data), True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    store: MemoryReceiptStore,
    printer: ScriptedPrinter,
    clock: Callable[[], float] | None = None,
    **options: object,
) -> PrintQueue:
    return PrintQueue(
        store,
        printer,
        backoff=Backoff(base=2, cap=10, jitter=False),
        clock=clock or Clock(),
        wall_clock=lambda: 1_795_003_600,
        **options,  # type: ignore[arg-type]
    )


def sale(store: MemoryReceiptStore, record: uuid.UUID = RECORD) -> list[int]:
    return [
        store.add_job(record, JobKind.SALE_CUSTOMER, b"\x1b@customer\n\x1dVB\x00"),
        store.add_job(record, JobKind.SALE_SHOP, b"\x1b@shop\n\x1dVB\x00"),
    ]


def test_backoff_doubles_up_to_its_limit_and_retry_now_ignores_it(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer, clock = ScriptedPrinter(), Clock()
    queue = make(receipt_store, printer, clock)
    receipt_store.add_job(RECORD, JobKind.SALE_SHOP, b"shop")
    receipt_store.add_job(None, JobKind.DAY_CLOSE, b"z")
    printer.fail_before = PrinterUnreachableError("refused")

    delays = []
    for _ in range(5):
        assert not queue.print_now().ok
        delays.append(queue.seconds_until_retry())
    assert delays == [2, 4, 8, 10, 10]
    assert queue.run_due() is None, "not due yet: the printer is left alone"
    assert printer.attempts == 5
    clock.now += 10
    printer.fail_before = None
    report = queue.run_due()
    assert report is not None and report.printed == [1, 2]
    assert queue.seconds_until_retry() == 0


def test_the_sent_mark_is_committed_before_the_first_byte(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter(receipt_store)
    queue = make(receipt_store, printer)
    jobs = sale(receipt_store)
    assert queue.print_foreground(jobs).printed == jobs
    assert receipt_store.events == [("sent", 1), ("sent", 2)]
    assert printer.marked_before_bytes == [True, True]


def test_after_bytes_went_out_every_later_attempt_is_marked_salinan(
    receipt_store: MemoryReceiptStore,
) -> None:
    """Link dropped after the cut, no status reply, cover opened after the cut: the paper may be
    out whole. The retry must not be a second unmarked original."""
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    (customer, _) = sale(receipt_store)
    printer.fail_after = PrinterDisconnectedError("reset after the cut")

    failed = queue.print_foreground([customer])
    assert failed.message is not None and MAYBE in failed.message
    assert receipt_store.jobs[customer].sent
    second = queue.print_foreground([customer])  # the fault persists
    printer.fail_after = None
    third = queue.reprint(RECORD)

    assert not second.ok and third.ok and third.printed == [customer, 2]
    original, *retries = [p for p in printer.papers if b"customer" in p]
    assert b"SALINAN" not in original
    assert len(retries) == 2 and all(b"SALINAN" in r for r in retries)
    assert all(b"Dicetak ulang" in r for r in retries)
    assert b"SALINAN" not in printer.papers[-1], "the shop copy never went out: an original"


def test_a_failure_before_any_byte_leaves_the_next_attempt_an_original(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    jobs = sale(receipt_store)
    printer.fail_before = PrinterNotReadyError(PAPER_END, "before")
    report = queue.print_foreground(jobs)
    assert [o.job_id for o in report.outcomes] == [1] and report.pending == 2
    assert report.message == (
        "Kertas printer habis. Pasang gulungan kertas baru. Struk belum tercetak. "
        "Struk pembeli ditahan: cetak ulang untuk pembeli ini saat printer siap. "
        "Layanan cetak tidak berjalan: struk yang menunggu dicetak dengan perintah cetak. "
        "Transaksi tetap tersimpan."
    )
    job = receipt_store.jobs[1]
    assert job.status is JobStatus.FAILED and job.attempts == 1 and not job.sent
    assert job.last_error == "not_ready: printer not ready before the job: paper_end"
    assert receipt_store.jobs[2].attempts == 0
    printer.fail_before = None
    assert queue.reprint(RECORD).printed == [1, 2]
    assert all(b"SALINAN" not in p for p in printer.papers)


def test_the_background_never_prints_a_holders_paper_unasked(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    earlier = sale(receipt_store, EARLIER)
    balance = receipt_store.add_job(None, JobKind.BALANCE, b"\x1b@Sisa saldo\n\x1dVB\x00")

    background = queue.print_now()

    assert background.printed == [earlier[1]], "only the shop copy"
    assert background.held == (earlier[0], balance)
    assert [p for p in printer.papers if b"customer" in p or b"saldo" in p] == []
    assert [j.job_id for j in queue.held_jobs()] == [earlier[0], balance]


def test_a_sale_prints_only_its_own_receipts_in_the_foreground(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    earlier = sale(receipt_store, EARLIER)
    for n in range(6):
        receipt_store.add_job(None, JobKind.DAY_CLOSE, f"old {n}".encode())
    mine = sale(receipt_store)

    report = queue.print_foreground(mine)

    assert report.ok and report.printed == mine
    assert printer.attempts == 2, "older jobs are not the sale's business"
    assert report.held == (earlier[0],) and report.pending == 8


def test_held_copies_print_under_a_header_naming_their_transaction_when_the_shop_says_so(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer, held=HeldPolicy.HEADER)
    customer, shop = sale(receipt_store, EARLIER)
    receipt_store.jobs[customer] = dataclasses.replace(
        receipt_store.jobs[customer], record_seq=123, record_time=1_795_000_000
    )

    report = queue.print_now()

    assert report.printed == [customer, shop] and report.held == ()
    paper = printer.papers[0]
    assert b"STRUK TERTUNDA" in paper and b"Milik transaksi No. 000123" in paper
    assert b"18-11-2026 19:06 WITA" in paper and paper.endswith(b"customer\n\x1dVB\x00")
    assert b"TERTUNDA" not in printer.papers[1], "the shop's own copy needs no header"


def test_print_held_prints_every_held_copy_under_its_header(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    balance = receipt_store.add_job(None, JobKind.BALANCE, b"\x1b@saldo\n\x1dVB\x00")
    report = queue.print_held()
    assert report.printed == [balance] and report.held == ()
    assert b"Milik pelanggan sebelumnya" in printer.papers[0]


def test_the_background_steps_aside_while_a_holder_is_served(
    receipt_store: MemoryReceiptStore, tmp_path: Path
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer, lock=PrinterLock(tmp_path))
    receipt_store.add_job(None, JobKind.DAY_CLOSE, b"z")
    cashier_app = PrinterLock(tmp_path)  # another process of the same terminal
    with cashier_app.foreground():
        assert queue.print_now().printed == []
    assert queue.print_now().printed == [1]


def test_a_printer_held_by_another_sender_is_busy_not_silent(
    receipt_store: MemoryReceiptStore, tmp_path: Path
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer, lock=PrinterLock(tmp_path))
    jobs = sale(receipt_store)
    with PrinterLock(tmp_path).hold(None) as held:
        assert held
        report = queue.print_foreground(jobs, seconds=0.2)
    assert report.message is not None
    assert report.message.startswith(f"Printer sedang mencetak struk lain. {NOT_PRINTED}")
    assert printer.attempts == 0 and receipt_store.jobs[1].attempts == 0, "nothing was tried"


def test_the_message_says_whether_a_print_service_will_print_what_waits(
    receipt_store: MemoryReceiptStore, tmp_path: Path
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer, lock=PrinterLock(tmp_path))
    receipt_store.add_job(None, JobKind.DAY_CLOSE, b"z")
    printer.fail_before = PrinterUnreachableError("refused")
    assert "Layanan cetak tidak berjalan" in str(queue.print_now().message)
    with PrinterLock(tmp_path).worker() as service:
        assert service
        assert "dicetak otomatis oleh layanan cetak" in str(queue.print_now().message)


def test_a_confirmed_job_never_prints_twice_even_if_the_store_lags(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    jobs = sale(receipt_store)
    receipt_store.fail_mark_printed = True

    first = queue.print_foreground(jobs)
    second = queue.print_foreground(jobs)

    assert first.printed == [1, 2] and second.printed == [1, 2]
    assert len(printer.papers) == 2
    receipt_store.fail_mark_printed = False
    queue.print_now()
    queue.print_foreground(jobs)
    assert receipt_store.pending_jobs() == [], "the store catches up without printing again"
    assert len(printer.papers) == 2


def test_nothing_raises_into_the_sale(receipt_store: MemoryReceiptStore) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    jobs = sale(receipt_store)
    printer.fail_before = RuntimeError("driver bug")
    report = queue.print_foreground(jobs)
    assert report.outcomes[0].error_code == "internal" and report.message
    receipt_store.fail_reads = True
    assert "Antrian struk tidak dapat dibaca" in str(queue.print_now().message)
    assert "Antrian struk tidak dapat dibaca" in str(queue.reprint(RECORD).message)


def test_a_store_that_cannot_take_the_mark_gets_no_bytes_sent(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    jobs = sale(receipt_store)

    def refuse(job_id: int, time: int) -> None:
        raise OSError("disk full")

    receipt_store.mark_sent = refuse  # type: ignore[method-assign]
    report = queue.print_foreground(jobs)
    assert printer.papers == [] and report.outcomes[0].error_code == "internal"
    assert report.message is not None and NOT_PRINTED in report.message


def test_english_messages_by_config(receipt_store: MemoryReceiptStore) -> None:
    printer = ScriptedPrinter()
    queue = PrintQueue(receipt_store, printer, config=ReceiptConfig(language=Language.ENGLISH))
    jobs = sale(receipt_store)
    printer.fail_after = PrinterDisconnectedError("reset")
    assert queue.print_foreground(jobs).message == (
        "The connection to the printer was lost. The receipt may have printed (in part); the "
        "next print is marked COPY. The customer's receipt is held: reprint it for this "
        "customer when the printer is ready. The print service is not running: waiting "
        "receipts print on the print command. The sale is saved."
    )


def test_reprint_of_a_printed_receipt_is_a_new_salinan_job(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    queue.print_foreground(sale(receipt_store))

    report = queue.reprint(RECORD)

    assert report.printed == [3] and report.job_id == 3
    job = receipt_store.jobs[3]
    assert job.kind is JobKind.REPRINT and job.record_id == RECORD
    assert b"SALINAN" in job.data and b"customer" in job.data and b"shop" not in job.data
    assert job.data.count(b"\x1dV") == 1, "one paper, one cut"
    assert printer.papers[-1] == job.data, "a reprint job carries its mark already"
    assert queue.reprint(uuid.uuid4()).message == "Tidak ada struk untuk transaksi ini."


def test_reprint_while_the_printer_is_down_keeps_one_reprint_job(
    receipt_store: MemoryReceiptStore,
) -> None:
    printer = ScriptedPrinter()
    queue = make(receipt_store, printer)
    queue.print_foreground(sale(receipt_store))
    printer.fail_before = PrinterUnreachableError("refused")
    assert not queue.reprint(RECORD).ok
    assert not queue.reprint(RECORD).ok, "asking again while it is pending adds nothing"
    assert len(receipt_store.jobs) == 3
    printer.fail_before = None
    assert queue.print_now().printed == [], "a reprint is holder's paper: never unasked"
    assert queue.reprint(RECORD).printed == [3]


def test_worker_prints_when_kicked_and_reports(
    receipt_store: MemoryReceiptStore, tmp_path: Path
) -> None:
    printer = ScriptedPrinter()
    seen = threading.Event()

    def on_report(report: QueueReport) -> None:
        if report.printed:
            seen.set()

    lock = PrinterLock(tmp_path)
    queue = PrintQueue(receipt_store, printer, on_report=on_report, lock=lock)
    queue.start(tick=60)
    try:
        deadline = time.monotonic() + 30  # generous: CI machines are shared and busy
        while not lock.worker_running():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not PrintQueue(receipt_store, printer, lock=PrinterLock(tmp_path)).watch(
            threading.Event()
        ), "one print service per terminal"
        sale(receipt_store)
        queue.kick()
        assert seen.wait(30)
    finally:
        queue.stop()
    assert queue.last_report.printed == [2]
    assert not lock.worker_running()


def test_printer_errors_carry_codes_and_both_languages() -> None:
    error: PrinterError = PrinterUnreachableError("tcp://x: refused")
    assert error.code == "unreachable" and str(error) == "tcp://x: refused"
    assert error.cashier_message("en").startswith("Cannot reach the printer")
    assert error.cashier_message().startswith("Printer tidak dapat dihubungi")
