"""The sale engine's ports: what it needs of the world, as small protocols it owns.

The engine (terminal/sale) talks to a card through :class:`CardPort`, keeps its records through
:class:`JournalPort`, has receipts laid out by a :class:`ReceiptComposer` and printed in front
of the holder by a :class:`ForegroundPrinter`, and reads time from a clock callable. The real
adapters are :class:`drivers.card.session.CardSession` (over PC/SC or the in-process card
simulator), :class:`terminal.journal.Journal`, :class:`terminal.receipts.build.EscposComposer`
and :class:`terminal.receipts.queue.PrintQueue`; none of their libraries (pyscard, SQLAlchemy's
drivers aside, python-escpos, Pillow, qrcode, pyserial, httpx) is imported by the engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ledger.record import Record
from terminal.receipts.config import ReceiptConfig, ReceiptContext
from terminal.receipts.jobs import JobKind
from terminal.receipts.model import BalanceSlip

if TYPE_CHECKING:
    from terminal.receipts.reports import QueueReport


class ReceiptComposer(Protocol):
    """Lays receipts out as printer bytes; pure: the same record gives the same bytes."""

    def for_record(
        self, record: Record, context: ReceiptContext
    ) -> list[tuple[JobKind, bytes]]: ...

    def balance_slip(self, slip: BalanceSlip, config: ReceiptConfig) -> bytes: ...


class ForegroundPrinter(Protocol):
    """Prints one operation's receipts in front of its holder, within a bound."""

    @property
    def foreground_seconds(self) -> float: ...

    def print_foreground(
        self, job_ids: Sequence[int], seconds: float | None = None
    ) -> QueueReport: ...

    def serving(self) -> contextlib.AbstractContextManager[None]: ...

    def interrupted(self, job_ids: Sequence[int]) -> str: ...


def escpos_composer() -> ReceiptComposer:
    """The real composer, imported only when a till is made without one."""
    from terminal.receipts.build import EscposComposer

    return EscposComposer()
