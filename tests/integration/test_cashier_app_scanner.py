"""The cashier app with a serial barcode scanner through a real pty and pyserial: a scan from
the scanner simulator becomes a basket line, with no key pressed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from drivers.scanner.serial_scanner import SerialScanner
from simulators.scanner.device import ScannerSimulator
from terminal.app import CashierApp
from terminal.app import Counter as AppCounter
from terminal.app.widgets import BasketTable
from terminal.staff import set_cashier
from tests.fixtures.sale import OIL, SUGAR, Counter
from tests.unit.test_cashier_app import (
    CASHIER,
    CASHIER_PIN,
    sale_screen,
    settle,
    type_into,
    wait_for,
)


def test_scans_from_a_serial_scanner_fill_the_basket(counter: Counter, tmp_path: Path) -> None:
    link, control = tmp_path / "scanner.tty", tmp_path / "scanner.ctl"
    set_cashier(counter.home, CASHIER, CASHIER_PIN)
    with ScannerSimulator(link, control) as simulator:
        scanner = SerialScanner(f"serial://{link}?baud=9600", retry=0.05)
        app_counter = AppCounter(counter.till, None, readers=lambda _n: counter.reader)
        app = CashierApp(counter.home, counter.till, app_counter, counter.reader, scanner=scanner)

        async def main() -> None:
            async with app.run_test(size=(120, 36)) as pilot:
                await type_into(pilot, "#cashier", CASHIER)
                await type_into(pilot, "#pin", CASHIER_PIN)
                await settle(pilot)
                await wait_for(pilot, lambda: app.scanner_problem is None)
                await asyncio.sleep(0.2)  # the scanner's port is open
                simulator.scan(SUGAR)
                simulator.scan(OIL)
                simulator.scan(SUGAR)
                screen = sale_screen(app)
                await wait_for(pilot, lambda: sum(s.quantity for s in screen.scans) == 3)
                assert [(s.gtin, s.quantity) for s in screen.scans] == [(SUGAR, 2), (OIL, 1)]
                assert screen.query_one(BasketTable).row_count == 2

        asyncio.run(main())
