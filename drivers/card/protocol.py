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
from typing import TypeVar

from drivers.card.apdu import CommandAPDU
from ledger.binary import BinaryReader, BinaryWriter, FormatError, decode_period
from ledger.cardproofs import (
    DIGEST_SIZE,
    MAX_PURSES,
    MAX_QUANTITIES,
    NONCE_SIZE,
    PURSE_CODE_SIZE,
    TERMINAL_ID_SIZE,
    BlockOrder,
    CardCertificate,
    LoadAuthorization,
    check_purse_code,
    check_terminal_id,
)
from ledger.crypto import PUBLIC_KEY_SIZE

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

_E = TypeVar("_E", bound=enum.IntEnum)


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
class Purse:
    code: str
    balance: int
    expiry: dt.date

    def expired_on(self, day: dt.date) -> bool:
        return day > self.expiry


@dataclass(frozen=True)
class QuantityCounter:
    """How much of a category the holder took in a period (YYMM), in the category's base unit."""

    category: int
    period: int
    used: int


@dataclass(frozen=True)
class HolderInfo:
    """What the card tells only after the holder's PIN (the VERIFY PIN answer): name, purses
    and quantity counters. A reader without the PIN never sees them (docs/card-protocol.md)."""

    holder_name: str
    purses: tuple[Purse, ...]
    quantities: tuple[QuantityCounter, ...]

    def encode(self) -> bytes:
        out = BinaryWriter()
        name = self.holder_name.encode("utf-8")
        if len(name) > MAX_NAME_BYTES:
            raise FormatError(f"holder name longer than {MAX_NAME_BYTES} bytes")
        out.u8(len(name)).raw(name)
        if len(self.purses) > MAX_PURSES or len(self.quantities) > MAX_QUANTITIES:
            raise FormatError("too many purses or quantity counters")
        out.u8(len(self.purses))
        for purse in self.purses:
            out.ascii(check_purse_code(purse.code), PURSE_CODE_SIZE)
            out.u32(purse.balance).date(purse.expiry)
        out.u8(len(self.quantities))
        for qty in self.quantities:
            decode_period(qty.period)
            out.u8(qty.category).u16(qty.period).u32(qty.used)
        return out.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> HolderInfo:
        reader = BinaryReader(data)
        name_len = reader.u8()
        if name_len > MAX_NAME_BYTES:
            raise FormatError("holder name too long")
        try:
            holder_name = reader.take(name_len).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError("holder name is not UTF-8") from exc
        purse_count = reader.u8()
        if purse_count > MAX_PURSES:
            raise FormatError("too many purses")
        purses = tuple(
            Purse(check_purse_code(reader.ascii(PURSE_CODE_SIZE)), reader.u32(), reader.date())
            for _ in range(purse_count)
        )
        if len({p.code for p in purses}) != purse_count:
            raise FormatError("a purse is listed twice")
        qty_count = reader.u8()
        if qty_count > MAX_QUANTITIES:
            raise FormatError("too many quantity counters")
        quantities = []
        for _ in range(qty_count):
            category, period, used = reader.u8(), reader.u16(), reader.u32()
            decode_period(period)
            quantities.append(QuantityCounter(category, period, used))
        reader.end()
        return cls(holder_name, purses, tuple(quantities))


