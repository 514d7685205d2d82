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
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

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
    """An ordered table of (attribute name, codec). A name starting with ``_`` is a constant
    of the layout (a version byte): written from its codec, checked on reading, not passed on."""

    def __init__(self, fields: tuple[tuple[str, Codec[Any]], ...]) -> None:
        self.fields = fields
        self._readers = tuple((name, codec.read) for name, codec in fields)
        self._writers = tuple((name, codec.write) for name, codec in fields)

    def write(self, out: BinaryWriter, source: object) -> None:
        for name, write in self._writers:
            write(out, getattr(source, name, None))

    def read(self, reader: BinaryReader) -> dict[str, Any]:
        fields = {name: read(reader) for name, read in self._readers}
        for name in [n for n in fields if n.startswith("_")]:
            del fields[name]
        return fields


def layout(*fields: tuple[str, Codec[Any]]) -> Layout:
    return Layout(tuple(fields))


@dataclass(frozen=True)
class PairsOf(Generic[T]):
    """A count byte, then (key, value) pairs: ``low`` to ``limit`` of them, each key once."""

    key: Codec[Any]
    value: Codec[Any]
    low: int
    limit: int
    what: str
    unique: bool = True
    """Each key once; False leaves that rule to whoever reads (the card answers 6A80)."""

    def write(self, out: BinaryWriter, pairs: tuple[tuple[Any, Any], ...]) -> None:
        self._check(len(pairs), [k for k, _ in pairs])
        out.u8(len(pairs))
        for key, value in pairs:
            self.key.write(out, key)
            self.value.write(out, value)

    def read(self, reader: BinaryReader) -> tuple[tuple[Any, Any], ...]:
        count = reader.u8()
        self._check(count, [])
        pairs = tuple((self.key.read(reader), self.value.read(reader)) for _ in range(count))
        self._check(count, [k for k, _ in pairs])
        return pairs

    def _check(self, count: int, keys: list[Any]) -> None:
        if not self.low <= count <= self.limit:
            raise FormatError(f"{self.low} to {self.limit} {self.what} entries, got {count}")
        if self.unique and len(set(keys)) != len(keys):
            raise FormatError(f"a {self.what} is named more than once")


@dataclass(frozen=True)
class Utf8:
    """A length byte, then that many bytes of UTF-8 text (``low`` to ``limit`` bytes)."""

    low: int
    limit: int
    what: str

    def write(self, out: BinaryWriter, value: str) -> None:
        raw = value.encode("utf-8")
        if not self.low <= len(raw) <= self.limit:
            raise FormatError(f"{self.what} must be {self.low} to {self.limit} bytes of UTF-8")
        out.u8(len(raw)).raw(raw)

    def read(self, reader: BinaryReader) -> str:
        size = reader.u8()
        if not self.low <= size <= self.limit:
            raise FormatError(f"{self.what} length out of range")
        try:
            return reader.take(size).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"{self.what} is not UTF-8") from exc


class LaidOut:
    """A message that is exactly its ``LAYOUT`` (no kind byte, no signature): the card's
    commands and answers. :meth:`check` holds the rules across fields, on both sides."""

    LAYOUT: ClassVar[Layout]

    def check(self) -> None:
        """Rules across fields; FormatError when broken."""

    def encode(self) -> bytes:
        self.check()
        out = BinaryWriter()
        self.LAYOUT.write(out, self)
        return out.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Self:
        reader = BinaryReader(data)
        message = cls(**cls.LAYOUT.read(reader))
        reader.end()
        message.check()
        return message


@dataclass(frozen=True)
class Const:
    """A constant byte (a format version): anything else is refused."""

    value: int
    what: str

    def write(self, out: BinaryWriter, _: object) -> None:
        out.u8(self.value)

    def read(self, reader: BinaryReader) -> int:
        found = reader.u8()
        if found != self.value:
            raise FormatError(f"unsupported {self.what} {found}")
        return found


@dataclass(frozen=True)
class EnumOf(Generic[T]):
    """A one-byte enumeration."""

    kind: Callable[[int], T]
    what: str

    def write(self, out: BinaryWriter, value: int) -> None:
        out.u8(int(value))

    def read(self, reader: BinaryReader) -> T:
        value = reader.u8()
        try:
            return self.kind(value)
        except ValueError as exc:
            raise FormatError(f"unknown {self.what} {value}") from exc


class Fields:
    """A small record inside a message (a list item): written and read by its ``LAYOUT``."""

    LAYOUT: ClassVar[Layout]

    def write(self, out: BinaryWriter) -> None:
        self.LAYOUT.write(out, self)

    @classmethod
    def read(cls, reader: BinaryReader) -> Self:
        return cls(**cls.LAYOUT.read(reader))
