"""What a receipt says, as typed values the sale engine fills: no layout, no bytes, no I/O.

Privacy is built into the types: a receipt holds a :class:`MaskedCard` (never the full number)
and has no field for the NIK or the holder's name. Money is integer rupiah; times are unix
seconds, shown in WITA by the composer.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

from ledger.cardnumber import mask_card_number
from ledger.reference import QR_HASH_BYTES, QR_PREFIX, QrReference, RecordRef, parse_qr_payload


class Language(enum.StrEnum):
    INDONESIAN = "id"
    ENGLISH = "en"


class Copy(enum.StrEnum):
    """Which paper a sale prints: the holder's copy shows balances, the shop's does not."""

    CUSTOMER = "customer"
    SHOP = "shop"


@dataclass(frozen=True)
class MaskedCard:
    """A card number as receipts may show it: only the last four digits."""

    text: str

    def __post_init__(self) -> None:
        if sum(c.isdigit() for c in self.text) > 4:
            raise ValueError("a receipt shows at most the last four digits of a card")

    @classmethod
    def from_number(cls, number: str) -> MaskedCard:
        return cls(mask_card_number(number))


@dataclass(frozen=True)
class ShopInfo:
    name: str
    address: str
    merchant_id: str = ""


@dataclass(frozen=True)
class PurseAmount:
    """An amount paid from (or returned to) one purse; ``label`` is what the holder reads."""

    code: str
    label: str
    amount: int


@dataclass(frozen=True)
class PurseBalance:
    code: str
    label: str
    balance: int
    expires: dt.date | None = None


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    quantity: int
    unit_price: int
    """What the card was charged per unit: the shelf price, capped at HET."""
    shelf_price: int
    het: int
    paid: tuple[PurseAmount, ...]
    cash: int = 0

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price

    @property
    def het_capped(self) -> bool:
        """The shelf price was above HET and the holder paid HET instead."""
        return self.shelf_price > self.unit_price and self.unit_price == self.het


@dataclass(frozen=True)
class SaleReceipt:
    shop: ShopInfo
    ref: RecordRef
    time: int
    cashier: str
    lines: tuple[ReceiptLine, ...]
    purse_totals: tuple[PurseAmount, ...]
    cash: int
    balances: tuple[PurseBalance, ...]
    card: MaskedCard
    offline: bool

    @property
    def card_total(self) -> int:
        return sum(p.amount for p in self.purse_totals)

    @property
    def total(self) -> int:
        return self.card_total + self.cash


@dataclass(frozen=True)
class VoidSlip:
    """A sale taken back: what went back to which purse, and why."""

    shop: ShopInfo
    ref: RecordRef
    time: int
    cashier: str
    supervisor: str
    original_terminal_id: str
    original_seq: int
    original_id: uuid.UUID
    reason: str
    returned: tuple[PurseAmount, ...]
    balances: tuple[PurseBalance, ...]
    card: MaskedCard
    offline: bool

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.returned)


@dataclass(frozen=True)
class BalanceSlip:
    """A balance inquiry: no money moved, so no record and no QR."""

    shop: ShopInfo
    terminal_id: str
    time: int
    card: MaskedCard
    balances: tuple[PurseBalance, ...]
    next_aid: tuple[tuple[str, dt.date], ...] = ()
    """Per purse, the day the next aid is due, when the host said (holders plan their shopping
    on it)."""


@dataclass(frozen=True)
class DayCloseReport:
    """The Z report of one business day on one terminal (shop paper only)."""

    shop: ShopInfo
    ref: RecordRef
    time: int
    cashier: str
    business_date: dt.date
    first_seq: int
    last_seq: int
    sale_count: int
    card_total: int
    cash_total: int
    void_count: int
    void_total: int
    load_count: int
    load_total: int
    purse_totals: tuple[PurseAmount, ...]
    offline: bool


Receipt = SaleReceipt | VoidSlip | BalanceSlip | DayCloseReport


__all__ = [
    "QR_HASH_BYTES",
    "QR_PREFIX",
    "QrReference",
    "RecordRef",
    "parse_qr_payload",
]
