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
from dataclasses import dataclass
from typing import ClassVar, Generic, Self, TypeVar

from ledger.binary import BinaryReader, BinaryWriter, FormatError
from ledger.crypto import (
    KEY_ID_SIZE,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    Domain,
    SignatureCheck,
    SigningKey,
    verify,
)
from ledger.layout import (
    CARD_NUMBER,
    DATE,
    PERIOD,
    U8,
    U32,
    Fields,
    Fixed,
    Layout,
    ListOf,
    Text,
    layout,
)

NONCE_SIZE = 16
DIGEST_SIZE = 32
TERMINAL_ID_SIZE = 8
PURSE_CODE_SIZE = 4
MAX_PURSES = 4
MAX_QUANTITIES = 4
MAX_AMOUNT = 0xFFFFFFFF
MAX_PIN_TRIES = 15

PURSE_CODE = Text(PURSE_CODE_SIZE, r"[A-Z0-9]{4}", "purse code")
TERMINAL_ID = Text(TERMINAL_ID_SIZE, r"[A-Z0-9-]{8}", "terminal id")
NONCE = Fixed(NONCE_SIZE)
DIGEST = Fixed(DIGEST_SIZE)
KEY_ID = Fixed(KEY_ID_SIZE)
PUBLIC_KEY = Fixed(PUBLIC_KEY_SIZE)


class Kind:
    """First byte of every signed card or issuer message."""

    DEBIT = 0x01
    LOAD = 0x02
    VOID = 0x03
    BLOCK = 0x04
    PIN_UNBLOCK = 0x05
    LOAD_AUTHORIZATION = 0x10
    BLOCK_ORDER = 0x11
    PIN_UNBLOCK_ORDER = 0x12
    CARD_CERTIFICATE = 0x20


def check_purse_code(code: str) -> str:
    return PURSE_CODE.check(code)


def check_terminal_id(terminal_id: str) -> str:
    return TERMINAL_ID.check(terminal_id)


@dataclass(frozen=True)
class PurseMovement(Fields):
    """One purse's part of a transaction: the amount moved and the balance it left."""

    LAYOUT: ClassVar[Layout] = layout(("code", PURSE_CODE), ("amount", U32), ("balance_after", U32))

    code: str
    amount: int
    balance_after: int


@dataclass(frozen=True)
class QuantityMovement(Fields):
    """A change to a per-period quantity counter (e.g. grams of rice this month)."""

    LAYOUT: ClassVar[Layout] = layout(
        ("category", U8), ("period", PERIOD), ("quantity", U32), ("used_after", U32)
    )

    category: int
    period: int
    quantity: int
    used_after: int


@dataclass(frozen=True)
class PurseBalance(Fields):
    """A purse the transaction did not move, with its balance: every card message carries the
    balance of every purse after it, so the host can check continuity across counters it never
    saw (docs/card-protocol.md, "the host sees every counter")."""

    LAYOUT: ClassVar[Layout] = layout(("code", PURSE_CODE), ("balance", U32))

    code: str
    balance: int


PURSES = ListOf(PurseMovement.read, MAX_PURSES, lambda p: p.code, "purse")
QUANTITIES = ListOf(
    QuantityMovement.read, MAX_QUANTITIES, lambda q: q.category, "quantity category"
)
OTHER_PURSES = ListOf(PurseBalance.read, MAX_PURSES, lambda p: p.code, "purse")


