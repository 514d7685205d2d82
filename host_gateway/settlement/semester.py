"""The semester monitoring report to the mayor (Perwali 58/2022): sales, amounts and recipients
served by program, shop and month; registered vs served; aid loaded vs spent vs expired; payouts
made and open. From the journal and the host's records, as JSON and CSV (``semester_pdf`` draws
the same numbers).

A sale counts in the month of its own time (the record's, WITA); a cancellation takes its sale's
money back in its own month. Kecamatan and kelurahan columns are empty until shops and recipients
carry them (recipient data comes with the recipients import).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway.errors import GatewayError
from host_gateway.fastsql import Raw
from host_gateway.models import CardProgram, Load
from host_gateway.settlement.models import PayoutItem, SettlementWindow
from ledger.verify import WITA

_SALES = """
SELECT e.kind, r.terminal_time, p.account, p.amount, s.account
FROM journal_entries e
JOIN (SELECT id, min(terminal_time) AS terminal_time FROM records GROUP BY id) r
  ON r.id = e.record_id
JOIN journal_lines p ON p.entry_id = e.id AND substr(p.account, 1, 6) = 'purse:'
JOIN (SELECT DISTINCT entry_id, account FROM journal_lines
      WHERE substr(account, 1, 5) = 'shop:') s ON s.entry_id = e.id
WHERE e.kind IN ('sale', 'void') AND r.terminal_time >= ? AND r.terminal_time < ?
"""


@dataclass
class SalesRow:
    program: str
    shop: str
    month: str
    sales: int = 0
    amount: int = 0
    recipients: set[str] = field(default_factory=set)


def bounds(year: int, half: int) -> tuple[int, int]:
    """Unix seconds of the semester's first WITA midnight and of the next semester's."""
    if half not in (1, 2) or not 2020 <= year <= 2100:
        raise GatewayError("invalid", "a semester is a year 2020-2100 and half 1 or 2")
    start = dt.datetime(year, 1 if half == 1 else 7, 1, tzinfo=WITA)
    end = (
        dt.datetime(year, 7, 1, tzinfo=WITA)
        if half == 1
        else dt.datetime(year + 1, 1, 1, tzinfo=WITA)
    )
    return int(start.timestamp()), int(end.timestamp())


def build(session: Session, year: int, half: int) -> dict[str, Any]:
    start, end = bounds(year, half)
    rows: dict[tuple[str, str, str], SalesRow] = {}
    served: dict[str, set[str]] = {}
    for kind, when, purse, amount, shop in Raw(session).rows(_SALES, [start, end]):
        _, card, program = purse.split(":")
        month = dt.datetime.fromtimestamp(when, WITA).strftime("%Y-%m")
        key = (program, shop.split(":", 1)[1], month)
        row = rows.setdefault(key, SalesRow(*key))
        if kind == "sale":
            row.sales += 1
            row.recipients.add(card)
            served.setdefault(program, set()).add(card)
        row.amount += int(amount)  # a void's purse line is negative
    spent = _by_program((r.program, r.amount) for r in rows.values())
    return {
        "semester": f"{year}-S{half}",
        "from": dt.datetime.fromtimestamp(start, WITA).date().isoformat(),
        "to": (dt.datetime.fromtimestamp(end, WITA).date() - dt.timedelta(days=1)).isoformat(),
        "sales": [
            {
                "program": r.program,
                "kecamatan": "",
                "kelurahan": "",
                "shop": r.shop,
                "month": r.month,
                "sales": r.sales,
                "amount": r.amount,
                "recipients": len(r.recipients),
            }
            for _, r in sorted(rows.items())
        ],
        "programs": _programs(session, start, end, spent, served),
        "payouts": _payouts(session, start, end),
    }


def _by_program(pairs: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for program, amount in pairs:
        total[program] = total.get(program, 0) + amount
    return total


def _programs(
    session: Session, start: int, end: int, spent: dict[str, int], served: dict[str, set[str]]
) -> list[dict[str, Any]]:
    registered = dict(
        session.execute(
            select(CardProgram.program_code, func.count()).group_by(CardProgram.program_code)
        ).all()
    )
    loaded = dict(
        session.execute(
            select(Load.purse_code, func.sum(Load.amount))
            .where(Load.applied_at >= start, Load.applied_at < end)
            .group_by(Load.purse_code)
        ).all()
    )
    expired = {
        account.split(":", 1)[1]: -int(total)
        for account, total in Raw(session).rows(
            "SELECT l.account, sum(l.amount) FROM journal_lines l JOIN journal_entries e"
            " ON e.id = l.entry_id WHERE substr(l.account, 1, 8) = 'expired:'"
            " AND e.at >= ? AND e.at < ? GROUP BY l.account",
            [start, end],
        )
    }
    programs = sorted(set(registered) | set(loaded) | set(spent) | set(expired))
    return [
        {
            "program": p,
            "registered": int(registered.get(p, 0)),
            "served": len(served.get(p, set())),
            "loaded": int(loaded.get(p, 0) or 0),
            "spent": spent.get(p, 0),
            "expired": expired.get(p, 0),
        }
        for p in programs
    ]


def _payouts(session: Session, start: int, end: int) -> dict[str, int]:
    first = dt.datetime.fromtimestamp(start, WITA).date()
    last = dt.datetime.fromtimestamp(end, WITA).date()
    totals = {"paid": 0, "open": 0, "rejected": 0}
    rows = session.execute(
        select(PayoutItem.status, func.sum(PayoutItem.amount))
        .join(SettlementWindow, SettlementWindow.id == PayoutItem.window_id)
        .where(SettlementWindow.business_date >= first, SettlementWindow.business_date < last)
        .group_by(PayoutItem.status)
    )
    for status, amount in rows:
        key = status if status in ("paid", "rejected") else "open"
        totals[key] += int(amount)
    return totals


def to_csv(report: dict[str, Any]) -> bytes:
    """One long table: ``table`` names the part, ``measure`` and ``value`` the number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ("table", "program", "kecamatan", "kelurahan", "shop", "month", "measure", "value")
    )
    for row in report["sales"]:
        for measure in ("sales", "amount", "recipients"):
            writer.writerow(
                (
                    "sales",
                    row["program"],
                    row["kecamatan"],
                    row["kelurahan"],
                    row["shop"],
                    row["month"],
                    measure,
                    row[measure],
                )
            )
    for row in report["programs"]:
        for measure in ("registered", "served", "loaded", "spent", "expired"):
            writer.writerow(("programs", row["program"], "", "", "", "", measure, row[measure]))
    for measure, value in report["payouts"].items():
        writer.writerow(("payouts", "", "", "", "", "", measure, value))
    return out.getvalue().encode("utf-8")
