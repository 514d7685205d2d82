"""A stored record as operators name it, ``TERMINAL/SEQ`` (the receipt shows both), a stored sale
with its card proof and its shop, and whether the card cancelled it: what refunds and held-sale
releases start from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway.errors import GatewayError, not_found
from host_gateway.models import CardTransaction, StoredRecord, Terminal
from ledger.bodies import SaleBody
from ledger.cardproofs import DebitProof
from ledger.record import Record


def record_in_chain(session: Session, reference: str) -> StoredRecord:
    """The record of the terminal's chain named ``TERMINAL/SEQ`` (never a forked copy)."""
    terminal, slash, seq = reference.strip().partition("/")
    if not slash or not seq.isdigit():
        raise GatewayError("invalid", f"not a record reference: {reference!r} (TERMINAL/SEQ)")
    record = session.scalars(
        select(StoredRecord).where(
            StoredRecord.terminal_id == terminal,
            StoredRecord.seq == int(seq),
            StoredRecord.in_chain,
        )
    ).first()
    if record is None:
        raise not_found(f"record {reference}")
    return record


def sale_proof(record: StoredRecord) -> DebitProof:
    """The card's signed debit inside a stored sale record."""
    return DebitProof.decode(SaleBody.from_value(Record.decode(record.data).body).card_proof)


@dataclass(frozen=True)
class StoredSale:
    record: StoredRecord
    proof: DebitProof
    shop_id: str
    """The shop whose terminal made the sale: who is paid for it, and who pays it back."""


def stored_sale(session: Session, record: StoredRecord) -> StoredSale:
    shop = session.get_one(Terminal, record.terminal_id).shop_id
    return StoredSale(record, sale_proof(record), shop)


def cancelled_on_card(session: Session, proof: DebitProof) -> bool:
    """The card's next counter is a void: the sale was cancelled in its card session."""
    after = session.get(CardTransaction, (proof.card_number, proof.counter + 1))
    return after is not None and after.kind == "void"
