"""The cashier app attacked the way a tired cashier and a hurried queue would: keys pressed at
the wrong moment, cards pulled and swapped, scans arriving while something else is open. Each
test says what the cashier sees and what the journal and the card hold."""

from __future__ import annotations

import asyncio

import pytest
from textual import events
from textual.pilot import Pilot

from drivers.card.protocol import CardInfo, Ins
from drivers.scanner.wedge import WedgeDetector
from ledger.bodies import SaleBody
from ledger.record import RecordType
from simulators.card.card import Fault
from simulators.card.direct import DirectConnection, DirectReader
from terminal.app import CashierApp
from terminal.app import Counter as AppCounter
from terminal.app.widgets import BasketTable
from terminal.sale import Outcome
from terminal.staff import set_cashier
from tests.fixtures.card import PIN
from tests.fixtures.sale import OIL, SUGAR, SUPERVISOR_PIN, Counter
from tests.unit.test_cashier_app import (
    CASHIER,
    CASHIER_PIN,
    Held,
    KeyClock,
    present_with_pin,
    records,
    run,
    sale_screen,
    scan,
    settle,
    text_of,
    type_into,
    wait_for,
)


def held_charge(monkeypatch: pytest.MonkeyPatch) -> Held:
    """The card's DEBIT (the sale engine's ``charge``) made to wait for ``go``."""
    from terminal.app import counter as module

    held = Held(module.charge)
    monkeypatch.setattr(module, "charge", held)
    return held


def told(app: CashierApp) -> list[str]:
    """What the app notifies from now on (printer lines, refused keys)."""
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
    return said


def no_card(app: CashierApp) -> bool:
    return "Tempelkan Kartu SSN" in text_of(app, "#card")


def sold_lines(counter: Counter) -> list[list[tuple[str, int]]]:
    return [
        [(line.gtin, line.quantity) for line in SaleBody.from_value(r.body).lines]
        for r in counter.home.journal.records()
        if r.type is RecordType.SALE
    ]


