"""Turning scanned items into a chargeable basket: catalog rules, HET, caps, purse allocation.

Pure logic, no I/O: given the signed catalog, the shop's shelf prices and what the card said at
SELECT, decide per line what the card pays (and from which purse), what is paid in cash (only if
the shop allows split tender) and what is refused, with a reason code the UI translates.

Allocation: lines whose items fewer purses may pay go first (so a narrow purse is not used up by
an item any purse could pay), then each line takes from its eligible purses earliest expiry
first. Expired purses never pay. A line is sold in whole units: what cannot be paid is refused.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drivers.card.protocol import CardInfo, Purse
from ledger.binary import encode_period
from ledger.bodies import SaleLine, basket_digest
from ledger.cardproofs import MAX_QUANTITIES
from ledger.catalog import Catalog, CatalogItem


class Refusal(enum.StrEnum):
    NOT_IN_CATALOG = "not_in_catalog"
    NOT_ELIGIBLE = "not_eligible"
    NO_PURSE = "no_purse"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    QUANTITY_CAP = "quantity_cap"
    TOO_MANY_CAPPED_CATEGORIES = "too_many_capped_categories"


@dataclass(frozen=True)
class ScannedItem:
    gtin: str
    quantity: int = 1


@dataclass(frozen=True)
class RefusedLine:
    gtin: str
    name: str | None
    quantity: int
    reason: Refusal


@dataclass(frozen=True)
class Basket:
    catalog_version: int
    lines: tuple[SaleLine, ...]
    refused: tuple[RefusedLine, ...]
    quantities: tuple[tuple[int, int], ...]
    """(category, base units) for capped categories: what the card adds to its period counters."""

    @property
    def cash(self) -> int:
        return sum(line.cash for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def card_total(self) -> int:
        return sum(amount for line in self.lines for _, amount in line.paid)

    def purse_amounts(self) -> tuple[tuple[str, int], ...]:
        totals: dict[str, int] = {}
        for line in self.lines:
            for code, amount in line.paid:
                totals[code] = totals.get(code, 0) + amount
        return tuple(sorted(totals.items()))

    def digest(self) -> bytes:
        return basket_digest(self.catalog_version, self.lines, self.cash)


def merge_scans(scans: Sequence[ScannedItem]) -> list[ScannedItem]:
    """The same item scanned twice is one line with the quantities added, in first-scan order."""
    merged: dict[str, int] = {}
    for scan in scans:
        if scan.quantity < 1:
            raise ValueError(f"quantity must be at least 1 for {scan.gtin}")
        merged[scan.gtin] = merged.get(scan.gtin, 0) + scan.quantity
    return [ScannedItem(gtin, qty) for gtin, qty in merged.items()]


def cap_remaining(catalog: Catalog, card: CardInfo, today: dt.date) -> dict[int, int]:
    """Base units each capped category may still take this month, by the card's own counters."""
    period = encode_period(today)
    remaining: dict[int, int] = {}
    for category in catalog.categories.values():
        if category.cap_per_month is None:
            continue
        used = sum(
            q.used for q in card.quantities if q.category == category.code and q.period >= period
        )
        remaining[category.code] = max(0, category.cap_per_month - used)
    return remaining


