"""Typed views of each record type's body, with strict parsing of what arrives from outside.

The basket digest the card signs is computed here from the sale's lines, so terminal and host
derive it from exactly the same canonical bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from ledger import canonical
from ledger.binary import FormatError
from ledger.cardnumber import validate_card_number
from ledger.cardproofs import check_purse_code
from ledger.crypto import sha256


def _get(value: Mapping[str, Any], name: str, kind: type) -> Any:
    # Fast path for a field of exactly the wanted type (a host parses every record's body);
    # anything else (missing, bool for int, a subclass) takes the full checks below.
    item = value.get(name)
    if type(item) is kind:
        return item
    if name not in value:
        raise FormatError(f"missing field {name!r}")
    item = value[name]
    if kind is int and isinstance(item, bool):
        raise FormatError(f"field {name!r} must be an integer")
    if not isinstance(item, kind):
        raise FormatError(f"field {name!r} must be {kind.__name__}")
    return item


def _amount(value: Mapping[str, Any], name: str) -> int:
    item = value.get(name)
    if type(item) is int and item >= 0:
        return item
    amount: int = _get(value, name, int)
    if amount < 0:
        raise FormatError(f"field {name!r} must not be negative")
    return amount


def _only(value: Mapping[str, Any], names: set[str]) -> None:
    extra = set(value) - names
    if extra:
        raise FormatError(f"unexpected fields {sorted(extra)}")


@dataclass(frozen=True)
class SaleLine:
    gtin: str
    name: str
    category: int
    quantity: int
    unit_base_quantity: int
    """Base units (g, ml, pieces) in one unit: what counts against quantity caps."""
    shelf_price: int
    het: int
    unit_price: int
    """What the card was charged per unit: the shelf price, capped at HET."""
    paid: tuple[tuple[str, int], ...]
    """(purse code, rupiah) that paid for this line."""
    cash: int = 0

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price

    @property
    def base_quantity(self) -> int:
        return self.quantity * self.unit_base_quantity

    def to_value(self) -> dict[str, Any]:
        return {
            "gtin": self.gtin,
            "name": self.name,
            "category": self.category,
            "qty": self.quantity,
            "unit_base_qty": self.unit_base_quantity,
            "shelf_price": self.shelf_price,
            "het": self.het,
            "unit_price": self.unit_price,
            "paid": [[code, amount] for code, amount in self.paid],
            "cash": self.cash,
        }

    @classmethod
    def from_value(cls, value: Any) -> SaleLine:
        if not isinstance(value, dict):
            raise FormatError("a sale line is a map")
        _only(
            value,
            {
                "gtin",
                "name",
                "category",
                "qty",
                "unit_base_qty",
                "shelf_price",
                "het",
                "unit_price",
                "paid",
                "cash",
            },
        )
        paid_raw = _get(value, "paid", list)
        paid = []
        for entry in paid_raw:
            if not (
                isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], str)
                and isinstance(entry[1], int)
                and not isinstance(entry[1], bool)
                and entry[1] > 0
            ):
                raise FormatError("each payment is [purse code, positive amount]")
            paid.append((check_purse_code(entry[0]), entry[1]))
        line = cls(
            gtin=_get(value, "gtin", str),
            name=_get(value, "name", str),
            category=_amount(value, "category"),
            quantity=_amount(value, "qty"),
            unit_base_quantity=_amount(value, "unit_base_qty"),
            shelf_price=_amount(value, "shelf_price"),
            het=_amount(value, "het"),
            unit_price=_amount(value, "unit_price"),
            paid=tuple(paid),
            cash=_amount(value, "cash"),
        )
        if line.quantity < 1:
            raise FormatError("quantity must be at least 1")
        if sum(a for _, a in line.paid) + line.cash != line.amount:
            raise FormatError(f"line {line.gtin}: payments do not add up to the line amount")
        return line


def basket_digest(catalog_version: int, lines: tuple[SaleLine, ...], cash: int) -> bytes:
    """SHA-256 of the canonical basket: what the card signs into its debit proof."""
    value = {
        "catalog_version": catalog_version,
        "lines": [line.to_value() for line in lines],
        "cash": cash,
    }
    return sha256(canonical.encode(value))


@dataclass(frozen=True)
class SaleBody:
    card_number: str
    card_certificate: bytes
    card_proof: bytes
    catalog_version: int
    lines: tuple[SaleLine, ...]
    cash: int
    cashier: str

    @property
    def card_total(self) -> int:
        return sum(amount for line in self.lines for _, amount in line.paid)

    def purse_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines:
            for code, amount in line.paid:
                totals[code] = totals.get(code, 0) + amount
        return totals

    def digest(self) -> bytes:
        return basket_digest(self.catalog_version, self.lines, self.cash)

    def to_value(self) -> dict[str, Any]:
        return {
            "card_number": self.card_number,
            "card_cert": self.card_certificate,
            "card_proof": self.card_proof,
            "catalog_version": self.catalog_version,
            "lines": [line.to_value() for line in self.lines],
            "cash": self.cash,
            "cashier": self.cashier,
        }

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        _only(
            value,
            {
                "card_number",
                "card_cert",
                "card_proof",
                "catalog_version",
                "lines",
                "cash",
                "cashier",
            },
        )
        lines = tuple(SaleLine.from_value(item) for item in _get(value, "lines", list))
        if not lines:
            raise FormatError("a sale has at least one line")
        body = cls(
            card_number=validate_card_number(_get(value, "card_number", str)),
            card_certificate=_get(value, "card_cert", bytes),
            card_proof=_get(value, "card_proof", bytes),
            catalog_version=_amount(value, "catalog_version"),
            lines=lines,
            cash=_amount(value, "cash"),
            cashier=_get(value, "cashier", str),
        )
        if sum(line.cash for line in lines) != body.cash:
            raise FormatError("cash part does not add up over the lines")
        return body


@dataclass(frozen=True)
class VoidBody:
    original_id: uuid.UUID
    original_seq: int
    card_number: str
    card_certificate: bytes
    card_proof: bytes
    supervisor: str
    reason: str

    def to_value(self) -> dict[str, Any]:
        return {
            "original_id": self.original_id.bytes,
            "original_seq": self.original_seq,
            "card_number": self.card_number,
            "card_cert": self.card_certificate,
            "card_proof": self.card_proof,
            "supervisor": self.supervisor,
            "reason": self.reason,
        }

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        _only(
            value,
            {
                "original_id",
                "original_seq",
                "card_number",
                "card_cert",
                "card_proof",
                "supervisor",
                "reason",
            },
        )
        original = _get(value, "original_id", bytes)
        if len(original) != 16:
            raise FormatError("original_id must be 16 bytes")
        return cls(
            original_id=uuid.UUID(bytes=original),
            original_seq=_amount(value, "original_seq"),
            card_number=validate_card_number(_get(value, "card_number", str)),
            card_certificate=_get(value, "card_cert", bytes),
            card_proof=_get(value, "card_proof", bytes),
            supervisor=_get(value, "supervisor", str),
            reason=_get(value, "reason", str),
        )


@dataclass(frozen=True)
class LoadBody:
    card_number: str
    card_certificate: bytes
    authorization: bytes
    card_receipt: bytes

    def to_value(self) -> dict[str, Any]:
        return {
            "card_number": self.card_number,
            "card_cert": self.card_certificate,
            "authorization": self.authorization,
            "card_receipt": self.card_receipt,
        }

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        _only(value, {"card_number", "card_cert", "authorization", "card_receipt"})
        return cls(
            card_number=validate_card_number(_get(value, "card_number", str)),
            card_certificate=_get(value, "card_cert", bytes),
            authorization=_get(value, "authorization", bytes),
            card_receipt=_get(value, "card_receipt", bytes),
        )


@dataclass(frozen=True)
class OrderBody:
    """An issuer order relayed to a card, with the card's signed receipt: no value moves."""

    card_number: str
    card_certificate: bytes
    order: bytes
    card_receipt: bytes

    def to_value(self) -> dict[str, Any]:
        return {
            "card_number": self.card_number,
            "card_cert": self.card_certificate,
            "order": self.order,
            "card_receipt": self.card_receipt,
        }

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        _only(value, {"card_number", "card_cert", "order", "card_receipt"})
        return cls(
            card_number=validate_card_number(_get(value, "card_number", str)),
            card_certificate=_get(value, "card_cert", bytes),
            order=_get(value, "order", bytes),
            card_receipt=_get(value, "card_receipt", bytes),
        )


