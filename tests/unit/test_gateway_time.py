"""Issue 14's clock attacks at the host: a genuine card (the simulator) sold to by a terminal
whose clock is set back or forward, uploaded the real day. Each such sale is held (the card's
money to suspense, never to the shop) with a clear code and an event; honest sales in the same
batch are paid. Runs on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

import datetime as dt

import pytest

from drivers.card.errors import DateBeforeCard, PurseExpired
from host_gateway import distribution
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.models import Card
from tests.factories import T0
from tests.fixtures.clockshop import DAY, ClockShop, rice

SACK = 70_000
DEC_10 = T0 + 22 * DAY  # 2026-12-10 WITA
JAN_10 = T0 + 53 * DAY  # 2027-01-10 WITA


def _books_balance(shop: ClockShop) -> None:
    with transaction(shop.world.gateway.factory) as session:
        report = run_check(session)
    assert report.ok, report.discrepancies


def test_a_clock_set_forward_month_by_month_sells_no_more_than_the_months_cap(
    clock_shop: ClockShop,
) -> None:
    """The issue's 150 kg: 30 kg (the monthly cap) on each of five terminal "months", all on
    one real day. The card counts each new month afresh; the host holds the four months that
    are after the month it received them in."""
    shop = clock_shop
    card, neighbour = shop.funded(), shop.funded()
    sales = [shop.sell(card, T0 + month * 30 * DAY, (rice(6),)) for month in range(5)]
    honest = shop.sell(neighbour, T0 + 600)
    results = shop.upload([*sales, honest], at=T0 + 3_600)
    assert results[0] == ("accepted", "ok")  # the real month: 30 kg, the cap
    assert results[1:5] == [("rejected", "quantity_period_future")] * 4
    assert results[5] == ("accepted", "ok")
    assert shop.shop_owed() == 6 * SACK + SACK  # the real month's rice and the neighbour's
    assert shop.held() == 4 * 6 * SACK  # the card paid it: accountable, not the shop's
    assert shop.events()["quantity_period_future"] == 4
    _books_balance(shop)


def test_a_clock_set_back_cannot_count_this_months_rice_in_last_month(
    clock_shop: ClockShop,
) -> None:
    """Once the card has counted December, a terminal clock in November accrues into
    December on the card and the host holds the sale (its period is not the proof's month).
    On a card with no December yet, November is counted there, but the proof is older than
    the offline window: held too. The same day's sale with the right clock is paid."""
    shop = clock_shop
    counted, fresh = shop.funded(), shop.funded()
    december = shop.sell(counted, DEC_10, (rice(1),))
    behind = shop.sell(counted, T0 + 10 * DAY, (rice(5),))  # 2026-11-28
    into_november = shop.sell(fresh, T0 + 10 * DAY, (rice(6),))
    same_day = shop.sell(fresh, DEC_10 + 60, (rice(6),))
    results = shop.upload([december, behind, into_november, same_day], at=DEC_10 + 3_600)
    assert results == [
        ("accepted", "ok"),
        ("rejected", "quantity_period_mismatch"),
        ("rejected", "proof_time_stale"),
        ("accepted", "ok"),
    ]
    assert shop.shop_owed() == 7 * SACK
    assert shop.held() == 11 * SACK
    assert shop.events()["quantity_period_mismatch"] == 1
    assert shop.events()["proof_time_stale"] == 1
    _books_balance(shop)


def test_an_expired_purse_spent_with_the_clock_set_back_is_held(clock_shop: ClockShop) -> None:
    """The purse's value ended 2026-12-31 by the load the host issued. On 2027-01-10 a
    terminal with its clock at 2026-12-30 spends it: the card agrees (its date says so), the
    host judges on its own receive window. A newer load the host signed on 2027-01-02 is
    pending, not yet on the card: it cannot extend a debit dated before it was issued."""
    shop = clock_shop
    card = shop.issue()
    first = shop.load(card, shop.authorize(card, 500_000, dt.date(2026, 12, 31)), T0)
    neighbour = shop.funded()
    assert shop.upload([first], at=T0 + 60) == [("accepted", "ok")]
    shop.clock.now = T0 + 45 * DAY  # 2027-01-02: the next month's load, not yet applied
    shop.authorize(card, 200_000, dt.date(2027, 2, 28))
    with pytest.raises(PurseExpired):
        shop.sell(card, JAN_10)  # the card itself, told the real date, refuses
    spent = shop.sell(card, T0 + 42 * DAY)  # 2026-12-30
    honest = shop.sell(neighbour, JAN_10)
    results = shop.upload([spent, honest], at=JAN_10 + 600)
    assert results == [("rejected", "purse_expired"), ("accepted", "ok")]
    assert (shop.shop_owed(), shop.held()) == (SACK, SACK)
    assert shop.events()["purse_expired"] == 1
    _books_balance(shop)


def test_an_expired_card_used_with_the_clock_set_back_is_held(clock_shop: ClockShop) -> None:
    """The card's certificate ended 2026-12-31. The terminal's date (2026-12-30) lets it read
    the card; the host judges the certificate on its receive window and holds the sale."""
    shop = clock_shop
    card = shop.issue(valid_until=dt.date(2026, 12, 31))
    loaded = shop.load(card, shop.authorize(card, 500_000, dt.date(2027, 6, 30)), T0)
    neighbour = shop.funded()
    assert shop.upload([loaded], at=T0 + 60) == [("accepted", "ok")]
    spent = shop.sell(card, T0 + 42 * DAY)
    honest = shop.sell(neighbour, JAN_10)
    results = shop.upload([spent, honest], at=JAN_10 + 600)
    assert results == [("rejected", "card_expired"), ("accepted", "ok")]
    assert (shop.shop_owed(), shop.held()) == (SACK, SACK)
    assert shop.events()["card_expired"] == 1
    _books_balance(shop)


def test_a_proof_that_goes_back_before_the_cards_last_sale_is_held(
    clock_shop: ClockShop,
) -> None:
    """Another shop sold to the card at noon; this terminal, two days behind (same month,
    inside the offline window), sells to it next: its time is before the card's counter
    below, so one of the two clocks is wrong and the later sale waits for an operator."""
    shop = clock_shop
    card = shop.funded()
    other = shop.world.enroll()
    noon = shop.sell(card, DEC_10, terminal=other)
    assert shop.upload([noon], at=DEC_10 + 300, terminal=other) == [("accepted", "ok")]
    behind = shop.sell(card, DEC_10 - 2 * DAY + 600)
    assert shop.upload([behind], at=DEC_10 + 900) == [("rejected", "proof_time_backwards")]
    later = shop.sell(card, DEC_10 + 1_200)  # the clock set right: nothing is held
    assert shop.upload([later], at=DEC_10 + 1_500) == [("accepted", "ok")]
    assert shop.held() == SACK
    assert shop.events()["proof_time_backwards"] == 1


def test_a_sale_held_for_its_clock_does_not_hold_the_honest_sale_after_it(
    clock_shop: ClockShop,
) -> None:
    """A terminal two hours ahead sells to the card; an honest shop sells to it an hour later
    (its time is before the held one's): only accepted counters bound the next proof."""
    shop = clock_shop
    card = shop.funded()
    other = shop.world.enroll()
    ahead = shop.sell(card, DEC_10 + 2 * 3_600)
    assert shop.upload([ahead], at=DEC_10 + 60) == [("rejected", "proof_time_future")]
    honest = shop.sell(card, DEC_10 + 3_600, terminal=other)
    assert shop.upload([honest], at=DEC_10 + 3_660, terminal=other) == [("accepted", "ok")]


def test_a_load_applied_under_a_clock_ahead_does_not_hold_the_honest_sales_after_it(
    clock_shop: ClockShop,
) -> None:
    """A terminal two days ahead relays a load (accepted: the issuer signed it) and sells (held);
    the next day an honest shop sells to the card. The load's claimed time is two days after the
    host received it: it bounds the next proof only up to what the host can trust, its receipt
    (a fleet run found honest sales held as proof_time_backwards behind such a load)."""
    shop = clock_shop
    card = shop.issue()
    other = shop.world.enroll()
    authorization = shop.authorize(card, 1_000_000, dt.date(2027, 6, 30))
    loaded = shop.load(card, authorization, DEC_10 + 2 * DAY)
    ahead = shop.sell(card, DEC_10 + 2 * DAY + 60)
    assert shop.upload([loaded, ahead], at=DEC_10) == [
        ("accepted", "ok"),
        ("rejected", "proof_time_future"),
    ]
    honest = shop.sell(card, DEC_10 + DAY, terminal=other)
    assert shop.upload([honest], at=DEC_10 + DAY + 60, terminal=other) == [("accepted", "ok")]
    # the same in one batch: the terminal's clock put right between the load and the sale
    second = shop.issue()
    loaded = shop.load(second, shop.authorize(second, 1_000_000, dt.date(2027, 6, 30)), JAN_10)
    put_right = shop.sell(second, DEC_10 + DAY + 120)
    assert shop.upload([loaded, put_right], at=DEC_10 + DAY + 180) == [
        ("accepted", "ok"),
        ("accepted", "ok"),
    ]
    _books_balance(shop)


def test_the_offline_window_is_the_configured_hours_and_a_margin(clock_shop: ClockShop) -> None:
    """A terminal offline for three days uploads: inside the configured 72 hours (and the
    margin) its sales are paid; after the operator publishes 24 hours, a sale as old is held."""
    shop = clock_shop
    card = shop.funded()
    three_days = shop.sell(card, T0 + 3_600)
    assert shop.upload([three_days], at=T0 + 3 * DAY) == [("accepted", "ok")]
    with transaction(shop.world.gateway.factory) as session:
        config = dict(distribution.DEFAULT_CONFIG)
        config["risk"] = {**config["risk"], "max_offline_hours": 24}
        distribution.publish_config(session, shop.world.gateway.keys, config, T0 + 3 * DAY)
    again = shop.sell(card, T0 + 3 * DAY + 600)
    assert shop.upload([again], at=T0 + 6 * DAY) == [("rejected", "proof_time_stale")]
    assert shop.held() == SACK


def test_a_debit_dated_before_a_load_the_card_applied_is_refused_as_a_copys(
    clock_shop: ClockShop,
) -> None:
    """After applying a load issued 2026-11-28 the card refuses any debit dated earlier (9407).
    A proof that says otherwise was signed with the card's key outside the card: refused,
    nothing posted, the card flagged cloned and hotlisted."""
    shop = clock_shop
    shop.clock.now = T0 + 10 * DAY
    card = shop.funded()
    with pytest.raises(DateBeforeCard):
        shop.sell(card, T0 + 8 * DAY)
    copy = shop.copy_of(card)
    forged = shop.terminal.sell(copy, time=T0 + 8 * DAY)  # inside the offline window
    at = T0 + 10 * DAY + 600
    assert shop.upload([forged], at=at) == [("rejected", "proof_before_trusted_date")]
    assert (shop.shop_owed(), shop.held()) == (0, 0)
    with transaction(shop.world.gateway.factory) as session:
        assert session.get_one(Card, card).status == "cloned"
    assert shop.events()["card_hotlisted_clone"] == 1


def test_a_load_relayed_to_an_expired_card_with_the_clock_set_back_is_held(
    clock_shop: ClockShop,
) -> None:
    """An expired card takes no value: the card applies what the authority signed, the host
    holds the credit in suspense and the load stays pending until an operator decides."""
    shop = clock_shop
    card = shop.issue(valid_until=dt.date(2026, 12, 31))
    authorization = shop.authorize(card, 500_000, dt.date(2027, 6, 30))
    late = shop.load(card, authorization, T0 + 42 * DAY)  # the terminal says 2026-12-30
    assert shop.upload([late], at=JAN_10) == [("rejected", "card_expired")]
    assert shop.held() == -500_000  # suspense paid the purse: the card holds it
    _books_balance(shop)


def test_a_load_earlier_in_the_batch_dates_the_card(clock_shop: ClockShop) -> None:
    """A card's first load and a sale uploaded together: the load (issued 2026-11-28) moved
    the card's date, so a debit at a higher counter dated before it is a copy's."""
    shop = clock_shop
    shop.clock.now = T0 + 10 * DAY
    card = shop.issue()
    loaded = shop.load(card, shop.authorize(card, 500_000, dt.date(2027, 6, 30)), shop.clock.now)
    copy = shop.copy_of(card)
    forged = shop.terminal.sell(copy, time=T0 + 8 * DAY)
    results = shop.upload([loaded, forged], at=T0 + 10 * DAY + 600)
    assert results == [("accepted", "ok"), ("rejected", "proof_before_trusted_date")]
