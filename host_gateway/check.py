"""The invariant check (M2): the journal sums to zero, every entry balances, every account's
balance is the sum of its lines, and every card purse's shadow balance equals the balance the card
itself last signed. Cards whose counter history has gaps cannot be compared yet and are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.models import Account, Card, CardTransaction, JournalLine, PurseProof


@dataclass
class CheckReport:
    journal_total: int = 0
    entries: int = 0
    accounts: int = 0
    purses_checked: int = 0
    cards_with_gaps: list[str] = field(default_factory=list)
    cloned_cards: list[str] = field(default_factory=list)
    """Two histories were seen: balances cannot be compared with either copy."""
    cards_issuing: list[str] = field(default_factory=list)
    """Issuance never finished (the host stopped while writing the card): hotlist them."""
    discrepancies: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def run_check(session: Session) -> CheckReport:
    report = CheckReport()
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
    _check_shadow(session, report, balances)
    report.cards_issuing = sorted(
        session.scalars(select(Card.number).where(Card.status == "issuing"))
    )
    return report


def counter_gaps(session: Session, card_number: str) -> list[int]:
    counters = sorted(
        session.scalars(
            select(CardTransaction.counter).where(CardTransaction.card_number == card_number)
        )
    )
    present = set(counters)
    return [c for c in range(1, (counters[-1] if counters else 0) + 1) if c not in present]


def _check_shadow(session: Session, report: CheckReport, balances: dict[str, int]) -> None:
    gaps = session.execute(
        select(CardTransaction.card_number)
        .group_by(CardTransaction.card_number)
        .having(func.count() != func.max(CardTransaction.counter))
    )
    with_gaps = set(gaps.scalars())
    report.cards_with_gaps = sorted(with_gaps)
    cloned = set(session.scalars(select(Card.number).where(Card.status == "cloned")))
    report.cloned_cards = sorted(cloned)
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
        if number in with_gaps or number in cloned:
            continue
        report.purses_checked += 1
        shadow = -int(balances.get(postings.purse(number, code), 0))
        if shadow != card_balance:
            report.discrepancies.append(
                f"card {number} purse {code}: shadow balance {shadow} but the card signed "
                f"{card_balance} at counter {counter}"
            )
