"""The app's own words (labels, keys, prompts), Indonesian by default, English by config.

What the engine says about an operation comes from :mod:`terminal.messages`; these are only
the screen's furniture. Nothing here labels the holder as poor.
"""

from __future__ import annotations

_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Kasir Kartu SSN", "SSN card till"),
    "sign_in": ("Masuk kasir", "Cashier sign-in"),
    "cashier_id": ("ID kasir", "Cashier id"),
    "pin": ("PIN", "PIN"),
    "first_run": ("Pengaturan pertama", "First run"),
    "supervisor_pin": ("PIN supervisor (4-8 angka)", "Supervisor PIN (4-8 digits)"),
    "again": ("Ulangi", "Again"),
    "first_run_hint": (
        "Tentukan PIN supervisor dan kasir pertama.",
        "Set the supervisor PIN and the first cashier.",
    ),
    "pins_differ": ("Kedua PIN tidak sama.", "The two PINs differ."),
    "loading": ("Menyiapkan kasir…", "Getting the till ready…"),
    "code": ("Scan / ketik kode barang, atau cari nama", "Scan / type a code, or search a name"),
    "item": ("Barang", "Item"),
    "qty": ("Jml", "Qty"),
    "price": ("Harga", "Price"),
    "het": ("HET", "HET"),
    "purse": ("Dompet", "Purse"),
    "line_status": ("Keterangan", "Status"),
    "eligible": ("bisa", "eligible"),
    "total_card": ("Dibayar kartu", "Card pays"),
    "total_cash": ("Tunai", "Cash"),
    "no_card_yet": ("Tempelkan Kartu SSN", "Present the SSN card"),
    "card_working": (
        "Kartu sedang diproses. JANGAN cabut kartu.",
        "The card is working. Do NOT remove the card.",
    ),
    "busy_quit": (
        "Kartu sedang diproses: tunggu sampai selesai, lalu keluar.",
        "The card is working: wait until it is done, then quit.",
    ),
    "busy_basket": (
        "Kartu sedang diproses: keranjang tidak berubah. Pindai lagi setelah selesai.",
        "The card is working: the basket stays as it is. Scan again when it is done.",
    ),
    "basket_other_card": (
        "Kartu lain: keranjang pemegang kartu sebelumnya dikosongkan.",
        "Another card: the previous holder's basket was cleared.",
    ),
    "holder_pin": ("PIN pemegang kartu", "Holder's PIN"),
    "pinpad": (
        "Pemegang kartu memasukkan PIN di pembaca kartu.",
        "The holder types the PIN on the reader's keypad.",
    ),
    "tries_left": ("sisa percobaan PIN", "PIN tries left"),
    "expires": ("berlaku s.d.", "valid until"),
    "next_aid": ("Bantuan berikut", "Next aid"),
    "caps_left": ("Sisa batas bulan ini", "Left this month"),
    "approved": ("BERHASIL", "APPROVED"),
    "declined": ("DITOLAK", "DECLINED"),
    "unresolved": ("BELUM TUNTAS", "NOT SETTLED"),
    "printing": ("Mencetak struk…", "Printing the receipt…"),
    "printed": ("Struk tercetak.", "Receipt printed."),
    "reader": ("Pembaca", "Reader"),
    "printer": ("Printer", "Printer"),
    "scanner": ("Pemindai", "Scanner"),
    "network": ("Jaringan", "Network"),
    "online": ("online", "online"),
    "offline": ("offline", "offline"),
    "queued": ("antre", "queued"),
    "last_sync": ("sinkron", "synced"),
    "never": ("belum pernah", "never"),
    "offline_left": ("sisa offline", "offline left"),
    "journal": ("Jurnal", "Journal"),
    "journal_slow": ("tidak menjawab", "not answering"),
    "status_reading": ("membaca…", "reading…"),
    "card_in": ("kartu ada", "card in"),
    "card_out": ("siap", "ready"),
    "none": ("tidak ada", "none"),
    "supervisor": ("PIN supervisor", "Supervisor PIN"),
    "search": ("Cari barang", "Search items"),
    "nothing_found": ("Tidak ada barang dengan nama itu.", "No item by that name."),
    "day_closed": ("Tutup hari selesai.", "Day closed."),
    "diagnostics": ("Diagnostik", "Diagnostics"),
    "no_gateway": ("Terminal ini tidak punya alamat gateway.", "This terminal has no gateway."),
    "sync_done": ("Sinkron selesai: {sent} catatan terkirim", "Synced: {sent} records sent"),
    "sync_failed": ("Sinkron gagal", "Sync failed"),
    "balance": ("Saldo", "Balance"),
    "earlier": ("Transaksi sebelumnya", "Earlier transaction"),
    "quantity_prompt": (
        "Jumlah barang terpilih (atau berat: 1,5 kg, 750 g)",
        "Quantity of the selected item (or weight: 1.5 kg, 750 g)",
    ),
    "key_new": ("Baru", "New"),
    "key_pin": ("PIN", "PIN"),
    "key_qty": ("Jml", "Qty"),
    "key_balance": ("Saldo", "Balance"),
    "key_reprint": ("Ulang", "Reprint"),
    "key_cancel": ("Batal", "Cancel"),
    "key_day_close": ("Tutup", "Close"),
    "key_pay": ("Bayar", "Pay"),
    "key_diagnostics": ("Diag", "Diag"),
    "key_remove": ("Hapus", "Remove"),
    "key_sync": ("Sinkron", "Sync"),
    "key_quit": ("Keluar", "Quit"),
}


def words(language: str) -> dict[str, str]:
    index = 0 if language == "id" else 1
    return {key: pair[index] for key, pair in _WORDS.items()}


def rupiah(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")
