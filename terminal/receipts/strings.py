"""Every word the receipts and the print queue show, in one place: Indonesian and English.

Dignity rule (design brief S4): nothing here may label the holder as poor. The card is "Kartu
SSN", its money is "saldo"; the words in :data:`FORBIDDEN_WORDS` never appear on paper, and a
purse label from configuration that holds one is replaced by a neutral one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ledger.verify import WITA
from terminal.receipts.model import Language

FORBIDDEN_WORDS = (
    "miskin",
    "kpm",
    "keluarga penerima manfaat",
    "penerima manfaat",
    "bantuan sosial",
    "bansos",
    "poor",
    "welfare",
    "prasejahtera",
    "dtks",
)

_FORBIDDEN_RE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in FORBIDDEN_WORDS) + r")\b", re.IGNORECASE
)


@dataclass(frozen=True)
class ReceiptStrings:
    thousands: str
    date_format: str
    time_format: str
    sale_title: str
    customer_copy: str
    shop_copy: str
    reprint: str
    reprinted_at: str
    held: str
    held_of: str
    held_of_earlier: str
    terminal: str
    record_no: str
    time: str
    cashier: str
    paid_by: str
    shelf_price_het: str
    het_mark: str
    card_part: str
    cash: str
    total: str
    card: str
    balance_left: str
    until: str
    offline: str
    scan_hint: str
    thanks: str
    void_title: str
    void_of: str
    reason: str
    supervisor: str
    returned: str
    balance_title: str
    balance_note: str
    next_aid: str
    z_title: str
    business_date: str
    seq_range: str
    sales: str
    voids: str
    loads: str
    card_total: str
    cash_total: str
    per_purse: str
    purse_fallback: str
    # print queue, shown to the cashier
    queue_printed: str
    queue_kept: str
    queue_not_printed: str
    queue_maybe_printed: str
    queue_held: str
    queue_auto: str
    queue_no_service: str
    queue_held_count: str
    queue_interrupted: str
    queue_no_receipt: str
    queue_store_error: str


INDONESIAN = ReceiptStrings(
    thousands=".",
    date_format="%d-%m-%Y",
    time_format="%d-%m-%Y %H:%M WITA",
    sale_title="STRUK BELANJA",
    customer_copy="LEMBAR PEMBELI",
    shop_copy="LEMBAR TOKO",
    reprint="SALINAN",
    reprinted_at="Dicetak ulang",
    held="STRUK TERTUNDA",
    held_of="Milik transaksi No. {seq}",
    held_of_earlier="Milik pelanggan sebelumnya",
    terminal="Terminal",
    record_no="No.",
    time="Waktu",
    cashier="Kasir",
    paid_by="dibayar",
    shelf_price_het="harga rak {shelf}, pakai HET",
    het_mark="HET",
    card_part="Kartu SSN",
    cash="Tunai",
    total="TOTAL",
    card="Kartu",
    balance_left="Sisa saldo",
    until="s/d",
    offline="OFFLINE - belum terkirim",
    scan_hint="Pindai untuk cek transaksi",
    thanks="Terima kasih",
    void_title="PEMBATALAN",
    void_of="Batal atas",
    reason="Alasan",
    supervisor="Supervisor",
    returned="Kembali ke saldo",
    balance_title="INFO SALDO",
    balance_note="Bukan bukti transaksi",
    next_aid="Bantuan berikut",
    z_title="LAPORAN TUTUP HARI (Z)",
    business_date="Tanggal",
    seq_range="No. urut",
    sales="Penjualan",
    voids="Pembatalan",
    loads="Isi saldo",
    card_total="Total kartu",
    cash_total="Total tunai",
    per_purse="Per saldo (bersih)",
    purse_fallback="Saldo {code}",
    queue_printed="Struk tercetak.",
    queue_kept="Transaksi tetap tersimpan.",
    queue_not_printed="Struk belum tercetak.",
    queue_maybe_printed=(
        "Struk mungkin sudah (sebagian) tercetak; cetakan berikutnya bertanda SALINAN."
    ),
    queue_held="Struk pembeli ditahan: cetak ulang untuk pembeli ini saat printer siap.",
    queue_auto="Struk yang menunggu dicetak otomatis oleh layanan cetak saat printer siap.",
    queue_no_service=(
        "Layanan cetak tidak berjalan: struk yang menunggu dicetak dengan perintah cetak."
    ),
    queue_held_count="{count} struk pembeli ditahan sampai dicetak ulang.",
    queue_interrupted="Pencetakan dihentikan (Ctrl-C).",
    queue_no_receipt="Tidak ada struk untuk transaksi ini.",
    queue_store_error="Antrian struk tidak dapat dibaca: {error}",
)

ENGLISH = ReceiptStrings(
    thousands=",",
    date_format="%Y-%m-%d",
    time_format="%Y-%m-%d %H:%M WITA",
    sale_title="RECEIPT",
    customer_copy="CUSTOMER COPY",
    shop_copy="SHOP COPY",
    reprint="COPY",
    reprinted_at="Reprinted",
    held="HELD RECEIPT",
    held_of="Of transaction No. {seq}",
    held_of_earlier="Of an earlier customer",
    terminal="Terminal",
    record_no="No.",
    time="Time",
    cashier="Cashier",
    paid_by="paid by",
    shelf_price_het="shelf price {shelf}, HET used",
    het_mark="HET",
    card_part="SSN card",
    cash="Cash",
    total="TOTAL",
    card="Card",
    balance_left="Balance left",
    until="until",
    offline="OFFLINE - not yet sent",
    scan_hint="Scan to check this sale",
    thanks="Thank you",
    void_title="VOID",
    void_of="Voids",
    reason="Reason",
    supervisor="Supervisor",
    returned="Back to balance",
    balance_title="BALANCE",
    balance_note="Not a sales receipt",
    next_aid="Next aid",
    z_title="DAY CLOSE REPORT (Z)",
    business_date="Date",
    seq_range="Sequence",
    sales="Sales",
    voids="Voids",
    loads="Loads",
    card_total="Card total",
    cash_total="Cash total",
    per_purse="Per purse (net)",
    purse_fallback="Balance {code}",
    queue_printed="Receipt printed.",
    queue_kept="The sale is saved.",
    queue_not_printed="Nothing was printed.",
    queue_maybe_printed="The receipt may have printed (in part); the next print is marked COPY.",
    queue_held="The customer's receipt is held: reprint it for this customer when the printer is "
    "ready.",
    queue_auto="Waiting receipts print by themselves (print service) when the printer is ready.",
    queue_no_service="The print service is not running: waiting receipts print on the print "
    "command.",
    queue_held_count="{count} customer receipt(s) held until reprinted.",
    queue_interrupted="Printing stopped (Ctrl-C).",
    queue_no_receipt="There is no receipt for this transaction.",
    queue_store_error="Cannot read the receipt queue: {error}",
)

_BY_LANGUAGE = {Language.INDONESIAN: INDONESIAN, Language.ENGLISH: ENGLISH}


def strings_for(language: Language) -> ReceiptStrings:
    return _BY_LANGUAGE[Language(language)]


def is_dignified(text: str) -> bool:
    """False when ``text`` holds a word that labels the holder as poor."""
    return _FORBIDDEN_RE.search(text) is None


def purse_label(label: str, code: str, language: Language) -> str:
    """The configured label, or a neutral one if the configured one is not dignified."""
    if label.strip() and is_dignified(label):
        return label
    return strings_for(language).purse_fallback.format(code=code)


def money(amount: int, language: Language) -> str:
    """Whole rupiah with the language's thousands separator: ``Rp140.000``."""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,}".replace(",", strings_for(language).thousands)
    return f"{sign}Rp{digits}"


def when(unix_seconds: int, language: Language) -> str:
    """A moment as the shop reads it: WITA, whatever the terminal's own zone."""
    moment = dt.datetime.fromtimestamp(unix_seconds, WITA)
    return moment.strftime(strings_for(language).time_format)


def day(date: dt.date, language: Language) -> str:
    return date.strftime(strings_for(language).date_format)
