"""Basket rules and purse allocation: what the card may pay, from which purse, what is refused."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.protocol import (
    CardInfo,
    CardState,
    Purse,
    QuantityCounter,
)
from ledger.catalog import Catalog, CatalogItem, Category
from terminal.basket import Refusal, ScannedItem, build_basket

TODAY = dt.date(2026, 11, 23)
RICE, OIL, SUGAR, TOBACCO = 1, 2, 3, 9

CATALOG = Catalog(
    version=3,
    issued=0,
    categories={
        RICE: Category(RICE, "Beras", "g", 10_000),
        OIL: Category(OIL, "Minyak goreng", "ml", None),
        SUGAR: Category(SUGAR, "Gula", "g", None),
        TOBACCO: Category(TOBACCO, "Rokok", "pcs", None),
    },
    items={
        "8991001": CatalogItem(
            "8991001",
            "Beras Medium 5 kg",
            RICE,
            "karung",
            5000,
            70_000,
            frozenset({"APBD", "BZNS"}),
        ),
        "8991002": CatalogItem(
            "8991002", "Minyakita 1 L", OIL, "liter", 1000, 15_700, frozenset({"APBD"})
        ),
        "8991003": CatalogItem(
            "8991003", "Gula Pasir 1 kg", SUGAR, "kg", 1000, 17_500, frozenset({"BZNS"})
        ),
        "8991009": CatalogItem(
            "8991009", "Rokok Kretek", TOBACCO, "bungkus", 1, 30_000, frozenset()
        ),
    },
)


def card(purses: tuple[Purse, ...], quantities: tuple[QuantityCounter, ...] = ()) -> CardInfo:
    return CardInfo(
        CardState.ACTIVE,
        3,
        0,
        0,
        None,
        holder_name="Siti",
        purses=purses,
        quantities=quantities,
        holder_known=True,
    )


APBD = Purse("APBD", 200_000, dt.date(2026, 12, 31))
BZNS = Purse("BZNS", 100_000, dt.date(2026, 11, 30))


def test_het_caps_the_charged_price_and_keeps_the_shelf_price() -> None:
    basket = build_basket(
        [ScannedItem("8991002", 2)], CATALOG, card((APBD,)), TODAY, shelf_prices={"8991002": 17_000}
    )
    (line,) = basket.lines
    assert (line.shelf_price, line.unit_price, line.amount) == (17_000, 15_700, 31_400)
    assert basket.purse_amounts() == (("APBD", 31_400),)


def test_refusals_are_named() -> None:
    basket = build_basket(
        [ScannedItem("0000"), ScannedItem("8991009"), ScannedItem("8991003")],
        CATALOG,
        card((APBD,)),
        TODAY,
    )
    reasons = {r.gtin: r.reason for r in basket.refused}
    assert reasons == {
        "0000": Refusal.NOT_IN_CATALOG,
        "8991009": Refusal.NOT_ELIGIBLE,
        "8991003": Refusal.NO_PURSE,  # sugar only BAZNAS may pay; this card has no BAZNAS purse
    }
    assert basket.lines == ()


def test_earliest_expiry_pays_first_and_narrow_purse_is_saved() -> None:
    # Sugar only BAZNAS may pay: the rice must not use up BAZNAS even though it expires first.
    small_bzns = Purse("BZNS", 20_000, dt.date(2026, 11, 30))
    basket = build_basket(
        [ScannedItem("8991001"), ScannedItem("8991003")], CATALOG, card((APBD, small_bzns)), TODAY
    )
    assert not basket.refused
    by_gtin = {line.gtin: line.paid for line in basket.lines}
    assert by_gtin["8991003"] == (("BZNS", 17_500),)
    assert by_gtin["8991001"] == (("BZNS", 2_500), ("APBD", 67_500))


def test_expired_purse_never_pays() -> None:
    expired = Purse("BZNS", 100_000, dt.date(2026, 10, 31))
    basket = build_basket([ScannedItem("8991003")], CATALOG, card((APBD, expired)), TODAY)
    assert basket.lines == ()
    assert basket.refused[0].reason == Refusal.NO_PURSE


def test_rice_cap_counts_this_month_on_the_card() -> None:
    used = (QuantityCounter(RICE, 2611, 5000),)
    basket = build_basket([ScannedItem("8991001", 2)], CATALOG, card((APBD,), used), TODAY)
    assert [line.quantity for line in basket.lines] == [1]
    assert basket.refused[0].reason == Refusal.QUANTITY_CAP
    assert basket.quantities == ((RICE, 5000),)
    last_month = (QuantityCounter(RICE, 2610, 10_000),)
    basket = build_basket([ScannedItem("8991001", 2)], CATALOG, card((APBD,), last_month), TODAY)
    assert [line.quantity for line in basket.lines] == [2]


def test_split_tender_puts_the_rest_in_cash() -> None:
    poor = Purse("APBD", 50_000, dt.date(2026, 12, 31))
    refused = build_basket([ScannedItem("8991001")], CATALOG, card((poor,)), TODAY)
    assert refused.lines == () and refused.refused[0].reason == Refusal.INSUFFICIENT_BALANCE
    split = build_basket([ScannedItem("8991001")], CATALOG, card((poor,)), TODAY, split_tender=True)
    (line,) = split.lines
    assert line.paid == (("APBD", 50_000),) and line.cash == 20_000
    assert split.card_total == 50_000 and split.cash == 20_000


purse_st = st.builds(
    Purse,
    code=st.sampled_from(["APBD", "BZNS", "CSR1"]),
    balance=st.integers(0, 400_000),
    expiry=st.dates(dt.date(2026, 10, 1), dt.date(2027, 3, 1)),
)


@settings(max_examples=300, deadline=None)
@given(
    purses=st.lists(purse_st, max_size=3, unique_by=lambda p: p.code),
    scans=st.lists(
        st.builds(
            ScannedItem, st.sampled_from([*sorted(CATALOG.items), "1234"]), st.integers(1, 5)
        ),
        max_size=8,
    ),
    used_rice=st.integers(0, 12_000),
    prices=st.dictionaries(st.sampled_from(sorted(CATALOG.items)), st.integers(1, 90_000)),
    split=st.booleans(),
)
def test_allocation_properties(
    purses: list[Purse],
    scans: list[ScannedItem],
    used_rice: int,
    prices: dict[str, int],
    split: bool,
) -> None:
    info = card(tuple(purses), (QuantityCounter(RICE, 2611, used_rice),))
    basket = build_basket(scans, CATALOG, info, TODAY, shelf_prices=prices, split_tender=split)
    by_code = {p.code: p for p in purses}
    spent: dict[str, int] = {}
    for line in basket.lines:
        item = CATALOG.items[line.gtin]
        assert line.unit_price <= item.het  # never above HET
        assert sum(a for _, a in line.paid) + line.cash == line.amount
        for code, amount in line.paid:
            assert code in item.programs  # never an ineligible purse
            assert not by_code[code].expired_on(TODAY)  # never an expired purse
            spent[code] = spent.get(code, 0) + amount
    for code, amount in spent.items():
        assert amount <= by_code[code].balance  # never more than a purse holds
    assert dict(basket.purse_amounts()) == spent  # total debited = total allocated
    assert basket.card_total + basket.cash == basket.total
    if not split:
        assert basket.cash == 0
    rice = sum(line.base_quantity for line in basket.lines if line.category == RICE)
    assert rice == 0 or used_rice + rice <= 10_000  # the monthly cap holds across sales
    scanned = sum(s.quantity for s in scans)
    assert (
        sum(line.quantity for line in basket.lines) + sum(r.quantity for r in basket.refused)
        == scanned
    )  # every scanned unit is either sold or refused with a reason