@dataclass(frozen=True)
class CardInfo:
    """What the terminal knows of the card in the field.

    The SELECT answer gives the public part (state, PIN tries, counters, the latest date the
    card has seen in issuer-signed messages, the certificate); the holder's part (name, purses,
    quantity counters) is empty until the PIN is verified (``holder_known``)."""

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

    def encode(self) -> bytes:
        """The public SELECT answer (the holder's part is never in it)."""
        out = BinaryWriter().u8(INFO_VERSION).u8(self.state).u8(self.pin_tries_left)
        out.u32(self.counter).u32(self.last_load_seq).date(self.trusted_date)
        cert = self.certificate.encode() if self.certificate else b""
        return out.u8(len(cert)).raw(cert).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> CardInfo:
        reader = BinaryReader(data)
        version = reader.u8()
        if version != INFO_VERSION:
            raise FormatError(f"unsupported card info version {version}")
        state = _enum(CardState, reader.u8(), "card state")
        pin_tries_left, counter, last_load_seq = reader.u8(), reader.u32(), reader.u32()
        trusted_date = reader.date()
        cert_len = reader.u8()
        if cert_len not in (0, CardCertificate.SIZE):
            raise FormatError(f"card certificate length {cert_len}")
        certificate = CardCertificate.decode(reader.take(cert_len)) if cert_len else None
        reader.end()
        return cls(state, pin_tries_left, counter, last_load_seq, certificate, trusted_date)


def _enum(kind: type[_E], value: int, what: str) -> _E:
    try:
        return kind(value)
    except ValueError as exc:
        raise FormatError(f"unknown {what} {value}") from exc


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


@dataclass(frozen=True)
class DebitRequest:
    terminal_id: str
    nonce: bytes
    time: int
    basket_digest: bytes
    amounts: tuple[tuple[str, int], ...]
    """(purse code, rupiah) per purse, each purse at most once."""
    quantities: tuple[tuple[int, int], ...] = ()
    """(category, quantity in base units) to add to this period's counters."""

    def encode(self) -> bytes:
        out = BinaryWriter().ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
        out.raw(self.nonce, NONCE_SIZE).u32(self.time).raw(self.basket_digest, DIGEST_SIZE)
        if not 1 <= len(self.amounts) <= MAX_PURSES or len(self.quantities) > MAX_QUANTITIES:
            raise FormatError("debit needs 1 to 4 purse amounts and at most 4 quantities")
        out.u8(len(self.amounts))
        for code, amount in self.amounts:
            out.ascii(check_purse_code(code), PURSE_CODE_SIZE).u32(amount)
        out.u8(len(self.quantities))
        for category, quantity in self.quantities:
            out.u8(category).u32(quantity)
        return out.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> DebitRequest:
        reader = BinaryReader(data)
        terminal_id = check_terminal_id(reader.ascii(TERMINAL_ID_SIZE))
        nonce, time, digest = reader.take(NONCE_SIZE), reader.u32(), reader.take(DIGEST_SIZE)
        count = reader.u8()
        if not 1 <= count <= MAX_PURSES:
            raise FormatError("debit needs 1 to 4 purse amounts")
        amounts = tuple(
            (check_purse_code(reader.ascii(PURSE_CODE_SIZE)), reader.u32()) for _ in range(count)
        )
        qty_count = reader.u8()
        if qty_count > MAX_QUANTITIES:
            raise FormatError("at most 4 quantities")
        quantities = tuple((reader.u8(), reader.u32()) for _ in range(qty_count))
        reader.end()
        return cls(terminal_id, nonce, time, digest, amounts, quantities)


@dataclass(frozen=True)
class FindRequest:
    """FIND TRANSACTION: the terminal that lost an answer asks by its own nonce, without the
    PIN (only the terminal that made the request knows the nonce)."""

    nonce: bytes
    expected_counter: int

    def encode(self) -> bytes:
        return BinaryWriter().raw(self.nonce, NONCE_SIZE).u32(self.expected_counter).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> FindRequest:
        reader = BinaryReader(data)
        request = cls(reader.take(NONCE_SIZE), reader.u32())
        reader.end()
        return request


@dataclass(frozen=True)
class VoidRequest:
    """Cancels the card's last debit, made in this same card session (Calypso's undebit)."""

    terminal_id: str
    nonce: bytes
    time: int
    original_counter: int

    def encode(self) -> bytes:
        out = BinaryWriter().ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
        return out.raw(self.nonce, NONCE_SIZE).u32(self.time).u32(self.original_counter).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> VoidRequest:
        reader = BinaryReader(data)
        request = cls(
            check_terminal_id(reader.ascii(TERMINAL_ID_SIZE)),
            reader.take(NONCE_SIZE),
            reader.u32(),
            reader.u32(),
        )
        reader.end()
        return request


