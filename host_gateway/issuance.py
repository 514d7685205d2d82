"""Card issuance: a blank card in a reader becomes a registered, personalized Kartu SSN.

The card generates its key on itself (the private key never leaves it). Issuance then runs in
two committed steps around the one that cannot be rolled back, writing the card:

1. the card is registered as ``issuing``, with its number and the CA-signed certificate for its
   key, and committed, so that number is spent for good;
2. the card is personalized with that certificate, the holder's display name, the authority key
   it will trust for loads and block orders, and the PIN;
3. the card becomes ``active``.

If step 2 fails (the card refuses, tears or leaves the reader), the card may hold a valid
certificate anyway, so its number is never given out again: the card is marked ``spoiled`` and
hotlisted with a block order, and the operator issues a new blank card. A card left ``issuing``
(the host died during step 2) is not active either: no load is ever created for it, ingest
refuses its sales, and ``ssn-gateway cards hotlist N`` spoils it. If that happens while the
card is being written, step 3 finds the number spoiled and the issuance fails: the card holds a
certificate for a blocked number, and the operator issues a new blank card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session, sessionmaker

from drivers.card.protocol import CardState, Personalization, pin_block
from drivers.card.session import CardSession
from drivers.card.transport import CardError, CardTransport
from host_gateway import events
from host_gateway.cards import BLOCK_SPOILED, Issued, hotlist_card, register_card
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import Card
from host_gateway.pki import IssuerKeys
from ledger.binary import FormatError


def issue_card(
    factory: sessionmaker[Session],
    keys: IssuerKeys,
    transport: CardTransport,
    *,
    holder_name: str,
    programs: Sequence[str],
    pin: str,
    now: int,
    operator: str,
    number: str | None = None,
    nik: str | None = None,
    valid_until: dt.date | None = None,
    pin_max_tries: int = 3,
) -> Issued:
    try:
        pin_block(pin)  # checks the PIN's form before the card is touched
    except FormatError as exc:
        raise GatewayError("invalid", str(exc)) from exc
    card = CardSession(transport, {keys.ca.key_id: keys.ca.public_key})
    try:
        if card.select().state != CardState.BLANK:
            raise GatewayError("card_not_blank", "the card in the reader is already issued", 409)
        public_key = card.generate_key()
    except (CardError, FormatError) as exc:
        raise GatewayError("card_error", f"the card was not issued: {exc}", 409) from exc
    with transaction(factory) as session:
        issued = register_card(
            session,
            keys,
            holder_name=holder_name,
            programs=programs,
            public_key=public_key,
            now=now,
            number=number,
            nik=nik,
            valid_until=valid_until,
            status="issuing",
        )
    spent = issued.card.number
    try:
        card.personalize(
            Personalization(
                issued.certificate,
                issued.card.holder_name,
                keys.authority.public_key,
                pin,
                pin_max_tries,
            )
        )
    except BaseException as exc:
        with transaction(factory) as session:
            hotlist_card(session, keys, spent, BLOCK_SPOILED, "issuance failed", now)
            events.audit(session, now, operator, f"cards issue {spent} failed: card spoiled")
        if isinstance(exc, CardError | FormatError):
            raise GatewayError(
                "card_error",
                f"the card was not issued: {exc}; its number {spent} is void and hotlisted,"
                " issue a new blank card",
                409,
            ) from exc
        raise
    with transaction(factory) as session:
        result = session.execute(
            update(Card)
            .where(Card.number == spent, Card.status == "issuing")
            .values(status="active")
        )
        assert isinstance(result, CursorResult)
        activated = result.rowcount == 1
        # Not activated: the number was hotlisted while the card was being written (spoiled).
        outcome = f"({','.join(issued.programs)})" if activated else "failed: hotlisted meanwhile"
        events.audit(session, now, operator, f"cards issue {spent} {outcome}")
    if not activated:
        raise GatewayError(
            "card_hotlisted",
            f"the card was written but its number {spent} was hotlisted meanwhile and stays"
            " void: terminals will block the card, issue a new blank card",
            409,
        )
    issued.card.status = "active"
    return issued
