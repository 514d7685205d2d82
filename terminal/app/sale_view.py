"""What the sale screen shows, and the reads behind it: basket, card panel, outcome line and
status bar, drawn from the screen's state on the UI thread.

:class:`SaleView` holds the state a sale screen draws (scans, card, basket) and draws it; what
the keys and the card do to that state is :class:`~terminal.app.sale_screen.SaleScreen`. The
status bar's figures come from the journal and the print queue, the basket's and the card
panel's from the catalog (also the journal): both are read in thread workers, one read of each
at a time (:class:`OneRead`), and drawn when the read lands
(:class:`~terminal.app.events.StatusRead`, :class:`~terminal.app.events.BasketRead`). Nothing
here reads a device or the journal on the UI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from drivers.card.protocol import CardInfo
from ledger.catalog import Catalog
from terminal.app.events import BasketRead, ScannerState, StatusRead
from terminal.app.widgets import BasketTable, CardPanel, StatusBar, totals_text
from terminal.app.words import rupiah
from terminal.basket import Basket, ScannedItem
from terminal.messages import message
from terminal.sale import Outcome, Status

if TYPE_CHECKING:
    from terminal.app.app import CashierApp

log = logging.getLogger(__name__)

STATUS_EVERY = 2.0
"""Seconds between two reads of the status bar's figures."""
STATUS_STALE = 10.0
"""A status read still running after this many seconds: the bar says the journal is not
answering (the read is left to finish; no second one is started behind it)."""


class OneRead:
    """A read run in a worker, one at a time: asked for while one runs, it runs once more when
    that one lands, so a hung journal piles up no threads and the last ask is always served."""

    def __init__(self, start: Callable[[], object]) -> None:
        self._start = start
        self.since: float | None = None
        """When the read still running started (monotonic); None when none runs."""
        self._again = False

    def ask(self) -> None:
        if self.since is not None:
            self._again = True
            return
        self.since = time.monotonic()
        self._start()

    def landed(self) -> None:
        """The read's message arrived (on the UI thread): start the one asked for meanwhile."""
        self.since = None
        if self._again:
            self._again = False
            self.ask()


