"""The fleet's paper proof (simulators/fleet/paper.py) on hand-made paper and a hand-made
journal: honest paper passes; a second unmarked original, a torn original followed by a whole
unmarked one, paper no journal job explains, a receipt never on paper whole, and an unmarked copy
of a receipt cut before its status was lost each fail."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from simulators.fleet.paper import PaperReport, prove_printer, read_journal, read_paper
from simulators.printer.server import PrinterSimulator, Session
from terminal.receipts.compose import mark_held, mark_reprint, print_jobs
from terminal.receipts.config import ReceiptConfig
from tests.fixtures.printer import REPRINT_TIME, sale_receipt, void_slip

CONFIG = ReceiptConfig()
SALE = sale_receipt()
CUSTOMER, SHOP_COPY = (data for _, data in print_jobs(SALE, CONFIG))
VOID = print_jobs(void_slip(), CONFIG)[0][1]


def _journal(path: Path, status: str = "printed") -> Path:
    """A journal's print jobs and records, as the terminal's schema holds them."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, id BLOB NOT NULL)")
    db.execute(
        "CREATE TABLE print_jobs (job_id INTEGER PRIMARY KEY, record_id BLOB, kind TEXT,"
        " data BLOB, status TEXT, first_sent INTEGER)"
    )
    void_id = uuid.UUID("01932c4f-0000-7c3e-9d2a-5b6f7e8d9c0b")
    db.execute(
        "INSERT INTO records VALUES (123, ?), (124, ?)", (SALE.ref.record_id.bytes, void_id.bytes)
    )
    jobs = [
        (1, SALE.ref.record_id.bytes, "sale-customer", CUSTOMER),
        (2, SALE.ref.record_id.bytes, "sale-shop", SHOP_COPY),
        (3, void_id.bytes, "void", VOID),
    ]
    for job_id, record, kind, data in jobs:
        db.execute(
            "INSERT INTO print_jobs VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, record, kind, data, status, REPRINT_TIME),
        )
    db.commit()
    db.close()
    return path


def _paper(folder: Path, prints: list[bytes | tuple[bytes, int]], lost: int | None = None) -> Path:
    """Job files as the printer writes them; ``(data, n)``: only n bytes reached it (torn);
    print number ``lost`` is cut, then the link drops before its status (``after_cut drop``)."""
    simulator = PrinterSimulator(folder, png=False)
    for n, item in enumerate(prints):
        data, size = item if isinstance(item, tuple) else (item, len(item))
        if n == lost:
            simulator.control("fault after_cut drop")
        session = Session(simulator.device, "tcp", lambda _: None)
        session.feed(data[:size])
        session.end()
    simulator.device.wait_idle()
    simulator.stop()
    return folder


def _report(
    tmp_path: Path,
    prints: list[bytes | tuple[bytes, int]],
    status: str = "printed",
    lost: int | None = None,
) -> PaperReport:
    jobs = read_journal(_journal(tmp_path / "journal.sqlite", status))
    paper = read_paper(_paper(tmp_path / "paper", prints, lost))
    return prove_printer(paper, jobs, "SMD-0001")


def _problems(
    tmp_path: Path, prints: list[bytes | tuple[bytes, int]], status: str = "printed"
) -> list[str]:
    return _report(tmp_path, prints, status).problems


def _salinan(data: bytes) -> bytes:
    return mark_reprint(data, REPRINT_TIME, CONFIG)


def test_honest_paper_passes_a_torn_original_its_salinan_and_a_held_one(tmp_path: Path) -> None:
    prints: list[bytes | tuple[bytes, int]] = [
        (CUSTOMER, 600),  # the paper ran out in the middle of the customer copy
        SHOP_COPY,
        mark_held(_salinan(CUSTOMER), 123, REPRINT_TIME, CONFIG),  # caught up under its header
        mark_held(VOID, 124, REPRINT_TIME, CONFIG),
    ]
    report = _report(tmp_path, prints)
    assert report.problems == []
    assert report.counts["salinan"] == 1
    assert report.counts["torn"] == 1
    assert report.counts["held_printed"] == 2
    assert report.counts["customer_receipts_proven"] == 1


def test_a_second_unmarked_original_fails(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [CUSTOMER, SHOP_COPY, VOID, CUSTOMER])
    assert any("second unmarked original" in p for p in problems), problems


def test_a_torn_original_then_a_whole_unmarked_one_fails(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [(CUSTOMER, 400), CUSTOMER, SHOP_COPY, VOID])
    assert any("torn unmarked original" in p for p in problems), problems


def test_an_original_after_its_salinan_fails(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [_salinan(CUSTOMER), CUSTOMER, SHOP_COPY, VOID])
    assert any("after a SALINAN" in p for p in problems), problems


def test_paper_no_journal_job_explains_fails(tmp_path: Path) -> None:
    stranger = CUSTOMER.replace(b"Siti", b"Budi")
    problems = _problems(tmp_path, [CUSTOMER, SHOP_COPY, VOID, stranger])
    assert any("no journal job reads like it" in p for p in problems), problems


def test_a_receipt_never_on_paper_whole_or_not_printed_fails(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [(CUSTOMER, 600), SHOP_COPY, VOID], status="pending")
    assert any("on paper whole 0 times" in p for p in problems), problems
    assert any("is pending" in p for p in problems), problems


def test_a_receipt_cut_before_its_status_was_lost_then_salinan_passes(tmp_path: Path) -> None:
    prints: list[bytes | tuple[bytes, int]] = [CUSTOMER, SHOP_COPY, _salinan(CUSTOMER), VOID]
    report = _report(tmp_path, prints, lost=0)
    assert report.problems == []
    assert report.counts["status_lost"] == report.counts["status_lost_then_salinan"] == 1


def test_a_receipt_cut_before_its_status_was_lost_and_not_again_passes(tmp_path: Path) -> None:
    report = _report(tmp_path, [CUSTOMER, SHOP_COPY, VOID], lost=0)
    assert report.problems == []
    assert report.counts["status_lost"] == report.counts["status_lost_not_again"] == 1


def test_a_second_original_after_a_lost_status_fails(tmp_path: Path) -> None:
    report = _report(tmp_path, [CUSTOMER, SHOP_COPY, VOID, CUSTOMER], lost=0)
    assert any("cut before its status was lost" in p for p in report.problems), report.problems
