"""What a printed receipt's QR code points to at the host, for the operator's ``records show``
and for the console's public check page: is this receipt genuine, and what was paid.

A receipt is genuine when the host holds the record its QR names (terminal, seq, id) and the
record's hash starts with the QR's 8 bytes: a receipt edited or made up does not match.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway.models import Shop, StoredRecord, Terminal
from ledger.bodies import LoadBody, SaleBody, VoidBody
from ledger.cardproofs import LoadAuthorization, VoidProof
from ledger.record import Record, RecordType
from ledger.reference import QrReference, RecordRef, parse_qr_payload


def money_moved(record: Record) -> dict[str, int]:
    """Per purse: negative for what left the card (sale), positive for what came back or in."""
    if record.type is RecordType.SALE:
        return {
            code: -amount
            for code, amount in SaleBody.from_value(record.body).purse_totals().items()
        }
    if record.type is RecordType.VOID:
        proof = VoidProof.decode(VoidBody.from_value(record.body).card_proof)
        return {p.code: p.amount for p in proof.purses}
    if record.type is RecordType.LOAD:
        load = LoadAuthorization.decode(LoadBody.from_value(record.body).authorization)
        return {load.purse_code: load.amount}
    return {}


def find_scanned(session: Session, scanned: QrReference) -> StoredRecord | None:
    return session.get(StoredRecord, (scanned.record_id.bytes, scanned.terminal_id))


def matches(stored: StoredRecord, scanned: QrReference) -> bool:
    record_id = uuid.UUID(bytes=stored.id)
    held = RecordRef(stored.terminal_id, stored.seq, record_id, stored.content_hash)
    return scanned.matches(held)


@dataclass(frozen=True)
class PaidLine:
    name: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class ReceiptCheck:
    """What anyone holding the receipt may learn: nothing about the holder (no card number,
    name or purse: a BAZNAS purse would tell the holder's religion)."""

    verdict: str
    """genuine, voided (genuine but the sale was cancelled), rejected (the host did not
    accept the sale), mismatch (the host holds another record there) or unknown."""
    reference: str = ""
    shop_name: str = ""
    time: int | None = None
    lines: tuple[PaidLine, ...] = ()
    total: int = 0
    cash: int = 0


def check_receipt(session: Session, qr_text: str) -> ReceiptCheck:
    """The verdict on a scanned QR text; ValueError for text that is not a receipt QR."""
    scanned = parse_qr_payload(qr_text.strip())
    stored = find_scanned(session, scanned)
    if stored is None:
        return ReceiptCheck("unknown")
    if not matches(stored, scanned) or stored.type != RecordType.SALE:
        return ReceiptCheck("mismatch")
    body = SaleBody.from_value(Record.decode(stored.data).body)
    terminal = session.get_one(Terminal, stored.terminal_id)
    voided = session.scalar(
        select(StoredRecord.id).where(
            StoredRecord.terminal_id == stored.terminal_id,
            StoredRecord.voids_record == stored.id,
            StoredRecord.status == "accepted",
        )
    )
    if stored.status != "accepted":
        verdict = "rejected"
    else:
        verdict = "voided" if voided is not None else "genuine"
    return ReceiptCheck(
        verdict,
        f"{stored.terminal_id}/{stored.seq:06d}",
        session.get_one(Shop, terminal.shop_id).name,
        stored.terminal_time,
        tuple(PaidLine(line.name, line.quantity, line.amount) for line in body.lines),
        sum(line.amount for line in body.lines),
        sum(line.cash for line in body.lines),
    )
