"""What the printer puts on paper: the interpreter of parsed ESC/POS commands, which builds each
job (:mod:`simulators.printer.job`) as the commands arrive.

State follows Epson's rules where receipts depend on them: ``ESC @`` resets everything, ``ESC a``
takes effect for the line it starts, text wraps at the paper's edge, a cut ends the job.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

from PIL import Image

from simulators.printer.escpos import Command
from simulators.printer.job import (
    Barcode,
    Bitmap,
    Element,
    Feed,
    Job,
    Note,
    QrCode,
    Span,
    Style,
    TextLine,
)

CODE_PAGES = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
}
DEFAULT_LINE_SPACING = 30
SYMBOL_NAMES = {
    48: "PDF417",
    49: "QR",
    50: "MaxiCode",
    51: "GS1 DataBar",
    53: "Aztec",
    54: "DataMatrix",
}


_PRINTING = {
    "text",
    "lf",
    "ht",
    "feed_lines",
    "feed_dots",
    "raster",
    "column_image",
    "graphics",
    "code2d",
    "barcode",
    "cut",
    "ff",
}
_IGNORED = {
    "cr",
    "nul",
    "can",
    "double_strike",
    "line_start",
    "right_spacing",
    "charset",
    "peripheral",
    "sensor_setting",
    "smoothing",
    "motion_units",
    "left_margin",
    "print_width",
    "unidirectional",
    "color",
    "tabs",
    "upside_down",
    "rotate",
    "pulse",
    "realtime",
    "recover",
    "cancel_kanji",
    "kanji",
    "kanji_mode",
    "kanji_code",
    "hri_font",
    "standard_mode",
    "auto_status",
}


class Interpreter:
    """Applies commands to the paper. ``can_print`` says whether the printer may print now
    (no fault); ``reply`` sends bytes back (status); ``job_done`` takes each finished job."""

    def __init__(
        self,
        dots: int,
        *,
        can_print: Callable[[], bool],
        reply: Callable[[Command], None],
        job_done: Callable[[Job], None],
        line_printed: Callable[[], None] = lambda: None,
    ) -> None:
        self.dots = dots
        self._can_print = can_print
        self._reply = reply
        self._job_done = job_done
        self._line_printed = line_printed
        self.job = Job()
        self._reset()

    def _reset(self) -> None:
        self.style = Style()
        self.align = 0
        self.codepage = 0
        self.spacing = DEFAULT_LINE_SPACING
        self.line: list[Span] = []
        self.line_align = 0
        self._used = 0
        self.qr_module, self.qr_ec, self.qr_data = 3, 48, b""
        self.bar_height, self.bar_module, self.hri = 162, 3, 0
        self.graphic: Image.Image | None = None
        self._image_band = False

    # -- the job ------------------------------------------------------------------------------
    def finish(self, complete: bool) -> None:
        """End the current job (cut, or the connection closed) and hand it over."""
        self._flush_line(force=False)
        job, self.job = self.job, Job()
        job.complete = complete
        if job.has_content:
            self._job_done(job)

    def _add(self, element: Element) -> None:
        self.job.elements.append(element)

    def _report(self, command: Command, offset: int) -> None:
        self.job.unknown.append(
            {"offset": offset, "bytes": command.data.hex(" "), "reason": command.note}
        )

    # -- commands ------------------------------------------------------------------------------
    def apply(self, command: Command, offset: int = 0) -> None:
        name = command.name
        self.job.received += command.raw_size
        if name in ("status", "transmit_status", "printer_id", "drawer_status", "paper_status"):
            self._reply(command)
            return
        if name in ("unknown", "truncated", "extended"):
            self._report(command, offset)
            return
        if name in _PRINTING and not self._can_print():
            self.job.discarded += command.raw_size
            return
        handler = getattr(self, f"_do_{name}", None)
        if handler is not None:
            handler(command)
        elif name not in _IGNORED:
            self._report(Command(name, note=f"{name}: accepted, has no effect here"), offset)

    def _do_init(self, _: Command) -> None:
        self._flush_line(force=False)
        self._reset()

    def _do_mode(self, c: Command) -> None:
        n = c.args[0]
        size = 2 if n & 0x10 else 1, 2 if n & 0x20 else 1
        self.style = Style(
            font=n & 1,
            bold=bool(n & 0x08),
            underline=bool(n & 0x80),
            width=size[1],
            height=size[0],
            invert=self.style.invert,
        )

    def _restyle(self, **changes: Any) -> None:
        self.style = dataclasses.replace(self.style, **changes)

    def _do_bold(self, c: Command) -> None:
        self._restyle(bold=bool(c.args[0] & 1))

    def _do_underline(self, c: Command) -> None:
        self._restyle(underline=c.args[0] in (1, 2, 49, 50))

    def _do_font(self, c: Command) -> None:
        self._restyle(font=1 if c.args[0] in (1, 49) else 0)

    def _do_size(self, c: Command) -> None:
        n = c.args[0]
        self._restyle(width=min((n >> 4) & 7, 7) + 1, height=(n & 7) + 1)

    def _do_invert(self, c: Command) -> None:
        self._restyle(invert=bool(c.args[0] & 1))

    def _do_align(self, c: Command) -> None:
        self.align = {0: 0, 1: 1, 2: 2, 48: 0, 49: 1, 50: 2}.get(c.args[0], self.align)

    def _do_codepage(self, c: Command) -> None:
        if c.args[0] not in CODE_PAGES:
            self._report(Command("codepage", note=f"code page {c.args[0]} not known"), 0)
        self.codepage = c.args[0]

    def _do_line_spacing(self, c: Command) -> None:
        self.spacing = c.args[0]

    def _do_line_spacing_default(self, _: Command) -> None:
        self.spacing = DEFAULT_LINE_SPACING

    def _do_text(self, c: Command) -> None:
        codec = CODE_PAGES.get(self.codepage, "cp437")
        text = c.data.decode(codec, errors="replace").replace("\x7f", "\u2302")
        for char in text:
            self._put(char)

    def _put(self, char: str) -> None:
        if not self.line:
            self.line_align = self.align
            self._used = 0
        width = self.style.char_width
        if self._used + width > self.dots and self.line:
            self._flush_line(force=True, wrapped=True)  # the printer wraps at the paper's edge
            self.line_align = self.align
            self._used = 0
        self._used += width
        if self.line and self.line[-1].style is self.style:
            self.line[-1].text += char
        else:
            self.line.append(Span(char, self.style))

    def _do_ht(self, _: Command) -> None:
        used = sum(len(span.text) for span in self.line)
        for _blank in range(8 - used % 8):
            self._put(" ")

    def _flush_line(self, force: bool, wrapped: bool = False) -> None:
        """Print the line buffer; ``force`` prints even an empty line (a blank line)."""
        if self.line or force:
            if self._image_band and not self.line:
                self._image_band = False
                return
            self._add(TextLine(self.line, self.line_align, self.spacing, wrapped))
            self.line = []
            self._line_printed()
        self._image_band = False

    def _do_lf(self, _: Command) -> None:
        self._flush_line(force=True)

    def _do_ff(self, _: Command) -> None:
        self._flush_line(force=False)

    def _do_feed_lines(self, c: Command) -> None:
        for _line in range(c.args[0]):
            self._flush_line(force=True)

    def _do_feed_dots(self, c: Command) -> None:
        self._flush_line(force=False)
        self._add(Feed(c.args[0]))

    def _do_cut(self, _: Command) -> None:
        self.finish(complete=True)

    # -- images and codes ----------------------------------------------------------------------
    def _do_raster(self, c: Command) -> None:
        _, width_bytes, height = c.args
        if width_bytes == 0 or height == 0:
            return
        self._flush_line(force=False)
        image = Image.frombytes("1", (width_bytes * 8, height), c.data)
        self._add(Bitmap(_ink_to_paper(image), self.align))

    def _do_column_image(self, c: Command) -> None:
        mode, width = c.args
        if width == 0:
            return
        rows = 24 if mode in (32, 33) else 8
        per_column = rows // 8
        image = Image.new("1", (width, rows), 1)
        pixels = image.load()
        assert pixels is not None
        for x, k, bit in itertools.product(range(width), range(per_column), range(8)):
            if c.data[x * per_column + k] & (0x80 >> bit):
                pixels[x, k * 8 + bit] = 0
        self._flush_line(force=False)
        self._add(Bitmap(image, self.align))
        self._image_band = True

    def _do_graphics(self, c: Command) -> None:
        data = c.data
        if len(data) < 2:
            return
        fn = data[1]
        if fn in (112, 113) and len(data) >= 10:  # store raster graphics
            width = data[6] + data[7] * 256
            height = data[8] + data[9] * 256
            bits = data[10:]
            if width and height and len(bits) >= (width + 7) // 8 * height:
                image = Image.frombytes("1", ((width + 7) // 8 * 8, height), bits)
                self.graphic = _ink_to_paper(image).crop((0, 0, width, height))
        elif fn in (2, 50) and self.graphic is not None:  # print stored graphics
            self._flush_line(force=False)
            self._add(Bitmap(self.graphic, self.align))
            self.graphic = None

    def _do_code2d(self, c: Command) -> None:
        if len(c.data) < 2:
            return
        cn, fn, params = c.data[0], c.data[1], c.data[2:]
        if cn != 49:  # not QR: shown as text, reported
            if fn == 80 and len(params) > 1:
                self.qr_data = params[1:]
            elif fn == 81:
                name = SYMBOL_NAMES.get(cn, f"2D code {cn}")
                self._flush_line(force=False)
                self._add(Note(f"[{name}: {self.qr_data.decode('latin-1')}]"))
            return
        if fn == 67 and params:
            self.qr_module = max(1, min(params[0], 16))
        elif fn == 69 and params:
            self.qr_ec = params[0]
        elif fn == 80 and params:
            self.qr_data = params[1:]
        elif fn == 81 and self.qr_data:
            self._flush_line(force=False)
            self._add(QrCode(self.qr_data, self.qr_module, self.qr_ec, self.align))

    def _do_barcode_height(self, c: Command) -> None:
        self.bar_height = max(c.args[0], 1)

    def _do_barcode_width(self, c: Command) -> None:
        self.bar_module = max(1, min(c.args[0], 6))

    def _do_hri_position(self, c: Command) -> None:
        self.hri = c.args[0] & 3

    def _do_barcode(self, c: Command) -> None:
        self._flush_line(force=False)
        self._add(
            Barcode(c.args[0], c.data, self.bar_height, self.bar_module, self.hri, self.align)
        )


def _ink_to_paper(image: Image.Image) -> Image.Image:
    """ESC/POS bit 1 is a black dot; in a mode "1" image 0 is black: invert."""
    return image.point(lambda v: 255 - v, mode="1")