@dataclass(frozen=True)
class Signed:
    """A message whose last 64 bytes are an Ed25519 signature over everything before them.

    The body is the kind byte, then the fields of ``LAYOUT``; :meth:`check` holds the rules
    that tie fields together, enforced on both encoding and decoding."""

    KIND: ClassVar[int]
    DOMAIN: ClassVar[Domain]
    LAYOUT: ClassVar[Layout]

    signature: bytes = dataclasses.field(default=b"", kw_only=True, repr=False)

    def check(self) -> None:
        """Rules across fields; FormatError when broken."""

    def body(self) -> bytes:
        decoded: bytes | None = self.__dict__.get("_decoded_body")
        if decoded is not None:
            return decoded
        self.check()
        out = BinaryWriter().u8(self.KIND)
        self.LAYOUT.write(out, self)
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
        message = cls(**cls.LAYOUT.read(reader))
        message.check()
        signature = reader.take(SIGNATURE_SIZE)
        reader.end()
        # The message was just built here and nobody else holds it: set its signature in place
        # rather than build it twice. Every field was read back from these bytes and the layout
        # has one encoding, so they are the body the signature covers: keep them rather than
        # write them again (host ingest). Not a field: dataclasses.replace() drops them.
        object.__setattr__(message, "signature", signature)
        object.__setattr__(message, "_decoded_body", bytes(data[:-SIGNATURE_SIZE]))
        return message


def _check_every_purse_once(moved: tuple[str, ...], others: tuple[PurseBalance, ...]) -> None:
    codes = [*moved, *(o.code for o in others)]
    if len(codes) > MAX_PURSES:
        raise FormatError(f"a card holds at most {MAX_PURSES} purses")
    if len(set(codes)) != len(codes):
        raise FormatError("card message names a purse more than once")


def _balances(
    purses: tuple[PurseMovement, ...], others: tuple[PurseBalance, ...]
) -> dict[str, int]:
    return {**{p.code: p.balance_after for p in purses}, **{o.code: o.balance for o in others}}


@dataclass(frozen=True)
class CardCertificate(Signed):
    """The issuer CA's statement that this public key belongs to this card number."""

    KIND: ClassVar[int] = Kind.CARD_CERTIFICATE
    DOMAIN: ClassVar[Domain] = Domain.CARD_CERTIFICATE
    LAYOUT: ClassVar[Layout] = layout(
        ("card_number", CARD_NUMBER),
        ("public_key", PUBLIC_KEY),
        ("valid_until", DATE),
        ("issuer_key_id", KEY_ID),
    )
    SIZE: ClassVar[int] = 1 + 8 + PUBLIC_KEY_SIZE + 4 + KEY_ID_SIZE + SIGNATURE_SIZE

    card_number: str
    public_key: bytes
    valid_until: dt.date
    issuer_key_id: bytes


_S = TypeVar("_S", bound=Signed)


@dataclass(frozen=True)
class SignedOf(Generic[_S]):
    """A signed message carried inside another (an issuer order inside a card command, a
    certificate inside the card's answer): exactly ``size`` bytes."""

    kind: type[_S]
    size: int

    def write(self, out: BinaryWriter, value: _S) -> None:
        out.raw(value.encode(), self.size)

    def read(self, reader: BinaryReader) -> _S:
        return self.kind.decode(reader.take(self.size))


@functools.lru_cache(maxsize=65536)
def certificate_signed_by(raw: bytes, ca_key: bytes) -> bool:
    """Whether these certificate bytes carry a valid signature of this CA key, remembered: a host
    sees a card's certificate in every record of that card and a terminal at every read of it,
    and its check costs as much as the proof's. The answer depends only on the bytes and key."""
    try:
        return CardCertificate.decode(raw).verify(ca_key)
    except FormatError:
        return False


_TRANSACTION_HEAD = (
    ("card_number", CARD_NUMBER),
    ("counter", U32),
    ("terminal_id", TERMINAL_ID),
    ("nonce", NONCE),
    ("time", U32),
)
"""How every card transaction message begins."""
_PURSES_AFTER = (("purses", PURSES), ("quantities", QUANTITIES), ("others", OTHER_PURSES))
"""How a debit and a cancellation end: purses moved, quantities counted, the other purses."""


class _MovesPurses:
    """A debit or cancellation: the purses it moved, and the balances of the others."""

    purses: tuple[PurseMovement, ...]
    others: tuple[PurseBalance, ...]

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.purses)

    def balances(self) -> dict[str, int]:
        """Every purse on the card after this transaction."""
        return _balances(self.purses, self.others)

    def check(self) -> None:
        _check_every_purse_once(tuple(p.code for p in self.purses), self.others)


