"""Helping the host see every counter (docs/card-protocol.md): reading the card-log entries it
is missing, and settling this terminal's stuck intents with the card messages it relays.

Both run outside the sale's three APDUs: the log is read after the receipt, in the same card
session, once the holder's PIN has opened it; the resolutions are applied from the journal.
"""

from __future__ import annotations

from drivers.card.session import CardSession
from drivers.card.transport import CardError
from ledger.binary import FormatError
from ledger.cardproofs import (
    CardCertificate,
    DebitProof,
    LoadReceipt,
    VoidProof,
    decode_card_transaction,
)
from terminal.host_requests import HostResolution
from terminal.journal import Intent, IntentKind
from terminal.sale.outcome import Resolution
from terminal.sale.till import Till

LOG_ENTRIES = 16
"""A card's log holds its last 16 transactions: older counters cannot be read any more."""

_MESSAGE_OF = {
    IntentKind.SALE: DebitProof,
    IntentKind.VOID: VoidProof,
    IntentKind.LOAD: LoadReceipt,
}


def fetch_wanted(till: Till, session: CardSession, asked_now: tuple[int, ...] = ()) -> int:
    """Read from the card's log the counters the host asked for (at the last sync, or just now
    when the card was presented online) and keep them for upload; returns how many were kept.
    Never raises: the sale is already done."""
    number = session.card_number
    if number is None or not session.holder_verified:
        return 0
    oldest = session.counter - LOG_ENTRIES + 1
    kept = 0
    for counter in sorted({*till.wanted_counters(number), *asked_now}):
        if not oldest <= counter <= session.counter:
            continue
        try:
            message = session.get_transaction(counter)
        except CardError:
            break  # the card left or refused: what was read is kept
        kept += till.journal.add_evidence(number, counter, message.encode(), till.clock())
    return kept


def settle_from_host(till: Till) -> list[Resolution]:
    """Apply the host's resolutions to this terminal's stuck intents."""
    found = till.host_resolutions()
    if not found:
        return []
    done = []
    for intent in till.journal.open_intents():
        resolution = found.get(intent.id)
        if resolution is not None:
            outcome = _settle(till, intent, resolution)
            if outcome is not None:
                done.append(outcome)
    return done


def _settle(till: Till, intent: Intent, resolution: HostResolution) -> Resolution | None:
    kind = str(intent.kind)
    if resolution.settled_at_host:
        till.journal.settle_at_host(intent.id, "settled at the host by an operator")
        return Resolution(intent.id, kind, "settled_at_host")
    expected_type = _MESSAGE_OF.get(intent.kind)
    if expected_type is None or resolution.card_message is None:
        return None
    try:
        message = decode_card_transaction(resolution.card_message)
        certificate = CardCertificate.decode(intent.draft["card_cert"])
    except (FormatError, KeyError, TypeError):
        return None  # not evidence this terminal can check: the intent stays as it is
    if not (
        message.verify(certificate.public_key)
        and message.card_number == intent.card_number == certificate.card_number
        and message.counter == intent.expected_counter
    ):
        return None
    if message.nonce != intent.nonce:
        till.journal.abort_intent(
            intent.id, "the host holds another card transaction at that counter: it never ran"
        )
        return Resolution(intent.id, kind, "aborted", reason="never_ran")
    if not isinstance(message, expected_type):
        return None
    record = till.complete(intent, message.encode(), None, cashier="")
    return Resolution(intent.id, kind, "completed", record_id=record.id)
