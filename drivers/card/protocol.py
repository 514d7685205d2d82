"""The Kartu SSN card application: AID, instructions and the byte layout of every command.

Both sides use this module: the terminal builds commands and parses answers, the card simulator
parses commands and builds answers. The signed messages inside (proofs, receipts, issuer orders)
live in :mod:`ledger.cardproofs` because the host verifies them too. docs/card-protocol.md is the
prose reference for everything here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import ClassVar

from drivers.card.apdu import CommandAPDU
from ledger.binary import BinaryReader, BinaryWriter, FormatError
from ledger.cardproofs import (
    DIGEST,
    MAX_PIN_TRIES,
    MAX_PURSES,
    MAX_QUANTITIES,
    NONCE,
    NONCE_SIZE,
    PURSE_CODE,
    TERMINAL_ID,
    TERMINAL_ID_SIZE,
    BlockOrder,
    CardCertificate,
    LoadAuthorization,
    PinUnblockOrder,
    SignedOf,
)
from ledger.crypto import PUBLIC_KEY_SIZE
from ledger.layout import (
    DATE,
    PERIOD,
    U8,
    U32,
    Const,
    EnumOf,
    Fields,
    Fixed,
    LaidOut,
    Layout,
    ListOf,
    PairsOf,
    Utf8,
    layout,
)

AID = bytes.fromhex("F053534E534D4402")
"""Proprietary AID (RID F0...: not registered): 'SSN' + 'SMD' (Samarinda) + protocol version 02."""

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80
INFO_VERSION = 2
MAX_NAME_BYTES = 24
MIN_PIN_DIGITS = 4
MAX_PIN_DIGITS = 12
LAST_TRANSACTION = 0
LOAD_WINDOW = 32
"""A card remembers each of the 32 loads below its newest one: those may still apply, once."""
NO_DATE = dt.date(1970, 1, 1)
"""The trusted date of a card that has seen no issuer-signed message yet."""


class Ins(enum.IntEnum):
    SELECT = 0xA4
    VERIFY_PIN = 0x20
    CHANGE_PIN = 0x24
    DEBIT = 0x30
    LOAD = 0x32
    VOID = 0x34
    GET_TRANSACTION = 0x36
    BLOCK = 0x38
    FIND_TRANSACTION = 0x3A
    UNBLOCK_PIN = 0x3C
    PERSONALIZE = 0xE0
    GENERATE_KEY = 0xE2


class CardState(enum.IntEnum):
    BLANK = 0
    ACTIVE = 1
    BLOCKED = 2
    TERMINATED = 3


class TransactionKind(enum.IntEnum):
    NONE = 0
    DEBIT = 1
    LOAD = 2
    VOID = 3


@dataclass(frozen=True)
class Purse(Fields):
    LAYOUT: ClassVar[Layout] = layout(("code", PURSE_CODE), ("balance", U32), ("expiry", DATE))

    code: str
    balance: int
    expiry: dt.date

    def expired_on(self, day: dt.date) -> bool:
        return day > self.expiry


@dataclass(frozen=True)
class QuantityCounter(Fields):
    """How much of a category the holder took in a period (YYMM), in the category's base unit."""

    LAYOUT: ClassVar[Layout] = layout(("category", U8), ("period", PERIOD), ("used", U32))

    category: int
    period: int
    used: int


NAME = Utf8(0, MAX_NAME_BYTES, "holder name")


@dataclass(frozen=True)
class HolderInfo(LaidOut):
    """What the card tells only after the holder's PIN (the VERIFY PIN answer): name, purses
    and quantity counters. A reader without the PIN never sees them (docs/card-protocol.md)."""

    LAYOUT: ClassVar[Layout] = layout(
        ("holder_name", NAME),
        ("purses", ListOf(Purse.read, MAX_PURSES, lambda p: p.code, "purse")),
        ("quantities", ListOf(QuantityCounter.read, MAX_QUANTITIES, lambda q: q, "counter")),
    )

    holder_name: str
    purses: tuple[Purse, ...]
    quantities: tuple[QuantityCounter, ...]


class _OptionalCertificate:
    """A length byte (0 or the certificate's size), then the certificate if any."""

    def write(self, out: BinaryWriter, value: CardCertificate | None) -> None:
        raw = value.encode() if value is not None else b""
        out.u8(len(raw)).raw(raw)

    def read(self, reader: BinaryReader) -> CardCertificate | None:
        size = reader.u8()
        if size not in (0, CardCertificate.SIZE):
            raise FormatError(f"card certificate length {size}")
        return CardCertificate.decode(reader.take(size)) if size else None


