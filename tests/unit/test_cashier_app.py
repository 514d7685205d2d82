"""The cashier app driven by Textual's pilot, with the card simulator in a reader in-process:
what the cashier sees, and what the money is, for each flow of the counter."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from drivers.card.pinpad import PinPad
from drivers.card.protocol import Ins
from drivers.card.transport import CardConnection
from drivers.scanner.wedge import WedgeDetector
from ledger.bodies import SaleBody
from ledger.record import RecordType
from simulators.card.card import Fault
from terminal.app import CashierApp, SaleSide
from terminal.app import Counter as AppCounter
from terminal.app.prompts import Prompt
from terminal.app.sale_screen import SaleScreen
from terminal.app.signin import FirstRunScreen, SignedIn, SignInScreen
from terminal.app.widgets import BasketTable
from terminal.backoff import Backoff
from terminal.basket import ScannedItem
from terminal.gateway_client import GatewayClient
from terminal.home import HomeError
from terminal.host_requests import HostCard
from terminal.journal.models import JournalCounts
from terminal.receipts.jobs import JobKind
from terminal.sale import Outcome, Status
from terminal.staff import check_cashier, set_cashier
from terminal.sync import Syncer
from tests.fixtures.card import PIN
from tests.fixtures.pinpad import EmulatedPad
from tests.fixtures.sale import NOODLES, OIL, RICE_5KG, SUGAR, SUPERVISOR_PIN, Counter

CASHIER, CASHIER_PIN = "ani", "1357"

Flow = Callable[[Pilot[None], CashierApp], Awaitable[None]]


def make_app(counter: Counter) -> CashierApp:
    app_counter = AppCounter(counter.till, None, readers=lambda _name: counter.reader)
    return CashierApp(counter.home, counter.till, app_counter, counter.reader)


def run(counter: Counter, flow: Flow, *, signed_in: bool = True) -> CashierApp:
    if signed_in:
        set_cashier(counter.home, CASHIER, CASHIER_PIN)
    app = make_app(counter)

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            if signed_in:
                await type_into(pilot, "#cashier", CASHIER)
                await type_into(pilot, "#pin", CASHIER_PIN)
                await settle(pilot)
                assert isinstance(app.screen, SaleScreen)
            await flow(pilot, app)

    asyncio.run(main())
    return app


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    await pilot.press(*text, "enter")


async def settle(pilot: Pilot[None], rounds: int = 3) -> None:
    """Let workers finish and their messages land."""
    for _ in range(rounds):
        busy = [w for w in pilot.app.workers if w.group != "watch"]  # the reader watch never ends
        if busy:
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause(0.05)


async def wait_for(pilot: Pilot[None], check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never showed it")


def text_of(app: CashierApp, selector: str) -> str:
    screens = [s for s in app.screen_stack if isinstance(s, SaleScreen)] or [app.screen]
    return str(screens[0].query_one(selector, Static).render())


def sale_screen(app: CashierApp) -> SaleScreen:
    for screen in app.screen_stack:
        if isinstance(screen, SaleScreen):
            return screen
    raise AssertionError("no sale screen")


async def present_with_pin(pilot: Pilot[None], counter: Counter, number: str, pin: str) -> None:
    counter.present(number)
    await wait_for(pilot, lambda: pilot.app.screen.id == "pin")
    await pilot.press(*pin, "enter")
    await settle(pilot)


async def scan(pilot: Pilot[None], *codes: str) -> None:
    for code in codes:
        await type_into(pilot, "#code", code)
    await settle(pilot)


def records(counter: Counter) -> list[RecordType]:
    return [r.type for r in counter.home.journal.records()]


def test_sign_in_shows_before_the_till_is_loaded(counter: Counter) -> None:
    """``ssn-terminal run``: the sign-in screen comes first and the till loads in a worker; a
    cashier quicker than the start-up is told to wait, then gets the sale screen."""
    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    ready = threading.Event()

    def load() -> SaleSide:
        ready.wait(10)
        app_counter = AppCounter(counter.till, None, readers=lambda _name: counter.reader)
        return SaleSide(counter.till, app_counter, counter.reader)

    app = CashierApp(counter.home, load=load)

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            try:
                assert isinstance(app.screen, SignInScreen)
                await type_into(pilot, "#cashier", CASHIER)
                await type_into(pilot, "#pin", CASHIER_PIN)
                await wait_for(pilot, lambda: "Menyiapkan kasir" in text_of(app, "#error"))
                assert isinstance(app.screen, SignInScreen)
            finally:
                ready.set()
            await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen))

    asyncio.run(main())


def test_a_till_that_cannot_load_ends_the_app_with_its_error(counter: Counter) -> None:
    def load() -> SaleSide:
        raise HomeError("cannot open the journal: file is not a database")

    app = CashierApp(counter.home, load=load)

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.load_error is not None)

    asyncio.run(main())
    assert isinstance(app.load_error, HomeError)
    assert app.return_code == 1


def test_run_imports_no_journal_or_sale_engine_before_its_first_screen() -> None:
    """They are most of the start-up: a worker loads them while the cashier signs in."""
    code = (
        "import sys\n"
        "from terminal.cli import main\n"
        "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        "import terminal.app.app, drivers.scanner.wedge\n"
        "heavy = ('sqlalchemy', 'httpx', 'terminal.journal', 'terminal.sale', 'terminal.sync')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_first_run_sets_supervisor_and_cashier(counter: Counter) -> None:
    counter.home.save_config(
        counter.home.config.__class__(
            **{**counter.home.config.__dict__, "supervisor_pin_hash": None}
        )
    )

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        assert isinstance(app.screen, FirstRunScreen)
        await type_into(pilot, "#supervisor", "8642")
        await type_into(pilot, "#supervisor2", "8642")
        await type_into(pilot, "#cashier", "budi")
        await type_into(pilot, "#pin", "2468")
        await type_into(pilot, "#pin2", "2468")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)

    run(counter, flow, signed_in=False)
    assert check_cashier(counter.home, "budi", "2468")
    assert counter.home.config.check_supervisor_pin("8642")
    assert "2468" not in (counter.home.paths.data_dir / "staff.json").read_text()


def test_wrong_cashier_pin_stays_at_sign_in(counter: Counter) -> None:
    set_cashier(counter.home, CASHIER, CASHIER_PIN)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await type_into(pilot, "#cashier", CASHIER)
        await type_into(pilot, "#pin", "0000")
        await settle(pilot)
        assert not isinstance(app.screen, SaleScreen)
        assert "salah" in text_of(app, "#error")

    run(counter, flow, signed_in=False)


def test_normal_sale_shows_lines_purses_and_approval(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        assert "APBD" in text_of(app, "#card")  # purses shown after the PIN
        await scan(pilot, SUGAR, OIL)
        table = app.screen.query_one(BasketTable)
        assert table.row_count == 2
        assert "APBD" in str(table.get_row_at(0)[4])
        assert "Dibayar kartu" in text_of(app, "#totals")
        await pilot.press("f10")
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")
        assert app.screen.query_one(BasketTable).row_count == 0

    run(counter, flow)
    assert records(counter) == [RecordType.SALE]
    assert counter.balances(number)["APBD"] < 200_000


def test_ineligible_item_is_shown_with_its_reason_and_not_charged(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, NOODLES)
        row = app.screen.query_one(BasketTable).get_row_at(0)
        assert "bukan bahan pokok" in str(row[5])
        await pilot.press("f10")
        await settle(pilot)
        assert "DITOLAK" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == []
    assert counter.balances(number) == {"APBD": 200_000}


def test_wrong_pin_then_right(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, "999999")
        assert "PIN salah" in text_of(app, "#outcome")
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.id == "pin")
        await pilot.press(*PIN, "enter")
        await settle(pilot)
        assert "APBD" in text_of(app, "#card")
        await scan(pilot, SUGAR)
        await pilot.press("f10")
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == [RecordType.SALE]


def test_card_pulled_mid_debit_then_same_card_never_sells_twice(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        counter.reader.card.arm(Fault.DURING, Ins.DEBIT)  # type: ignore[union-attr]
        await pilot.press("f10")
        await settle(pilot)
        assert "BELUM TUNTAS" in text_of(app, "#outcome")
        assert "KARTU YANG SAMA" in text_of(app, "#outcome")
        # The cashier does as told: the same card again, then rings the basket up again.
        counter.present(number)
        await wait_for(pilot, lambda: "SUDAH TERJADI" in text_of(app, "#outcome"))
        assert app.screen.query_one(BasketTable).row_count == 0
        await pilot.press("f10")
        await settle(pilot)

    run(counter, flow)
    assert records(counter) == [RecordType.SALE]


def test_cancel_the_sale_while_the_card_is_in_the_reader(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.screen.id == "supervisor")
        await pilot.press(*SUPERVISOR_PIN, "enter")
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == [RecordType.SALE, RecordType.VOID]
    assert counter.balances(number) == {"APBD": 200_000}


def test_blocked_card_is_declined_in_plain_words(counter: Counter) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        counter.present(number)
        await wait_for(pilot, lambda: app.screen.id == "pin")
        for wrong in ("111111", "222222", "333333"):
            await pilot.press(*wrong, "enter")
            await settle(pilot)
            if "terblokir" in text_of(app, "#outcome"):
                break
            await pilot.press("f4")
            await wait_for(pilot, lambda: app.screen.id == "pin")
        assert "DITOLAK" in text_of(app, "#outcome")
        assert "terblokir" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == []


def test_day_close_needs_the_supervisor(counter: Counter) -> None:
    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.screen.id == "supervisor")
        await pilot.press(*"0000", "enter")
        await settle(pilot)
        assert "PIN supervisor salah" in text_of(app, "#outcome")
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.screen.id == "supervisor")
        await pilot.press(*SUPERVISOR_PIN, "enter")
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == [RecordType.DAY_CLOSE]


def test_another_cards_unfinished_sale_is_named_on_screen(counter: Counter) -> None:
    torn = counter.issue(1, loads={"APBD": 200_000})
    other = counter.issue(2, loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, torn, PIN)
        await scan(pilot, SUGAR)
        counter.reader.card.arm(Fault.BEFORE, Ins.DEBIT)  # type: ignore[union-attr]
        await pilot.press("f10")
        await settle(pilot)
        await present_with_pin(pilot, counter, other, PIN)
        sale_screen(app).refresh_status()
        await wait_for(pilot, lambda: torn[-4:] in text_of(app, "#banner"))

    run(counter, flow)


@pytest.mark.parametrize("language", ["en"])
def test_english_by_config(counter: Counter, language: str) -> None:
    counter.home.save_config(dataclasses.replace(counter.home.config, receipt_language=language))

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        assert "Present the SSN card" in text_of(app, "#card")
        shown = {b.binding.key: b.binding.description for b in app.screen.active_bindings.values()}
        assert shown["f10"] == "Pay" and shown["f7"] == "Cancel"

    run(counter, flow)


def test_reader_pin_pad_is_used_and_said(counter: Counter) -> None:
    """With a PIN-pad reader the app never asks for the PIN on screen: the holder types it on
    the reader (a fake pad in front of the simulated card here)."""
    number = counter.issue(loads={"APBD": 200_000})
    pads: list[EmulatedPad] = []

    def pad_for(connection: CardConnection) -> PinPad | None:
        pads.append(EmulatedPad(connection, PIN))
        return PinPad.detect(pads[-1])

    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader, pads=pad_for)
    app = CashierApp(counter.home, counter.till, app_counter, counter.reader)

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            await type_into(pilot, "#cashier", CASHIER)
            await type_into(pilot, "#pin", CASHIER_PIN)
            await settle(pilot)
            counter.present(number)
            await wait_for(pilot, lambda: "APBD" in text_of(app, "#card"))
            assert app.screen.id != "pin"  # no PIN field on screen
            await scan(pilot, SUGAR)
            await pilot.press("f10")
            await settle(pilot)
            assert "BERHASIL" in text_of(app, "#outcome")

    asyncio.run(main())
    assert pads and pads[-1].card_commands == 1
    assert records(counter) == [RecordType.SALE]


class KeyClock:
    """Key times for the wedge: each key ``step`` seconds after the one before."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_wedge_scan_into_the_search_box_goes_to_the_basket(counter: Counter) -> None:
    """A wedge scanner fires while the cashier has the search box open: the code lands in the
    basket, not in the search box; the same keys typed at a person's pace stay in the box."""
    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    clock = KeyClock(0.5)  # a person signs in
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
    app = CashierApp(
        counter.home,
        counter.till,
        app_counter,
        counter.reader,
        wedge=WedgeDetector(),
        keyclock=clock,
    )

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            await type_into(pilot, "#cashier", CASHIER)
            await type_into(pilot, "#pin", CASHIER_PIN)
            await settle(pilot)
            await type_into(pilot, "#code", "gula")  # opens the search by name
            await wait_for(
                pilot, lambda: app.screen.id is None and app.screen is not sale_screen(app)
            )
            clock.step = 0.005  # the scanner's burst
            await pilot.press(*SUGAR, "enter")
            await settle(pilot)
            assert sale_screen(app).scans[0].gtin == SUGAR
            await pilot.press("escape")
            clock.step = 0.5  # a person types the same digits into the code field
            await type_into(pilot, "#code", OIL)
            await settle(pilot)
            assert [s.gtin for s in sale_screen(app).scans] == [SUGAR, OIL]

    asyncio.run(main())


