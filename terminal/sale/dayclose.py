"""The day close (Z report): one record with the totals since the previous close, printed for
the shop.

A close covers every record after the previous day close (by sequence), so each sale, void and
load is in exactly one Z report: a sale recovered after its day was closed, or made after the
close, goes into the next one (a second close of the same day is allowed when there is
something new to report).
"""

from __future__ import annotations

import datetime as dt

from ledger.bodies import DayCloseBody
from ledger.record import Record, RecordType
from terminal.receipts.jobs import JobKind
from terminal.sale.outcome import Outcome, Status
from terminal.sale.sale import refuse
from terminal.sale.till import Till


def close_day(till: Till, day: dt.date | None, cashier: str) -> Outcome:
    now = till.clock()
    till.refresh()
    day = day or till.today(now)
    if day > till.today(now):
        return refuse(till, "day_close_future")
    summary = till.journal.day_close_summary(day)
    last = till.journal.last_day_close()
    if last is not None:
        closed = DayCloseBody.from_value(last.body).business_date
        # An earlier day's records are in that close or a later one; a repeat with nothing
        # new would be an empty duplicate.
        if day < closed or (day == closed and summary.last_seq == 0):
            return refuse(till, "day_already_closed")
    context = till.receipt_context(None, cashier, till.offline(now))

    def compose(record: Record) -> list[tuple[JobKind, bytes]]:
        return till.composer.for_record(record, context)

    record = till.journal.append_record(RecordType.DAY_CLOSE, summary.to_value(), now, compose)
    return Outcome(
        Status.COMPLETED,
        record_id=record.id,
        seq=record.seq,
        purse_amounts=tuple(sorted(summary.purse_totals.items())),
        cash=summary.cash_total,
        receipt_jobs=till.receipt_jobs(record.id),
        details={"day_close": summary.to_value()},
    )
