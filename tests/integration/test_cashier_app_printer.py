"""The cashier app with the printer simulator over real TCP: out of paper during a sale, the
cashier is told, and the reprint key prints the receipt once the paper is back; the
diagnostics screen prints a test page."""

from __future__ import annotations

import asyncio

from textual.widgets import Static

from simulators.printer.server import PrinterSimulator
from terminal.app import CashierApp
from terminal.app import Counter as AppCounter
from terminal.app.diagnostics import DiagnosticsScreen
from terminal.staff import set_cashier
from tests.fixtures.card import PIN
from tests.fixtures.sale import SUGAR, Counter
from tests.integration.test_sale_printing import complete_receipts_of, with_printer
from tests.unit.test_cashier_app import (
    CASHIER,
    CASHIER_PIN,
    present_with_pin,
    records,
    scan,
    settle,
    text_of,
    type_into,
    wait_for,
)


def test_out_of_paper_then_reprint(counter: Counter, printer_sim: PrinterSimulator) -> None:
    with_printer(counter, printer_sim)
    assert printer_sim.control("fault paper_end")["ok"]
    number = counter.issue(loads={"APBD": 200_000})
    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
    app = CashierApp(counter.home, counter.till, app_counter, counter.reader)
    told: list[str] = []

    async def main() -> None:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            app.notify = lambda message, **_: told.append(str(message))  # type: ignore[method-assign]
            await type_into(pilot, "#cashier", CASHIER)
            await type_into(pilot, "#pin", CASHIER_PIN)
            await settle(pilot)
            await present_with_pin(pilot, counter, number, PIN)
            await scan(pilot, SUGAR)
            await pilot.press("f10")
            await settle(pilot, rounds=6)
            assert "BERHASIL" in text_of(app, "#outcome")  # the sale stands
            await wait_for(pilot, lambda: bool(told))
            assert "kertas" in told[-1].lower()  # the cashier is told, in Indonesian
            assert printer_sim.control("clear")["ok"]
            printer_sim.wait_no_connections()
            await pilot.press("f6")
            await settle(pilot, rounds=6)

    asyncio.run(main())
    record = counter.home.journal.last_record()
    assert record is not None and records(counter) == [record.type]
    short = f"{record.terminal_id}/{record.seq:06d}"
    assert complete_receipts_of(printer_sim, short) >= 1
    assert counter.home.journal.pending_jobs() == []


def test_diagnostics_show_documents_and_print_a_test_page(
    counter: Counter, printer_sim: PrinterSimulator
) -> None:
    with_printer(counter, printer_sim)
    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
    app = CashierApp(
        counter.home, counter.till, app_counter, counter.reader, gateway_reachable=lambda: False
    )

    async def main() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            await type_into(pilot, "#cashier", CASHIER)
            await type_into(pilot, "#pin", CASHIER_PIN)
            await settle(pilot)
            await pilot.press("f11")
            await wait_for(pilot, lambda: isinstance(app.screen, DiagnosticsScreen))
            lines = app.screen.query_one("#lines", Static)
            await wait_for(pilot, lambda: "catalog version" in str(lines.render()))
            shown = str(lines.render())
            assert "catalog version  1" in shown
            assert "unreachable" in shown and "outbox" in shown
            await pilot.press("t")
            test = app.screen.query_one("#test", Static)
            await wait_for(pilot, lambda: "test: ok" in str(test.render()))

    asyncio.run(main())
    printer_sim.control("jobs")
    assert any("TEST PRINTER" in job.text for job in printer_sim.jobs())