@dataclass(frozen=True)
class CardInfo(LaidOut):
    """What the terminal knows of the card in the field.

    The SELECT answer gives the public part (state, PIN tries, counters, the latest date the
    card has seen in issuer-signed messages, the certificate); the holder's part (name, purses,
    quantity counters) is empty until the PIN is verified (``holder_known``)."""

    LAYOUT: ClassVar[Layout] = layout(
        ("_version", Const(INFO_VERSION, "card info version")),
        ("state", EnumOf(CardState, "card state")),
        ("pin_tries_left", U8),
        ("counter", U32),
        ("last_load_seq", U32),
        ("trusted_date", DATE),
        ("certificate", _OptionalCertificate()),
    )

    state: CardState
    pin_tries_left: int
    counter: int
    last_load_seq: int
    certificate: CardCertificate | None
    trusted_date: dt.date = NO_DATE
    holder_name: str = ""
    purses: tuple[Purse, ...] = ()
    quantities: tuple[QuantityCounter, ...] = ()
    holder_known: bool = False

    @property
    def card_number(self) -> str | None:
        return self.certificate.card_number if self.certificate else None

    def purse(self, code: str) -> Purse | None:
        return next((p for p in self.purses if p.code == code), None)

    def with_holder(self, holder: HolderInfo) -> CardInfo:
        return dataclasses.replace(
            self,
            holder_name=holder.holder_name,
            purses=holder.purses,
            quantities=holder.quantities,
            holder_known=True,
        )

    @property
    def holder(self) -> HolderInfo:
        return HolderInfo(self.holder_name, self.purses, self.quantities)


def pin_block(pin: str) -> bytes:
    """ISO 9564 format 2 PIN block: 0x2N, the digits as nibbles, padded with F to 8 bytes."""
    if not (pin.isascii() and pin.isdigit() and MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS):
        raise FormatError(f"a PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits")
    nibbles = pin + "F" * (14 - len(pin))
    return bytes([0x20 | len(pin)]) + bytes.fromhex(nibbles)


def pin_from_block(block: bytes) -> str:
    if len(block) != 8 or block[0] >> 4 != 2:
        raise FormatError("not a format 2 PIN block")
    length = block[0] & 0x0F
    digits = block[1:].hex().upper()
    pin, padding = digits[:length], digits[length:]
    if not (MIN_PIN_DIGITS <= length <= MAX_PIN_DIGITS and pin.isdigit() and set(padding) <= {"F"}):
        raise FormatError("malformed PIN block")
    return pin


class _PinBlock:
    def write(self, out: BinaryWriter, pin: str) -> None:
        out.raw(pin_block(pin))

    def read(self, reader: BinaryReader) -> str:
        return pin_from_block(reader.take(8))


@dataclass(frozen=True)
class DebitRequest(LaidOut):
    LAYOUT: ClassVar[Layout] = layout(
        ("terminal_id", TERMINAL_ID),
        ("nonce", NONCE),
        ("time", U32),
        ("basket_digest", DIGEST),
        ("amounts", PairsOf(PURSE_CODE, U32, 1, MAX_PURSES, "purse amount", unique=False)),
        ("quantities", PairsOf(U8, U32, 0, MAX_QUANTITIES, "quantity", unique=False)),
    )

    terminal_id: str
    nonce: bytes
    time: int
    basket_digest: bytes
    amounts: tuple[tuple[str, int], ...]
    """(purse code, rupiah) per purse, each purse at most once (the card refuses a repeat)."""
    quantities: tuple[tuple[int, int], ...] = ()
    """(category, quantity in base units) to add to this period's counters."""


@dataclass(frozen=True)
class FindRequest(LaidOut):
    """FIND TRANSACTION: the terminal that lost an answer asks by its own nonce, without the
    PIN (only the terminal that made the request knows the nonce)."""

    LAYOUT: ClassVar[Layout] = layout(("nonce", NONCE), ("expected_counter", U32))

    nonce: bytes
    expected_counter: int


@dataclass(frozen=True)
class VoidRequest(LaidOut):
    """Cancels the card's last debit, made in this same card session (Calypso's undebit)."""

    LAYOUT: ClassVar[Layout] = layout(
        ("terminal_id", TERMINAL_ID), ("nonce", NONCE), ("time", U32), ("original_counter", U32)
    )

    terminal_id: str
    nonce: bytes
    time: int
    original_counter: int


