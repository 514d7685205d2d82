"""Printer status from the raw replies to DLE EOT (``10 04 n``), read by us, not trusted to
python-escpos (whose 3.1 ``paper_status`` says "paper adequate" when the printer said nothing).

Every real status byte has the fixed bit pattern ``0xx1xx10``; a reply that is missing or does
not match it leaves the fields it would have told as ``None`` (unknown), and unknown is never
ready to print.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DLE_EOT = b"\x10\x04"
PRINTER_STATUS = 1
"""n=1: bit 3 set = offline."""
OFFLINE_CAUSE = 2
"""n=2: bit 2 = cover open, bit 5 = stopped by paper end, bit 6 = error."""
PAPER_SENSOR = 4
"""n=4: bits 2-3 = paper near end, bits 5-6 = paper end."""
QUERIES = (PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR)


def status_query(n: int) -> bytes:
    return DLE_EOT + bytes([n])


def is_status_byte(value: int) -> bool:
    """The fixed bits of every DLE EOT reply: bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0."""
    return (value & 0x93) == 0x12


class Problem(enum.StrEnum):
    """Why the printer cannot print now, in order of what the cashier should fix first."""

    UNKNOWN = "unknown"
    COVER_OPEN = "cover_open"
    PAPER_END = "paper_end"
    OFFLINE = "offline"


@dataclass(frozen=True)
class PrinterStatus:
    """``None`` means unknown: the printer did not say (or said something malformed)."""

    online: bool | None = None
    cover_open: bool | None = None
    paper_end: bool | None = None
    paper_near_end: bool | None = None
    raw: bytes = b""
    """The replies as received, for the log."""

    @property
    def known(self) -> bool:
        return None not in (self.online, self.cover_open, self.paper_end, self.paper_near_end)

    @property
    def ready(self) -> bool:
        """True only when the printer said it is online, closed and has paper."""
        return self.problem() is None

    def problem(self) -> Problem | None:
        if self.cover_open:
            return Problem.COVER_OPEN
        if self.paper_end:
            return Problem.PAPER_END
        if self.online is False:
            return Problem.OFFLINE
        if not self.known:
            return Problem.UNKNOWN
        return None

    def as_dict(self) -> dict[str, object]:
        return {
            "online": self.online,
            "cover_open": self.cover_open,
            "paper_end": self.paper_end,
            "paper_near_end": self.paper_near_end,
            "raw": self.raw.hex(" "),
        }


UNKNOWN_STATUS = PrinterStatus()


def parse_status(replies: dict[int, bytes]) -> PrinterStatus:
    """Status from the reply to each query (``{n: reply bytes}``); a missing, empty, long or
    malformed reply leaves its fields unknown."""

    def byte(n: int) -> int | None:
        reply = replies.get(n, b"")
        if len(reply) != 1 or not is_status_byte(reply[0]):
            return None
        return reply[0]

    printer, cause, paper = byte(PRINTER_STATUS), byte(OFFLINE_CAUSE), byte(PAPER_SENSOR)
    online = None if printer is None else not printer & 0x08
    cover_open = None if cause is None else bool(cause & 0x04)
    paper_end: bool | None = None
    near_end: bool | None = None
    if paper is not None:
        paper_end = bool(paper & 0x60)
        near_end = bool(paper & 0x0C)
    if cause is not None and cause & 0x20:
        paper_end = True  # printing stopped by paper end, whatever the roll sensor said
    raw = b"".join(replies.get(n, b"") for n in QUERIES)
    return PrinterStatus(online, cover_open, paper_end, near_end, raw)
