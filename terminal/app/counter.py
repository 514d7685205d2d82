"""The counter as the cashier app works it: one card in the reader, its session, the basket.

Everything here blocks (card, journal, printer), so the app calls it from worker threads, one
card operation at a time (:attr:`Counter.lock`). No Textual here: the flows are tested without
a screen, and the screens only show what these methods return.

The rules the cashier relies on:
- A card is presented once when it arrives: what the card says about earlier unfinished
  operations comes first (:attr:`Presentation.earlier`), before any new sale.
- A charge needs the holder's PIN in the same card session, and an explicit charge: a torn sale
  that turns out to have completed is never rung up again by itself.
- A cancellation is only of the sale just made, while the card has not left the reader.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from drivers.card.pcsc import PcscConnection, list_readers
from drivers.card.pinpad import PcscControl, PinPad
from drivers.card.protocol import CardInfo
from drivers.card.readers import open_reader
from drivers.card.session import CardSession
from drivers.card.transport import CardConnection, CardError, CardReader
from ledger.cardnumber import mask_card_number
from ledger.wire import DOCUMENT_KINDS
from terminal.basket import Basket, ScannedItem, cap_remaining
from terminal.receipts.queue import PrintQueue
from terminal.sale import (
    Outcome,
    Presented,
    Resolution,
    Status,
    Till,
    after_charge,
    balance_of,
    basket_for,
    charge,
    close_day,
    present_card,
    verify_holder,
    void_sale,
)
from terminal.sale.sale import card_problem

log = logging.getLogger(__name__)

_R = TypeVar("_R")


def never_raises(method: Callable[..., _R]) -> Callable[..., _R | Outcome]:
    """A counter operation that meets a bug (not a card or device error: those are outcomes
    already) becomes one clear refusal on screen and a traceback in the log, never a crash of
    the app. Money stays safe either way: every card command is written ahead in the journal."""

    @functools.wraps(method)
    def guarded(self: Counter, *args: Any, **kwargs: Any) -> _R | Outcome:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            log.exception("counter operation %s failed", method.__name__)
            said = self.till.say("internal_error", detail=type(exc).__name__)
            return Outcome(Status.REFUSED, "internal_error", said, details={"error": str(exc)})

    return guarded


ReaderFactory = Callable[[str | None], CardReader]
PadFinder = Callable[[CardConnection], PinPad | None]

SUPERVISOR_TRIES = 5
SUPERVISOR_LOCK = 300.0
PAD_SECONDS = 30
"""How long the holder has to type the PIN on the reader's keypad."""


def reader_pad(connection: CardConnection) -> PinPad | None:
    """The reader's own PIN pad, when it is a PC/SC reader that has one (part 10)."""
    if not isinstance(connection, PcscConnection):
        return None
    try:
        return PinPad.detect(PcscControl(connection))
    except CardError:
        return None


@dataclasses.dataclass(frozen=True)
class Presentation:
    """A card as it arrived: usable (``info``) or refused (``refusal``), and what its arrival
    settled of earlier operations."""

    card: str
    """Masked number, or empty when the card could not be read."""
    info: CardInfo | None
    refusal: Outcome | None
    earlier: tuple[Resolution, ...]
    number: str = ""
    """The card's full number (never shown): whose basket is whose (empty when unread)."""

    @property
    def earlier_sale_completed(self) -> bool:
        return any(r.kind == "sale" and r.result == "completed" for r in self.earlier)

    @property
    def earlier_aborted(self) -> bool:
        return any(r.kind == "sale" and r.result == "aborted" for r in self.earlier)


@dataclasses.dataclass
class CardState:
    """The card in the reader, from its arrival until it leaves."""

    reader: CardReader
    connection: CardConnection
    session: CardSession
    presented: Presented | None = None
    holder: CardInfo | None = None
    """The card's answer to the PIN: name, purses, quantity counters."""
    pad: PinPad | None = None
    """The reader's keypad: the holder types the PIN there, never on the keyboard."""
    last_sale: uuid.UUID | None = None
    """The sale made in this card session: the only one a cancellation may undo."""


