"""Voiding a sale: same business day, same terminal, supervisor PIN, the same card present.

The card's VOID gives back exactly what its logged debit took, once; the void has its own
write-ahead intent, record and slip, like a sale.
"""

from __future__ import annotations

import uuid

from drivers.card.protocol import VoidRequest
from drivers.card.session import CardSession
from drivers.card.transport import CardError
from ledger.bodies import SaleBody, VoidBody
from ledger.cardnumber import mask_card_number
from ledger.cardproofs import NONCE_SIZE, DebitProof
from ledger.journal import IntentKind, IntentStateError, Journal
from ledger.record import Record, RecordType
from ledger.verify import business_date
from terminal.sale.outcome import Outcome, Status
from terminal.sale.recovery import resolve_for_card
from terminal.sale.sale import (
    balances_after,
    card_problem,
    failure_outcome,
    read_card_checked,
    refuse,
)
from terminal.sale.till import CardCommandError, Till


def find_void_of(journal: Journal, sale: Record) -> Record | None:
    """The void record of ``sale``, if there is one (voids follow their sale, same day)."""
    for record in journal.iter_records(sale.seq + 1):
        if (
            record.type is RecordType.VOID
            and VoidBody.from_value(record.body).original_id == sale.id
        ):
            return record
    return None


def void_sale(
    till: Till,
    session: CardSession,
    record_id: uuid.UUID,
    supervisor_pin: str,
    *,
    supervisor: str,
    reason: str,
) -> Outcome:
    if not till.config.check_supervisor_pin(supervisor_pin):
        return refuse(till, "supervisor_pin")
    original = till.journal.record(record_id)
    if original is None:
        return refuse(till, "void_not_found")
    if original.type is not RecordType.SALE:
        return refuse(till, "void_not_sale")
    now = till.clock()
    till.refresh()
    if business_date(original.time) != till.today(now):
        return refuse(till, "void_other_day")
    info, refusal = read_card_checked(till, session, now)
    if info is None or refusal is not None:
        return refusal or refuse(till, "card_not_genuine")
    sale = SaleBody.from_value(original.body)
    if session.card_number != sale.card_number:
        return refuse(till, "void_wrong_card")
    try:
        resolve_for_card(till, session, info, supervisor)
    except CardError as exc:
        return card_problem(till, exc)
    if find_void_of(till.journal, original) is not None:
        return refuse(till, "void_already")
    certificate = session.certificate
    assert certificate is not None
    debit = DebitProof.decode(sale.card_proof)
    nonce = till.random_bytes(NONCE_SIZE)
    request = VoidRequest(till.terminal_id, nonce, now, debit.counter)
    draft = VoidBody(
        original.id, original.seq, sale.card_number, certificate.encode(), b"", supervisor, reason
    )
    try:
        intent = till.begin(
            IntentKind.VOID,
            sale.card_number,
            info.counter + 1,
            nonce,
            request.encode(),
            draft.to_value(),
            now,
        )
    except IntentStateError:
        return refuse(till, "card_busy")
    try:
        proof = till.send(intent, lambda: session.void(request, original=debit), "void")
    except CardCommandError as failed:
        return failure_outcome(till, failed)
    record = till.complete(intent, proof.encode(), info, supervisor)
    return Outcome(
        Status.COMPLETED,
        record_id=record.id,
        seq=record.seq,
        card=mask_card_number(sale.card_number),
        purse_amounts=tuple((p.code, p.amount) for p in proof.purses),
        balances=balances_after(info, proof.purses),
        receipt_jobs=till.receipt_jobs(record.id),
        details={"voided_record_id": str(original.id)},
    )
