"""What the journal checks before a record enters the append-only chain.

A record, once appended, stays forever, so the journal refuses one that could never verify or
that is not the answer to its intent: the body must parse as its type, and the card's proof must
name this card, this terminal, the intent's nonce and the expected card counter. These checks
need no keys and cost microseconds; the signatures are checked by the sale engine before it
completes and by ``verify-ledger`` afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.binary import FormatError
from ledger.bodies import BlockBody, DayCloseBody, LoadBody, PinUnblockBody, SaleBody, VoidBody
from ledger.cardproofs import BlockReceipt, DebitProof, LoadReceipt, PinUnblockReceipt, VoidProof
from ledger.record import RecordType
from terminal.journal.models import IntentKind, JournalError


class RecordRefusedError(JournalError):
    """The record was not appended: it is malformed or does not answer its intent."""


@dataclass(frozen=True)
class Expected:
    """What the card's answer to an intent must say."""

    intent_id: uuid.UUID
    kind: IntentKind
    card_number: str
    nonce: bytes
    counter: int


def check_completion(
    intent: Expected, record_type: RecordType, body: Mapping[str, Any], terminal_id: str
) -> int:
    """Check a record completing ``intent``; returns the rupiah it debits from the card."""
    if record_type != intent.kind.record_type:
        raise RecordRefusedError(f"a {intent.kind} intent completes with a {intent.kind} record")
    try:
        card_number, counter, proof_terminal, nonce, card_total = _card_facts(record_type, body)
    except FormatError as exc:
        raise RecordRefusedError(f"malformed {record_type} record: {exc}") from exc
    problems = []
    if card_number != intent.card_number:
        problems.append("it is for another card")
    if proof_terminal != terminal_id:
        problems.append("the card's proof names another terminal")
    if nonce is not None and nonce != intent.nonce:
        problems.append("the card's proof carries another nonce")
    if counter != intent.counter:
        problems.append(f"the card's counter is {counter}, the intent expected {intent.counter}")
    if problems:
        raise RecordRefusedError(
            f"record does not answer intent {intent.intent_id}: {'; '.join(problems)}"
        )
    return card_total


def check_plain(record_type: RecordType, body: Mapping[str, Any]) -> None:
    """Check a record appended without an intent: only a day close is one."""
    if record_type != RecordType.DAY_CLOSE:
        raise RecordRefusedError(
            f"a {record_type} record moves value on a card and needs a write-ahead intent"
        )
    try:
        DayCloseBody.from_value(body)
    except FormatError as exc:
        raise RecordRefusedError(f"malformed day close: {exc}") from exc


def _card_facts(
    record_type: RecordType, body: Mapping[str, Any]
) -> tuple[str, int, str, bytes | None, int]:
    """(card number, card counter, terminal, nonce, card debit) as the card signed them."""
    match record_type:
        case RecordType.SALE:
            sale = SaleBody.from_value(body)
            debit = DebitProof.decode(sale.card_proof)
            if debit.basket_digest != sale.digest():
                raise FormatError("the lines differ from the basket the card signed")
            if {p.code: p.amount for p in debit.purses} != sale.purse_totals():
                raise FormatError("purse amounts differ from what the card signed")
            number = _same_card(sale.card_number, debit.card_number)
            return number, debit.counter, debit.terminal_id, debit.nonce, sale.card_total
        case RecordType.VOID:
            void = VoidBody.from_value(body)
            undo = VoidProof.decode(void.card_proof)
            number = _same_card(void.card_number, undo.card_number)
            return number, undo.counter, undo.terminal_id, undo.nonce, 0
        case RecordType.LOAD:
            load = LoadBody.from_value(body)
            receipt = LoadReceipt.decode(load.card_receipt)
            number = _same_card(load.card_number, receipt.card_number)
            return number, receipt.counter, receipt.terminal_id, receipt.nonce, 0
        case RecordType.BLOCK:
            block = BlockBody.from_value(body)
            blocked = BlockReceipt.decode(block.card_receipt)
            number = _same_card(block.card_number, blocked.card_number)
            return number, blocked.counter, blocked.terminal_id, None, 0
        case RecordType.PIN_UNBLOCK:
            unblock = PinUnblockBody.from_value(body)
            unblocked = PinUnblockReceipt.decode(unblock.card_receipt)
            number = _same_card(unblock.card_number, unblocked.card_number)
            return number, unblocked.counter, unblocked.terminal_id, None, 0
    raise FormatError(f"{record_type} is not a card operation")


def _same_card(body_number: str, proof_number: str) -> str:
    if body_number != proof_number:
        raise FormatError("the card's proof is for another card than the record names")
    return body_number
