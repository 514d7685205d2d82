"""The invariant check (M2, S5): the journal sums to zero, every entry balances, every account's
balance is the sum of its lines, the dashboard's day totals are what the records say, every card
purse's shadow balance equals what the card signed, and no card is skipped: counter gaps are
checked for continuity (:mod:`host_gateway.continuity`).

A card with a counter gap is compared too: its shadow balance must equal the card's last signed
balance less what the gaps moved. The check reports every gap, every unexplained credit (with
the terminal and shop it is held from), every debit on a card that no journal holds, and gaps
older than the ``gap_alert_hours`` setting. It fails (``ok`` false, the command exits 1) while
money is unexplained: a discrepancy, an unexplained credit, a balance mismatch or an aged gap.
Fresh gaps are listed without failing: a card used at an offline shop makes one for a while.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import day_sales, gaps, postings
from host_gateway.continuity import Analysis
from host_gateway.fastsql import Raw
from host_gateway.models import (
    Account,
    Card,
    CardEvidence,
    CardGap,
    CardTransaction,
    JournalLine,
    PurseProof,
)
from ledger.binary import FormatError
from ledger.cardproofs import DebitProof


@dataclass
class CheckReport:
    journal_total: int = 0
    entries: int = 0
    accounts: int = 0
    purses_checked: int = 0
    cards_with_gaps: list[str] = field(default_factory=list)
    cloned_cards: list[str] = field(default_factory=list)
    """Two histories were seen: the host keeps the first one it saw."""
    cards_issuing: list[str] = field(default_factory=list)
    """Issuance never finished (the host stopped while writing the card): hotlist them."""
    discrepancies: list[str] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    """Open counter gaps: card, counters either side, missing counters, changes, terminal, shop."""
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    """Consecutive counters whose balances do not follow: forged or copied card."""
    unexplained_credits: list[dict[str, Any]] = field(default_factory=list)
    unrecorded_debits: list[dict[str, Any]] = field(default_factory=list)
    """Debits on a card that no journal holds: falls across gaps, debits read from card logs."""
    aged_gaps: list[dict[str, Any]] = field(default_factory=list)
    held_by_shop: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.discrepancies or self.unexplained_credits or self.mismatches or self.aged_gaps
        )


def run_check(session: Session, now: int | None = None) -> CheckReport:
    now = int(time.time()) if now is None else now
    report = CheckReport()
    balances = _check_journal(session, report)
    report.discrepancies.extend(day_sales.disagreements(session))
    analyses = gaps.refresh(session, _cards_to_walk(session), now)
    gaps.alert_aged(session, now)
    _check_shadow(session, report, balances, analyses)
    _report_findings(session, report, now)
    report.cards_issuing = sorted(
        session.scalars(select(Card.number).where(Card.status == "issuing"))
    )
    return report


def _check_journal(session: Session, report: CheckReport) -> dict[str, int]:
    report.journal_total = int(
        session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))) or 0
    )
    if report.journal_total != 0:
        report.discrepancies.append(f"journal sums to {report.journal_total}, not 0")
    unbalanced = session.execute(
        select(JournalLine.entry_id, func.sum(JournalLine.amount))
        .group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.amount) != 0)
        .limit(5)
    ).all()
    for entry_id, total in unbalanced:
        report.discrepancies.append(f"journal entry {entry_id.hex()} sums to {total}")
    report.entries = int(
        session.scalar(select(func.count(func.distinct(JournalLine.entry_id)))) or 0
    )
    sums: dict[str, int] = {
        account: int(total)
        for account, total in session.execute(
            select(JournalLine.account, func.sum(JournalLine.amount)).group_by(JournalLine.account)
        )
    }
    balances: dict[str, int] = {
        code: int(balance)
        for code, balance in session.execute(select(Account.code, Account.balance))
    }
    report.accounts = len(balances)
    for code in sorted(set(sums) | set(balances)):
        if int(sums.get(code, 0)) != int(balances.get(code, 0)):
            report.discrepancies.append(
                f"account {code}: balance {balances.get(code, 0)} but its lines sum to "
                f"{sums.get(code, 0)}"
            )
    return balances


def counter_gaps(session: Session, card_number: str) -> list[int]:
    counters = sorted(
        session.scalars(
            select(CardTransaction.counter).where(CardTransaction.card_number == card_number)
        )
    )
    present = set(counters)
    return [c for c in range(1, (counters[-1] if counters else 0) + 1) if c not in present]


def _cards_to_walk(session: Session) -> list[str]:
    """Every card whose continuity is not plain: counters missing, settled counters, balances
    that do not follow from one counter to the next, or findings still open."""
    raw = Raw(session)
    cards = {
        number
        for (number,) in raw.rows(
            "SELECT card_number FROM card_transactions GROUP BY card_number"
            " HAVING count(*) != max(counter) OR sum(CASE WHEN source = 'settled'"
            " THEN 1 ELSE 0 END) > 0"
        )
    }
    cards |= {
        number
        for (number,) in raw.rows(
            "SELECT DISTINCT p.card_number FROM purse_proofs p JOIN purse_proofs q"
            " ON q.card_number = p.card_number AND q.counter = p.counter - 1"
            " AND q.purse_code = p.purse_code WHERE q.balance_after <> p.balance_after - p.delta"
        )
    }
    cards |= set(session.scalars(select(CardGap.card_number)))
    return sorted(cards)


def _check_shadow(
    session: Session, report: CheckReport, balances: dict[str, int], walked: dict[str, Analysis]
) -> None:
    """Every card purse: shadow balance = the card's last signed balance less what its gaps
    moved (nothing, for a card without gaps)."""
    report.cards_with_gaps = sorted(
        n for n, a in walked.items() if any(f.missing for f in a.findings)
    )
    report.cloned_cards = sorted(
        session.scalars(select(Card.number).where(Card.status == "cloned"))
    )
    for number, analysis in sorted(walked.items()):
        for code, end in sorted(analysis.end.items()):
            _compare(report, balances, number, code, end - analysis.unposted.get(code, 0), None)
    latest = (
        select(
            PurseProof.card_number,
            PurseProof.purse_code,
            func.max(PurseProof.counter).label("counter"),
        )
        .group_by(PurseProof.card_number, PurseProof.purse_code)
        .subquery()
    )
    rows = session.execute(
        select(
            PurseProof.card_number,
            PurseProof.purse_code,
            PurseProof.counter,
            PurseProof.balance_after,
        )
        .join(
            latest,
            (latest.c.card_number == PurseProof.card_number)
            & (latest.c.purse_code == PurseProof.purse_code)
            & (latest.c.counter == PurseProof.counter),
        )
        .order_by(PurseProof.card_number, PurseProof.purse_code)
    )
    for number, code, counter, card_balance in rows:
        if number not in walked:
            _compare(report, balances, number, code, card_balance, counter)


def _compare(
    report: CheckReport,
    balances: dict[str, int],
    number: str,
    code: str,
    expected: int,
    counter: int | None,
) -> None:
    report.purses_checked += 1
    shadow = -int(balances.get(postings.purse(number, code), 0))
    if shadow != expected:
        where = f"at counter {counter}" if counter is not None else "less what its gaps moved"
        report.discrepancies.append(
            f"card {number} purse {code}: shadow balance {shadow} but the card signed "
            f"{expected} {where}"
        )


def _report_findings(session: Session, report: CheckReport, now: int) -> None:
    aged = {(r.card_number, r.after_counter) for r in gaps.alert_aged(session, now)}
    for row in gaps.open_findings(session):
        value = _finding(row)
        if row.kind == "mismatch":
            report.mismatches.append(value)
        else:
            value["aged"] = (row.card_number, row.after_counter) in aged
            report.gaps.append(value)
            if value["aged"]:
                report.aged_gaps.append(value)
        if row.credit:
            report.unexplained_credits.append(
                {k: value[k] for k in ("card", "after_counter", "terminal", "shop")}
                | {"amount": row.credit}
            )
        if row.fall and row.kind == "gap":
            report.unrecorded_debits.append(
                {k: value[k] for k in ("card", "after_counter", "before_counter", "missing")}
                | {"amount": row.fall, "source": "counter gap"}
            )
    for evidence in session.scalars(
        select(CardEvidence)
        .where(CardEvidence.kind == "sale", CardEvidence.recorded_by.is_(None))
        .order_by(CardEvidence.card_number, CardEvidence.counter)
    ):
        try:
            proof = DebitProof.decode(evidence.message)
        except FormatError:
            continue
        report.unrecorded_debits.append(
            {
                "card": evidence.card_number,
                "counter": evidence.counter,
                "terminal": proof.terminal_id,
                "amount": proof.total,
                "source": "card log (in suspense)",
            }
        )
    report.held_by_shop = gaps.held_by_shop(session)


def _finding(row: CardGap) -> dict[str, Any]:
    return {
        "card": row.card_number,
        "after_counter": row.after_counter,
        "before_counter": row.before_counter,
        "missing": list(range(row.after_counter + 1, row.before_counter)),
        "changes": row.changes,
        "credit": row.credit,
        "fall": row.fall,
        "terminal": row.terminal_id,
        "shop": row.shop_id,
        "opened_at": row.opened_at,
    }
