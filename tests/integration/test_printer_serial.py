"""The serial path: the driver's ``serial://`` URL through the simulator's pty, real status
bytes both ways, and the same paper as over TCP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printer.errors import PrinterNotReadyError
from drivers.printer.printer import open_printer
from drivers.printer.status import Problem
from simulators.printer.server import PrinterSimulator
from terminal.receipts.compose import compose_sale
from terminal.receipts.config import ReceiptConfig
from terminal.receipts.model import Copy
from tests.fixtures.printer import GOLDEN_DIR, sale_receipt


@pytest.fixture
def pty_sim(tmp_path: Path) -> Iterator[PrinterSimulator]:
    with PrinterSimulator(tmp_path / "out", paper_mm=80) as sim:
        sim.start_pty()
        yield sim


def test_receipt_over_serial_prints_the_same_paper(pty_sim: PrinterSimulator) -> None:
    printer = open_printer(f"serial://{pty_sim.pty_path}?baud=115200&timeout=2")
    data = compose_sale(sale_receipt(offline=True), Copy.CUSTOMER, ReceiptConfig())

    report = printer.print_job(data)

    assert report.confirmed and report.before.ready and report.after.ready
    (job,) = pty_sim.wait_for_jobs(1)
    assert job.meta["transport"] == "pty" and job.complete
    assert job.text == (GOLDEN_DIR / "sale-customer-80.txt").read_text(encoding="utf-8")


def test_serial_status_reports_paper_end_and_prints_nothing(pty_sim: PrinterSimulator) -> None:
    printer = open_printer(f"serial://{pty_sim.pty_path}?baud=9600&timeout=2")
    pty_sim.control("fault paper_end")

    status = printer.status()
    with pytest.raises(PrinterNotReadyError) as caught:
        printer.print_job(b"\x1b@should not print\n\x1dVB\x00")

    assert status.paper_end is True and not status.ready
    assert caught.value.problem is Problem.PAPER_END
    assert "Kertas printer habis" in caught.value.cashier_message()
    pty_sim.control("clear")
    assert printer.print_job(b"\x1b@after new roll\n\x1dVB\x00").confirmed
    (job,) = pty_sim.wait_for_jobs(1)
    assert job.text == "after new roll\n"
