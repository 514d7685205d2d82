"""Settlement windows: one per business day, closed once, never changed after.

A journal entry that moved a shop's money (a sale, a cancellation, a refund, a debit caught up
from suspense, a held sale released) belongs to the first window closed after its **own time**:
the time its record claims (``records.terminal_time``, never later than the host received it)
or, with no record, the time it was posted. A record that arrives after its day's window closed
keeps its own time and goes into the next window closed. Each entry is written to
``settlement_entries`` once, so a closed window never changes and closing it again changes
nothing.

At close, per shop: the window's movements by program (the purse code of the money's other
side), what is payable up to the cut-off (earlier windows' leftovers included), what is held for
unexplained credit, and the payout: payable less held, never below 0, only to a shop with a bank
account. The payout leaves ``shop:S`` for ``payout`` (instructed, not yet confirmed by the bank)
in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import gaps, postings, settings
from host_gateway.db import lock_ingest
from host_gateway.errors import GatewayError, not_found
from host_gateway.fastsql import Raw
from host_gateway.settlement.models import (
    PayoutItem,
    SettlementShop,
    SettlementWindow,
    ShopBankAccount,
)
from ledger.verify import WITA

PAYOUT = "payout"
"""Journal account: payouts instructed to the bank and not yet confirmed (credit balance)."""
OWN_KINDS = ("payout", "payout_returned")
"""Entries settlement itself posts: they pay the shop; they are not what it is owed."""

_UNSETTLED = """
SELECT e.id AS entry_id,
       CASE WHEN r.t IS NOT NULL AND r.t < e.at THEN r.t ELSE e.at END AS own_time
FROM journal_entries e
JOIN (SELECT DISTINCT entry_id FROM journal_lines WHERE substr(account, 1, 5) = 'shop:') s
  ON s.entry_id = e.id
LEFT JOIN (SELECT id, min(terminal_time) AS t FROM records GROUP BY id) r ON r.id = e.record_id
WHERE e.kind NOT IN ('payout', 'payout_returned')
  AND NOT EXISTS (SELECT 1 FROM settlement_entries x WHERE x.entry_id = e.id)
"""

_BY_PROGRAM = """
WITH w AS (SELECT entry_id FROM settlement_unsettled WHERE own_time < ?),
sh AS (SELECT DISTINCT l.entry_id, l.account FROM journal_lines l
       JOIN w ON w.entry_id = l.entry_id WHERE substr(l.account, 1, 5) = 'shop:')
