"""Settlement windows: late records keep their own time and go into the open window, a closed
window never changes, held credit is not paid. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from host_gateway import postings
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.settlement import accounts, daycheck, windows
from ledger.bodies import DayCloseBody
from ledger.record import RecordType
from tests.factories import T0
from tests.fixtures.gateway import FakeClock, World, void_record
from tests.unit.test_gateway_continuity import balance, held, other_shop, payable

DAY = dt.date(2026, 11, 18)  # T0 is 19:06 WITA on this day
NEXT = DAY + dt.timedelta(days=1)
END_OF_DAY = int(dt.datetime(2026, 11, 19, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())


def bank(world: World, shop_id: str, number: str = "1234567890") -> None:
    with transaction(world.gateway.factory) as session:
        accounts.set_shop_account(
            session, shop_id, "BRINIDJA", number, "Toko Sembako Makmur", "ani", world.now
        )


def close(world: World, day: dt.date, operator: str = "Ani") -> windows.Window:
    with transaction(world.gateway.factory) as session:
        return windows.close(session, day, operator, world.now)


def journal_is_whole(world: World) -> None:
    with transaction(world.gateway.factory) as session:
        report = run_check(session, world.now)
    assert report.journal_total == 0 and not report.discrepancies


def test_a_late_record_keeps_its_time_and_goes_into_the_open_window(
    world: World, clock: FakeClock
) -> None:
    card = world.funded_card()
    bank(world, world.shop_id)
    world.ingest([world.terminal.sell(card, time=T0)])
    clock.now = END_OF_DAY - 60
    with pytest.raises(GatewayError, match="open until 2026-11-19 00:00 WITA"):
        close(world, DAY)
    clock.now = END_OF_DAY + 60
    first = close(world, DAY)
    assert first.newly_closed and first.cutoff == END_OF_DAY
    [shop] = first.shops
    assert (shop.shop_id, shop.owed, shop.by_program, shop.payout) == (
        world.shop_id,
        70_000,
        {"APBD": 70_000},
        70_000,
    )
    assert payable(world, world.shop_id) == 0
    assert -balance(world, windows.PAYOUT) == 70_000

    late = world.terminal.sell(card, time=T0 + 60)  # made on DAY, uploaded after the close
    after_cutoff = world.terminal.sell(card, time=END_OF_DAY + 30)  # made on NEXT
    world.ingest([late, after_cutoff])
    again = close(world, DAY)
    assert not again.newly_closed and again.shops == first.shops  # a closed window never changes
    clock.now = END_OF_DAY + 86_400 + 60
    second = close(world, NEXT)
    [shop] = second.shops
    # both sales are in the open window: the late one by arrival, the other by its own time
    assert (shop.owed, shop.payout) == (140_000, 140_000)
    journal_is_whole(world)
    with pytest.raises(GatewayError, match="closed already"):
        close(world, DAY - dt.timedelta(days=1))


def test_records_after_the_cutoff_wait_for_their_window(world: World, clock: FakeClock) -> None:
    card = world.funded_card()
    bank(world, world.shop_id)
    sale = world.terminal.sell(card, time=T0)
    world.ingest([sale])
    clock.now = END_OF_DAY + 35
    world.ingest([world.terminal.sell(card, time=END_OF_DAY + 30)])
    void, _ = void_record(world.terminal, card, sale, time=END_OF_DAY + 40)  # cancelled on NEXT
    clock.now = END_OF_DAY + 3_600
    window = close(world, DAY)
    [shop] = window.shops
    assert (shop.owed, shop.payable, shop.payout) == (70_000, 70_000, 70_000)
    assert payable(world, world.shop_id) == 70_000  # the sale after the cut-off stays owed
    world.ingest([void])
    clock.now = END_OF_DAY + 86_400 + 60
    [shop] = close(world, NEXT).shops
    assert (shop.owed, shop.payout) == (0, 0)  # the sale and its cancellation
    journal_is_whole(world)


def test_credit_held_for_an_unexplained_rise_is_not_paid(world: World, clock: FakeClock) -> None:
    card = world.funded_card()
    hiding, (other, other_shop_id) = world.terminal, other_shop(world)
    bank(world, world.shop_id)
    bank(world, other_shop_id, "9876543210")
    sale = hiding.sell(card)
    void_record(hiding, card, sale)  # the shop keeps its cancellation back
    world.ingest([sale])
    world.ingest([other.sell(card)], terminal=other)
    assert held(world) == {world.shop_id: 70_000}
    clock.now = END_OF_DAY + 60
    lines = {line.shop_id: line for line in close(world, DAY).shops}
    hidden = lines[world.shop_id]
    assert (hidden.owed, hidden.held, hidden.payout) == (70_000, 70_000, 0)
    assert hidden.note == "all held for unexplained credit"
    assert lines[other_shop_id].payout == 70_000
    assert payable(world, world.shop_id) == 70_000  # still owed, paid once explained


def test_a_shop_without_a_bank_account_stays_payable(world: World, clock: FakeClock) -> None:
    card = world.funded_card()
    world.ingest([world.terminal.sell(card)])
    clock.now = END_OF_DAY + 60
    [shop] = close(world, DAY).shops
    assert (shop.payout, shop.note) == (0, "no bank account: stays payable")
    assert payable(world, world.shop_id) == 70_000
    assert balance(world, postings.shop(world.shop_id)) == -70_000


@pytest.mark.parametrize(
    ("bic", "number", "name", "message"),
    [
        ("BRINUSJA", "1234567890", "Toko", "Indonesian bank"),
        ("BRINIDJA", "12-34", "Toko", "6-20 digits"),
        ("BRINIDJA", "1234567890", "Toko <script>", "holder name"),
    ],
)
def test_a_bad_bank_account_is_refused_and_changes_nothing(
    world: World, bic: str, number: str, name: str, message: str
) -> None:
    with pytest.raises(GatewayError, match=message), transaction(world.gateway.factory) as s:
        accounts.set_shop_account(s, world.shop_id, bic, number, name, "ani", world.now)
    with transaction(world.gateway.factory) as session:
        assert accounts.shop_accounts(session) == []


def day_close(world: World, first: int, last: int, sales: int, apbd: int) -> None:
    body = DayCloseBody(DAY, first, last, sales, apbd, 0, 0, 0, 0, 0, {"APBD": apbd})
    world.ingest([world.terminal.append(RecordType.DAY_CLOSE, body.to_value(), T0 + 100)])


def day_status(world: World) -> tuple[str, str]:
    with transaction(world.gateway.factory) as session:
        [result] = daycheck.compare(session, DAY)
    return result.status, result.why


def test_terminal_totals_are_compared_with_its_day_close(world: World) -> None:
    card = world.funded_card()
    assert day_status(world) == (daycheck.CANNOT_CONFIRM, "no day close yet")
    first, second = world.terminal.sell(card), world.terminal.sell(card)
    world.ingest([first])  # the second is not uploaded yet
    day_close(world, first.seq, second.seq, 2, 140_000)
    assert day_status(world) == (
        daycheck.CANNOT_CONFIRM,
        "1 of the day's records are not at the host yet",
    )
    world.ingest([second])
    assert day_status(world) == (daycheck.AGREED, "")


def test_a_day_close_that_disagrees_is_shown(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    world.ingest([sale])
    day_close(world, sale.seq, sale.seq, 1, 60_000)
    assert day_status(world) == (daycheck.NOT_AGREED, "the totals differ")