class Counter:
    def __init__(
        self,
        till: Till,
        reader_name: str | None,
        *,
        readers: ReaderFactory = open_reader,
        pads: PadFinder = reader_pad,
    ) -> None:
        self.till = till
        self.reader_name = reader_name
        self.readers = readers
        self.pads = pads
        self.cashier = ""
        self.card: CardState | None = None
        self.lock = threading.RLock()
        self.monotonic = time.monotonic
        self._supervisor_failures = 0
        self._supervisor_locked_until = 0.0
        self.last_record: uuid.UUID | None = None
        """The last sale or cancellation at this counter, for "print again"."""

    # -- the card's arrival and departure -------------------------------------------------

    def present(self) -> Presentation:
        """Connect to the card in the reader and present it (read, settle earlier operations,
        hotlist, loads). Refusals and device errors come back as a :class:`Presentation`."""
        try:
            return self._present()
        except Exception as exc:  # a bug, not a card error: a clear line, never a crash
            log.exception("presenting the card failed")
            said = self.till.say("internal_error", detail=type(exc).__name__)
            return Presentation("", None, Outcome(Status.REFUSED, "internal_error", said), ())

    def _present(self) -> Presentation:
        with self.lock:
            self.release()
            reader: CardReader | None = None
            try:
                reader = self.readers(self.reader_name)
                connection = reader.connect()
            except CardError as exc:
                if reader is not None:  # its PC/SC context would leak per failed presentation
                    with contextlib.suppress(CardError, OSError):
                        reader.close()
                return Presentation("", None, card_problem(self.till, exc), ())
            session = CardSession(connection, self.till.config.ca_keys)
            self.card = CardState(reader, connection, session, pad=self.pads(connection))
            with self.till.serving():
                presented = present_card(self.till, session, self.till.clock(), self.cashier)
            number = session.card_number
            card = mask_card_number(number) if number else ""
            if isinstance(presented, Outcome):
                return Presentation(card, None, presented, presented.resolutions, number or "")
            self.card.presented = presented
            return Presentation(card, presented.info, None, presented.resolutions, number or "")

    def release(self) -> None:
        """The card left (or the cashier is done with it): its session ends."""
        with self.lock:
            card, self.card = self.card, None
            if card is not None:
                with contextlib.suppress(CardError, OSError):
                    card.connection.close()
                with contextlib.suppress(CardError, OSError):
                    card.reader.close()

    # -- the holder ------------------------------------------------------------------------

    @property
    def has_pad(self) -> bool:
        return self.card is not None and self.card.pad is not None

    @never_raises
    def verify(self, pin: str = "") -> CardInfo | Outcome:
        """The holder's PIN: typed on screen (``pin``), or on the reader's keypad if it has one."""
        with self.lock:
            card = self._ready()
            if isinstance(card, Outcome):
                return card
            if card.pad is not None:
                try:
                    verified: CardInfo | Outcome = card.session.verify_pin_on_pad(
                        card.pad, PAD_SECONDS
                    )
                except CardError as exc:
                    verified = card_problem(self.till, exc)
            else:
                verified = verify_holder(self.till, card.session, pin)
            if isinstance(verified, CardInfo):
                card.holder = verified
            return verified

    def caps_left(self) -> dict[int, int]:
        """Per capped category, what this month still allows (after the PIN)."""
        catalog = self.till.catalog()
        if self.card is None or self.card.holder is None or catalog is None:
            return {}
        return cap_remaining(catalog, self.card.holder, self.till.today(self.till.clock()))

    # -- the basket and the money ----------------------------------------------------------

    def preview(self, scans: Sequence[ScannedItem], allow_cash: bool) -> Basket | Outcome | None:
        """The basket as the card in the reader would pay it; None before the PIN."""
        card = self.card
        if card is None or card.holder is None or not scans:
            return None
        return basket_for(self.till, card.holder, scans, self.till.clock(), allow_cash)

    @never_raises
    def charge(self, scans: Sequence[ScannedItem], allow_cash: bool) -> Outcome:
        with self.lock:
            card = self._ready()
            if isinstance(card, Outcome):
                return card
            if card.holder is None:
                return Outcome(Status.REFUSED, "pin_needed", self.till.say("pin_needed"))
            with self.till.serving():
                outcome = charge(
                    self.till,
                    card.session,
                    card.holder,
                    scans,
                    cashier=self.cashier,
                    allow_cash=allow_cash,
                )
                wanted = card.presented.wanted if card.presented else ()
                outcome = after_charge(self.till, card.session, outcome, wanted)
            if outcome.status is Status.COMPLETED and outcome.record_id is not None:
                card.last_sale = self.last_record = outcome.record_id
                # The PIN's answer is now out of date (balances, this month's quantities): a
                # second sale in this session asks the card again, through the PIN.
                card.holder = None
            if outcome.status is Status.UNRESOLVED:
                self.release()  # the card must be presented again: a new session
            return outcome

    @never_raises
    def supervisor_refusal(self, pin: str) -> Outcome | None:
        """None when ``pin`` is the supervisor's. Wrong PINs are counted: after
        :data:`SUPERVISOR_TRIES` the supervisor is locked out for :data:`SUPERVISOR_LOCK`
        seconds, so a PIN cannot be guessed at the counter between two holders."""
        now = self.monotonic()
        if now < self._supervisor_locked_until:
            left = math.ceil(self._supervisor_locked_until - now)
            return Outcome(
                Status.REFUSED, "supervisor_locked", self.till.say("sign_in_locked", seconds=left)
            )
        if self.till.config.check_supervisor_pin(pin):
            self._supervisor_failures = 0
            return None
        self._supervisor_failures += 1
        if self._supervisor_failures >= SUPERVISOR_TRIES:
            self._supervisor_failures = 0
            self._supervisor_locked_until = now + SUPERVISOR_LOCK
        return Outcome(Status.REFUSED, "supervisor_pin", self.till.say("supervisor_pin"))

    @never_raises
    def day_close_as_supervisor(self, supervisor_pin: str) -> Outcome:
        refusal = self.supervisor_refusal(supervisor_pin)
        return refusal if refusal is not None else self.day_close()

    def cancel_last(self, supervisor_pin: str, supervisor: str, reason: str) -> Outcome:
        refusal = self.supervisor_refusal(supervisor_pin)
        if refusal is not None:
            return refusal
        with self.lock:
            card = self.card
            if card is None or card.last_sale is None:
                return Outcome(
                    Status.REFUSED, "void_session_over", self.till.say("void_session_over")
                )
            with self.till.serving():
                outcome = void_sale(
                    self.till,
                    card.session,
                    card.last_sale,
                    supervisor_pin,
                    supervisor=supervisor,
                    reason=reason,
                )
            if outcome.status is Status.COMPLETED:
                card.last_sale = None
                self.last_record = outcome.record_id
            return outcome

    @never_raises
    def balance(self, print_slip: bool) -> Outcome:
        with self.lock:
            card = self._ready()
            if isinstance(card, Outcome):
                return card
            number = card.session.card_number
            if card.holder is None or number is None:
                return Outcome(Status.REFUSED, "pin_needed", self.till.say("pin_needed"))
            next_aid = card.presented.next_aid if card.presented else ()
            return balance_of(
                self.till,
                number,
                card.holder,
                self.till.clock(),
                print_slip=print_slip,
                next_aid=next_aid,
            )

    def _ready(self) -> CardState | Outcome:
        if self.card is None or self.card.presented is None:
            return Outcome(Status.REFUSED, "no_card", self.till.say("no_card"))
        return self.card

    # -- paper, day, status ------------------------------------------------------------------

    def print_receipts(self, outcome: Outcome) -> Outcome:
        with self.till.serving():
            return self.till.print_receipts(outcome)

    def reprint_last(self) -> str:
        queue = self.till.print_queue
        if not isinstance(queue, PrintQueue):
            return self.till.say("no_printer")
        if self.last_record is None:
            return self.till.say("nothing_to_reprint")
        report = queue.reprint(self.last_record)
        return report.message or self.till.say("reprinted")

    @never_raises
    def day_close(self) -> Outcome:
        with self.lock, self.till.serving():
            return self.print_receipts(close_day(self.till, None, self.cashier))

    def diagnostics(self, gateway_reachable: Callable[[], bool] | None) -> list[tuple[str, str]]:
        """What a technician on the phone asks first: readers, printer, gateway, documents,
        outbox. Each line is a (what, state) pair; nothing here raises."""
        lines: list[tuple[str, str]] = []
        try:
            readers = ", ".join(list_readers()) or "-"
        except CardError as exc:
            readers = str(exc)
        lines.append(("pcsc readers", readers))
        lines.append(("reader in use", self.reader_name or "(first PC/SC reader)"))
        queue = self.till.print_queue
        asked = getattr(queue.printer, "status", None) if isinstance(queue, PrintQueue) else None
        if asked is not None:
            try:
                status = asked()
                printer = "ok" if status.ready else str(status)
            except Exception as exc:  # a device error is a line here, never a crash
                printer = str(exc)
            lines.append(("printer", f"{self.till.config.printer_url}: {printer}"))
        else:
            lines.append(("printer", "-"))
        if gateway_reachable is not None:
            reachable = gateway_reachable()
            said = "ok" if reachable else "tidak terjangkau / unreachable"
            lines.append(("gateway", f"{self.till.config.gateway_url}: {said}"))
        versions = self.till.journal.document_versions()
        for name in DOCUMENT_KINDS:
            lines.append((f"{name} version", str(versions.get(name, 0))))
        lines.append(("outbox", str(self.till.journal.counts().outbox)))
        return lines

    def print_test_page(self) -> str:
        """A short page on the printer, outside the journal (no money, no record)."""
        queue = self.till.print_queue
        if not isinstance(queue, PrintQueue):
            return self.till.say("no_printer")
        from terminal.receipts.escpos_writer import ReceiptWriter  # python-escpos: slow import

        writer = ReceiptWriter(self.till.receipt_config.profile)
        writer.line(self.till.config.shop_name, align="center", bold=True)
        writer.line(f"TEST PRINTER {self.till.terminal_id}", align="center")
        writer.cut()
        try:
            queue.printer.print_job(writer.output())
        except Exception as exc:  # a device error is a line on screen, never a crash
            return str(exc)
        return "ok"

    def unfinished_elsewhere(self) -> list[str]:
        """Masked numbers of other cards with an operation only their card can settle."""
        here = self.card.session.card_number if self.card else None
        numbers = {i.card_number for i in self.till.journal.open_intents()}
        return sorted(mask_card_number(n) for n in numbers if n != here)

    def status(self) -> dict[str, Any]:
        """What the status bar shows: queue, last sync, offline limits left."""
        journal, limits = self.till.journal, self.till.limits
        offline = journal.offline_state()
        return {
            "outbox": journal.counts().outbox,
            "last_sync": offline.last_sync_time,
            "offline_left": max(0, limits.max_offline_total - offline.card_total_since_sync),
            "offline": self.till.offline(self.till.clock()),
            "unfinished": self.unfinished_elsewhere(),
        }
