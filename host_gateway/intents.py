"""Stuck intents: operations a terminal could not resolve with the card, settled from what the
host holds.

A terminal whose card command was torn keeps an intent it resolves when the card comes back
(docs/card-protocol.md, section 7). When the card went elsewhere instead, the card's message at
the intent's counter may reach the host first (another terminal's record, or the card's log as
evidence): the terminal reports its unresolved intents (``POST /v1/intents``) and gets that
message back in ``GET /v1/updates`` (``resolutions``). It verifies the card's signature itself:
the intent's nonce means the command ran, another nonce at that counter means it never did.

When the card's 16-entry log rolled past the counter, no terminal can fetch the message any
more. An operator may then settle a sale intent from the continuity evidence
(``ssn-gateway intents settle``): only if the card's balances fell across the gap holding that
counter by exactly the amounts the intent asked. The debit is booked to suspense (the shop is
paid only once its record arrives) and the counter counts as known.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import gaps, postings
from host_gateway.continuity import Finding, analyse_cards
from host_gateway.errors import GatewayError, not_found
from host_gateway.evidence import card_message_of
from host_gateway.models import Card, CardEvidence, CardTransaction, StoredRecord, StuckIntent

KINDS = ("sale", "void", "load")


@dataclass(frozen=True)
class Reported:
    intent_id: uuid.UUID
    card_number: str
    kind: str
    nonce: bytes
    expected_counter: int
    amounts: dict[str, int]


@dataclass(frozen=True)
class ReportResult:
    intent_id: str
    result: str
    """stored, known or refused."""
    code: str
    message: str


def report(
    session: Session, terminal_id: str, items: list[Reported], closed: list[uuid.UUID], now: int
) -> list[ReportResult]:
    """Keep the terminal's unresolved intents (idempotent) and forget those it closed."""
    results = [_keep(session, terminal_id, item, now) for item in items]
    for intent_id in closed:
        row = session.get(StuckIntent, intent_id.bytes)
        if row is not None and row.terminal_id == terminal_id and row.closed_at is None:
            row.closed_at = now
    session.flush()
    return results


def _keep(session: Session, terminal_id: str, item: Reported, now: int) -> ReportResult:
    text = str(item.intent_id)
    if item.kind not in KINDS:
        return ReportResult(text, "refused", "invalid", f"kind must be one of {KINDS}")
    if session.get(Card, item.card_number) is None:
        return ReportResult(text, "refused", "card_unknown", f"card {item.card_number} unknown")
    amounts = json.dumps(dict(sorted(item.amounts.items())), separators=(",", ":"))
    row = session.get(StuckIntent, item.intent_id.bytes)
    if row is not None:
        same = (row.terminal_id, row.card_number, row.kind, row.nonce, row.expected_counter) == (
            terminal_id,
            item.card_number,
            item.kind,
            item.nonce,
            item.expected_counter,
        )
        if same and row.amounts == amounts:
            return ReportResult(text, "known", "known", "already reported")
        return ReportResult(
            text, "refused", "intent_conflict", "this id is held with other content"
        )
    session.add(
        StuckIntent(
            id=item.intent_id.bytes,
            terminal_id=terminal_id,
            card_number=item.card_number,
            kind=item.kind,
            nonce=item.nonce,
            expected_counter=item.expected_counter,
            amounts=amounts,
            reported_at=now,
        )
    )
    return ReportResult(text, "stored", "ok", "")


@dataclass(frozen=True)
class Resolution:
    intent_id: str
    card_message: bytes | None
    settled_at_host: bool


def resolutions(session: Session, terminal_id: str) -> list[Resolution]:
    """For this terminal's open intents: the card's message at the expected counter where the
    host holds it, or word that an operator settled the intent."""
    found = []
    rows = session.scalars(
        select(StuckIntent)
        .where(StuckIntent.terminal_id == terminal_id, StuckIntent.closed_at.is_(None))
        .order_by(StuckIntent.reported_at, StuckIntent.id)
    )
    for row in rows:
        text = str(uuid.UUID(bytes=row.id))
        if row.settled_at is not None:
            found.append(Resolution(text, None, True))
            continue
        message = message_at(session, row.card_number, row.expected_counter)
        if message is not None:
            found.append(Resolution(text, message, False))
    return found