@dataclass(frozen=True)
class DebitProof(_MovesPurses, Signed):
    """The card's signed statement that it paid these amounts for this basket at this terminal."""

    KIND: ClassVar[int] = Kind.DEBIT
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION
    LAYOUT: ClassVar[Layout] = layout(*_TRANSACTION_HEAD, ("basket_digest", DIGEST), *_PURSES_AFTER)

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


@dataclass(frozen=True)
class VoidProof(_MovesPurses, Signed):
    """The card's signed statement that it cancelled the debit of this card session, once."""

    KIND: ClassVar[int] = Kind.VOID
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION
    LAYOUT: ClassVar[Layout] = layout(*_TRANSACTION_HEAD, ("original_counter", U32), *_PURSES_AFTER)

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


@dataclass(frozen=True)
class LoadAuthorization(Signed):
    """The issuer's order to credit one purse of one card, usable once (by ``load_seq``).

    A benefit load (``purpose`` BENEFIT, ``refund_of`` 0) or a refund approved at the host of the
    card's debit at counter ``refund_of`` (``purpose`` REFUND)."""

    KIND: ClassVar[int] = Kind.LOAD_AUTHORIZATION
    DOMAIN: ClassVar[Domain] = Domain.ISSUER_AUTHORIZATION
    LAYOUT: ClassVar[Layout] = layout(
        ("card_number", CARD_NUMBER),
        ("load_seq", U32),
        ("purse_code", PURSE_CODE),
        ("amount", U32),
        ("expiry", DATE),
        ("issued", DATE),
        ("issuer_key_id", KEY_ID),
        ("purpose", U8),
        ("refund_of", U32),
    )
    BENEFIT: ClassVar[int] = 0
    REFUND: ClassVar[int] = 1
    SIZE: ClassVar[int] = 1 + 8 + 4 + PURSE_CODE_SIZE + 4 + 4 + 4 + KEY_ID_SIZE + 1 + 4 + 64

    card_number: str
    load_seq: int
    purse_code: str
    amount: int
    expiry: dt.date
    issued: dt.date
    issuer_key_id: bytes
    purpose: int = 0
    refund_of: int = 0

    def check(self) -> None:
        if self.purpose not in (self.BENEFIT, self.REFUND):
            raise FormatError(f"unknown load purpose {self.purpose}")


@dataclass(frozen=True)
class LoadReceipt(Signed):
    """The card's signed statement that it applied a load (and swept any expired value)."""

    KIND: ClassVar[int] = Kind.LOAD
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION
    LAYOUT: ClassVar[Layout] = layout(
        *_TRANSACTION_HEAD,
        ("load_seq", U32),
        ("purse_code", PURSE_CODE),
        ("amount", U32),
        ("expired_swept", U32),
        ("balance_after", U32),
        ("expiry", DATE),
        ("others", OTHER_PURSES),
    )

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

    def check(self) -> None:
        _check_every_purse_once((self.purse_code,), self.others)


@dataclass(frozen=True)
class BlockOrder(Signed):
    """The issuer's order that a card block itself (carried on the hotlist), valid from
    ``issued`` to ``valid_until``: an old order found on a stolen terminal cannot block a card
    that was unblocked and reissued since."""

    KIND: ClassVar[int] = Kind.BLOCK_ORDER
    DOMAIN: ClassVar[Domain] = Domain.ISSUER_AUTHORIZATION
    LAYOUT: ClassVar[Layout] = layout(
        ("card_number", CARD_NUMBER),
        ("reason", U8),
        ("issued", DATE),
        ("issuer_key_id", KEY_ID),
        ("valid_until", DATE),
    )
    SIZE: ClassVar[int] = 1 + 8 + 1 + 4 + KEY_ID_SIZE + 4 + SIGNATURE_SIZE

    card_number: str
    reason: int
    issued: dt.date
    issuer_key_id: bytes
    valid_until: dt.date = dt.date(2099, 12, 31)


