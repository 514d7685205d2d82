"""The card's signed messages and the issuer's signed orders to cards, byte for byte.

These are the evidence of money: a debit proof is what the host settles, a load receipt closes a
load, a void proof returns value. They are produced by the card (or the issuer) and carried
unchanged inside ledger records, so terminal, host and card simulator share this one codec.
Layouts are fixed big-endian fields; docs/card-protocol.md is the reference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import ClassVar, Self

from ledger.binary import BinaryReader, BinaryWriter, FormatError, decode_period
from ledger.cardnumber import card_number_from_bcd, card_number_to_bcd
from ledger.crypto import (
    KEY_ID_SIZE,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    Domain,
    SignatureCheck,
    SigningKey,
    verify,
)

NONCE_SIZE = 16
DIGEST_SIZE = 32
TERMINAL_ID_SIZE = 8
PURSE_CODE_SIZE = 4
MAX_PURSES = 4
MAX_QUANTITIES = 4
MAX_AMOUNT = 0xFFFFFFFF

_PURSE_CODE = re.compile(r"[A-Z0-9]{4}")
_TERMINAL_ID = re.compile(r"[A-Z0-9-]{8}")


class Kind:
    """First byte of every signed card or issuer message."""

    DEBIT = 0x01
    LOAD = 0x02
    VOID = 0x03
    BLOCK = 0x04
    LOAD_AUTHORIZATION = 0x10
    BLOCK_ORDER = 0x11
    CARD_CERTIFICATE = 0x20


def check_purse_code(code: str) -> str:
    if not isinstance(code, str) or not _PURSE_CODE.fullmatch(code):
        raise FormatError(f"purse code must be 4 characters A-Z/0-9, got {code!r}")
    return code


def check_terminal_id(terminal_id: str) -> str:
    if not isinstance(terminal_id, str) or not _TERMINAL_ID.fullmatch(terminal_id):
        raise FormatError(f"terminal id must be 8 characters A-Z/0-9/-, got {terminal_id!r}")
    return terminal_id


@dataclass(frozen=True)
class PurseMovement:
    """One purse's part of a transaction: the amount moved and the balance it left."""

    code: str
    amount: int
    balance_after: int

    def write(self, out: BinaryWriter) -> None:
        out.ascii(check_purse_code(self.code), PURSE_CODE_SIZE)
        out.u32(self.amount).u32(self.balance_after)

    @classmethod
    def read(cls, reader: BinaryReader) -> PurseMovement:
        code = check_purse_code(reader.ascii(PURSE_CODE_SIZE))
        return cls(code, reader.u32(), reader.u32())


@dataclass(frozen=True)
class QuantityMovement:
    """A change to a per-period quantity counter (e.g. grams of rice this month)."""

    category: int
    period: int
    quantity: int
    used_after: int

    def write(self, out: BinaryWriter) -> None:
        decode_period(self.period)
        out.u8(self.category).u16(self.period).u32(self.quantity).u32(self.used_after)

    @classmethod
    def read(cls, reader: BinaryReader) -> QuantityMovement:
        category, period = reader.u8(), reader.u16()
        decode_period(period)
        return cls(category, period, reader.u32(), reader.u32())


@dataclass(frozen=True)
class PurseBalance:
    """A purse the transaction did not move, with its balance: every card message carries the
    balance of every purse after it, so the host can check continuity across counters it never
    saw (docs/card-protocol.md, "the host sees every counter")."""

    code: str
    balance: int

    def write(self, out: BinaryWriter) -> None:
        out.ascii(check_purse_code(self.code), PURSE_CODE_SIZE).u32(self.balance)

    @classmethod
    def read(cls, reader: BinaryReader) -> PurseBalance:
        return cls(check_purse_code(reader.ascii(PURSE_CODE_SIZE)), reader.u32())