def test_next_aid_from_the_host_on_screen_and_on_the_balance_slip(counter: Counter) -> None:
    """The holder learns when the next aid comes: on the card panel and on the printed slip."""
    number = counter.issue(loads={"APBD": 200_000})
    due = dt.date(2027, 1, 5)
    counter.till.ask_host = lambda *_: HostCard(next_aid=(("APBD", due),))

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        assert "Bantuan berikut APBD: 05-01-2027" in text_of(app, "#card")
        await pilot.press("f5")
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")

    run(counter, flow)
    jobs = [counter.home.journal.job(job_id) for job_id in range(1, 10)]
    slips = [job for job in jobs if job is not None and job.kind is JobKind.BALANCE]
    assert len(slips) == 1
    assert b"Bantuan berikut APBD" in slips[0].data and b"05-01-2027" in slips[0].data


def test_after_a_sale_the_panel_shows_new_balances_and_a_second_sale_asks_the_pin(
    counter: Counter,
) -> None:
    """The holder sees what is left; a second basket in the same session goes through the PIN
    again, so this month's caps and balances come fresh from the card."""
    number = counter.issue(loads={"APBD": 200_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        await pilot.press("f10")
        await settle(pilot)
        left = counter.balances(number)["APBD"]
        assert f"APBD: Rp{left:,}".replace(",", ".") in text_of(app, "#card")
        await scan(pilot, OIL)
        await pilot.press("f10")
        await wait_for(pilot, lambda: app.screen.id == "pin")
        await pilot.press(*PIN, "enter")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == [RecordType.SALE, RecordType.SALE]


def test_a_bug_in_an_operation_is_a_line_on_screen_not_a_crash(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = counter.issue(loads={"APBD": 200_000})

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("terminal.app.counter.charge", broken)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, SUGAR)
        await pilot.press("f10")
        await settle(pilot)
        assert "Kesalahan program (RuntimeError)" in text_of(app, "#outcome")
        assert app.is_running

    run(counter, flow)
    assert records(counter) == []


def test_a_journal_read_that_hangs_never_stops_the_keys(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status bar's figures come from the journal (SQLite): a read that blocks (a busy disk,
    a lock held elsewhere) runs in a worker, so the cashier's keys are handled meanwhile, and
    after a while the bar says the journal is not answering."""
    monkeypatch.setattr("terminal.app.sale_view.STATUS_STALE", 0.2)
    entered, release, returned = threading.Event(), threading.Event(), threading.Event()
    counts = counter.till.journal.counts

    def hanging() -> JournalCounts:
        entered.set()
        release.wait(5)
        returned.set()
        return counts()

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        screen = sale_screen(app)
        monkeypatch.setattr(counter.till.journal, "counts", hanging)
        try:
            screen.refresh_status()
            await wait_for(pilot, entered.is_set)
            await type_into(pilot, "#code", SUGAR)
            await wait_for(pilot, lambda: screen.query_one(BasketTable).row_count == 1)
            assert not returned.is_set()  # the key was handled while the read still hung
            await pilot.pause(0.3)
            screen.refresh_status()  # the interval's next tick: no second read behind it
            await wait_for(pilot, lambda: "Jurnal: tidak menjawab" in text_of(app, "#status"))
        finally:
            release.set()
        await wait_for(pilot, lambda: "antre 0" in text_of(app, "#status"))
        assert returned.is_set()

    run(counter, flow)


def test_a_journal_error_is_a_line_in_the_status_bar_not_a_crash(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> JournalCounts:
        raise sqlite3.OperationalError("disk I/O error")

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        monkeypatch.setattr(counter.till.journal, "counts", broken)
        sale_screen(app).refresh_status()
        await wait_for(pilot, lambda: "disk I/O error" in text_of(app, "#status"))
        assert "Jurnal: OperationalError: disk I/O error" in text_of(app, "#status")
        await scan(pilot, SUGAR)  # the screen goes on working
        assert app.is_running
        assert app.screen.query_one(BasketTable).row_count == 1
        monkeypatch.undo()  # the journal answers again: the figures are back
        sale_screen(app).refresh_status()
        await wait_for(pilot, lambda: "antre 0" in text_of(app, "#status"))

    run(counter, flow)


def test_offline_sale_is_queued_and_sync_says_so(counter: Counter) -> None:
    """The host is down: the sale goes through within the offline limits, the status bar counts
    it as queued, and F9 tells the cashier the sync failed and the record is still queued. (The
    real upload is proven against a gateway process in tests/integration/test_gateway_sync.py.)"""
    number = counter.issue(loads={"APBD": 200_000})
    home = counter.home
    client = GatewayClient(
        home.config.gateway_url, home.config.terminal_id, home.key, timeout=1.0,
        backoff=Backoff(attempts=1),
    )  # fmt: skip
    syncer = Syncer(home.journal, client, dict(home.config.authority_keys))
    set_cashier(home, CASHIER, CASHIER_PIN)
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
    app = CashierApp(home, counter.till, app_counter, counter.reader, sync=syncer.run_once)
    told: list[str] = []

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            app.notify = lambda message, **_: told.append(str(message))  # type: ignore[method-assign]
            await type_into(pilot, "#cashier", CASHIER)
            await type_into(pilot, "#pin", CASHIER_PIN)
            await settle(pilot)
            await present_with_pin(pilot, counter, number, PIN)
            await scan(pilot, SUGAR)
            await pilot.press("f10")
            await settle(pilot)
            assert "BERHASIL" in text_of(app, "#outcome")
            sale_screen(app).refresh_status()
            await wait_for(pilot, lambda: "antre 1" in text_of(app, "#status"))
            await pilot.press("f9")
            await wait_for(pilot, lambda: any("Sinkron gagal" in t for t in told), 20)
            assert "antre 1" in told[-1]

    asyncio.run(main())
    client.close()
    assert home.journal.counts().outbox == 1


def test_over_the_monthly_cap_is_refused_by_line(counter: Counter) -> None:
    """Rice is capped at 10 kg a month: of three 5 kg sacks (quantity set with F3) two are paid
    and the third is refused on its line, with the reason."""
    number = counter.issue(loads={"APBD": 500_000})

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await present_with_pin(pilot, counter, number, PIN)
        await scan(pilot, RICE_5KG)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, Prompt))
        await pilot.press("3", "enter")
        await settle(pilot)
        row = sale_screen(app).query_one(BasketTable).get_row_at(0)
        assert row[1] == "3"
        assert str(row[5]) == "2 bisa, 1 melebihi batas bulan ini"
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, Prompt))
        await pilot.press(*"1,5 kg", "enter")
        await settle(pilot)
        assert "kelipatan" in text_of(app, "#outcome")  # a 5 kg sack is not sold by the gram
        await pilot.press("f10")
        await settle(pilot)
        assert "BERHASIL" in text_of(app, "#outcome")

    run(counter, flow)
    assert records(counter) == [RecordType.SALE]
    sale = SaleBody.from_value(counter.home.journal.records()[0].body)
    assert [(line.gtin, line.quantity) for line in sale.lines] == [(RICE_5KG, 2)]


def test_supervisor_pin_cannot_be_guessed_at_the_counter(counter: Counter) -> None:
    """Five wrong supervisor PINs lock the supervisor out for five minutes: even the right PIN
    is refused until then, and nothing is cancelled."""
    number = counter.issue(loads={"APBD": 200_000})
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
    now = [1000.0]
    app_counter.monotonic = lambda: now[0]
    counter.present(number)
    app_counter.present()
    assert not isinstance(app_counter.verify(PIN), Outcome)
    sold = app_counter.charge([ScannedItem(SUGAR)], allow_cash=False)
    assert sold.status is Status.COMPLETED
    for wrong in ("0000", "1111", "2222", "3333", "4444"):
        assert app_counter.cancel_last(wrong, "spv", "x").reason == "supervisor_pin"
    locked = app_counter.cancel_last(SUPERVISOR_PIN, "spv", "x")
    assert locked.reason == "supervisor_locked" and "300 detik" in (locked.message or "")
    assert app_counter.day_close_as_supervisor(SUPERVISOR_PIN).reason == "supervisor_locked"
    now[0] += 301
    assert app_counter.cancel_last(SUPERVISOR_PIN, "spv", "x").status is Status.COMPLETED
    assert records(counter) == [RecordType.SALE, RecordType.VOID]


class Held:
    """A blocking call (a scrypt PIN check, a catalog read) made to wait for :attr:`go`: it
    says when it was entered and when it returned, and keeps the arguments of every call."""

    def __init__(self, real: Callable[..., object]) -> None:
        self.real = real
        self.entered = threading.Event()
        self.go = threading.Event()
        self.returned = threading.Event()
        self.calls: list[tuple[object, ...]] = []

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls.append(args)
        self.entered.set()
        self.go.wait(3)
        try:
            return self.real(*args, **kwargs)
        finally:
            self.returned.set()


def slow_checks(monkeypatch: pytest.MonkeyPatch, name: str) -> Held:
    """``terminal.app.signin.<name>`` (a PIN check or hash: home, cashier, PIN) held."""
    from terminal.app import signin

    held = Held(getattr(signin, name))
    monkeypatch.setattr(signin, name, held)
    return held


def count_sign_ins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    signed: list[str] = []
    real = CashierApp.on_signed_in

    def counting(self: CashierApp, event: SignedIn) -> None:
        signed.append(event.cashier)
        real(self, event)

    monkeypatch.setattr(CashierApp, "on_signed_in", counting)
    return signed


def test_a_slow_pin_check_never_stops_the_keys(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cashier's PIN is checked with scrypt, slow on purpose (slower on a busy till): the
    check runs in a worker, so the screen takes keys while it runs."""
    held = slow_checks(monkeypatch, "check_cashier")

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await type_into(pilot, "#cashier", CASHIER)
        await type_into(pilot, "#pin", CASHIER_PIN)
        try:
            await wait_for(pilot, held.entered.is_set)
            assert isinstance(app.screen, SignInScreen)
            await pilot.press("9")  # handled while the check still runs
            assert app.screen.query_one("#pin", Input).value == "9"
            assert not held.returned.is_set()
        finally:
            held.go.set()
        await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen))

    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    run(counter, flow, signed_in=False)