@dataclass(frozen=True)
class BlockReceipt(Signed):
    """The card's signed statement that it is now blocked."""

    KIND: ClassVar[int] = Kind.BLOCK
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION
    LAYOUT: ClassVar[Layout] = layout(
        ("card_number", CARD_NUMBER),
        ("counter", U32),
        ("terminal_id", TERMINAL_ID),
        ("time", U32),
        ("reason", U8),
    )

    card_number: str
    counter: int
    terminal_id: str
    time: int
    reason: int


@dataclass(frozen=True)
class PinUnblockOrder(Signed):
    """The issuer's order that a card whose holder used up the PIN tries get ``tries`` again.

    The holder keeps the PIN: the order resets the try counter only, so no PIN is ever chosen,
    carried or known outside the card. Usable once (``unblock_seq``, strictly increasing per
    card) from ``issued`` to ``valid_until``, like a block order."""

    KIND: ClassVar[int] = Kind.PIN_UNBLOCK_ORDER
    DOMAIN: ClassVar[Domain] = Domain.ISSUER_AUTHORIZATION
    LAYOUT: ClassVar[Layout] = layout(
        ("card_number", CARD_NUMBER),
        ("unblock_seq", U32),
        ("tries", U8),
        ("issued", DATE),
        ("issuer_key_id", KEY_ID),
        ("valid_until", DATE),
    )
    SIZE: ClassVar[int] = 1 + 8 + 4 + 1 + 4 + KEY_ID_SIZE + 4 + SIGNATURE_SIZE

    card_number: str
    unblock_seq: int
    tries: int
    issued: dt.date
    issuer_key_id: bytes
    valid_until: dt.date

    def check(self) -> None:
        if not 1 <= self.tries <= MAX_PIN_TRIES:
            raise FormatError(f"PIN tries must be 1 to {MAX_PIN_TRIES}")
        if self.unblock_seq < 1:
            raise FormatError("an unblock sequence starts at 1")


UNBLOCK_ORDER_DAYS = 30
"""How long a PIN-unblock order stays valid: the holder's next visit to a shop, not long enough
for a copy found later to give a thief fresh guesses (docs/card-protocol.md, section 8)."""


def sign_unblock_order(
    authority: SigningKey,
    card_number: str,
    unblock_seq: int,
    tries: int,
    issued: dt.date,
    valid_days: int = UNBLOCK_ORDER_DAYS,
) -> PinUnblockOrder:
    """The issuer authority's PIN-unblock order, valid ``valid_days`` from ``issued``: one
    writing for the host (:mod:`host_gateway.pin_unblocks`) and the card simulator's issuer, so
    the order a test card obeys is the order the host signs."""
    return PinUnblockOrder(
        card_number=card_number,
        unblock_seq=unblock_seq,
        tries=tries,
        issued=issued,
        issuer_key_id=authority.key_id,
        valid_until=issued + dt.timedelta(days=valid_days),
    ).signed_by(authority)


@dataclass(frozen=True)
class PinUnblockReceipt(Signed):
    """The card's signed statement that it applied the PIN-unblock order ``unblock_seq``: the
    host closes the order with it. Like a block, it keeps the card's counter."""

    KIND: ClassVar[int] = Kind.PIN_UNBLOCK
    DOMAIN: ClassVar[Domain] = Domain.CARD_TRANSACTION
    LAYOUT: ClassVar[Layout] = layout(
        ("card_number", CARD_NUMBER),
        ("counter", U32),
        ("terminal_id", TERMINAL_ID),
        ("time", U32),
        ("unblock_seq", U32),
        ("tries", U8),
    )

    card_number: str
    counter: int
    terminal_id: str
    time: int
    unblock_seq: int
    tries: int


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
