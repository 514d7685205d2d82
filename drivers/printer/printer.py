"""The receipt printer the terminal talks to: open by URL, ask its status, print one job.

Each job gets a fresh connection: status before (a printer that is out of paper, open or
offline gets nothing), the bytes, status after (the job counts as printed only if the printer
still says it is fine). Anything else is a typed :class:`~drivers.printer.errors.PrinterError`;
the next job reconnects from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from drivers.printer.errors import (
    PrinterDisconnectedError,
    PrinterNotReadyError,
    PrinterTimeoutError,
    message,
)
from drivers.printer.status import QUERIES, PrinterStatus, parse_status, status_query
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

    def print_job(self, data: bytes) -> JobReport:
        """Print, or raise :class:`~drivers.printer.errors.PrinterError`."""
        ...


class EscposPrinter:
    """A printer addressed by URL (see :mod:`drivers.printer.transport`)."""

    def __init__(self, url: str, *, language: str = "id") -> None:
        self.address: PrinterAddress = parse_printer_url(url)
        self.url = url
        self.language = language

    def _transport(self) -> Transport:
        return transport_for(self.address)

    def _status(self, transport: Transport) -> PrinterStatus:
        """Ask DLE EOT 1, 2 and 4 one by one, reading exactly one reply byte each."""
        if not transport.can_read:
            return PrinterStatus()
        transport.drain()
        replies: dict[int, bytes] = {}
        for n in QUERIES:
            transport.write(status_query(n))
            reply = transport.read(1, self.address.timeout)
            if not reply:
                raise PrinterTimeoutError(
                    f"{transport.description}: no reply to DLE EOT {n} "
                    f"within {self.address.timeout:g} s"
                )
            replies[n] = reply
        return parse_status(replies)

    def status(self) -> PrinterStatus:
        """The printer's status now (opens and closes a connection)."""
        transport = self._transport()
        transport.open()
        try:
            return self._status(transport)
        finally:
            transport.close()

    def print_job(self, data: bytes) -> JobReport:
        transport = self._transport()
        transport.open()
        try:
            before = self._status(transport)
            if transport.can_read and not before.ready:
                raise PrinterNotReadyError(before, "before")
            transport.write(data)
            after = self._status(transport)
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
