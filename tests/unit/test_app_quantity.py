"""Quantities typed at the counter: counts, and weights of loose goods in whole units."""

from __future__ import annotations

import pytest

from demo.catalog import demo_catalog
from ledger.catalog import CatalogItem
from terminal.app.quantity import QuantityError, units_for

CATALOG = demo_catalog()
RICE_1KG = CATALOG.items["8991000000119"]
EGGS_1KG = next(i for i in CATALOG.items.values() if i.name.startswith("Telur"))
LOOSE_RICE = CatalogItem("2000000000001", "Beras curah", RICE_1KG.category, "100 g", 100, 1_400,
                         RICE_1KG.programs)  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "item", "units"),
    [
        ("3", RICE_1KG, 3),
        ("2 kg", RICE_1KG, 2),
        ("1,5 kg", LOOSE_RICE, 15),
        ("700 g", LOOSE_RICE, 7),
        ("2000g", EGGS_1KG, 2),
    ],
)
def test_counts_and_weights_become_whole_units(typed: str, item: CatalogItem, units: int) -> None:
    assert units_for(typed, item, "g") == units


@pytest.mark.parametrize(
    ("typed", "item", "base", "said"),
    [
        ("1,5 kg", RICE_1KG, "g", "kelipatan kg"),  # 1.5 units of 1 kg cannot be sold
        ("750 g", LOOSE_RICE, "g", "kelipatan 100 g"),
        ("1 l", RICE_1KG, "g", "tidak dijual per l"),
        ("1.5", RICE_1KG, "g", "bilangan bulat"),
        ("0", RICE_1KG, "g", "1 sampai"),
        ("10000", RICE_1KG, "g", "1 sampai"),
        ("dua", RICE_1KG, "g", "bukan jumlah"),
        ("-1", RICE_1KG, "g", "bukan jumlah"),
    ],
)
def test_what_cannot_be_sold_is_said(typed: str, item: CatalogItem, base: str, said: str) -> None:
    with pytest.raises(QuantityError, match=said):
        units_for(typed, item, base)
