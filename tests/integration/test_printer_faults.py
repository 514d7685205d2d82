"""The fault matrix at the print-queue level, against the printer simulator on real TCP: each
printer fault leaves the sale's receipts pending with a clear message for the cashier, never an
exception; after the fault is cleared, a retry or a reprint prints each receipt once more, an
original if nothing of it reached the printer, marked SALINAN if its bytes had gone out."""

from __future__ import annotations

import time

import pytest

from drivers.printer.errors import NotAPrinterError, PrinterNotReadyError, PrinterTimeoutError
from drivers.printer.printer import open_printer
from simulators.printer.server import PrinterSimulator
from terminal.receipts.compose import print_jobs
from terminal.receipts.config import ReceiptConfig
from terminal.receipts.jobs import JobStatus
from terminal.receipts.queue import PrintQueue
from tests.fixtures.printer import MemoryReceiptStore, sale_receipt

KEPT = "Transaksi tetap tersimpan"
NOTHING = "Struk belum tercetak."
MAYBE = "Struk mungkin sudah (sebagian) tercetak"
SENT_BEFORE_THE_FAULT = {"drop_mid_job", "paper_runs_out_mid_job"}
FAULTS = {
    "paper_end": ("fault paper_end", "Kertas printer habis"),
    "cover_open": ("fault cover_open", "Tutup printer terbuka"),
    "offline": ("fault offline", "Printer sedang offline"),
    "drop_mid_job": ("fault drop_after 300", "Sambungan ke printer terputus"),
    "paper_runs_out_mid_job": ("fault paper_after 4", "Kertas printer habis"),
    "refused": ("fault refuse", "Printer tidak dapat dihubungi"),
    "slow": ("fault slow 1.5", "Printer tidak merespons"),
    "no_status_reply": ("fault mute", "Printer tidak merespons"),
    "garbled_status": ("fault garble", "Jawaban status printer tidak dapat dibaca"),
}


