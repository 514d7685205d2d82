"""What a printed job is made of, as the printer simulator records it: text lines with their
style and alignment, images, QR codes, barcodes and feeds, in the order they came off the printer.
:mod:`simulators.printer.paper` builds jobs from ESC/POS commands; :mod:`simulators.printer.render`
draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

FONT_WIDTH = {0: 12, 1: 9}
"""Dots per character: font A 12x24, font B 9x17."""
FONT_HEIGHT = {0: 24, 1: 17}
BARCODE_NAMES = {
    0: "UPC-A",
    1: "UPC-E",
    2: "EAN13",
    3: "EAN8",
    4: "CODE39",
    5: "ITF",
    6: "CODABAR",
    65: "UPC-A",
    66: "UPC-E",
    67: "EAN13",
    68: "EAN8",
    69: "CODE39",
    70: "ITF",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
}


@dataclass(frozen=True)
class Style:
    font: int = 0
    bold: bool = False
    underline: bool = False
    width: int = 1
    height: int = 1
    invert: bool = False

    @property
    def char_width(self) -> int:
        return FONT_WIDTH[self.font] * self.width


@dataclass
class Span:
    text: str
    style: Style


@dataclass
class TextLine:
    spans: list[Span]
    align: int
    spacing: int
    wrapped: bool = False
    """Ended by the paper's edge, not by a line feed (the sender overran the width)."""

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)

    @property
    def dots(self) -> int:
        return sum(len(span.text) * span.style.char_width for span in self.spans)

    @property
    def height(self) -> int:
        tallest = max((FONT_HEIGHT[s.style.font] * s.style.height for s in self.spans), default=24)
        return max(tallest, self.spacing)


@dataclass
class Feed:
    dots: int


@dataclass
class Bitmap:
    image: Image.Image
    """Mode "1": 0 is black (ink), 255 white."""
    align: int


@dataclass
class QrCode:
    payload: bytes
    module: int
    ec: int
    align: int


@dataclass
class Barcode:
    system: int
    data: bytes
    height: int
    module: int
    hri: int
    align: int

    @property
    def name(self) -> str:
        return BARCODE_NAMES.get(self.system, f"barcode {self.system}")


@dataclass
class Note:
    """A symbol the simulator does not draw (PDF417 and the like): shown as its text."""

    text: str


Element = TextLine | Feed | Bitmap | QrCode | Barcode | Note


@dataclass
class Job:
    """One printed receipt: from the first byte after the previous cut to the next cut."""

    elements: list[Element] = field(default_factory=list)
    complete: bool = False
    """Ended with a cut (False: the connection closed or dropped first)."""
    unknown: list[dict[str, object]] = field(default_factory=list)
    received: int = 0
    discarded: int = 0
    """Bytes that arrived while the printer could not print (paper end, cover open, offline)."""

    @property
    def has_content(self) -> bool:
        return bool(self.elements) or self.discarded > 0 or bool(self.unknown)

    def qr_payloads(self) -> list[bytes]:
        return [e.payload for e in self.elements if isinstance(e, QrCode)]
