"""Held sales released to their shop: one operator asks, another approves, the money moves from
suspense to the shop once; the next settlement window pays it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest

from host_gateway import releases
from host_gateway.check import run_check
from host_gateway.cli import main as gateway_main
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import HeldRelease
from host_gateway.settlement import windows
from tests.factories import RICE_5KG, T0
from tests.fixtures.clockshop import DAY, ClockShop, rice
from tests.fixtures.gateway import World, void_record

SACK = 70_000
DEC_10 = T0 + 22 * DAY


def _stale_sale(shop: ClockShop) -> tuple[str, str]:
    """A shop offline past the host's window: its honest sale is held as stale."""
    card = shop.funded()
    sale = shop.sell(card, T0 + 3_600, (rice(1),))
    assert shop.upload([sale], at=T0 + 6 * DAY) == [("rejected", "proof_time_stale")]
    return card, f"{sale.terminal_id}/{sale.seq}"


def ask(shop: ClockShop, reference: str, operator: str = "Ani") -> int:
    with transaction(shop.world.gateway.factory) as session:
        return releases.ask(session, reference, operator, "offline 5 hari, banjir", T0).id


def approve(shop: ClockShop, release_id: int, operator: str) -> HeldRelease:
    with transaction(shop.world.gateway.factory) as session:
        return releases.approve(session, release_id, operator, T0 + 6 * DAY)


def test_a_held_sale_is_paid_to_its_shop_once_two_operators_agree(clock_shop: ClockShop) -> None:
    shop = clock_shop
    _, reference = _stale_sale(shop)
    assert (shop.held(), shop.shop_owed()) == (SACK, 0)
    with transaction(shop.world.gateway.factory) as session:
        [view] = releases.held_sales(session)
    assert (view.record, view.held_as, view.amount) == (reference, "proof_time_stale", SACK)
    assert view.releasable
    first = ask(shop, reference)
    with pytest.raises(GatewayError, match="another operator"):
        approve(shop, first, " ani ")
    assert (shop.held(), shop.shop_owed()) == (SACK, 0)  # asked is not paid
    with pytest.raises(GatewayError, match="has release"):
        ask(shop, reference, "Budi")  # once per sale
    approve(shop, first, "Budi")
    assert (shop.held(), shop.shop_owed()) == (0, SACK)
    with pytest.raises(GatewayError, match="was approved"):
        approve(shop, first, "Citra")
    with transaction(shop.world.gateway.factory) as session:
        assert releases.held_sales(session) == []  # nothing left to review
        assert run_check(session).ok
        window = windows.close(session, dt.date(2026, 11, 23), "Ani", T0 + 6 * DAY + 3_600)
    # the release's own time is the sale's: the first window closed after it owes it the shop
    [line] = window.shops
    assert (line.shop_id, line.owed, line.payable) == (shop.world.shop_id, SACK, SACK)


def test_what_is_not_held_money_is_never_released(clock_shop: ClockShop) -> None:
    shop = clock_shop
    card = shop.funded()
    paid = shop.sell(card, DEC_10, (rice(1),))
    assert shop.upload([paid], at=DEC_10 + 60) == [("accepted", "ok")]
    with pytest.raises(GatewayError, match="not a held sale"):
        ask(shop, f"{paid.terminal_id}/{paid.seq}")  # paid already: no second payment
    with pytest.raises(GatewayError, match="does not exist"):
        ask(shop, f"{paid.terminal_id}/99")
    with pytest.raises(GatewayError, match="TERMINAL/SEQ"):
        ask(shop, "SMD-0001")
    with (
        transaction(shop.world.gateway.factory) as session,
        pytest.raises(GatewayError, match="why"),
    ):
        releases.ask(session, f"{paid.terminal_id}/{paid.seq}", "Ani", " ", T0)
    assert shop.shop_owed() == SACK


def test_a_sale_held_for_what_it_is_never_reaches_the_shop(world: World) -> None:
    """A sale whose line is not the catalog's is held: no pair of operators can pay it to the
    shop (M4)."""
    card = world.funded_card()
    dear = dataclasses.replace(RICE_5KG, het=75_000)  # not the catalog's HET
    sale = world.terminal.sell(card, (dear,))
    [result] = world.ingest([sale]).results
    assert result.status == "rejected" and result.code not in releases.RELEASABLE
    with transaction(world.gateway.factory) as session:
        [view] = releases.held_sales(session)
        assert not view.releasable
        with pytest.raises(GatewayError, match="breaks a rule"):
            releases.ask(session, view.record, "Ani", "toko minta", T0)


def test_a_held_sale_cancelled_on_the_card_is_not_released(world: World) -> None:
    """A sale dated ahead and cancelled at once: both held; releasing the sale would pay the
    shop for goods the holder did not take."""
    card = world.funded_card()
    ahead = world.terminal.sell(card, time=T0 + 2 * 3_600)
    void, _ = void_record(world.terminal, card, ahead, time=T0 + 2 * 3_600)
    results = world.ingest([ahead, void]).results
    assert (results[0].status, results[0].code) == ("rejected", "proof_time_future")
    with (
        transaction(world.gateway.factory) as session,
        pytest.raises(GatewayError, match="cancelled on the card"),
    ):
        releases.ask(session, f"{ahead.terminal_id}/{ahead.seq}", "Ani", "jam salah", T0)


def test_the_operator_commands_list_release_and_approve(
    clock_shop: ClockShop, gateway_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = clock_shop
    _, reference = _stale_sale(shop)
    db = ["--db", gateway_db_url]
    assert gateway_main(["held", "list", *db]) == 0
    assert f"{reference} {shop.world.shop_id} Rp70.000" in capsys.readouterr().out
    asked = ["held", "release", "--record", reference, "--operator", "Ani", "--reason", "banjir"]
    assert gateway_main([*asked, *db]) == 0
    assert "another operator approves it" in capsys.readouterr().out
    assert gateway_main(["held", "approve", "1", "--operator", "Ani", *db]) == 2
    assert "another operator" in capsys.readouterr().err
    assert gateway_main(["held", "approve", "1", "--operator", "Budi", *db]) == 0
    assert "Rp70.000" in capsys.readouterr().out
    assert shop.shop_owed() == SACK


def test_the_same_approval_sent_twice_at_once_pays_the_shop_once(clock_shop: ClockShop) -> None:
    """A double click: the second approval waits for the first and finds it approved (on
    PostgreSQL it would otherwise read the release unapproved and post the money again)."""
    shop = clock_shop
    _, reference = _stale_sale(shop)
    release_id = ask(shop, reference)
    outcome: list[BaseException | HeldRelease] = []

    def second() -> None:
        try:
            outcome.append(approve(shop, release_id, "Citra"))
        except BaseException as exc:  # the test reads it
            outcome.append(exc)

    with transaction(shop.world.gateway.factory) as session:
        releases.approve(session, release_id, "Budi", T0 + 6 * DAY)
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(1.0)
        assert racer.is_alive()  # waits for the first approval to commit
    racer.join(30)
    [result] = outcome
    assert isinstance(result, GatewayError) and "approved by Budi" in result.message
    assert (shop.held(), shop.shop_owed()) == (0, SACK)
