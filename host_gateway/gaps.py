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
from dataclasses import dataclass, fields

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import settings
from host_gateway.continuity import Analysis, Finding, analyse_cards
from host_gateway.db import bulk_insert
from host_gateway.display import rupiah
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


def cards_to_refresh(
    session: Session, new: list[tuple[str, int]], loaded: Iterable[str] = ()
) -> set[str]:
    """Cards whose findings these new counters may change, found without reading histories:
    a counter whose predecessor is unknown (a new gap below it), one inside a kept gap, one whose
    balances do not follow its neighbour's, and the kept findings of ``loaded`` cards (a load
    receipt arrived: the load no longer explains a rise in a gap before it)."""
    if not new:
        return set()
    raw = Raw(session)
    table, params = raw.pairs_table("new", ("card", "n"), new, ("text", "bigint"))
    found = {
        number
        for (number,) in raw.rows(
            f"{table} SELECT card FROM new WHERE n > 1 AND NOT EXISTS (SELECT 1"
            " FROM card_transactions t WHERE t.card_number = new.card AND t.counter = n - 1)"
            " UNION SELECT g.card_number FROM new CROSS JOIN card_gaps g"
            " WHERE g.card_number = new.card"
            " AND g.after_counter < new.n AND new.n < g.before_counter",
            params,
        )
    }
    steps = sorted({*new, *((number, n + 1) for number, n in new)})
    table, params = raw.pairs_table("step", ("card", "n"), steps, ("text", "bigint"))
    found.update(
        number
        for (number,) in raw.rows(
            # CROSS JOIN: the step list drives (SQLite would otherwise walk a card's whole
            # history for each step); PostgreSQL reads it as the same inner join.
            f"{table} SELECT DISTINCT p.card_number FROM step"
            " CROSS JOIN purse_proofs p CROSS JOIN purse_proofs q"
            " WHERE p.card_number = step.card AND p.counter = step.n"
            " AND q.card_number = p.card_number"
            " AND q.counter = p.counter - 1 AND q.purse_code = p.purse_code"
            " AND q.balance_after <> p.balance_after - p.delta",
            params,
        )
    )
    cards = sorted(set(loaded))
    if cards:
        condition, params = raw.any_of("card_number", cards, "text")
        query = f"SELECT DISTINCT card_number FROM card_gaps WHERE {condition}"
        found.update(number for (number,) in raw.rows(query, params))
    return found


@dataclass
class Gap:
    """A finding as ``card_gaps`` keeps it (see :class:`~host_gateway.models.CardGap`)."""

    card_number: str
    after_counter: int
    before_counter: int
    kind: str
    changes: str
    credit: int
    fall: int
    terminal_id: str | None
    shop_id: str | None
    opened_at: int
    alerted_at: int | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.card_number, self.after_counter, self.before_counter)


_COLUMNS = [field.name for field in fields(Gap)]


def refresh(session: Session, cards: Iterable[str], now: int) -> dict[str, Analysis]:
    """Recompute these cards' findings, keep them (a finding that no longer holds is removed),
    and raise the events they call for. Set-based: out-of-order uploads open and close many
    gaps, and this runs in every ingest transaction that touches one."""
    numbers = sorted(set(cards))
    if not numbers:
        return {}
    session.flush()  # what this transaction changed through the ORM, for the queries below
    analyses = analyse_cards(session, numbers)
    held = _kept(session, numbers)
    added: list[Gap] = []
    changed: list[Gap] = []
    gone: list[Gap] = []
    events: list[EventRow] = []
    for number in numbers:
        current = held.get(number, {})
        for finding in analyses[number].findings:
            row = current.pop((finding.after_counter, finding.before_counter), None)
            if row is None:
                row = _new(session, finding, current.values(), now)
                added.append(row)
                events.extend(_opened_events(row))
            elif (row.changes, row.credit, row.fall) != _weights(finding):
                events.extend(_update(session, row, finding))
                changed.append(row)
        for row in current.values():
            gone.append(row)
            if row.credit:
                events.append(_released(row, row.credit, "the missing counters arrived"))
    _write(session, added, changed, gone)
    record_events(session, now, events)
    alert_aged(session, now, numbers)
    return analyses


def _kept(session: Session, cards: list[str]) -> dict[str, dict[tuple[int, int], Gap]]:
    raw = Raw(session)
    condition, params = raw.any_of("card_number", cards, "text")
    kept: dict[str, dict[tuple[int, int], Gap]] = {}
    for values in raw.rows(
        f"SELECT {', '.join(_COLUMNS)} FROM card_gaps WHERE {condition}", params
    ):
        row = Gap(*values)
        kept.setdefault(row.card_number, {})[(row.after_counter, row.before_counter)] = row
    return kept


def _weights(finding: Finding) -> tuple[str, int, int]:
    return finding.changes_text(), finding.credit, finding.fall


