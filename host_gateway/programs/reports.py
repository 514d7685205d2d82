"""Reports for Dinas Sosial and the mayor's semester monitoring: recipients per kelurahan and
program (registered vs with a card vs aid received), and aid signed, confirmed, spent, expired.
Counts and rupiah only: no names, no NIK.

Spent is derived from conservation (M2), per program over all its cards: applied loads = card
balances + net debits + expiries, so spent = applied loads - on cards - expired.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.models import Account, Card, Load
from host_gateway.programs.models import AidBatch, AidLine, Recipient, RecipientProgram

Rows = list[dict[str, object]]


def recipients(session: Session) -> Rows:
    """Per kecamatan, kelurahan and program: active recipients, those with an active card, and
    those whose card confirmed at least one aid load."""
    received = (
        select(AidLine.recipient_id, AidBatch.program_code)
        .join(AidBatch, AidBatch.id == AidLine.batch_id)
        .join(
            Load,
            (Load.card_number == AidLine.card_number) & (Load.load_seq == AidLine.load_seq),
        )
        .where(Load.applied_record.is_not(None))
        .distinct()
    )
    got = {(int(r), str(p)) for r, p in session.execute(received)}
    table: dict[tuple[str, str, str], list[int]] = {}
    for rid, kec, kel, code, card_status in session.execute(
        select(
            Recipient.id,
            Recipient.kecamatan,
            Recipient.kelurahan,
            RecipientProgram.program_code,
            Card.status,
        )
        .join(RecipientProgram, RecipientProgram.recipient_id == Recipient.id)
        .outerjoin(Card, Card.number == Recipient.card_number)
        .where(Recipient.status == "active")
    ):
        counts = table.setdefault((kec, kel, code), [0, 0, 0])
        counts[0] += 1
        counts[1] += card_status == "active"
        counts[2] += (rid, code) in got
    return [
        {
            "kecamatan": kec,
            "kelurahan": kel,
            "program": code,
            "registered": n[0],
            "with_card": n[1],
            "aid_received": n[2],
        }
        for (kec, kel, code), n in sorted(table.items())
    ]


def aid(session: Session) -> Rows:
    """Per program: aid signed and confirmed (batches), and over all its loads what was spent,
    what expired and what is still on cards (rupiah)."""
    signed = dict(
        session.execute(
            select(AidBatch.program_code, func.sum(AidBatch.amount))
            .join(AidLine, AidLine.batch_id == AidBatch.id)
            .where(AidLine.load_seq.is_not(None))
            .group_by(AidBatch.program_code)
        ).all()
    )
    confirmed = dict(
        session.execute(
            select(AidBatch.program_code, func.sum(AidBatch.amount))
            .join(AidLine, AidLine.batch_id == AidBatch.id)
            .join(
                Load,
                (Load.card_number == AidLine.card_number) & (Load.load_seq == AidLine.load_seq),
            )
            .where(Load.applied_record.is_not(None))
            .group_by(AidBatch.program_code)
        ).all()
    )
    applied = dict(
        session.execute(
            select(Load.purse_code, func.sum(Load.amount))
            .where(Load.applied_record.is_not(None))
            .group_by(Load.purse_code)
        ).all()
    )
    balances = dict(session.execute(select(Account.code, Account.balance)).all())
    on_cards: dict[str, int] = {}
    for code, balance in balances.items():
        if code.startswith("purse:"):
            program = code.rsplit(":", 1)[1]
            on_cards[program] = on_cards.get(program, 0) - int(balance)
    programs = sorted(set(signed) | set(applied) | set(on_cards))
    rows: Rows = []
    for p in programs:
        expired = -int(balances.get(postings.expired(p), 0))
        rows.append(
            {
                "program": p,
                "aid_signed": int(signed.get(p) or 0),
                "aid_confirmed": int(confirmed.get(p) or 0),
                "spent": int(applied.get(p) or 0) - on_cards.get(p, 0) - expired,
                "expired": expired,
                "on_cards": on_cards.get(p, 0),
            }
        )
    return rows