SELECT sh.account, substr(o.account, length(o.account) - 3), sum(o.amount)
FROM sh JOIN journal_lines o ON o.entry_id = sh.entry_id AND substr(o.account, 1, 5) <> 'shop:'
GROUP BY sh.account, substr(o.account, length(o.account) - 3)
"""


@dataclass(frozen=True)
class ShopLine:
    shop_id: str
    owed: int
    by_program: dict[str, int]
    payable: int
    held: int
    payout: int
    note: str


@dataclass(frozen=True)
class Window:
    id: int
    business_date: dt.date
    cutoff: int
    closed_at: int
    closed_by: str
    suspense: dict[str, int]
    shops: list[ShopLine]
    newly_closed: bool = False

    @property
    def payout_total(self) -> int:
        return sum(s.payout for s in self.shops)


def cutoff_of(session: Session, day: dt.date) -> int:
    """Unix time the window of ``day`` closes: its WITA midnight plus the cut-off setting."""
    minutes = settings.get(session, settings.SETTLEMENT_CUTOFF)
    midnight = dt.datetime.combine(day, dt.time(), WITA)
    return int((midnight + dt.timedelta(minutes=minutes)).timestamp())


def close(session: Session, day: dt.date, operator: str, now: int) -> Window:
    """Close the window of ``day`` (idempotent: a closed window is returned as it was)."""
    if not operator.strip():
        raise GatewayError("invalid", "the operator closing the window must be named")
    lock_ingest(session)  # one snapshot: no sale posts between what is assigned and paid
    existing = session.scalar(select(SettlementWindow).where(SettlementWindow.business_date == day))
    if existing is not None:
        return load(session, existing)
    cutoff = cutoff_of(session, day)
    if now < cutoff:
        when = dt.datetime.fromtimestamp(cutoff, WITA).strftime("%Y-%m-%d %H:%M")
        raise GatewayError("window_open", f"the window of {day} is open until {when} WITA", 409)
    later = session.scalar(select(func.max(SettlementWindow.business_date)))
    if later is not None and later > day:
        raise GatewayError(
            "invalid", f"window {later} is closed already: what {day} held is settled in it"
        )
    window = SettlementWindow(
        business_date=day,
        cutoff=cutoff,
        closed_at=now,
        closed_by=operator.strip(),
        suspense=json.dumps(_suspense(session), separators=(",", ":"), sort_keys=True),
    )
    session.add(window)
    session.flush()
    raw = Raw(session)
    # The unsettled entries are found once, before any is written: the same scan serves the
    # window and what is after its cut-off, and no plan reads a table while filling it.
    raw.execute(f"CREATE TEMPORARY TABLE settlement_unsettled AS {_UNSETTLED}")
    raw.execute(
        "INSERT INTO settlement_entries (entry_id, window_id)"
        " SELECT entry_id, ? FROM settlement_unsettled WHERE own_time < ?",
        [window.id, cutoff],
    )
    lines = _shop_lines(session, raw, cutoff)
    raw.execute("DROP TABLE settlement_unsettled")
    session.add_all(
        SettlementShop(
            window_id=window.id,
            shop_id=line.shop_id,
            owed=line.owed,
            by_program=json.dumps(line.by_program, separators=(",", ":"), sort_keys=True),
            payable=line.payable,
            held=line.held,
            payout=line.payout,
            note=line.note,
        )
        for line in lines
    )
    _instruct(session, window, lines, now)
    session.flush()
    return dataclasses.replace(load(session, window), newly_closed=True)


def _suspense(session: Session) -> dict[str, int]:
    rows = Raw(session).rows(
        "SELECT code, balance FROM accounts WHERE substr(code, 1, 9) = 'suspense:'"
    )
    return {code.split(":", 1)[1]: -int(balance) for code, balance in rows if balance}


def _shop_lines(session: Session, raw: Raw, cutoff: int) -> list[ShopLine]:
    """Per shop, from the unsettled entries: before the cut-off (this window) and after it."""
    by_program: dict[str, dict[str, int]] = {}
    for account, program, amount in raw.rows(_BY_PROGRAM, [cutoff]):
        by_program.setdefault(account.split(":", 1)[1], {})[program] = int(amount)
    later: dict[str, int] = {
        account.split(":", 1)[1]: -int(total)
        for account, total in raw.rows(
            "SELECT l.account, sum(l.amount) FROM journal_lines l JOIN settlement_unsettled c"
            " ON c.entry_id = l.entry_id WHERE c.own_time >= ?"
            " AND substr(l.account, 1, 5) = 'shop:' GROUP BY l.account",
            [cutoff],
        )
    }
    payable_now = {
        code.split(":", 1)[1]: -int(balance)
        for code, balance in raw.rows(
            "SELECT code, balance FROM accounts WHERE substr(code, 1, 5) = 'shop:'"
        )
    }
    held = gaps.held_by_shop(session)
    banked = set(session.scalars(select(ShopBankAccount.shop_id)))
    lines = []
    for shop in sorted(set(by_program) | {s for s, v in payable_now.items() if v}):
        owed = sum(by_program.get(shop, {}).values())
        payable = payable_now.get(shop, 0) - max(later.get(shop, 0), 0)
        shop_held = held.get(shop, 0)
        payout = max(0, payable - shop_held) if shop in banked else 0
        note = _note(payable, shop_held, shop in banked)
        lines.append(
            ShopLine(shop, owed, by_program.get(shop, {}), payable, shop_held, payout, note)
        )
    return lines


def _note(payable: int, held: int, banked: bool) -> str:
    if payable <= 0:
        return "nothing payable" if payable == 0 else "the shop owes more than it is owed"
    if not banked:
        return "no bank account: stays payable"
    if held >= payable:
        return "all held for unexplained credit"
    return "held for unexplained credit" if held else ""


def end_to_end_id(day: dt.date, shop_id: str) -> str:
    return f"SSN{day:%Y%m%d}{shop_id}"


def _instruct(session: Session, window: SettlementWindow, lines: list[ShopLine], now: int) -> None:
    """Payout items with the bank account as it is now; the money leaves ``shop:S``."""
    entries = []
    banked = {row.shop_id: row for row in session.scalars(select(ShopBankAccount))}
    for line in lines:
        if not line.payout:
            continue
        account = banked[line.shop_id]
        e2e = end_to_end_id(window.business_date, line.shop_id)
        session.add(
            PayoutItem(
                end_to_end_id=e2e,
                window_id=window.id,
                shop_id=line.shop_id,
                amount=line.payout,
                bic=account.bic,
                account_number=account.account_number,
                holder_name=account.holder_name,
                status="owed",
                reason="",
                updated_at=now,
            )
        )
        entry = postings.Entry("payout", f"window {window.business_date} {e2e}")
        entries.append(entry.transfer(postings.shop(line.shop_id), PAYOUT, line.payout))
    postings.post(session, now, entries)


def find(session: Session, day: dt.date) -> SettlementWindow:
    window = session.scalar(select(SettlementWindow).where(SettlementWindow.business_date == day))
    if window is None:
        raise not_found(f"a closed window of {day}")
    return window


def load(session: Session, window: SettlementWindow) -> Window:
    rows = session.scalars(
        select(SettlementShop)
        .where(SettlementShop.window_id == window.id)
        .order_by(SettlementShop.shop_id)
    )
    shops = [
        ShopLine(r.shop_id, r.owed, json.loads(r.by_program), r.payable, r.held, r.payout, r.note)
        for r in rows
    ]
    return Window(
        window.id,
        window.business_date,
        window.cutoff,
        window.closed_at,
        window.closed_by,
        json.loads(window.suspense),
        shops,
    )


def listing(session: Session) -> list[SettlementWindow]:
    return list(session.scalars(select(SettlementWindow).order_by(SettlementWindow.business_date)))
