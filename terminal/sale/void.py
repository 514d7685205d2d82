"""Cancelling a sale at the counter: the card's last debit, in the same card session, with the
supervisor PIN, before the holder leaves (docs/card-protocol.md, "no credit without authority").

The card cancels only the debit it made in the current session (Calypso's undebit), so the
cancellation must run on the very :class:`CardSession` that made the sale: no re-reading of the
card in between. After that moment, giving value back is a refund, decided at the host. The
cancellation has its own write-ahead intent, record and slip, like a sale.
"""

from __future__ import annotations

import uuid

from drivers.card.protocol import VoidRequest
from drivers.card.session import CardSession
from ledger.bodies import SaleBody, VoidBody
from ledger.cardnumber import mask_card_number
from ledger.cardproofs import NONCE_SIZE, DebitProof
from ledger.record import Record, RecordType
from terminal.journal import IntentKind, Journal
from terminal.sale.outcome import Outcome, Status
from terminal.sale.sale import balances_after, failure_outcome, refuse
from terminal.sale.till import CardBusy, CardCommand, CardCommandError, Till


def find_void_of(journal: Journal, sale: Record) -> Record | None:
    """The void record of ``sale``, if there is one (voids follow their sale)."""
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
    """Cancel the sale ``record_id``, made moments ago on this same card session."""
    till.refresh()  # a new operation at the counter: its slip gets its own time to print
    if not till.config.check_supervisor_pin(supervisor_pin):
        return refuse(till, "supervisor_pin")
    original = till.journal.record(record_id)
    if original is None:
        return refuse(till, "void_not_found")
    if original.type is not RecordType.SALE:
        return refuse(till, "void_not_sale")
    if find_void_of(till.journal, original) is not None:
        return refuse(till, "void_already")
    sale = SaleBody.from_value(original.body)
    debit = DebitProof.decode(sale.card_proof)
    made_here = session.session_debit
    if made_here is None or made_here.encode() != debit.encode():
        # The card would refuse too; say why before touching it.
        return refuse(till, "void_session_over")
    certificate, info = session.certificate, session.info
    assert certificate is not None and info is not None
    now = till.clock()
    nonce = till.random_bytes(NONCE_SIZE)
    request = VoidRequest(till.terminal_id, nonce, now, debit.counter)
    draft = VoidBody(
        original.id, original.seq, sale.card_number, certificate.encode(), b"", supervisor, reason
    )
    command = CardCommand(
        IntentKind.VOID,
        sale.card_number,
        debit.counter + 1,
        nonce,
        request.encode(),
        draft.to_value(),
        lambda: session.void(request, original=debit),
        "void",
    )
    try:
        proof, record, _ = till.run(command, now, info, supervisor)
    except CardBusy:
        return refuse(till, "card_busy")
    except CardCommandError as failed:
        return failure_outcome(till, failed)
    return Outcome(
        Status.COMPLETED,
        record_id=record.id,
        seq=record.seq,
        card=mask_card_number(sale.card_number),
        purse_amounts=tuple((p.code, p.amount) for p in proof.purses),
        balances=balances_after(info, proof),
        receipt_jobs=till.receipt_jobs(record.id),
        details={"voided_record_id": str(original.id)},
    )
