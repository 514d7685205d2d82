"""The dashboard's figures, read from the gateway's own tables in one transaction.

Sales today are the accepted sales and cancellations the host *received* today (WITA): the host's
clock is the one it can trust, and it is the time their journal entries carry. Their money per
program is the card-signed movement at the record's counter (``purse_proofs.delta``), the same
amounts ingest posted. Both come from the day's totals ingest keeps in the same transaction as
the records (:mod:`host_gateway.day_sales`): a few rows per shop, not the day's records.
``load`` is the whole read; the bench times it alone as its floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from host_gateway.display import start_of_day
from host_gateway.models import (
    Account,
    Card,
    CardGap,
    DayProgramSales,
    DaySales,
    Load,
    Shop,
    StuckIntent,
    Terminal,
)

ONLINE_SECONDS = 15 * 60
"""A terminal heard from within this is online (it syncs every minute by default)."""


@dataclass(frozen=True)
class TerminalState:
    terminal_id: str
    shop_id: str
    shop_name: str
    last_seen: int | None
    lag: int | None
    """Seconds since the host last heard from it (None: never)."""
    online: bool
    revoked: bool


@dataclass(frozen=True)
class ProgramMoney:
    program: str
    sales_today: int
    authorized: int
    """Loads the issuer signed."""
    loaded: int
    """Of those, applied to a card (its receipt came back)."""
    on_cards: int
    expired: int
    suspense: int
    """Card-signed debits held for an operator (not paid to a shop)."""

    @property
    def spent(self) -> int:
        """What left the cards: loaded less what is still on them and what expired."""
        return self.loaded - self.on_cards - self.expired


@dataclass(frozen=True)
class Dashboard:
    day_start: int
    sales_count: int
    voids_count: int
    programs: list[ProgramMoney]
    terminals: list[TerminalState]
    open_intents: int
    unexplained_count: int
    unexplained_amount: int
    cloned_cards: int
    shops_online: int
    shops_total: int
    offline: list[TerminalState] = field(default_factory=list)

    @property
    def sales_today(self) -> int:
        return sum(p.sales_today for p in self.programs)

    @property
    def terminals_online(self) -> int:
        return sum(1 for t in self.terminals if t.online)


def load(session: Session, now: int) -> Dashboard:
    start = start_of_day(now)
    today = DaySales.day == start
    sales_count, voids_count = session.execute(
        select(
            func.coalesce(func.sum(DaySales.sales), 0), func.coalesce(func.sum(DaySales.voids), 0)
        ).where(today)
    ).one()
    sales = _by_program(
        session,
        select(DayProgramSales.purse_code, func.sum(DayProgramSales.amount))
        .where(DayProgramSales.day == start)
        .group_by(DayProgramSales.purse_code),
    )
    applied = case((Load.applied_at.is_not(None), Load.amount), else_=0)
    authorized, loaded = {}, {}
    for code, signed, on_card in session.execute(  # one pass over the loads for both
        select(Load.purse_code, func.sum(Load.amount), func.sum(applied)).group_by(Load.purse_code)
    ):
        authorized[code], loaded[code] = int(signed or 0), int(on_card or 0)
    program = func.substr(Account.code, func.length(Account.code) - 3)
    balances = {
        (kind, code): -int(total)
        for kind, code, total in session.execute(
            select(Account.kind, program, func.sum(Account.balance))
            .where(Account.kind.in_(("purse", "expired", "suspense")))
            .group_by(Account.kind, program)
        )
    }
    codes = sorted(set(sales) | set(authorized) | {code for _, code in balances})
    programs = [
        ProgramMoney(
            code,
            sales.get(code, 0),
            authorized.get(code, 0),
            loaded.get(code, 0),
            balances.get(("purse", code), 0),
            balances.get(("expired", code), 0),
            balances.get(("suspense", code), 0),
        )
        for code in codes
    ]
    terminals = terminal_states(session, now)
    online_shops = {t.shop_id for t in terminals if t.online}
    unexplained = session.execute(
        select(func.count(), func.coalesce(func.sum(CardGap.credit), 0)).where(CardGap.credit > 0)
    ).one()
    return Dashboard(
        day_start=start,
        sales_count=int(sales_count),
        voids_count=int(voids_count),
        programs=programs,
        terminals=terminals,
        open_intents=int(
            session.scalar(
                select(func.count()).where(
                    StuckIntent.closed_at.is_(None), StuckIntent.settled_at.is_(None)
                )
            )
            or 0
        ),
        unexplained_count=int(unexplained[0]),
        unexplained_amount=int(unexplained[1]),
        cloned_cards=int(session.scalar(select(func.count()).where(Card.status == "cloned")) or 0),
        shops_online=len(online_shops),
        shops_total=int(session.scalar(select(func.count()).select_from(Shop)) or 0),
        offline=sorted(
            (t for t in terminals if not t.online and not t.revoked),
            key=lambda t: -(t.lag if t.lag is not None else 1 << 62),
        ),
    )


def _by_program(session: Session, query: Select[str, int]) -> dict[str, int]:
    return {code: int(total or 0) for code, total in session.execute(query)}


def terminal_states(session: Session, now: int) -> list[TerminalState]:
    rows = session.execute(
        select(Terminal.id, Terminal.shop_id, Shop.name, Terminal.last_seen, Terminal.revoked_at)
        .join(Shop, Shop.id == Terminal.shop_id)
        .order_by(Terminal.id)
    )
    states = []
    for terminal_id, shop_id, shop_name, last_seen, revoked_at in rows:
        lag = None if last_seen is None else max(0, now - last_seen)
        online = revoked_at is None and lag is not None and lag <= ONLINE_SECONDS
        states.append(
            TerminalState(
                terminal_id, shop_id, shop_name, last_seen, lag, online, revoked_at is not None
            )
        )
    return states