def _write_list(
    out: BinaryWriter,
    items: tuple[PurseMovement, ...] | tuple[QuantityMovement, ...] | tuple[PurseBalance, ...],
    limit: int,
) -> None:
    if len(items) > limit:
        raise FormatError(f"at most {limit} entries allowed, got {len(items)}")
    out.u8(len(items))
    for item in items:
        item.write(out)


def _read_purses(reader: BinaryReader) -> tuple[PurseMovement, ...]:
    count = reader.u8()
    if count > MAX_PURSES:
        raise FormatError(f"at most {MAX_PURSES} purses allowed, got {count}")
    purses = tuple(PurseMovement.read(reader) for _ in range(count))
    if len({p.code for p in purses}) != count:
        # A card refuses a repeated purse (6A80); the host keeps one proof per purse and counter.
        raise FormatError("card proof names a purse more than once")
    return purses


def _read_others(reader: BinaryReader, moved: tuple[str, ...]) -> tuple[PurseBalance, ...]:
    count = reader.u8()
    if count + len(moved) > MAX_PURSES:
        raise FormatError(f"a card holds at most {MAX_PURSES} purses")
    others = tuple(PurseBalance.read(reader) for _ in range(count))
    codes = [*moved, *(o.code for o in others)]
    if len(set(codes)) != len(codes):
        raise FormatError("card proof names a purse more than once")
    return others


def _write_others(out: BinaryWriter, moved: int, others: tuple[PurseBalance, ...]) -> None:
    _write_list(out, others, MAX_PURSES - moved)


def _read_quantities(reader: BinaryReader) -> tuple[QuantityMovement, ...]:
    count = reader.u8()
    if count > MAX_QUANTITIES:
        raise FormatError(f"at most {MAX_QUANTITIES} quantity counters allowed, got {count}")
    quantities = tuple(QuantityMovement.read(reader) for _ in range(count))
    if len({q.category for q in quantities}) != count:
        raise FormatError("card proof names a quantity category more than once")
    return quantities


@dataclass(frozen=True)
class Signed:
    """A message whose last 64 bytes are an Ed25519 signature over everything before them."""

    KIND: ClassVar[int]
    DOMAIN: ClassVar[Domain]

    signature: bytes = dataclasses.field(default=b"", kw_only=True, repr=False)

    def write_fields(self, out: BinaryWriter) -> None:
        raise NotImplementedError

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> Self:
        raise NotImplementedError

    def body(self) -> bytes:
        decoded: bytes | None = self.__dict__.get("_decoded_body")
        if decoded is not None:
            return decoded
        out = BinaryWriter().u8(self.KIND)
        self.write_fields(out)
        return out.getvalue()

    def encode(self) -> bytes:
        decoded: bytes | None = self.__dict__.get("_decoded_body")
        if decoded is not None:
            return decoded + self.signature
        if len(self.signature) != SIGNATURE_SIZE:
            raise FormatError("message is not signed")
        return self.body() + self.signature

    def signed_by(self, key: SigningKey) -> Self:
        return dataclasses.replace(self, signature=key.sign(self.DOMAIN, self.body()))

    def verify(self, public_key: bytes, check: SignatureCheck = verify) -> bool:
        return check(public_key, self.DOMAIN, self.body(), self.signature)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        reader = BinaryReader(data)
        kind = reader.u8()
        if kind != cls.KIND:
            raise FormatError(f"expected message kind {cls.KIND:#04x}, got {kind:#04x}")
        message = cls.read_fields(reader)
        signature = reader.take(SIGNATURE_SIZE)
        reader.end()
        # The message was just built here and nobody else holds it: set its signature in place
        # rather than build it twice. Every field was read back from these bytes and the layout
        # has one encoding, so they are the body the signature covers: keep them rather than
        # write them again (host ingest). Not a field: dataclasses.replace() drops them.
        object.__setattr__(message, "signature", signature)
        object.__setattr__(message, "_decoded_body", bytes(data[:-SIGNATURE_SIZE]))
        return message


