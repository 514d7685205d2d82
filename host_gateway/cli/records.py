"""``ssn-gateway records``: what the terminals sent, as the gateway holds it.

An operator answering "did my sale arrive?" or tracing a card looks here: every record with its
outcome, the terminal's clock next to the gateway's receive time, and the money it moved.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console import UserError, print_json
from host_gateway import receipts
from host_gateway.cli.common import add_common, session_scope
from host_gateway.display import rupiah, signed_rupiah, wita
from host_gateway.models import StoredRecord
from ledger.bodies import SaleBody
from ledger.record import Record, RecordType
from ledger.reference import QR_PREFIX, QrReference, parse_qr_payload


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("records", help="records the terminals sent").add_subparsers(
        dest="records_command", required=True
    )
    listing = group.add_parser("list", help="newest first, with outcome and amounts")
    add_common(listing)
    listing.add_argument("--terminal", default=None, help="only this terminal's records")
    listing.add_argument("--card", default=None, help="only this card's records")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=cmd_list)
    show = group.add_parser("show", help="one record, by receipt QR text, TERMINAL/SEQ or id")
    add_common(show)
    show.add_argument("reference", help="the scanned QR text, e.g. SSN1:SMD-0001:6:...:...")
    show.set_defaults(func=cmd_show)


def _row(stored: StoredRecord) -> dict[str, Any]:
    record = Record.decode(stored.data)
    return {
        "id": str(uuid.UUID(bytes=stored.id)),
        "terminal": stored.terminal_id,
        "seq": stored.seq,
        "type": stored.type,
        "status": stored.status,
        "code": stored.code,
        "card": stored.card_number,
        "purses": receipts.money_moved(record),
        "terminal_time": stored.terminal_time,
        "received_at": stored.received_at,
    }


def _find(session: Session, reference: str) -> tuple[StoredRecord | None, QrReference | None]:
    """The record a receipt or an operator names; the QR's hash prefix is kept for the check."""
    text = reference.strip()
    if text.startswith(f"{QR_PREFIX}:"):
        try:
            scanned = parse_qr_payload(text)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        return receipts.find_scanned(session, scanned), scanned
    terminal, slash, seq = text.partition("/")
    if slash:
        if not seq.isdigit():
            raise UserError(f"not a reference: {reference!r} (TERMINAL/SEQ, e.g. SMD-0001/000006)")
        query = select(StoredRecord).where(
            StoredRecord.terminal_id == terminal, StoredRecord.seq == int(seq)
        )
        return session.scalars(query.order_by(StoredRecord.in_chain.desc())).first(), None
    try:
        record_id = uuid.UUID(text)
    except ValueError as exc:
        raise UserError(
            f"not a reference: {reference!r} (QR text, TERMINAL/SEQ or a record id)"
        ) from exc
    # Ids are per terminal: two terminals may hold the same one (see StoredRecord).
    holders = session.scalars(select(StoredRecord).where(StoredRecord.id == record_id.bytes)).all()
    if len(holders) > 1:
        terminals = ", ".join(sorted(r.terminal_id for r in holders))
        raise UserError(
            f"record id {record_id} is held by several terminals ({terminals}): "
            "name it as TERMINAL/SEQ or by its receipt QR"
        )
    return (holders[0] if holders else None), None


def cmd_show(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        stored, scanned = _find(session, args.reference)
        if stored is None:
            raise UserError(f"no record {args.reference} at the gateway (not synced yet?)", 1)
        value = _row(stored)
        value["message"] = stored.message
        if scanned is not None:
            value["receipt_matches"] = receipts.matches(stored, scanned)
        record = Record.decode(stored.data)
        if record.type is RecordType.SALE:
            value["lines"] = [line.to_value() for line in SaleBody.from_value(record.body).lines]
    if args.json:
        print_json(value)
    else:
        for key, item in value.items():
            print(f"{key:14} {_human(key, item)}")
    if value.get("receipt_matches") is False:
        print("the receipt does NOT match the record the gateway holds", file=sys.stderr)
        return 1
    return 0


def _purses(moved: dict[str, int]) -> str:
    return " ".join(f"{code} {signed_rupiah(amount)}" for code, amount in moved.items())


def _human(key: str, item: Any) -> str:
    """One field of ``records show`` for people: WITA times, rupiah, lines one by one."""
    if key in ("terminal_time", "received_at"):
        return wita(item)
    if key == "purses":
        return _purses(item)
    if key == "lines":
        return "; ".join(
            f"{line['name']} {line['qty']} x {rupiah(line['unit_price'])}" for line in item
        )
    return str(item)


def cmd_list(args: argparse.Namespace) -> int:
    query = select(StoredRecord).order_by(StoredRecord.received_at.desc(), StoredRecord.seq.desc())
    if args.terminal:
        query = query.where(StoredRecord.terminal_id == args.terminal)
    if args.card:
        query = query.where(StoredRecord.card_number == args.card)
    with session_scope(args) as (session, _):
        rows = [_row(r) for r in session.scalars(query.limit(max(1, args.limit)))]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        when = wita(row["terminal_time"])
        moved = _purses(row["purses"])
        print(f"{row['terminal']}/{row['seq']:06d} {when} {row['type']:9} {row['status']:8} "
              f"{row['card'] or '-':16} {moved}")  # fmt: skip
    return 0
