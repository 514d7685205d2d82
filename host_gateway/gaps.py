"""The counter gaps the host keeps open, what they hold back from shops, and when they alert.

:func:`refresh` recomputes a card's continuity (:mod:`host_gateway.continuity`) and keeps its
findings in ``card_gaps``: a new unexplained credit raises ``unexplained_credit`` naming the
terminal and shop of the transaction before the gap, and that amount is **held** from the shop's
payout (:func:`held_by_shop`) until the counters arrive and the gap closes
(``unexplained_credit_released``). A gap open longer than the ``gap_alert_hours`` setting
raises ``card_gap_aged`` once and fails ``ssn-gateway check`` until it closes.

Ingest runs :func:`refresh` for the cards of a batch whose new counters could change anything
(:func:`cards_to_refresh`: a counter whose predecessor is unknown, balances that do not follow,
or a card that already has open findings), in the ingest transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import settings
from host_gateway.continuity import Analysis, Finding, analyse_cards
from host_gateway.events import EventRow, record_events
from host_gateway.fastsql import Raw
from host_gateway.models import (
    CardEvidence,
    CardGap,
    CardTransaction,
    StoredRecord,
    StuckIntent,
    Terminal,
    TerminalCard,
)
from ledger.binary import FormatError
from ledger.cardproofs import decode_card_transaction

WANTED_PER_CARD = 64
"""At most this many missing counters are asked for per card (a card's log holds 16)."""
UNASSIGNED = "unassigned"
"""Held credit with no shop to hold it from (a gap before the card's first known counter)."""


def cards_to_refresh(session: Session, new: list[tuple[str, int]]) -> set[str]:
    """Cards whose continuity these new counters may change, found without reading histories."""
    if not new:
        return set()
    raw = Raw(session)
    cards = sorted({number for number, _ in new})
    found: set[str] = set()
    table, params = raw.pairs_table("new", ("card", "n"), new, ("text", "bigint"))
    found.update(
        number
        for (number,) in raw.rows(
            f"{table} SELECT DISTINCT card FROM new WHERE n > 1 AND NOT EXISTS (SELECT 1"
            " FROM card_transactions t WHERE t.card_number = new.card AND t.counter = n - 1)",
            params,
        )
    )
    steps = sorted({*new, *((number, n + 1) for number, n in new)})
    table, params = raw.pairs_table("step", ("card", "n"), steps, ("text", "bigint"))
    found.update(
        number
        for (number,) in raw.rows(
            f"{table} SELECT DISTINCT p.card_number FROM step"
            " JOIN purse_proofs p ON p.card_number = step.card AND p.counter = step.n"
            " JOIN purse_proofs q ON q.card_number = p.card_number"
            " AND q.counter = p.counter - 1 AND q.purse_code = p.purse_code"
            " WHERE q.balance_after <> p.balance_after - p.delta",
            params,
        )
    )
    condition, params = raw.any_of("card_number", cards, "text")
    found.update(
        number
        for (number,) in raw.rows(
            f"SELECT DISTINCT card_number FROM card_gaps WHERE closed_at IS NULL AND {condition}",
            params,
        )
    )
    return found


def refresh(session: Session, cards: Iterable[str], now: int) -> dict[str, Analysis]:
    """Recompute these cards' findings, keep them, and raise the events they call for."""
    numbers = sorted(set(cards))
    if not numbers:
        return {}
    analyses = analyse_cards(session, numbers)
    rows: dict[tuple[str, int, int], CardGap] = {
        (row.card_number, row.after_counter, row.before_counter): row
        for row in session.scalars(select(CardGap).where(CardGap.card_number.in_(numbers)))
    }
    events: list[EventRow] = []
    for number in numbers:
        current = [row for key, row in rows.items() if key[0] == number and row.closed_at is None]
        seen = set()
        for finding in analyses[number].findings:
            key = (number, finding.after_counter, finding.before_counter)
            seen.add(key)
            row = rows.get(key)
            if row is None:
                row = _open(session, finding, current, now)
                events.extend(_opened_events(row))
            else:
                events.extend(_update(row, finding))
        for row in current:
            if (row.card_number, row.after_counter, row.before_counter) not in seen:
                row.closed_at = now
                if row.credit:
                    events.append(_released(row, row.credit, "the missing counters arrived"))
    session.flush()
    record_events(session, now, events)
    alert_aged(session, now, numbers)
    return analyses


def _open(session: Session, finding: Finding, current: list[CardGap], now: int) -> CardGap:
    """A new finding; a gap that narrows an older one keeps the older one's age."""
    older = [
        r.opened_at
        for r in current
        if r.after_counter <= finding.after_counter and finding.before_counter <= r.before_counter
    ]
    terminal, shop = culprit(session, finding.card_number, finding.after_counter)
    row = CardGap(
        card_number=finding.card_number,
        after_counter=finding.after_counter,
        before_counter=finding.before_counter,
        kind=finding.kind,
        changes=finding.changes_text(),
        credit=finding.credit,
        fall=finding.fall,
        terminal_id=terminal,
        shop_id=shop,
        opened_at=min(older, default=now),
        closed_at=None,
        alerted_at=None,
    )
    session.add(row)
    return row


def _update(row: CardGap, finding: Finding) -> list[EventRow]:
    events = []
    if finding.credit > row.credit:
        events.append(_credit_event(row, finding.credit - row.credit))
    elif finding.credit < row.credit:
        events.append(_released(row, row.credit - finding.credit, "loads explain it"))
    row.closed_at = None
    row.changes, row.credit, row.fall = finding.changes_text(), finding.credit, finding.fall
    return events


def _opened_events(row: CardGap) -> list[EventRow]:
    events = []
    if row.kind == "mismatch":
        events.append(
            EventRow(
                "card_balance_mismatch",
                f"card {row.card_number}: balances at counter {row.before_counter} do not"
                f" follow counter {row.after_counter} ({row.changes}): a forged or copied card",
                row.terminal_id,
                None,
                row.card_number,
            )
        )
    if row.credit:
        events.append(_credit_event(row, row.credit))
    return events


def _credit_event(row: CardGap, amount: int) -> EventRow:
    return EventRow(
        "unexplained_credit",
        f"card {row.card_number}: Rp{amount:,} more on the card than counters"
        f" {row.after_counter}..{row.before_counter} explain ({row.changes}); held from shop"
        f" {row.shop_id or UNASSIGNED} (terminal {row.terminal_id or '-'}, counter"
        f" {row.after_counter})",
        row.terminal_id,
        None,
        row.card_number,
    )


def _released(row: CardGap, amount: int, why: str) -> EventRow:
    return EventRow(
        "unexplained_credit_released",
        f"card {row.card_number}: Rp{amount:,} held from shop {row.shop_id or UNASSIGNED}"
        f" after counter {row.after_counter} released: {why}",
        row.terminal_id,
        None,
        row.card_number,
    )


def culprit(session: Session, card_number: str, counter: int) -> tuple[str | None, str | None]:
    """The terminal (and its shop) of the card's transaction at ``counter``."""
    held = session.get(CardTransaction, (card_number, counter))
    terminal: str | None = None
    if held is None:
        return None, None
    if held.source == "record":
        terminal = session.scalar(
            select(StoredRecord.terminal_id).where(
                StoredRecord.id == held.record_id, StoredRecord.card_number == card_number
            )
        )
    elif held.source == "evidence":
        evidence = session.get(CardEvidence, held.record_id)
        if evidence is not None:
            try:
                terminal = decode_card_transaction(evidence.message).terminal_id
            except FormatError:
                terminal = None
    else:
        intent = session.get(StuckIntent, held.record_id)
        terminal = None if intent is None else intent.terminal_id
    row = None if terminal is None else session.get(Terminal, terminal)
    return terminal, None if row is None else row.shop_id


def alert_aged(session: Session, now: int, cards: list[str] | None = None) -> list[CardGap]:
    """Gaps open longer than the setting allows: each raises ``card_gap_aged`` once."""
    limit = settings.get(session, settings.GAP_ALERT_HOURS) * 3600
    query = select(CardGap).where(
        CardGap.closed_at.is_(None), CardGap.kind == "gap", CardGap.opened_at <= now - limit
    )
    if cards is not None:
        query = query.where(CardGap.card_number.in_(cards))
    aged = list(session.scalars(query.order_by(CardGap.card_number, CardGap.after_counter)))
    fresh = [row for row in aged if row.alerted_at is None]
    for row in fresh:
        row.alerted_at = now
    record_events(
        session,
        now,
        [
            EventRow(
                "card_gap_aged",
                f"card {row.card_number}: counters {row.after_counter + 1}.."
                f"{row.before_counter - 1} missing for more than {limit // 3600} hours"
                f" ({row.changes or 'no balance change'})",
                row.terminal_id,
                None,
                row.card_number,
            )
            for row in fresh
        ],
    )
    return aged


def open_findings(session: Session) -> list[CardGap]:
    return list(
        session.scalars(
            select(CardGap)
            .where(CardGap.closed_at.is_(None))
            .order_by(CardGap.card_number, CardGap.after_counter)
        )
    )


def held_by_shop(session: Session) -> dict[str, int]:
    """What each shop's payout must hold back now: the unexplained credit of its open findings
    (settlement pays a shop its payable minus this; docs/api.md)."""
    held: dict[str, int] = {}
    for row in open_findings(session):
        if row.credit:
            shop = row.shop_id or UNASSIGNED
            held[shop] = held.get(shop, 0) + row.credit
    return held


@dataclass(frozen=True)
class Wanted:
    card_number: str
    counters: list[int]


def wanted(
    session: Session, terminal_id: str | None = None, card: str | None = None
) -> list[Wanted]:
    """Counters inside open gaps, of the cards a terminal served or of one card."""
    query = select(CardGap).where(CardGap.closed_at.is_(None), CardGap.kind == "gap")
    if card is not None:
        query = query.where(CardGap.card_number == card)
    if terminal_id is not None:
        query = query.join(
            TerminalCard,
            (TerminalCard.card_number == CardGap.card_number)
            & (TerminalCard.terminal_id == terminal_id),
        )
    by_card: dict[str, list[int]] = {}
    for row in session.scalars(query.order_by(CardGap.card_number, CardGap.after_counter)):
        by_card.setdefault(row.card_number, []).extend(
            range(row.after_counter + 1, row.before_counter)
        )
    if not by_card:
        return []
    known = {
        (n, c)
        for n, c in session.execute(
            select(CardTransaction.card_number, CardTransaction.counter).where(
                CardTransaction.card_number.in_(sorted(by_card)),
                CardTransaction.source == "settled",
            )
        )
    }
    return [
        Wanted(number, [c for c in counters if (number, c) not in known][-WANTED_PER_CARD:])
        for number, counters in sorted(by_card.items())
    ]
