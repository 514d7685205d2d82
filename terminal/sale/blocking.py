"""Hotlisted cards (S3): refused, and blocked for good when the issuer signed a block order.

The block order travels on the hotlist; the first terminal the card meets writes it to the
card (write-ahead like any card operation) and records the card's signed block receipt. An order
past its validity (by the terminal's date) is not sent: the card is refused and the cashier told
to sync, which brings the host's renewed order.
"""

from __future__ import annotations

import contextlib

from drivers.card.protocol import BlockRequest, CardInfo
from drivers.card.session import CardSession
from ledger.bodies import BlockBody
from ledger.cardproofs import NONCE_SIZE
from terminal.journal import IntentKind
from terminal.sale.outcome import Outcome, Status
from terminal.sale.till import CardBusy, CardCommand, CardCommandError, Till


def enforce_hotlist(till: Till, session: CardSession, info: CardInfo, now: int) -> Outcome | None:
    """None if the card is not hotlisted; otherwise the refusal (after blocking the card)."""
    number, certificate = session.card_number, session.certificate
    assert number is not None and certificate is not None
    entry = till.hotlist().get(number)
    if entry is None:
        return None
    refusal = Outcome(Status.REFUSED, "card_hotlisted", till.say("card_hotlisted"))
    if entry.block_order is None:
        return refusal
    valid_until = entry.block_order.valid_until
    if valid_until < till.today(now):
        # Past its window the card refuses the order (9408) and it proves nothing: the host
        # renews the order of a card still hotlisted, so this terminal's copy is old. Say so.
        return Outcome(
            Status.REFUSED,
            "card_hotlisted",
            till.say("block_order_expired", valid_until=valid_until.isoformat()),
            details={"block_order_expired": valid_until.isoformat()},
        )
    request = BlockRequest(entry.block_order, till.terminal_id, now)
    draft = BlockBody(number, certificate.encode(), entry.block_order.encode(), b"")
    command = CardCommand(
        IntentKind.BLOCK,
        number,
        info.counter,
        till.random_bytes(NONCE_SIZE),
        request.encode(),
        draft.to_value(),
        lambda: session.block(request),
        "block order",
    )
    with contextlib.suppress(CardBusy, CardCommandError):  # refused either way; the card waits
        till.run(command, now, info, cashier="")
    return refusal
