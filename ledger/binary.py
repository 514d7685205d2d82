"""Strict big-endian binary reading and writing for the card's fixed-layout messages.

Card messages are fixed layouts (a smart card has no room for a general encoder). Every parse goes
through :class:`BinaryReader`, which raises :class:`FormatError` on any short, long or out-of-range
input, so a malformed message from a card, a terminal or an attacker is refused cleanly.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class FormatError(ValueError):
    """Bytes that do not follow the documented layout."""


class BinaryReader:
    """Consumes a byte string field by field; :meth:`end` proves nothing was left over."""

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0

    @property
    def position(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise FormatError(f"truncated: wanted {n} bytes at offset {self._pos}")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    # The integer readers index the buffer in place rather than through take(): a host parses
    # a card proof of a dozen fields for every record it ingests. Same bounds, same errors.
    def u8(self) -> int:
        pos = self._pos
        if pos >= len(self._data):
            raise FormatError(f"truncated: wanted 1 bytes at offset {pos}")
        self._pos = pos + 1
        return self._data[pos]

    def u16(self) -> int:
        pos = self._pos
        if pos + 2 > len(self._data):
            raise FormatError(f"truncated: wanted 2 bytes at offset {pos}")
        self._pos = pos + 2
        value: int = _U16.unpack_from(self._data, pos)[0]
        return value

    def u32(self) -> int:
        pos = self._pos
        if pos + 4 > len(self._data):
            raise FormatError(f"truncated: wanted 4 bytes at offset {pos}")
        self._pos = pos + 4
        value: int = _U32.unpack_from(self._data, pos)[0]
        return value

    def date(self) -> dt.date:
        return decode_date(self.u32())

    def ascii(self, n: int) -> str:
        return decode_ascii(self.take(n))

    def unpack(self, layout: struct.Struct) -> tuple[Any, ...]:
        """Several fixed-size fields at once (a compiled run of a layout's fields)."""
        pos = self._pos
        if pos + layout.size > len(self._data):
            raise FormatError(f"truncated: wanted {layout.size} bytes at offset {pos}")
        self._pos = pos + layout.size
        return layout.unpack_from(self._data, pos)

    def end(self) -> None:
        if self._pos != len(self._data):
            raise FormatError(f"{len(self._data) - self._pos} unexpected trailing bytes")


class BinaryWriter:
    """Builds a message field by field, refusing values that do not fit their field."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes, length: int | None = None) -> BinaryWriter:
        if length is not None and len(data) != length:
            raise FormatError(f"field must be {length} bytes, got {len(data)}")
        self._parts.append(bytes(data))
        return self

    def u8(self, value: int) -> BinaryWriter:
        return self._int(value, 1)

    def u16(self, value: int) -> BinaryWriter:
        return self._int(value, 2)

    def u32(self, value: int) -> BinaryWriter:
        return self._int(value, 4)

    def date(self, value: dt.date) -> BinaryWriter:
        return self.u32(encode_date(value))

    def ascii(self, text: str, length: int) -> BinaryWriter:
        data = text.encode("ascii")
        return self.raw(data, length)

    def _int(self, value: int, size: int) -> BinaryWriter:
        if not isinstance(value, int) or isinstance(value, bool):
            raise FormatError(f"expected an integer, got {type(value).__name__}")
        if not 0 <= value < 1 << (8 * size):
            raise FormatError(f"{value} does not fit in {size} bytes")
        self._parts.append(value.to_bytes(size, "big"))
        return self

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def decode_ascii(raw: bytes) -> str:
    """Printable ASCII text, or FormatError."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError("expected ASCII text") from exc
    if not text.isprintable():
        raise FormatError("expected printable ASCII text")
    return text


def encode_date(value: dt.date) -> int:
    """A calendar date as the integer yyyymmdd (what the card stores)."""
    return value.year * 10000 + value.month * 100 + value.day


def decode_date(value: int) -> dt.date:
    year, rest = divmod(value, 10000)
    month, day = divmod(rest, 100)
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise FormatError(f"invalid date {value}") from exc


def encode_period(value: dt.date) -> int:
    """The quantity-cap period (a calendar month) as the integer YYMM."""
    if not 2000 <= value.year <= 2099:
        raise FormatError(f"year {value.year} outside 2000-2099")
    return (value.year - 2000) * 100 + value.month


def decode_period(value: int) -> tuple[int, int]:
    year, month = divmod(value, 100)
    if not 1 <= month <= 12:
        raise FormatError(f"invalid period {value}")
    return 2000 + year, month
