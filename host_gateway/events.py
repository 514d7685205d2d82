"""Refusals and flags, each kept with its reason and counted by code (attacks must be visible)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway.db import bulk_insert
from host_gateway.models import Event


@dataclass(frozen=True)
class EventRow:
    code: str
    message: str
    terminal_id: str | None = None
    record_id: bytes | None = None
    card_number: str | None = None


def record_events(session: Session, at: int, events: list[EventRow]) -> None:
    if not events:
        return
    bulk_insert(
        session,
        Event,
        [
            {
                "at": at,
                "code": e.code,
                "terminal_id": e.terminal_id,
                "record_id": e.record_id,
                "card_number": e.card_number,
                "message": e.message,
            }
            for e in events
        ],
    )


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Event.code, func.count()).group_by(Event.code)).all()
    return {code: int(n) for code, n in sorted(rows)}


def recent(session: Session, limit: int = 50) -> list[Event]:
    return list(session.scalars(select(Event).order_by(Event.id.desc()).limit(limit)))


def audit(session: Session, at: int, who: str, action: str) -> None:
    """An operator action, in the same transaction as the action itself (S4: every operator
    action is in the audit log; no personal data in the message)."""
    record_events(session, at, [EventRow("operator", f"{who}: {action}")])