LOAD_REQUEST_TAIL = TERMINAL_ID_SIZE + NONCE_SIZE + 4
"""What a LoadRequest adds after the authorization: terminal id, nonce, time."""


@dataclass(frozen=True)
class LoadRequest:
    authorization: LoadAuthorization
    terminal_id: str
    nonce: bytes
    time: int

    def encode(self) -> bytes:
        out = BinaryWriter().raw(self.authorization.encode())
        out.ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
        return out.raw(self.nonce, NONCE_SIZE).u32(self.time).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> LoadRequest:
        tail = LOAD_REQUEST_TAIL
        if len(data) <= tail:
            raise FormatError("load request too short")
        authorization = LoadAuthorization.decode(data[:-tail])
        reader = BinaryReader(data[-tail:])
        request = cls(
            authorization,
            check_terminal_id(reader.ascii(TERMINAL_ID_SIZE)),
            reader.take(NONCE_SIZE),
            reader.u32(),
        )
        reader.end()
        return request


@dataclass(frozen=True)
class BlockRequest:
    order: BlockOrder
    terminal_id: str
    time: int

    def encode(self) -> bytes:
        out = BinaryWriter().raw(self.order.encode())
        return (
            out.ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
            .u32(self.time)
            .getvalue()
        )

    @classmethod
    def decode(cls, data: bytes) -> BlockRequest:
        tail = TERMINAL_ID_SIZE + 4
        if len(data) <= tail:
            raise FormatError("block request too short")
        order = BlockOrder.decode(data[:-tail])
        reader = BinaryReader(data[-tail:])
        request = cls(order, check_terminal_id(reader.ascii(TERMINAL_ID_SIZE)), reader.u32())
        reader.end()
        return request


@dataclass(frozen=True)
class Personalization:
    """What the issuance station writes to a blank card that has generated its key."""

    certificate: CardCertificate
    holder_name: str
    authority_public_key: bytes
    pin: str
    pin_max_tries: int = 3

    def encode(self) -> bytes:
        name = self.holder_name.encode("utf-8")
        if not 1 <= len(name) <= MAX_NAME_BYTES:
            raise FormatError(f"holder name must be 1 to {MAX_NAME_BYTES} bytes of UTF-8")
        if not 1 <= self.pin_max_tries <= 15:
            raise FormatError("PIN tries must be 1 to 15")
        out = BinaryWriter().raw(self.certificate.encode()).u8(len(name)).raw(name)
        out.raw(self.authority_public_key, PUBLIC_KEY_SIZE).raw(pin_block(self.pin))
        return out.u8(self.pin_max_tries).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Personalization:
        reader = BinaryReader(data)
        certificate = CardCertificate.decode(reader.take(CardCertificate.SIZE))
        name_len = reader.u8()
        if not 1 <= name_len <= MAX_NAME_BYTES:
            raise FormatError("holder name length out of range")
        try:
            name = reader.take(name_len).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError("holder name is not UTF-8") from exc
        authority = reader.take(PUBLIC_KEY_SIZE)
        pin = pin_from_block(reader.take(8))
        tries = reader.u8()
        reader.end()
        if not 1 <= tries <= 15:
            raise FormatError("PIN tries must be 1 to 15")
        return cls(certificate, name, authority, pin, tries)


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
    def generate_key() -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.GENERATE_KEY, 0, 0, le=PUBLIC_KEY_SIZE)

    @staticmethod
    def personalize(personalization: Personalization) -> CommandAPDU:
        return CommandAPDU(CLA_PROPRIETARY, Ins.PERSONALIZE, 0, 0, personalization.encode())
