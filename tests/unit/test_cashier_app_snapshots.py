"""The cashier app's main screens as SVG snapshots (pytest-textual-snapshot): a change in what
the cashier sees shows up as a diff to review. ``pytest --snapshot-update`` accepts a change."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from terminal.app import CashierApp
from terminal.app import Counter as AppCounter
from terminal.staff import set_cashier
from tests.fixtures.card import PIN
from tests.fixtures.sale import NOODLES, OIL, SUGAR, Counter
from tests.unit.test_cashier_app import (
    CASHIER,
    CASHIER_PIN,
    present_with_pin,
    scan,
    settle,
    type_into,
)

SIZE = (120, 36)


def app_for(counter: Counter) -> CashierApp:
    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
    return CashierApp(counter.home, counter.till, app_counter, counter.reader)


async def sign_in(pilot: Pilot[None]) -> None:
    await type_into(pilot, "#cashier", CASHIER)
    await type_into(pilot, "#pin", CASHIER_PIN)
    await settle(pilot)


def test_sign_in_screen(counter: Counter, snap_compare: Any) -> None:
    assert snap_compare(app_for(counter), terminal_size=SIZE)


def test_basket_with_card_and_refused_line(counter: Counter, snap_compare: Any) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def before(pilot: Pilot[None]) -> None:
        await sign_in(pilot)
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR, OIL, NOODLES)

    assert snap_compare(app_for(counter), terminal_size=SIZE, run_before=before)


def test_approved_sale(counter: Counter, snap_compare: Any) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def before(pilot: Pilot[None]) -> None:
        await sign_in(pilot)
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        await pilot.press("f10")
        await settle(pilot)

    assert snap_compare(app_for(counter), terminal_size=SIZE, run_before=before)
