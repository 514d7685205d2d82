"""The demo catalog: real staples at their 2024-2025 HET / reference prices, plus items that are
NOT eligible so refusals can be seen. GTINs are well-formed GTIN-13 under Indonesia's 899 prefix
(made up for the demo, with correct check digits)."""

from __future__ import annotations

from ledger.catalog import Catalog, CatalogItem, Category

APBD = "APBD"
BAZNAS = "BZNS"
STAPLES = frozenset({APBD, BAZNAS})

RICE, OIL, SUGAR, EGGS, NOODLES, SOAP, TOBACCO = 1, 2, 3, 4, 20, 21, 22
RICE_CAP_GRAMS_PER_MONTH = 10_000


def gtin13(body12: str) -> str:
    """Append the GS1 check digit to 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def _item(
    code: str,
    name: str,
    category: int,
    unit: str,
    base: int,
    het: int,
    programs: frozenset[str] = STAPLES,
) -> CatalogItem:
    return CatalogItem(gtin13(f"899{code}"), name, category, unit, base, het, programs)


DEMO_ITEMS = (
    # Kepbadan 299/2025: medium Rp14,000/kg, premium Rp15,400/kg in Kalimantan.
    _item("100000011", "Beras Medium 1 kg", RICE, "kg", 1000, 14_000),
    _item("100000012", "Beras Medium 5 kg", RICE, "karung 5 kg", 5000, 70_000),
    _item("100000021", "Beras Premium 1 kg", RICE, "kg", 1000, 15_400),
    _item("100000022", "Beras Premium 5 kg", RICE, "karung 5 kg", 5000, 77_000),
    # Permendag 18/2024: Minyakita Rp15,700 per litre.
    _item("200000011", "Minyakita 1 L", OIL, "liter", 1000, 15_700),
    # Reference price for sugar (2024): Rp17,500/kg.
    _item("300000011", "Gula Pasir 1 kg", SUGAR, "kg", 1000, 17_500),
    # Reference price for chicken eggs at the consumer (2024): Rp30,000/kg.
    _item("400000011", "Telur Ayam Ras 1 kg", EGGS, "kg", 1000, 30_000),
    # Not staples: in the catalog so the terminal can name the refusal.
    _item("900000011", "Mi Instan Goreng", NOODLES, "bungkus", 1, 3_500, frozenset()),
    _item("900000021", "Sabun Mandi 85 g", SOAP, "batang", 1, 4_000, frozenset()),
    _item("900000031", "Rokok Kretek 12 batang", TOBACCO, "bungkus", 1, 25_000, frozenset()),
)

DEMO_CATEGORIES = (
    Category(RICE, "Beras", "g", RICE_CAP_GRAMS_PER_MONTH),
    Category(OIL, "Minyak goreng", "ml", None),
    Category(SUGAR, "Gula", "g", None),
    Category(EGGS, "Telur", "g", None),
    Category(NOODLES, "Mi instan", "pcs", None),
    Category(SOAP, "Sabun", "pcs", None),
    Category(TOBACCO, "Rokok", "pcs", None),
)


def demo_catalog(version: int = 1, issued: int = 0) -> Catalog:
    return Catalog(
        version=version,
        issued=issued,
        categories={c.code: c for c in DEMO_CATEGORIES},
        items={i.gtin: i for i in DEMO_ITEMS},
    )
