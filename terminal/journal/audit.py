"""Checking a whole journal the way an auditor with only the file and the public keys would.

The records are read as stored bytes, decoded, and checked in sequence order: the chain (sequence
and previous-record hash), the terminal's signature, the card's certificate and proof against
the issuer's trust anchors. Then what the records imply about the rest of the file: every card
operation answers a write-ahead intent, nothing refers to records past the end (a truncated
journal), and the append-only triggers are still in place. The first bad record is named.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text

from ledger.binary import FormatError
from ledger.crypto import sha256
from ledger.record import Record, RecordType
from ledger.verify import TrustAnchors, verify_chain
from terminal.journal import checks
from terminal.journal.base import JournalBase
from terminal.journal.models import IntentKind, IntentStatus
from terminal.journal.schema import APPEND_ONLY_TRIGGERS, acks, intents, print_jobs, records, state

_BATCH = 500


@dataclass(frozen=True)
class BadRecord:
    seq: int
    id: uuid.UUID | None
    """None when the stored bytes are too damaged to say."""
    reason: str


@dataclass
class AuditReport:
    records: int = 0
    """Records that passed every check (all of them when the journal is clean)."""
    by_type: dict[str, int] = field(default_factory=dict)
    first_bad: BadRecord | None = None
    problems: list[str] = field(default_factory=list)
    """What is wrong beyond a single record (missing triggers, a truncated end)."""

    @property
    def ok(self) -> bool:
        return self.first_bad is None and not self.problems

    def to_json(self) -> dict[str, Any]:
        bad = self.first_bad
        return {
            "ok": self.ok,
            "records": self.records,
            "by_type": self.by_type,
            "first_bad": None
            if bad is None
            else {
                "seq": bad.seq,
                "id": None if bad.id is None else str(bad.id),
                "reason": bad.reason,
            },
            "problems": self.problems,
        }


@dataclass
class _Walk:
    """What the walk over stored records saw, for the report."""

    types: Counter[str] = field(default_factory=Counter)
    latest: Record | None = None
    good: int = 0
    bad: BadRecord | None = None


class AuditMixin(JournalBase):
    def audit(self, anchors: TrustAnchors) -> AuditReport:
        """Check everything; see the module docstring. Reads only, in batches."""
        report = AuditReport()
        walk = _Walk()
        chain = verify_chain(self._stored_records(walk), self.public_key, anchors, keep=False)
        if not chain.ok and chain.first_bad_seq is not None:
            # verify_chain stops at the record it refused: the last one it was given.
            bad_id = walk.latest.id if walk.latest else None
            report.first_bad = BadRecord(chain.first_bad_seq, bad_id, chain.reason or "invalid")
            report.records = chain.checked
        elif walk.bad is not None:
            report.first_bad = walk.bad
            report.records = walk.good
        else:
            report.records = chain.checked
            report.first_bad = self._check_intents()
        report.by_type = dict(sorted(walk.types.items()))
        report.problems = self._file_problems()
        return report

    def _stored_records(self, walk: _Walk) -> Iterator[Record]:
        """Decoded records in stored order, until one is not what its row says it is.

        A record is handed to the chain check before its row is compared, so a moved or removed
        record is named by the chain's reason (a sequence gap, a broken link) when it has one.
        """
        after = 0
        while True:
            with self._reading() as conn:
                rows = conn.execute(
                    select(records)
                    .where(records.c.seq > after)
                    .order_by(records.c.seq)
                    .limit(_BATCH)
                ).all()
            for row in rows:
                row_id = uuid.UUID(bytes=row.id) if len(row.id) == 16 else None
                try:
                    record = Record.decode(row.encoded)
                except FormatError as exc:
                    walk.bad = BadRecord(row.seq, row_id, f"stored bytes are not a record: {exc}")
                    return
                walk.types[record.type.value] += 1
                walk.latest = record
                yield record
                problem = self._row_problem(row, row_id, record)
                if problem is not None:
                    walk.bad = BadRecord(row.seq, record.id, problem)
                    return
                walk.good += 1
                after = row.seq
            if len(rows) < _BATCH:
                return

    def _row_problem(self, row: Any, row_id: uuid.UUID | None, record: Record) -> str | None:
        if record.terminal_id != self.terminal_id:
            return f"record names terminal {record.terminal_id}, not {self.terminal_id}"
        agrees = (
            record.seq == row.seq
            and record.id == row_id
            and record.type.value == row.type
            and record.time == row.time
            and record.prev_hash == row.prev_hash
            and sha256(row.encoded) == row.hash
        )
        return None if agrees else "stored row disagrees with its record (moved or altered)"

    def _check_intents(self) -> BadRecord | None:
        """Every card operation in the chain answers exactly one completed write-ahead intent."""
        with self._reading() as conn:
            completed = {
                row.record_seq: row
                for row in conn.execute(
                    select(intents).where(intents.c.status == IntentStatus.COMPLETED.value)
                )
            }
            card_ops = conn.execute(
                select(records.c.seq, records.c.encoded)
                .where(records.c.type != RecordType.DAY_CLOSE.value)
                .order_by(records.c.seq)
            ).all()
        for seq, encoded in card_ops:
            record = Record.decode(encoded)
            row = completed.pop(seq, None)
            if row is None:
                return BadRecord(seq, record.id, "card operation without a write-ahead intent")
            expected = checks.Expected(
                uuid.UUID(bytes=row.id),
                IntentKind(row.kind),
                row.card_number,
                row.nonce,
                row.expected_counter,
            )
            try:
                checks.check_completion(expected, record.type, record.body, self.terminal_id)
            except checks.RecordRefusedError as exc:
                return BadRecord(seq, record.id, str(exc))
        if completed:
            seq = min(completed)
            return BadRecord(seq, None, "a completed intent points at a record that is missing")
        return None

    def _file_problems(self) -> list[str]:
        problems = []
        with self._reading() as conn:
            last = conn.execute(select(func.max(records.c.seq))).scalar() or 0
            referenced = {
                "acknowledged": conn.execute(select(func.max(acks.c.seq))).scalar() or 0,
                "synced": conn.execute(
                    select(func.max(state.c.value)).where(
                        state.c.name.in_(["ack_floor", "synced_through_seq"])
                    )
                ).scalar()
                or 0,
            }
            known_ids = select(records.c.id)
            orphan_jobs = conn.execute(
                select(func.count())
                .select_from(print_jobs)
                .where(
                    print_jobs.c.record_id.is_not(None), print_jobs.c.record_id.not_in(known_ids)
                )
            ).scalar_one()
            triggers = {
                name
                for (name,) in conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                )
            }
        for what, seq in referenced.items():
            if seq > last:
                problems.append(
                    f"records missing at the end: {what} up to {seq}, the journal ends at {last}"
                )
        if orphan_jobs:
            problems.append(f"{orphan_jobs} receipts belong to records that are missing")
        missing = sorted(set(APPEND_ONLY_TRIGGERS) - triggers)
        if missing:
            problems.append(
                f"append-only protection removed: triggers {', '.join(missing)} missing"
            )
        return problems
