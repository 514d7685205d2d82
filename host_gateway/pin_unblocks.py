"""PIN-unblock orders at the host: an operator asks, the issuer authority signs one order for
one card, the terminals that served the card relay it, and the card's signed receipt closes it.

The order gives a holder who used up the PIN tries ``tries`` new ones (the PIN stays theirs,
docs/card-protocol.md, UNBLOCK PIN). It is signed only for an active card (a hotlisted card is
blocked, never unblocked) and only one is open per card at a time, so no card has two sets of
fresh guesses waiting. Nothing here moves money: the card's counter stays and nothing is posted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from host_gateway import events
from host_gateway.errors import GatewayError, not_found
from host_gateway.models import Card, PinUnblock, TerminalCard
from host_gateway.pki import IssuerKeys
from ledger.cardproofs import MAX_PIN_TRIES, UNBLOCK_ORDER_DAYS, sign_unblock_order
from ledger.verify import business_date

DEFAULT_TRIES = 3
"""The tries a card is personalized with (``issue_card``): a card refuses more than its own."""
MAX_ORDER_DAYS = 90


def issue_unblock(
    session: Session,
    keys: IssuerKeys,
    card_number: str,
    *,
    operator: str,
    now: int,
    tries: int = DEFAULT_TRIES,
    valid_days: int = UNBLOCK_ORDER_DAYS,
) -> PinUnblock:
    """Sign the card's next PIN-unblock order and keep it open; the operator is audited. The
    card's row is locked, so two operators at once cannot both find no open order."""
    card = session.get(Card, card_number, with_for_update=True)
    if card is None:
        raise not_found(f"card {card_number}")
    if card.status != "active":
        raise GatewayError(
            "card_not_active", f"card {card_number} is {card.status}: no PIN unblock", 409
        )
    if not 1 <= tries <= MAX_PIN_TRIES:
        raise GatewayError("invalid", f"tries must be 1..{MAX_PIN_TRIES}")
    if not 1 <= valid_days <= MAX_ORDER_DAYS:
        raise GatewayError("invalid", f"an order is valid for 1..{MAX_ORDER_DAYS} days")
    today = business_date(now)
    for row in orders_of(session, card_number):
        if state(row, today) == "open":
            raise GatewayError(
                "unblock_open",
                f"card {card_number} already has PIN-unblock order {row.unblock_seq} open"
                f" (asked by {row.created_by}, valid until {row.valid_until.isoformat()}):"
                " the next terminal that meets the card applies it",
                409,
            )
    last = session.scalar(
        select(func.max(PinUnblock.unblock_seq)).where(PinUnblock.card_number == card_number)
    )
    seq = int(last or 0) + 1
    order = sign_unblock_order(keys.authority, card_number, seq, tries, today, valid_days)
    row = PinUnblock(
        card_number=card_number,
        unblock_seq=seq,
        tries=tries,
        valid_until=order.valid_until,
        order=order.encode(),
        created=now,
        created_by=operator,
    )
    session.add(row)
    session.flush()
    events.audit(
        session,
        now,
        operator,
        f"cards unblock-pin {card_number} order {seq} ({tries} tries, until {row.valid_until})",
    )
    return row


def state(row: PinUnblock, today: dt.date) -> str:
    """applied (a card receipt closed it), open (still relayed) or expired."""
    if row.applied_at is not None:
        return "applied"
    return "open" if row.valid_until >= today else "expired"


def orders_of(session: Session, card_number: str) -> list[PinUnblock]:
    return list(
        session.scalars(
            select(PinUnblock)
            .where(PinUnblock.card_number == card_number)
            .order_by(PinUnblock.unblock_seq)
        )
    )


def _open(today: dt.date) -> ColumnElement[bool]:
    """Orders a terminal should still relay: not closed, not expired, of a card still active."""
    return and_(
        PinUnblock.applied_at.is_(None),
        PinUnblock.valid_until >= today,
        Card.status == "active",
    )


def open_orders_of(session: Session, card_number: str, today: dt.date) -> list[bytes]:
    """The card's open order (at most one), as the issuer signed it."""
    return list(
        session.scalars(
            select(PinUnblock.order)
            .join(Card, Card.number == PinUnblock.card_number)
            .where(PinUnblock.card_number == card_number, _open(today))
            .order_by(PinUnblock.unblock_seq)
        )
    )


def open_orders_for(session: Session, terminal_id: str, today: dt.date) -> list[bytes]:
    """Open orders of the cards this terminal served (S4: not the whole city's), all of them:
    they are few, and the terminal keeps exactly the list it was sent."""
    return list(
        session.scalars(
            select(PinUnblock.order)
            .join(Card, Card.number == PinUnblock.card_number)
            .join(
                TerminalCard,
                (TerminalCard.card_number == PinUnblock.card_number)
                & (TerminalCard.terminal_id == terminal_id),
            )
            .where(_open(today))
            .order_by(PinUnblock.card_number, PinUnblock.unblock_seq)
        )
    )


@dataclass(frozen=True)
class Applied:
    """A card's receipt for one order, as ingest or the office reader saw it."""

    card_number: str
    unblock_seq: int
    terminal_id: str
    receipt: bytes
    record_id: bytes | None


def close(session: Session, applied: list[Applied], at: int) -> None:
    """Close orders the card applied (the first receipt wins; a closed order stays as it is)."""
    for item in applied:
        session.execute(
            update(PinUnblock)
            .where(
                PinUnblock.card_number == item.card_number,
                PinUnblock.unblock_seq == item.unblock_seq,
                PinUnblock.applied_at.is_(None),
            )
            .values(
                applied_at=at,
                applied_terminal=item.terminal_id,
                applied_record=item.record_id,
                receipt=item.receipt,
            )
        )


def describe(row: PinUnblock, today: dt.date) -> dict[str, Any]:
    """What an operator sees of one order (CLI and console)."""
    return {
        "card": row.card_number,
        "unblock_seq": row.unblock_seq,
        "tries": row.tries,
        "state": state(row, today),
        "valid_until": row.valid_until.isoformat(),
        "created_by": row.created_by,
        "created": row.created,
        "applied_terminal": row.applied_terminal,
        "applied_at": row.applied_at,
    }
