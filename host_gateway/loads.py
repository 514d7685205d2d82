"""Benefit loads: the authority signs one credit for one purse of one card, usable once.

``load_seq`` counts per card, so the card (and the host) refuse any authorization seen before.
Creating a load moves the amount from the program's fund to ``pending``; the card's signed
receipt, when it comes back in a load record, moves it into the card's purse.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import counters, postings
from host_gateway.errors import GatewayError, not_found
from host_gateway.models import Card, CardProgram, Load
from host_gateway.pki import IssuerKeys
from ledger.cardproofs import MAX_AMOUNT, LoadAuthorization
from ledger.verify import business_date


def create_load(
    session: Session,
    keys: IssuerKeys,
    *,
    card_number: str,
    program: str,
    amount: int,
    expiry: dt.date,
    now: int,
) -> Load:
    """A benefit load: the program's fund promises the amount (fund -> pending)."""
    card = session.get(Card, card_number)
    if card is None:
        raise not_found(f"card {card_number}")
    if card.status != "active":
        raise GatewayError("card_not_active", f"card {card_number} is {card.status}", 409)
    if session.get(CardProgram, (card_number, program)) is None:
        raise GatewayError("invalid", f"card {card_number} is not in program {program}")
    load = authorize(session, keys, card_number, program, amount, expiry, now)
    postings.post(
        session,
        now,
        [
            postings.Entry("load_authorized", f"load {card_number}#{load.load_seq}").transfer(
                postings.fund(program), postings.pending(program), amount
            )
        ],
    )
    return load


def authorize(
    session: Session,
    keys: IssuerKeys,
    card_number: str,
    program: str,
    amount: int,
    expiry: dt.date,
    now: int,
    refund_of: int = 0,
) -> Load:
    """The issuer's signed credit for one purse, with the card's next ``load_seq``, kept as a
    pending load (delivered to terminals like any); the caller posts where the money comes from.
    ``refund_of``: the card counter of the debit this refunds (0: a benefit load)."""
    if not 1 <= amount <= MAX_AMOUNT:
        raise GatewayError("invalid", f"amount must be 1..{MAX_AMOUNT} rupiah")
    today = business_date(now)
    if expiry <= today:
        raise GatewayError("invalid", "expiry must be after today")
    last = session.scalar(select(func.max(Load.load_seq)).where(Load.card_number == card_number))
    load_seq = int(last or 0) + 1
    authorization = LoadAuthorization(
        card_number=card_number,
        load_seq=load_seq,
        purse_code=program,
        amount=amount,
        expiry=expiry,
        issued=today,
        issuer_key_id=keys.authority.key_id,
        purpose=LoadAuthorization.REFUND if refund_of else LoadAuthorization.BENEFIT,
        refund_of=refund_of,
    ).signed_by(keys.authority)
    load = Load(
        card_number=card_number,
        load_seq=load_seq,
        purse_code=program,
        amount=amount,
        expiry=expiry,
        authorization=authorization.encode(),
        created=now,
        version=counters.next_value(session, counters.LOADS_VERSION),
    )
    session.add(load)
    session.flush()
    return load
