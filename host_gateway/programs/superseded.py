"""Loads superseded when their card ended (host_gateway/programs/cardlife.py): the load the old
card never took, where its money went (signed again for the new card, or back to the fund), and
whether the old card applied it anyway. Such a receipt is held (``load_superseded``): its money
sits in ``suspense:P`` and the holder is not paid twice. What ``ssn-gateway cards superseded``
and the console page *Muatan dialihkan* show."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from host_gateway.evidence import KINDS
from host_gateway.models import CardEvidence, CardTransaction, Load, LoadSupersession, StoredRecord
from ledger.bodies import LoadBody
from ledger.cardproofs import LoadReceipt
from ledger.record import Record


@dataclass(frozen=True)
class Taken:
    """The old card's receipt of a superseded load, as the host holds it."""

    reference: str
    """TERMINAL/SEQ of the record, or ``TERMINAL #COUNTER`` when read from the card's log."""
    from_card_log: bool
    received_at: int


@dataclass(frozen=True)
class SupersededLoad:
    old_card: str
    load_seq: int
    program: str
    amount: int
    new_card: str | None
    """The card it was signed again for; None: its money went back to the program's fund."""
    new_load_seq: int | None
    at: int
    """When the card ended and the load was carried."""
    taken: tuple[Taken, ...]
    """The old card applied it anyway: held, its amount in suspense (empty: not taken)."""

    @property
    def in_suspense(self) -> int:
        return self.amount if self.taken else 0


def superseded_loads(session: Session, limit: int = 200) -> list[SupersededLoad]:
    """Newest first, at most ``limit``."""
    old, new = aliased(Load), aliased(Load)
    rows = session.execute(
        select(LoadSupersession.at, old, new.card_number, new.load_seq)
        .join(old, old.id == LoadSupersession.load_id)
        .outerjoin(new, new.id == LoadSupersession.carried_to)
        .order_by(LoadSupersession.at.desc(), LoadSupersession.load_id.desc())
        .limit(limit)
    ).all()
    taken = _taken(session, {load.card_number for _, load, _, _ in rows})
    return [
        SupersededLoad(
            old_card=load.card_number,
            load_seq=load.load_seq,
            program=load.purse_code,
            amount=load.amount,
            new_card=new_card,
            new_load_seq=new_seq,
            at=at,
            taken=tuple(taken.get((load.card_number, load.authorization), ())),
        )
        for at, load, new_card, new_seq in rows
    ]


def _taken(session: Session, numbers: set[str]) -> dict[tuple[str, bytes], list[Taken]]:
    """The receipts of superseded loads held for ``numbers``, by (card, load authorization):
    records the host took as the card's own counter (not a copy's), and receipts read from the
    card's log whose record has not come."""
    found: dict[tuple[str, bytes], list[Taken]] = {}
    if not numbers:
        return found
    records = session.scalars(
        select(StoredRecord)
        .join(
            CardTransaction,
            (CardTransaction.card_number == StoredRecord.card_number)
            & (CardTransaction.counter == StoredRecord.card_counter)
            & (CardTransaction.record_id == StoredRecord.id),
        )
        .where(
            StoredRecord.card_number.in_(numbers),  # ix_records_card
            StoredRecord.type == "load",
            StoredRecord.code == "load_superseded",
        )
    )
    for r in records:
        authorization = LoadBody.from_value(Record.decode(r.data).body).authorization
        held = Taken(f"{r.terminal_id}/{r.seq}", False, r.received_at)
        found.setdefault((str(r.card_number), authorization), []).append(held)
    logs = session.scalars(
        select(CardEvidence).where(
            CardEvidence.card_number.in_(numbers),
            CardEvidence.kind == KINDS[LoadReceipt],
            CardEvidence.account == "suspense",
            CardEvidence.recorded_by.is_(None),
        )
    )
    for e in logs:
        receipt = LoadReceipt.decode(e.message)
        load = session.scalars(
            select(Load).where(
                Load.card_number == e.card_number,
                Load.load_seq == receipt.load_seq,
                Load.id.in_(select(LoadSupersession.load_id)),
            )
        ).first()
        same = load is not None and (load.purse_code, load.amount) == (
            receipt.purse_code,
            receipt.amount,
        )
        if load is not None and same:  # else a load the host never signed (load_unknown)
            held = Taken(f"{e.terminal_id} #{e.counter}", True, e.received_at)
            found.setdefault((e.card_number, load.authorization), []).append(held)
    return found