def build_basket(
    scans: Sequence[ScannedItem],
    catalog: Catalog,
    card: CardInfo,
    today: dt.date,
    *,
    shelf_prices: Mapping[str, int] | None = None,
    split_tender: bool = False,
) -> Basket:
    prices = dict(shelf_prices or {})
    for gtin, price in prices.items():
        if not isinstance(price, int) or isinstance(price, bool) or price <= 0:
            raise ValueError(f"shelf price for {gtin} must be a positive whole rupiah amount")
    refused: list[RefusedLine] = []
    wanted: list[tuple[CatalogItem, int]] = []
    for scan in merge_scans(scans):
        item = catalog.item(scan.gtin)
        if item is None:
            refused.append(RefusedLine(scan.gtin, None, scan.quantity, Refusal.NOT_IN_CATALOG))
        elif not item.programs:
            refused.append(RefusedLine(item.gtin, item.name, scan.quantity, Refusal.NOT_ELIGIBLE))
        else:
            wanted.append((item, scan.quantity))

    wanted, cap_refusals = _apply_caps(wanted, catalog, card, today)
    refused.extend(cap_refusals)

    usable = {p.code: p for p in card.purses if not p.expired_on(today) and p.balance > 0}
    left = {code: purse.balance for code, purse in usable.items()}
    order = sorted(
        range(len(wanted)),
        key=lambda i: len(wanted[i][0].programs & usable.keys()),
    )
    decided: dict[int, SaleLine] = {}
    for index in order:
        item, quantity = wanted[index]
        unit_price = min(prices.get(item.gtin, item.het), item.het)
        shelf_price = prices.get(item.gtin, item.het)
        purses = sorted(
            (usable[code] for code in item.programs if code in usable),
            key=lambda p: (p.expiry, p.code),
        )
        line, refusal = _allocate_line(
            item,
            quantity,
            unit_price=unit_price,
            shelf_price=shelf_price,
            purses=purses,
            left=left,
            split_tender=split_tender,
        )
        if line is not None:
            decided[index] = line
        if refusal is not None:
            refused.append(refusal)
    lines = tuple(decided[i] for i in sorted(decided))
    quantities = _capped_quantities(lines, catalog)
    return Basket(catalog.version, lines, tuple(refused), quantities)


def _apply_caps(
    wanted: list[tuple[CatalogItem, int]], catalog: Catalog, card: CardInfo, today: dt.date
) -> tuple[list[tuple[CatalogItem, int]], list[RefusedLine]]:
    remaining = cap_remaining(catalog, card, today)
    kept: list[tuple[CatalogItem, int]] = []
    refused: list[RefusedLine] = []
    capped_seen: list[int] = []
    for item, quantity in wanted:
        if item.category not in remaining:
            kept.append((item, quantity))
            continue
        if item.category not in capped_seen and len(capped_seen) >= MAX_QUANTITIES:
            refused.append(
                RefusedLine(item.gtin, item.name, quantity, Refusal.TOO_MANY_CAPPED_CATEGORIES)
            )
            continue
        allowed = min(quantity, remaining[item.category] // item.unit_base_quantity)
        if allowed > 0:
            if item.category not in capped_seen:
                capped_seen.append(item.category)
            remaining[item.category] -= allowed * item.unit_base_quantity
            kept.append((item, allowed))
        if allowed < quantity:
            refused.append(
                RefusedLine(item.gtin, item.name, quantity - allowed, Refusal.QUANTITY_CAP)
            )
    return kept, refused


def _allocate_line(
    item: CatalogItem,
    quantity: int,
    *,
    unit_price: int,
    shelf_price: int,
    purses: list[Purse],
    left: dict[str, int],
    split_tender: bool,
) -> tuple[SaleLine | None, RefusedLine | None]:
    """Sell as many whole units as the purses (plus cash, if allowed) can pay."""
    available = sum(left[p.code] for p in purses)
    units = quantity if split_tender else min(quantity, available // unit_price)
    refusal = None
    if units < quantity:
        reason = Refusal.NO_PURSE if not purses else Refusal.INSUFFICIENT_BALANCE
        refusal = RefusedLine(item.gtin, item.name, quantity - units, reason)
    if units == 0:
        return None, refusal
    due = units * unit_price
    paid: list[tuple[str, int]] = []
    for purse in purses:
        take = min(due, left[purse.code])
        if take > 0:
            paid.append((purse.code, take))
            left[purse.code] -= take
            due -= take
    line = SaleLine(
        gtin=item.gtin,
        name=item.name,
        category=item.category,
        quantity=units,
        unit_base_quantity=item.unit_base_quantity,
        shelf_price=shelf_price,
        het=item.het,
        unit_price=unit_price,
        paid=tuple(paid),
        cash=due,
    )
    return line, refusal


def _capped_quantities(
    lines: tuple[SaleLine, ...], catalog: Catalog
) -> tuple[tuple[int, int], ...]:
    totals: dict[int, int] = {}
    for line in lines:
        category = catalog.categories.get(line.category)
        if category is not None and category.cap_per_month is not None:
            totals[line.category] = totals.get(line.category, 0) + line.base_quantity
    return tuple(sorted(totals.items()))
