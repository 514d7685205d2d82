"""A terminal's record of a card counter the host already held without a record.

The host can hold a counter before the terminal's record of it arrives: read from the card's log
at another terminal (``POST /v1/evidence``) or settled by an operator from a stuck intent. Its
money was moved then; when the record arrives it takes the counter over and the money moves
**once** in total (M3):

- a sale held from the log went to suspense; the record moves it to its shop (if the record is
  accepted and the card did not cancel the sale in the same session), else it stays there;
- a cancellation or load held from the log already moved its money: nothing more;
- a settled intent booked the debit to suspense: that booking is reversed and the record posts
  as any record does.
"""

from __future__ import annotations

import json

from sqlalchemy import update
from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.events import EventRow
from host_gateway.ingest.state import CatchUp
from host_gateway.ingest.verification import Facts
from host_gateway.models import CardEvidence, CardTransaction, StuckIntent


def entries(
    session: Session,
    facts: Facts,
    held: tuple[str, bytes],
    normal: postings.Entry,
    shop_id: str,
    cancelled: bool,
) -> list[postings.Entry]:
    """The journal entries of a record catching up ``held`` (instead of ``normal``);
    ``cancelled``: the card's log showed the debit cancelled, booked against suspense."""
    source, held_id = held
    number = facts.card_number
    assert number is not None and facts.card_counter is not None
    if source == "settled":
        return [reverse_settlement(session, held_id, number), normal]
    if facts.type != "sale" or not facts.ok:
        return []
    if cancelled:
        return []  # the card's cancellation was booked against suspense: the pair nets there
    entry = postings.Entry("sale", "recorded after the card's log", facts.record_id)
    for code, amount, _ in facts.purses:
        entry.transfer(postings.suspense(code), postings.shop(shop_id), amount)
    return [entry]


def reverse_settlement(session: Session, intent_id: bytes, number: str) -> postings.Entry:
    intent = session.get_one(StuckIntent, intent_id)
    entry = postings.Entry("settle_reversed", f"intent {intent_id.hex()} recorded by terminal")
    for code, amount in sorted(json.loads(intent.amounts).items()):
        entry.transfer(postings.suspense(code), postings.purse(number, code), int(amount))
    return entry


def apply(session: Session, catch_ups: list[CatchUp]) -> list[EventRow]:
    """The record takes the counter over (writes of the ingest transaction)."""
    events = []
    for c in catch_ups:
        session.execute(
            update(CardTransaction)
            .where(
                CardTransaction.card_number == c.card_number, CardTransaction.counter == c.counter
            )
            .values(source="record", record_id=c.record_id, proof_hash=c.proof_hash, kind=c.kind)
        )
        if c.source == "evidence":
            session.execute(
                update(CardEvidence)
                .where(CardEvidence.id == c.held_id)
                .values(recorded_by=c.record_id)
            )
        events.append(
            EventRow(
                "counter_recorded",
                f"card {c.card_number} counter {c.counter}: the terminal's record arrived after"
                f" the host held it ({c.source}); its money moved once",
                None,
                c.record_id,
                c.card_number,
            )
        )
    return events
