"""The catalog of approved staples and its rules, as signed by the issuer.

Terminal and host both apply it: the terminal to build a basket, the host to check what a terminal
charged. A catalog arrives as a :class:`~ledger.documents.SignedDocument` of kind ``catalog``; any
bad row refuses the whole document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.binary import FormatError
from ledger.cardproofs import check_purse_code
from ledger.documents import DocumentError, SignedDocument

_GTIN = re.compile(r"\d{4,14}")


@dataclass(frozen=True)
class Category:
    code: int
    name: str
    base_unit: str
    """What quantities of this category count in: "g", "ml" or "pcs"."""
    cap_per_month: int | None
    """Most base units one card may take per calendar month; None for no cap."""


@dataclass(frozen=True)
class CatalogItem:
    gtin: str
    """GTIN-8/12/13/14 or a 4-5 digit PLU for loose goods."""
    name: str
    category: int
    unit: str
    """How the item is sold, for people: "kg", "karung 5 kg", "liter", "butir"."""
    unit_base_quantity: int
    het: int
    """Maximum retail price (Harga Eceran Tertinggi) per unit, rupiah."""
    programs: frozenset[str]
    """Purse codes that may pay for it; empty means not eligible at all."""


@dataclass(frozen=True)
class Catalog:
    version: int
    issued: int
    categories: Mapping[int, Category]
    items: Mapping[str, CatalogItem]

    def item(self, gtin: str) -> CatalogItem | None:
        return self.items.get(gtin)

    def to_content(self) -> dict[str, Any]:
        return {
            "categories": [
                {
                    "code": c.code,
                    "name": c.name,
                    "base_unit": c.base_unit,
                    "cap_per_month": c.cap_per_month,
                }
                for c in sorted(self.categories.values(), key=lambda c: c.code)
            ],
            "items": [
                {
                    "gtin": i.gtin,
                    "name": i.name,
                    "category": i.category,
                    "unit": i.unit,
                    "unit_base_qty": i.unit_base_quantity,
                    "het": i.het,
                    "programs": sorted(i.programs),
                }
                for i in sorted(self.items.values(), key=lambda i: i.gtin)
            ],
        }

    @classmethod
    def from_document(cls, document: SignedDocument) -> Catalog:
        try:
            return cls._parse(document.version, document.issued, document.content)
        except (FormatError, KeyError, TypeError, ValueError) as exc:
            raise DocumentError(f"catalog refused: {exc}") from exc

    @classmethod
    def _parse(cls, version: int, issued: int, content: Mapping[str, Any]) -> Catalog:
        if set(content) != {"categories", "items"}:
            raise FormatError("catalog content needs exactly categories and items")
        categories: dict[int, Category] = {}
        for row in content["categories"]:
            cap = row["cap_per_month"]
            category = Category(
                _int(row["code"]),
                _text(row["name"]),
                _text(row["base_unit"]),
                None if cap is None else _int(cap),
            )
            if category.base_unit not in {"g", "ml", "pcs"}:
                raise FormatError(f"category {category.code}: unknown base unit")
            if not 0 <= category.code <= 255 or category.code in categories:
                raise FormatError(f"category code {category.code} invalid or repeated")
            categories[category.code] = category
        items: dict[str, CatalogItem] = {}
        for row in content["items"]:
            gtin = _text(row["gtin"])
            if not _GTIN.fullmatch(gtin) or gtin in items:
                raise FormatError(f"GTIN/PLU {gtin!r} invalid or repeated")
            programs = frozenset(check_purse_code(p) for p in row["programs"])
            item = CatalogItem(
                gtin,
                _text(row["name"]),
                _int(row["category"]),
                _text(row["unit"]),
                _int(row["unit_base_qty"]),
                _int(row["het"]),
                programs,
            )
            if item.category not in categories:
                raise FormatError(f"item {gtin}: unknown category {item.category}")
            if item.het <= 0 or item.unit_base_quantity <= 0:
                raise FormatError(f"item {gtin}: HET and unit quantity must be positive")
            items[gtin] = item
        return cls(version, issued, categories, items)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"expected a non-negative integer, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"expected non-empty text, got {value!r}")
    return value
