"""The sale screen's keys and card events: what F-keys, scans and the card in the reader do.

Card, printer and journal work runs in thread workers (:class:`~terminal.app.counter.Counter`
methods); their results come back as messages and only then change the screen, so the UI never
freezes and a device error is a line on screen, never a crash. What is drawn, and the reads
behind it, is :class:`~terminal.app.sale_view.SaleView`.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import ClassVar

from textual import on, work
from textual.binding import Binding, BindingsMap
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from drivers.card.protocol import CardInfo
from terminal.app.counter import Presentation
from terminal.app.events import (
    CardArrived,
    CardLeft,
    CodeScanned,
    Finished,
    Presented,
    Printed,
    Verified,
)
from terminal.app.prompts import Prompt, SearchPrompt
from terminal.app.quantity import QuantityError, units_for
from terminal.app.sale_view import STATUS_EVERY, SaleView
from terminal.app.widgets import BasketTable
from terminal.basket import ScannedItem, merge_scans
from terminal.messages import message
from terminal.sale import Outcome, Status


def after_sale(info: CardInfo | None, outcome: Outcome) -> CardInfo | None:
    """The card panel after a sale: the balances the card signed; holder_known is dropped, so a
    next sale asks for the PIN again (caps and balances come fresh from the card)."""
    if info is None:
        return None
    after = {b.code: b.balance for b in outcome.balances}
    purses = tuple(
        dataclasses.replace(p, balance=after.get(p.code, p.balance)) for p in info.purses
    )
    return dataclasses.replace(info, purses=purses, quantities=(), holder_known=False)


class SaleScreen(SaleView):
    """Sign-in is done: the counter's keys (in the footer) and the card in the reader."""

    KEYS: ClassVar[list[tuple[str, str, str]]] = [
        # In the footer in this order, most used first: all fit 100 columns.
        ("f10", "pay", "key_pay"),
        ("f4", "ask_pin", "key_pin"),
        ("f3", "quantity", "key_qty"),
        ("f2", "new_sale", "key_new"),
        ("f5", "balance", "key_balance"),
        ("f6", "reprint", "key_reprint"),
        ("f7", "cancel_sale", "key_cancel"),
        ("f8", "day_close", "key_day_close"),
        ("f9", "sync", "key_sync"),
        ("f11", "diagnostics", "key_diagnostics"),
    ]

    def __init__(self, cashier: str, w: dict[str, str]) -> None:
        super().__init__(cashier)
        # The footer speaks the terminal's language: the keys are bound per screen, not per class.
        keys = [Binding(key, action, w[word]) for key, action, word in self.KEYS]
        keys.append(Binding("delete", "remove_line", w["key_remove"], show=False))
        self._bindings = BindingsMap(keys)
        self.busy = False
        self.stop_watching = threading.Event()
        self.arrivals = 0
        """Tickets the card watcher gave out (its thread alone counts them)."""
        self.arrival = 0
        """The ticket of the card the screen is on: the last to arrive."""
        self.gone = 0
        """The ticket of the last card that left: its presentation, landing late, is stale."""

    def on_mount(self) -> None:
        app = self.cashier_app
        app.counter.cashier = self.cashier
        self._redraw()
        self.refresh_status()
        self.set_interval(STATUS_EVERY, self.refresh_status)
        self.watch_card()

    def on_unmount(self) -> None:
        self.stop_watching.set()

    # -- the card ------------------------------------------------------------------------

    @work(thread=True, group="watch", exclusive=True)
    def watch_card(self) -> None:
        """Waits for insert and remove events (SCardGetStatusChange; no polling of the card)."""
        reader = self.cashier_app.watch_reader
        worker = get_current_worker()
        present = False
        while not (self.stop_watching.is_set() or worker.is_cancelled):
            if not present:
                present = reader.wait_for_card(0.5)
                if present:
                    self.arrivals += 1
                    self.post_message(CardArrived(self.arrivals))
            elif reader.wait_for_removal(0.5):
                present = False
                self.post_message(CardLeft(self.arrivals))
                # The card's session ends here, off the UI thread: closing its PC/SC
                # connection waits for a card operation still running and may hang with
                # pcscd, and the keys work on meanwhile. On this thread, not a worker of its
                # own, so the next card is watched for (and presented) only after it: a
                # release that ran late would end the next card's session instead.
                self.cashier_app.counter.release()

    def on_card_arrived(self, event: CardArrived) -> None:
        self.arrival = event.arrival
        self._say(self.cashier_app.w["card_working"], "warn")
        self.present_card(event.arrival)

    def on_card_left(self, event: CardLeft) -> None:
        """The screen forgets the card at once; its session is ended by :meth:`watch_card`.
        Its PIN prompt goes with it: digits typed there are never tried on a next card."""
        self.gone = max(self.gone, event.arrival)
        prompt = self.app.screen
        if isinstance(prompt, Prompt) and prompt.id == "pin":
            prompt.dismiss(None)
        self.card, self.card_number, self.info, self.basket = "", "", None, None
        self.query_one("#banner", Static).update("")
        self._redraw()

    @work(thread=True, group="card")
    def present_card(self, arrival: int) -> None:
        self.post_message(Presented(self.cashier_app.counter.present(), arrival))

    def on_presented(self, event: Presented) -> None:
        p = event.presentation
        if event.arrival != self.arrival or event.arrival <= self.gone:
            self._presented_late(p)
            return
        self.card, self.card_number = p.card, p.number
        self.info = p.info
        language = self.cashier_app.language
        other = self._basket_of_another_card(p.number)
        # What the card says about earlier operations comes first, before anything new.
        if p.earlier_sale_completed:
            self.scans.clear()
            self._say(message("earlier_completed", language), "warn")
            self.print_earlier(p)
        elif p.earlier_aborted:
            self._say(message("earlier_aborted", language), "warn")
        elif p.refusal is not None:
            self._show_outcome(p.refusal)
        elif other:
            self._say(self.cashier_app.w["basket_other_card"], "warn")
        else:
            self._say("")
        self._redraw()
        if p.refusal is None and p.info is not None and not p.earlier_sale_completed:
            self.action_ask_pin()

    def _presented_late(self, p: Presentation) -> None:
        """The presentation of a card that has left (or of one before the card now in the
        reader): the card is not shown and no PIN is asked for it. What its arrival settled
        still counts: an earlier sale that went through is said, its receipt prints, and its
        basket is cleared, so it is never rung up again when the card comes back."""
        if not p.earlier_sale_completed:
            return
        said = message("earlier_completed", self.cashier_app.language)
        if p.card:
            said = f"{p.card}: {said}"
        if p.number and self.basket_card == p.number:
            self.scans.clear()
        if self.card:  # another card is on screen: its line stays, this one is a notice
            self.notify(said, severity="warning", timeout=15)
        else:
            self._say(said, "warn")
        self._redraw()
        self.print_earlier(p)

    def _basket_of_another_card(self, number: str) -> bool:
        """A basket scanned for one card is not another holder's: it is cleared (True) when a
        different card comes. Scanned before any card, it is the first card's to come."""
        if not self.scans or not number:
            return False
        if self.basket_card and self.basket_card != number:
            self.scans.clear()
            self.basket_card = number
            return True
        self.basket_card = number
        return False

    @work(thread=True, group="print")
    def print_earlier(self, presentation: Presentation) -> None:
        """The receipts of an earlier sale the card just confirmed."""
        outcome = Outcome(Status.COMPLETED, resolutions=presentation.earlier)
        done = self.cashier_app.counter.print_receipts(outcome)
        self.post_message(Printed(done.print_message or ""))

    def action_ask_pin(self) -> None:
        if not self.card or self.busy or any(s.id == "pin" for s in self.app.screen_stack):
            return  # one PIN prompt at a time (a card's arrival and F4 both ask)
        w = self.cashier_app.w
        if self.cashier_app.counter.has_pad:
            # The holder types on the reader's keypad; the PIN never reaches this computer.
            self._say(w["pinpad"], "warn")
            self.verify("")
            return
        self.app.push_screen(Prompt(w["holder_pin"], secret=True, id="pin"), self._pin)

    def _pin(self, pin: str | None) -> None:
        if pin:
            self._say(self.cashier_app.w["card_working"], "warn")
            self.verify(pin)

    @work(thread=True, group="card")
    def verify(self, pin: str) -> None:
        verified = self.cashier_app.counter.verify(pin)
        if isinstance(verified, Outcome):
            self.post_message(Finished(verified, "pin"))
        else:
            self.post_message(Verified(verified))

    def on_verified(self, event: Verified) -> None:
        self.info = event.info
        self._say("")
        self._redraw()

    # -- the basket ------------------------------------------------------------------------

    def on_code_scanned(self, event: CodeScanned) -> None:
        if event.code.isdigit():
            self.add_code(event.code)

    @on(Input.Submitted, "#code")
    def code_entered(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if text:
            self.add_code(text)

    def _basket_held(self) -> bool:
        """While a card operation runs the basket on screen is what the card is asked for: a
        scan, F3 or Delete then changes nothing and is refused out loud (a scan taken and then
        wiped with the paid basket would be lost without a word)."""
        if self.busy:
            self.app.bell()
            self.notify(self.cashier_app.w["busy_basket"], severity="warning", timeout=5)
        return self.busy

    def add_code(self, text: str, quantity: int = 1) -> None:
        """A scanned or typed code adds a line; words search the catalog by name."""
        if self._basket_held():
            return
        catalog = self.catalog
        if text.isdigit():
            if not self.scans:  # a new basket: the card in the reader's, if any
                self.basket_card = self.card_number
            if catalog is not None and catalog.item(text) is None:
                self._say(
                    message("not_in_catalog_scan", self.cashier_app.language, gtin=text), "bad"
                )
            self.scans = merge_scans([*self.scans, ScannedItem(text, quantity)])
            self._redraw()
            return
        items = sorted((i.gtin, i.name) for i in catalog.items.values()) if catalog else []
        self.app.push_screen(SearchPrompt(self.cashier_app.w["search"], items, text), self._picked)

    def _picked(self, gtin: str | None) -> None:
        if gtin:
            self.add_code(gtin)

    def action_quantity(self) -> None:
        if self._basket_held():
            return
        row = self._selected()
        if row is not None:
            self.app.push_screen(Prompt(self.cashier_app.w["quantity_prompt"]), self._quantity)

    def _quantity(self, value: str | None) -> None:
        row = self._selected()
        if row is None or not value:
            return
        gtin = self.scans[row].gtin
        catalog = self.catalog
        item = catalog.item(gtin) if catalog else None
        category = catalog.categories.get(item.category) if catalog and item else None
        try:
            units = units_for(value, item, category.base_unit if category else None)
        except QuantityError as exc:
            self._say(str(exc), "bad")
            return
        self.scans[row] = ScannedItem(gtin, units)
        self._redraw()

    def action_remove_line(self) -> None:
        if self._basket_held():
            return
        row = self._selected()
        if row is not None:
            del self.scans[row]
            self._redraw()

    def _selected(self) -> int | None:
        table = self.query_one(BasketTable)
        if not self.scans or table.cursor_row is None:
            return None
        return min(table.cursor_row, len(self.scans) - 1)

    def action_new_sale(self) -> None:
        if not self.busy:
            self.scans.clear()
            self._say("")
            self._redraw()

    # -- money -----------------------------------------------------------------------------

    def action_pay(self) -> None:
        if self.busy or not self.scans:
            return
        if self.info is None or not self.info.holder_known:
            self.action_ask_pin()
            return
        self.busy = True
        self._say(self.cashier_app.w["card_working"], "warn")
        self.pay(list(self.scans))

    @work(thread=True, group="card")
    def pay(self, scans: list[ScannedItem]) -> None:
        self.post_message(Finished(self.cashier_app.counter.charge(scans, allow_cash=True), "sale"))

    def action_cancel_sale(self) -> None:
        if not self.busy:
            w = self.cashier_app.w
            self.app.push_screen(
                Prompt(w["supervisor"], secret=True, id="supervisor"), self._cancel
            )

    def _cancel(self, pin: str | None) -> None:
        if pin:
            self.busy = True
            self.cancel(pin)

    @work(thread=True, group="card")
    def cancel(self, pin: str) -> None:
        counter = self.cashier_app.counter
        self.post_message(Finished(counter.cancel_last(pin, "supervisor", "dibatalkan"), "void"))

    def action_balance(self) -> None:
        if not self.busy and self.card:
            self.busy = True
            self.balance()

    @work(thread=True, group="card")
    def balance(self) -> None:
        self.post_message(Finished(self.cashier_app.counter.balance(print_slip=True), "balance"))

    def action_day_close(self) -> None:
        if not self.busy:
            w = self.cashier_app.w
            self.app.push_screen(Prompt(w["supervisor"], secret=True, id="supervisor"), self._close)

    def _close(self, pin: str | None) -> None:
        if pin is None:
            return
        self.busy = True
        self.day_close(pin)

    @work(thread=True, group="card")
    def day_close(self, pin: str) -> None:
        outcome = self.cashier_app.counter.day_close_as_supervisor(pin)
        self.post_message(Finished(outcome, "day_close"))

    def on_finished(self, event: Finished) -> None:
        self.busy = False
        outcome = event.outcome
        self._show_outcome(outcome)
        if event.what == "sale" and outcome.status is Status.COMPLETED:
            self.scans.clear()
            self.info = after_sale(self.info, outcome)
        if event.what == "sale" and outcome.status is Status.UNRESOLVED:
            self.card, self.info = "", None  # the card must come back: a new session
        self._redraw()
        if outcome.receipt_jobs or outcome.resolutions:
            if self.cashier_app.till.print_queue is not None:
                self.notify(self.cashier_app.w["printing"], timeout=3)
            self.print_outcome(outcome)
        if event.what == "day_close" and outcome.status is Status.COMPLETED:
            self.cashier_app.sync_now()  # the day's records and Z report go to the host now

    @work(thread=True, group="print")
    def print_outcome(self, outcome: Outcome) -> None:
        self.post_message(Printed(self.cashier_app.print_text(outcome)))

    def on_printed(self, event: Printed) -> None:
        if event.text:
            self.notify(event.text, timeout=8)
        self.refresh_status()

    def action_reprint(self) -> None:
        self.reprint()

    @work(thread=True, group="print")
    def reprint(self) -> None:
        self.post_message(Printed(self.cashier_app.counter.reprint_last()))

    def action_diagnostics(self) -> None:
        from terminal.app.diagnostics import DiagnosticsScreen

        self.app.push_screen(DiagnosticsScreen(self.cashier_app))

    def action_sync(self) -> None:
        self.cashier_app.sync_now()
