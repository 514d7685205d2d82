"""What the receipts say: dignity and privacy rules, layout that never overruns the paper, the
QR reference, WITA times, and receipts built from real signed records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator

import pytest

from ledger.bodies import DayCloseBody
from ledger.record import RecordType
from simulators.printer.escpos import EscPosParser
from simulators.printer.job import Job, TextLine
from simulators.printer.paper import Interpreter
from simulators.printer.render import render_text
from terminal.receipts.build import receipts_for_record
from terminal.receipts.build import sale_receipt as build_sale_receipt
from terminal.receipts.compose import compose, mark_reprint, print_jobs
from terminal.receipts.config import (
    PAPER_58,
    PAPER_80,
    PrinterProfile,
    PurseInfo,
    ReceiptConfig,
    ReceiptContext,
)
from terminal.receipts.jobs import JobKind
from terminal.receipts.model import (
    Copy,
    Language,
    MaskedCard,
    PurseAmount,
    Receipt,
    ReceiptLine,
    ShopInfo,
    parse_qr_payload,
)
from terminal.receipts.strings import FORBIDDEN_WORDS, money, purse_label
from tests.factories import FakeTerminal, Issuer
from tests.fixtures.printer import (
    balance_slip,
    day_close_report,
    sale_receipt,
    void_slip,
)

PROFILES = [PAPER_58, PAPER_80]


def paper(data: bytes, profile: PrinterProfile = PAPER_80) -> list[Job]:
    jobs: list[Job] = []
    interpreter = Interpreter(
        profile.dots, can_print=lambda: True, reply=lambda _: None, job_done=jobs.append
    )
    for command in EscPosParser().feed(data):
        interpreter.apply(command)
    interpreter.finish(complete=False)
    return jobs


def read(data: bytes, profile: PrinterProfile = PAPER_80) -> str:
    (job,) = paper(data, profile)
    return render_text(job, profile.dots)


def every_receipt() -> Iterator[tuple[Receipt, Copy]]:
    yield sale_receipt(offline=True), Copy.CUSTOMER
    yield sale_receipt(), Copy.SHOP
    yield void_slip(), Copy.CUSTOMER
    yield balance_slip(), Copy.CUSTOMER
    yield day_close_report(), Copy.SHOP


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("profile", PROFILES)
def test_no_receipt_labels_the_holder_or_shows_the_card_number(
    profile: PrinterProfile, language: Language
) -> None:
    for receipt, copy in every_receipt():
        data = compose(receipt, ReceiptConfig(profile, language), copy)
        text = read(data, profile).lower()
        assert not [w for w in FORBIDDEN_WORDS if w in text], text
        assert b"6060010000000018" not in data and b"606001" not in data


def test_a_purse_label_that_labels_the_holder_is_replaced() -> None:
    assert purse_label("Bantuan Sosial Kota", "APBD", Language.INDONESIAN) == "Saldo APBD"
    assert purse_label("Saldo KPM", "APBD", Language.ENGLISH) == "Balance APBD"
    assert purse_label("Saldo Kota", "APBD", Language.INDONESIAN) == "Saldo Kota"
    receipt = dataclasses.replace(
        sale_receipt(), purse_totals=(PurseAmount("APBD", "Bansos Miskin", 150_000),)
    )
    text = read(compose(receipt, ReceiptConfig()))
    assert "Kartu SSN Saldo APBD" in text and "ansos" not in text and "iskin" not in text


def test_a_receipt_cannot_hold_a_full_card_number() -> None:
    with pytest.raises(ValueError, match="last four"):
        MaskedCard("6060010000000018")
    assert MaskedCard.from_number("6060010000000018").text == "**** **** **** 0018"


@pytest.mark.parametrize("profile", PROFILES)
def test_layout_never_relies_on_the_printer_wrapping(profile: PrinterProfile) -> None:
    long_name = "Beras Premium Pulen Wangi Kualitas Super Kemasan Ekonomis 25 kg " * 2
    receipt = sale_receipt()
    receipt = dataclasses.replace(
        receipt,
        shop=ShopInfo("Toko Sembako Sejahtera Bersama Warga", "Jl. " + "Panjang Sekali " * 6),
        lines=(dataclasses.replace(receipt.lines[1], name=long_name), *receipt.lines),
        cashier="Kasir dengan nama yang panjang sekali sampai habis kertas",
    )
    for item, copy in [(receipt, Copy.CUSTOMER), *every_receipt()]:
        for language in Language:
            (job,) = paper(compose(item, ReceiptConfig(profile, language), copy), profile)
            overrun = [e.text for e in job.elements if isinstance(e, TextLine) and e.wrapped]
            assert overrun == []


def test_sale_receipt_content() -> None:
    text = read(compose(sale_receipt(offline=True), ReceiptConfig()))
    assert "*** OFFLINE - belum terkirim ***" in text
    assert "Waktu                      18-11-2026 19:06 WITA" in text
    assert "  2 x Rp70.000 HET                     Rp140.000" in text
    assert "  harga rak Rp72.000, pakai HET" in text
    assert "  dibayar: Saldo Kota Rp10.000,\n    Saldo BAZNAS Rp5.700" in text
    assert "TOTAL                                  Rp183.700" in text
    assert "  Saldo Kota                            Rp50.000\n    s/d 31-12-2026" in text
    shop_copy = read(compose(sale_receipt(), ReceiptConfig(), Copy.SHOP))
    assert "LEMBAR TOKO" in shop_copy and "Sisa saldo" not in shop_copy, "balances are private"
    assert "OFFLINE" not in shop_copy


def test_line_without_het_cap_shows_no_het_mark() -> None:
    line = ReceiptLine("Gula 1 kg", 1, 17_000, 17_000, 17_500, (PurseAmount("APBD", "", 17_000),))
    assert not line.het_capped
    receipt = dataclasses.replace(sale_receipt(), lines=(line,))
    text = read(compose(receipt, ReceiptConfig()))
    assert "HET" not in text and "dibayar: Saldo APBD" in text


def test_times_are_wita_whatever_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert "18-11-2026 19:06 WITA" in read(compose(sale_receipt(), ReceiptConfig()))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_money_is_whole_rupiah_with_local_separators() -> None:
    assert money(5_392_000, Language.INDONESIAN) == "Rp5.392.000"
    assert money(5_392_000, Language.ENGLISH) == "Rp5,392,000"
    assert money(-155_700, Language.INDONESIAN) == "-Rp155.700"
    assert money(0, Language.INDONESIAN) == "Rp0"


def test_qr_payload_round_trip_and_refusal() -> None:
    ref = sale_receipt().ref
    payload = ref.qr_payload()
    assert payload == ("SSN1:SMD-0001:123:01932c4e-8a10-7c3e-9d2a-5b6f7e8d9c0a:0001020304050607")
    parsed = parse_qr_payload(payload)
    assert parsed.matches(ref)
    assert not parsed.matches(dataclasses.replace(ref, record_hash=bytes(32)))
    for bad in ("SSN1:SMD-0001:123", payload.replace("SSN1", "SSN2"), payload + ":x"):
        with pytest.raises(ValueError, match="not an SSN receipt code"):
            parse_qr_payload(bad)


def test_reprint_is_marked_on_top_and_above_the_cut() -> None:
    config = ReceiptConfig()
    original = compose(sale_receipt(), config)
    (job,) = paper(mark_reprint(original, 1_795_003_600, config))
    lines = render_text(job, 576).splitlines()
    assert lines[0].strip() == "*** SALINAN ***" and lines[-1].strip() == "*** SALINAN ***"
    assert lines[2].strip() == "18-11-2026 20:06 WITA"
    assert job.complete and read(original) in "\n".join(lines) + "\n"


def test_composition_is_deterministic() -> None:
    assert compose(sale_receipt(), ReceiptConfig(PAPER_58)) == compose(
        sale_receipt(), ReceiptConfig(PAPER_58)
    )


def test_print_jobs_give_each_kind_its_job_kind() -> None:
    config = ReceiptConfig()
    assert [k for k, _ in print_jobs(sale_receipt(), config)] == [
        JobKind.SALE_CUSTOMER,
        JobKind.SALE_SHOP,
    ]
    assert [k for k, _ in print_jobs(void_slip(), config)] == [JobKind.VOID]
    assert [k for k, _ in print_jobs(balance_slip(), config)] == [JobKind.BALANCE]
    assert [k for k, _ in print_jobs(day_close_report(), config)] == [JobKind.DAY_CLOSE]


def test_receipts_from_a_real_signed_sale_record() -> None:
    issuer, terminal = Issuer(), FakeTerminal()
    card = issuer.card(serial=7)
    record = terminal.sell(card)
    purses = {"APBD": PurseInfo("Saldo Kota", dt.date(2026, 12, 31))}
    shop = ShopInfo("e-Warong Melati", "Samarinda")

    receipt = build_sale_receipt(record, shop, purses, offline=False)
    jobs = receipts_for_record(record, ReceiptContext(ReceiptConfig(), shop, purses))

    assert receipt.ref.record_hash == record.hash() and receipt.ref.seq == record.seq
    assert [(b.code, b.balance, b.expires) for b in receipt.balances] == [
        ("APBD", 130_000, dt.date(2026, 12, 31))
    ]
    assert receipt.card.text.endswith(card.number[-4:]) and receipt.total == 70_000
    assert [kind for kind, _ in jobs] == [JobKind.SALE_CUSTOMER, JobKind.SALE_SHOP]
    (printed,) = paper(jobs[0][1])
    (payload,) = printed.qr_payloads()
    assert parse_qr_payload(payload.decode()).matches(receipt.ref)
    assert "*** OFFLINE - belum terkirim ***" in render_text(printed, 576)


def test_receipts_for_day_close_and_records_that_print_nothing() -> None:
    terminal = FakeTerminal()
    body = DayCloseBody(dt.date(2026, 11, 18), 1, 9, 8, 560_000, 0, 1, 70_000, 0, 0, {})
    record = terminal.append(RecordType.DAY_CLOSE, body.to_value())
    context = ReceiptContext(ReceiptConfig(), ShopInfo("KUBE Mandiri", ""), {}, "Ani", False)
    ((kind, data),) = receipts_for_record(record, context)
    assert kind is JobKind.DAY_CLOSE
    assert "LAPORAN TUTUP HARI (Z)" in read(data)
    block = terminal.append(RecordType.BLOCK, {})
    assert receipts_for_record(block, context) == []
