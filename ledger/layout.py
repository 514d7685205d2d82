"""Fixed binary layouts described once: a table of (field, codec) that both writes and reads.

Card messages are fixed big-endian layouts (docs/card-protocol.md). Each message class states
its layout as a :class:`Layout`; encoding walks the table over the object's attributes and
decoding walks it over a :class:`~ledger.binary.BinaryReader` into the constructor's keyword
arguments, so a field can never be written one way and read another.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ledger.binary import BinaryReader, BinaryWriter, FormatError, decode_period
from ledger.cardnumber import card_number_from_bcd, card_number_to_bcd

T = TypeVar("T")


class Codec(Protocol[T]):
    """How one field is written and read."""

    @property
    def write(self) -> Callable[[BinaryWriter, T], object]: ...

    @property
    def read(self) -> Callable[[BinaryReader], T]: ...


@dataclass(frozen=True)
class _Plain(Generic[T]):
    """A field the reader and writer handle themselves: their methods serve directly (no extra
    call per field on the host's hot path)."""

    write: Callable[[BinaryWriter, T], object]
    read: Callable[[BinaryReader], T]


class _Period:
    """A quantity-cap month as ``u16`` YYMM."""

    def write(self, out: BinaryWriter, value: int) -> None:
        decode_period(value)
        out.u16(value)

    def read(self, reader: BinaryReader) -> int:
        value = reader.u16()
        decode_period(value)
        return value


class _CardNumber:
    """16 digits (Luhn) as 8 BCD bytes."""

    def write(self, out: BinaryWriter, value: str) -> None:
        out.raw(card_number_to_bcd(value))

    def read(self, reader: BinaryReader) -> str:
        return card_number_from_bcd(reader.take(8))


@dataclass(frozen=True)
class Fixed:
    """A byte string of exactly ``size`` bytes."""

    size: int

    def write(self, out: BinaryWriter, value: bytes) -> None:
        out.raw(value, self.size)

    def read(self, reader: BinaryReader) -> bytes:
        return reader.take(self.size)


@dataclass(frozen=True)
class Text:
    """ASCII text of exactly ``size`` characters matching ``pattern``."""

    size: int
    pattern: str
    what: str

    def check(self, value: str) -> str:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise FormatError(f"{self.what} must match {self.pattern}, got {value!r}")
        return value

    def write(self, out: BinaryWriter, value: str) -> None:
        out.ascii(self.check(value), self.size)

    def read(self, reader: BinaryReader) -> str:
        return self.check(reader.ascii(self.size))


class Item(Protocol):
    """An element of a counted list: a small frozen record with its own layout."""

    def write(self, out: BinaryWriter) -> None: ...


ItemT = TypeVar("ItemT", bound=Item)


@dataclass(frozen=True)
class ListOf(Generic[ItemT]):
    """A count byte, then that many items (at most ``limit``), each key at most once; ``what``
    names one item in errors."""

    read_item: Callable[[BinaryReader], ItemT]
    limit: int
    key: Callable[[ItemT], object]
    what: str

    def write(self, out: BinaryWriter, value: tuple[ItemT, ...]) -> None:
        self._check(value)
        out.u8(len(value))
        for item in value:
            item.write(out)

    def read(self, reader: BinaryReader) -> tuple[ItemT, ...]:
        count = reader.u8()
        if count > self.limit:
            raise FormatError(f"at most {self.limit} {self.what} entries allowed, got {count}")
        items = tuple(self.read_item(reader) for _ in range(count))
        self._check(items)
        return items

    def _check(self, items: tuple[ItemT, ...]) -> None:
        if len(items) > self.limit:
            raise FormatError(f"at most {self.limit} {self.what} entries allowed, got {len(items)}")
        if len({self.key(item) for item in items}) != len(items):
            # A card refuses a repeated purse or category (6A80); the host keeps one per counter.
            raise FormatError(f"card message names a {self.what} more than once")


U8: Codec[int] = _Plain(BinaryWriter.u8, BinaryReader.u8)
U32: Codec[int] = _Plain(BinaryWriter.u32, BinaryReader.u32)
DATE: Codec[dt.date] = _Plain(BinaryWriter.date, BinaryReader.date)
PERIOD: Codec[int] = _Period()
CARD_NUMBER: Codec[str] = _CardNumber()


class Layout:
    """An ordered table of (attribute name, codec)."""

    def __init__(self, fields: tuple[tuple[str, Codec[Any]], ...]) -> None:
        self.fields = fields
        self._readers = tuple((name, codec.read) for name, codec in fields)
        self._writers = tuple((name, codec.write) for name, codec in fields)

    def write(self, out: BinaryWriter, source: object) -> None:
        for name, write in self._writers:
            write(out, getattr(source, name))

    def read(self, reader: BinaryReader) -> dict[str, Any]:
        return {name: read(reader) for name, read in self._readers}


def layout(*fields: tuple[str, Codec[Any]]) -> Layout:
    return Layout(tuple(fields))
