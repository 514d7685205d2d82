"""What the receipt composer must know besides the receipt: the printer (paper width in
columns, code page, how it draws a QR code) and the language, and a shop's closing line.

Plain data, no printing library: the sale engine holds a :class:`ReceiptConfig` and hands it to
the composer it was given (docs/architecture.md). Columns are fixed by the paper (58 mm: 32,
80 mm: 48 at font A, 12-dot characters) so the same receipt lays out the same on every printer
of that width.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from terminal.receipts.model import Language, ShopInfo

PAPER_COLUMNS = {58: 32, 80: 48}
PAPER_DOTS = {58: 384, 80: 576}


@dataclass(frozen=True)
class PrinterProfile:
    """What the composer must know about the printer: which python-escpos profile (features),
    the paper, the code page text is encoded in, and how the QR code is drawn."""

    escpos_profile: str
    paper_mm: Literal[58, 80]
    codec: str = "cp437"
    native_qr: bool = True
    """``GS ( k`` (the printer draws the QR) or a raster image drawn here (``GS v 0``)."""
    qr_module: int = 4
    """Dots per QR module."""

    @property
    def columns(self) -> int:
        return PAPER_COLUMNS[self.paper_mm]

    @property
    def dots(self) -> int:
        return PAPER_DOTS[self.paper_mm]

    def code_page(self) -> int:
        """``ESC t n`` for :attr:`codec` on this printer; ``ValueError`` if it has none."""
        return _code_page(self.escpos_profile, self.codec)


@functools.cache
def _code_page(escpos_profile: str, codec: str) -> int:
    """Looked up once: the profile's code page table is searched by name."""
    from escpos.capabilities import get_profile  # only when a receipt is composed

    table = get_profile(escpos_profile).codePages
    numbers = [int(n) for n, name in table.items() if str(name).upper() == codec.upper()]
    if not numbers:
        raise ValueError(f"printer profile {escpos_profile} has no code page {codec}")
    return min(numbers)


PAPER_80 = PrinterProfile("TM-T20II", 80, native_qr=True, qr_module=5)
"""An Epson-compatible 80 mm printer (576 dots) that draws QR codes itself."""
PAPER_58 = PrinterProfile("POS-5890", 58, native_qr=False, qr_module=4)
"""A common 58 mm printer (384 dots) without native QR: the QR goes as a raster image."""


def profile_for_paper(paper_mm: int) -> PrinterProfile:
    if paper_mm == 80:
        return PAPER_80
    if paper_mm == 58:
        return PAPER_58
    raise ValueError(f"paper width must be 58 or 80 mm, got {paper_mm}")


@dataclass(frozen=True)
class ReceiptConfig:
    """Per terminal: which printer, which language, an optional closing line of the shop's."""

    profile: PrinterProfile = PAPER_80
    language: Language = Language.INDONESIAN
    footer: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PurseInfo:
    """What the holder reads about a purse: its label ("Saldo Kota") and when it expires."""

    label: str
    expires: dt.date | None = None


PurseBook = Mapping[str, PurseInfo]


@dataclass(frozen=True)
class ReceiptContext:
    """What the terminal knows besides the record: printer and language, shop, purse labels,
    who is at the till (voids and day closes carry no cashier), and whether it is offline."""

    config: ReceiptConfig
    shop: ShopInfo
    purses: PurseBook
    cashier: str = ""
    offline: bool = True
