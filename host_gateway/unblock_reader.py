"""A PIN-unblock applied at the Dinas Sosial office, through a reader, while the holder waits.

The card gets exactly what a shop terminal would relay: the card's open order (or a new one,
signed as :func:`~host_gateway.pin_unblocks.issue_unblock` does), and its signed receipt closes
the order at once, so no terminal relays it afterwards. The order is committed before the card
is touched: if the card leaves the reader, the order stays open and the next shop applies it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from drivers.card.protocol import PinUnblockRequest
from drivers.card.session import CardSession
from drivers.card.transport import CardError, CardTransport
from host_gateway import events
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import PinUnblock
from host_gateway.pin_unblocks import Applied, close, issue_unblock, orders_of, state
from host_gateway.pki import IssuerKeys
from ledger.binary import FormatError
from ledger.cardproofs import PinUnblockOrder
from ledger.verify import business_date

OFFICE_READER = "DINSOS-1"
"""The terminal id the card's receipt names for the office reader (no terminal record)."""


def unblock_at_reader(
    factory: sessionmaker[Session],
    keys: IssuerKeys,
    transport: CardTransport,
    card_number: str,
    *,
    operator: str,
    now: int,
    tries: int,
    valid_days: int,
) -> PinUnblock:
    """Apply the card's open order (signing one if none is open) to the card in the reader."""
    today = business_date(now)
    card = CardSession(transport, {keys.ca.key_id: keys.ca.public_key})
    try:
        info = card.read_card(today)
    except (CardError, FormatError) as exc:
        raise GatewayError("card_error", f"the card in the reader: {exc}", 409) from exc
    if card.card_number != card_number:
        raise GatewayError(
            "card_mismatch", f"the card in the reader is {card.card_number}, not {card_number}"
        )
    if info.pin_tries_left != 0:
        raise GatewayError(
            "pin_not_blocked",
            f"card {card_number} has {info.pin_tries_left} PIN tries left: nothing to unblock",
            409,
        )
    with transaction(factory) as session:
        open_rows = [r for r in orders_of(session, card_number) if state(r, today) == "open"]
        row = open_rows[-1] if open_rows else None
        if row is None:
            row = issue_unblock(
                session,
                keys,
                card_number,
                operator=operator,
                now=now,
                tries=tries,
                valid_days=valid_days,
            )
        order = PinUnblockOrder.decode(row.order)
    try:
        receipt = card.unblock_pin(PinUnblockRequest(order, OFFICE_READER, now))
    except (CardError, FormatError) as exc:
        raise GatewayError(
            "card_error",
            f"the card did not apply PIN-unblock order {order.unblock_seq}: {exc}; the order"
            " stays open and the next terminal that meets the card applies it",
            409,
        ) from exc
    with transaction(factory) as session:
        applied = Applied(card_number, order.unblock_seq, OFFICE_READER, receipt.encode(), None)
        close(session, [applied], now)
        events.audit(
            session,
            now,
            operator,
            f"cards unblock-pin {card_number} order {order.unblock_seq} applied at the office",
        )
        return session.get_one(PinUnblock, (card_number, order.unblock_seq))
