"""What a card operation ended as, in the words the cashier and automation need."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any

from terminal.basket import RefusedLine


class Status(enum.StrEnum):
    COMPLETED = "completed"
    """Money moved; the record is in the journal."""
    REFUSED = "refused"
    """Nothing moved; ``reason`` says why."""
    UNRESOLVED = "unresolved"
    """The card may have moved money but its answer was lost or unusable (it left, the answer
    was garbled or did not verify); presenting the same card again finishes or cancels it."""


@dataclass(frozen=True)
class Resolution:
    """An earlier unfinished operation settled when its card came back."""

    intent_id: uuid.UUID
    kind: str
    result: str
    """``completed`` (the card had done it), ``aborted`` (it never ran) or ``unresolved``."""
    record_id: uuid.UUID | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "intent_id": str(self.intent_id),
            "kind": self.kind,
            "result": self.result,
            "record_id": str(self.record_id) if self.record_id else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Balance:
    code: str
    balance: int
    expiry: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: Status
    reason: str | None = None
    """A stable code (``wrong_pin``, ``card_removed``, ...) for automation and translation."""
    message: str | None = None
    """What to tell the cashier, in the terminal's language."""
    record_id: uuid.UUID | None = None
    seq: int | None = None
    card: str | None = None
    """Masked card number."""
    purse_amounts: tuple[tuple[str, int], ...] = ()
    cash: int = 0
    balances: tuple[Balance, ...] = ()
    refused_lines: tuple[RefusedLine, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    receipt_jobs: tuple[int, ...] = ()
    """The operation's own print jobs, committed with it; printed after the outcome is shown
    (:meth:`~terminal.sale.till.Till.print_receipts`)."""
    printed: bool | None = None
    """Whether its receipts printed; None while not tried, or with no printer."""
    print_message: str | None = None
    print_warnings: tuple[str, ...] = ()
    """Printer conditions that need no action now (paper near end)."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def card_total(self) -> int:
        return sum(amount for _, amount in self.purse_amounts)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "reason": self.reason,
            "message": self.message,
            "record_id": str(self.record_id) if self.record_id else None,
            "seq": self.seq,
            "card": self.card,
            "purses": [{"code": code, "amount": amount} for code, amount in self.purse_amounts],
            "card_total": self.card_total,
            "cash": self.cash,
            "balances_after": [
                {"code": b.code, "balance": b.balance, "expiry": b.expiry} for b in self.balances
            ],
            "refused_lines": [
                {"gtin": r.gtin, "name": r.name, "quantity": r.quantity, "reason": str(r.reason)}
                for r in self.refused_lines
            ],
            "resolved_earlier": [r.to_json() for r in self.resolutions],
            "printed": self.printed,
            "print_message": self.print_message,
            "print_warnings": list(self.print_warnings),
            **self.details,
        }