@dataclass(frozen=True)
class CardCertificate(Signed):
    """The issuer CA's statement that this public key belongs to this card number."""

    KIND: ClassVar[int] = Kind.CARD_CERTIFICATE
    DOMAIN: ClassVar[Domain] = Domain.CARD_CERTIFICATE
    SIZE: ClassVar[int] = 1 + 8 + PUBLIC_KEY_SIZE + 4 + KEY_ID_SIZE + SIGNATURE_SIZE

    card_number: str
    public_key: bytes
    valid_until: dt.date
    issuer_key_id: bytes

    def write_fields(self, out: BinaryWriter) -> None:
        out.raw(card_number_to_bcd(self.card_number))
        out.raw(self.public_key, PUBLIC_KEY_SIZE).date(self.valid_until)
        out.raw(self.issuer_key_id, KEY_ID_SIZE)

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> CardCertificate:
        return cls(
            card_number=card_number_from_bcd(reader.take(8)),
            public_key=reader.take(PUBLIC_KEY_SIZE),
            valid_until=reader.date(),
            issuer_key_id=reader.take(KEY_ID_SIZE),
        )


@functools.lru_cache(maxsize=65536)
def certificate_signed_by(raw: bytes, ca_key: bytes) -> bool:
    """Whether these certificate bytes carry a valid signature of this CA key, remembered: a host
    sees a card's certificate in every record of that card and a terminal at every read of it,
    and its check costs as much as the proof's. The answer depends only on the bytes and key."""
    try:
        return CardCertificate.decode(raw).verify(ca_key)
    except FormatError:
        return False


@dataclass(frozen=True)
class DebitProof(Signed):
    """The card's signed statement that it paid these amounts for this basket at this terminal."""

    KIND: ClassVar[int] = Kind.DEBIT
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION

    card_number: str
    counter: int
    terminal_id: str
    nonce: bytes
    time: int
    basket_digest: bytes
    purses: tuple[PurseMovement, ...]
    quantities: tuple[QuantityMovement, ...]
    others: tuple[PurseBalance, ...] = ()
    """The purses the debit did not touch, with their balances."""

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.purses)

    def balances(self) -> dict[str, int]:
        """Every purse on the card after this transaction."""
        return _balances(self.purses, self.others)

    def write_fields(self, out: BinaryWriter) -> None:
        out.raw(card_number_to_bcd(self.card_number)).u32(self.counter)
        out.ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
        out.raw(self.nonce, NONCE_SIZE).u32(self.time).raw(self.basket_digest, DIGEST_SIZE)
        _write_list(out, self.purses, MAX_PURSES)
        _write_list(out, self.quantities, MAX_QUANTITIES)
        _write_others(out, len(self.purses), self.others)

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> DebitProof:
        card_number = card_number_from_bcd(reader.take(8))
        counter = reader.u32()
        terminal_id = check_terminal_id(reader.ascii(TERMINAL_ID_SIZE))
        nonce, time, digest = reader.take(NONCE_SIZE), reader.u32(), reader.take(DIGEST_SIZE)
        purses = _read_purses(reader)
        quantities = _read_quantities(reader)
        others = _read_others(reader, tuple(p.code for p in purses))
        return cls(
            card_number, counter, terminal_id, nonce, time, digest, purses, quantities, others
        )


