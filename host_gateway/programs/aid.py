"""Monthly aid with maker-checker: one operator prepares a program period's loads from the
active recipients' cards, a **different** operator approves (checked here, in the host, whatever
calls it), then the issuer signs one LoadAuthorization per card purse. Terminals deliver them
like any pending load; the card's load receipt confirms each (``loads.applied_record``).

Approving moves the batch's total from the program's fund to ``pending:P`` in one entry; each
card's receipt moves its part into the card's purse (host_gateway/ingest).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from host_gateway import counters, postings
from host_gateway.db import bulk_insert
from host_gateway.errors import GatewayError, not_found
from host_gateway.models import Card, Load, LoadSupersession, StuckIntent, TerminalCard
from host_gateway.pki import IssuerKeys
from host_gateway.programs import terms
from host_gateway.programs.models import AidBatch, AidLine, Recipient, RecipientProgram
from ledger.cardproofs import LoadAuthorization
from ledger.verify import business_date


@dataclass(frozen=True)
class Prepared:
    batch: AidBatch
    without_card: int
    """Active recipients of the program with no active card: they get nothing this time."""


def _operator(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise GatewayError("invalid", f"the operator who {what} must be named (1-64 characters)")
    return name


def prepare(session: Session, program: str, period: str, operator: str, now: int) -> Prepared:
    who = _operator(operator, "prepares the loads")
    program_terms = terms.get(session, program)
    start = terms.parse_period(program_terms, period)
    if session.scalar(
        select(AidBatch.id).where(AidBatch.program_code == program, AidBatch.period == start)
    ):
        raise GatewayError("exists", f"the {program} loads of {period} are already prepared", 409)
    expiry = terms.expiry(program_terms, start)
    if expiry <= business_date(now):
        raise GatewayError("invalid", f"aid of {period} would expire on {expiry}, already past")
    members = session.execute(
        select(Recipient.id, Recipient.card_number, Card.status)
        .join(RecipientProgram, RecipientProgram.recipient_id == Recipient.id)
        .outerjoin(Card, Card.number == Recipient.card_number)
        .where(RecipientProgram.program_code == program, Recipient.status == "active")
        .order_by(Recipient.id)
    ).all()
    served = [(rid, number) for rid, number, status in members if status == "active"]
    batch = AidBatch(
        program_code=program,
        period=start,
        load_date=terms.load_date(program_terms, start),
        expiry=expiry,
        amount=program_terms.benefit,
        cards=len(served),
        prepared_by=who,
        prepared_at=now,
    )
    session.add(batch)
    session.flush()
    bulk_insert(
        session,
        AidLine,
        [
            {"batch_id": batch.id, "card_number": number, "recipient_id": rid, "load_seq": None}
            for rid, number in served
        ],
    )
    return Prepared(batch, len(members) - len(served))


def approve(session: Session, keys: IssuerKeys, batch_id: int, operator: str, now: int) -> int:
    """Sign the batch's loads (from its load date on); returns how many were signed. A card no
    longer active since preparation is skipped (its line stays unsigned, reported by status)."""
    who = _operator(operator, "approves the loads")
    batch = session.get(AidBatch, batch_id)
    if batch is None:
        raise not_found(f"aid batch {batch_id}")
    if batch.approved_at is not None:
        raise GatewayError("invalid", f"aid batch {batch_id} was approved by {batch.approved_by}")
    if who.casefold() == batch.prepared_by.casefold():
        raise GatewayError(
            "same_operator", "the loads are approved by another operator than who prepared them"
        )
    today = business_date(now)
    if today < batch.load_date:
        raise GatewayError("invalid", f"the aid of this batch is loaded from {batch.load_date}")
    if batch.expiry <= today:
        raise GatewayError("invalid", f"the aid of this batch expired on {batch.expiry}")
    lines = session.execute(
        select(AidLine.card_number, AidLine.recipient_id, Card.status)
        .join(Card, Card.number == AidLine.card_number)
        .where(AidLine.batch_id == batch_id)
        .order_by(AidLine.card_number)
    ).all()
    last_seq = dict(
        session.execute(
            select(Load.card_number, Load.load_seq)
            .join(AidLine, AidLine.card_number == Load.card_number)
            .where(AidLine.batch_id == batch_id)
            .order_by(Load.card_number, Load.load_seq)
        ).all()
    )  # ascending, so each card keeps its highest
    active = [line for line in lines if line.status == "active"]
    version = counters.advance(session, counters.LOADS_VERSION, len(active)) - len(active)
    sqlite = session.get_bind().dialect.name != "postgresql"
    expiry: dt.date | str = batch.expiry.isoformat() if sqlite else batch.expiry
    loads, signed = [], {}
    for number, (card_number, _, _) in enumerate(active, start=1):
        seq = int(last_seq.get(card_number, 0)) + 1
        authorization = LoadAuthorization(
            card_number=card_number,
            load_seq=seq,
            purse_code=batch.program_code,
            amount=batch.amount,
            expiry=batch.expiry,
            issued=today,
            issuer_key_id=keys.authority.key_id,
        ).signed_by(keys.authority)
        loads.append(
            {
                "card_number": card_number,
                "load_seq": seq,
                "purse_code": batch.program_code,
                "amount": batch.amount,
                "expiry": expiry,
                "authorization": authorization.encode(),
                "created": now,
                "version": version + number,
                "applied_record": None,
                "applied_at": None,
            }
        )
        signed[card_number] = seq
    bulk_insert(session, Load, loads)
    session.execute(delete(AidLine).where(AidLine.batch_id == batch_id))
    bulk_insert(
        session,
        AidLine,
        [
            {"batch_id": batch_id, "card_number": n, "recipient_id": r, "load_seq": signed.get(n)}
            for n, r, _ in lines
        ],
    )
    total = batch.amount * len(active)
    entry = postings.Entry("aid_batch", f"aid batch {batch_id} {batch.program_code} {batch.period}")
    postings.post(
        session,
        now,
        [
            entry.transfer(
                postings.fund(batch.program_code), postings.pending(batch.program_code), total
            )
        ],
    )
    batch.approved_by, batch.approved_at = who, now
    session.flush()
    return len(active)


def status(session: Session, batch_id: int) -> dict[str, object]:
    """Counts per state and, per card not confirmed, why it has not received its aid."""
    batch = session.get(AidBatch, batch_id)
    if batch is None:
        raise not_found(f"aid batch {batch_id}")
    rows = session.execute(
        select(
            AidLine.card_number,
            AidLine.load_seq,
            Card.status,
            Load.applied_record,
            LoadSupersession.load_id,
        )
        .join(Card, Card.number == AidLine.card_number)
        .outerjoin(
            Load,
            (Load.card_number == AidLine.card_number) & (Load.load_seq == AidLine.load_seq),
        )
        .outerjoin(LoadSupersession, LoadSupersession.load_id == Load.id)
        .where(AidLine.batch_id == batch_id)
        .order_by(AidLine.card_number)
    ).all()
    served = set(
        session.scalars(
            select(TerminalCard.card_number)
            .join(AidLine, AidLine.card_number == TerminalCard.card_number)
            .where(AidLine.batch_id == batch_id)
        )
    )
    torn = set(
        session.scalars(
            select(StuckIntent.card_number).where(
                StuckIntent.kind == "load",
                StuckIntent.closed_at.is_(None),
                StuckIntent.settled_at.is_(None),
            )
        )
    )
    counts = {"prepared": 0, "pending": 0, "delivered": 0, "confirmed": 0, "not_signed": 0,
              "carried": 0}  # fmt: skip
    waiting = []
    for number, seq, card_status, applied, superseded in rows:
        if batch.approved_at is None:
            counts["prepared"] += 1
            continue
        if seq is None:
            counts["not_signed"] += 1
            waiting.append({"card": number, "why": f"card was {card_status} at approval"})
        elif applied is not None:
            counts["confirmed"] += 1
        elif superseded is not None:  # the card ended first: carried to its new card, or back
            counts["carried"] += 1
        else:
            state = "delivered" if number in served else "pending"
            counts[state] += 1
            waiting.append({"card": number, "why": _why(card_status, number in torn, state)})
    return {
        "batch": batch.id,
        "program": batch.program_code,
        "period": batch.period.strftime("%Y-%m"),
        "amount": batch.amount,
        "prepared_by": batch.prepared_by,
        "approved_by": batch.approved_by,
        "counts": counts,
        "waiting": waiting,
    }


def _why(card_status: str, torn: bool, state: str) -> str:
    if card_status != "active":
        return f"card is {card_status}"
    if torn:
        return "the card was torn away during a load: the terminal resolves it when it is back"
    if state == "pending":
        return "no terminal has served the card yet: it gets the load when presented online"
    return "not presented at a shop since the load was signed"


def batches(session: Session) -> list[AidBatch]:
    return list(session.scalars(select(AidBatch).order_by(AidBatch.id)))
