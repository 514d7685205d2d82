"""Double-entry journal in integer rupiah.

Each entry is a set of lines (account, amount; debit positive, credit negative) that sums to zero;
account balances are kept next to the lines in the same transaction. Accounts:

- ``giro``: the Dinas Sosial giro parent account (the real money)
- ``fund:P``: program P's money not yet promised to anyone
- ``pending:P``: loads authorized for cards but not yet on a card
- ``purse:CARD:P``: what the card's purse P owes its holder (credit balance = card balance)
- ``shop:S``: what is owed to shop S for accepted sales
- ``expired:P``: value that expired on cards
- ``suspense:P``: value a genuine card moved in a record the host refused (an operator decides)
- ``payout``: payouts instructed to shops and not yet booked by the bank (docs/settlement.md)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from host_gateway.db import bulk_insert
from host_gateway.fastsql import Raw
from host_gateway.models import JournalEntry, JournalLine
from ledger.ids import new_id

GIRO = "giro"


def fund(program: str) -> str:
    return f"fund:{program}"


def pending(program: str) -> str:
    return f"pending:{program}"


def purse(card_number: str, program: str) -> str:
    return f"purse:{card_number}:{program}"


def shop(shop_id: str) -> str:
    return f"shop:{shop_id}"


def expired(program: str) -> str:
    return f"expired:{program}"


def suspense(program: str) -> str:
    return f"suspense:{program}"


class UnbalancedEntryError(ValueError):
    """A programming error: an entry whose lines do not sum to zero is never written."""


@dataclass
class Entry:
    kind: str
    memo: str
    record_id: bytes | None = None
    lines: list[tuple[str, int]] = field(default_factory=list)

    def transfer(self, debit: str, credit: str, amount: int) -> Entry:
        """Move ``amount`` from ``credit`` to ``debit`` (both lines, so it stays balanced)."""
        if amount < 0:
            raise UnbalancedEntryError("transfer amounts are non-negative")
        if amount:
            self.lines.append((debit, amount))
            self.lines.append((credit, -amount))
        return self


def post(session: Session, at: int, entries: Iterable[Entry]) -> None:
    """Write entries and update balances; refuses the lot if any entry is unbalanced."""
    entry_rows: list[dict[str, object]] = []
    line_rows: list[dict[str, object]] = []
    deltas: dict[str, int] = {}
    entry_ids = _EntryIds(at)
    for entry in entries:
        total = 0
        for _, amount in entry.lines:
            total += amount
        if total != 0:
            raise UnbalancedEntryError(f"entry {entry.kind} {entry.memo!r} does not balance")
        if not entry.lines:
            continue
        entry_id = entry_ids.next()
        entry_rows.append(
            {
                "id": entry_id,
                "at": at,
                "kind": entry.kind,
                "record_id": entry.record_id,
                "memo": entry.memo,
            }
        )
        for account, amount in entry.lines:
            line_rows.append({"entry_id": entry_id, "account": account, "amount": amount})
            deltas[account] = deltas.get(account, 0) + amount
    if not entry_rows:
        return
    bulk_insert(session, JournalEntry, entry_rows)
    bulk_insert(session, JournalLine, line_rows)
    _add_to_balances(session, deltas)


class _EntryIds:
    """Time-ordered ids for one posting, from one UUIDv7 whose time is the posting's ``at``:
    its low 20 random bits are counted instead (an ingest batch posts a thousand entries; a
    fresh UUIDv7 each cost as much as the rest of the posting). The time is ``at``, not the
    wall clock, because the journal is partitioned by month on this id (host_gateway/partitions):
    an entry lands in the month of its own time."""

    def __init__(self, at: int) -> None:
        self._at = at
        self._base, self._count = _id_base(at), 0

    def next(self) -> bytes:
        if self._count == 0xFFFFF:
            self._base, self._count = _id_base(self._at), 0
        self._count += 1
        return (self._base | self._count).to_bytes(16, "big")


def _id_base(at: int) -> int:
    """A UUIDv7 at ``at`` seconds: a fresh one's version, variant and random bits under it."""
    fresh = new_id().int & ((1 << 80) - 1)
    return ((at * 1000) << 80 | fresh) & ~0xFFFFF


_UPSERT = (
    "INSERT INTO accounts (code, kind, balance) {source}"
    " ON CONFLICT (code) DO UPDATE SET balance = accounts.balance + excluded.balance"
)


def _add_to_balances(session: Session, deltas: dict[str, int]) -> None:
    """One statement for all accounts, in code order (concurrent writers lock rows in the same
    order, so they cannot deadlock)."""
    codes = sorted(deltas)
    kinds = [code.split(":", 1)[0] for code in codes]
    amounts = [deltas[code] for code in codes]
    raw = Raw(session)
    if raw.postgres:
        source = "SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[])"
        raw.execute(_UPSERT.format(source=source), [codes, kinds, amounts])
    else:
        raw.executemany(
            _UPSERT.format(source="VALUES (?, ?, ?)"), zip(codes, kinds, amounts, strict=True)
        )
