"""The cashier app: sign-in (or first run), then the sale screen; sync and printing run in the
background.

The app owns no money logic: the :class:`~terminal.app.counter.Counter` (the sale engine behind
its ports) does every card operation. Devices come in as a reader factory and a print queue, so
the same app runs against real pcscd, the simulator in-process (tests) or no printer.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from drivers.card.transport import CardReader
from terminal.app.counter import Counter
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
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Keluar", priority=True)]

    def __init__(
        self,
        home: TerminalHome,
        till: Till,
        counter: Counter,
        watch_reader: CardReader,
        *,
        sync: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self.home, self.till, self.counter = home, till, counter
        self.watch_reader = watch_reader
        self.language = home.config.receipt_language
        self.w = words(self.language)
        self.sync = sync
        self.title = self.w["title"]
        self.sub_title = f"{home.config.shop_name} · {home.config.terminal_id}"
        self._syncing = threading.Lock()

    def on_mount(self) -> None:
        if needs_first_run(self.home):
            self.push_screen(FirstRunScreen(self.home, self.w))
        else:
            self.push_screen(SignInScreen(self.home, self.w, self.language))

    def on_signed_in(self, event: SignedIn) -> None:
        self.switch_screen(SaleScreen(event.cashier))

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
