"""Per terminal, the batch totals the host holds compared with what the terminal reported at
day close (its Z report, a ``day_close`` record): agreed, not agreed, or cannot confirm yet.

A day close names the sequence range it covers; the host totals the records it holds in that
range the way the terminal did (``terminal/journal/daysummary.py``): sales and voids counted,
net card money per purse (sales less voids, what the cards signed). While a record of the range
is not at the host, or no day close for the day arrived, the answer is "cannot confirm yet".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway.models import StoredRecord, Terminal
from ledger.bodies import DayCloseBody, SaleBody, VoidBody
from ledger.cardproofs import VoidProof
from ledger.record import Record, RecordType
from ledger.verify import WITA

AGREED, NOT_AGREED, CANNOT_CONFIRM = "agreed", "not agreed", "cannot confirm yet"


@dataclass(frozen=True)
class Totals:
    sale_count: int = 0
    void_count: int = 0
    purse_totals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TerminalCheck:
    terminal_id: str
    shop_id: str
    status: str
    reported: Totals | None
    host: Totals | None
    why: str


def compare(
    session: Session, day: dt.date, shop_ids: list[str] | None = None
) -> list[TerminalCheck]:
    """Every terminal (of the given shops) for the business day ``day``."""
    query = select(Terminal).order_by(Terminal.id)
    if shop_ids is not None:
        query = query.where(Terminal.shop_id.in_(shop_ids))
    return [_check(session, terminal, day) for terminal in session.scalars(query)]


def _check(session: Session, terminal: Terminal, day: dt.date) -> TerminalCheck:
    close = _day_close(session, terminal.id, day)
    if close is None:
        return TerminalCheck(
            terminal.id, terminal.shop_id, CANNOT_CONFIRM, None, None, "no day close yet"
        )
    reported = Totals(close.sale_count, close.void_count, dict(close.purse_totals))
    expected = close.last_seq - close.first_seq + 1 if close.last_seq else 0
    rows = session.scalars(
        select(StoredRecord).where(
            StoredRecord.terminal_id == terminal.id,
            StoredRecord.in_chain,
            StoredRecord.seq.between(close.first_seq, close.last_seq),
        )
    ).all()
    if len(rows) < expected:
        why = f"{expected - len(rows)} of the day's records are not at the host yet"
        return TerminalCheck(terminal.id, terminal.shop_id, CANNOT_CONFIRM, reported, None, why)
    host = _totals([Record.decode(row.data) for row in rows])
    if host == reported:
        return TerminalCheck(terminal.id, terminal.shop_id, AGREED, reported, host, "")
    return TerminalCheck(
        terminal.id, terminal.shop_id, NOT_AGREED, reported, host, "the totals differ"
    )


def _day_close(session: Session, terminal_id: str, day: dt.date) -> DayCloseBody | None:
    """The terminal's day close of ``day`` (made on that day or after it)."""
    start = int(dt.datetime.combine(day, dt.time(), WITA).timestamp())
    rows = session.scalars(
        select(StoredRecord.data)
        .where(
            StoredRecord.terminal_id == terminal_id,
            StoredRecord.type == "day_close",
            StoredRecord.terminal_time >= start,
        )
        .order_by(StoredRecord.seq)
    )
    for data in rows:
        body = DayCloseBody.from_value(Record.decode(data).body)
        if body.business_date == day:
            return body
    return None


def _totals(records: list[Record]) -> Totals:
    sales = voids = 0
    purses: dict[str, int] = {}
    for record in records:
        if record.type == RecordType.SALE:
            sales += 1
            for code, amount in SaleBody.from_value(record.body).purse_totals().items():
                purses[code] = purses.get(code, 0) + amount
        elif record.type == RecordType.VOID:
            voids += 1
            proof = VoidProof.decode(VoidBody.from_value(record.body).card_proof)
            for movement in proof.purses:
                purses[movement.code] = purses.get(movement.code, 0) - movement.amount
    return Totals(sales, voids, dict(sorted(purses.items())))