@dataclass(frozen=True)
class VoidProof(Signed):
    """The card's signed statement that it took back one logged debit, once."""

    KIND: ClassVar[int] = Kind.VOID
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION

    card_number: str
    counter: int
    terminal_id: str
    nonce: bytes
    time: int
    original_counter: int
    purses: tuple[PurseMovement, ...]
    quantities: tuple[QuantityMovement, ...]
    others: tuple[PurseBalance, ...] = ()
    """The purses the cancellation did not touch, with their balances."""

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.purses)

    def balances(self) -> dict[str, int]:
        """Every purse on the card after this transaction."""
        return _balances(self.purses, self.others)

    def write_fields(self, out: BinaryWriter) -> None:
        out.raw(card_number_to_bcd(self.card_number)).u32(self.counter)
        out.ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
        out.raw(self.nonce, NONCE_SIZE).u32(self.time).u32(self.original_counter)
        _write_list(out, self.purses, MAX_PURSES)
        _write_list(out, self.quantities, MAX_QUANTITIES)
        _write_others(out, len(self.purses), self.others)

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> VoidProof:
        card_number = card_number_from_bcd(reader.take(8))
        counter = reader.u32()
        terminal_id = check_terminal_id(reader.ascii(TERMINAL_ID_SIZE))
        nonce, time, original = reader.take(NONCE_SIZE), reader.u32(), reader.u32()
        purses = _read_purses(reader)
        quantities = _read_quantities(reader)
        others = _read_others(reader, tuple(p.code for p in purses))
        return cls(
            card_number, counter, terminal_id, nonce, time, original, purses, quantities, others
        )


@dataclass(frozen=True)
class LoadAuthorization(Signed):
    """The issuer's order to credit one purse of one card, usable once (by ``load_seq``).

    A benefit load (``purpose`` BENEFIT, ``refund_of`` 0) or a refund approved at the host of the
    card's debit at counter ``refund_of`` (``purpose`` REFUND)."""

    KIND: ClassVar[int] = Kind.LOAD_AUTHORIZATION
    DOMAIN: ClassVar[Domain] = Domain.ISSUER_AUTHORIZATION
    BENEFIT: ClassVar[int] = 0
    REFUND: ClassVar[int] = 1

    card_number: str
    load_seq: int
    purse_code: str
    amount: int
    expiry: dt.date
    issued: dt.date
    issuer_key_id: bytes
    purpose: int = 0
    refund_of: int = 0

    def write_fields(self, out: BinaryWriter) -> None:
        if self.purpose not in (self.BENEFIT, self.REFUND):
            raise FormatError(f"unknown load purpose {self.purpose}")
        out.raw(card_number_to_bcd(self.card_number)).u32(self.load_seq)
        out.ascii(check_purse_code(self.purse_code), PURSE_CODE_SIZE).u32(self.amount)
        out.date(self.expiry).date(self.issued).raw(self.issuer_key_id, KEY_ID_SIZE)
        out.u8(self.purpose).u32(self.refund_of)

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> LoadAuthorization:
        authorization = cls(
            card_number=card_number_from_bcd(reader.take(8)),
            load_seq=reader.u32(),
            purse_code=check_purse_code(reader.ascii(PURSE_CODE_SIZE)),
            amount=reader.u32(),
            expiry=reader.date(),
            issued=reader.date(),
            issuer_key_id=reader.take(KEY_ID_SIZE),
            purpose=reader.u8(),
            refund_of=reader.u32(),
        )
        if authorization.purpose not in (cls.BENEFIT, cls.REFUND):
            raise FormatError(f"unknown load purpose {authorization.purpose}")
        return authorization


@dataclass(frozen=True)
class LoadReceipt(Signed):
    """The card's signed statement that it applied a load (and swept any expired value)."""

    KIND: ClassVar[int] = Kind.LOAD
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION

    card_number: str
    counter: int
    terminal_id: str
    nonce: bytes
    time: int
    load_seq: int
    purse_code: str
    amount: int
    expired_swept: int
    balance_after: int
    expiry: dt.date
    others: tuple[PurseBalance, ...] = ()
    """The other purses on the card, with their balances."""

    def balances(self) -> dict[str, int]:
        """Every purse on the card after this transaction."""
        return {self.purse_code: self.balance_after, **{o.code: o.balance for o in self.others}}

    def write_fields(self, out: BinaryWriter) -> None:
        out.raw(card_number_to_bcd(self.card_number)).u32(self.counter)
        out.ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
        out.raw(self.nonce, NONCE_SIZE).u32(self.time).u32(self.load_seq)
        out.ascii(check_purse_code(self.purse_code), PURSE_CODE_SIZE)
        out.u32(self.amount).u32(self.expired_swept).u32(self.balance_after).date(self.expiry)
        _write_others(out, 1, self.others)

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> LoadReceipt:
        card_number = card_number_from_bcd(reader.take(8))
        counter = reader.u32()
        terminal_id = check_terminal_id(reader.ascii(TERMINAL_ID_SIZE))
        nonce, time, load_seq = reader.take(NONCE_SIZE), reader.u32(), reader.u32()
        purse_code = check_purse_code(reader.ascii(PURSE_CODE_SIZE))
        amount, swept, balance, expiry = reader.u32(), reader.u32(), reader.u32(), reader.date()
        others = _read_others(reader, (purse_code,))
        return cls(
            card_number,
            counter,
            terminal_id,
            nonce,
            time,
            load_seq,
            purse_code,
            amount,
            swept,
            balance,
            expiry,
            others,
        )


