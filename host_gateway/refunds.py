"""Refunds after the card session: a host decision, never a terminal's (M1).

Inside the card session a sale is cancelled on the card itself; afterwards value goes back to a
holder only as an issuer-signed load. An operator asks for a refund of an accepted sale (by its
terminal and seq), a **second** operator approves it; then the issuer signs one LoadAuthorization
per purse the sale paid from, with ``purpose`` REFUND and ``refund_of`` = the sale's card counter,
and the sale's shop pays it (``shop:S`` -> ``pending:P``: its payable goes down at approval).
The load is delivered like any pending load and closed by the card's receipt. All refunds of a
sale together never exceed what the card paid for it.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import loads, postings
from host_gateway.errors import GatewayError, not_found
from host_gateway.models import Card, Load, Refund
from host_gateway.pki import IssuerKeys
from host_gateway.references import StoredSale, cancelled_on_card, record_in_chain, stored_sale
from ledger.verify import business_date


def find_sale(session: Session, reference: str) -> StoredSale:
    """The accepted sale named ``TERMINAL/SEQ``."""
    record = record_in_chain(session, reference)
    if record.type != "sale" or record.status != "accepted":
        raise GatewayError("invalid", f"record {reference} is not an accepted sale")
    return stored_sale(session, record)


def refunded(session: Session, record_id: bytes) -> dict[str, int]:
    """Per purse, what the refunds of this sale (asked or approved) give back."""
    total: dict[str, int] = {}
    for (amounts,) in session.execute(select(Refund.amounts).where(Refund.record_id == record_id)):
        for code, amount in json.loads(amounts).items():
            total[code] = total.get(code, 0) + int(amount)
    return total


def create(
    session: Session, reference: str, amount: int, operator: str, reason: str, now: int
) -> Refund:
    if not operator.strip():
        raise GatewayError("invalid", "the operator asking for the refund must be named")
    sale = find_sale(session, reference)
    number, counter = sale.proof.card_number, sale.proof.counter
    if cancelled_on_card(session, sale.proof):
        raise GatewayError("invalid", f"sale {reference} was cancelled on the card")
    given = refunded(session, sale.record.id)
    left = {p.code: p.amount - given.get(p.code, 0) for p in sale.proof.purses}
    if not 1 <= amount <= sum(left.values()):
        raise GatewayError(
            "invalid",
            f"refund must be 1..{sum(left.values())} rupiah: the sale paid "
            f"{sale.proof.total} and {sum(given.values())} is already refunded",
        )
    amounts: dict[str, int] = {}
    for code in sorted(left):  # each purse gets back at most what it paid
        share = min(left[code], amount - sum(amounts.values()))
        if share:
            amounts[code] = share
    refund = Refund(
        record_id=sale.record.id,
        terminal_id=sale.record.terminal_id,
        shop_id=sale.shop_id,
        card_number=number,
        card_counter=counter,
        amounts=json.dumps(amounts, separators=(",", ":")),
        reason=reason,
        created_by=operator.strip(),
        created_at=now,
    )
    session.add(refund)
    session.flush()
    return refund


def approve(
    session: Session, keys: IssuerKeys, refund_id: int, operator: str, now: int
) -> list[Load]:
    """A second operator approves: REFUND loads signed, the shop's payable reduced."""
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise not_found(f"refund {refund_id}")
    if refund.approved_at is not None:
        raise GatewayError("invalid", f"refund {refund_id} was approved by {refund.approved_by}")
    if operator.strip().casefold() in ("", refund.created_by.casefold()):
        raise GatewayError("invalid", "a refund is approved by another operator than who asked")
    card = session.get_one(Card, refund.card_number)
    if card.status != "active":
        raise GatewayError("card_not_active", f"card {card.number} is {card.status}", 409)
    created = []
    entry = postings.Entry("refund", f"refund {refund_id} of card counter {refund.card_counter}")
    for code, amount in sorted(json.loads(refund.amounts).items()):
        expiry = session.scalar(
            select(func.max(Load.expiry)).where(
                Load.card_number == card.number, Load.purse_code == code
            )
        )
        if expiry is None or expiry <= business_date(now):
            raise GatewayError("invalid", f"purse {code} of card {card.number} has expired")
        created.append(
            loads.authorize(
                session, keys, card.number, code, int(amount), expiry, now, refund.card_counter
            )
        )
        entry.transfer(postings.shop(refund.shop_id), postings.pending(code), int(amount))
    postings.post(session, now, [entry])
    refund.approved_by, refund.approved_at = operator.strip(), now
    session.flush()
    return created


def listing(session: Session) -> list[dict[str, object]]:
    return [
        {
            "id": r.id,
            "terminal": r.terminal_id,
            "shop": r.shop_id,
            "card": r.card_number,
            "card_counter": r.card_counter,
            "amounts": json.loads(r.amounts),
            "reason": r.reason,
            "created_by": r.created_by,
            "approved_by": r.approved_by,
        }
        for r in session.scalars(select(Refund).order_by(Refund.id))
    ]