class BlockBody(OrderBody):
    """A block order (BlockOrder) and the card's BlockReceipt."""


class PinUnblockBody(OrderBody):
    """A PIN-unblock order (PinUnblockOrder) and the card's PinUnblockReceipt."""


@dataclass(frozen=True)
class DayCloseBody:
    """The Z report: totals of one business day's records on this terminal."""

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
    purse_totals: Mapping[str, int]
    """Net card debits (sales minus voids) per purse code."""

    def to_value(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "sale_count": self.sale_count,
            "card_total": self.card_total,
            "cash_total": self.cash_total,
            "void_count": self.void_count,
            "void_total": self.void_total,
            "load_count": self.load_count,
            "load_total": self.load_total,
            "purse_totals": dict(self.purse_totals),
        }

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        names = {
            "business_date",
            "first_seq",
            "last_seq",
            "sale_count",
            "card_total",
            "cash_total",
            "void_count",
            "void_total",
            "load_count",
            "load_total",
            "purse_totals",
        }
        _only(value, names)
        try:
            day = dt.date.fromisoformat(_get(value, "business_date", str))
        except ValueError as exc:
            raise FormatError("business_date must be YYYY-MM-DD") from exc
        totals = _get(value, "purse_totals", dict)
        for code, amount in totals.items():
            check_purse_code(code)
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise FormatError("purse totals are integers")
        return cls(
            business_date=day,
            first_seq=_amount(value, "first_seq"),
            last_seq=_amount(value, "last_seq"),
            sale_count=_amount(value, "sale_count"),
            card_total=_amount(value, "card_total"),
            cash_total=_amount(value, "cash_total"),
            void_count=_amount(value, "void_count"),
            void_total=_amount(value, "void_total"),
            load_count=_amount(value, "load_count"),
            load_total=_amount(value, "load_total"),
            purse_totals=totals,
        )
