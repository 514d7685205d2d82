"""Fixed binary layouts described once: a table of (field, codec) that both writes and reads.

Card messages are fixed big-endian layouts (docs/card-protocol.md). Each message class states
its layout as a :class:`Layout`; encoding walks the table over the object's attributes and
decoding walks it over a :class:`~ledger.binary.BinaryReader` into the constructor's keyword
arguments, so a field can never be written one way and read another.

Reading is compiled from the same table: a codec of fixed size says so (``packed``: a struct
format code and what turns the unpacked value into the field), and each run of such fields is
read with one ``struct`` unpack instead of a call per field. A host decodes several card messages
for every record it ingests; this is the same format, read in bigger steps.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from ledger.binary import (
    BinaryReader,
    BinaryWriter,
    FormatError,
    decode_ascii,
    decode_date,
    decode_period,
)
from ledger.cardnumber import card_number_from_bcd, card_number_to_bcd

T = TypeVar("T")

Packed = tuple[str, Callable[[Any], Any] | None]
"""A fixed-size field: its struct format code, and what turns the unpacked value into the
field's value (checking it) or None to take it as unpacked."""


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
    packed: Packed | None = None


def _period(value: int) -> int:
    decode_period(value)
    return value


class _Period:
    """A quantity-cap month as ``u16`` YYMM."""

    packed: Packed = ("H", _period)

    def write(self, out: BinaryWriter, value: int) -> None:
        decode_period(value)
        out.u16(value)

    def read(self, reader: BinaryReader) -> int:
        return _period(reader.u16())


class _CardNumber:
    """16 digits (Luhn) as 8 BCD bytes."""

    packed: Packed = ("8s", card_number_from_bcd)

    def write(self, out: BinaryWriter, value: str) -> None:
        out.raw(card_number_to_bcd(value))

    def read(self, reader: BinaryReader) -> str:
        return card_number_from_bcd(reader.take(8))


@dataclass(frozen=True)
class Fixed:
    """A byte string of exactly ``size`` bytes."""

    size: int

    @property
    def packed(self) -> Packed:
        return f"{self.size}s", None

    def write(self, out: BinaryWriter, value: bytes) -> None:
        out.raw(value, self.size)

    def read(self, reader: BinaryReader) -> bytes:
        return reader.take(self.size)


_KNOWN_TEXT: dict[tuple[Text, bytes], str] = {}
_KNOWN_TEXT_SIZE = 65536


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

    @property
    def packed(self) -> Packed:
        return f"{self.size}s", self._from_bytes

    def _from_bytes(self, raw: bytes) -> str:
        # Terminal ids and purse codes are few: each distinct one is checked once, then known.
        known = _KNOWN_TEXT.get((self, raw))
        if known is not None:
            return known
        text = self.check(decode_ascii(raw))
        if len(_KNOWN_TEXT) < _KNOWN_TEXT_SIZE:
            _KNOWN_TEXT[self, raw] = text
        return text

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


U8: Codec[int] = _Plain(BinaryWriter.u8, BinaryReader.u8, ("B", None))
U32: Codec[int] = _Plain(BinaryWriter.u32, BinaryReader.u32, ("I", None))
DATE: Codec[dt.date] = _Plain(BinaryWriter.date, BinaryReader.date, ("I", decode_date))
PERIOD: Codec[int] = _Period()
CARD_NUMBER: Codec[str] = _CardNumber()


class Layout:
    """An ordered table of (attribute name, codec). A name starting with ``_`` is a constant
    of the layout (a version byte): written from its codec, checked on reading, not passed on."""

    def __init__(self, fields: tuple[tuple[str, Codec[Any]], ...]) -> None:
        self.fields = fields
        self._steps = _compile(fields)
        self._constants = tuple(name for name, _ in fields if name.startswith("_"))
        self._writers = tuple((name, codec.write) for name, codec in fields)

    def write(self, out: BinaryWriter, source: object) -> None:
        for name, write in self._writers:
            write(out, getattr(source, name, None))

    def read(self, reader: BinaryReader) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for run, names in self._steps:
            if run is None:
                name, read = names[0]
                fields[name] = read(reader)
                continue
            for (name, convert), value in zip(names, reader.unpack(run), strict=True):
                fields[name] = value if convert is None else convert(value)
        for name in self._constants:
            del fields[name]
        return fields


_Step = tuple[struct.Struct | None, tuple[tuple[str, Any], ...]]
"""A run of fixed-size fields (one struct, then (name, convert) per field) or one field read by
its codec (None, ((name, read),))."""


def _compile(fields: tuple[tuple[str, Codec[Any]], ...]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    run: list[tuple[str, str, Callable[[Any], Any] | None]] = []

    def close_run() -> None:
        if run:
            formats = "".join(code for _, code, _ in run)
            steps.append((struct.Struct(">" + formats), tuple((n, c) for n, _, c in run)))
            run.clear()

    for name, codec in fields:
        packed: Packed | None = getattr(codec, "packed", None)
        if packed is None:
            close_run()
            steps.append((None, ((name, codec.read),)))
        else:
            run.append((name, *packed))
    close_run()
    return tuple(steps)


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

    @property
    def packed(self) -> Packed:
        return "B", self._expect

    def _expect(self, found: int) -> int:
        if found != self.value:
            raise FormatError(f"unsupported {self.what} {found}")
        return found

    def write(self, out: BinaryWriter, _: object) -> None:
        out.u8(self.value)

    def read(self, reader: BinaryReader) -> int:
        return self._expect(reader.u8())


@dataclass(frozen=True)
class EnumOf(Generic[T]):
    """A one-byte enumeration."""

    kind: Callable[[int], T]
    what: str

    @property
    def packed(self) -> Packed:
        return "B", self._member

    def _member(self, value: int) -> T:
        try:
            return self.kind(value)
        except ValueError as exc:
            raise FormatError(f"unknown {self.what} {value}") from exc

    def write(self, out: BinaryWriter, value: int) -> None:
        out.u8(int(value))

    def read(self, reader: BinaryReader) -> T:
        return self._member(reader.u8())


class Fields:
    """A small record inside a message (a list item): written and read by its ``LAYOUT``."""

    LAYOUT: ClassVar[Layout]

    def write(self, out: BinaryWriter) -> None:
        self.LAYOUT.write(out, self)

    @classmethod
    def read(cls, reader: BinaryReader) -> Self:
        return cls(**cls.LAYOUT.read(reader))
