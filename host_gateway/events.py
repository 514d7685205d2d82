"""Refusals and flags, each kept with its reason and counted by code (attacks must be visible).

Refusals of requests nobody authenticated (bad or missing signatures, unusable enrollment codes,
oversized or stalled bodies) are *not* written one row each: a flood would take the database's
write lock once per request and slow the real terminals down. ``RefusalTally`` counts them in
memory; ``flush`` writes one summary row per code (with its ``count``) at most once a minute and
prunes summaries older than ``REFUSALS_KEPT_DAYS``, so the table stays bounded whatever a
stranger sends. Nothing a stranger claims (a terminal id) is filed under that terminal.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from host_gateway.db import bulk_insert, transaction
from host_gateway.models import Event

log = logging.getLogger("host_gateway.refusals")

FLUSH_EVERY = 60
"""Seconds between two summaries of the refusals counted in memory."""

REFUSALS_KEPT_DAYS = 90
"""Refusal summaries older than this are pruned (flags on money and the audit log are kept)."""

REFUSAL_CODES = (
    "unauthenticated",
    "bad_signature",
    "unknown_terminal",
    "replayed_request",
    "terminal_revoked",
    "certificate_expired",
    "clock_skew",
    "enrollment_code_invalid",
    "enrollment_code_expired",
    "enrollment_code_used",
    "enrollment_proof",
    "key_already_enrolled",
    "too_large",
    "timeout",
    "busy",
)
"""Codes of refusals before (or instead of) authentication: counted in memory, summarized."""


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


class RefusalTally:
    """Refused unauthenticated requests counted in memory (thread-safe, bounded: one counter and
    one example message per code)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._total: Counter[str] = Counter()
        self._example: dict[str, str] = {}

    def add(self, code: str, message: str) -> None:
        with self._lock:
            self._pending[code] += 1
            self._total[code] += 1
            self._example[code] = message[:200]

    def counts(self) -> dict[str, int]:
        """Refusals by code since this process started (flushed or not)."""
        with self._lock:
            return dict(self._total)

    def flush(self, factory: sessionmaker[Session], now: int) -> int:
        """Write one summary event per code counted since the last flush and prune old
        summaries, in one transaction; log one line. Returns the refusals written; if the
        transaction fails (a busy database) the counts stay for the next flush."""
        taken = self._take()
        try:
            with transaction(factory) as session:
                _write_summaries(session, now, taken)
                session.execute(
                    delete(Event).where(
                        Event.code.in_(REFUSAL_CODES), Event.at < now - REFUSALS_KEPT_DAYS * 86400
                    )
                )
        except Exception:
            with self._lock:
                for code, (n, example) in taken.items():
                    self._pending[code] += n
                    self._example.setdefault(code, example)
            raise
        written = sum(n for n, _ in taken.values())
        if written:
            log.warning(
                "refused %d unauthenticated requests: %s",
                written,
                ", ".join(f"{code} {n}" for code, (n, _) in sorted(taken.items())),
            )
        return written

    def _take(self) -> dict[str, tuple[int, str]]:
        with self._lock:
            taken = {code: (n, self._example.get(code, "")) for code, n in self._pending.items()}
            self._pending.clear()
            return taken


def _write_summaries(session: Session, now: int, taken: dict[str, tuple[int, str]]) -> None:
    if not taken:
        return
    rows = [
        {
            "at": now,
            "code": code,
            "terminal_id": None,
            "record_id": None,
            "card_number": None,
            "message": f"{n} unauthenticated request(s) refused; last: {example}",
            "count": n,
        }
        for code, (n, example) in sorted(taken.items())
    ]
    bulk_insert(session, Event, rows)


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Event.code, func.sum(Event.count)).group_by(Event.code)).all()
    return {code: int(n) for code, n in sorted(rows)}


def recent(session: Session, limit: int = 50) -> list[Event]:
    return list(session.scalars(select(Event).order_by(Event.id.desc()).limit(limit)))


def audit(session: Session, at: int, who: str, action: str) -> None:
    """An operator action, in the same transaction as the action itself (S4: every operator
    action is in the audit log; no personal data in the message)."""
    record_events(session, at, [EventRow("operator", f"{who}: {action}")])
