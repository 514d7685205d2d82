"""The cashier app: sign-in (or first run), then the sale screen; sync and printing run in the
background.

The app owns no money logic: the :class:`~terminal.app.counter.Counter` (the sale engine behind
its ports) does every card operation. Devices come in as a reader factory and a print queue, so
the same app runs against real pcscd, the simulator in-process (tests) or no printer.

The sale side (:class:`SaleSide`: till, counter, readers, sync) is handed in ready, or as a
``load`` function that a worker runs while the sign-in screen already shows: ``ssn-terminal
run`` starts that way, so the cashier types the PIN while SQLAlchemy, the sale engine and the
devices come up. Nothing of the sale engine is imported here at module level for that reason.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import Input, Label

from drivers.scanner.scanner import Scanner, ScannerError
from drivers.scanner.wedge import Scanned, WedgeDetector
from terminal.app.events import CodeScanned, ScannerState
from terminal.app.signin import FirstRunScreen, SignedIn, SignInScreen
from terminal.app.words import words
from terminal.home import TerminalHome
from terminal.staff import needs_first_run

if TYPE_CHECKING:
    from drivers.card.transport import CardReader
    from terminal.app.counter import Counter
    from terminal.app.sale_screen import SaleScreen
    from terminal.sale import Outcome, Till
    from terminal.sync import SyncReport


@dataclasses.dataclass(frozen=True)
class SaleSide:
    """What the sale screen works with, as opposed to what sign-in needs (home, words)."""

    till: Till
    counter: Counter
    watch_reader: CardReader
    sync: Callable[[], SyncReport] | None = None
    scanner: Scanner | None = None
    gateway_reachable: Callable[[], bool] | None = None


class SaleSideLoaded(Message):
    def __init__(self, side: SaleSide) -> None:
        super().__init__()
        self.side = side


class SaleSideFailed(Message):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class CashierApp(App[None]):
    TITLE = "Kasir Kartu SSN"
    ENABLE_COMMAND_PALETTE = False  # a cashier's keys are the F-keys in the footer
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Keluar", priority=True)]

    def __init__(
        self,
        home: TerminalHome,
        till: Till | None = None,
        counter: Counter | None = None,
        watch_reader: CardReader | None = None,
        *,
        sync: Callable[[], SyncReport] | None = None,
        scanner: Scanner | None = None,
        wedge: WedgeDetector | None = None,
        keyclock: Callable[[], float] = time.monotonic,
        gateway_reachable: Callable[[], bool] | None = None,
        load: Callable[[], SaleSide] | None = None,
    ) -> None:
        super().__init__()
        self.home = home
        self.side: SaleSide | None = None
        """The sale side once there: given here, or from ``load`` in a worker after mount."""
        if load is None:
            if till is None or counter is None or watch_reader is None:
                raise TypeError("CashierApp needs till, counter and watch_reader, or load")
            self.side = SaleSide(till, counter, watch_reader, sync, scanner, gateway_reachable)
        self.load = load
        self.load_error: Exception | None = None
        """Why the sale side could not be loaded: the app has quit; the caller raises it."""
        self.waiting_cashier: str | None = None
        """Signed in before the sale side was loaded: the sale screen opens when it is."""
        self.language = home.config.receipt_language
        self.w = words(self.language)
        self.wedge, self.keyclock = wedge, keyclock
        self.scanner_problem: str | None = None
        self.title = self.w["title"]
        self.sub_title = f"{home.config.shop_name} · {home.config.terminal_id}"
        self._syncing = threading.Lock()

    async def action_quit(self) -> None:
        """Ctrl+Q waits for the card: quitting in the middle of a debit leaves the holder at the
        counter not knowing whether they paid, until the card comes back to a restarted app."""
        if any(getattr(screen, "busy", False) for screen in self.screen_stack):
            self.bell()
            self.notify(self.w["busy_quit"], severity="warning", timeout=5)
            return
        self.exit()

    # The sale screen's view of the sale side: asked for only once it is loaded.

    def _loaded_side(self) -> SaleSide:
        if self.side is None:
            raise RuntimeError("the sale side is not loaded yet")
        return self.side

    @property
    def till(self) -> Till:
        return self._loaded_side().till

    @property
    def counter(self) -> Counter:
        return self._loaded_side().counter

    @property
    def watch_reader(self) -> CardReader:
        return self._loaded_side().watch_reader

    @property
    def sync(self) -> Callable[[], SyncReport] | None:
        return self.side.sync if self.side else None

    @property
    def scanner(self) -> Scanner | None:
        return self.side.scanner if self.side else None

    @property
    def gateway_reachable(self) -> Callable[[], bool] | None:
        return self.side.gateway_reachable if self.side else None

    def on_mount(self) -> None:
        if needs_first_run(self.home):
            self.push_screen(FirstRunScreen(self.home, self.w))
        else:
            self.push_screen(SignInScreen(self.home, self.w, self.language))
        if self.side is None:
            # After the first paint: the loading thread's imports would hold the GIL from it.
            self.call_after_refresh(self.run_worker, self._load_side, thread=True, group="load")

    def _load_side(self) -> None:
        """On a worker thread, while the cashier signs in: imports, journal and devices."""
        assert self.load is not None
        try:
            side = self.load()
        except Exception as exc:  # the caller (ssn-terminal run) says what went wrong
            self.post_message(SaleSideFailed(exc))
        else:
            self.post_message(SaleSideLoaded(side))

    def on_sale_side_loaded(self, event: SaleSideLoaded) -> None:
        self.side = event.side
        if self.waiting_cashier is not None:
            self._open_sale(self.waiting_cashier)

    def on_sale_side_failed(self, event: SaleSideFailed) -> None:
        self.load_error = event.error
        self.exit(return_code=1)

    def on_signed_in(self, event: SignedIn) -> None:
        if self.side is None:  # the PIN was quicker than the start-up: the screen says so
            self.waiting_cashier = event.cashier
            for label in self.screen.query("#error").results(Label):
                label.update(self.w["loading"])
            return
        self._open_sale(event.cashier)

    def _open_sale(self, cashier: str) -> None:
        from terminal.app.sale_screen import SaleScreen

        self.waiting_cashier = None
        self.switch_screen(SaleScreen(cashier, self.w))
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
        from terminal.app.sale_screen import SaleScreen

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
        from terminal.receipts.strings import strings_for

        done = self.counter.print_receipts(outcome)
        if done.print_message:
            return done.print_message
        if done.printed:
            return strings_for(self.till.receipt_config.language).queue_printed
        return ""

    def printer_state(self) -> str:
        from terminal.receipts.queue import PrintQueue

        queue = self.till.print_queue
        if not isinstance(queue, PrintQueue):
            return self.w["none"]
        held = len(queue.held_jobs())
        return f"{held} {self.w['queued']}" if held else "ok"

    def sync_now(self) -> None:
        """F9: one sync cycle now, in a worker; the cashier is told how it went."""
        if self.sync is None:
            self.notify(self.w["no_gateway"], severity="warning")
            return
        self.run_worker(self._sync_once, thread=True, group="sync", exclusive=True)

    def _sync_once(self) -> None:
        assert self.sync is not None
        with self._syncing:
            try:
                report = self.sync()
            except Exception as exc:  # the syncer reports its own errors; this is a bug
                said, severity = f"{self.w['sync_failed']}: {type(exc).__name__}", "error"
            else:
                if report.ok:
                    said, severity = self.w["sync_done"].format(sent=report.uploaded), "information"
                else:
                    said, severity = f"{self.w['sync_failed']}: {report.error}", "warning"
                said += f" ({self.w['queued']} {report.outbox})"
        self.call_from_thread(self._synced, said, severity)

    def _synced(self, said: str, severity: SeverityLevel) -> None:
        self.notify(said, severity=severity, timeout=8)
        screen = self.sale_screen()
        if screen is not None:
            screen.refresh_status()