def test_enter_pressed_twice_signs_in_once(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tired cashier presses Enter twice: one PIN check, one sign-in, no wrong try counted."""
    held = slow_checks(monkeypatch, "check_cashier")
    signed = count_sign_ins(monkeypatch)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        await type_into(pilot, "#cashier", CASHIER)
        app.screen.query_one("#pin", Input).focus()
        await pilot.press(*CASHIER_PIN)
        for _ in range(2):  # both in one read of the terminal, as a quick double press comes
            app.post_message(events.Key("enter", "\r"))
        await wait_for(pilot, held.entered.is_set)
        await pilot.press("enter")  # and once more while the check runs
        held.go.set()
        await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen))
        await settle(pilot)

    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    run(counter, flow, signed_in=False)
    assert [pin for _home, _cashier, pin in held.calls] == [CASHIER_PIN]
    assert signed == [CASHIER]


def test_first_run_saves_the_pins_in_a_worker_and_once(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run hashes two PINs with scrypt: in a worker, keys handled meanwhile, and a
    second Enter saves nothing twice."""
    counter.home.save_config(dataclasses.replace(counter.home.config, supervisor_pin_hash=None))
    held = slow_checks(monkeypatch, "set_cashier")
    signed = count_sign_ins(monkeypatch)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        for field, value in [
            ("#supervisor", "8642"),
            ("#supervisor2", "8642"),
            ("#cashier", "budi"),
            ("#pin", "2468"),
        ]:
            await type_into(pilot, field, value)
        await type_into(pilot, "#pin2", "2468")
        try:
            await wait_for(pilot, held.entered.is_set)
            await pilot.press("enter")
            await pilot.press("9")
            assert app.screen.query_one("#pin2", Input).value == "24689"
            assert not held.returned.is_set()
        finally:
            held.go.set()
        await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen))
        await settle(pilot)

    run(counter, flow, signed_in=False)
    assert [pin for _home, _cashier, pin in held.calls] == ["2468"]
    assert signed == ["budi"]
    assert counter.home.config.check_supervisor_pin("8642")


def test_a_slow_catalog_read_never_stops_the_keys(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing the basket reads the catalog (signed, from the journal, SQLite): a read that
    blocks (a busy disk, a lock held by the syncer) runs in a worker, so keys are handled
    meanwhile, and the line is drawn when it lands."""
    held = Held(counter.till.catalog)

    async def flow(pilot: Pilot[None], app: CashierApp) -> None:
        screen = sale_screen(app)
        monkeypatch.setattr(counter.till, "catalog", held)
        try:
            await type_into(pilot, "#code", SUGAR)
            await wait_for(pilot, held.entered.is_set)
            await pilot.press("1")
            assert screen.query_one("#code", Input).value == "1"
            assert not held.returned.is_set()  # the key was handled while the read still hung
        finally:
            held.go.set()
        await wait_for(pilot, lambda: screen.query_one(BasketTable).row_count == 1)
        await settle(pilot)
        assert str(screen.query_one(BasketTable).get_row_at(0)[0]) != SUGAR  # named by the catalog

    run(counter, flow)
