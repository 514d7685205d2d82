"""The cashier app: sign-in (or first run), then the sale screen; sync and printing run in the
background.

The app owns no money logic: the :class:`~terminal.app.counter.Counter` (the sale engine behind
its ports) does every card operation. Devices come in as a reader factory and a print queue, so
the same app runs against real pcscd, the simulator in-process (tests) or no printer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import Input

from drivers.card.transport import CardReader
from drivers.scanner.scanner import Scanner, ScannerError
from drivers.scanner.wedge import Scanned, WedgeDetector
from terminal.app.counter import Counter
from terminal.app.events import CodeScanned, ScannerState
from terminal.app.sale_screen import SaleScreen
from terminal.app.signin import FirstRunScreen, SignedIn, SignInScreen
from terminal.app.words import words
from terminal.home import TerminalHome
from terminal.receipts.queue import PrintQueue
from terminal.receipts.strings import strings_for
from terminal.sale import Outcome, Till
from terminal.staff import needs_first_run


class CashierApp(App[None]):
    TITLE = "Kasir Kartu SSN"
    ENABLE_COMMAND_PALETTE = False  # a cashier's keys are the F-keys in the footer
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Keluar", priority=True)]

    def __init__(
        self,
        home: TerminalHome,
        till: Till,
        counter: Counter,
        watch_reader: CardReader,
        *,
        sync: Callable[[], object] | None = None,
        scanner: Scanner | None = None,
        wedge: WedgeDetector | None = None,
        keyclock: Callable[[], float] = time.monotonic,
        gateway_reachable: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.home, self.till, self.counter = home, till, counter
        self.watch_reader = watch_reader
        self.language = home.config.receipt_language
        self.w = words(self.language)
        self.sync = sync
        self.scanner, self.wedge, self.keyclock = scanner, wedge, keyclock
        self.gateway_reachable = gateway_reachable
        self.scanner_problem: str | None = None
        self.title = self.w["title"]
        self.sub_title = f"{home.config.shop_name} · {home.config.terminal_id}"
        self._syncing = threading.Lock()

    def on_mount(self) -> None:
        if needs_first_run(self.home):
            self.push_screen(FirstRunScreen(self.home, self.w))
        else:
            self.push_screen(SignInScreen(self.home, self.w, self.language))

    def on_signed_in(self, event: SignedIn) -> None:
        self.switch_screen(SaleScreen(event.cashier, self.w))
        if self.scanner is not None:
            self.scanner.start(self._from_scanner, self._scanner_state)

    def on_unmount(self) -> None:
        if self.scanner is not None:
            self.scanner.stop()

    def _from_scanner(self, code: str) -> None:
        """On the scanner's thread: hand the code to the UI thread."""
        self.call_from_thread(self._deliver, code)

    def _scanner_state(self, error: ScannerError | None) -> None:
        self.scanner_problem = None if error is None else str(error)
        self.call_from_thread(self._deliver_state)

    def _deliver(self, code: str) -> None:
        screen = self.sale_screen()
        if screen is not None:
            screen.post_message(CodeScanned(code))

    def _deliver_state(self) -> None:
        screen = self.sale_screen()
        if screen is not None:
            screen.post_message(ScannerState())

    def sale_screen(self) -> SaleScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, SaleScreen)), None)

    async def on_event(self, event: events.Event) -> None:
        """A keyboard-wedge scanner types its code like a person, only faster: a fast burst
        ended by Enter is a scan wherever the focus is (a search box, a PIN prompt), so it goes
        to the basket and never into that field (a scan in a PIN field would spend a try)."""
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded  # a key bubbling back up was seen on its way down
            and self.wedge is not None
            and self._wedge_scan(event)
        ):
            event.prevent_default()
            event.stop()
            return
        await super().on_event(event)

    def _wedge_scan(self, event: events.Key) -> bool:
        assert self.wedge is not None
        char = "\r" if event.key == "enter" else event.character
        if char is None or len(char) != 1:
            return False
        decided = self.wedge.feed(char, self.keyclock())
        scans = [d.code for d in decided if isinstance(d, Scanned)]
        screen = self.sale_screen()
        if not scans or screen is None:
            return False
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "code":
            return False  # the code field takes it as it is: same result
        if isinstance(focused, Input):
            focused.value = focused.value.removesuffix(scans[-1])
        for code in scans:
            screen.post_message(CodeScanned(code))
        return True

    def print_text(self, outcome: Outcome) -> str:
        """Print an operation's receipts; what to tell the cashier about the paper."""
        done = self.counter.print_receipts(outcome)
        if done.print_message:
            return done.print_message
        if done.printed:
            return strings_for(self.till.receipt_config.language).queue_printed
        return ""

    def printer_state(self) -> str:
        queue = self.till.print_queue
        if not isinstance(queue, PrintQueue):
            return self.w["none"]
        held = len(queue.held_jobs())
        return f"{held} {self.w['queued']}" if held else "ok"

    def sync_now(self) -> None:
        if self.sync is None:
            return

        def run() -> None:
            if self._syncing.acquire(blocking=False):
                try:
                    with contextlib.suppress(Exception):  # reported by the status bar
                        self.sync()  # type: ignore[misc]
                finally:
                    self._syncing.release()

        threading.Thread(target=run, name="ssn-sync-now", daemon=True).start()
