"""Applying the issuer's PIN-unblock order to a card whose holder used up the PIN tries.

Like a block order, it travels from the host (the sync's list, or the host's answer for the
presented card), is written ahead, relayed, and recorded with the card's signed receipt so the
host can close the order. It is sent only to a card whose PIN is blocked: that is what it is
for, and an order is never spent on a card that does not need it. The holder keeps the PIN.
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.card.protocol import CardInfo, PinUnblockRequest
from drivers.card.session import CardSession
from ledger.bodies import PinUnblockBody
from ledger.cardproofs import NONCE_SIZE, PinUnblockOrder
from terminal.journal import IntentKind
from terminal.sale.outcome import Resolution
from terminal.sale.till import CardBusy, CardCommand, CardCommandError, Till


def apply_pin_unblock(
    till: Till,
    session: CardSession,
    info: CardInfo,
    orders: Sequence[PinUnblockOrder],
    now: int,
) -> tuple[CardInfo, list[Resolution]]:
    """The newest valid order for this PIN-blocked card, relayed; the card info after it."""
    number, certificate = session.card_number, session.certificate
    assert number is not None and certificate is not None
    if info.pin_tries_left != 0:
        return info, []
    today = till.today(now)
    mine = [o for o in orders if o.card_number == number and o.valid_until >= today]
    if not mine:
        return info, []
    order = max(mine, key=lambda o: o.unblock_seq)
    request = PinUnblockRequest(order, till.terminal_id, now)
    draft = PinUnblockBody(number, certificate.encode(), order.encode(), b"")
    command = CardCommand(
        IntentKind.PIN_UNBLOCK,
        number,
        info.counter,
        till.random_bytes(NONCE_SIZE),
        request.encode(),
        draft.to_value(),
        lambda: session.unblock_pin(request),
        "PIN unblock",
    )
    try:
        _, record, intent_id = till.run(command, now, info, cashier="")
    except CardBusy:
        return info, []  # another unfinished operation with this card comes first
    except CardCommandError as failed:
        result = "unresolved" if failed.unresolved else "aborted"
        return info, [Resolution(failed.intent.id, "pin_unblock", result, reason=str(failed.cause))]
    done = Resolution(intent_id, "pin_unblock", "completed", record_id=record.id)
    return session.info or info, [done]
