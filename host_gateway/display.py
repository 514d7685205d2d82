"""How people read money and time, the same in the console and in the CLI's human output:
whole rupiah with dots between thousands (Rp1.234.500) and times in WITA, the program's zone.
``--json`` keeps integers and unix seconds; only text for people goes through here."""

from __future__ import annotations

import datetime as dt

from ledger.verify import WITA


def rupiah(amount: int) -> str:
    """Rp1.234.500, -Rp70.000 (Indonesian grouping; money is never a float)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def signed_rupiah(amount: int) -> str:
    """+Rp70.000 / -Rp70.000: a movement, where the direction matters."""
    return ("+" if amount >= 0 else "") + rupiah(amount)


def wita(unix_seconds: int | None) -> str:
    """05-12-2026 15:04 WITA, or "-" for a time that never happened."""
    if unix_seconds is None:
        return "-"
    return dt.datetime.fromtimestamp(unix_seconds, WITA).strftime("%d-%m-%Y %H:%M WITA")


def duration(seconds: int) -> str:
    """A lag as people say it: 45 dtk, 12 mnt, 3 jam, 2 hari."""
    seconds = max(0, seconds)
    for size, unit in ((86_400, "hari"), (3_600, "jam"), (60, "mnt")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} dtk"


def start_of_day(unix_seconds: int) -> int:
    """Unix seconds of 00:00 WITA on the day ``unix_seconds`` falls in."""
    day = dt.datetime.fromtimestamp(unix_seconds, WITA).date()
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=WITA).timestamp())