@dataclass(frozen=True)
class BlockOrder(Signed):
    """The issuer's order that a card block itself (carried on the hotlist), valid from
    ``issued`` to ``valid_until``: an old order found on a stolen terminal cannot block a card
    that was unblocked and reissued since."""

    KIND: ClassVar[int] = Kind.BLOCK_ORDER
    DOMAIN: ClassVar[Domain] = Domain.ISSUER_AUTHORIZATION

    card_number: str
    reason: int
    issued: dt.date
    issuer_key_id: bytes
    valid_until: dt.date = dt.date(2099, 12, 31)

    def write_fields(self, out: BinaryWriter) -> None:
        out.raw(card_number_to_bcd(self.card_number)).u8(self.reason).date(self.issued)
        out.raw(self.issuer_key_id, KEY_ID_SIZE).date(self.valid_until)

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> BlockOrder:
        return cls(
            card_number=card_number_from_bcd(reader.take(8)),
            reason=reader.u8(),
            issued=reader.date(),
            issuer_key_id=reader.take(KEY_ID_SIZE),
            valid_until=reader.date(),
        )


@dataclass(frozen=True)
class BlockReceipt(Signed):
    """The card's signed statement that it is now blocked."""

    KIND: ClassVar[int] = Kind.BLOCK
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION

    card_number: str
    counter: int
    terminal_id: str
    time: int
    reason: int

    def write_fields(self, out: BinaryWriter) -> None:
        out.raw(card_number_to_bcd(self.card_number)).u32(self.counter)
        out.ascii(check_terminal_id(self.terminal_id), TERMINAL_ID_SIZE)
        out.u32(self.time).u8(self.reason)

    @classmethod
    def read_fields(cls, reader: BinaryReader) -> BlockReceipt:
        return cls(
            card_number=card_number_from_bcd(reader.take(8)),
            counter=reader.u32(),
            terminal_id=check_terminal_id(reader.ascii(TERMINAL_ID_SIZE)),
            time=reader.u32(),
            reason=reader.u8(),
        )


def _balances(
    purses: tuple[PurseMovement, ...], others: tuple[PurseBalance, ...]
) -> dict[str, int]:
    return {**{p.code: p.balance_after for p in purses}, **{o.code: o.balance for o in others}}


CardTransaction = DebitProof | VoidProof | LoadReceipt
"""What a card logs and returns from GET TRANSACTION."""

_TRANSACTION_KINDS: dict[int, type[DebitProof] | type[VoidProof] | type[LoadReceipt]] = {
    Kind.DEBIT: DebitProof,
    Kind.VOID: VoidProof,
    Kind.LOAD: LoadReceipt,
}


def decode_card_transaction(data: bytes) -> CardTransaction:
    """Decode any logged card transaction by its kind byte."""
    if not data:
        raise FormatError("empty card transaction")
    cls = _TRANSACTION_KINDS.get(data[0])
    if cls is None:
        raise FormatError(f"unknown card transaction kind {data[0]:#04x}")
    return cls.decode(data)
