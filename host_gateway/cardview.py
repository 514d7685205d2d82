"""A card as operators see it: status, each purse's shadow balance against what the card last
signed, missing counters, loads not yet applied, and its history (records, loads, hotlist
entries). Shared by ``ssn-gateway cards show`` and the console's card page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.check import counter_gaps
from host_gateway.errors import not_found
from host_gateway.models import (
    Account,
    Card,
    CardProgram,
    HotlistEntry,
    Load,
    LoadSupersession,
    PurseProof,
    StoredRecord,
)

HISTORY_ROWS = 200


def summary(session: Session, number: str) -> dict[str, Any]:
    card = session.get(Card, number)
    if card is None:
        raise not_found(f"card {number}")
    programs = sorted(
        session.scalars(
            select(CardProgram.program_code).where(CardProgram.card_number == card.number)
        )
    )
    purses = {}
    for code in programs:
        balance = session.scalar(
            select(Account.balance).where(Account.code == postings.purse(card.number, code))
        )
        signed = session.scalars(
            select(PurseProof.balance_after)
            .where(PurseProof.card_number == card.number, PurseProof.purse_code == code)
            .order_by(PurseProof.counter.desc())
            .limit(1)
        ).first()
        purses[code] = {"shadow": -int(balance or 0), "card_signed": signed}
    pending = [
        {"load_seq": ld.load_seq, "program": ld.purse_code, "amount": ld.amount}
        for ld in session.scalars(
            select(Load).where(
                Load.card_number == card.number,
                Load.applied_record.is_(None),
                Load.id.not_in(select(LoadSupersession.load_id)),  # carried to a new card
            )
        )
    ]
    return {
        "number": card.number,
        "holder": card.holder_name,
        "status": card.status,
        "programs": programs,
        "purses": purses,
        "counter_gaps": counter_gaps(session, card.number),
        "pending_loads": pending,
    }


def history(session: Session, number: str) -> dict[str, list[dict[str, Any]]]:
    """The newest records (with what each moved per purse), every load, every hotlist entry.
    Records are found by ``ix_records_card`` (card number, terminal time): one card's newest
    records, on a host of millions."""
    moved: dict[int, dict[str, int]] = {}
    for counter, purse, delta in session.execute(
        select(PurseProof.counter, PurseProof.purse_code, PurseProof.delta).where(
            PurseProof.card_number == number
        )
    ):
        if delta:
            moved.setdefault(counter, {})[purse] = delta
    records = [
        {
            "time": r.terminal_time,
            "terminal": r.terminal_id,
            "seq": r.seq,
            "type": r.type,
            "status": r.status,
            "counter": r.card_counter,
            "moved": moved.get(r.card_counter, {}) if r.card_counter is not None else {},
        }
        for r in session.scalars(
            select(StoredRecord)
            .where(StoredRecord.card_number == number)
            .order_by(StoredRecord.terminal_time.desc())
            .limit(HISTORY_ROWS)
        )
    ]
    loads = [
        {
            "load_seq": ld.load_seq,
            "program": ld.purse_code,
            "amount": ld.amount,
            "expiry": ld.expiry.isoformat(),
            "created": ld.created,
            "applied_at": ld.applied_at,
        }
        for ld in session.scalars(
            select(Load).where(Load.card_number == number).order_by(Load.load_seq)
        )
    ]
    hotlist = [
        {
            "version": h.version,
            "action": h.action,
            "reason": h.reason,
            "note": h.note,
            "added": h.added,
        }
        for h in session.scalars(
            select(HotlistEntry)
            .where(HotlistEntry.card_number == number)
            .order_by(HotlistEntry.version)
        )
    ]
    return {"records": records, "loads": loads, "hotlist": hotlist}
