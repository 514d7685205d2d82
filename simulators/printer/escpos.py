"""An incremental ESC/POS parser: bytes in, commands out, whatever the bytes are.

It knows the commands python-escpos and common POS software send (Epson's command set), keeps a
partial command until its last byte arrives, and turns anything else into an ``unknown``
command that the printer reports and skips. Declared lengths are capped so a corrupt header
cannot make it swallow the rest of the stream or run out of memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
MAX_BLOCK = 1 << 20
"""Largest data block accepted in one command (images, 2D codes)."""
MAX_UNKNOWN_RUN = 64

_TEXT = re.compile(rb"[\x20-\xff]+")


@dataclass(frozen=True)
class Command:
    """One parsed command. ``name`` is a stable word (``text``, ``lf``, ``align``, ``qr``...);
    ``args`` its numeric parameters; ``data`` its payload (text bytes, image bits...)."""

    name: str
    args: tuple[int, ...] = ()
    data: bytes = b""
    raw_size: int = 0
    note: str = ""


class _IncompleteError(Exception):
    """The buffer ends inside a command: wait until it holds ``needed`` bytes (0: unknown)."""

    def __init__(self, needed: int = 0) -> None:
        super().__init__(needed)
        self.needed = needed


# ESC x: command name and number of parameter bytes.
_ESC_FIXED: dict[int, tuple[str, int]] = {
    ord("@"): ("init", 0),
    ord("!"): ("mode", 1),
    ord("E"): ("bold", 1),
    ord("G"): ("double_strike", 1),
    ord("-"): ("underline", 1),
    ord("M"): ("font", 1),
    ord("a"): ("align", 1),
    ord("t"): ("codepage", 1),
    ord("d"): ("feed_lines", 1),
    ord("J"): ("feed_dots", 1),
    ord("e"): ("reverse_feed", 1),
    ord("K"): ("reverse_feed_dots", 1),
    ord("2"): ("line_spacing_default", 0),
    ord("3"): ("line_spacing", 1),
    ord("{"): ("upside_down", 1),
    ord("V"): ("rotate", 1),
    ord("R"): ("charset", 1),
    ord(" "): ("right_spacing", 1),
    ord("$"): ("position", 2),
    ord("\\"): ("relative_position", 2),
    ord("p"): ("pulse", 3),
    ord("="): ("peripheral", 1),
    ord("i"): ("cut", 0),
    ord("m"): ("cut", 0),
    ord("L"): ("page_mode", 0),
    ord("S"): ("standard_mode", 0),
    ord("T"): ("page_direction", 1),
    ord("W"): ("page_area", 8),
    ord("r"): ("color", 1),
    ord("U"): ("unidirectional", 1),
    ord("%"): ("user_charset", 1),
    ord("?"): ("cancel_user_char", 1),
    ord("<"): ("return_home", 0),
    ord("u"): ("drawer_status", 1),
    ord("v"): ("paper_status", 0),
}

# GS x: command name and number of parameter bytes.
_GS_FIXED: dict[int, tuple[str, int]] = {
    ord("!"): ("size", 1),
    ord("B"): ("invert", 1),
    ord("h"): ("barcode_height", 1),
    ord("w"): ("barcode_width", 1),
    ord("H"): ("hri_position", 1),
    ord("f"): ("hri_font", 1),
    ord("L"): ("left_margin", 2),
    ord("W"): ("print_width", 2),
    ord("P"): ("motion_units", 2),
    ord("$"): ("vertical_position", 2),
    ord("\\"): ("relative_vertical", 2),
    ord("b"): ("smoothing", 1),
    ord("a"): ("auto_status", 1),
    ord("r"): ("transmit_status", 1),
    ord("I"): ("printer_id", 1),
    ord("T"): ("line_start", 1),
    ord("/"): ("print_downloaded_image", 1),
    ord(":"): ("macro", 0),
    ord("^"): ("run_macro", 3),
    ord("C"): ("counter", 0),
    ord("g"): ("maintenance_counter", 0),
    ord("c"): ("print_counter", 0),
}

_FS_FIXED: dict[int, tuple[str, int]] = {
    ord("."): ("cancel_kanji", 0),
    ord("&"): ("kanji", 0),
    ord("!"): ("kanji_mode", 1),
    ord("-"): ("kanji_underline", 1),
    ord("C"): ("kanji_code", 1),
    ord("S"): ("kanji_spacing", 2),
    ord("W"): ("kanji_quadruple", 1),
    ord("p"): ("print_nv_image", 2),
}

_CONTROLS = {0x0A: "lf", 0x0D: "cr", 0x09: "ht", 0x0C: "ff", 0x18: "can", 0x00: "nul"}
_DLE_DC4_LENGTHS = {1: 2, 2: 2, 7: 1, 8: 7}


class EscPosParser:
    """Feed bytes as they arrive; get back complete commands in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._needed = 0
        self.offset = 0
        """Stream offset of the first byte still in the buffer (for reports)."""

    def feed(self, data: bytes) -> list[Command]:
        self._buffer += data
        if len(self._buffer) < self._needed:
            return []  # still inside a long block: do not parse its header again
        out: list[Command] = []
        pos = 0
        buf = bytes(self._buffer)
        self._needed = 0
        while pos < len(buf):
            try:
                command, size = self._parse(buf, pos)
            except _IncompleteError as more:
                self._needed = max(more.needed - pos, 0)
                break
            out.append(command)
            pos += size
        del self._buffer[:pos]
        self.offset += pos
        return out

    def close(self) -> list[Command]:
        """End of stream: what is left is an incomplete command, reported as such."""
        if not self._buffer:
            return []
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._needed = 0
        self.offset += len(rest)
        return [Command("truncated", data=rest[:MAX_UNKNOWN_RUN], raw_size=len(rest))]

    def _parse(self, buf: bytes, pos: int) -> tuple[Command, int]:
        first = buf[pos]
        if first >= 0x20:
            match = _TEXT.match(buf, pos)
            assert match is not None
            text = match.group()
            return Command("text", data=text, raw_size=len(text)), len(text)
        if first in _CONTROLS:
            return Command(_CONTROLS[first], raw_size=1), 1
        if first == ESC:
            return self._esc(buf, pos)
        if first == GS:
            return self._gs(buf, pos)
        if first == DLE:
            return self._dle(buf, pos)
        if first == FS:
            return self._fs(buf, pos)
        return _unknown(buf[pos : pos + 1], "control byte"), 1

    def _esc(self, buf: bytes, pos: int) -> tuple[Command, int]:
        code = _byte(buf, pos + 1)
        if code in _ESC_FIXED:
            name, count = _ESC_FIXED[code]
            return _fixed(buf, pos, 2, name, count)
        if code == ord("*"):  # column bit image: ESC * m nL nH d1..dk
            m, lo, hi = _bytes(buf, pos + 2, 3)
            width = lo + hi * 256
            size = width * (3 if m in (32, 33) else 1)
            data = _block(buf, pos + 5, size)
            return Command("column_image", (m, width), data, 5 + size), 5 + size
        if code == ord("c"):  # ESC c 3/4/5 n: sensors and panel buttons
            _bytes(buf, pos + 2, 2)
            return Command("sensor_setting", tuple(buf[pos + 2 : pos + 4]), raw_size=4), 4
        if code == ord("D"):  # tab positions: up to 32 bytes ending in NUL
            end = _find_nul(buf, pos + 2, 33)
            return Command("tabs", tuple(buf[pos + 2 : end]), raw_size=end + 1 - pos), end + 1 - pos
        return _unknown(buf[pos : pos + 2], "unknown ESC command"), 2

    def _gs(self, buf: bytes, pos: int) -> tuple[Command, int]:
        code = _byte(buf, pos + 1)
        if code in _GS_FIXED:
            name, count = _GS_FIXED[code]
            return _fixed(buf, pos, 2, name, count)
        if code == ord("V"):  # cut: GS V m [n]
            m = _byte(buf, pos + 2)
            if m in (65, 66, 97, 98, 103, 104):
                return Command("cut", (m, _byte(buf, pos + 3)), raw_size=4), 4
            return Command("cut", (m,), raw_size=3), 3
        if code == ord("v"):  # raster image: GS v 0 m xL xH yL yH d1..dk
            if _byte(buf, pos + 2) != ord("0"):
                return _unknown(buf[pos : pos + 3], "unknown GS v function"), 3
            m, xl, xh, yl, yh = _bytes(buf, pos + 3, 5)
            width_bytes, height = xl + xh * 256, yl + yh * 256
            size = width_bytes * height
            if size > MAX_BLOCK:
                return _unknown(buf[pos : pos + 8], f"raster image too large ({size} bytes)"), 8
            data = _block(buf, pos + 8, size)
            return Command("raster", (m, width_bytes, height), data, 8 + size), 8 + size
        if code == ord("("):  # GS ( fn pL pH data
            fn = _byte(buf, pos + 2)
            lo, hi = _bytes(buf, pos + 3, 2)
            size = lo + hi * 256
            data = _block(buf, pos + 5, size)
            name = {ord("k"): "code2d", ord("L"): "graphics"}.get(fn, "extended")
            note = "" if name != "extended" else f"GS ( {chr(fn) if 32 < fn < 127 else fn}"
            return Command(name, (fn,), data, 5 + size, note), 5 + size
        if code == ord("8"):  # GS 8 L p1 p2 p3 p4 data: large graphics data
            if _byte(buf, pos + 2) != ord("L"):
                return _unknown(buf[pos : pos + 3], "unknown GS 8 function"), 3
            p = _bytes(buf, pos + 3, 4)
            size = p[0] + (p[1] << 8) + (p[2] << 16) + (p[3] << 24)
            if size > MAX_BLOCK:
                return _unknown(buf[pos : pos + 7], f"graphics block too large ({size} bytes)"), 7
            data = _block(buf, pos + 7, size)
            return Command("graphics", (ord("L"),), data, 7 + size), 7 + size
        if code == ord("k"):  # barcode
            m = _byte(buf, pos + 2)
            if m <= 6:  # function A: data ends in NUL
                end = _find_nul(buf, pos + 3, 256)
                return (
                    Command("barcode", (m,), buf[pos + 3 : end], end + 1 - pos),
                    end + 1 - pos,
                )
            n = _byte(buf, pos + 3)
            data = _block(buf, pos + 4, n)
            return Command("barcode", (m,), data, 4 + n), 4 + n
        if code == ord("*"):  # define downloaded bit image: GS * x y d1..d(x*y*8)
            x, y = _bytes(buf, pos + 2, 2)
            size = x * y * 8
            _block(buf, pos + 4, size)
            return Command("define_image", (x, y), raw_size=4 + size), 4 + size
        return _unknown(buf[pos : pos + 2], "unknown GS command"), 2

    def _dle(self, buf: bytes, pos: int) -> tuple[Command, int]:
        code = _byte(buf, pos + 1)
        if code == 0x04:
            return Command("status", (_byte(buf, pos + 2),), raw_size=3), 3
        if code == 0x05:
            return Command("recover", (_byte(buf, pos + 2),), raw_size=3), 3
        if code == 0x14:
            fn = _byte(buf, pos + 2)
            count = _DLE_DC4_LENGTHS.get(fn, 2)
            args = _bytes(buf, pos + 3, count)
            return Command("realtime", (fn, *args), raw_size=3 + count), 3 + count
        return _unknown(buf[pos : pos + 2], "unknown DLE command"), 2

    def _fs(self, buf: bytes, pos: int) -> tuple[Command, int]:
        code = _byte(buf, pos + 1)
        if code in _FS_FIXED:
            name, count = _FS_FIXED[code]
            return _fixed(buf, pos, 2, name, count)
        if code == ord("("):
            lo, hi = _bytes(buf, pos + 3, 2)
            size = lo + hi * 256
            _block(buf, pos + 5, size)
            return Command("extended", (ord("("),), raw_size=5 + size, note="FS ("), 5 + size
        return _unknown(buf[pos : pos + 2], "unknown FS command"), 2


def _byte(buf: bytes, index: int) -> int:
    if index >= len(buf):
        raise _IncompleteError
    return buf[index]


def _bytes(buf: bytes, start: int, count: int) -> tuple[int, ...]:
    if start + count > len(buf):
        raise _IncompleteError
    return tuple(buf[start : start + count])


def _block(buf: bytes, start: int, size: int) -> bytes:
    if start + size > len(buf):
        raise _IncompleteError(start + size)
    return buf[start : start + size]


def _find_nul(buf: bytes, start: int, limit: int) -> int:
    end = buf.find(b"\x00", start, start + limit)
    if end < 0:
        if len(buf) - start < limit:
            raise _IncompleteError
        return start + limit - 1  # no terminator within the limit: stop there
    return end


def _fixed(buf: bytes, pos: int, head: int, name: str, count: int) -> tuple[Command, int]:
    args = _bytes(buf, pos + head, count)
    return Command(name, args, raw_size=head + count), head + count


def _unknown(data: bytes, why: str) -> Command:
    return Command("unknown", data=data, raw_size=len(data), note=why)
