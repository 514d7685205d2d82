"""Card-log entries read for the host, queued until the host has decided on each.

docs/card-protocol.md ("the host sees every counter"): when the host is missing a card's
transactions, a terminal reads them from the card's log (after the holder's PIN, after the
receipt) and uploads them. The message bytes never change; an entry the host decided is final.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

from terminal.journal.base import JournalBase
from terminal.journal.schema import evidence


class EvidenceMixin(JournalBase):
    def add_evidence(self, card_number: str, counter: int, message: bytes, time: int) -> int:
        """Queue one card-signed message for the host; 0 when it is queued already."""
        row = {"card_number": card_number, "counter": counter, "message": bytes(message)}
        with self._writing("keep card evidence") as conn:
            # The same bytes read before (the next sale of the same card) are queued once.
            added = conn.execute(
                insert(evidence).values(fetched=time, **row).on_conflict_do_nothing()
            )
        return int(added.rowcount)

    def pending_evidence(self, limit: int) -> list[tuple[int, bytes]]:
        """(entry id, message) of the entries the host has not decided on yet, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                select(evidence.c.entry_id, evidence.c.message)
                .where(evidence.c.sent.is_(None))
                .order_by(evidence.c.entry_id)
                .limit(limit)
            ).all()
        return [(int(row.entry_id), bytes(row.message)) for row in rows]

    def mark_evidence_sent(self, decided: list[tuple[int, str]], time: int) -> None:
        """The host decided on these entries (stored, known or refused): they leave the queue."""
        if not decided:
            return
        with self._writing("mark evidence sent") as conn:
            for entry_id, outcome in decided:
                conn.execute(
                    evidence.update()
                    .where(evidence.c.entry_id == entry_id, evidence.c.sent.is_(None))
                    .values(sent=time, outcome=outcome)
                )
