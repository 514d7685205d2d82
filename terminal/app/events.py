"""What the app's workers and devices tell the sale screen, as Textual messages: the UI changes
only when one arrives, on the UI thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:  # the sale engine loads after the sign-in screen shows (app.py)
    import datetime as dt

    from drivers.card.protocol import CardInfo
    from ledger.catalog import Catalog
    from terminal.app.counter import Presentation
    from terminal.basket import Basket, ScannedItem
    from terminal.sale import Outcome


class CodeScanned(Message):
    """A code from the scanner (serial, or a keyboard wedge told apart by timing)."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


class ScannerState(Message):
    """The scanner went missing or came back (:attr:`CashierApp.scanner_problem`)."""


class CardArrived(Message):
    """A card came into the reader: the watcher's ``arrival`` ticket for it (1, 2, ...)."""

    def __init__(self, arrival: int) -> None:
        super().__init__()
        self.arrival = arrival


class CardLeft(Message):
    """The card of ticket ``arrival`` left the reader."""

    def __init__(self, arrival: int) -> None:
        super().__init__()
        self.arrival = arrival


class Presented(Message):
    """The presentation of the card of ticket ``arrival``: it may land after that card left, or
    after another card came (a presentation takes time), and the screen then shows no card."""

    def __init__(self, presentation: Presentation, arrival: int) -> None:
        super().__init__()
        self.presentation, self.arrival = presentation, arrival


class Finished(Message):
    """A card operation ended (sale, cancellation, balance, PIN refusal, day close)."""

    def __init__(self, outcome: Outcome, what: str) -> None:
        super().__init__()
        self.outcome, self.what = outcome, what


class Verified(Message):
    def __init__(self, info: CardInfo) -> None:
        super().__init__()
        self.info = info


class Printed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class StatusRead(Message):
    """The status bar's values, read from the journal and the print queue in a worker: the
    values (``status``, ``printer``), or what kept them from being read (``error``)."""

    def __init__(
        self, status: Mapping[str, Any] | None, printer: str, error: str | None = None
    ) -> None:
        super().__init__()
        self.status, self.printer, self.error = status, printer, error


class BasketRead(Message):
    """What the basket and the card panel show, read in a worker from the catalog (the
    journal) and the card: the catalog, the basket as the card would pay ``scans``, the caps
    left and the next aid dates; or what kept them from being read (``error``)."""

    def __init__(
        self,
        scans: Sequence[ScannedItem],
        catalog: Catalog | None = None,
        basket: Basket | None = None,
        caps: Mapping[int, int] | None = None,
        next_aid: Sequence[tuple[str, dt.date]] = (),
        error: str | None = None,
    ) -> None:
        super().__init__()
        self.scans, self.catalog, self.basket = tuple(scans), catalog, basket
        self.caps, self.next_aid, self.error = caps or {}, next_aid, error
