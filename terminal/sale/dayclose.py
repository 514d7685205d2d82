"""The day close (Z report): one record with the day's totals, printed for the shop."""

from __future__ import annotations

import datetime as dt

from ledger.bodies import DayCloseBody
from ledger.printjobs import JobKind
from ledger.record import Record, RecordType
from terminal.receipts.build import receipts_for_record
from terminal.sale.outcome import Outcome, Status
from terminal.sale.sale import refuse
from terminal.sale.till import Till


def day_closed(till: Till, day: dt.date) -> Record | None:
    for record in till.journal.iter_records():
        is_close = record.type is RecordType.DAY_CLOSE
        if is_close and DayCloseBody.from_value(record.body).business_date == day:
            return record
    return None


def close_day(till: Till, day: dt.date | None, cashier: str) -> Outcome:
    now = till.clock()
    till.refresh()
    day = day or till.today(now)
    if day > till.today(now):
        return refuse(till, "day_close_future")
    if day_closed(till, day) is not None:
        return refuse(till, "day_already_closed")
    summary = till.journal.business_day_summary(day)
    context = till.receipt_context(None, cashier, till.offline(now))

    def compose(record: Record) -> list[tuple[JobKind, bytes]]:
        return receipts_for_record(record, context)

    record = till.journal.append_record(RecordType.DAY_CLOSE, summary.to_value(), now, compose)
    printed, print_message = till.print_pending()
    return Outcome(
        Status.COMPLETED,
        record_id=record.id,
        seq=record.seq,
        purse_amounts=tuple(sorted(summary.purse_totals.items())),
        cash=summary.cash_total,
        printed=printed,
        print_message=print_message,
        details={"day_close": summary.to_value()},
    )