def message_at(session: Session, card_number: str, counter: int) -> bytes | None:
    """The card-signed message the host holds at this counter (from a record or the log)."""
    held = session.get(CardTransaction, (card_number, counter))
    if held is None:
        return None
    if held.source == "evidence":
        evidence = session.get(CardEvidence, held.record_id)
        return None if evidence is None else evidence.message
    if held.source == "record":
        data = session.scalar(
            select(StoredRecord.data).where(
                StoredRecord.id == held.record_id, StoredRecord.card_number == card_number
            )
        )
        return None if data is None else card_message_of(data)
    return None


def listing(session: Session) -> list[dict[str, Any]]:
    """Every reported intent with what the host knows at its counter."""
    rows = list(
        session.scalars(select(StuckIntent).order_by(StuckIntent.reported_at, StuckIntent.id))
    )
    analyses = analyse_cards(session, sorted({r.card_number for r in rows}))
    result = []
    for row in rows:
        finding = _gap_holding(analyses[row.card_number].findings, row.expected_counter)
        held = session.get(CardTransaction, (row.card_number, row.expected_counter))
        result.append(
            {
                "intent_id": str(uuid.UUID(bytes=row.id)),
                "terminal": row.terminal_id,
                "card": row.card_number,
                "kind": row.kind,
                "expected_counter": row.expected_counter,
                "amounts": json.loads(row.amounts),
                "status": _status(row),
                "host_holds": None if held is None else held.source,
                "gap": None
                if finding is None
                else {
                    "after_counter": finding.after_counter,
                    "before_counter": finding.before_counter,
                    "missing": finding.missing,
                    "drop": _drop(finding),
                },
            }
        )
    return result


def _status(row: StuckIntent) -> str:
    if row.settled_at is not None:
        return f"settled by {row.settled_by}: {row.settle_reason}"
    return "closed by terminal" if row.closed_at is not None else "open"


def _gap_holding(findings: list[Finding], counter: int) -> Finding | None:
    for finding in findings:
        if counter in finding.missing:
            return finding
    return None


def _drop(finding: Finding) -> dict[str, int]:
    return {code: -change for code, change in sorted(finding.changes.items()) if change}


def settle(session: Session, intent_id: str, operator: str, reason: str, now: int) -> StuckIntent:
    """Book a stuck sale from the continuity evidence (see the module docstring)."""
    if not operator.strip() or not reason.strip():
        raise GatewayError("invalid", "an operator name and a reason are required")
    try:
        key = uuid.UUID(intent_id).bytes
    except ValueError as exc:
        raise GatewayError("invalid", f"not an intent id: {intent_id!r}") from exc
    row = session.get(StuckIntent, key)
    if row is None:
        raise not_found(f"intent {intent_id}")
    if row.settled_at is not None or row.closed_at is not None:
        raise GatewayError("invalid", f"intent {intent_id} is no longer open ({_status(row)})")
    if row.kind != "sale":
        raise GatewayError("invalid", f"only a sale can be settled here, not a {row.kind}")
    number, counter = row.card_number, row.expected_counter
    if session.get(CardTransaction, (number, counter)) is not None:
        raise GatewayError(
            "invalid",
            f"the host holds card {number}'s message at counter {counter}: the terminal"
            " resolves the intent from it (GET /v1/updates resolutions)",
        )
    finding = _gap_holding(analyse_cards(session, [number])[number].findings, counter)
    if finding is None:
        raise GatewayError(
            "invalid", f"no counter gap of card {number} holds counter {counter}: nothing shows"
        )
    asked = {code: int(amount) for code, amount in json.loads(row.amounts).items() if amount}
    if _drop(finding) != asked:
        raise GatewayError(
            "invalid",
            f"card {number}'s balances fell by {_drop(finding)} across counters"
            f" {finding.after_counter}..{finding.before_counter}, the intent asked {asked}:"
            " not settled",
        )
    entry = postings.Entry("settled", f"intent {intent_id} settled by {operator}: {reason}")
    for code, amount in sorted(asked.items()):
        entry.transfer(postings.purse(number, code), postings.suspense(code), amount)
    postings.post(session, now, [entry])
    session.add(
        CardTransaction(
            card_number=number,
            counter=counter,
            proof_hash=bytes(32),
            record_id=key,
            kind="sale",
            source="settled",
        )
    )
    row.settled_at, row.settled_by, row.settle_reason = now, operator, reason
    session.flush()
    gaps.refresh(session, [number], now)
    return row
