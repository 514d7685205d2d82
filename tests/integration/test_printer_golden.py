"""Every receipt kind at both paper widths, sent as real bytes over real TCP to the printer
simulator; what it prints must match the golden text files, and the QR in the picture must
decode (with zbar) to the record's reference.

Regenerate the golden files after an intended layout change:
    SSN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/integration/test_printer_golden.py
then review the diff of tests/golden/receipts/ like any other change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.printer.printer import open_printer
from simulators.printer.server import PrinterSimulator
from terminal.receipts.compose import (
    compose_balance,
    compose_day_close,
    compose_sale,
    compose_void,
    mark_reprint,
)
from terminal.receipts.config import ReceiptConfig, profile_for_paper
from terminal.receipts.model import Copy, Language, parse_qr_payload
from tests.fixtures.printer import (
    GOLDEN_DIR,
    REPRINT_TIME,
    balance_slip,
    day_close_report,
    decode_qr,
    sale_receipt,
    void_slip,
)

Composer = Callable[[ReceiptConfig], bytes]

KINDS: dict[str, Composer] = {
    "sale-customer": lambda c: compose_sale(sale_receipt(offline=True), Copy.CUSTOMER, c),
    "sale-shop": lambda c: compose_sale(sale_receipt(offline=True), Copy.SHOP, c),
    "reprint": lambda c: mark_reprint(
        compose_sale(sale_receipt(), Copy.CUSTOMER, c), REPRINT_TIME, c
    ),
    "void": lambda c: compose_void(void_slip(), c),
    "balance": lambda c: compose_balance(balance_slip(), c),
    "day-close": lambda c: compose_day_close(day_close_report(), c),
}
CASES = [(kind, paper, Language.INDONESIAN) for kind in KINDS for paper in (58, 80)]
CASES.append(("sale-customer", 80, Language.ENGLISH))


def _print(sim: PrinterSimulator, data: bytes) -> tuple[str, dict[str, object], Path]:
    report = open_printer(sim.tcp_url + "?timeout=5").print_job(data)
    assert report.confirmed
    (job,) = sim.wait_for_jobs(1)
    assert job.png is not None
    return job.text, job.meta, job.png


@pytest.mark.parametrize(("kind", "paper", "language"), CASES)
def test_receipt_prints_as_golden(
    kind: str, paper: int, language: Language, tmp_path: Path
) -> None:
    config = ReceiptConfig(profile_for_paper(paper), language)
    data = KINDS[kind](config)
    with PrinterSimulator(tmp_path / "out", paper_mm=paper) as sim:
        sim.start_tcp()
        text, meta, _ = _print(sim, data)
    assert meta["complete"] is True, "every receipt ends with a cut"
    assert meta["unknown"] == [], "the composer sends only commands the printer knows"
    suffix = "" if language is Language.INDONESIAN else f"-{language}"
    golden = GOLDEN_DIR / f"{kind}-{paper}{suffix}.txt"
    if os.environ.get("SSN_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with SSN_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("paper", [58, 80])
def test_qr_in_the_picture_decodes_to_the_record_reference(paper: int, tmp_path: Path) -> None:
    receipt = sale_receipt()
    config = ReceiptConfig(profile_for_paper(paper))
    with PrinterSimulator(tmp_path / "out", paper_mm=paper) as sim:
        sim.start_tcp()
        _, _, png = _print(sim, compose_sale(receipt, Copy.CUSTOMER, config))
    decoded = decode_qr(png)
    assert decoded == [receipt.ref.qr_payload()]
    assert parse_qr_payload(decoded[0]).matches(receipt.ref)


def test_balance_slip_has_no_qr_and_says_it_is_no_receipt(printer_sim: PrinterSimulator) -> None:
    text, meta, png = _print(printer_sim, compose_balance(balance_slip(), ReceiptConfig()))
    assert meta["qr"] == []
    assert decode_qr(png) == []
    assert "Bukan bukti transaksi" in text
