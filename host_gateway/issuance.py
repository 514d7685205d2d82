"""Card issuance: a blank card in a reader becomes a registered, personalized Kartu SSN.

The card generates its key on itself (the private key never leaves it); the CA certifies the
public key while the card is registered in the same database transaction; then the card is
personalized with its certificate, the holder's display name, the authority key it will trust for
loads and block orders, and the PIN. If the card refuses or leaves the reader, the transaction is
rolled back and the card stays blank or unusable for sales (no certificate), never half-known.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from drivers.card.protocol import CardState, Personalization, pin_block
from drivers.card.session import CardSession
from drivers.card.transport import CardError, CardTransport
from host_gateway.cards import Issued, register_card
from host_gateway.errors import GatewayError
from host_gateway.pki import IssuerKeys
from ledger.binary import FormatError


def issue_card(
    session: Session,
    keys: IssuerKeys,
    transport: CardTransport,
    *,
    holder_name: str,
    programs: Sequence[str],
    pin: str,
    now: int,
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
        )
        card.personalize(
            Personalization(
                issued.certificate,
                issued.card.holder_name,
                keys.authority.public_key,
                pin,
                pin_max_tries,
            )
        )
    except (CardError, FormatError) as exc:
        raise GatewayError("card_error", f"the card was not issued: {exc}", 409) from exc
    return issued