def test_keys_pressed_again_while_the_card_is_debited_start_nothing(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F10 twice in one read, then F10, Escape, F2, F4, F5, F7 and F8 while the DEBIT runs: one
    card operation, one sale, and the screen shows it approved, as the journal has it."""
    number = counter.issue(loads={"APBD": 200_000})
    held = held_charge(monkeypatch)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        screen = sale_screen(app)
        try:
            for _ in range(2):  # a double press comes in one read of the terminal
                app.post_message(events.Key("f10", None))
            await wait_for(pilot, held.entered.is_set)
            await pilot.press("f10", "escape", "f2", "f4", "f5", "f7", "f8")
            assert app.screen is screen  # no PIN or supervisor prompt opened meanwhile
            assert "JANGAN cabut" in text_of(app, "#outcome")
            assert not held.returned.is_set()
        finally:
            held.go.set()
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")
        assert screen.query_one(BasketTable).row_count == 0

    run(counter, flow)
    assert len(held.calls) == 1
    assert records(counter) == [RecordType.SALE]
    assert sold_lines(counter) == [[(SUGAR, 1)]]


def test_the_basket_cannot_change_under_a_debit_and_a_scan_then_is_not_lost_silently(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the card is debited for the basket on screen, the next customer's item is scanned
    and the cashier presses Delete and F3: the screen keeps showing what is being debited, and
    the scan is refused out loud (not added, then wiped with the paid basket)."""
    number = counter.issue(loads={"APBD": 200_000})
    held = held_charge(monkeypatch)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        screen = sale_screen(app)
        said = told(app)
        try:
            await pilot.press("f10")
            await wait_for(pilot, held.entered.is_set)
            screen.query_one(BasketTable).focus()
            await pilot.press("delete", "f3")
            assert app.screen is screen  # no quantity prompt over a debit
            await type_into(pilot, "#code", OIL)
            app.post_message(events.Key("escape", None))
            await pilot.pause(0.1)
            assert [s.gtin for s in screen.scans] == [SUGAR]
            assert screen.query_one(BasketTable).row_count == 1
            assert any("Pindai lagi" in t for t in said)  # the scan was refused out loud
        finally:
            held.go.set()
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")

    run(counter, flow)
    assert sold_lines(counter) == [[(SUGAR, 1)]]


def test_a_release_that_hangs_never_stops_the_keys(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card leaves: its PC/SC connection is closed off the UI thread, so a pcscd that hangs
    in the close leaves the keys working, and the screen says the card is gone at once."""
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        held = Held(app.counter.release)
        monkeypatch.setattr(app.counter, "release", held)
        try:
            counter.reader.remove()
            await wait_for(pilot, held.entered.is_set)
            await wait_for(pilot, lambda: no_card(app))
            await type_into(pilot, "#code", SUGAR)
            await wait_for(pilot, lambda: sale_screen(app).query_one(BasketTable).row_count == 1)
            assert not held.returned.is_set()  # the keys were handled while the close hung
        finally:
            held.go.set()
        await wait_for(pilot, held.returned.is_set)
        assert app.counter.card is None

    run(counter, flow)


def test_a_card_pulled_while_the_pin_prompt_is_open_takes_its_prompt_with_it(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Holder A's PIN prompt is open with two digits typed when A pulls the card and B presents
    another: B gets one prompt, and A's digits are never tried on B's card."""
    first = counter.issue(1, loads={"APBD": 200_000})
    second = counter.issue(2, loads={"APBD": 200_000})
    from terminal.app import counter as module

    tried: list[str] = []
    real = module.verify_holder

    def verify(till: object, session: object, pin: str) -> CardInfo | Outcome:
        tried.append(pin)
        return real(till, session, pin)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "verify_holder", verify)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        counter.present(first)
        await wait_for(pilot, lambda: app.screen.id == "pin")
        await pilot.press("1", "2")
        counter.reader.remove()
        await wait_for(pilot, lambda: no_card(app))
        await present_with_pin(pilot, counter, second, PIN)
        assert app.screen is sale_screen(app)  # no PIN prompt left over from A
        assert "APBD" in text_of(app, "#card")

    run(counter, flow)
    assert tried == [PIN]


def test_the_basket_does_not_follow_one_holder_to_another_card(counter: Counter) -> None:
    """Holder A's basket stays for A's card (pulled and presented again), and a basket scanned
    before any card goes to the card that comes; but when A leaves and B presents another card,
    A's items are not on B's screen and F10 charges B nothing."""
    first = counter.issue(1, loads={"APBD": 200_000})
    second = counter.issue(2, loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        screen = sale_screen(app)
        await scan(pilot, SUGAR)  # before any card: the basket waits for one
        await present_with_pin(pilot, counter, first, PIN)
        assert [s.gtin for s in screen.scans] == [SUGAR]
        counter.reader.remove()
        await wait_for(pilot, lambda: no_card(app))
        await present_with_pin(pilot, counter, first, PIN)  # the same card again
        assert [s.gtin for s in screen.scans] == [SUGAR]
        counter.reader.remove()
        await wait_for(pilot, lambda: no_card(app))
        await present_with_pin(pilot, counter, second, PIN)
        assert screen.scans == []
        assert screen.query_one(BasketTable).row_count == 0
        await pilot.press("f10")
        await settle(pilot)

    run(counter, flow)
    assert records(counter) == []
    assert counter.balances(second) == {"APBD": 200_000}


def test_a_wedge_scan_while_the_pin_prompt_is_open_goes_to_the_basket(counter: Counter) -> None:
    """A keyboard-wedge scan fires while the holder's PIN prompt is open: the code is in the
    basket, the PIN field is as the holder left it, and no PIN try is spent."""
    number = counter.issue(loads={"APBD": 200_000})
    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    clock = KeyClock(0.5)
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
    app = CashierApp(
        counter.home, counter.till, app_counter, counter.reader,
        wedge=WedgeDetector(), keyclock=clock,
    )  # fmt: skip

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            await type_into(pilot, "#cashier", CASHIER)
            await type_into(pilot, "#pin", CASHIER_PIN)
            await settle(pilot)
            counter.present(number)
            await wait_for(pilot, lambda: app.screen.id == "pin")
            await pilot.press(*PIN[:2])  # the holder has begun
            clock.now += 1.0  # a moment later, the scanner's burst
            clock.step = 0.005
            await pilot.press(*SUGAR, "enter")
            await settle(pilot)
            clock.step = 0.5
            clock.now += 1.0
            assert app.screen.id == "pin"
            assert app.screen.query_one("#value").value == PIN[:2]  # type: ignore[attr-defined]
            assert [s.gtin for s in sale_screen(app).scans] == [SUGAR]
            await pilot.press(*PIN[2:], "enter")
            await settle(pilot)
            assert "APBD" in text_of(app, "#card")
            assert "PIN salah" not in text_of(app, "#outcome")

    asyncio.run(main())


def test_cancel_pressed_twice_voids_the_sale_once(counter: Counter) -> None:
    """F7 twice in one read, then F7 again after the cancellation: one void, the money back
    once, and the second cancellation is refused in words."""
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        await pilot.press("f10")
        await settle(pilot)
        for _ in range(2):
            app.post_message(events.Key("f7", None))
        await wait_for(pilot, lambda: app.screen.id == "supervisor")
        await pilot.press(*SUPERVISOR_PIN, "enter")
        await settle(pilot)
        assert app.screen is sale_screen(app)  # one prompt for the double press
        assert "BERHASIL" in text_of(app, "#outcome")
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.screen.id == "supervisor")
        await pilot.press(*SUPERVISOR_PIN, "enter")
        await settle(pilot)
        assert "DITOLAK" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == [RecordType.SALE, RecordType.VOID]
    assert counter.balances(number) == {"APBD": 200_000}


def test_ctrl_q_during_a_debit_waits_for_the_card(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+Q pressed while the card is debited is refused out loud; the sale ends approved and
    Ctrl+Q then quits."""
    number = counter.issue(loads={"APBD": 200_000})
    held = held_charge(monkeypatch)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        said = told(app)
        try:
            await pilot.press("f10")
            await wait_for(pilot, held.entered.is_set)
            await pilot.press("ctrl+q")
            await pilot.pause(0.1)
            assert app.is_running and not held.returned.is_set()
            assert any("tunggu sampai selesai" in t for t in said)
        finally:
            held.go.set()
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")
        await pilot.press("ctrl+q")
        await pilot.pause(0.1)
        assert not app.is_running

    run(counter, flow)
    assert records(counter) == [RecordType.SALE]


class HeldAfter(Held):
    """A call that runs in full, then waits for :attr:`go` before its answer goes back: the work
    is done (the card read), its message not yet posted."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls.append(args)
        try:
            return self.real(*args, **kwargs)
        finally:
            self.entered.set()
            self.go.wait(3)
            self.returned.set()


def held_presentation(monkeypatch: pytest.MonkeyPatch) -> HeldAfter:
    """The card's presentation (the sale engine's ``present_card``) read in full, then held."""
    from terminal.app import counter as module

    held = HeldAfter(module.present_card)
    monkeypatch.setattr(module, "present_card", held)
    return held


def card_left(app: CashierApp, monkeypatch: pytest.MonkeyPatch) -> Held:
    """Set once the watcher has posted CardLeft (it releases the card's session just after)."""
    released = Held(app.counter.release)
    released.go.set()
    monkeypatch.setattr(app.counter, "release", released)
    return released


def pin_prompts(app: CashierApp) -> list[str]:
    """The full card number the screen held each time a PIN prompt opened."""
    opened: list[str] = []
    push = app.push_screen

    def pushed(screen: object, *args: object, **kwargs: object) -> object:
        if getattr(screen, "id", None) == "pin":
            opened.append(sale_screen(app).card_number)
        return push(screen, *args, **kwargs)  # type: ignore[arg-type]

    app.push_screen = pushed  # type: ignore[assignment,method-assign]
    return opened


def test_a_card_pulled_while_it_is_presented_is_not_shown_when_its_presentation_lands(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card is read, then pulled before its presentation reaches the screen: the screen,
    told the card left, shows no card and opens no PIN prompt for it."""
    number = counter.issue(loads={"APBD": 200_000})
    held = held_presentation(monkeypatch)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        screen = sale_screen(app)
        opened = pin_prompts(app)
        try:
            counter.present(number)
            await wait_for(pilot, held.entered.is_set)
            left = card_left(app, monkeypatch)
            counter.reader.remove()
            await wait_for(pilot, left.entered.is_set)
            await pilot.pause(0.1)  # CardLeft handled
        finally:
            held.go.set()
        await settle(pilot)
        await pilot.pause(0.1)
        assert app.screen is screen
        assert opened == []
        assert no_card(app)
        assert (screen.card, screen.card_number, screen.info) == ("", "", None)

    run(counter, flow)


def test_a_presentation_of_a_card_gone_is_not_taken_for_the_next_card(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A is read and pulled before its presentation lands, and B comes: the screen shows B (by
    B's full number) and opens one PIN prompt, B's, and the PIN goes to B's card."""
    first = counter.issue(1, loads={"APBD": 200_000})
    second = counter.issue(2, loads={"APBD": 100_000})
    held = held_presentation(monkeypatch)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        screen = sale_screen(app)
        opened = pin_prompts(app)
        try:
            counter.present(first)
            await wait_for(pilot, held.entered.is_set)
            left = card_left(app, monkeypatch)
            counter.reader.remove()
            await wait_for(pilot, left.entered.is_set)
        finally:
            held.go.set()
        # A's session ends once its presentation is done (the lock), and only then does the
        # watcher look for the next card: B comes after that (closing the in-process reader
        # would take B out with it).
        await wait_for(pilot, left.returned.is_set)
        counter.present(second)
        await wait_for(pilot, lambda: len(held.calls) == 2)
        await settle(pilot)
        await wait_for(pilot, lambda: app.screen.id == "pin")
        assert opened == [second]
        assert screen.card_number == second
        await pilot.press(*PIN, "enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.card_number == second
        assert "100.000" in text_of(app, "#card")

    run(counter, flow)


def test_a_late_presentation_still_tells_of_a_sale_that_went_through(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card torn mid-debit comes back and its presentation finds the sale went through, but
    the card is pulled again before that lands: the card is not shown, yet the screen says the
    sale happened, its receipt prints and the basket is cleared, so F10 never rings it twice."""
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        screen = sale_screen(app)
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        counter.reader.card.arm(Fault.DURING, Ins.DEBIT)  # type: ignore[union-attr]
        await pilot.press("f10")
        await settle(pilot)
        assert "BELUM TUNTAS" in text_of(app, "#outcome")
        await wait_for(pilot, lambda: no_card(app))
        printed: list[Outcome] = []
        real_print = app.counter.print_receipts

        def print_receipts(outcome: Outcome) -> Outcome:
            printed.append(outcome)
            return real_print(outcome)

        monkeypatch.setattr(app.counter, "print_receipts", print_receipts)
        held = held_presentation(monkeypatch)
        try:
            counter.present(number)
            await wait_for(pilot, held.entered.is_set)
            left = card_left(app, monkeypatch)
            counter.reader.remove()
            await wait_for(pilot, left.entered.is_set)
        finally:
            held.go.set()
        await settle(pilot)
        await wait_for(pilot, lambda: "SUDAH TERJADI" in text_of(app, "#outcome"))
        assert no_card(app) and app.screen is screen
        assert screen.query_one(BasketTable).row_count == 0
        assert [[r.kind for r in o.resolutions] for o in printed] == [["sale"]]
        await pilot.press("f10")
        await settle(pilot)

    run(counter, flow)
    assert records(counter) == [RecordType.SALE]


class SlotReader:
    """The in-process reader as the counter opens it, closed as a PC/SC reader is: what it
    holds is released and the card stays in the slot (the simulator's own close takes it out)."""

    def __init__(self, reader: DirectReader) -> None:
        self.reader = reader

    def connect(self) -> DirectConnection:
        return self.reader.connect()

    def close(self) -> None:
        pass


def test_a_card_swapped_for_another_in_one_move_is_seen_leaving(counter: Counter) -> None:
    """The in-process reader swaps A for B under one lock (the reader is never seen empty): the
    watcher still sees A leave and B come, and the screen goes to B with B's PIN prompt."""
    first = counter.issue(1, loads={"APBD": 200_000})
    second = counter.issue(2, loads={"APBD": 100_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        app.counter.readers = lambda _name: SlotReader(counter.reader)  # type: ignore[assignment,return-value]
        screen = sale_screen(app)
        await present_with_pin(pilot, counter, first, PIN)
        assert screen.card_number == first
        opened = pin_prompts(app)
        counter.present(second)  # no remove(): a swap
        await wait_for(pilot, lambda: app.screen.id == "pin")
        assert opened == [second]
        await pilot.press(*PIN, "enter")
        await settle(pilot)
        assert screen.card_number == second
        assert "100.000" in text_of(app, "#card")

    run(counter, flow)
