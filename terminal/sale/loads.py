"""Applying the issuer's pending loads to a card when it is presented (online or prefetched).

Each load is a card operation like a debit: written ahead, relayed, and recorded with the card's
signed receipt so the host can close the load. The card refuses a load it already took.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from drivers.card.protocol import LOAD_REQUEST_TAIL, LOAD_WINDOW, CardInfo, LoadRequest
from drivers.card.session import CardSession
from ledger.bodies import LoadBody
from ledger.cardproofs import NONCE_SIZE, LoadAuthorization
from terminal.journal import IntentKind
from terminal.sale.outcome import Resolution
from terminal.sale.till import CardBusy, CardCommand, CardCommandError, Till


def apply_loads(
    till: Till,
    session: CardSession,
    info: CardInfo,
    loads: Sequence[LoadAuthorization],
    now: int,
) -> tuple[CardInfo, list[Resolution]]:
    """Relay every load for this card newer than what it holds, in load order.

    Returns the card info as it is after the loads (re-read) and what happened to each.
    Stops at the first load whose outcome is unknown (card pulled): it waits for the card.
    A load older than the card's newest may still be unused (the card keeps a window of
    ``LOAD_WINDOW``): it is offered too, and a used one is refused and aborted (the host drops
    it from the pending list when its receipt arrives).
    """
    number, certificate = session.card_number, session.certificate
    assert number is not None and certificate is not None
    candidates = [
        a
        for a in loads
        if a.card_number == number and a.load_seq > info.last_load_seq - LOAD_WINDOW
    ]
    if any(a.load_seq <= info.last_load_seq for a in candidates):
        relayed = {request[:-LOAD_REQUEST_TAIL] for request in till.journal.relayed_loads(number)}
        candidates = [a for a in candidates if a.encode() not in relayed]
    mine = sorted(candidates, key=lambda a: a.load_seq)
    done: list[Resolution] = []
    counter = info.counter
    for authorization in mine:
        nonce = till.random_bytes(NONCE_SIZE)
        request = LoadRequest(authorization, till.terminal_id, nonce, now)
        draft = LoadBody(number, certificate.encode(), authorization.encode(), b"")
        command = CardCommand(
            IntentKind.LOAD,
            number,
            counter + 1,
            nonce,
            request.encode(),
            draft.to_value(),
            functools.partial(session.load, request),
            "load",
        )
        try:
            receipt, record, intent_id = till.run(command, now, info, cashier="")
        except CardBusy:
            break
        except CardCommandError as failed:
            result = "unresolved" if failed.unresolved else "aborted"
            done.append(Resolution(failed.intent.id, "load", result, reason=str(failed.cause)))
            if failed.unresolved:
                break
            continue
        counter = receipt.counter
        done.append(Resolution(intent_id, "load", "completed", record_id=record.id))
    if any(r.result == "completed" for r in done) and not any(
        r.result == "unresolved" for r in done
    ):
        info = session.read_card(till.today(now))  # a torn load: the card may be gone
    return info, done
