"""A program's terms: what it gives per period, when the aid is loaded and when it expires.

Periods are whole months counted from January (a 3-month program's periods start in January,
April, July and October). The aid of a period is loaded on ``load_day`` of its first month and
expires at the end of the ``expiry_periods``-th period counting that one; the card sweeps what
is left then and the host posts it to ``expired:P`` (docs/programs.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import shops
from host_gateway.errors import GatewayError, not_found
from host_gateway.models import CardProgram, Program
from host_gateway.programs.models import ProgramTerms
from ledger.cardproofs import MAX_AMOUNT

FUNDER_KINDS = ("APBD", "BAZNAS", "CSR", "APBN", "OTHER")
ELIGIBILITY = ("", "muslim")


@dataclass(frozen=True)
class TermsInput:
    code: str
    name: str
    funder_kind: str
    categories: Sequence[str]
    benefit: int
    period_months: int = 1
    load_day: int = 1
    expiry_periods: int = 3
    eligibility: str = ""
    households_allowed: bool = False


def define(session: Session, terms: TermsInput, now: int) -> ProgramTerms:
    """Create the program (or change its terms); bad terms change nothing."""
    if terms.funder_kind not in FUNDER_KINDS:
        raise GatewayError("invalid", f"funder kind must be one of {', '.join(FUNDER_KINDS)}")
    if terms.eligibility not in ELIGIBILITY:
        raise GatewayError("invalid", "eligibility must be empty or 'muslim'")
    if not 1 <= terms.benefit <= MAX_AMOUNT:
        raise GatewayError("invalid", f"benefit must be 1..{MAX_AMOUNT} rupiah")
    if terms.period_months not in (1, 2, 3, 4, 6, 12):
        raise GatewayError("invalid", "period must be 1, 2, 3, 4, 6 or 12 months")
    if not 1 <= terms.load_day <= 28:
        raise GatewayError("invalid", "load day must be 1-28 (every month has it)")
    if not 1 <= terms.expiry_periods <= 24:
        raise GatewayError("invalid", "expiry must be 1-24 periods")
    categories = sorted({c.strip() for c in terms.categories if c.strip()})
    if not categories:
        raise GatewayError("invalid", "a program pays for at least one catalog category")
    if session.get(Program, terms.code) is None:
        shops.add_program(session, terms.code, terms.name, now)
    row = session.get(ProgramTerms, terms.code)
    if row is None:
        row = ProgramTerms(program_code=terms.code)
        session.add(row)
    row.funder_kind, row.categories, row.benefit = (
        terms.funder_kind,
        ",".join(categories),
        terms.benefit,
    )
    row.period_months, row.load_day = terms.period_months, terms.load_day
    row.expiry_periods, row.eligibility = terms.expiry_periods, terms.eligibility
    row.households_allowed, row.updated = terms.households_allowed, now
    session.flush()
    return row


def get(session: Session, code: str) -> ProgramTerms:
    row = session.get(ProgramTerms, code)
    if row is None:
        raise not_found(f"program {code} (with terms: `ssn-gateway programs define`)")
    return row


def all_terms(session: Session) -> dict[str, ProgramTerms]:
    return {t.program_code: t for t in session.scalars(select(ProgramTerms))}


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_start(terms: ProgramTerms, day: dt.date) -> dt.date:
    """First day of the period ``day`` falls in."""
    month = (day.month - 1) // terms.period_months * terms.period_months + 1
    return dt.date(day.year, month, 1)


def parse_period(terms: ProgramTerms, text: str) -> dt.date:
    """``YYYY-MM``: the period starting that month."""
    try:
        start = dt.date.fromisoformat(f"{text.strip()}-01")
    except ValueError as exc:
        raise GatewayError("invalid", f"period must be YYYY-MM, not {text!r}") from exc
    if period_start(terms, start) != start:
        raise GatewayError(
            "invalid", f"periods of {terms.program_code} start every {terms.period_months} months"
        )
    return start


def load_date(terms: ProgramTerms, start: dt.date) -> dt.date:
    return start.replace(day=terms.load_day)


def expiry(terms: ProgramTerms, start: dt.date) -> dt.date:
    """Last day of the ``expiry_periods``-th period from ``start`` (counting it)."""
    return _add_months(start, terms.period_months * terms.expiry_periods) - dt.timedelta(days=1)


def next_aid_date(terms: ProgramTerms, today: dt.date) -> dt.date:
    """The next load day after today: what the balance slip tells the holder."""
    start = period_start(terms, today)
    if load_date(terms, start) > today:
        return load_date(terms, start)
    return load_date(terms, _add_months(start, terms.period_months))


def next_aid_dates(session: Session, card_number: str, today: dt.date) -> dict[str, str]:
    """Per purse of the card whose program has terms: its next aid date (GET /v1/cards/N)."""
    codes = session.scalars(
        select(CardProgram.program_code).where(CardProgram.card_number == card_number)
    )
    schedule = all_terms(session)
    return {
        code: next_aid_date(schedule[code], today).isoformat()
        for code in sorted(codes)
        if code in schedule
    }
