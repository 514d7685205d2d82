"""What the terminal tells the cashier, by stable reason code, in Indonesian (default) or English.

Codes are what automation and tests match on; the words are for people at the counter, so they
say what to do next. Never a word that labels the holder as poor.
"""

from __future__ import annotations

from collections.abc import Mapping

_MESSAGES: Mapping[str, tuple[str, str]] = {
    # card and reader
    "no_reader": ("Pembaca kartu tidak ditemukan.", "No card reader found."),
    "no_card": ("Tempelkan kartu SSN.", "Present the SSN card."),
    "reader_error": (
        "Pembaca kartu bermasalah. Periksa kabel pembaca, lalu tempelkan kartu lagi.",
        "Card reader problem. Check the reader's cable, then present the card again.",
    ),
    "card_not_genuine": (
        "Kartu tidak dikenali sebagai Kartu SSN asli.",
        "The card is not a genuine SSN card.",
    ),
    "card_expired": ("Masa berlaku kartu sudah habis.", "The card has expired."),
    "card_blocked": ("Kartu diblokir. Hubungi Dinas Sosial.", "The card is blocked."),
    "card_terminated": ("Kartu sudah tidak berlaku.", "The card is no longer valid."),
    "card_hotlisted": (
        "Kartu masuk daftar blokir dan telah diblokir. Hubungi Dinas Sosial.",
        "The card is on the hotlist and has been blocked.",
    ),
    "block_order_expired": (
        "Kartu masuk daftar blokir. Hubungi Dinas Sosial. Perintah blokir kartu ini kedaluwarsa"
        " ({valid_until}): sinkronkan terminal.",
        "The card is on the hotlist. Its block order expired on {valid_until}: sync the terminal.",
    ),
    "card_error": (
        "Kartu menolak perintah. Tempelkan kartu lagi; bila berulang, hubungi operator.",
        "The card refused the command. Present it again; if it happens again, call the operator.",
    ),
    "bad_card_proof": (
        "Jawaban kartu tidak sah. Simpan kartu dan hubungi operator.",
        "The card's answer is invalid. Keep the card aside and call the operator.",
    ),
    # PIN
    "wrong_pin": (
        "PIN salah. Sisa percobaan: {tries_left}.",
        "Wrong PIN. Tries left: {tries_left}.",
    ),
    "pin_blocked": (
        "PIN terblokir. Hubungi Dinas Sosial untuk membuka.",
        "The PIN is blocked. The holder must contact Dinas Sosial.",
    ),
    "pin_pad_timeout": (
        "Waktu memasukkan PIN di pembaca habis. Tekan F4 untuk mencoba lagi.",
        "The PIN was not typed on the reader in time. Press F4 to try again.",
    ),
    "pin_pad_cancelled": (
        "PIN dibatalkan di pembaca. Tekan F4 untuk mencoba lagi.",
        "The PIN was cancelled on the reader. Press F4 to try again.",
    ),
    "pin_format": ("PIN harus 4 sampai 12 angka.", "A PIN is 4 to 12 digits."),
    # the sale
    "nothing_to_charge": (
        "Tidak ada barang yang dapat dibayar dengan kartu.",
        "Nothing in the basket can be paid with the card.",
    ),
    "insufficient_balance": ("Saldo kartu tidak cukup.", "Not enough balance on the card."),
    "purse_expired": ("Saldo sudah melewati masa berlaku.", "The balance has expired."),
    "offline_sale_limit": (
        "Terminal belum sinkron: transaksi offline maksimal Rp{limit}.",
        "Not synced: an offline sale may take at most Rp{limit}.",
    ),
    "offline_total_limit": (
        "Batas transaksi offline tercapai. Sinkronkan terminal dulu.",
        "Offline limit reached. Sync the terminal first.",
    ),
    "offline_hours_limit": (
        "Terminal terlalu lama tidak sinkron. Sinkronkan terminal dulu.",
        "Too long since the last sync. Sync the terminal first.",
    ),
    "clock_behind": (
        "Jam terminal mundur (lebih dari {limit} menit sebelum sinkron atau transaksi terakhir). "
        "Perbaiki jam terminal, lalu sinkronkan.",
        "The terminal clock is behind (more than {limit} minutes before the last sync or "
        "transaction). Fix the clock, then sync.",
    ),
    "card_busy": (
        "Transaksi sebelumnya dengan kartu ini belum tuntas dan tidak dapat dipastikan. "
        "Hubungi operator.",
        "An earlier transaction with this card cannot be settled. Call the operator.",
    ),
    "card_removed": (
        "Kartu dicabut sebelum transaksi selesai. Tempelkan kembali KARTU YANG SAMA untuk "
        "menyelesaikan.",
        "The card was removed before the transaction finished. Present THE SAME card again to "
        "finish it.",
    ),
    "load_torn": (
        "Kartu dicabut saat menerima bantuan: saldo mungkin sudah bertambah. Tempelkan kembali "
        "KARTU YANG SAMA untuk memastikan.",
        "The card was removed while it took its aid: the balance may already be higher. Present "
        "THE SAME card again to settle it.",
    ),
    "earlier_completed": (
        "Transaksi sebelumnya dengan kartu ini SUDAH TERJADI (struk dicetak). Jangan diulang; "
        "mulai transaksi baru bila perlu.",
        "The earlier transaction with this card DID go through (its receipt prints). Do not "
        "repeat it; start a new sale if needed.",
    ),
    "earlier_aborted": (
        "Transaksi sebelumnya dengan kartu ini TIDAK terjadi; saldo tidak berubah.",
        "The earlier transaction with this card did NOT happen; the balance is unchanged.",
    ),
    "card_unfinished_elsewhere": (
        "Kartu {card} punya transaksi belum tuntas di terminal ini: minta pemegangnya "
        "menempelkan kartu itu.",
        "Card {card} has an unfinished transaction at this terminal: ask its holder to present it.",
    ),
    "card_answer_garbled": (
        "Jawaban kartu rusak di jalan. Tempelkan kembali KARTU YANG SAMA untuk menyelesaikan.",
        "The card's answer arrived garbled. Present THE SAME card again to finish it.",
    ),
    "no_catalog": (
        "Daftar barang belum ada. Sinkronkan terminal.",
        "No catalog yet. Sync the terminal.",
    ),
    # voids
    "supervisor_pin": ("PIN supervisor salah.", "Wrong supervisor PIN."),
    "void_not_found": ("Transaksi tidak ditemukan.", "Transaction not found."),
    "void_not_sale": ("Hanya penjualan yang dapat dibatalkan.", "Only a sale can be voided."),
    "void_session_over": (
        "Pembatalan hanya langsung setelah transaksi, selama kartu belum dicabut. "
        "Sekarang hanya bisa refund: ajukan ke operator Dinas Sosial.",
        "A sale can be cancelled only right after it, before the card leaves the reader. "
        "Now only a refund can give the money back: ask the Dinas Sosial operator.",
    ),
    "void_already": ("Transaksi ini sudah dibatalkan.", "This sale was already voided."),
    # the cashier app
    "pin_needed": (
        "Minta pemegang kartu memasukkan PIN dulu.",
        "Ask the holder for the PIN first.",
    ),
    "no_printer": ("Terminal ini tidak punya printer.", "This counter has no printer."),
    "nothing_to_reprint": ("Belum ada struk untuk dicetak ulang.", "No receipt to print again."),
    "reprinted": ("Struk dicetak ulang (SALINAN).", "The receipt printed again (COPY)."),
    "not_in_catalog_scan": (
        "Kode {gtin} tidak ada di daftar barang.",
        "Code {gtin} is not in the catalog.",
    ),
    "finish_earlier_first": (
        "Transaksi sebelumnya belum tuntas: tempelkan kembali KARTU YANG SAMA dulu.",
        "The earlier transaction is not settled: present THE SAME card again first.",
    ),
    "sign_in_failed": ("ID kasir atau PIN salah.", "Wrong cashier id or PIN."),
    "sign_in_locked": (
        "Terlalu banyak percobaan. Coba lagi dalam {seconds} detik.",
        "Too many tries. Try again in {seconds} seconds.",
    ),
    # day close
    "day_close_future": ("Tanggal tutup hari belum tiba.", "That day has not come yet."),
    "day_already_closed": ("Hari ini sudah ditutup.", "This day is already closed."),
    # lines
    "not_in_catalog": ("tidak terdaftar", "not in the catalog"),
    "not_eligible": ("bukan bahan pokok program", "not an eligible staple"),
    "no_purse": ("tidak dapat dibayar dengan kartu ini", "no purse on this card may pay"),
    "quantity_cap": ("melebihi batas bulan ini", "over this month's limit"),
    "too_many_capped_categories": (
        "terlalu banyak jenis barang terbatas; buat transaksi kedua",
        "too many capped categories; make a second sale",
    ),
}


def message(code: str, language: str = "id", **values: object) -> str:
    texts = _MESSAGES.get(code)
    if texts is None:
        return code
    text = texts[0] if language == "id" else texts[1]
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text
