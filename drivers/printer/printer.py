"""The receipt printer the terminal talks to: open by URL, ask its status, print one job.

Each job gets a fresh connection: status before (a printer that is out of paper, open or
offline gets nothing), the bytes, status after (the job counts as printed only if the printer
still says it is fine). Anything else is a typed :class:`~drivers.printer.errors.PrinterError`;
the next job reconnects from scratch. ``before_send`` runs after the status check and before
the job's first byte (the print queue's write-ahead mark); ``deadline`` bounds the whole job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from drivers.printer.errors import (
    NotAPrinterError,
    PrinterDisconnectedError,
    PrinterNotReadyError,
    PrinterTimeoutError,
    message,
)
from drivers.printer.status import (
    QUERIES,
    PrinterStatus,
    is_status_byte,
    parse_status,
    status_query,
)
from drivers.printer.transport import (
    PrinterAddress,
    Transport,
    parse_printer_url,
    transport_for,
)


@dataclass(frozen=True)
class JobReport:
    """What happened to a job the printer took."""

    before: PrinterStatus
    after: PrinterStatus
    sent: int
    confirmed: bool
    """The printer said, after the job, that it is online with paper and cover closed. False
    only for printers that cannot answer (``file://``): the bytes were written, that is all."""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    """Cashier messages that need no action now (paper near end)."""


class ReceiptPrinter(Protocol):
    """What the print queue needs from a printer."""

    def print_job(
        self,
        data: bytes,
        *,
        deadline: float | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> JobReport:
        """Print, or raise :class:`~drivers.printer.errors.PrinterError`. ``before_send`` is
        called once, right before the first byte of ``data`` (not at all if the job fails
        before that); ``deadline`` is a :func:`time.monotonic` instant the job must end by."""
        ...


JUNK_WAIT = 0.05
"""How long to listen for more after a reply that is not a status byte: a printer sends one
byte per question, something else (a web server) sends a whole answer."""


class EscposPrinter:
    """A printer addressed by URL (see :mod:`drivers.printer.transport`)."""

    def __init__(self, url: str, *, language: str = "id") -> None:
        self.address: PrinterAddress = parse_printer_url(url)
        self.url = url
        self.language = language

    def _transport(self) -> Transport:
        return transport_for(self.address)

    def _budget(self, transport: Transport, deadline: float | None) -> float:
        """Seconds the next step may take: the URL's timeout, or less when the job's time is
        nearly up (then :class:`PrinterTimeoutError` with the "slow" message)."""
        if deadline is None:
            return self.address.timeout
        left = deadline - time.monotonic()
        if left <= 0:
            detail = f"{transport.description}: the job's time ran out"
            raise PrinterTimeoutError(detail, key="slow")
        return min(self.address.timeout, left)

    def _status(self, transport: Transport, deadline: float | None) -> PrinterStatus:
        """Ask DLE EOT 1, 2 and 4 one by one, reading exactly one reply byte each."""
        if not transport.can_read:
            return PrinterStatus()
        transport.drain()
        replies: dict[int, bytes] = {}
        for n in QUERIES:
            transport.limit(self._budget(transport, deadline))
            transport.write(status_query(n))
            budget = self._budget(transport, deadline)
            reply = transport.read(1, budget)
            if not reply:
                cut_short = budget < self.address.timeout
                raise PrinterTimeoutError(
                    f"{transport.description}: no reply to DLE EOT {n} within {budget:g} s",
                    key="slow" if cut_short else None,
                )
            if not is_status_byte(reply[0]):
                self._refuse_non_printer(transport, reply)
            replies[n] = reply
        return parse_status(replies)

    @staticmethod
    def _refuse_non_printer(transport: Transport, reply: bytes) -> None:
        """A reply that is no status byte: one stray byte leaves the status unknown, but more
        than was asked for, or hanging up, is something other than a printer talking."""
        try:
            more = transport.read(256, JUNK_WAIT)
        except PrinterDisconnectedError:
            more, closed = b"", True
        else:
            closed = False
        if more or closed:
            said = (reply + more)[:40]
            raise NotAPrinterError(f"{transport.description} answered {said!r} to a status request")

    def status(self) -> PrinterStatus:
        """The printer's status now (opens and closes a connection)."""
        transport = self._transport()
        transport.open()
        try:
            return self._status(transport, None)
        finally:
            transport.close()

    def print_job(
        self,
        data: bytes,
        *,
        deadline: float | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> JobReport:
        transport = self._transport()
        transport.limit(self._budget(transport, deadline))
        transport.open()
        try:
            before = self._status(transport, deadline)
            if transport.can_read and not before.ready:
                raise PrinterNotReadyError(before, "before")
            transport.limit(self._budget(transport, deadline))
            if before_send is not None:
                before_send()
            transport.write(data)
            after = self._status(transport, deadline)
            if transport.can_read and not after.ready:
                raise PrinterNotReadyError(after, "after")
        except OSError as exc:  # whatever a transport did not map: the device went away
            raise PrinterDisconnectedError(f"{transport.description}: {exc}") from exc
        finally:
            transport.close()
        warnings = (message("near_end", self.language),) if after.paper_near_end else ()
        return JobReport(before, after, len(data), transport.can_read, warnings)


def open_printer(url: str, *, language: str = "id") -> EscposPrinter:
    """A printer for ``url``; checks the URL now (:class:`PrinterConfigError`), opens nothing."""
    return EscposPrinter(url, language=language)
