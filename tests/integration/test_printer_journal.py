"""The print queue on the real terminal journal (its ReceiptStore) and the simulator on TCP:
receipts built from the journal's signed records print, survive a printer fault, and reprint
as SALINAN, with the journal keeping each job's state."""

from __future__ import annotations

import datetime as dt
import uuid

from drivers.printer.printer import open_printer
from ledger.record import RecordType
from simulators.printer.server import PrinterSimulator
from terminal.journal import Journal
from terminal.receipts.build import receipts_for_record
from terminal.receipts.config import PurseInfo, ReceiptConfig, ReceiptContext
from terminal.receipts.jobs import JobKind, JobStatus
from terminal.receipts.model import ShopInfo, parse_qr_payload
from terminal.receipts.queue import PrintQueue
from tests.factories import T0
from tests.fixtures.journal import JournalKit, Pending

CONTEXT = ReceiptContext(
    ReceiptConfig(),
    ShopInfo("Mitra Bebaya Mart Sungai Pinang", "Jl. D.I. Panjaitan, Samarinda"),
    {"APBD": PurseInfo("Saldo Kota", dt.date(2026, 12, 31)), "BZNS": PurseInfo("Saldo BAZNAS")},
    cashier="kasir-1",
    offline=True,
)


def commit_with_receipts(journal: Journal, pending: Pending) -> None:
    """The sale engine's few lines: the receipts are composed from the freshly signed record
    inside the journal's commit, so record and receipt bytes land in one transaction."""
    journal.begin_intent(pending.intent)
    journal.complete_intent(
        pending.intent.id,
        pending.record_type,
        pending.body,
        pending.intent.created,
        lambda record: receipts_for_record(record, CONTEXT),
    )


def records_void_id(journal: Journal) -> uuid.UUID:
    void = journal.record_at(2)
    assert void is not None and void.type is RecordType.VOID
    return void.id


def test_sale_void_and_day_close_print_from_the_journal(
    journal: Journal, journal_kit: JournalKit, printer_sim: PrinterSimulator
) -> None:
    queue = PrintQueue(journal, open_printer(printer_sim.tcp_url + "?timeout=2"))
    commit_with_receipts(journal, journal_kit.sale())
    sale = journal.record_at(1)
    assert sale is not None

    printer_sim.control("fault paper_end")
    failed = queue.print_foreground([1, 2])
    assert failed.message is not None and failed.message.startswith("Kertas printer habis")
    assert [(j.kind, j.status) for j in journal.pending_jobs()] == [
        (JobKind.SALE_CUSTOMER, JobStatus.FAILED),
        (JobKind.SALE_SHOP, JobStatus.PENDING),
    ]
    printer_sim.control("clear")
    assert queue.reprint(sale.id).printed == [1, 2]

    commit_with_receipts(journal, journal_kit.void(sale, time=T0 + 60))
    summary = journal.business_day_summary(dt.date(2026, 11, 18))
    journal.append_record(
        RecordType.DAY_CLOSE,
        summary.to_value(),
        T0 + 120,
        lambda record: receipts_for_record(record, CONTEXT),
    )
    background = queue.print_now()
    assert background.printed == [4] and background.held == (3,), "the void slip is held"
    assert queue.reprint(records_void_id(journal)).printed == [3]
    assert queue.reprint(sale.id).printed == [5]

    papers = printer_sim.wait_for_jobs(5)
    assert journal.pending_jobs() == []
    records = {r.seq: r for r in journal.records()}
    for paper, seq in zip(papers, [1, 1, 3, 2, 1], strict=True):
        (payload,) = paper.meta["qr"]
        assert parse_qr_payload(payload).record_id == records[seq].id
        assert parse_qr_payload(payload).hash_prefix == records[seq].hash()[:8]
    assert "LAPORAN TUTUP HARI (Z)" in papers[2].text and "PEMBATALAN" in papers[3].text
    assert "SALINAN" in papers[4].text and "Sisa saldo" in papers[4].text
    assert [j.kind for j in journal.jobs_for_record(sale.id)] == [
        JobKind.SALE_CUSTOMER,
        JobKind.SALE_SHOP,
        JobKind.REPRINT,
    ]
