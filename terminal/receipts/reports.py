"""What a run of the print queue did, and what the cashier is told about it: the printer's
condition, what is on paper (nothing, or maybe a copy), and what happens next. The cashier must
never read that a receipt prints by itself when nothing will print it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from terminal.receipts.jobs import PrintJob
from terminal.receipts.strings import ReceiptStrings


@dataclass(frozen=True)
class PrintOutcome:
    job_id: int
    printed: bool
    error_code: str | None = None
    detail: str | None = None
    sent: bool = False
    """Bytes of the job went towards the printer in this attempt: it may be on paper."""
    reason: str | None = None
    """Why it did not print, in the cashier's words."""


@dataclass(frozen=True)
class QueueReport:
    """What one run of the queue did, and what to tell the cashier (None: nothing to say)."""

    outcomes: tuple[PrintOutcome, ...] = ()
    pending: int = 0
    message: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    job_id: int | None = None
    """For a reprint: the job that carries it."""
    held: tuple[int, ...] = ()
    """Holder's paper waiting for a reprint (never printed unasked)."""

    @property
    def printed(self) -> list[int]:
        return [o.job_id for o in self.outcomes if o.printed]

    @property
    def ok(self) -> bool:
        return self.message is None


def failure_message(
    outcome: PrintOutcome,
    left: Sequence[PrintJob],
    strings: ReceiptStrings,
    *,
    foreground: bool,
    holding: bool,
    service: bool,
) -> str:
    """The cashier's words for a run that stopped at ``outcome`` with ``left`` still waiting:
    ``holding`` when a holder's paper waits for a reprint, ``service`` when a print service
    runs that will print the rest."""
    s = strings
    parts = [outcome.reason or "", s.queue_maybe_printed if outcome.sent else s.queue_not_printed]
    if foreground and holding and any(j.kind.for_holder for j in left):
        parts.append(s.queue_held)
    if any(not (holding and j.kind.for_holder) for j in left):
        parts.append(s.queue_auto if service else s.queue_no_service)
    parts.append(s.queue_kept)
    return " ".join(parts)
