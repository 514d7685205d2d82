"""Balance continuity of one card across its counters (S5: the host sees every counter).

Every card message carries the balance of every purse after it, and the host keeps them with the
message's own movement (``purse_proofs``). Walking a card's known counters in order, the balance
before counter b (after b minus b's own movement) must equal the balance after the previous known
counter a. When b = a + 1 a difference is a forgery or a second copy of the card (a mismatch).
When counters are missing between them (a gap), the difference is what those unseen transactions
moved: a rise no load issued by the host can explain is an **unexplained credit** (value created
outside the issuer, e.g. a cancellation whose record a shop hid), a fall is debits no journal
holds yet. Counters an operator settled from a stuck intent are known movements without
balances. This module only computes; :mod:`host_gateway.gaps` keeps the findings and holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from host_gateway.fastsql import Raw


@dataclass(frozen=True)
class Step:
    """One counter the host knows."""

    counter: int
    after: dict[str, int] | None
    """Every purse's balance after it as the card signed it; None for a settled counter."""
    delta: dict[str, int]
    """What it moved per purse (debit negative)."""


@dataclass
class Finding:
    card_number: str
    after_counter: int
    before_counter: int
    missing: list[int]
    changes: dict[str, int]
    """Per purse: balance before ``before_counter`` minus balance after ``after_counter``."""
    credit: int = 0
    fall: int = 0

    @property
    def kind(self) -> str:
        return "gap" if self.missing else "mismatch"

    def changes_text(self) -> str:
        return ",".join(f"{code}:{amount:+d}" for code, amount in sorted(self.changes.items()))


@dataclass
class Analysis:
    findings: list[Finding] = field(default_factory=list)
    end: dict[str, int] = field(default_factory=dict)
    """The card's balance per purse after its last known counter, as far as the host can tell."""
    unposted: dict[str, int] = field(default_factory=dict)
    """Per purse, what the findings moved that no journal entry holds: the shadow balance is
    ``end - unposted``."""


def analyse(card_number: str, steps: Iterable[Step], pending: dict[str, int]) -> Analysis:
    """Walk ``steps`` (in counter order) from an empty card; ``pending`` is per purse the amount of
    loads the host issued for the card whose receipts it has not seen (they may sit in a gap)."""
    analysis = Analysis()
    carry: dict[str, int] = {}
    last, settled = 0, set()
    budget = dict(pending)
    for step in steps:
        if step.after is None:
            for code, moved in step.delta.items():
                carry[code] = carry.get(code, 0) + moved
            settled.add(step.counter)
            continue
        changes = {}
        for code, after in step.after.items():
            difference = after - step.delta.get(code, 0) - carry.get(code, 0)
            if difference:
                changes[code] = difference
        missing = [c for c in range(last + 1, step.counter) if c not in settled]
        if changes or missing:
            finding = Finding(card_number, last, step.counter, missing, changes)
            _weigh(finding, budget)
            analysis.findings.append(finding)
            for code, difference in changes.items():
                analysis.unposted[code] = analysis.unposted.get(code, 0) + difference
        carry.update(step.after)
        last, settled = step.counter, set()
    analysis.end = carry
    return analysis


def _weigh(finding: Finding, budget: dict[str, int]) -> None:
    """Credit: rises not explained by pending loads (a mismatch has no room for any); fall:
    value that left in counters no journal holds."""
    for code, difference in sorted(finding.changes.items()):
        if difference < 0:
            finding.fall -= difference
            continue
        explained = min(difference, budget.get(code, 0)) if finding.missing else 0
        budget[code] = budget.get(code, 0) - explained
        finding.credit += difference - explained


def load_steps(session: Session, cards: list[str]) -> dict[str, list[Step]]:
    """The known counters of these cards, with their balances and movements."""
    if not cards:
        return {}
    raw = Raw(session)
    condition, params = raw.any_of("card_number", cards, "text")
    balances: dict[tuple[str, int], tuple[dict[str, int], dict[str, int]]] = {}
    for number, counter, code, after, delta in raw.rows(
        "SELECT card_number, counter, purse_code, balance_after, delta FROM purse_proofs"
        f" WHERE {condition}",
        params,
    ):
        afters, deltas = balances.setdefault((number, int(counter)), ({}, {}))
        afters[code], deltas[code] = int(after), int(delta)
    settled: dict[tuple[str, int], dict[str, int]] = {}
    for number, counter, amounts in raw.rows(
        "SELECT card_number, expected_counter, amounts FROM stuck_intents"
        f" WHERE settled_at IS NOT NULL AND {condition}",
        params,
    ):
        settled[(number, int(counter))] = {c: -int(a) for c, a in json.loads(amounts).items()}
    steps: dict[str, list[Step]] = {number: [] for number in cards}
    for number, counter, source in raw.rows(
        f"SELECT card_number, counter, source FROM card_transactions WHERE {condition}"
        " ORDER BY card_number, counter",
        params,
    ):
        key = (number, int(counter))
        if source == "settled":
            steps[number].append(Step(key[1], None, settled.get(key, {})))
        else:
            afters, deltas = balances.get(key, ({}, {}))
            steps[number].append(Step(key[1], afters, deltas))
    return steps


def pending_loads(session: Session, cards: list[str]) -> dict[str, dict[str, int]]:
    """Per card and purse: loads the host issued whose receipts it has not seen."""
    if not cards:
        return {}
    raw = Raw(session)
    condition, params = raw.any_of("card_number", cards, "text")
    pending: dict[str, dict[str, int]] = {}
    for number, code, amount in raw.rows(
        "SELECT card_number, purse_code, sum(amount) FROM loads"
        f" WHERE applied_record IS NULL AND {condition} GROUP BY card_number, purse_code",
        params,
    ):
        pending.setdefault(number, {})[code] = int(amount)
    return pending


def analyse_cards(session: Session, cards: list[str]) -> dict[str, Analysis]:
    steps, pending = load_steps(session, cards), pending_loads(session, cards)
    return {n: analyse(n, steps.get(n, []), pending.get(n, {})) for n in cards}


def movement_rows(
    card_number: str,
    counter: int,
    kind: str,
    purses: Iterable[tuple[str, int, int]],
    others: Iterable[tuple[str, int]],
    swept: int = 0,
) -> list[dict[str, object]]:
    """``purse_proofs`` rows of one card message: every purse's balance after it and what the
    message moved (a debit takes, a cancellation gives back, a load gives minus what expired)."""
    rows: list[dict[str, object]] = []
    for code, amount, balance in purses:
        delta = -amount if kind == "sale" else amount - swept if kind == "load" else amount
        rows.append(_row(card_number, counter, code, balance, delta))
    rows.extend(_row(card_number, counter, code, balance, 0) for code, balance in others)
    return rows


def _row(number: str, counter: int, code: str, balance: int, delta: int) -> dict[str, object]:
    return {
        "card_number": number,
        "counter": counter,
        "purse_code": code,
        "balance_after": balance,
        "delta": delta,
    }