@pytest.mark.parametrize("recovery", ["retry", "reprint"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_keeps_receipts_pending_then_prints_each_once(
    fault: str, recovery: str, printer_sim: PrinterSimulator, receipt_store: MemoryReceiptStore
) -> None:
    receipt = sale_receipt()
    record_id = receipt.ref.record_id
    config = ReceiptConfig()
    for kind, data in print_jobs(receipt, config):  # what the journal commits with the sale
        receipt_store.add_job(record_id, kind, data)
    queue = PrintQueue(receipt_store, open_printer(printer_sim.tcp_url + "?timeout=0.5"))
    command, expected = FAULTS[fault]
    assert printer_sim.control(command)["ok"]

    failed = queue.print_foreground([1, 2])

    assert failed.printed == []
    assert failed.message is not None
    assert expected in failed.message and KEPT in failed.message
    sent = fault in SENT_BEFORE_THE_FAULT
    assert (MAYBE if sent else NOTHING) in failed.message
    pending = receipt_store.pending_jobs()
    assert [j.job_id for j in pending] == [1, 2]
    assert pending[0].status is JobStatus.FAILED and pending[0].last_error
    assert not [j for j in printer_sim.device.wait_idle() if j.complete]

    assert printer_sim.control("clear")["ok"]
    printer_sim.wait_no_connections()
    retry = recovery == "retry"
    recovered = queue.print_foreground([1, 2]) if retry else queue.reprint(record_id)

    assert recovered.ok, recovered.message
    assert recovered.printed == [1, 2]
    assert queue.print_foreground([1, 2]).printed == [1, 2], "both are done: nothing is sent"
    assert receipt_store.pending_jobs() == []
    papers = [j for j in printer_sim.device.wait_idle() if j.complete]
    assert len(papers) == 2, "a confirmed job never prints again"
    assert [p.meta["qr"] for p in papers] == [[receipt.ref.qr_payload()]] * 2
    assert "LEMBAR PEMBELI" in papers[0].text and "LEMBAR TOKO" in papers[1].text
    assert ("SALINAN" in papers[0].text) is sent, "after bytes went out, only marked copies"
    assert "SALINAN" not in papers[1].text, "the shop copy never went out: the original"
    torn = [j for j in printer_sim.jobs() if not j.complete]
    assert all(not j.meta["qr"] for j in torn), "a torn first try never looks complete"
    if fault == "drop_mid_job":
        assert len(torn) == 1 and "Mitra Bebaya" in torn[0].text
        assert "Terima kasih" not in torn[0].text
    elif fault == "paper_runs_out_mid_job":  # four lines on paper, the rest and the cut lost
        assert len(torn) == 1 and torn[0].meta["discarded"] > 0
        banner = 4  # SALINAN, "Dicetak ulang", the time, a rule of stars
        assert torn[0].text.splitlines() == papers[0].text.splitlines()[banner : banner + 4]
    else:
        assert torn == [], "nothing reaches the paper while the printer reports a fault"


def test_reprint_after_printing_adds_one_salinan(
    printer_sim: PrinterSimulator, receipt_store: MemoryReceiptStore
) -> None:
    receipt = sale_receipt()
    for kind, data in print_jobs(receipt, ReceiptConfig()):
        receipt_store.add_job(receipt.ref.record_id, kind, data)
    queue = PrintQueue(receipt_store, open_printer(printer_sim.tcp_url))
    assert queue.print_foreground([1, 2]).printed == [1, 2]

    again = queue.reprint(receipt.ref.record_id)

    assert again.ok and again.printed == [3] and again.job_id == 3
    papers = printer_sim.wait_for_jobs(3)
    assert "SALINAN" in papers[2].text and "LEMBAR PEMBELI" in papers[2].text
    assert papers[2].meta["qr"] == [receipt.ref.qr_payload()]
    assert "SALINAN" not in papers[0].text


def test_paper_near_end_prints_and_warns(
    printer_sim: PrinterSimulator, receipt_store: MemoryReceiptStore
) -> None:
    receipt = sale_receipt()
    receipt_store.add_job(receipt.ref.record_id, *print_jobs(receipt, ReceiptConfig())[0])
    printer_sim.control("fault near_end")
    report = PrintQueue(receipt_store, open_printer(printer_sim.tcp_url)).print_foreground([1])
    assert report.ok and report.printed == [1]
    assert report.warnings == ("Kertas printer hampir habis.",)


def test_an_after_cut_fault_strikes_between_the_cut_and_the_status_reply(
    printer_sim: PrinterSimulator,
) -> None:
    assert printer_sim.control("fault after_cut cover_open")["faults"]["cover_open"] is False
    with pytest.raises(PrinterNotReadyError, match="after the job: cover_open"):
        open_printer(printer_sim.tcp_url).print_job(b"\x1b@whole\n\x1dVB\x00")
    (paper,) = printer_sim.device.wait_idle()
    assert paper.complete and paper.text == "whole\n", "the paper came out whole"
    faults = printer_sim.control("state")["faults"]
    assert faults["cover_open"] is True and faults["after_cut"] is None


def test_a_web_server_at_the_printer_address_is_no_printer_and_nothing_was_sent(
    web_server: str,
) -> None:
    sent: list[int] = []
    with pytest.raises(NotAPrinterError, match=r"HTTP/1\.1 400") as caught:
        open_printer(web_server).print_job(
            b"\x1b@x\n\x1dVB\x00", before_send=lambda: sent.append(1)
        )
    assert sent == [], "not a byte of the receipt went out"
    assert caught.value.cashier_message() == (
        "Yang menjawab di alamat printer bukan printer struk. Periksa alamat printer."
    )


def test_the_receipt_bytes_follow_the_before_send_hook_and_only_a_ready_printer_gets_them(
    printer_sim: PrinterSimulator,
) -> None:
    printer = open_printer(printer_sim.tcp_url)
    calls: list[int] = []

    def before_send() -> None:
        calls.append(len(printer_sim.device.wait_idle()))  # nothing on paper yet

    printer.print_job(b"\x1b@one\n\x1dVB\x00", before_send=before_send)
    assert calls == [0] and len(printer_sim.device.wait_idle()) == 1
    printer_sim.control("fault paper_end")
    with pytest.raises(PrinterNotReadyError):
        printer.print_job(b"\x1b@two\n\x1dVB\x00", before_send=before_send)
    assert calls == [0], "a printer that is not ready never gets to the hook"


def test_a_job_deadline_gives_up_on_a_slow_printer_with_its_own_message(
    printer_sim: PrinterSimulator,
) -> None:
    printer_sim.control("fault slow 0.4")
    with pytest.raises(PrinterTimeoutError) as caught:
        open_printer(printer_sim.tcp_url).print_job(
            b"\x1b@late\n\x1dVB\x00", deadline=time.monotonic() + 0.6
        )
    assert caught.value.cashier_message() == "Printer terlalu lambat; batas waktu cetak habis."