LOAD_REQUEST_TAIL = TERMINAL_ID_SIZE + NONCE_SIZE + 4
"""What a LoadRequest adds after the authorization: terminal id, nonce, time."""


@dataclass(frozen=True)
class LoadRequest(LaidOut):
    LAYOUT: ClassVar[Layout] = layout(
        ("authorization", SignedOf(LoadAuthorization, LoadAuthorization.SIZE)),
        ("terminal_id", TERMINAL_ID),
        ("nonce", NONCE),
        ("time", U32),
    )

    authorization: LoadAuthorization
    terminal_id: str
    nonce: bytes
    time: int


@dataclass(frozen=True)
class BlockRequest(LaidOut):
    LAYOUT: ClassVar[Layout] = layout(
        ("order", SignedOf(BlockOrder, BlockOrder.SIZE)),
        ("terminal_id", TERMINAL_ID),
        ("time", U32),
    )

    order: BlockOrder
    terminal_id: str
    time: int


@dataclass(frozen=True)
class PinUnblockRequest(LaidOut):
    """UNBLOCK PIN: the issuer's order relayed by a terminal (or the issuance station)."""

    LAYOUT: ClassVar[Layout] = layout(
        ("order", SignedOf(PinUnblockOrder, PinUnblockOrder.SIZE)),
        ("terminal_id", TERMINAL_ID),
        ("time", U32),
    )

    order: PinUnblockOrder
    terminal_id: str
    time: int


@dataclass(frozen=True)
class Personalization(LaidOut):
    """What the issuance station writes to a blank card that has generated its key."""

    LAYOUT: ClassVar[Layout] = layout(
        ("certificate", SignedOf(CardCertificate, CardCertificate.SIZE)),
        ("holder_name", Utf8(1, MAX_NAME_BYTES, "holder name")),
        ("authority_public_key", Fixed(PUBLIC_KEY_SIZE)),
        ("pin", _PinBlock()),
        ("pin_max_tries", U8),
    )

    certificate: CardCertificate
    holder_name: str
    authority_public_key: bytes
    pin: str
    pin_max_tries: int = 3

    def check(self) -> None:
        if not 1 <= self.pin_max_tries <= MAX_PIN_TRIES:
            raise FormatError(f"PIN tries must be 1 to {MAX_PIN_TRIES}")


def _u32(value: int) -> bytes:
    return BinaryWriter().u32(value).getvalue()


class Commands:
    """Builders for every command APDU the terminal sends."""

    @staticmethod
    def select() -> CommandAPDU:
        return CommandAPDU(CLA_ISO, Ins.SELECT, 0x04, 0x00, AID, le=256)

    @staticmethod
    def verify_pin(pin: str) -> CommandAPDU:
        return CommandAPDU(CLA_ISO, Ins.VERIFY_PIN, 0x00, 0x80, pin_block(pin), le=256)

    @staticmethod
    def change_pin(old: str, new: str) -> CommandAPDU:
        return CommandAPDU(CLA_ISO, Ins.CHANGE_PIN, 0x00, 0x80, pin_block(old) + pin_block(new))

    @staticmethod
    def debit(request: DebitRequest) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.DEBIT, 0, 0, request.encode(), le=256)

    @staticmethod
    def void(request: VoidRequest) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.VOID, 0, 0, request.encode(), le=256)

    @staticmethod
    def load(request: LoadRequest) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.LOAD, 0, 0, request.encode(), le=256)

    @staticmethod
    def get_transaction(counter: int = LAST_TRANSACTION) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.GET_TRANSACTION, 0, 0, _u32(counter), le=256)

    @staticmethod
    def find_transaction(request: FindRequest) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.FIND_TRANSACTION, 0, 0, request.encode(), le=256)

    @staticmethod
    def block(request: BlockRequest) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.BLOCK, 0, 0, request.encode(), le=256)

    @staticmethod
    def unblock_pin(request: PinUnblockRequest) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.UNBLOCK_PIN, 0, 0, request.encode(), le=256)

    @staticmethod
    def generate_key() -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.GENERATE_KEY, 0, 0, le=PUBLIC_KEY_SIZE)

    @staticmethod
    def personalize(personalization: Personalization) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.PERSONALIZE, 0, 0, personalization.encode())
