"""``ssn-gateway audit --full``: every signature of a period's accepted records, verified again
record by record, as a third party would.

Ingest checks a terminal's signature once per contiguous run (the last record's signature covers
the hash-linked records before it, docs/api.md). Each record still keeps its own signature, and
this audit checks all of them, one record at a time: the terminal's signature, the card's proof
or receipt, the issuer's order, the rules that tie them to the record, and the hash link to the
record before it; a card certificate is checked once per certificate (ledger.verify remembers the
outcome per certificate bytes). It needs only the
public keys (no passphrase) and reads the records in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway.models import StoredRecord, Terminal
from host_gateway.pki import load_anchors
from ledger.binary import FormatError
from ledger.crypto import Domain, verify
from ledger.record import Record
from ledger.verify import VerificationError, verify_record

FAILURES_LISTED = 100


@dataclass
class AuditReport:
    start: int
    end: int
    records: int = 0
    signatures: int = 0
    """Terminal, card and issuer signatures verified (card certificates not counted)."""
    terminals: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def fail(self, terminal_id: str, seq: int, code: str, message: str) -> None:
        self.failed += 1
        if len(self.failures) < FAILURES_LISTED:
            self.failures.append(
                {"terminal": terminal_id, "seq": seq, "code": code, "message": message}
            )


def audit_signatures(session: Session, start: int, end: int) -> AuditReport:
    """Accepted records received in [start, end) (host receive time, unix seconds)."""
    report = AuditReport(start, end)
    anchors = load_anchors(session)
    keys = {row[0]: row[1] for row in session.execute(select(Terminal.id, Terminal.public_key))}

    def counted(public_key: bytes, domain: Domain, message: bytes, signature: bytes) -> bool:
        report.signatures += 1
        return verify(public_key, domain, message, signature)

    query = (
        select(StoredRecord.terminal_id, StoredRecord.seq, StoredRecord.data)
        .where(
            StoredRecord.status == "accepted",
            StoredRecord.received_at >= start,
            StoredRecord.received_at < end,
        )
        .order_by(StoredRecord.terminal_id, StoredRecord.seq)
        .execution_options(yield_per=1000)
    )
    last: tuple[str, int, bytes] | None = None
    for terminal_id, seq, data in session.execute(query):
        report.records += 1
        if last is None or last[0] != terminal_id:
            report.terminals += 1
        try:
            record = Record.decode(bytes(data))
            if record.seq != seq or record.terminal_id != terminal_id:
                raise VerificationError("malformed", "stored bytes are another record")
            verify_record(record, keys[terminal_id], anchors, counted, card_expiry=False)
        except VerificationError as exc:
            report.fail(terminal_id, seq, exc.code, exc.message)
        except (FormatError, KeyError) as exc:
            report.fail(terminal_id, seq, "malformed", str(exc))
        else:
            if last and last[:2] == (terminal_id, seq - 1) and record.prev_hash != last[2]:
                report.fail(terminal_id, seq, "chain", "prev is not the hash of the record before")
            last = (terminal_id, seq, record.hash())
            continue
        last = None
    return report