class SaleView(Screen[None]):
    """The sale screen's state and its drawing; no key and no card operation here."""

    DEFAULT_CSS = """
    #main { height: 1fr; }
    #left { width: 2fr; }
    #right { width: 1fr; border-left: solid $accent; padding: 0 1; }
    #basket { height: 1fr; }
    #totals { height: 1; text-style: bold; }
    #outcome { height: auto; min-height: 3; padding: 0 1; }
    #outcome.ok { background: $success 30%; }
    #outcome.bad { background: $error 30%; }
    #outcome.warn { background: $warning 30%; }
    #status { height: 1; background: $panel; }
    #banner { color: $warning; height: auto; }
    """

    def __init__(self, cashier: str) -> None:
        super().__init__()
        self.cashier = cashier
        self.scans: list[ScannedItem] = []
        self.card = ""
        self.card_number = ""
        """The full number of the card in the reader (never drawn); empty when none."""
        self.basket_card = ""
        """The card the basket was scanned for: the one in the reader at its first scan, or
        the first to come when it was scanned before any card (empty until then)."""
        self.info: CardInfo | None = None
        self.basket: Basket | None = None
        self.catalog: Catalog | None = None
        """The catalog as the last basket read found it: a typed code or a search is checked
        against it on the UI thread (every change of the basket reads it again)."""
        self.last_status: StatusRead | None = None
        """The last status read: what the bar shows until the next one lands."""
        self._status_reads = OneRead(self.read_status)
        self._status_slow = False
        self._basket_reads = OneRead(lambda: self.read_basket(tuple(self.scans), self.info))

    @property
    def cashier_app(self) -> CashierApp:
        from terminal.app.app import CashierApp

        assert isinstance(self.app, CashierApp)
        return self.app

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder=self.cashier_app.w["code"], id="code")
                yield BasketTable(id="basket")
                yield Static("", id="totals")
            with Vertical(id="right"):
                yield CardPanel(self.cashier_app.w["no_card_yet"], id="card")
                yield Static("", id="banner")
                yield Static("", id="outcome")
        yield StatusBar("", id="status")
        yield Footer()

    def on_scanner_state(self, _: ScannerState) -> None:
        self._show_status()

    def _show_outcome(self, outcome: Outcome) -> None:
        w = self.cashier_app.w
        if outcome.status is Status.COMPLETED:
            head, style = w["approved"], "ok"
            lines = [head]
            if outcome.card_total:
                lines.append(f"{w['total_card']}: {rupiah(outcome.card_total)}")
            if outcome.cash:
                lines.append(f"{w['total_cash']}: {rupiah(outcome.cash)}")
            lines += [f"{b.code}: {rupiah(b.balance)}" for b in outcome.balances]
        elif outcome.status is Status.UNRESOLVED:
            lines, style = [w["unresolved"], outcome.message or ""], "warn"
        else:
            lines, style = [w["declined"], outcome.message or ""], "bad"
        self._say("\n".join(lines), style)

    def _say(self, text: str, style: str = "") -> None:
        box = self.query_one("#outcome", Static)
        box.update(text)
        box.set_classes(style)

    def _redraw(self) -> None:
        """Draw the basket and the card panel again: what they show is read in a worker
        (:meth:`read_basket`) and drawn when it lands."""
        self._show_status()  # the card in or out: the figures stay those of the last read
        self._basket_reads.ask()

    @work(thread=True, group="basket")
    def read_basket(self, scans: tuple[ScannedItem, ...], info: CardInfo | None) -> None:
        counter = self.cashier_app.counter
        try:
            catalog = counter.till.catalog()
            preview = counter.preview(scans, allow_cash=True) if info else None
            caps = counter.caps_left() if info and info.holder_known else {}
        except Exception as exc:  # the journal failed: said on screen, no crash
            log.warning("reading the catalog failed", exc_info=True)
            self.post_message(BasketRead(scans, error=f"{type(exc).__name__}: {exc}"))
            return
        card = counter.card
        presented = card.presented if card else None
        next_aid = presented.next_aid if presented else ()
        basket = preview if isinstance(preview, Basket) else None
        self.post_message(BasketRead(scans, catalog, basket, caps, next_aid))

    def on_basket_read(self, event: BasketRead) -> None:
        """Draws the screen's state as it is now; the basket only if it is of these scans (if
        not, a read of the new ones is on its way)."""
        self._basket_reads.landed()
        app = self.cashier_app
        if event.error is not None:
            self.notify(f"{app.w['journal']}: {event.error}", severity="error", timeout=8)
            return
        self.catalog = event.catalog
        self.basket = event.basket if event.scans == tuple(self.scans) else None
        self.query_one(BasketTable).show(app.w, app.language, self.scans, self.catalog, self.basket)
        self.query_one("#totals", Static).update(totals_text(app.w, self.basket))
        self.query_one(CardPanel).show_card(
            app.w, self.card, self.info, event.caps, self.catalog, event.next_aid
        )

    def refresh_status(self) -> None:
        """Read the status bar's figures again, in a worker: they come from the journal
        (SQLite) and the print queue, which may be slow or fail. A read that runs longer than
        :data:`STATUS_STALE` makes the bar say the journal is not answering."""
        running = self._status_reads.since
        self._status_reads.ask()
        stale = running is not None and time.monotonic() - running > STATUS_STALE
        if stale and not self._status_slow:
            self._status_slow = True
            self._show_status()

    @work(thread=True, group="status")
    def read_status(self) -> None:
        app = self.cashier_app
        try:
            read = StatusRead(app.counter.status(), app.printer_state())
        except Exception as exc:  # the journal or a device failed: a line in the bar, no crash
            log.warning("reading the status failed", exc_info=True)
            read = StatusRead(None, "", f"{type(exc).__name__}: {exc}")
        self.post_message(read)

    def on_status_read(self, event: StatusRead) -> None:
        self._status_slow = False
        self.last_status = event
        self._show_status()
        self._status_reads.landed()

    def _show_status(self) -> None:
        """The bar from the last status read and what the screen knows itself (card, scanner):
        no I/O here, on the UI thread."""
        app = self.cashier_app
        read = self.last_status
        reader = app.w["card_in"] if self.card else app.w["card_out"]
        scanner = None
        if app.scanner is not None:
            scanner = app.scanner_problem or "ok"
        status, printer = (read.status, read.printer) if read is not None else (None, "")
        problem = read.error if read is not None else None
        if self._status_slow:
            problem = app.w["journal_slow"]
        self.query_one(StatusBar).show(app.w, reader, printer, status, scanner, problem)
        if status is None:
            return  # keep the banner: a failed read says nothing of other cards
        unfinished = status.get("unfinished") or []
        self.query_one("#banner", Static).update(
            "\n".join(
                message("card_unfinished_elsewhere", app.language, card=c) for c in unfinished
            )
        )
