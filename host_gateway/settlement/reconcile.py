"""Importing the bank's answers and reconciling each payout with them.

- A ``pain.002`` rejection sends the transfer's money back to the shop (``payout`` ->
  ``shop:S``: payable again, paid in the next window) with the bank's reason; an acceptance marks
  it accepted; pending changes nothing.
- A ``camt.053`` of the giro account pays what it booked (``payout`` -> ``giro``): the journal's
  giro account then equals the statement's closing balance (credits such as program funding
  are booked in the journal by ``programs fund``).
- A file is imported once: the same report or statement again (a resend, even under another
  message id) changes nothing; a different file under the same id is refused. A file naming a
  transfer the host never released is refused whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.display import rupiah
from host_gateway.errors import GatewayError
from host_gateway.models import Account
from host_gateway.settlement import accounts, bankfiles
from host_gateway.settlement.models import BankStatement, PayoutItem
from host_gateway.settlement.windows import PAYOUT

IN_FLIGHT = ("released", "accepted")


@dataclass
class ImportResult:
    file_id: str
    duplicate: bool = False
    paid: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    unmatched: list[tuple[str, int]] = field(default_factory=list)
    """Statement entries no payout explains (program funding, a bank fee...): amount signed."""
    discrepancies: list[str] = field(default_factory=list)


def import_file(session: Session, data: bytes, now: int) -> ImportResult:
    """A bank file of either kind: a pain.002 status report or a camt.053 statement."""
    if b"pain.002" in data[:400]:
        return import_status(session, data, now)
    return import_statement(session, data, now)


def import_status(session: Session, data: bytes, now: int) -> ImportResult:
    report = bankfiles.read_pain002(data)
    result = ImportResult(f"pain002:{report.message_id}"[:40])
    digest = hashlib.sha256(data).digest()
    if _seen(session, result.file_id, digest):
        result.duplicate = True
        return result
    items = _items(session, [s.end_to_end_id for s in report.statuses])
    entries = []
    for status in report.statuses:
        item = items[status.end_to_end_id]
        if status.status == "RJCT":
            if item.status == "paid":
                raise GatewayError(
                    "conflict", f"{item.end_to_end_id} is rejected but a statement booked it", 409
                )
            if item.status in IN_FLIGHT:
                item.status, item.reason, item.updated_at = "rejected", status.reason, now
                entries.append(_returned(item))
                result.rejected.append((item.end_to_end_id, status.reason))
        elif status.status != "PDNG" and item.status == "released":
            item.status, item.updated_at = "accepted", now
            result.accepted.append(item.end_to_end_id)
    postings.post(session, now, entries)
    _remember(session, result, digest, None, now)
    return result


def import_statement(session: Session, data: bytes, now: int) -> ImportResult:
    statement = bankfiles.read_camt053(data)
    giro = accounts.giro(session)
    if statement.account != giro.account_number:
        raise GatewayError(
            "invalid_file",
            f"the statement is of account {statement.account}, not the giro account",
        )
    result = ImportResult(f"camt053:{statement.statement_id}"[:40])
    if _seen(session, result.file_id, statement.digest):
        result.duplicate = True
        return result
    debits = [e for e in statement.entries if e.booked and e.amount < 0 and e.reference]
    items = _items(session, [e.reference for e in debits], strict=False)
    entries = []
    done: set[str] = set()
    for entry in statement.entries:
        item = items.get(entry.reference) if entry.amount < 0 else None
        if item is None or not entry.booked:
            result.unmatched.append((entry.reference, entry.amount))
        elif item.status not in IN_FLIGHT or item.end_to_end_id in done:
            result.discrepancies.append(
                f"{item.end_to_end_id} booked again or while {item.status} here: ask the bank"
            )
        elif -entry.amount != item.amount:
            result.discrepancies.append(
                f"{item.end_to_end_id} booked {rupiah(-entry.amount)}, "
                f"instructed {rupiah(item.amount)}"
            )
        else:
            done.add(item.end_to_end_id)
            result.paid.append(item.end_to_end_id)
            paid = postings.Entry("payout_paid", f"{item.end_to_end_id} on {result.file_id}")
            entries.append(paid.transfer(PAYOUT, postings.GIRO, item.amount))
    if result.paid:  # one statement for them all, not one per row
        session.execute(
            update(PayoutItem)
            .where(PayoutItem.end_to_end_id.in_(result.paid))
            .values(status="paid", updated_at=now)
        )
    postings.post(session, now, entries)
    _remember(session, result, statement.digest, statement.closing, now)
    return result


def _seen(session: Session, file_id: str, digest: bytes) -> bool:
    row = session.get(BankStatement, file_id)
    if row is None:
        return False
    if row.sha256 != digest:
        raise GatewayError(
            "conflict", f"{file_id} was imported already with different content", 409
        )
    return True


def _items(session: Session, ids: list[str], strict: bool = True) -> dict[str, PayoutItem]:
    found = {
        item.end_to_end_id: item
        for item in session.scalars(select(PayoutItem).where(PayoutItem.end_to_end_id.in_(ids)))
    }
    if strict:
        unknown = sorted(set(ids) - set(found))
        if unknown:
            raise GatewayError(
                "invalid_file", f"the file names transfers never instructed: {unknown[:5]}"
            )
        never = sorted(i for i, item in found.items() if item.status == "owed")
        if never:
            raise GatewayError("invalid_file", f"the file names transfers never released: {never}")
    return found


def _returned(item: PayoutItem) -> postings.Entry:
    entry = postings.Entry("payout_returned", f"{item.end_to_end_id} rejected: {item.reason}")
    return entry.transfer(PAYOUT, postings.shop(item.shop_id), item.amount)


def _remember(
    session: Session, result: ImportResult, digest: bytes, closing: int | None, now: int
) -> None:
    summary = {
        "paid": len(result.paid),
        "rejected": result.rejected,
        "accepted": len(result.accepted),
        "unmatched": result.unmatched[:100],
        "discrepancies": result.discrepancies,
    }
    session.add(
        BankStatement(
            id=result.file_id,
            sha256=digest,
            closing_balance=closing,
            imported_at=now,
            summary=json.dumps(summary, separators=(",", ":")),
        )
    )
    session.flush()


@dataclass(frozen=True)
class Books:
    giro_journal: int
    giro_bank: int | None
    """The closing balance of the last statement imported (None before the first)."""
    payout_account: int
    payouts_open: int
    """Instructed and not yet paid or rejected: what the ``payout`` account must hold."""

    @property
    def ok(self) -> bool:
        giro = self.giro_bank is None or self.giro_bank == self.giro_journal
        return giro and self.payout_account == self.payouts_open


def books(session: Session) -> Books:
    def balance(code: str) -> int:
        return int(session.scalar(select(Account.balance).where(Account.code == code)) or 0)

    last = session.scalars(
        select(BankStatement.closing_balance)
        .where(BankStatement.closing_balance.is_not(None))
        .order_by(BankStatement.imported_at.desc(), BankStatement.id.desc())
        .limit(1)
    ).first()
    open_items = session.scalars(
        select(PayoutItem.amount).where(PayoutItem.status.in_(("owed", *IN_FLIGHT)))
    ).all()
    return Books(balance(postings.GIRO), last, -balance(PAYOUT), sum(open_items))
