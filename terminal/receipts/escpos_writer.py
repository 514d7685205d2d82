"""Lines to ESC/POS bytes: a small writer over python-escpos's ``Dummy`` printer, with the
text helpers the composer lays receipts out with (pairs, wrapping, flowing lists).

The printer's side of the layout (columns, code page, QR) is :mod:`terminal.receipts.config`.
All text goes through :func:`terminal.receipts.text.normalise` first, so nothing prints as "?".
"""

from __future__ import annotations

import functools
import textwrap
from typing import Any, Literal

import qrcode
from PIL import Image

from terminal.receipts.config import PrinterProfile
from terminal.receipts.text import normalise

Align = Literal["left", "center", "right"]


def pair(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line of ``width``; ``left`` is shortened, never ``right``."""
    room = max(width - len(right) - 1, 0)
    if len(left) > room:
        left = left[: room - 1] + "." if room > 1 else left[:room]
    return left + " " * max(width - len(left) - len(right), 1) + right


def wrap(text: str, width: int, indent: int = 0) -> list[str]:
    """Word-wrapped lines; the first at the margin, the rest indented."""
    if len(text) <= width and text.isprintable():  # fits: what textwrap would return, faster
        return [text.rstrip(" ")] if text.strip(" ") else [""]
    lead = " " * (len(text) - len(text.lstrip(" ")))
    pad = " " * indent
    parts = textwrap.wrap(
        text.lstrip(" "),
        width,
        initial_indent=lead,
        subsequent_indent=pad,
        break_long_words=True,
    )
    return parts or [""]


def flow(prefix: str, items: list[str], width: int, indent: int) -> list[str]:
    """``prefix`` then the items joined by ", ", breaking only between items (an item is split
    only if it alone is wider than the paper)."""
    pieces = [item + "," for item in items[:-1]] + items[-1:]
    lines: list[str] = []
    current = prefix.rstrip()
    for index, piece in enumerate(pieces):
        candidate = f"{current} {piece}"
        if index == 0 or len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = " " * indent + piece
    lines.append(current)
    return [part for line in lines for part in wrap(line, width, indent)]


# Most lines of a receipt (rules, labels, the shop's header, common amounts) repeat across
# copies and sales: these pure functions are cached, so each distinct line is laid out once.


@functools.lru_cache(maxsize=4096)
def _line_bytes(text: str, codec: str, limit: int) -> bytes:
    """A line as printed: normalised for the code page, wrapped to ``limit``, encoded."""
    text = normalise(text, codec, collapse=False).rstrip()
    parts = wrap(text, limit) if len(text) > limit else [text]
    return b"".join(part.encode(codec) + b"\n" for part in parts)


@functools.lru_cache(maxsize=4096)
def _clean(text: str, codec: str) -> str:
    """Normalised content, keeping the layout's leading indent."""
    indent = len(text) - len(text.lstrip(" "))
    return " " * indent + normalise(text, codec)


@functools.lru_cache(maxsize=4096)
def _pair_text(left: str, right: str, codec: str, width: int) -> str:
    return pair(_clean(left, codec), _clean(right, codec), width)


_Style = tuple[Align, bool, bool]
"""Alignment, bold, big (a plain tuple: it is a cache key on every line)."""
_PLAIN: _Style = ("left", False, False)


@functools.lru_cache(maxsize=64)
def _style_change(escpos_profile: str, current: _Style, target: _Style) -> bytes:
    """python-escpos's commands from one style to another (they depend on nothing else)."""
    printer = _dummy(escpos_profile)
    (align, bold, big), (was_align, was_bold, was_big) = target, current
    if big != was_big:
        printer.set(double_width=big, double_height=big, normal_textsize=not big)
    if bold != was_bold:
        printer.set(bold=bold)
    if align != was_align:
        printer.set(align=align)
    data: bytes = printer.output
    return data


@functools.lru_cache(maxsize=16)
def _preamble(profile: PrinterProfile) -> bytes:
    """Initialise the printer and select the code page: how every receipt starts."""
    printer = _dummy(profile.escpos_profile)
    printer.hw("INIT")
    printer._raw(b"\x1bt" + bytes([profile.code_page()]))
    data: bytes = printer.output
    return data


@functools.lru_cache(maxsize=16)
def _cut(escpos_profile: str) -> bytes:
    printer = _dummy(escpos_profile)
    printer.cut(feed=False)
    data: bytes = printer.output
    return data


class ReceiptWriter:
    """Collects one receipt's ESC/POS bytes. Text is normalised for the code page; style
    commands are sent only when the style changes. The command bytes come from python-escpos
    (made once per printer profile and cached); the writer only joins them with the text."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.columns = profile.columns
        self._chunks = [_preamble(profile)]
        self._style = _PLAIN

    def _set(self, align: Align, bold: bool, big: bool) -> None:
        target = (align, bold, big)
        if target != self._style:
            self._chunks.append(_style_change(self.profile.escpos_profile, self._style, target))
            self._style = target

    def line(
        self, text: str = "", *, align: Align = "left", bold: bool = False, big: bool = False
    ) -> None:
        """One line, wrapped if longer than the paper; ``big`` is double width and height."""
        self._set(align, bold, big)
        limit = self.columns // 2 if big else self.columns
        self._chunks.append(_line_bytes(text, self.profile.codec, limit))

    def _clean(self, text: str) -> str:
        return _clean(text, self.profile.codec)

    def pair(self, left: str, right: str, *, bold: bool = False) -> None:
        self.line(_pair_text(left, right, self.profile.codec, self.columns), bold=bold)

    def wrapped(self, text: str, indent: int = 0) -> None:
        """Word-wrapped to the paper; continuation lines indented by ``indent``."""
        for part in wrap(self._clean(text), self.columns, indent):
            self.line(part)

    def flowed(self, prefix: str, items: list[str], indent: int = 4) -> None:
        """A label and a list that breaks between items (see :func:`flow`)."""
        clean = [normalise(item, self.profile.codec) for item in items]
        for part in flow(self._clean(prefix), clean, self.columns, indent):
            self.line(part)

    def rule(self, char: str = "-") -> None:
        self.line(char * self.columns)

    def feed(self, lines: int = 1) -> None:
        self._chunks.append(b"\n" * lines)

    def qr(self, payload: str) -> None:
        """The record's QR code, centred, error correction level M."""
        self._set("center", False, False)
        self._chunks.append(_qr_bytes(payload, self.profile))
        self._set("left", False, False)

    def cut(self) -> None:
        """Feed past the tear bar and cut; printers without a cutter ignore the cut."""
        self._set("left", False, False)
        self.feed(4)
        self._chunks.append(_cut(self.profile.escpos_profile))

    def output(self) -> bytes:
        return b"".join(self._chunks)


@functools.lru_cache(maxsize=16)
def _qr_bytes(payload: str, profile: PrinterProfile) -> bytes:
    """The commands that print the QR code; made once for both copies of a sale."""
    printer = _dummy(profile.escpos_profile)
    if profile.native_qr:
        printer.qr(payload, ec=_qr_level_m(), size=profile.qr_module, native=True)
        printer._raw(b"\n")
    else:
        code = qrcode.QRCode(
            border=2,
            error_correction=qrcode.constants.ERROR_CORRECT_M,
            mask_pattern=0,  # trying all 8 masks costs ~10 ms per receipt; any mask is valid
        )
        code.add_data(payload)
        code.make(fit=True)
        matrix = code.get_matrix()
        modules = Image.new("1", (len(matrix), len(matrix)), 1)
        modules.putdata([0 if dark else 1 for row in matrix for dark in row])
        size = len(matrix) * profile.qr_module
        image = modules.resize((size, size), Image.Resampling.NEAREST)
        printer.image(image, impl="bitImageRaster", center=True)
    data: bytes = printer.output
    return data


def _dummy(escpos_profile: str) -> Any:
    """python-escpos's in-memory printer, imported on first use: importing python-escpos reads
    its whole capability database (~0.3 s), which the app and the sale command should not pay
    before a receipt is composed."""
    from escpos.printer import Dummy

    return Dummy(profile=escpos_profile)


def _qr_level_m() -> int:
    from escpos.constants import QR_ECLEVEL_M

    return int(QR_ECLEVEL_M)
