"""Settling unfinished card operations with the card's own log (docs/sale-state-machine.md).

An intent is unfinished when the terminal committed it but never learned what the card did:
the card was pulled, the terminal crashed, the reader vanished. Only the card knows, so the
intent is settled when that card is read again: the counter and the logged transaction at the
expected counter say whether the command ran (complete with the logged proof) or not (abort).
"""

from __future__ import annotations

from drivers.card.errors import CardRefused, TransactionNotFound
from drivers.card.protocol import BlockRequest, CardInfo, CardState, PinUnblockRequest
from drivers.card.session import CardSession
from drivers.card.transport import CardError
from ledger.binary import FormatError
from terminal.journal import Intent, IntentKind, IntentStatus, Journal
from terminal.sale.outcome import Resolution
from terminal.sale.till import Till


def mark_interrupted(journal: Journal) -> int:
    """At start-up: every intent still open was interrupted by the crash; it waits for its card."""
    count = 0
    for intent in journal.open_intents():
        if intent.status is IntentStatus.OPEN:
            journal.mark_unresolved(intent.id, "terminal restarted before the card answered")
            count += 1
    return count


def resolve_for_card(
    till: Till, session: CardSession, info: CardInfo, cashier: str = ""
) -> list[Resolution]:
    """Settle every unfinished intent of the card in the field, oldest first."""
    number = session.card_number
    if number is None:
        return []
    return [_resolve(till, session, info, i, cashier) for i in till.journal.open_intents(number)]


def _resolve(
    till: Till, session: CardSession, info: CardInfo, intent: Intent, cashier: str
) -> Resolution:
    if intent.kind is IntentKind.BLOCK:
        return _resolve_block(till, session, info, intent, cashier)
    if intent.kind is IntentKind.PIN_UNBLOCK:
        return _resolve_pin_unblock(till, session, info, intent, cashier)
    if info.counter < intent.expected_counter:
        till.journal.abort_intent(intent.id, "the card's counter shows the command never ran")
        return Resolution(intent.id, str(intent.kind), "aborted", reason="never_ran")
    try:
        logged = session.find_transaction(intent.nonce, intent.expected_counter)
    except TransactionNotFound:
        logged = None
        reason = "the card no longer holds that transaction in its log"
        if intent.status is IntentStatus.OPEN:
            till.journal.mark_unresolved(intent.id, reason)
        return Resolution(intent.id, str(intent.kind), "unresolved", reason="log_rolled_over")
    if logged is None:
        till.journal.abort_intent(intent.id, "the card logged another transaction at that counter")
        return Resolution(intent.id, str(intent.kind), "aborted", reason="never_ran")
    record = till.complete(intent, logged.encode(), info, cashier)
    return Resolution(intent.id, str(intent.kind), "completed", record_id=record.id)


def _resolve_block(
    till: Till, session: CardSession, info: CardInfo, intent: Intent, cashier: str
) -> Resolution:
    """A block changes no counter: if the card is blocked, ask again for its receipt."""
    if info.state is not CardState.BLOCKED:
        till.journal.abort_intent(intent.id, "the card is not blocked: the order never ran")
        return Resolution(intent.id, str(intent.kind), "aborted", reason="never_ran")
    try:
        receipt = session.block(BlockRequest.decode(intent.request))
    except (CardError, CardRefused, FormatError) as exc:
        return Resolution(intent.id, str(intent.kind), "unresolved", reason=str(exc))
    record = till.complete(intent, receipt.encode(), info, cashier)
    return Resolution(intent.id, str(intent.kind), "completed", record_id=record.id)


def _resolve_pin_unblock(
    till: Till, session: CardSession, info: CardInfo, intent: Intent, cashier: str
) -> Resolution:
    """The card answers the order it applied last with its receipt again and changes nothing,
    and applies one it never saw: sending it again settles the intent either way."""
    try:
        receipt = session.unblock_pin(PinUnblockRequest.decode(intent.request))
    except CardRefused as exc:
        till.journal.abort_intent(intent.id, f"the card refused the PIN unblock: {exc}")
        return Resolution(intent.id, str(intent.kind), "aborted", reason=str(exc))
    except (CardError, FormatError) as exc:
        return Resolution(intent.id, str(intent.kind), "unresolved", reason=str(exc))
    record = till.complete(intent, receipt.encode(), session.info or info, cashier)
    return Resolution(intent.id, str(intent.kind), "completed", record_id=record.id)
