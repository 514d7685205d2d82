"""The semester report: its numbers are the journal's, in JSON, CSV and the PDF (rendered to
PNG and read back)."""

from __future__ import annotations

import csv
import io

import fitz  # PyMuPDF

from host_gateway.db import transaction
from host_gateway.settlement import semester, semester_pdf
from simulators.bank import bank
from tests.fixtures.gateway import FakeClock, World, void_record
from tests.unit.test_settlement_bank import assert_books, feed, world_and_bank
from tests.unit.test_settlement_payouts import release


def test_the_semester_report_shows_the_journals_numbers(world: World, clock: FakeClock) -> None:
    state, other_id = world_and_bank(world, clock)  # shop A 70,000; shop B 2 x 70,000
    feed(world, bank.submit(state, release(world, "Budi").xml, world.now))  # B is rejected
    assert_books(world)
    card = world.funded_card()
    sale = world.terminal.sell(card, time=world.now)
    void, _ = void_record(world.terminal, card, sale, time=world.now)
    world.ingest([sale, void])  # a sale and its cancellation: nothing spent
    with transaction(world.gateway.factory) as session:
        report = semester.build(session, 2026, 2)
    assert report["sales"] == [
        {
            "program": "APBD",
            "kecamatan": "",
            "kelurahan": "",
            "shop": world.shop_id,
            "month": "2026-11",
            "sales": 2,
            "amount": 70_000,
            "recipients": 2,
        },
        {
            "program": "APBD",
            "kecamatan": "",
            "kelurahan": "",
            "shop": other_id,
            "month": "2026-11",
            "sales": 2,
            "amount": 140_000,
            "recipients": 1,
        },
    ]
    [apbd] = [p for p in report["programs"] if p["program"] == "APBD"]
    assert (apbd["served"], apbd["spent"]) == (2, 210_000)
    assert report["payouts"] == {"paid": 70_000, "open": 0, "rejected": 140_000}
    rows = list(csv.DictReader(io.StringIO(semester.to_csv(report).decode())))
    assert {(r["table"], r["program"], r["measure"], r["value"]) for r in rows} >= {
        ("programs", "APBD", "spent", "210000"),
        ("payouts", "", "paid", "70000"),
    }

    pdf = fitz.open(stream=semester_pdf.render(report), filetype="pdf")
    assert pdf.page_count == 2
    text = pdf[0].get_text()
    assert "dibelanjakan Rp210.000" in text and "dibayar Rp70.000" in text
    assert "ditolak bank Rp140.000" in text
    png = pdf[0].get_pixmap(dpi=50)
    assert png.width > 300 and len(set(png.samples)) > 2  # drawn, not blank
