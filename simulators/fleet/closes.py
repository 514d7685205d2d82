"""The proof's per-terminal part: every terminal's chain reached the host whole, and every
day close (the terminal's Z report) agrees with what the host holds of that day, except where a
terminal hid a record: there the host must say it cannot confirm the day, a record missing.

This is how the host sees a hidden record before the card shows it (a later transaction's
counter gap): the day close names its sequence range, and a record of the range never came.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway.models import StoredRecord, Terminal
from host_gateway.settlement import daycheck
from terminal.home import TerminalHome

if TYPE_CHECKING:
    from simulators.fleet.run import Fleet


def prove_closes(
    fleet: Fleet, session: Session, hidden_at: set[str], problems: list[str]
) -> dict[str, Any]:
    """``hidden_at``: the shop-days (``DAY-SHOP``) whose terminal hid a record."""
    terminals = {t.shop_id: t for t in session.scalars(select(Terminal))}
    statuses: Counter[str] = Counter()
    flagged = 0
    days = sorted({path.name[:10] for path in (fleet.spec.out / "days").glob("*.jsonl")})
    for day in days:
        for check in daycheck.compare(session, dt.date.fromisoformat(day), fleet.shop_ids):
            statuses[check.status] += 1
            shop_day = f"{day}-{check.shop_id}"
            if shop_day in hidden_at:
                if check.status != daycheck.CANNOT_CONFIRM or "not at the host" not in check.why:
                    problems.append(f"{shop_day}: a record was hidden, the day check says"
                                    f" {check.status!r} ({check.why})")  # fmt: skip
                flagged += check.status == daycheck.CANNOT_CONFIRM
            elif check.status != daycheck.AGREED:
                problems.append(f"{shop_day}: day close {check.status} ({check.why}):"
                                f" terminal {check.reported}, host {check.host}")  # fmt: skip
    hiders = {shop_day[11:] for shop_day in hidden_at}
    chains = _chains(fleet, session, terminals, hiders, problems)
    return {"day_checks": dict(statuses), "chains": chains, "hidden_flagged_by_day_close": flagged}


def _chains(
    fleet: Fleet,
    session: Session,
    terminals: dict[str, Terminal],
    hiders: set[str],
    problems: list[str],
) -> dict[str, int]:
    """Each honest terminal's whole journal is at the host, unbroken; a hider's chain breaks
    at the record it hid, and the host knows how far it is unbroken."""
    held = dict(
        session.execute(
            select(StoredRecord.terminal_id, func.count())
            .where(StoredRecord.in_chain)
            .group_by(StoredRecord.terminal_id)
        ).all()
    )
    out = Counter[str]()
    for shop, shop_id in enumerate(fleet.shop_ids):
        terminal = terminals[shop_id]
        with TerminalHome.open(fleet.home(shop)) as home:
            last = home.journal.last_record()
        written = last.seq if last else 0
        at_host = int(held.get(terminal.id, 0))
        out["records_written"] += written
        if shop_id in hiders:
            out["chains_broken_by_hiding"] += terminal.contiguous_seq < written
            if terminal.contiguous_seq >= written or at_host >= written:
                problems.append(f"{terminal.id} hid a record, yet the host holds its chain whole")
        elif at_host != written or terminal.contiguous_seq != written:
            problems.append(f"{terminal.id} wrote {written} records; the host holds {at_host},"
                            f" unbroken to {terminal.contiguous_seq}")  # fmt: skip
    return dict(out)
