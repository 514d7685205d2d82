"""What the cashier types as a quantity: a count of the item's units (``3``), or a weight or
volume for loose goods (``1,5 kg``, ``750 g``, ``2 l``), turned into whole units of the item.

A record holds whole units (the card signs quantities in the category's base unit), so a
weight must come to a whole number of the item's units; otherwise the cashier is told the step.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ledger.catalog import CatalogItem

MAX_UNITS = 9999

_TYPED = re.compile(r"\s*(?P<amount>\d+(?:[.,]\d+)?)\s*(?P<unit>kg|g|gr|l|liter|ml)?\s*", re.I)
_TO_BASE = {"kg": Decimal(1000), "g": Decimal(1), "gr": Decimal(1), "l": Decimal(1000),
            "liter": Decimal(1000), "ml": Decimal(1)}  # fmt: skip
_BASE_OF = {"kg": "g", "g": "g", "gr": "g", "l": "ml", "liter": "ml", "ml": "ml"}


class QuantityError(ValueError):
    """The typed quantity cannot be sold: the message says why, in the cashier's words."""


def units_for(typed: str, item: CatalogItem | None, base_unit: str | None) -> int:
    """Whole units of ``item`` for what was typed; :class:`QuantityError` otherwise."""
    match = _TYPED.fullmatch(typed)
    if match is None:
        raise QuantityError(f"bukan jumlah: {typed!r} (contoh: 3, 1,5 kg, 750 g)")
    try:
        amount = Decimal(match["amount"].replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise QuantityError(f"bukan jumlah: {typed!r}") from exc
    unit = (match["unit"] or "").lower()
    if not unit:
        if amount != amount.to_integral_value():
            raise QuantityError("jumlah barang harus bilangan bulat; untuk berat ketik kg atau g")
        units = int(amount)
    else:
        if item is None or base_unit != _BASE_OF[unit]:
            raise QuantityError(f"barang ini tidak dijual per {unit}")
        base = amount * _TO_BASE[unit]
        step = Decimal(item.unit_base_quantity)
        if base % step != 0:
            raise QuantityError(
                f"berat harus kelipatan {item.unit} ({item.unit_base_quantity} {base_unit})"
            )
        units = int(base / step)
    if not 0 < units <= MAX_UNITS:
        raise QuantityError(f"jumlah harus 1 sampai {MAX_UNITS}")
    return units