def _new(session: Session, finding: Finding, current: Iterable[Gap], now: int) -> Gap:
    """A new finding; a gap that narrows an older one keeps the older one's age. Only money
    held or a forgery needs the terminal before it named at once."""
    older = [
        r.opened_at
        for r in current
        if r.after_counter <= finding.after_counter and finding.before_counter <= r.before_counter
    ]
    named = finding.credit or not finding.missing
    terminal, shop = (
        culprit(session, finding.card_number, finding.after_counter) if named else (None, None)
    )
    return Gap(
        finding.card_number,
        finding.after_counter,
        finding.before_counter,
        finding.kind,
        *_weights(finding),
        terminal,
        shop,
        min(older, default=now),
    )


def _update(session: Session, row: Gap, finding: Finding) -> list[EventRow]:
    events = []
    if finding.credit and row.terminal_id is None:
        row.terminal_id, row.shop_id = culprit(session, row.card_number, row.after_counter)
    if finding.credit > row.credit:
        events.append(_credit_event(row, finding.credit - row.credit))
    elif finding.credit < row.credit:
        events.append(_released(row, row.credit - finding.credit, "loads explain it"))
    row.changes, row.credit, row.fall = _weights(finding)
    return events


def _write(session: Session, added: list[Gap], changed: list[Gap], gone: list[Gap]) -> None:
    bulk_insert(session, CardGap, [vars(row) for row in added])
    raw = Raw(session)
    delete = "DELETE FROM card_gaps WHERE (card_number, after_counter, before_counter) IN ({})"
    if gone and raw.postgres:
        keys = [list(column) for column in zip(*(row.key for row in gone), strict=True)]
        source = "SELECT * FROM unnest(?::text[], ?::bigint[], ?::bigint[])"
        raw.execute(delete.format(source), keys)
    elif gone:
        raw.executemany(delete.format("VALUES (?, ?, ?)"), [row.key for row in gone])
    for row in changed:
        raw.execute(
            "UPDATE card_gaps SET changes = ?, credit = ?, fall = ?, terminal_id = ?, shop_id = ?"
            " WHERE card_number = ? AND after_counter = ? AND before_counter = ?",
            (row.changes, row.credit, row.fall, row.terminal_id, row.shop_id, *row.key),
        )


def _opened_events(row: Gap) -> list[EventRow]:
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


def _credit_event(row: Gap, amount: int) -> EventRow:
    return EventRow(
        "unexplained_credit",
        f"card {row.card_number}: {rupiah(amount)} more on the card than counters"
        f" {row.after_counter}..{row.before_counter} explain ({row.changes}); held from shop"
        f" {row.shop_id or UNASSIGNED} (terminal {row.terminal_id or '-'}, counter"
        f" {row.after_counter})",
        row.terminal_id,
        None,
        row.card_number,
    )


def _released(row: Gap, amount: int, why: str) -> EventRow:
    return EventRow(
        "unexplained_credit_released",
        f"card {row.card_number}: {rupiah(amount)} held from shop {row.shop_id or UNASSIGNED}"
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
    query = select(CardGap).where(CardGap.kind == "gap", CardGap.opened_at <= now - limit)
    if cards is not None:
        query = query.where(CardGap.card_number.in_(cards))
    query = query.order_by(CardGap.card_number, CardGap.after_counter)
    aged = list(session.scalars(query.execution_options(populate_existing=True)))
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
            .order_by(CardGap.card_number, CardGap.after_counter)
            .execution_options(populate_existing=True)
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
    session: Session,
    terminal_id: str | None = None,
    card: str | None = None,
    shown: int | None = None,
) -> list[Wanted]:
    """Counters inside open gaps, of the cards a terminal served or of one card; with ``shown``
    (the counter that card says it is at, presented now), also those above the last the host
    holds: a debit no record brought yet (an offline shop's, or one a terminal hid) is read
    from the card's log at this presentation, not at the card's next transaction."""
    query = select(CardGap).where(CardGap.kind == "gap")
    if card is not None:
        query = query.where(CardGap.card_number == card)
    if terminal_id is not None:
        query = query.join(
            TerminalCard,
            (TerminalCard.card_number == CardGap.card_number)
            & (TerminalCard.terminal_id == terminal_id),
        )
    by_card: dict[str, list[int]] = {}
    query = query.order_by(CardGap.card_number, CardGap.after_counter)
    for row in session.scalars(query.execution_options(populate_existing=True)):
        by_card.setdefault(row.card_number, []).extend(
            range(row.after_counter + 1, row.before_counter)
        )
    if card is not None and shown is not None:
        highest = session.scalar(
            select(func.max(CardTransaction.counter)).where(CardTransaction.card_number == card)
        )
        if shown > (highest or 0):
            start = max((highest or 0) + 1, shown - WANTED_PER_CARD + 1)
            by_card.setdefault(card, []).extend(range(start, shown + 1))
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
